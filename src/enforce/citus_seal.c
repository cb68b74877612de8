/*-------------------------------------------------------------------------
 *
 * citus_seal.c
 *	  On a Citus coordinator (childguard.citus_node = coordinator), values
 *	  written to a distributed protected table are sealed for their child
 *	  on the coordinator, before Citus deparses the write and sends it to
 *	  a worker: a worker never sees plaintext nor a pending value, and has
 *	  no key to seal with.
 *
 *	  How: before Citus's planner runs (childguard's planner hook wraps
 *	  Citus's, which is loaded first), each child_data value of an INSERT
 *	  or UPDATE of such a table is wrapped in
 *	  childguard._seal_for(table, child id, column, value).  The function
 *	  is STABLE and its arguments hold no column of the target, so Citus
 *	  evaluates it on the coordinator before deparsing (as it does with
 *	  every non-immutable expression of a modification); it checks what
 *	  the seal trigger checks on a single node (the child is registered
 *	  and not erased; collection: purpose, necessity, consent; a sealed
 *	  value belongs to this child and category) and seals.
 *	  - INSERT ... VALUES, one row or many: the child id is the row's own
 *	    subject value.
 *	  - UPDATE: the child is the one the WHERE clause pins with
 *	    subject = constant (a router UPDATE); otherwise refused (ZC604).
 *	  - INSERT ... SELECT of child_data columns moves values that are
 *	    sealed already (or pending values, which every worker refuses,
 *	    ZC601): not rewritten; one that computes child data from other
 *	    types (plaintext) is refused (ZC606).
 *	  The cost for any other statement: one test of the command type, and
 *	  for a write to a table holding child data, a scan of
 *	  pg_dist_partition.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_collation.h"
#include "catalog/pg_type.h"
#include "miscadmin.h"
#include "nodes/makefuncs.h"
#include "nodes/nodeFuncs.h"
#include "optimizer/optimizer.h"
#include "parser/parse_func.h"
#include "parser/parsetree.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"

#include "blind_index.h"
#include "catalog.h"
#include "categories.h"
#include "childguard_errcodes.h"
#include "citus_node.h"
#include "citus_seal.h"
#include "decision.h"
#include "envelope.h"
#include "operations_ceased.h"
#include "protection.h"
#include "seal_trigger.h"
#include "subjects.h"

/* childguard._seal_for(oid, text, integer, child_data), looked up per rewrite */
static Oid
seal_for_function(void)
{
	Oid			argtypes[4] = {OIDOID, TEXTOID, INT4OID, cg_child_data_type()};
	List	   *name = list_make2(makeString("childguard"), makeString("_seal_for"));

	return LookupFuncName(name, 4, argtypes, true);
}

/* expr as text (the child id), through its type's output function */
static Expr *
as_text(Expr *expr)
{
	CoerceViaIO *c;

	if (exprType((Node *) expr) == TEXTOID)
		return expr;
	c = makeNode(CoerceViaIO);
	c->arg = expr;
	c->resulttype = TEXTOID;
	c->resultcollid = DEFAULT_COLLATION_OID;
	c->coerceformat = COERCE_EXPLICIT_CAST;
	c->location = -1;
	return (Expr *) c;
}

/* _seal_for(relid, child, attnum, value) */
static Expr *
seal_call(Oid fn, Oid relid, Expr *child, AttrNumber attnum, Expr *value, Oid type)
{
	List	   *args;

	args = list_make4(makeConst(OIDOID, -1, InvalidOid, sizeof(Oid),
								ObjectIdGetDatum(relid), false, true),
					  child != NULL ? as_text(child) :
					  (Expr *) makeNullConst(TEXTOID, -1, DEFAULT_COLLATION_OID),
					  makeConst(INT4OID, -1, InvalidOid, sizeof(int32),
								Int32GetDatum(attnum), false, true),
					  value);
	return (Expr *) makeFuncExpr(fn, type, args, InvalidOid, InvalidOid,
								 COERCE_EXPLICIT_CALL);
}

/* The column's category if attnum is a protected child_data column, else 0. */
static int
column_category(const CgProtection *p, AttrNumber attnum)
{
	for (int i = 0; i < p->ncolumns; i++)
		if (p->columns[i].attnum == attnum)
			return p->columns[i].category;
	return 0;
}

