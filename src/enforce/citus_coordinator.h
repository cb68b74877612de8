/*-------------------------------------------------------------------------
 *
 * citus_coordinator.h
 *	  On a Citus coordinator: which statements Citus ships, and the
 *	  client's receiver where decided reads show plaintext
 *	  (citus_coordinator.c).
 *
 *-------------------------------------------------------------------------
 */
#ifndef CHILDGUARD_CITUS_COORDINATOR_H
#define CHILDGUARD_CITUS_COORDINATOR_H

#include "postgres.h"

#include "executor/execdesc.h"
#include "nodes/plannodes.h"
#include "tcop/dest.h"

typedef struct CgCitusRun
{
	DestReceiver *wrapper;		/* the client's receiver, wrapped, or NULL */
	int			shipping;		/* the shipping depth to restore */
	bool		on;
} CgCitusRun;

extern bool cg_citus_plan_ships(PlannedStmt *stmt);
extern void cg_citus_executor_start_shipping(void (*start) (QueryDesc *, int),
											 QueryDesc *queryDesc, int eflags);
extern void cg_citus_run_begin(QueryDesc *queryDesc, DestReceiver *client, CgCitusRun *run);
extern void cg_citus_run_end(CgCitusRun *run);
extern void cg_citus_executor_start(QueryDesc *queryDesc);
extern DestReceiver *cg_citus_client_wrap(DestReceiver *client, CommandDest mydest);

#endif							/* CHILDGUARD_CITUS_COORDINATOR_H */
