/*-------------------------------------------------------------------------
 *
 * citus_ddl.h
 *	  On a Citus coordinator, protect() and create_distributed_table()
 *	  work on each other's tables (citus_ddl.c).
 *
 *-------------------------------------------------------------------------
 */
#ifndef CHILDGUARD_CITUS_DDL_H
#define CHILDGUARD_CITUS_DDL_H

#include "postgres.h"

#include "fmgr.h"

extern bool cg_citus_ddl_needs_hook(Oid fn_oid);
extern void cg_citus_ddl_hook(FmgrHookEventType event, FmgrInfo *flinfo);

#endif							/* CHILDGUARD_CITUS_DDL_H */