static TargetEntry *
target_of(List *tlist, AttrNumber attnum)
{
	ListCell   *lc;

	foreach(lc, tlist)
	{
		TargetEntry *tle = lfirst(lc);

		if (!tle->resjunk && tle->resno == attnum)
			return tle;
	}
	return NULL;
}

/* strip implicit relabelling */
static Node *
strip(Node *n)
{
	while (n != NULL && IsA(n, RelabelType))
		n = (Node *) ((RelabelType *) n)->arg;
	return n;
}

/*
 * The child an UPDATE's WHERE clause pins: a top-level conjunct
 * subject = constant (or parameter) on the target.  NULL if none.
 */
static Expr *
pinned_child(Query *parse, AttrNumber subject_attnum)
{
	Node	   *quals = parse->jointree ? parse->jointree->quals : NULL;
	List	   *conj;
	ListCell   *lc;

	if (quals == NULL)
		return NULL;
	conj = IsA(quals, BoolExpr) && ((BoolExpr *) quals)->boolop == AND_EXPR ?
		((BoolExpr *) quals)->args : list_make1(quals);
	foreach(lc, conj)
	{
		OpExpr	   *op = lfirst(lc);
		Node	   *l,
				   *r;

		if (!IsA(op, OpExpr) || list_length(op->args) != 2)
			continue;
		if (strcmp(get_opname(op->opno), "=") != 0)
			continue;
		l = strip(linitial(op->args));
		r = strip(lsecond(op->args));
		if (IsA(r, Var))
		{
			Node	   *t = l;

			l = r;
			r = t;
		}
		if (!IsA(l, Var) || ((Var *) l)->varno != parse->resultRelation ||
			((Var *) l)->varattno != subject_attnum || ((Var *) l)->varlevelsup != 0)
			continue;
		if (IsA(r, Const) || IsA(r, Param))
			return (Expr *) r;
	}
	return NULL;
}

/* Wrap the child_data values of a multi-row VALUES list, row by row. */
static void
rewrite_values_rte(Oid fn, RangeTblEntry *values, Oid relid, AttrNumber attnum,
				   int value_col, int subject_col, Expr *subject_other, Oid type)
{
	ListCell   *lc;

	foreach(lc, values->values_lists)
	{
		List	   *row = lfirst(lc);
		Expr	   *value = list_nth(row, value_col);
		Expr	   *child = subject_col >= 0 ? list_nth(row, subject_col) : subject_other;

		list_nth_cell(row, value_col)->ptr_value =
			seal_call(fn, relid, child, attnum, value, type);
	}
}

/*
 * Planner hook, coordinator only, before Citus's planner: wrap the
 * child_data values of an INSERT or UPDATE of a distributed protected
 * table in _seal_for().
 */
