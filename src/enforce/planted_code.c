/*-------------------------------------------------------------------------
 *
 * planted_code.c
 *	  No code but childguard's own is attached to a table holding child
 *	  data.
 *
 * Code attached to a table (a trigger, a rule, a row policy, a constraint,
 * a default or generation expression, an index expression or predicate,
 * an extended statistics expression) runs inside the statement of
 * whoever reads or writes the table, with that session's declared
 * purpose, and so with its right to see child data: a table owner who
 * holds no grant could otherwise copy plaintext out through it.  The rule
 * enforced here: on a relation with a column holding child data, no such
 * object may reference a child data column, and "reference" is taken
 * broadly:
 *	  - every trigger receives rows (or can read the table), so every
 *	    trigger is refused but childguard's seal trigger (no WHEN clause,
 *	    no transition tables) and the internal triggers PostgreSQL's own
 *	    foreign key and deferred unique checks use;
 *	  - every rule on a table is refused; on a view, every rule but its
 *	    ON SELECT definition; triggers and rules also on a view that holds
 *	    no child data but reads some (it hands them rows chosen by it);
 *	  - an expression references a child data column when it has a Var of
 *	    such a column, or a whole-row Var (t.*, f(t)), or a sub-query over
 *	    any relation holding child data; and it may call no function but
 *	    built-in ones, childguard's and those of extensions a superuser
 *	    owns (a function the owner wrote can read the table by itself);
 *	  - a view that reads child data (views within views included) may
 *	    call no function that is not built in or childguard's, and no
 *	    volatile one (pg_notify, set_config): fed only the rows a
 *	    condition on child data selected, even a function given no child
 *	    data learns it;
 *	  - UNIQUE, PRIMARY KEY, EXCLUDE and FOREIGN KEY constraints, indexes
 *	    and statistics that include a child data column, defaults of a
 *	    child data column, and CHECK constraints and defaults of a domain
 *	    over child_data are refused too (they run comparison or input code
 *	    on the values); so are a domain's CHECK or default calling the
 *	    owner's function, on any column of a table holding child data;
 *	  - on a table without child data, a row policy with a sub-query over
 *	    child data and a rule whose actions read it are refused;
 *	  - a partition key over child data (own or an ancestor's) is found by
 *	    the whole-table check only: no hook runs once a key is stored.
 *
 * How: an object access hook.  Every route that creates or alters one of
 * these objects (CREATE TRIGGER, CREATE RULE, CREATE/ALTER POLICY, ALTER
 * TABLE ... ADD, CREATE INDEX [CONCURRENTLY], CREATE STATISTICS, CREATE
 * TABLE ... PARTITION OF, ATTACH PARTITION cloning, ALTER COLUMN TYPE
 * rebuilding, ENABLE/DISABLE, RENAME, extension scripts, SPI) ends in
 * InvokeObjectPostCreateHook / InvokeObjectPostAlterHook, which call us
 * right after the catalog row is written and before anything runs the
 * code (index builds, CHECK validation, table rewrites come later).  The
 * new row is not visible to the catalog snapshot yet, so it is read with
 * SnapshotSelf, as sepgsql does.  The guard applies to every role,
 * superusers and table owners included; it costs nothing to statements
 * that are not DDL.
 *
 * Concurrency: each of these DDL commands locks the table (CREATE TRIGGER
 * and CREATE INDEX at least ShareLock-class, ADD COLUMN and ALTER COLUMN
 * TYPE AccessExclusiveLock), so a whole-table check made while a column
 * comes to hold child data waits for any concurrent attachment to commit
 * or abort and then sees it; SnapshotSelf adds the current transaction's
 * own uncommitted rows.  Domains are shared between tables without a lock
 * on them, so a domain changed later is caught by the status check only.
 *
 * When a column comes to hold child data (ADD COLUMN, ALTER COLUMN TYPE)
 * or childguard's own seal trigger is created or altered (protect(),
 * pg_restore), the whole table is checked: protect() refuses a table that
 * already carries such code.  protection.c runs the same whole-table
 * check for the protection status, so a table that acquired such code
 * some other way (before this version, or by editing the catalogs) is
 * reported as not protected and refuses child data.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/relation.h"
#include "access/table.h"
#include "access/transam.h"
#include "access/xact.h"
#include "miscadmin.h"
#include "catalog/pg_attrdef.h"
#include "catalog/pg_attribute.h"
#include "catalog/pg_class.h"
#include "catalog/pg_constraint.h"
#include "catalog/dependency.h"
#include "catalog/partition.h"
#include "catalog/pg_index.h"
#include "catalog/pg_partitioned_table.h"
#include "catalog/pg_policy.h"
#include "catalog/pg_proc.h"
#include "catalog/pg_rewrite.h"
#include "catalog/pg_statistic_ext.h"
#include "catalog/pg_trigger.h"
#include "catalog/pg_type.h"
#include "nodes/nodeFuncs.h"
#include "rewrite/rewriteHandler.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"
#include "utils/syscache.h"

#include "catalog.h"
#include "childguard_errcodes.h"
#include "citus_node.h"
#include "holds_child_data.h"
#include "planted_code.h"

/* what rule_problem calls a view's own definition */
#define VIEW_DEFINITION "view definition"

/* A relation's columns, as far as child data goes. */
typedef struct TableColumns
{
	Oid			relid;
	char		relkind;
	char	   *relname;
	bool		any;			/* some column holds child data */
	bool		child[MaxHeapAttributeNumber + 1];	/* by attnum */
} TableColumns;

/* Check of one catalog row of an object attached to t; NULL if fine. */
typedef char *(*ObjectCheck) (HeapTuple tup, TupleDesc desc, const TableColumns *t);

