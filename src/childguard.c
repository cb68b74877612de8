/*-------------------------------------------------------------------------
 *
 * childguard.c
 *	  Module entry point: settings, hooks, callbacks.  Each mechanism lives
 *	  in its own file; this one only wires them in.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/objectaccess.h"
#include "executor/executor.h"
#include "fmgr.h"
#include "optimizer/paths.h"
#include "optimizer/planner.h"
#include "miscadmin.h"
#include "parser/analyze.h"
#include "storage/ipc.h"
#include "tcop/utility.h"
#include "utils/guc.h"
#include "utils/inval.h"
#include "utils/queryjumble.h"

#include "audit.h"
#include "blind_index.h"
#include "catalog.h"
#include "citus_coordinator.h"
#include "citus_ddl.h"
#include "citus_node.h"
#include "citus_seal.h"
#include "citus_worker.h"
#include "consent.h"
#include "crypto.h"
#include "data_keys.h"
#include "decision.h"
#include "delete_rows.h"
#include "denied_nulls.h"
#include "envelope.h"
#include "erasure_ledger.h"
#include "foreign_code.h"
#include "function_settings.h"
#include "grant_windows.h"
#include "master_key.h"
#include "operations_ceased.h"
#include "parallel_guard.h"
#include "planted_code.h"
#include "planted_code_query.h"
#include "plan_gate.h"
#include "pool_scope.h"
#include "protection.h"
#include "protection_guard.h"
#include "read_settings.h"
#include "retention.h"
#include "role_release.h"
#include "secure_mem.h"
#include "server_files_guard.h"
#include "replicated_rows.h"
#include "shared_cache.h"
#include "statement.h"
#include "statement_text.h"
#include "subjects.h"
#include "write_guard.h"

PG_MODULE_MAGIC;

void		_PG_init(void);

/* previous hooks, kept together */
static ExecutorStart_hook_type prev_ExecutorStart = NULL;
static ExecutorRun_hook_type prev_ExecutorRun = NULL;
static ExecutorFinish_hook_type prev_ExecutorFinish = NULL;
static ExecutorEnd_hook_type prev_ExecutorEnd = NULL;
static needs_fmgr_hook_type prev_needs_fmgr = NULL;
static fmgr_hook_type prev_fmgr = NULL;
static ProcessUtility_hook_type prev_ProcessUtility = NULL;
static shmem_request_hook_type prev_shmem_request = NULL;
static shmem_startup_hook_type prev_shmem_startup = NULL;
static post_parse_analyze_hook_type prev_post_parse_analyze = NULL;
static emit_log_hook_type prev_emit_log = NULL;
static object_access_hook_type prev_object_access = NULL;
static set_rel_pathlist_hook_type prev_set_rel_pathlist = NULL;
static planner_hook_type prev_planner = NULL;

/*
 * A top-level statement begins (stmt: its PlannedStmt).  The caller took
 * in committed changes first (AcceptInvalidationMessages): registry
 * changes before anything is decided -- naming a relation does so as it
 * opens it, but a statement that names none (FETCH, EXECUTE of a prepared
 * statement whose locks the transaction already holds, a protocol Bind of
 * one) would decide with what the caches held before: a withdrawal
 * committed meanwhile must stop it -- and relation changes before the
 * protection cache is asked about its tables.  Cheap when nothing is
 * pending (one unlocked flag test).
 */
static void
statement_begin(PlannedStmt *stmt)
{
	cg_audit_flush_pending();
	/* a plain SELECT's tag without CreateCommandTag's general walk */
	cg_statement_begin((int) (stmt->commandType == CMD_SELECT && stmt->utilityStmt == NULL &&
							  stmt->rowMarks == NIL ? CMDTAG_SELECT :
							  CreateCommandTag((Node *) stmt)));
	cg_decision_statement_begin();
}

static void
call_prev_ExecutorStart(QueryDesc *queryDesc, int eflags)
{
	if (prev_ExecutorStart)
		prev_ExecutorStart(queryDesc, eflags);
	else
		standard_ExecutorStart(queryDesc, eflags);
}

