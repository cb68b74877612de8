/*-------------------------------------------------------------------------
 *
 * citus_worker.h
 *	  What a Citus worker (childguard.citus_node = worker) enforces:
 *	  envelopes in, envelopes out.  See citus_worker.c.
 *
 *-------------------------------------------------------------------------
 */
#ifndef CHILDGUARD_CITUS_WORKER_H
#define CHILDGUARD_CITUS_WORKER_H

#include "postgres.h"

#include "nodes/nodes.h"

extern void cg_citus_worker_check_sealed(struct varlena *value);
extern void cg_citus_worker_refuse_plaintext(void);
extern void cg_citus_worker_refuse_compare(void);
extern bool cg_citus_worker_skips_utility(Node *stmt);

#endif							/* CHILDGUARD_CITUS_WORKER_H */
