/*-------------------------------------------------------------------------
 *
 * audit_guard.c
 *	  Nobody but the audit writer changes the access log.
 *
 *	  - childguard._access_log_guard(): the BEFORE INSERT/UPDATE/DELETE
 *	    and BEFORE TRUNCATE statement triggers on childguard.access_log
 *	    and childguard.access_log_head (ENABLE ALWAYS, so
 *	    session_replication_role does not switch them off).  It refuses
 *	    every change unless the process is an audit writer
 *	    (cg_audit_is_writer, set only in audit_worker.c), or the extension
 *	    script itself is running.  Superusers and the owner included.
 *	  - The utility guard: DDL that would switch those triggers off or
 *	    change the tables (ALTER TABLE, DROP TABLE/TRIGGER/RULE, CREATE
 *	    TRIGGER/RULE, RENAME, ALTER ... SET SCHEMA) is refused outside the
 *	    extension's own scripts.
 *	  What remains possible to a superuser (editing the catalogs or the
 *	  data files) is what the hash chain is for: verify_access_log()
 *	  finds it.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/namespace.h"
#include "commands/extension.h"
#include "commands/trigger.h"
#include "fmgr.h"
#include "nodes/parsenodes.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"

#include "audit.h"
#include "childguard_errcodes.h"

static void
report_read_only(const char *relname, const char *what)
{
	ereport(ERROR,
			(errcode(ERRCODE_CG_AUDIT_LOG_READ_ONLY),
			 errmsg("cannot %s \"childguard.%s\"", what, relname),
			 errdetail("Only the childguard audit writer writes the access log; no role can change it."),
			 errhint("Old records are removed by the writer after childguard.audit_retention.")));
}

PG_FUNCTION_INFO_V1(cg_access_log_guard);
Datum
cg_access_log_guard(PG_FUNCTION_ARGS)
{
	TriggerData *trigdata = (TriggerData *) fcinfo->context;
	const char *what;

	if (!CALLED_AS_TRIGGER(fcinfo) || !TRIGGER_FIRED_BEFORE(trigdata->tg_event))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("childguard._access_log_guard() must be a BEFORE trigger")));
	if (cg_audit_is_writer || creating_extension)
	{
		if (TRIGGER_FIRED_FOR_STATEMENT(trigdata->tg_event))
			return PointerGetDatum(NULL);
		return PointerGetDatum(TRIGGER_FIRED_BY_UPDATE(trigdata->tg_event) ?
							   trigdata->tg_newtuple : trigdata->tg_trigtuple);
	}
	what = TRIGGER_FIRED_BY_INSERT(trigdata->tg_event) ? "insert into" :
		TRIGGER_FIRED_BY_UPDATE(trigdata->tg_event) ? "update" :
		TRIGGER_FIRED_BY_DELETE(trigdata->tg_event) ? "delete from" : "truncate";
	report_read_only(RelationGetRelationName(trigdata->tg_relation), what);
	return PointerGetDatum(NULL);
}

/* Is rv one of the log's tables?  Returns its name, or NULL. */
static const char *
log_table(RangeVar *rv)
{
	Oid			relid;
	Oid			nsp;
	char	   *name;

	if (rv == NULL)
		return NULL;
	relid = RangeVarGetRelid(rv, NoLock, true);
	if (!OidIsValid(relid))
		return NULL;
	nsp = get_namespace_oid("childguard", true);
	if (!OidIsValid(nsp) || get_rel_namespace(relid) != nsp)
		return NULL;
	name = get_rel_name(relid);
	if (name != NULL && (strcmp(name, "access_log") == 0 || strcmp(name, "access_log_head") == 0))
		return name;
	return NULL;
}

/* The table a DROP names, if it is a table or an object on a table. */
static const char *
dropped_log_table(DropStmt *drop)
{
	ListCell   *lc;

	if (drop->removeType != OBJECT_TABLE && drop->removeType != OBJECT_TRIGGER &&
		drop->removeType != OBJECT_RULE && drop->removeType != OBJECT_POLICY)
		return NULL;
	foreach(lc, drop->objects)
	{
		List	   *names = (List *) lfirst(lc);
		const char *hit;

		if (drop->removeType != OBJECT_TABLE)
			names = list_truncate(list_copy(names), list_length(names) - 1);
		if (names == NIL)
			continue;
		hit = log_table(makeRangeVarFromNameList(names));
		if (hit != NULL)
			return hit;
	}
	return NULL;
}

/* ProcessUtility, before running stmt: refuse DDL on the log's tables. */
void
cg_audit_guard_utility(PlannedStmt *pstmt)
{
	Node	   *stmt = pstmt->utilityStmt;
	const char *hit = NULL;
	const char *what = "alter";

	if (creating_extension)
		return;
	switch (nodeTag(stmt))
	{
		case T_AlterTableStmt:
			hit = log_table(((AlterTableStmt *) stmt)->relation);
			break;
		case T_RenameStmt:
			hit = log_table(((RenameStmt *) stmt)->relation);
			break;
		case T_AlterObjectSchemaStmt:
			hit = log_table(((AlterObjectSchemaStmt *) stmt)->relation);
			break;
		case T_CreateTrigStmt:
			hit = log_table(((CreateTrigStmt *) stmt)->relation);
			what = "create a trigger on";
			break;
		case T_RuleStmt:
			hit = log_table(((RuleStmt *) stmt)->relation);
			what = "create a rule on";
			break;
		case T_CreatePolicyStmt:
			hit = log_table(((CreatePolicyStmt *) stmt)->table);
			what = "create a policy on";
			break;
		case T_DropStmt:
			hit = dropped_log_table((DropStmt *) stmt);
			what = "drop";
			break;
		default:
			return;
	}
	if (hit != NULL)
		report_read_only(hit, what);
}
