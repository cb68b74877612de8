/*-------------------------------------------------------------------------
 *
 * write_guard.c
 *	  The rule "child data is written only into protected tables", at the
 *	  statement level:
 *	  - INSERT, UPDATE and MERGE (also inside WITH) whose target holds
 *	    child_data but is not protected are refused at executor start;
 *	  - CREATE TABLE AS, SELECT INTO and CREATE MATERIALIZED VIEW that
 *	    would create a table holding child data are refused;
 *	  - COPY FROM into an unprotected table takes envelopes only (this is
 *	    how pg_restore loads data before the seal trigger is recreated),
 *	    and refuses plaintext.
 *	  The cost for a statement touching no child data is one cached-OID
 *	  test, plus a cached hash probe per result relation.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/namespace.h"
#include "commands/prepare.h"
#include "nodes/nodeFuncs.h"
#include "parser/parsetree.h"
#include "storage/lmgr.h"
#include "utils/lsyscache.h"

#include "catalog.h"
#include "childguard_errcodes.h"
#include "protection.h"
#include "write_guard.h"

/* set while a COPY FROM into an unprotected table runs */
static Oid	copy_plaintext_refused_relid = InvalidOid;

/* ExecutorStart: every written relation holding child data must be protected. */
void
cg_write_guard_executor_start(QueryDesc *queryDesc)
{
	PlannedStmt *ps = queryDesc->plannedstmt;
	ListCell   *lc;

	if (ps->resultRelations == NIL || !OidIsValid(cg_child_data_type()))
		return;
	if (ps->commandType == CMD_DELETE && !ps->hasModifyingCTE)
		return;
	foreach(lc, ps->resultRelations)
	{
		RangeTblEntry *rte = rt_fetch(lfirst_int(lc), ps->rtable);
		const CgProtection *p;

		if (rte->rtekind != RTE_RELATION)
			continue;
		p = cg_protection_of_relid(rte->relid);
		if (p->has_child_data && !p->is_protected)
			cg_report_not_protected(p, get_rel_name(rte->relid));
	}
}

/* Refuse a table-creating query whose columns would hold child data. */
static void
check_created_table(CreateTableAsStmt *ctas)
{
	Query	   *query = castNode(Query, ctas->query);
	const char *what = ctas->objtype == OBJECT_MATVIEW ?
		"materialized view" : "table";
	TupleDesc	desc = NULL;
	ListCell   *lc;
	bool		holds = false;

	if (query->commandType == CMD_UTILITY && IsA(query->utilityStmt, ExecuteStmt))
	{
		ExecuteStmt *es = (ExecuteStmt *) query->utilityStmt;
		PreparedStatement *prep = FetchPreparedStatement(es->name, false);

		if (prep != NULL)
			desc = FetchPreparedStatementResultDesc(prep);
		for (int i = 0; desc != NULL && i < desc->natts && !holds; i++)
			holds = cg_type_holds_child_data(TupleDescAttr(desc, i)->atttypid) != CG_HOLDS_NONE;
	}
	else
	{
		foreach(lc, query->targetList)
		{
			TargetEntry *tle = lfirst_node(TargetEntry, lc);

			if (!tle->resjunk &&
				cg_type_holds_child_data(exprType((Node *) tle->expr)) != CG_HOLDS_NONE)
				holds = true;
		}
	}
	if (holds)
		ereport(ERROR,
				(errcode(ERRCODE_CG_TABLE_NOT_PROTECTED),
				 errmsg("cannot create %s \"%s\" holding child data from a query",
						what, ctas->into->rel->relname),
				 errdetail("A table made this way would not be protected by childguard."),
				 errhint("Create the table, protect it with childguard.protect(), then fill it with INSERT ... SELECT.")));
}

/*
 * ProcessUtility, before the statement runs.  Returns true if it set
 * state that cg_write_guard_utility_end must reset.
 */
bool
cg_write_guard_utility_begin(Node *stmt)
{
	if (!OidIsValid(cg_child_data_type()))
		return false;
	if (IsA(stmt, CreateTableAsStmt))
		check_created_table((CreateTableAsStmt *) stmt);
	else if (IsA(stmt, CopyStmt))
	{
		CopyStmt   *copy = (CopyStmt *) stmt;
		Oid			relid;
		const CgProtection *p;

		if (!copy->is_from || copy->relation == NULL)
			return false;
		/* the lock COPY FROM itself takes; a missing table is COPY's to report */
		relid = RangeVarGetRelid(copy->relation, RowExclusiveLock, true);
		if (!OidIsValid(relid))
			return false;
		p = cg_protection_of_relid(relid);
		if (p->has_child_data && !p->is_protected)
		{
			copy_plaintext_refused_relid = relid;
			return true;
		}
	}
	return false;
}

void
cg_write_guard_utility_end(bool began)
{
	if (began)
		copy_plaintext_refused_relid = InvalidOid;
}

/* Called by text input for plaintext: refused inside an unprotected COPY. */
void
cg_write_guard_check_plaintext_input(void)
{
	if (OidIsValid(copy_plaintext_refused_relid))
		ereport(ERROR,
				(errcode(ERRCODE_CG_TABLE_NOT_PROTECTED),
				 errmsg("cannot copy plaintext child data into table \"%s\"",
						get_rel_name(copy_plaintext_refused_relid)),
				 errdetail("The table is not protected by childguard; only sealed values (envelopes) can be loaded into it."),
				 errhint("Call childguard.protect() on the table before writing child data to it.")));
}