/*
 * A query starts.  A plain plan (plan_gate.c: a SELECT touching no table
 * with child data or planted code) skips the guards that would pass it by;
 * the top-level audit capture's memo of its plan is kept (audit_capture.c).
 */
static void
cg_ExecutorStart(QueryDesc *queryDesc, int eflags)
{
	bool		top = cg_statement_nesting() == 0;
	bool		plain;

	if (top)
		AcceptInvalidationMessages();	/* see statement_begin */
	plain = cg_plan_gate_plain(queryDesc->plannedstmt);
	if (top)
	{
		cg_statement_text_executor_start(queryDesc, plain);
		statement_begin(queryDesc->plannedstmt);
	}
	if (!plain)
	{
		cg_write_guard_executor_start(queryDesc);
		cg_planted_code_executor_start(queryDesc);
		cg_audit_guard_executor_start(queryDesc);
	}
	if (cg_citus_coordinator())
		cg_citus_executor_start(queryDesc);
	if (!plain || cg_statement_accesses() != 0)
		cg_audit_executor_start(queryDesc);
	else if (top)
		cg_statement()->captured_plan = queryDesc->plannedstmt;
	/* a Citus coordinator ships envelopes only (citus_coordinator.c) */
	if (cg_citus_coordinator())
		cg_citus_executor_start_shipping(call_prev_ExecutorStart, queryDesc, eflags);
	else
		call_prev_ExecutorStart(queryDesc, eflags);
}

/*
 * Run is a nested level of the statement (statement.c: the level is saved
 * and restored, also when an error leaves it, and an error leaving the
 * top-level statement marks it failed: its record is built later, in
 * audit_capture.c's abort callback); a cursor's query run here may have
 * started in an earlier statement (audit_capture.c); for sessions that
 * want denied values as NULL, denied_nulls.c's receiver goes in front of
 * the client.
 */
static void
cg_ExecutorRun(QueryDesc *queryDesc, ScanDirection direction, uint64 count,
			   bool execute_once)
{
	volatile bool ok = false;
	CgStatementLevel saved;
	DestReceiver *client = queryDesc->dest;
	DestReceiver *nulling;
	CgCitusRun	citus_run;

	/* a portal run again (protocol Execute) begins no statement: see statement_begin */
	if (queryDesc->already_executed && cg_statement_nesting() == 0)
		AcceptInvalidationMessages();
	/* a query whose plan the capture saw (its own first test) needs no call */
	if (cg_statement()->captured_plan != queryDesc->plannedstmt)
		cg_audit_executor_run(queryDesc);
	/* denied values as NULL only for sessions that ask (denied_nulls.c's first test) */
	nulling = cg_denied_read() == CG_DENIED_NULL ? cg_denied_nulls_wrap(queryDesc) : NULL;
	if (nulling != NULL)
		queryDesc->dest = nulling;
	/* Citus ships envelopes; the client's receiver shows decided reads */
	citus_run.on = false;
	citus_run.wrapper = NULL;
	if (cg_citus_coordinator())
		cg_citus_run_begin(queryDesc, client, &citus_run);
	cg_statement_enter(&saved);
	/* the level's DELETE targets: none but for a DELETE (delete_rows.c's own first test) */
	if (queryDesc->plannedstmt->commandType == CMD_DELETE ||
		queryDesc->plannedstmt->hasModifyingCTE)
		cg_delete_rows_executor_run(queryDesc);
	else
		cg_statement()->level.delete_rtis = NULL;
	PG_TRY();
	{
		if (prev_ExecutorRun)
			prev_ExecutorRun(queryDesc, direction, count, execute_once);
		else
			standard_ExecutorRun(queryDesc, direction, count, execute_once);
		ok = true;
	}
	PG_FINALLY();
	{
		cg_statement_leave(&saved);
		queryDesc->dest = client;
		if (citus_run.on || citus_run.wrapper != NULL)
			cg_citus_run_end(&citus_run);
		if (nulling != NULL)
			nulling->rDestroy(nulling);
		if (!ok && cg_statement_nesting() == 0)
			cg_statement_failed(geterrcode());
	}
	PG_END_TRY();
}