static char *domain_chain_problem(Oid typid, bool child, Snapshot snap);
static bool view_reads_child_data(Oid relid);
static bool calls_foreign_walker(Node *node, void *context);

/*
 * Does a type hold child data?  Domains are followed with snap (a domain
 * being created is not in the syscache yet); *name, if given, gets the
 * type's own name.
 */
static bool
type_holds_child_data(Oid typid, Snapshot snap, char **name)
{
	Relation	rel;
	SysScanDesc scan;
	ScanKeyData key;
	HeapTuple	tup;
	Oid			base = InvalidOid;

	check_stack_depth();
	if (typid < FirstGenbkiObjectId)
		return false;
	rel = table_open(TypeRelationId, AccessShareLock);
	ScanKeyInit(&key, Anum_pg_type_oid, BTEqualStrategyNumber, F_OIDEQ,
				ObjectIdGetDatum(typid));
	scan = systable_beginscan(rel, TypeOidIndexId, true, snap, 1, &key);
	tup = systable_getnext(scan);
	if (HeapTupleIsValid(tup) && name != NULL)
		*name = pstrdup(NameStr(((Form_pg_type) GETSTRUCT(tup))->typname));
	if (HeapTupleIsValid(tup) && ((Form_pg_type) GETSTRUCT(tup))->typtype == TYPTYPE_DOMAIN)
		base = ((Form_pg_type) GETSTRUCT(tup))->typbasetype;
	systable_endscan(scan);
	table_close(rel, AccessShareLock);
	if (OidIsValid(base))
		return type_holds_child_data(base, snap, NULL);
	return cg_type_holds_child_data(typid) != CG_HOLDS_NONE;
}

/* Load relid's name, kind and child data columns as snap sees them. */
static bool
load_table(Oid relid, Snapshot snap, TableColumns *t)
{
	Relation	rel;
	SysScanDesc scan;
	ScanKeyData keys[2];
	HeapTuple	tup;

	memset(t, 0, sizeof(*t));
	t->relid = relid;
	rel = table_open(RelationRelationId, AccessShareLock);
	ScanKeyInit(&keys[0], Anum_pg_class_oid, BTEqualStrategyNumber, F_OIDEQ,
				ObjectIdGetDatum(relid));
	scan = systable_beginscan(rel, ClassOidIndexId, true, snap, 1, keys);
	tup = systable_getnext(scan);
	if (HeapTupleIsValid(tup))
	{
		t->relkind = ((Form_pg_class) GETSTRUCT(tup))->relkind;
		t->relname = pstrdup(NameStr(((Form_pg_class) GETSTRUCT(tup))->relname));
	}
	systable_endscan(scan);
	table_close(rel, AccessShareLock);
	if (t->relname == NULL)
		return false;

	rel = table_open(AttributeRelationId, AccessShareLock);
	ScanKeyInit(&keys[0], Anum_pg_attribute_attrelid, BTEqualStrategyNumber,
				F_OIDEQ, ObjectIdGetDatum(relid));
	ScanKeyInit(&keys[1], Anum_pg_attribute_attnum, BTGreaterStrategyNumber,
				F_INT2GT, Int16GetDatum(0));
	scan = systable_beginscan(rel, AttributeRelidNumIndexId, true, snap, 2, keys);
	while (HeapTupleIsValid(tup = systable_getnext(scan)))
	{
		Form_pg_attribute att = (Form_pg_attribute) GETSTRUCT(tup);

		if (att->attisdropped || att->attnum > MaxHeapAttributeNumber)
			continue;
		if (type_holds_child_data(att->atttypid, snap, NULL))
		{
			t->child[att->attnum] = true;
			t->any = true;
		}
	}
	systable_endscan(scan);
	table_close(rel, AccessShareLock);
	return true;
}

/* Is attno of t a child data column (0: the whole row)? */
static bool
column_is_child(const TableColumns *t, int attno)
{
	if (attno == 0)
		return t->any;
	return attno > 0 && attno <= MaxHeapAttributeNumber && t->child[attno];
}

typedef struct RefsContext
{
	const TableColumns *t;
	int			depth;			/* sub-query level of the walk */
	bool		strict;			/* t holds child data: no foreign functions */
} RefsContext;

/* Does any relation in a range table hold child data? */
static bool
range_table_holds_child_data(List *rtable)
{
	ListCell   *lc;

	foreach(lc, rtable)
	{
		RangeTblEntry *rte = lfirst_node(RangeTblEntry, lc);
		TableColumns *other;
		bool		holds;

		if (rte->rtekind != RTE_RELATION)
			continue;
		other = palloc(sizeof(TableColumns));
		holds = load_table(rte->relid, NULL, other) && other->any;
		pfree(other);
		if (holds)
			return true;
	}
	return false;
}

/*
 * A function that is neither built in nor childguard's own: its owner
 * wrote it, and it may read the table by itself.
 */
static bool
foreign_function(Oid funcid, void *context)
{
	HeapTuple	tup;
	bool		superuser_owned = false;

	if (funcid < FirstNormalObjectId ||
		get_func_namespace(funcid) == cg_catalog()->namespace_oid)
		return false;
	/* a member of an extension a superuser owns is not the table owner's code */
	if (!OidIsValid(getExtensionOfObject(ProcedureRelationId, funcid)))
		return true;
	tup = SearchSysCache1(PROCOID, ObjectIdGetDatum(funcid));
	if (HeapTupleIsValid(tup))
	{
		superuser_owned = superuser_arg(((Form_pg_proc) GETSTRUCT(tup))->proowner);
		ReleaseSysCache(tup);
	}
	return !superuser_owned;
}