void
cg_citus_seal_rewrite(Query *parse)
{
	RangeTblEntry *target;
	const CgProtection *p;
	TargetEntry *subject_tle;
	Expr	   *child = NULL;
	Oid			fn;
	ListCell   *lc;

	if (parse->commandType != CMD_INSERT && parse->commandType != CMD_UPDATE)
		return;
	if (!cg_citus_coordinator() || parse->resultRelation <= 0 ||
		!OidIsValid(cg_child_data_type()))
		return;
	target = rt_fetch(parse->resultRelation, parse->rtable);
	if (target->rtekind != RTE_RELATION)
		return;
	p = cg_protection_of_relid(target->relid);
	if (!p->has_child_data || !p->is_protected || p->ncolumns == 0)
		return;
	if (!cg_citus_is_distributed(target->relid))
		return;
	/* nothing here fills a blind index's hidden column (blind_index.c) */
	if (cg_blind_of(target->relid)->ncolumns > 0)
		cg_blind_refuse_distributed(target->relid, false);
	fn = seal_for_function();
	if (!OidIsValid(fn))
		return;					/* the installed SQL predates scale-out: ZC140 elsewhere */

	subject_tle = target_of(parse->targetList, p->subject_attnum);
	if (parse->commandType == CMD_UPDATE)
	{
		child = subject_tle != NULL ? subject_tle->expr :
			pinned_child(parse, p->subject_attnum);
	}
	else if (subject_tle != NULL)
		child = subject_tle->expr;

	foreach(lc, parse->targetList)
	{
		TargetEntry *tle = lfirst(lc);
		Node	   *expr;

		if (tle->resjunk || column_category(p, tle->resno) == 0)
			continue;
		expr = strip((Node *) tle->expr);
		if (parse->commandType == CMD_INSERT && contain_vars_of_level(expr, 0))
		{
			Var		   *var = IsA(expr, Var) ? (Var *) expr : NULL;
			RangeTblEntry *src = var ? rt_fetch(var->varno, parse->rtable) : NULL;
			int			subject_col = -1;

			/* INSERT ... SELECT of child_data: sealed already, or refused by the workers */
			if (src != NULL && src->rtekind != RTE_VALUES)
				continue;
			if (src == NULL)
				ereport(ERROR,
						(errcode(ERRCODE_CG_CITUS_SELECT_PLAINTEXT),
						 errmsg("cannot write child data computed by INSERT ... SELECT into distributed table \"%s\"",
								get_rel_name(target->relid)),
						 errdetail("Values are sealed for their child on the coordinator before Citus sends them to a worker; Citus runs the SELECT where childguard cannot seal its results."),
						 errhint("Use INSERT ... VALUES (one or many rows, or a prepared statement), or load a local protected table and INSERT ... SELECT its child_data columns as they are.")));
			if (child != NULL && IsA(strip((Node *) child), Var) &&
				((Var *) strip((Node *) child))->varno == var->varno)
				subject_col = ((Var *) strip((Node *) child))->varattno - 1;
			rewrite_values_rte(fn, src, target->relid, tle->resno,
							   var->varattno - 1, subject_col,
							   subject_col >= 0 ? NULL : child, exprType(expr));
			continue;
		}
		if (parse->commandType == CMD_UPDATE && child == NULL)
			ereport(ERROR,
					(errcode(ERRCODE_CG_CITUS_UPDATE_UNPINNED),
					 errmsg("cannot update child data of distributed table \"%s\" without naming the child",
							get_rel_name(target->relid)),
					 errdetail("Values are sealed for their child on the coordinator before they are sent to a worker; this UPDATE does not say which child its rows belong to."),
					 errhint("Add WHERE %s = '<child id>' to update one child's rows.",
							 quote_identifier(get_attname(target->relid, p->subject_attnum, false)))));
		tle->expr = seal_call(fn, target->relid, child, tle->resno, tle->expr,
							  exprType((Node *) tle->expr));
	}
}

/*
 * The planner hook's work (planner: the previous hook or the standard
 * planner): on a coordinator, seal writes first, then let Citus plan with
 * envelopes shipped (it deparses router queries while planning).
 */
PlannedStmt *
cg_citus_planner(planner_hook_type planner, Query *parse, const char *query_string,
				 int cursorOptions, ParamListInfo boundParams)
{
	PlannedStmt *volatile result = NULL;
	int			shipping;

	if (!cg_citus_coordinator())
		return planner(parse, query_string, cursorOptions, boundParams);
	cg_citus_seal_rewrite(parse);
	cg_citus_shipping_enter(&shipping);
	PG_TRY();
	{
		result = planner(parse, query_string, cursorOptions, boundParams);
	}
	PG_FINALLY();
	{
		cg_citus_shipping_leave(shipping);
	}
	PG_END_TRY();
	return result;
}

PG_FUNCTION_INFO_V1(cg_seal_for);

/*
 * childguard._seal_for(tbl oid, child text, attnum integer, value child_data)
 *	  -> child_data: value sealed for child in column attnum of tbl.  What
 *	  the seal trigger does for one value on a single node; on a Citus
 *	  coordinator the write rewrite above calls it.
 */