static void
call_prev_ExecutorFinish(QueryDesc *queryDesc)
{
	if (prev_ExecutorFinish)
		prev_ExecutorFinish(queryDesc);
	else
		standard_ExecutorFinish(queryDesc);
}

/*
 * Finish is a nested level too (triggers run here).  A SELECT without a
 * data-modifying WITH queued no trigger and has no ModifyTable left to
 * run: no code of anyone's runs in its Finish, so there is no level to
 * enter.  An error there needs no mark either when nothing is to be
 * recorded: below the top level the hooks of the level above mark it, at
 * the top a statement that touched no child data has no record.
 */
static void
cg_ExecutorFinish(QueryDesc *queryDesc)
{
	volatile bool ok = false;
	CgStatementLevel saved;
	bool		top = cg_statement_nesting() == 0;
	PlannedStmt *ps = queryDesc->plannedstmt;

	if (ps->commandType == CMD_SELECT && !ps->hasModifyingCTE &&
		(!top || cg_statement_accesses() == 0))
	{
		call_prev_ExecutorFinish(queryDesc);
		if (top)
			cg_protection_guard_statement_end();
		return;
	}
	cg_statement_enter(&saved);
	PG_TRY();
	{
		call_prev_ExecutorFinish(queryDesc);
		/* DDL run by the statement left no table unprotected */
		if (top)
			cg_protection_guard_statement_end();
		ok = true;
	}
	PG_FINALLY();
	{
		cg_statement_leave(&saved);
		if (!ok && cg_statement_nesting() == 0)
			cg_statement_failed(geterrcode());
	}
	PG_END_TRY();
}

/* ExecutorEnd of a top-level query: the statement's audit record goes out. */
static void
cg_ExecutorEnd(QueryDesc *queryDesc)
{
	/* nothing to record when no child data was touched (its own first test) */
	if (cg_statement_accesses() != 0)
		cg_audit_executor_end(queryDesc);
	if (prev_ExecutorEnd)
		prev_ExecutorEnd(queryDesc);
	else
		standard_ExecutorEnd(queryDesc);
}

/*
 * A utility command runs one level deeper; its COPY flags (COPY TO: the
 * decision's transfer rule; COPY FROM into an unprotected table: the write
 * guard's) are set for that level and vanish when the level is restored.
 */
static void
cg_ProcessUtility(PlannedStmt *pstmt, const char *queryString,
				  bool readOnlyTree, ProcessUtilityContext context,
				  ParamListInfo params, QueryEnvironment *queryEnv,
				  DestReceiver *dest, QueryCompletion *qc)
{
	volatile bool ok = false;
	CgStatementLevel saved;
	bool		top = cg_statement_nesting() == 0;
	bool		copy_out = IsA(pstmt->utilityStmt, CopyStmt) &&
		!((CopyStmt *) pstmt->utilityStmt)->is_from;
	List	   *released = cg_role_release_targets(pstmt->utilityStmt);

	if (top)
	{
		AcceptInvalidationMessages();	/* see statement_begin */
		cg_statement_text_utility(queryString);
		statement_begin(pstmt);
	}
	cg_server_files_utility(pstmt->utilityStmt);
	cg_audit_guard_utility(pstmt);
	cg_function_settings_check(pstmt->utilityStmt);
	cg_protection_guard_utility_begin(pstmt->utilityStmt);
	cg_pool_scope_utility(pstmt->utilityStmt);
	cg_statement_enter(&saved);
	PG_TRY();
	{
		cg_write_guard_utility_begin(pstmt->utilityStmt);
		if (copy_out)
			cg_statement_set_copy_out();
		/* a Citus worker keeps no row security on child data (citus_worker.c) */
		if (cg_citus_worker_skips_utility(pstmt->utilityStmt))
			;
		else if (prev_ProcessUtility)
			prev_ProcessUtility(pstmt, queryString, readOnlyTree, context,
								params, queryEnv, dest, qc);
		else
			standard_ProcessUtility(pstmt, queryString, readOnlyTree, context,
									params, queryEnv, dest, qc);
		cg_shared_cache_utility_done(pstmt->utilityStmt);
		if (top)
			cg_protection_guard_statement_end();
		ok = true;
	}
	PG_FINALLY();
	{
		cg_statement_leave(&saved);
		if (!ok && top)
			cg_statement_failed(geterrcode());
	}
	PG_END_TRY();
	cg_role_release_record(released);
	if (top)
		cg_audit_utility_end(pstmt, qc);
}