static bool
refs_walker(Node *node, RefsContext *ctx)
{
	if (node == NULL)
		return false;
	/* code attached to the table may call no one else's functions */
	if (ctx->strict && check_functions_in_node(node, foreign_function, NULL))
		return true;
	/* ... nor through a cast to a domain whose CHECK calls them */
	if (ctx->strict && IsA(node, CoerceToDomain) &&
		domain_chain_problem(((CoerceToDomain *) node)->resulttype, false, NULL) != NULL)
		return true;
	if (IsA(node, Var))
	{
		Var		   *var = (Var *) node;

		return var->varlevelsup == ctx->depth && var->varno == 1 &&
			column_is_child(ctx->t, var->varattno);
	}
	if (IsA(node, Query))
	{
		Query	   *query = (Query *) node;
		bool		found;

		if (range_table_holds_child_data(query->rtable))
			return true;
		ctx->depth++;
		found = query_tree_walker(query, refs_walker, ctx, 0);
		ctx->depth--;
		return found;
	}
	return expression_tree_walker(node, refs_walker, ctx);
}

/* Does a stored expression (nodeToString text) reference child data of t? */
static bool
expression_refs(HeapTuple tup, TupleDesc desc, AttrNumber attno, const TableColumns *t)
{
	bool		isnull;
	Datum		d = heap_getattr(tup, attno, desc, &isnull);
	RefsContext ctx;
	char	   *str;
	Node	   *expr;

	if (isnull)
		return false;
	str = TextDatumGetCString(d);
	expr = stringToNode(str);
	pfree(str);
	ctx.t = t;
	ctx.depth = 0;
	ctx.strict = t->any;
	return refs_walker(expr, &ctx);
}

/* Does an int2 array column (conkey, confkey) name a child data column? */
static bool
key_array_refs(HeapTuple tup, TupleDesc desc, AttrNumber attno, const TableColumns *t)
{
	bool		isnull;
	Datum		d = heap_getattr(tup, attno, desc, &isnull);
	ArrayType  *arr;
	int16	   *keys;
	int			n;

	if (isnull)
		return false;
	arr = DatumGetArrayTypeP(d);
	n = ArrayGetNItems(ARR_NDIM(arr), ARR_DIMS(arr));
	keys = (int16 *) ARR_DATA_PTR(arr);
	for (int i = 0; i < n; i++)
		if (column_is_child(t, keys[i]))
			return true;
	return false;
}

/* Does an int2vector (indkey, stxkeys) name a child data column? */
static bool
int2vector_refs(const int2vector *v, const TableColumns *t)
{
	for (int i = 0; i < v->dim1; i++)
		if (column_is_child(t, v->values[i]))
			return true;
	return false;
}

/* Is this trigger childguard's seal trigger? */
static bool
is_seal_trigger(HeapTuple tup, TupleDesc desc)
{
	Form_pg_trigger tg = (Form_pg_trigger) GETSTRUCT(tup);

	return OidIsValid(cg_catalog()->seal_function) &&
		tg->tgfoid == cg_catalog()->seal_function &&
		heap_attisnull(tup, Anum_pg_trigger_tgqual, desc) &&
		heap_attisnull(tup, Anum_pg_trigger_tgoldtable, desc) &&
		heap_attisnull(tup, Anum_pg_trigger_tgnewtable, desc);
}

static char *
trigger_problem(HeapTuple tup, TupleDesc desc, const TableColumns *t)
{
	Form_pg_trigger tg = (Form_pg_trigger) GETSTRUCT(tup);

	if (is_seal_trigger(tup, desc))
		return NULL;
	/* Citus's statement-level TRUNCATE trigger on a distributed table: no rows */
	if (cg_citus_coordinator() &&
		tg->tgtype == (TRIGGER_TYPE_TRUNCATE | TRIGGER_TYPE_AFTER) &&
		cg_citus_own_function(tg->tgfoid, "citus_truncate_trigger"))
		return NULL;
	/* a view that reads child data hands its trigger rows chosen by it */
	if (!t->any && !(t->relkind == RELKIND_VIEW && view_reads_child_data(t->relid)))
		return NULL;
	/* PostgreSQL's own foreign key and deferred unique checks */
	if (tg->tgisinternal && OidIsValid(tg->tgconstraint) &&
		tg->tgfoid < FirstGenbkiObjectId)
		return NULL;
	return psprintf("trigger \"%s\"", NameStr(tg->tgname));
}

/* Does an expression contain a Var whose value holds child data? */
static bool
child_var_walker(Node *node, void *context)
{
	if (node == NULL)
		return false;
	if (IsA(node, Var))
		return cg_type_holds_child_data(((Var *) node)->vartype) != CG_HOLDS_NONE;
	if (IsA(node, Query))
		return query_tree_walker((Query *) node, child_var_walker, context, 0);
	return expression_tree_walker(node, child_var_walker, context);
}

/*
 * A function a view reading child data may not call: one that is neither
 * built in nor childguard's own (its owner wrote it, and may have marked
 * it immutable all the same), or a volatile one (pg_notify, set_config:
 * side effects that carry something out of the reader's statement).
 */
static bool
foreign_or_volatile(Oid funcid, void *context)
{
	return foreign_function(funcid, context) ||
		func_volatile(funcid) == PROVOLATILE_VOLATILE;
}

/* Does a view's query call such a function anywhere? */
static bool
view_calls_walker(Node *node, void *context)
{
	if (node == NULL)
		return false;
	if (IsA(node, Query))
		return query_tree_walker((Query *) node, view_calls_walker, context, 0);
	if (check_functions_in_node(node, foreign_or_volatile, NULL))
		return true;
	if (IsA(node, CoerceToDomain) &&
		domain_chain_problem(((CoerceToDomain *) node)->resulttype, false, NULL) != NULL)
		return true;
	return expression_tree_walker(node, view_calls_walker, context);
}

/* Following views within views: those being walked, innermost first. */
typedef struct ReadsContext
{
	List	   *visiting;
} ReadsContext;

