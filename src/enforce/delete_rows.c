/*-------------------------------------------------------------------------
 *
 * delete_rows.c
 *	  DELETE of rows of a protected table (issue 11 item 4).
 *
 *	  What a DELETE sees.  Row security hides the rows of children whose
 *	  data the session's purpose may not use (row_policy.c); PostgreSQL
 *	  applies a table's SELECT policies to a DELETE that reads its columns
 *	  (a WHERE clause, RETURNING), so after a withdrawal the application's
 *	  "DELETE FROM t WHERE id = 42" removed nothing, silently.  Deleting
 *	  is never collecting or reading, so the rows of a DELETE's target are
 *	  all visible to it: at each ExecutorRun the range-table indexes of the
 *	  plan's DELETE targets (the ModifyTable nodes of the plan and its
 *	  sub-plans, data-modifying CTEs included) are kept in the nesting
 *	  level (statement.c; restored when the level ends, set afresh by every
 *	  query run inside it), and row_visible() on a row of one of those scans
 *	  (the Var its argument names, from the expression, cached per call
 *	  site) says yes without a decision.  Every other relation of the
 *	  statement — a USING list, a sub-query, another table — is decided as
 *	  before.  Values are not: a WHERE or RETURNING that reads a child_data
 *	  value of such a row is decided value by value (denied: ZC105, NULL or
 *	  mask, as for any read).
 *
 *	  What a DELETE leaves.  protect() adds an AFTER DELETE row trigger
 *	  (childguard.seal_row(), so no code but childguard's is attached) that
 *	  notes each deleted row's child as written by the statement: its audit
 *	  record (command DELETE, or the erasing statement) names the children.
 *	  TRUNCATE names no rows: it is refused on a protected table (ZC329),
 *	  by a BEFORE TRUNCATE statement trigger of the same function.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "nodes/nodeFuncs.h"
#include "nodes/plannodes.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"

#include "childguard_errcodes.h"
#include "delete_rows.h"
#include "protection.h"
#include "statement.h"
#include "subjects.h"

/* Add the result relations of a DELETE ModifyTable to *rtis. */
static void
note_delete_targets(Plan *plan, Bitmapset **rtis)
{
	ListCell   *lc;

	if (plan == NULL || !IsA(plan, ModifyTable))
		return;
	if (((ModifyTable *) plan)->operation != CMD_DELETE)
		return;
	foreach(lc, ((ModifyTable *) plan)->resultRelations)
		*rtis = bms_add_member(*rtis, lfirst_int(lc));
}

/*
 * A query runs at a new nesting level (childguard.c's ExecutorRun): which
 * of its range-table entries are DELETE targets (NULL: none).
 */
void
cg_delete_rows_executor_run(QueryDesc *queryDesc)
{
	PlannedStmt *ps = queryDesc->plannedstmt;
	CgStatement *st = cg_statement();
	Bitmapset  *rtis = NULL;
	MemoryContext old;
	ListCell   *lc;

	st->level.delete_rtis = NULL;
	if (ps == NULL || (ps->commandType != CMD_DELETE && !ps->hasModifyingCTE) ||
		queryDesc->estate == NULL)
		return;
	old = MemoryContextSwitchTo(queryDesc->estate->es_query_cxt);
	note_delete_targets(ps->planTree, &rtis);
	foreach(lc, ps->subplans)
		note_delete_targets((Plan *) lfirst(lc), &rtis);
	MemoryContextSwitchTo(old);
	st->level.delete_rtis = rtis;
}

/* The range-table index of the Var row_visible()'s argument names; 0: none. */
static int
argument_varno(FunctionCallInfo fcinfo)
{
	Node	   *expr = fcinfo->flinfo ? fcinfo->flinfo->fn_expr : NULL;
	Node	   *arg;

	if (expr == NULL || !IsA(expr, FuncExpr) || list_length(((FuncExpr *) expr)->args) != 1)
		return 0;
	arg = linitial(((FuncExpr *) expr)->args);
	for (;;)
	{
		if (arg == NULL)
			return 0;
		if (IsA(arg, RelabelType))
			arg = (Node *) ((RelabelType *) arg)->arg;
		else if (IsA(arg, CoerceViaIO))
			arg = (Node *) ((CoerceViaIO *) arg)->arg;
		else if (IsA(arg, FuncExpr) && list_length(((FuncExpr *) arg)->args) == 1 &&
				 ((FuncExpr *) arg)->funcformat != COERCE_EXPLICIT_CALL)
			arg = linitial(((FuncExpr *) arg)->args);
		else
			break;
	}
	if (!IsA(arg, Var) || ((Var *) arg)->varlevelsup != 0 ||
		IS_SPECIAL_VARNO(((Var *) arg)->varno))
		return 0;
	return ((Var *) arg)->varno;
}

/*
 * Is row_visible() being asked about a row of a DELETE's target scan?
 * One test of a pointer when no DELETE runs at this level.
 */
bool
cg_delete_target_row(FunctionCallInfo fcinfo)
{
	const CgStatement *st = cg_statement();
	int		   *cached;

	if (st->level.delete_rtis == NULL || fcinfo->flinfo == NULL)
		return false;
	cached = (int *) fcinfo->flinfo->fn_extra;
	if (cached == NULL)
	{
		cached = MemoryContextAlloc(fcinfo->flinfo->fn_mcxt, sizeof(int));
		*cached = argument_varno(fcinfo);
		fcinfo->flinfo->fn_extra = cached;
	}
	return *cached > 0 && bms_is_member(*cached, st->level.delete_rtis);
}

/* The AFTER DELETE row trigger: note the deleted row's child. */
void
cg_delete_rows_note(TriggerData *trigdata)
{
	Relation	rel = trigdata->tg_relation;
	const CgProtection *p = cg_protection_of(rel);
	AttrNumber	att = p->subject_attnum;
	bool		isnull;
	Datum		d;
	Oid			typoutput;
	bool		varlena;
	char	   *child_id;
	CgSubject	subject;

	if (att == InvalidAttrNumber && trigdata->tg_trigger->tgnargs == 1)
		att = get_attnum(RelationGetRelid(rel), trigdata->tg_trigger->tgargs[0]);
	if (att == InvalidAttrNumber)
		return;
	d = heap_getattr(trigdata->tg_trigtuple, att, RelationGetDescr(rel), &isnull);
	if (isnull)
		return;
	if (p->subject_attnum == att)
		child_id = OutputFunctionCall((FmgrInfo *) &p->subject_out, d);
	else
	{
		getTypeOutputInfo(TupleDescAttr(RelationGetDescr(rel), att - 1)->atttypid,
						  &typoutput, &varlena);
		child_id = OidOutputFunctionCall(typoutput, d);
	}
	if (cg_subject_lookup(child_id, &subject))
		cg_statement_note(subject.subject_no, CG_ACCESS_WRITE);
	pfree(child_id);
}

/* The BEFORE TRUNCATE statement trigger: refused. */
void
cg_delete_rows_refuse_truncate(TriggerData *trigdata)
{
	ereport(ERROR,
			(errcode(ERRCODE_CG_TRUNCATE_PROTECTED),
			 errmsg("cannot truncate protected table \"%s\"",
					RelationGetRelationName(trigdata->tg_relation)),
			 errdetail("TRUNCATE removes child data without naming the children, so it would leave no audit record of whose data was removed."),
			 errhint("Use DELETE (audited), or childguard.erase() / childguard.erase_child() / childguard.cease_operations().")));
}
