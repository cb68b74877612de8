/*-------------------------------------------------------------------------
 *
 * write_guard.c
 *	  The rule "child data is written only into protected tables", at the
 *	  statement level:
 *	  - INSERT, UPDATE and MERGE (also inside WITH) whose target holds
 *	    child_data but is not protected are refused at executor start;
 *	  - CREATE TABLE AS, SELECT INTO and CREATE MATERIALIZED VIEW that
 *	    would create a table holding child data are refused;
 *	  - ALTER TABLE that would turn existing values into child data
 *	    (ALTER COLUMN ... TYPE child_data from another type, ADD COLUMN
 *	    child_data with a DEFAULT) is refused: table rewrites and missing
 *	    values bypass the seal trigger -- except a USING that is another
 *	    child_data column of the same protected table and category, whose
 *	    values are sealed already (migrate_column()'s last step);
 *	  - COPY FROM into an unprotected table takes envelopes only (this is
 *	    how pg_restore loads data before the seal trigger is recreated),
 *	    and refuses plaintext.
 *	  The cost for a statement touching no child data is one cached-OID
 *	  test, plus a cached hash probe per result relation.
 *
 *	  The COPY FROM flag lives in the statement's nesting level
 *	  (statement.c): set here for the COPY's level, restored -- not
 *	  cleared -- when a nested statement ends, so a COPY run inside a
 *	  function called by the COPY leaves the outer COPY's flag in place.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/namespace.h"
#include "commands/prepare.h"
#include "nodes/nodeFuncs.h"
#include "parser/parse_type.h"
#include "parser/parsetree.h"
#include "storage/lmgr.h"
#include "utils/lsyscache.h"

#include "catalog.h"
#include "childguard_errcodes.h"
#include "citus_node.h"
#include "protection.h"
#include "statement.h"
#include "write_guard.h"

/* ExecutorStart: every written relation holding child data must be protected. */
void
cg_write_guard_executor_start(QueryDesc *queryDesc)
{
	PlannedStmt *ps = queryDesc->plannedstmt;
	ListCell   *lc;

	if (ps->resultRelations == NIL || !OidIsValid(cg_child_data_type()))
		return;
	/* a Citus worker takes only sealed envelopes (citus_worker.c) */
	if (cg_citus_worker())
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

/* Does a column definition's type hold child data? */
static bool
column_def_holds_child_data(ColumnDef *def)
{
	Oid			typid;

	if (def == NULL || def->typeName == NULL)
		return false;
	typid = LookupTypeNameOid(NULL, def->typeName, true);
	return OidIsValid(typid) && cg_type_holds_child_data(typid) != CG_HOLDS_NONE;
}

/* A DEFAULT, before parse analysis moves it out of the constraint list. */
static bool
column_def_has_default(ColumnDef *def)
{
	ListCell   *lc;

	if (def->raw_default != NULL || def->cooked_default != NULL)
		return true;
	foreach(lc, def->constraints)
		if (castNode(Constraint, lfirst(lc))->contype == CONSTR_DEFAULT)
			return true;
	return false;
}

/*
 * Is the USING expression of ALTER COLUMN ... TYPE child_data(c) exactly
 * another column of the same protected table, of the very same type and
 * category?  Its values were sealed by the seal trigger for this row's
 * child and category, so the rewrite copies envelopes that already belong
 * where they land: this is the last step of childguard.migrate_column(),
 * which keeps the converted column in its place.
 */
static bool
using_sealed_column(Oid relid, ColumnDef *def)
{
	ColumnRef  *ref = (ColumnRef *) def->raw_default;
	Oid			typid;
	int32		typmod;
	AttrNumber	src;
	Oid			srctype;
	int32		srctypmod;
	Oid			srccoll;
	const CgProtection *p;

	if (ref == NULL || !IsA(ref, ColumnRef) || list_length(ref->fields) != 1 ||
		!IsA(linitial(ref->fields), String))
		return false;
	src = get_attnum(relid, strVal(linitial(ref->fields)));
	if (src == InvalidAttrNumber || src < 0)
		return false;
	typenameTypeIdAndMod(NULL, def->typeName, &typid, &typmod);
	get_atttypetypmodcoll(relid, src, &srctype, &srctypmod, &srccoll);
	if (typid != cg_child_data_type() || srctype != typid ||
		typmod < 0 || srctypmod != typmod)
		return false;
	p = cg_protection_of_relid(relid);
	return p->is_protected;
}

/* Refuse ALTER TABLE commands that would store values without sealing them. */
static void
check_alter_table(AlterTableStmt *stmt)
{
	ListCell   *lc;
	Oid			relid = InvalidOid;

	foreach(lc, stmt->cmds)
	{
		AlterTableCmd *cmd = lfirst_node(AlterTableCmd, lc);
		ColumnDef  *def = (ColumnDef *) cmd->def;

		if (cmd->subtype == AT_AddColumn && column_def_holds_child_data(def) &&
			column_def_has_default(def))
			ereport(ERROR,
					(errcode(ERRCODE_CG_TABLE_NOT_PROTECTED),
					 errmsg("cannot add child data column \"%s\" with a default", def->colname),
					 errdetail("Existing rows would get the default without it being sealed for their child."),
					 errhint("Add the column without a default, protect it, then UPDATE the rows.")));
		if (cmd->subtype == AT_AlterColumnType && column_def_holds_child_data(def))
		{
			AttrNumber	attnum;

			if (!OidIsValid(relid))
				relid = RangeVarGetRelid(stmt->relation, NoLock, true);
			attnum = OidIsValid(relid) ? get_attnum(relid, cmd->name) : InvalidAttrNumber;
			if (attnum != InvalidAttrNumber &&
				cg_type_holds_child_data(get_atttype(relid, attnum)) == CG_HOLDS_NONE &&
				!using_sealed_column(relid, def))
				ereport(ERROR,
						(errcode(ERRCODE_CG_TABLE_NOT_PROTECTED),
						 errmsg("cannot convert column \"%s\" to child data in place", cmd->name),
						 errdetail("A table rewrite would store the values without sealing them for their child."),
						 errhint("Convert it with childguard.migrate_column(), which seals each value for its child and keeps the column in place.")));
		}
	}
}

/*
 * ProcessUtility, before the statement runs, at the statement's own
 * nesting level (the hook restores the outer level when it ends).
 */
void
cg_write_guard_utility_begin(Node *stmt)
{
	if (!OidIsValid(cg_child_data_type()))
		return;
	/* a Citus worker takes only sealed envelopes (citus_worker.c) */
	if (cg_citus_worker())
		return;
	if (IsA(stmt, CreateTableAsStmt))
		check_created_table((CreateTableAsStmt *) stmt);
	else if (IsA(stmt, AlterTableStmt))
		check_alter_table((AlterTableStmt *) stmt);
	else if (IsA(stmt, CopyStmt))
	{
		CopyStmt   *copy = (CopyStmt *) stmt;
		Oid			relid;
		const CgProtection *p;

		if (!copy->is_from || copy->relation == NULL)
			return;
		/* the lock COPY FROM itself takes; a missing table is COPY's to report */
		relid = RangeVarGetRelid(copy->relation, RowExclusiveLock, true);
		if (!OidIsValid(relid))
			return;
		p = cg_protection_of_relid(relid);
		if (p->has_child_data && !p->is_protected)
			cg_statement()->level.copy_plain_refused = relid;
		if (p->has_child_data && cg_citus_is_distributed(relid))
			ereport(ERROR,
					(errcode(ERRCODE_CG_CITUS_COPY_UNSUPPORTED),
					 errmsg("cannot COPY child data into distributed table \"%s\"",
							get_rel_name(relid)),
					 errdetail("Citus sends COPY rows to the workers as they are read, before childguard can seal each value for its child on the coordinator."),
					 errhint("Load the rows with INSERT through the coordinator (multi-row VALUES or prepared statements), or COPY into a local protected table and INSERT ... SELECT from it; see docs/scale-out.md.")));
	}
}

/* Called by text input for plaintext: refused inside an unprotected COPY. */
void
cg_write_guard_check_plaintext_input(void)
{
	Oid			relid = cg_statement()->level.copy_plain_refused;

	if (OidIsValid(relid))
	{
		/* a refused collection: the statement leaves its (error) record */
		cg_statement_attempt();
		ereport(ERROR,
				(errcode(ERRCODE_CG_TABLE_NOT_PROTECTED),
				 errmsg("cannot copy plaintext child data into table \"%s\"",
						get_rel_name(relid)),
				 errdetail("The table is not protected by childguard; only sealed values (envelopes) can be loaded into it."),
				 errhint("Call childguard.protect() on the table before writing child data to it.")));
	}
}