static bool reads_child_walker(Node *node, ReadsContext *ctx);

/*
 * Does a relation hold child data, or (a view) read some through its
 * definition, views within views included?
 */
static bool
relation_reads_child_data(Oid relid, ReadsContext *ctx)
{
	TableColumns *t;
	bool		reads = false;

	/* a view's stored query names the view itself (its OLD and NEW) */
	if (list_member_oid(ctx->visiting, relid))
		return false;
	t = palloc(sizeof(TableColumns));
	if (load_table(relid, NULL, t))
	{
		reads = t->any;
		if (!reads && t->relkind == RELKIND_VIEW)
		{
			Relation	view = relation_open(relid, AccessShareLock);

			/* too deep to follow: assume the worst; being defined: no rule yet */
			ctx->visiting = lcons_oid(relid, ctx->visiting);
			if (list_length(ctx->visiting) > 32)
				reads = true;
			else if (view->rd_rules != NULL)
				reads = reads_child_walker((Node *) get_view_query(view), ctx);
			ctx->visiting = list_delete_first(ctx->visiting);
			relation_close(view, AccessShareLock);
		}
	}
	pfree(t);
	return reads;
}

/* Does a query read child data: a relation in any range table of it? */
static bool
reads_child_walker(Node *node, ReadsContext *ctx)
{
	if (node == NULL)
		return false;
	if (IsA(node, Query))
	{
		ListCell   *lc;

		foreach(lc, ((Query *) node)->rtable)
		{
			RangeTblEntry *rte = lfirst_node(RangeTblEntry, lc);

			if (rte->rtekind == RTE_RELATION &&
				relation_reads_child_data(rte->relid, ctx))
				return true;
		}
		return query_tree_walker((Query *) node, reads_child_walker, ctx, 0);
	}
	return expression_tree_walker(node, reads_child_walker, ctx);
}

/* Does a view read child data (one being defined: not yet)? */
static bool
view_reads_child_data(Oid relid)
{
	ReadsContext ctx = {NIL};

	return relation_reads_child_data(relid, &ctx);
}

static char *
rule_problem(HeapTuple tup, TupleDesc desc, const TableColumns *t)
{
	Form_pg_rewrite rule = (Form_pg_rewrite) GETSTRUCT(tup);

	/*
	 * A view's definition is the statement its reader runs; it may show
	 * child data, but not hand it to its owner's code (docs/security.md).
	 */
	if ((t->relkind == RELKIND_VIEW || t->relkind == RELKIND_MATVIEW) &&
		rule->ev_type == '0' + CMD_SELECT)
	{
		bool		isnull;
		Datum		d = heap_getattr(tup, Anum_pg_rewrite_ev_action, desc, &isnull);
		bool		found = false;

		if (!isnull)
		{
			char	   *str = TextDatumGetCString(d);
			Node	   *action = stringToNode(str);
			ReadsContext ctx = {list_make1_oid(t->relid)};

			/*
			 * Not only a function applied to child data: one fed only rows
			 * a condition on child data selected learns it as well.
			 */
			found = view_calls_walker(action, NULL) &&
				reads_child_walker(action, &ctx);
			pfree(str);
		}
		return found ? pstrdup(VIEW_DEFINITION) : NULL;
	}
	if (!t->any && !(t->relkind == RELKIND_VIEW && view_reads_child_data(t->relid)))
	{
		/* a rule on another table may still copy child data somewhere */
		bool		isnull;
		Datum		d;
		bool		found = false;

		for (int i = 0; i < 2 && !found; i++)
		{
			d = heap_getattr(tup, i == 0 ? Anum_pg_rewrite_ev_action : Anum_pg_rewrite_ev_qual,
							 desc, &isnull);
			if (!isnull)
			{
				char	   *str = TextDatumGetCString(d);

				found = child_var_walker(stringToNode(str), NULL);
				pfree(str);
			}
		}
		if (!found)
			return NULL;
	}
	return psprintf("rule \"%s\"", NameStr(rule->rulename));
}

static char *
policy_problem(HeapTuple tup, TupleDesc desc, const TableColumns *t)
{
	Form_pg_policy pol = (Form_pg_policy) GETSTRUCT(tup);

	/* on any table: a sub-query in a policy may read another one's child data */
	if (expression_refs(tup, desc, Anum_pg_policy_polqual, t) ||
		expression_refs(tup, desc, Anum_pg_policy_polwithcheck, t))
		return psprintf("row policy \"%s\"", NameStr(pol->polname));
	return NULL;
}

static char *
constraint_problem(HeapTuple tup, TupleDesc desc, const TableColumns *t)
{
	Form_pg_constraint con = (Form_pg_constraint) GETSTRUCT(tup);
	bool		refs = false;

	switch (con->contype)
	{
		case CONSTRAINT_CHECK:
			refs = t->any && expression_refs(tup, desc, Anum_pg_constraint_conbin, t);
			break;
		case CONSTRAINT_PRIMARY:
		case CONSTRAINT_UNIQUE:
		case CONSTRAINT_EXCLUSION:
			refs = t->any && key_array_refs(tup, desc, Anum_pg_constraint_conkey, t);
			break;
		case CONSTRAINT_FOREIGN:
			refs = t->any && key_array_refs(tup, desc, Anum_pg_constraint_conkey, t);
			if (!refs && OidIsValid(con->confrelid))
			{
				TableColumns *other = palloc(sizeof(TableColumns));

				refs = load_table(con->confrelid, SnapshotSelf, other) && other->any &&
					key_array_refs(tup, desc, Anum_pg_constraint_confkey, other);
				pfree(other);
			}
			break;
		default:
			/* constraint triggers are checked as triggers */
			break;
	}
	return refs ? psprintf("constraint \"%s\"", NameStr(con->conname)) : NULL;
}

