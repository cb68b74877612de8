/*-------------------------------------------------------------------------
 *
 * citus_node.h
 *	  Which part a server plays in a Citus cluster (childguard.citus_node),
 *	  and the coordinator's "Citus is shipping values" state.
 *	  See citus_node.c and docs/scale-out.md.
 *
 *-------------------------------------------------------------------------
 */
#ifndef CHILDGUARD_CITUS_NODE_H
#define CHILDGUARD_CITUS_NODE_H

#include "postgres.h"

typedef enum CgCitusNode
{
	CG_CITUS_NONE = 0,			/* a single node: nothing changes */
	CG_CITUS_COORDINATOR,		/* decides, decrypts, seals, audits */
	CG_CITUS_WORKER				/* stores and returns envelopes only */
} CgCitusNode;

extern void cg_citus_node_define_gucs(void);
extern CgCitusNode cg_citus_node(void);
extern bool cg_citus_worker(void);
extern bool cg_citus_coordinator(void);

/* coordinator: Citus code runs (deparse, COPY to shards) */
extern void cg_citus_shipping_enter(int *saved);
extern void cg_citus_shipping_leave(int saved);
/* coordinator: the client's receiver formats a row (plaintext allowed) */
extern void cg_citus_client_output_enter(bool *saved);
extern void cg_citus_client_output_leave(bool saved);
extern bool cg_citus_envelope_only(void);

extern bool cg_citus_is_distributed(Oid relid);
extern bool cg_citus_own_function(Oid fn, const char *name);

#endif							/* CHILDGUARD_CITUS_NODE_H */
