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
 *	  TRUNCATE names no rows: a BEFORE TRUNCATE statement trigger of the
 *	  same function scans the table first and notes every row's child, so
 *	  its record names them too.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "access/table.h"
#include "access/tableam.h"
#include "catalog/pg_class.h"
#include "catalog/pg_inherits.h"
#include "executor/tuptable.h"
#include "miscadmin.h"
#include "utils/snapmgr.h"
#include "nodes/nodeFuncs.h"
#include "nodes/plannodes.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"

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

/* The subject column's number in rel (the trigger names it), or 0. */
static AttrNumber
subject_attnum(Relation rel, Trigger *trigger, const CgProtection *p)
{
	if (p->subject_attnum != InvalidAttrNumber)
		return p->subject_attnum;
	if (trigger->tgnargs == 1)
		return get_attnum(RelationGetRelid(rel), trigger->tgargs[0]);
	return InvalidAttrNumber;
}

/* Note the child a subject value names, if registered. */
static void
note_subject(Relation rel, AttrNumber att, Datum d)
{
	Oid			typoutput;
	bool		varlena;
	char	   *child_id;
	CgSubject	subject;

	getTypeOutputInfo(TupleDescAttr(RelationGetDescr(rel), att - 1)->atttypid,
					  &typoutput, &varlena);
	child_id = OidOutputFunctionCall(typoutput, d);
	if (cg_subject_lookup(child_id, &subject))
		cg_statement_note(subject.subject_no, CG_ACCESS_WRITE);
	pfree(child_id);
}

/* The AFTER DELETE row trigger: note the deleted row's child. */
void
cg_delete_rows_note(TriggerData *trigdata)
{
	Relation	rel = trigdata->tg_relation;
	AttrNumber	att = subject_attnum(rel, trigdata->tg_trigger, cg_protection_of(rel));
	bool		isnull;
	Datum		d;

	if (att == InvalidAttrNumber)
		return;
	d = heap_getattr(trigdata->tg_trigtuple, att, RelationGetDescr(rel), &isnull);
	if (!isnull)
		note_subject(rel, att, d);
}

/* Note the child of every row of one relation with storage. */
static void
note_all_rows(Relation rel, AttrNumber att)
{
	Snapshot	snapshot = RegisterSnapshot(GetLatestSnapshot());
	TableScanDesc scan = table_beginscan(rel, snapshot, 0, NULL);
	TupleTableSlot *slot = table_slot_create(rel, NULL);

	while (table_scan_getnextslot(scan, ForwardScanDirection, slot))
	{
		bool		isnull;
		Datum		d = slot_getattr(slot, att, &isnull);

		if (!isnull)
			note_subject(rel, att, d);
		CHECK_FOR_INTERRUPTS();
	}
	ExecDropSingleTupleTableSlot(slot);
	table_endscan(scan);
	UnregisterSnapshot(snapshot);
}

/*
 * The BEFORE TRUNCATE statement trigger: TRUNCATE names no rows, so the
 * children of every row it is about to remove (it holds the table's
 * ACCESS EXCLUSIVE lock: nothing changes under the scan) are noted for
 * the statement's audit record, row security aside.  The cost is one scan
 * of the table.  A partitioned table's partitions are scanned through it.
 */
void
cg_delete_rows_note_truncate(TriggerData *trigdata)
{
	Relation	rel = trigdata->tg_relation;
	AttrNumber	att = subject_attnum(rel, trigdata->tg_trigger, cg_protection_of(rel));
	const char *subject_name;
	List	   *parts;
	ListCell   *lc;

	if (att == InvalidAttrNumber)
		return;
	if (rel->rd_rel->relkind != RELKIND_PARTITIONED_TABLE)
	{
		note_all_rows(rel, att);
		return;
	}
	subject_name = NameStr(TupleDescAttr(RelationGetDescr(rel), att - 1)->attname);
	parts = find_all_inheritors(RelationGetRelid(rel), AccessShareLock, NULL);
	foreach(lc, parts)
	{
		Relation	part = table_open(lfirst_oid(lc), AccessShareLock);
		AttrNumber	patt = get_attnum(RelationGetRelid(part), subject_name);

		if (part->rd_rel->relkind != RELKIND_PARTITIONED_TABLE &&
			patt != InvalidAttrNumber)
			note_all_rows(part, patt);
		table_close(part, AccessShareLock);
	}
}