static char *
attrdef_problem(HeapTuple tup, TupleDesc desc, const TableColumns *t)
{
	Form_pg_attrdef def = (Form_pg_attrdef) GETSTRUCT(tup);
	char	   *attname;

	if (!t->any)
		return NULL;
	if (!column_is_child(t, def->adnum) &&
		!expression_refs(tup, desc, Anum_pg_attrdef_adbin, t))
		return NULL;
	attname = get_attname(def->adrelid, def->adnum, true);
	return attname ?
		psprintf("default or generation expression of column \"%s\"", attname) :
		psprintf("default or generation expression of column %d", def->adnum);
}

static char *
index_problem(HeapTuple tup, TupleDesc desc, const TableColumns *t)
{
	Form_pg_index ind = (Form_pg_index) GETSTRUCT(tup);
	TableColumns *index;
	char	   *name;

	if (!t->any)
		return NULL;
	if (!int2vector_refs(&ind->indkey, t) &&
		!expression_refs(tup, desc, Anum_pg_index_indexprs, t) &&
		!expression_refs(tup, desc, Anum_pg_index_indpred, t))
		return NULL;
	index = palloc(sizeof(TableColumns));
	name = load_table(ind->indexrelid, SnapshotSelf, index) ?
		psprintf("index \"%s\"", index->relname) : pstrdup("an index");
	pfree(index);
	return name;
}

static char *
statistics_problem(HeapTuple tup, TupleDesc desc, const TableColumns *t)
{
	Form_pg_statistic_ext stx = (Form_pg_statistic_ext) GETSTRUCT(tup);

	if (!t->any)
		return NULL;
	if (int2vector_refs(&stx->stxkeys, t) ||
		expression_refs(tup, desc, Anum_pg_statistic_ext_stxexprs, t))
		return psprintf("statistics object \"%s\"", NameStr(stx->stxname));
	return NULL;
}

/*
 * Scan catalog through index for rows whose keyatt is keyval and run
 * check on each; the first problem found, or NULL.
 */
static char *
scan_objects(Oid catalog, Oid index, AttrNumber keyatt, Oid keyval,
			 Snapshot snap, ObjectCheck check, const TableColumns *t)
{
	Relation	rel;
	SysScanDesc scan;
	ScanKeyData key;
	HeapTuple	tup;
	char	   *problem = NULL;

	rel = table_open(catalog, AccessShareLock);
	ScanKeyInit(&key, keyatt, BTEqualStrategyNumber, F_OIDEQ,
				ObjectIdGetDatum(keyval));
	scan = systable_beginscan(rel, index, true, snap, 1, &key);
	while (problem == NULL && HeapTupleIsValid(tup = systable_getnext(scan)))
		problem = check(tup, RelationGetDescr(rel), t);
	systable_endscan(scan);
	table_close(rel, AccessShareLock);
	return problem;
}

/*
 * The type a domain is defined over; *default_expr gets its default
 * expression, or NULL.
 */
static Oid
domain_base(Oid typid, Node **default_expr)
{
	HeapTuple	tup = SearchSysCache1(TYPEOID, ObjectIdGetDatum(typid));
	Oid			base = InvalidOid;

	*default_expr = NULL;
	if (HeapTupleIsValid(tup))
	{
		bool		isnull;
		Datum		d = SysCacheGetAttr(TYPEOID, tup, Anum_pg_type_typdefaultbin, &isnull);

		base = ((Form_pg_type) GETSTRUCT(tup))->typbasetype;
		if (!isnull)
			*default_expr = stringToNode(TextDatumGetCString(d));
		ReleaseSysCache(tup);
	}
	return base;
}

/* Does a stored expression call a function that is not built in or ours? */
static bool
calls_foreign_walker(Node *node, void *context)
{
	if (node == NULL)
		return false;
	if (check_functions_in_node(node, foreign_function, NULL))
		return true;
	if (IsA(node, CoerceToDomain) &&
		domain_chain_problem(((CoerceToDomain *) node)->resulttype, false, NULL) != NULL)
		return true;
	if (IsA(node, Query))
		return query_tree_walker((Query *) node, calls_foreign_walker, context, 0);
	return expression_tree_walker(node, calls_foreign_walker, context);
}

/*
 * A domain's CHECK constraints and default, down its chain of base types:
 * with child, any at all; otherwise one calling a function that is
 * neither built in nor childguard's.  NULL if none.
 */
static char *
domain_chain_problem(Oid typid, bool child, Snapshot snap)
{
	char	   *problem = NULL;

	check_stack_depth();
	while (problem == NULL && typid >= FirstGenbkiObjectId &&
		   get_typtype(typid) == TYPTYPE_DOMAIN)
	{
		Relation	crel = table_open(ConstraintRelationId, AccessShareLock);
		SysScanDesc cscan;
		ScanKeyData ckey;
		HeapTuple	ctup;
		Node	   *default_expr;
		Oid			base;

		ScanKeyInit(&ckey, Anum_pg_constraint_contypid, BTEqualStrategyNumber,
					F_OIDEQ, ObjectIdGetDatum(typid));
		cscan = systable_beginscan(crel, ConstraintTypidIndexId, true, snap, 1, &ckey);
		while (problem == NULL && HeapTupleIsValid(ctup = systable_getnext(cscan)))
		{
			bool		isnull;
			Datum		d = heap_getattr(ctup, Anum_pg_constraint_conbin,
										 RelationGetDescr(crel), &isnull);

			if (child || (!isnull &&
						  calls_foreign_walker(stringToNode(TextDatumGetCString(d)), NULL)))
				problem = psprintf("constraint \"%s\" of domain %s",
								   NameStr(((Form_pg_constraint) GETSTRUCT(ctup))->conname),
								   format_type_be(typid));
		}
		systable_endscan(cscan);
		table_close(crel, AccessShareLock);
		base = domain_base(typid, &default_expr);
		if (problem == NULL && default_expr != NULL &&
			(child || calls_foreign_walker(default_expr, NULL)))
			problem = psprintf("default of domain %s", format_type_be(typid));
		typid = base;
	}
	return problem;
}