/* Parse analysis: the client's text parsed and can be masked (statement_text.c). */
static void
cg_post_parse_analyze(ParseState *pstate, Query *query, JumbleState *jstate)
{
	cg_statement_text_post_parse(pstate, query);
	if (prev_post_parse_analyze)
		prev_post_parse_analyze(pstate, query, jstate);
}

/*
 * A line for the server log: a top-level error marks the statement failed
 * (audit_capture.c), then what the line carries of statements is masked
 * (log_masking.c).
 */
static void
cg_emit_log(ErrorData *edata)
{
	cg_audit_error_reported(edata);
	cg_log_masking_emit(edata);
	if (prev_emit_log)
		prev_emit_log(edata);
}

/*
 * Object access: DDL may attach no code but ours to child data
 * (planted_code.c) nor leave a protected table unprotected
 * (protection_guard.c); a function about to run may be a server file function
 * (server_files_guard.c).
 */
static void
cg_object_access(ObjectAccessType access, Oid classId, Oid objectId,
				 int subId, void *arg)
{
	/* the DDL guards look at creation, change and removal only */
	if (access == OAT_FUNCTION_EXECUTE)
	{
		if (cg_server_files_may_refuse(objectId))
			cg_server_files_function_execute(objectId);
		if (prev_object_access)
			prev_object_access(access, classId, objectId, subId, arg);
		return;
	}
	if (prev_object_access)
		prev_object_access(access, classId, objectId, subId, arg);
	cg_planted_code_object_access(access, classId, objectId, subId, arg);
	cg_protection_guard_object_access(access, classId, objectId, subId, arg);
}

/* Planning a relation's scan: none in parallel over child data (parallel_guard.c). */
static void
cg_set_rel_pathlist(PlannerInfo *root, RelOptInfo *rel, Index rti, RangeTblEntry *rte)
{
	if (prev_set_rel_pathlist)
		prev_set_rel_pathlist(root, rel, rti, rte);
	cg_parallel_guard_rel_pathlist(root, rel, rti, rte);
}

static PlannedStmt *
call_prev_planner(Query *parse, const char *query_string, int cursorOptions,
				  ParamListInfo boundParams)
{
	return prev_planner ? prev_planner(parse, query_string, cursorOptions, boundParams) :
		standard_planner(parse, query_string, cursorOptions, boundParams);
}

/*
 * Planning: equality on a child_data column with a blind index uses it
 * (blind_index.c); a Citus coordinator seals writes before Citus plans
 * (citus_seal.c).
 */
static PlannedStmt *
cg_planner(Query *parse, const char *query_string, int cursorOptions,
		   ParamListInfo boundParams)
{
	cg_blind_rewrite(parse);
	return cg_citus_planner(call_prev_planner, parse, query_string, cursorOptions,
							boundParams);
}

/* Function manager: which calls run code of a foreign owner (foreign_code.c). */
static bool
cg_needs_fmgr(Oid fn_oid)
{
	if (prev_needs_fmgr && prev_needs_fmgr(fn_oid))
		return true;
	return cg_foreign_code_needs_hook(fn_oid) ||
		(cg_citus_coordinator() && cg_citus_ddl_needs_hook(fn_oid));
}

static void
cg_fmgr(FmgrHookEventType event, FmgrInfo *flinfo, Datum *private)
{
	cg_foreign_code_hook(event, flinfo);
	cg_citus_ddl_hook(event, flinfo);
	if (prev_fmgr)
		prev_fmgr(event, flinfo, private);
}

