/*-------------------------------------------------------------------------
 *
 * childguard.c
 *	  Module entry point: settings, hooks, callbacks.  Each mechanism lives
 *	  in its own file; this one only wires them in.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "executor/executor.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "tcop/utility.h"
#include "utils/guc.h"

#include "catalog.h"
#include "decision.h"
#include "denied_nulls.h"
#include "master_key.h"
#include "read_policy.h"
#include "secure_mem.h"
#include "statement.h"
#include "write_guard.h"

PG_MODULE_MAGIC;

void		_PG_init(void);

/* previous hooks, kept together */
static ExecutorStart_hook_type prev_ExecutorStart = NULL;
static ExecutorRun_hook_type prev_ExecutorRun = NULL;
static ExecutorFinish_hook_type prev_ExecutorFinish = NULL;
static ProcessUtility_hook_type prev_ProcessUtility = NULL;

static void
cg_ExecutorStart(QueryDesc *queryDesc, int eflags)
{
	if (cg_statement_nesting() == 0)
		cg_statement_begin();
	cg_write_guard_executor_start(queryDesc);
	if (prev_ExecutorStart)
		prev_ExecutorStart(queryDesc, eflags);
	else
		standard_ExecutorStart(queryDesc, eflags);
}

/*
 * Run keeps the nesting level (see statement.c) and, for sessions that
 * want denied values as NULL, puts denied_nulls.c's receiver in front of
 * the client.
 */
static void
cg_ExecutorRun(QueryDesc *queryDesc, ScanDirection direction, uint64 count,
			   bool execute_once)
{
	DestReceiver *client = queryDesc->dest;
	DestReceiver *nulling = cg_denied_nulls_wrap(queryDesc);

	if (nulling != NULL)
		queryDesc->dest = nulling;
	cg_statement_enter();
	PG_TRY();
	{
		if (prev_ExecutorRun)
			prev_ExecutorRun(queryDesc, direction, count, execute_once);
		else
			standard_ExecutorRun(queryDesc, direction, count, execute_once);
	}
	PG_FINALLY();
	{
		cg_statement_leave();
		queryDesc->dest = client;
		if (nulling != NULL)
			nulling->rDestroy(nulling);
	}
	PG_END_TRY();
}

/* Finish only keeps the nesting level. */
static void
cg_ExecutorFinish(QueryDesc *queryDesc)
{
	cg_statement_enter();
	PG_TRY();
	{
		if (prev_ExecutorFinish)
			prev_ExecutorFinish(queryDesc);
		else
			standard_ExecutorFinish(queryDesc);
	}
	PG_FINALLY();
	{
		cg_statement_leave();
	}
	PG_END_TRY();
}

static void
cg_ProcessUtility(PlannedStmt *pstmt, const char *queryString,
				  bool readOnlyTree, ProcessUtilityContext context,
				  ParamListInfo params, QueryEnvironment *queryEnv,
				  DestReceiver *dest, QueryCompletion *qc)
{
	bool		began;
	bool		copy_out = IsA(pstmt->utilityStmt, CopyStmt) &&
		!((CopyStmt *) pstmt->utilityStmt)->is_from;

	if (cg_statement_nesting() == 0)
		cg_statement_begin();
	began = cg_write_guard_utility_begin(pstmt->utilityStmt);
	if (copy_out)
		cg_decision_copy_out(true);
	cg_statement_enter();
	PG_TRY();
	{
		if (prev_ProcessUtility)
			prev_ProcessUtility(pstmt, queryString, readOnlyTree, context,
								params, queryEnv, dest, qc);
		else
			standard_ProcessUtility(pstmt, queryString, readOnlyTree, context,
									params, queryEnv, dest, qc);
	}
	PG_FINALLY();
	{
		cg_statement_leave();
		if (copy_out)
			cg_decision_copy_out(false);
		cg_write_guard_utility_end(began);
	}
	PG_END_TRY();
}

void
_PG_init(void)
{
	if (!process_shared_preload_libraries_in_progress)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("childguard must be loaded via \"shared_preload_libraries\""),
				 errhint("Add childguard to shared_preload_libraries in postgresql.conf and restart the server.")));

	cg_master_key_define_gucs();
	cg_read_policy_define_gucs();
	MarkGUCPrefixReserved("childguard");

	cg_secure_mem_init();
	cg_master_key_load_at_startup();
	cg_catalog_register_callbacks();

	prev_ExecutorStart = ExecutorStart_hook;
	ExecutorStart_hook = cg_ExecutorStart;
	prev_ExecutorRun = ExecutorRun_hook;
	ExecutorRun_hook = cg_ExecutorRun;
	prev_ExecutorFinish = ExecutorFinish_hook;
	ExecutorFinish_hook = cg_ExecutorFinish;
	prev_ProcessUtility = ProcessUtility_hook;
	ProcessUtility_hook = cg_ProcessUtility;
}