/*
 * The domains the columns of t are typed with.  Their CHECK constraints
 * and defaults run on every value written: on a child data column none is
 * allowed, on another column none that calls a function that is neither
 * built in nor childguard's.
 */
static char *
domain_problem(const TableColumns *t, Snapshot snap)
{
	Relation	rel = table_open(AttributeRelationId, AccessShareLock);
	SysScanDesc scan;
	ScanKeyData keys[2];
	HeapTuple	tup;
	char	   *problem = NULL;

	ScanKeyInit(&keys[0], Anum_pg_attribute_attrelid, BTEqualStrategyNumber,
				F_OIDEQ, ObjectIdGetDatum(t->relid));
	ScanKeyInit(&keys[1], Anum_pg_attribute_attnum, BTGreaterStrategyNumber,
				F_INT2GT, Int16GetDatum(0));
	scan = systable_beginscan(rel, AttributeRelidNumIndexId, true, snap, 2, keys);
	while (problem == NULL && HeapTupleIsValid(tup = systable_getnext(scan)))
	{
		Form_pg_attribute att = (Form_pg_attribute) GETSTRUCT(tup);

		if (!att->attisdropped)
			problem = domain_chain_problem(att->atttypid,
										   column_is_child(t, att->attnum), snap);
	}
	systable_endscan(scan);
	table_close(rel, AccessShareLock);
	return problem;
}

/*
 * The partition key of relid, evaluated on every row routed to or checked
 * against a partition; NULL if it is not partitioned or the key is fine.
 */
static char *
partition_key_problem(Oid relid, const TableColumns *own, Snapshot snap)
{
	Relation	rel;
	SysScanDesc scan;
	ScanKeyData key;
	HeapTuple	tup;
	char	   *problem = NULL;
	TableColumns *t = (TableColumns *) own;

	/* an ancestor's key names the ancestor's own columns */
	if (relid != own->relid)
	{
		t = palloc(sizeof(TableColumns));
		if (!load_table(relid, snap, t) || !t->any)
		{
			pfree(t);
			return NULL;
		}
	}
	rel = table_open(PartitionedRelationId, AccessShareLock);

	ScanKeyInit(&key, Anum_pg_partitioned_table_partrelid, BTEqualStrategyNumber,
				F_OIDEQ, ObjectIdGetDatum(relid));
	scan = systable_beginscan(rel, PartitionedRelidIndexId, true, snap, 1, &key);
	tup = systable_getnext(scan);
	if (HeapTupleIsValid(tup) &&
		(int2vector_refs(&((Form_pg_partitioned_table) GETSTRUCT(tup))->partattrs, t) ||
		 expression_refs(tup, RelationGetDescr(rel), Anum_pg_partitioned_table_partexprs, t)))
		problem = relid == own->relid ? pstrdup("partition key") :
			psprintf("partition key of \"%s\"", t->relname);
	systable_endscan(scan);
	table_close(rel, AccessShareLock);
	if (t != own)
		pfree(t);
	return problem;
}

/*
 * The kinds of catalog row that attach code to a relation: where they are
 * found by relation and by their own OID, and the check of one row.  The
 * whole-table check runs them in this order.
 */
typedef struct AttachedKind
{
	Oid			catalog;
	Oid			by_relation;	/* index whose first key is the relation */
	AttrNumber	relation_att;
	Oid			by_oid;			/* index on the row's own OID */
	AttrNumber	oid_att;
	ObjectCheck check;
} AttachedKind;

static const AttachedKind attached_kinds[] = {
	{TriggerRelationId, TriggerRelidNameIndexId, Anum_pg_trigger_tgrelid,
	TriggerOidIndexId, Anum_pg_trigger_oid, trigger_problem},
	{RewriteRelationId, RewriteRelRulenameIndexId, Anum_pg_rewrite_ev_class,
	RewriteOidIndexId, Anum_pg_rewrite_oid, rule_problem},
	{PolicyRelationId, PolicyPolrelidPolnameIndexId, Anum_pg_policy_polrelid,
	PolicyOidIndexId, Anum_pg_policy_oid, policy_problem},
	{ConstraintRelationId, ConstraintRelidTypidNameIndexId, Anum_pg_constraint_conrelid,
	ConstraintOidIndexId, Anum_pg_constraint_oid, constraint_problem},
	{AttrDefaultRelationId, AttrDefaultIndexId, Anum_pg_attrdef_adrelid,
	AttrDefaultOidIndexId, Anum_pg_attrdef_oid, attrdef_problem},
	{IndexRelationId, IndexIndrelidIndexId, Anum_pg_index_indrelid,
	IndexRelidIndexId, Anum_pg_index_indexrelid, index_problem},
	{StatisticExtRelationId, StatisticExtRelidIndexId, Anum_pg_statistic_ext_stxrelid,
	StatisticExtOidIndexId, Anum_pg_statistic_ext_oid, statistics_problem},
};

/* The kind of attached object a catalog holds. */
static const AttachedKind *
attached_kind(Oid catalog)
{
	for (int i = 0; i < lengthof(attached_kinds); i++)
		if (attached_kinds[i].catalog == catalog)
			return &attached_kinds[i];
	elog(ERROR, "catalog %u holds no code attached to relations", catalog);
	return NULL;				/* keep the compiler quiet */
}

