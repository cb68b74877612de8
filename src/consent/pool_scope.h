/*-------------------------------------------------------------------------
 *
 * pool_scope.h
 *	  Purposes and end users for applications behind a connection pool:
 *	  transaction-scoped purposes, refusing session-level ones, the end
 *	  user of each statement, and what a read without a purpose says.
 *
 *-------------------------------------------------------------------------
 */
#ifndef CHILDGUARD_POOL_SCOPE_H
#define CHILDGUARD_POOL_SCOPE_H

#include "postgres.h"

#include "nodes/nodes.h"

typedef enum CgNoPurpose
{
	CG_NO_PURPOSE_SILENT,
	CG_NO_PURPOSE_NOTICE,
	CG_NO_PURPOSE_ERROR
} CgNoPurpose;

extern void cg_pool_scope_define_gucs(void);
extern void cg_pool_scope_init(void);
extern void cg_pool_scope_utility(Node *stmt);
extern void cg_pool_scope_statement_begin(uint64 statement_id);
extern bool cg_pool_scope_refused(uint64 statement_id);
extern void cg_pool_scope_check(uint64 statement_id);
extern const char *cg_pool_end_user(uint64 statement_id);
extern void cg_pool_scope_no_purpose(uint64 statement_id);

#endif							/* CHILDGUARD_POOL_SCOPE_H */