static void
cg_shmem_request(void)
{
	if (prev_shmem_request)
		prev_shmem_request();
	cg_audit_queue_shmem_request();
	cg_master_key_shmem_request();
	cg_retention_shmem_request();
	cg_erasure_ledger_shmem_request();
	cg_grant_windows_shmem_request();
	cg_shared_cache_shmem_request();
}

static void
cg_shmem_startup(void)
{
	if (prev_shmem_startup)
		prev_shmem_startup();
	cg_audit_queue_shmem_startup();
	cg_master_key_shmem_startup();
	cg_retention_shmem_startup();
	cg_erasure_ledger_shmem_startup();
	cg_grant_windows_shmem_startup();
	cg_shared_cache_shmem_startup();
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
	cg_read_settings_define_gucs(cg_check_purpose_setting);
	cg_envelope_define_gucs();
	cg_audit_define_gucs();
	cg_statement_text_define_gucs();
	cg_data_keys_define_gucs();
	cg_retention_define_gucs();
	cg_erasure_ledger_define_gucs();
	cg_crypto_define_gucs();
	cg_grant_windows_define_gucs();
	cg_pool_scope_define_gucs();
	cg_shared_cache_define_gucs();
	cg_citus_node_define_gucs();
	MarkGUCPrefixReserved("childguard");

	cg_pool_scope_init();
	cg_secure_mem_init();
	cg_crypto_preload();
	cg_master_key_load_at_startup();
	cg_catalog_register_callbacks();
	/* the caches catalog.c's invalidation callback keeps in step */
	cg_protection_init();
	cg_blind_init();
	cg_protection_guard_init();
	cg_catalog_on_invalidation(cg_shared_cache_invalidate,
							   CG_INVAL_CHILD | CG_INVAL_DATA_KEY | CG_INVAL_POLICY);
	cg_catalog_on_invalidation(cg_shared_cache_invalidate_objects, CG_INVAL_OBJECTS);
	cg_shared_cache_init();
	cg_replicated_rows_init();
	cg_subjects_init();
	cg_subjects_consent_hooks(cg_consents_fetch_all, cg_consents_offer);
	cg_data_keys_init();
	cg_decision_init();
	cg_foreign_code_init();
	cg_operations_ceased_init();
	cg_audit_queue_set_writer_starter(cg_audit_start_writer);
	cg_audit_init();
	cg_retention_register_launcher();
	/* the audit record carries the query id */
	EnableQueryId();

	prev_ExecutorStart = ExecutorStart_hook;
	ExecutorStart_hook = cg_ExecutorStart;
	prev_ExecutorRun = ExecutorRun_hook;
	ExecutorRun_hook = cg_ExecutorRun;
	prev_ExecutorFinish = ExecutorFinish_hook;
	ExecutorFinish_hook = cg_ExecutorFinish;
	prev_ExecutorEnd = ExecutorEnd_hook;
	ExecutorEnd_hook = cg_ExecutorEnd;
	prev_ProcessUtility = ProcessUtility_hook;
	ProcessUtility_hook = cg_ProcessUtility;
	prev_shmem_request = shmem_request_hook;
	shmem_request_hook = cg_shmem_request;
	prev_shmem_startup = shmem_startup_hook;
	shmem_startup_hook = cg_shmem_startup;
	prev_post_parse_analyze = post_parse_analyze_hook;
	post_parse_analyze_hook = cg_post_parse_analyze;
	prev_emit_log = emit_log_hook;
	emit_log_hook = cg_emit_log;
	prev_object_access = object_access_hook;
	object_access_hook = cg_object_access;
	prev_set_rel_pathlist = set_rel_pathlist_hook;
	set_rel_pathlist_hook = cg_set_rel_pathlist;
	prev_planner = planner_hook;
	planner_hook = cg_planner;
	prev_needs_fmgr = needs_fmgr_hook;
	needs_fmgr_hook = cg_needs_fmgr;
	prev_fmgr = fmgr_hook;
	fmgr_hook = cg_fmgr;
}