/* Every object attached to t, as snap sees them; the first problem or NULL. */
static char *
table_problem(const TableColumns *t, Snapshot snap)
{
	char	   *problem = NULL;

	if (!t->any)
		return NULL;
	for (int i = 0; problem == NULL && i < lengthof(attached_kinds); i++)
	{
		const AttachedKind *k = &attached_kinds[i];

		problem = scan_objects(k->catalog, k->by_relation, k->relation_att, t->relid,
							   snap, k->check, t);
	}
	if (problem == NULL)
		problem = domain_problem(t, snap);
	if (problem == NULL)
		problem = partition_key_problem(t->relid, t, snap);
	if (problem == NULL && get_rel_relispartition(t->relid))
	{
		/* a partition checks its ancestors' keys (its partition constraint) */
		ListCell   *lc;

		foreach(lc, get_partition_ancestors(t->relid))
		{
			if (problem == NULL)
				problem = partition_key_problem(lfirst_oid(lc), t, snap);
		}
	}
	return problem;
}

/*
 * What code that is not childguard's own is attached to relid and could
 * read its child data ("trigger \"x\""), or NULL; for the protection
 * status, read with the catalog snapshot.
 */
char *
cg_planted_code_problem(Oid relid)
{
	TableColumns *t = palloc(sizeof(TableColumns));
	char	   *problem = NULL;

	if (load_table(relid, NULL, t))
		problem = table_problem(t, NULL);
	pfree(t);
	return problem;
}

/* The DDL guard's refusal of a new or altered object. */
static void
report_attached(const char *what, const TableColumns *t)
{
	ereport(ERROR,
			(errcode(ERRCODE_CG_PLANTED_CODE),
			 t->any ?
			 errmsg("cannot attach %s to \"%s\", which holds child data", what, t->relname) :
			 errmsg("cannot attach %s to \"%s\": it would read child data", what, t->relname),
			 errdetail("Code attached to a table runs in the statement of whoever reads or writes it, with that session's right to see child data; only childguard's own code may be attached where it could reach child data."),
			 errhint("Leave child data columns out of it, or do the work in the statements that need it.")));
}

/* A table that already carries such code cannot take child data. */
static void
report_existing(const char *what, const TableColumns *t)
{
	ereport(ERROR,
			(errcode(ERRCODE_CG_TABLE_HAS_PLANTED_CODE),
			 errmsg("\"%s\" has code attached that could read child data", t->relname),
			 errdetail("Its %s is not childguard's own and would run with the rights of whoever reads or writes the table.", what),
			 errhint("Drop it, then protect the table or add the child data column again.")));
}

/* As an ObjectCheck: is the trigger childguard's seal trigger ("" if so)? */
static char *
seal_trigger_check(HeapTuple tup, TupleDesc desc, const TableColumns *t)
{
	return is_seal_trigger(tup, desc) ? pstrdup("") : NULL;
}

/* Check one new or altered object of catalog, attached to a relation. */
static void
guard_object(Oid catalog, Oid objid)
{
	const AttachedKind *k = attached_kind(catalog);
	Oid			relid = cg_catalog_row_oid(catalog, k->by_oid, k->oid_att, objid,
										k->relation_att);
	TableColumns *t;
	char	   *problem;
	bool		seal;

	if (!OidIsValid(relid))
		return;
	t = palloc(sizeof(TableColumns));
	/* a view, a rule or a policy may read child data without holding any */
	if (!load_table(relid, SnapshotSelf, t) ||
		(!t->any && catalog != RewriteRelationId && catalog != PolicyRelationId &&
		 !(catalog == TriggerRelationId && t->relkind == RELKIND_VIEW)))
	{
		pfree(t);
		return;
	}
	problem = scan_objects(catalog, k->by_oid, k->oid_att, objid, SnapshotSelf, k->check, t);
	if (problem != NULL && catalog == RewriteRelationId &&
		strcmp(problem, VIEW_DEFINITION) == 0)
		ereport(ERROR,
				(errcode(ERRCODE_CG_PLANTED_CODE),
				 errmsg("view \"%s\" reads child data and calls a function that is not built in, or a volatile one",
						t->relname),
				 errdetail("A view runs in the statement of whoever reads it, with that session's right to see child data; a function its owner wrote, or one with side effects, could copy the values out, or learn them from the rows it is given."),
				 errhint("Leave the function out of the view, or apply it in the statement that reads the view.")));
	if (problem != NULL)
		report_attached(problem, t);
	seal = catalog == TriggerRelationId &&
		scan_objects(catalog, k->by_oid, k->oid_att, objid, SnapshotSelf,
					 seal_trigger_check, t) != NULL;
	/* protect() or a restore puts the seal on: the whole table must be clean */
	if (seal && (problem = table_problem(t, SnapshotSelf)) != NULL)
		report_existing(problem, t);
	pfree(t);
}

/* A column default or generation expression, named by table and column. */
static void
guard_default(Oid relid, int attnum)
{
	TableColumns *t = palloc(sizeof(TableColumns));
	Relation	rel;
	SysScanDesc scan;
	ScanKeyData keys[2];
	HeapTuple	tup;
	char	   *problem = NULL;

	if (!load_table(relid, SnapshotSelf, t) || !t->any)
	{
		pfree(t);
		return;
	}
	rel = table_open(AttrDefaultRelationId, AccessShareLock);
	ScanKeyInit(&keys[0], Anum_pg_attrdef_adrelid, BTEqualStrategyNumber,
				F_OIDEQ, ObjectIdGetDatum(relid));
	ScanKeyInit(&keys[1], Anum_pg_attrdef_adnum, BTEqualStrategyNumber,
				F_INT2EQ, Int16GetDatum(attnum));
	scan = systable_beginscan(rel, AttrDefaultIndexId, true, SnapshotSelf, 2, keys);
	while (problem == NULL && HeapTupleIsValid(tup = systable_getnext(scan)))
		problem = attrdef_problem(tup, RelationGetDescr(rel), t);
	systable_endscan(scan);
	table_close(rel, AccessShareLock);
	if (problem != NULL)
		report_attached(problem, t);
	pfree(t);
}