Datum
cg_seal_for(PG_FUNCTION_ARGS)
{
	Oid			relid = PG_GETARG_OID(0);
	AttrNumber	attnum = (AttrNumber) PG_GETARG_INT32(2);
	const CgProtection *p;
	struct varlena *value;
	CgEnvelope	env;
	CgSubject	subject;
	char	   *child_id;
	char	   *relname;
	char	   *colname;
	int			category;
	bool		saved;
	struct varlena *volatile result = NULL;

	if (PG_ARGISNULL(3))
		PG_RETURN_NULL();
	if (PG_ARGISNULL(0) || PG_ARGISNULL(2))
		ereport(ERROR,
				(errcode(ERRCODE_CG_CITUS_SEAL_MISUSE),
				 errmsg("childguard._seal_for() needs a table and a column")));
	p = cg_protection_of_relid(relid);
	category = p->is_protected ? column_category(p, attnum) : 0;
	relname = get_rel_name(relid);
	/*
	 * For a write to the table: the role may insert into it or update it
	 * (the rewrite's call is part of such a write, whose privileges the
	 * executor checks too).  Another role would learn, for any child id,
	 * whether it is registered or erased (ZC011, ZC012) without reading or
	 * writing anything (round 20).
	 */
	if (relname != NULL &&
		pg_class_aclmask(relid, GetUserId(), ACL_INSERT | ACL_UPDATE, ACLMASK_ANY) == 0)
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("permission denied for table %s", relname),
				 errdetail("childguard._seal_for() seals a value for a write to the table; the role may neither insert into it nor update it.")));
	if (category == 0 || relname == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_CG_CITUS_SEAL_MISUSE),
				 errmsg("column %d of relation \"%s\" is not a protected child data column",
						attnum, relname ? relname : psprintf("%u", relid)),
				 errhint("childguard._seal_for() is called by childguard's rewrite of writes to distributed tables only.")));
	colname = get_attname(relid, attnum, false);
	if (PG_ARGISNULL(1))
		ereport(ERROR,
				(errcode(ERRCODE_CG_UNKNOWN_CHILD),
				 errmsg("child data in table \"%s\" needs a child", relname),
				 errdetail("The subject column \"%s\" is null.",
						   get_attname(relid, p->subject_attnum, false))));
	child_id = text_to_cstring(PG_GETARG_TEXT_PP(1));
	value = PG_DETOAST_DATUM_PACKED(PG_GETARG_DATUM(3));
	cg_envelope_parse(value, &env);
	if (!cg_subject_lookup(child_id, &subject))
		ereport(ERROR,
				(errcode(ERRCODE_CG_UNKNOWN_CHILD),
				 errmsg("child \"%s\" is not registered", child_id),
				 errhint("Register the child with childguard.register_child() first.")));
	if (subject.erased)
		ereport(ERROR,
				(errcode(ERRCODE_CG_CHILD_ERASED),
				 errmsg("child \"%s\" has been erased", child_id),
				 errdetail("No new data can be collected for an erased child.")));

	if (!(env.flags & CG_ENV_PENDING))
	{
		if (env.subject != subject.subject_no)
			ereport(ERROR,
					(errcode(ERRCODE_CG_AUTHENTICATION_FAILED),
					 errmsg("child data value belongs to another child"),
					 errdetail("Column \"%s\" of table \"%s\" is for child \"%s\", but the value was sealed for a different child.",
							   colname, relname, child_id),
					 errhint("Child data cannot be moved from one child to another.")));
		if (env.category != category)
			ereport(ERROR,
					(errcode(ERRCODE_CG_AUTHENTICATION_FAILED),
					 errmsg("child data value belongs to another category"),
					 errdetail("Column \"%s\" of table \"%s\" holds category \"%s\", but the value was sealed as \"%s\".",
							   colname, relname, cg_category_name(category),
							   cg_category_name(env.category))));
		PG_RETURN_POINTER(value);
	}

	/* new data: the coordinator decides collection here, not Citus's shipping */
	cg_citus_client_output_enter(&saved);
	PG_TRY();
	{
		cg_check_operations_ceased(relname, subject.subject_no);
		cg_check_collection(&subject, category, child_id, relname, colname);
		result = cg_seal_pending(&env, &subject, category, child_id, NULL, NULL);
	}
	PG_FINALLY();
	{
		cg_citus_client_output_leave(saved);
	}
	PG_END_TRY();
	PG_RETURN_POINTER(result);
}
