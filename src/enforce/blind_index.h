/*-------------------------------------------------------------------------
 *
 * blind_index.h
 *	  Blind indexes on child_data columns (blind_index.c): the hidden
 *	  column the seal trigger fills, the lookup function and the planner
 *	  rewrite that uses it.
 *
 *-------------------------------------------------------------------------
 */
#ifndef CHILDGUARD_BLIND_INDEX_H
#define CHILDGUARD_BLIND_INDEX_H

#include "postgres.h"

#include "access/htup.h"
#include "nodes/parsenodes.h"
#include "utils/relcache.h"

#include "blind_keys.h"

typedef struct CgBlindColumn
{
	AttrNumber	attnum;			/* the child_data column */
	AttrNumber	blind_attnum;	/* its hidden hash column */
	uint8	   *key;			/* HMAC key, CG_KEY_LEN bytes (blind_keys.c), in
								 * locked memory where the OS allows */
} CgBlindColumn;

typedef struct CgBlindRel
{
	Oid			relid;
	int			ncolumns;
	CgBlindColumn *columns;
} CgBlindRel;

extern const CgBlindRel *cg_blind_of(Oid relid);
extern const CgBlindColumn *cg_blind_column(const CgBlindRel *b, AttrNumber attnum);
extern void cg_blind_hash(const CgBlindColumn *bc, const char *plain, size_t len,
						  uint8 *out);
extern bool cg_blind_clearing(Oid relid);
extern void cg_blind_rewrite(Query *query);
extern void cg_blind_refuse_distributed(Oid relid, bool distributing);
extern void cg_blind_init(void);

#endif							/* CHILDGUARD_BLIND_INDEX_H */