/* A domain constraint: refused on a domain over child data. */
static void
guard_domain_constraint(Oid objid)
{
	Oid			typid = cg_catalog_row_oid(ConstraintRelationId, ConstraintOidIndexId,
										Anum_pg_constraint_oid, objid,
										Anum_pg_constraint_contypid);
	char	   *name = NULL;

	if (OidIsValid(typid) && type_holds_child_data(typid, SnapshotSelf, &name))
		ereport(ERROR,
				(errcode(ERRCODE_CG_PLANTED_CODE),
				 errmsg("cannot add a constraint to domain \"%s\", which holds child data",
						name),
				 errdetail("A domain's constraints run on every value written, with the writer's right to see child data; only childguard's own code may run there."),
				 errhint("Use childguard.child_data or a domain over it without constraints.")));
}

/* A domain created or altered: no default when it holds child data. */
static void
guard_domain(Oid typid)
{
	Relation	rel = table_open(TypeRelationId, AccessShareLock);
	SysScanDesc scan;
	ScanKeyData key;
	HeapTuple	tup;
	char	   *name = NULL;
	Oid			base = InvalidOid;

	ScanKeyInit(&key, Anum_pg_type_oid, BTEqualStrategyNumber, F_OIDEQ,
				ObjectIdGetDatum(typid));
	scan = systable_beginscan(rel, TypeOidIndexId, true, SnapshotSelf, 1, &key);
	tup = systable_getnext(scan);
	if (HeapTupleIsValid(tup) &&
		((Form_pg_type) GETSTRUCT(tup))->typtype == TYPTYPE_DOMAIN &&
		!heap_attisnull(tup, Anum_pg_type_typdefaultbin, RelationGetDescr(rel)))
	{
		name = pstrdup(NameStr(((Form_pg_type) GETSTRUCT(tup))->typname));
		base = ((Form_pg_type) GETSTRUCT(tup))->typbasetype;
	}
	systable_endscan(scan);
	table_close(rel, AccessShareLock);
	if (OidIsValid(base) && type_holds_child_data(base, SnapshotSelf, NULL))
		ereport(ERROR,
				(errcode(ERRCODE_CG_PLANTED_CODE),
				 errmsg("cannot give domain \"%s\", which holds child data, a default", name),
				 errdetail("A default is evaluated in the statement of whoever writes, with that session's right to see child data, and its plaintext would sit in the catalog."),
				 errhint("Leave the default out; write child data in the statements that collect it.")));
}

/* A relation or one of its columns was created or altered. */
static void
guard_relation(Oid relid, int subId)
{
	TableColumns *t = palloc(sizeof(TableColumns));
	char	   *problem;

	if (!load_table(relid, SnapshotSelf, t))
	{
		pfree(t);
		return;
	}
	if (subId > 0)
	{
		/*
		 * A column added or retyped: if it came to hold child data, no code
		 * may be attached yet; any column's type may bring a domain's code.
		 */
		if (t->any && (problem = table_problem(t, SnapshotSelf)) != NULL)
			report_existing(problem, t);
	}
	else if (t->relkind == RELKIND_INDEX || t->relkind == RELKIND_PARTITIONED_INDEX)
		guard_object(IndexRelationId, relid);
	else if (t->any && (problem = table_problem(t, SnapshotSelf)) != NULL)
	{
		/* a new table: its columns' domains may bring code */
		report_existing(problem, t);
	}
	pfree(t);
}

/*
 * Does a view's definition read child data and call a function that is
 * not built in, or a volatile one?  For the protection status of views
 * defined before the guard (protection.c caches the answer).
 */
bool
cg_planted_view_problem(Relation view)
{
	ReadsContext ctx = {list_make1_oid(RelationGetRelid(view))};
	Query	   *query;

	if (view->rd_rules == NULL)
		return false;
	query = get_view_query(view);
	return view_calls_walker((Node *) query, NULL) &&
		reads_child_walker((Node *) query, &ctx);
}

/*
 * The object access hook (wired in childguard.c): after an object is
 * created or altered, refuse it if it attaches code to child data.
 */
void
cg_planted_code_object_access(ObjectAccessType access, Oid classId,
							  Oid objectId, int subId, void *arg)
{
	if (access != OAT_POST_CREATE && access != OAT_POST_ALTER)
		return;
	/* a Citus worker never decrypts: code attached there reads envelopes only */
	if (cg_citus_worker())
		return;
	switch (classId)
	{
		case TriggerRelationId:
		case RewriteRelationId:
		case PolicyRelationId:
		case ConstraintRelationId:
		case AttrDefaultRelationId:
		case StatisticExtRelationId:
		case RelationRelationId:
		case TypeRelationId:
			break;
		default:
			return;
	}
	if (!IsTransactionState() || !OidIsValid(cg_child_data_type()))
		return;

	switch (classId)
	{
		case RelationRelationId:
			guard_relation(objectId, subId);
			break;
		case TypeRelationId:
			guard_domain(objectId);
			break;
		case AttrDefaultRelationId:
			/* StoreAttrDefault names the table and column, not the pg_attrdef row */
			if (subId > 0)
				guard_default(objectId, subId);
			else
				guard_object(classId, objectId);
			break;
		case ConstraintRelationId:
			guard_object(classId, objectId);
			guard_domain_constraint(objectId);
			break;
		default:
			/* a trigger, rule, row policy or statistics object */
			guard_object(classId, objectId);
			break;
	}
}
