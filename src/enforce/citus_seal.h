/*-------------------------------------------------------------------------
 *
 * citus_seal.h
 *	  The coordinator seals child data for its child before Citus ships a
 *	  write to the workers (citus_seal.c).
 *
 *-------------------------------------------------------------------------
 */
#ifndef CHILDGUARD_CITUS_SEAL_H
#define CHILDGUARD_CITUS_SEAL_H

#include "postgres.h"

#include "nodes/params.h"
#include "nodes/parsenodes.h"
#include "optimizer/planner.h"

extern void cg_citus_seal_rewrite(Query *parse);
extern PlannedStmt *cg_citus_planner(planner_hook_type planner, Query *parse,
									 const char *query_string, int cursorOptions,
									 ParamListInfo boundParams);

#endif							/* CHILDGUARD_CITUS_SEAL_H */
