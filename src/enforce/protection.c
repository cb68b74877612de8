/*-------------------------------------------------------------------------
 *
 * protection.c
 *	  Working out, once per relation and backend, whether a table is
 *	  protected by childguard.
 *
 * A table is protected when every column that holds child_data is a
 * plain child_data column (or a domain over it) with a category in its
 * type modifier, and the table has childguard's seal trigger: BEFORE
 * INSERT OR UPDATE, FOR EACH ROW, on all columns, no WHEN clause, enabled
 * ALWAYS (so session_replication_role cannot switch it off), naming the
 * subject column as its one argument; and row-level security enabled,
 * forced on the owner, with restrictive SELECT and UPDATE policies whose
 * predicate is exactly childguard.row_visible(subject::text); and no code
 * but childguard's own attached where it could read child data
 * (planted_code.c).  Any DDL that could change that
 * answer invalidates the table's relcache entry, and catalog.c's
 * invalidation callback tells this cache (cg_protection_init registers
 * it); a type, function or schema changing drops the whole cache.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/relation.h"
#include "access/stratnum.h"
#include "access/table.h"
#include "access/transam.h"
#include "catalog/pg_inherits.h"
#include "catalog/pg_trigger.h"
#include "backend_cache.h"
#include "miscadmin.h"
#include "catalog/pg_type.h"
#include "commands/trigger.h"
#include "lib/stringinfo.h"
#include "utils/fmgroids.h"
#include "utils/hsearch.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "nodes/nodeFuncs.h"
#include "rewrite/rowsecurity.h"
#include "utils/acl.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/rel.h"
#include "utils/typcache.h"

#include "catalog.h"
#include "categories.h"
#include "childguard_errcodes.h"
#include "holds_child_data.h"
#include "planted_code.h"
#include "protection.h"

static MemoryContext protection_cxt = NULL;
static HTAB *protection_cache = NULL;
static int	cached_with_parent = 0; /* entries whose status follows a parent's */

/*
 * The entry found last: a statement asks about the same relation from
 * several hooks (planted code, the audit's capture, the statement text,
 * the row policy), a loop of point reads about the same one again and
 * again.  A dynahash entry stays where it is until removed, and entries
 * are removed only by cg_protection_forget, which forgets the memo first.
 */
static CgProtection *last_entry = NULL;

/* Drop what we know about relid, or about everything if InvalidOid. */
void
cg_protection_forget(Oid relid)
{
	CgProtection *entry;

	last_entry = NULL;
	if (protection_cache == NULL)
		return;
	if (!OidIsValid(relid))
	{
		MemoryContextReset(protection_cxt);
		protection_cache = NULL;
		cached_with_parent = 0;
		return;
	}
	entry = hash_search(protection_cache, &relid, HASH_REMOVE, NULL);
	if (entry != NULL)
	{
		if (entry->columns)
			pfree(entry->columns);
		if (entry->problem)
			pfree(entry->problem);
	}

	/*
	 * A child's status follows its parents' (unprotected_parent): when
	 * anything is forgotten, so are the children (few: partitions and
	 * inheritance children), to be built again on their next use.
	 */
	if (cached_with_parent > 0)
	{
		HASH_SEQ_STATUS seq;

		hash_seq_init(&seq, protection_cache);
		while ((entry = hash_seq_search(&seq)) != NULL)
		{
			if (!entry->has_parent)
				continue;
			if (entry->columns)
				pfree(entry->columns);
			if (entry->problem)
				pfree(entry->problem);
			(void) hash_search(protection_cache, &entry->relid, HASH_REMOVE, NULL);
		}
		cached_with_parent = 0;
	}
}

/* catalog.c's invalidation: a relation, or our objects, changed. */
static void
protection_invalidate(int kinds, Oid relid)
{
	cg_protection_forget((kinds & CG_INVAL_OBJECTS) ? InvalidOid : relid);
}

/* From _PG_init: forget a relation when it changes, all when OIDs may be stale. */
void
cg_protection_init(void)
{
	cg_catalog_on_invalidation(protection_invalidate, CG_INVAL_RELATION | CG_INVAL_OBJECTS);
}

/* Category id carried by a child_data type modifier, or 0. */
int
cg_typmod_category(int32 typmod)
{
	return cg_category_is_valid(typmod) ? typmod : 0;
}

/*
 * Find the seal trigger as protect() makes it: named zz_childguard_seal
 * (so it sorts last), BEFORE INSERT OR UPDATE FOR EACH ROW on all
 * columns, no WHEN clause, no transition tables, enabled ALWAYS, naming
 * the subject column.  Returns the subject column name or NULL, with
 * *why saying what is wrong with the nearest candidate.
 */
static const char *
find_seal_trigger(Relation rel, Oid seal_function, const char **why)
{
	TriggerDesc *td = rel->trigdesc;

	*why = "It has no childguard seal trigger. ";
	if (td == NULL || !OidIsValid(seal_function))
		return NULL;
	for (int i = 0; i < td->numtriggers; i++)
	{
		Trigger    *t = &td->triggers[i];

		if (t->tgfoid != seal_function)
			continue;
		if (!TRIGGER_FOR_ROW(t->tgtype) || !TRIGGER_FOR_BEFORE(t->tgtype) ||
			!TRIGGER_FOR_INSERT(t->tgtype) || !TRIGGER_FOR_UPDATE(t->tgtype) ||
			t->tgnattr != 0 || t->tgqual != NULL || t->tgnargs != 1 ||
			t->tgoldtable != NULL || t->tgnewtable != NULL)
			continue;
		if (strcmp(t->tgname, "zz_childguard_seal") != 0)
		{
			*why = "Its childguard seal trigger has been renamed. ";
			continue;
		}
		if (t->tgenabled != TRIGGER_FIRES_ALWAYS)
		{
			*why = t->tgenabled == TRIGGER_DISABLED ?
				"Its childguard seal trigger is disabled. " :
				"Its childguard seal trigger is not enabled ALWAYS, so session_replication_role could switch it off. ";
			continue;
		}
		return t->tgargs[0];
	}
	return NULL;
}

/* Strip a cast of the subject column to text, as protect() writes it. */
static Node *
strip_text_cast(Node *node)
{
	for (;;)
	{
		if (node == NULL)
			return NULL;
		if (IsA(node, RelabelType))
			node = (Node *) ((RelabelType *) node)->arg;
		else if (IsA(node, CoerceViaIO))
			node = (Node *) ((CoerceViaIO *) node)->arg;
		else if (IsA(node, FuncExpr) &&
				 ((FuncExpr *) node)->funcformat != COERCE_EXPLICIT_CALL &&
				 ((FuncExpr *) node)->funcid < FirstGenbkiObjectId &&
				 list_length(((FuncExpr *) node)->args) == 1)
			node = linitial(((FuncExpr *) node)->args);
		else
			return node;
	}
}

/* Is qual exactly childguard.row_visible(<subject column>::text)? */
static bool
is_row_visible_qual(Node *qual, Oid row_visible, AttrNumber subject_attnum)
{
	FuncExpr   *f;
	Node	   *arg;

	if (qual == NULL || !IsA(qual, FuncExpr))
		return false;
	f = (FuncExpr *) qual;
	if (f->funcid != row_visible || list_length(f->args) != 1)
		return false;
	arg = strip_text_cast(linitial(f->args));
	return arg != NULL && IsA(arg, Var) && ((Var *) arg)->varno == 1 &&
		((Var *) arg)->varlevelsup == 0 && ((Var *) arg)->varattno == subject_attnum;
}

/* Does a policy apply to every role (TO PUBLIC)? */
static bool
applies_to_public(ArrayType *roles)
{
	return roles != NULL && ARR_NDIM(roles) == 1 && ARR_DIMS(roles)[0] == 1 &&
		((Oid *) ARR_DATA_PTR(roles))[0] == ACL_ID_PUBLIC;
}

/*
 * Row-level security as protect() sets it: enabled, forced on the owner,
 * and restrictive SELECT and UPDATE policies for PUBLIC whose predicate is
 * exactly childguard.row_visible(subject::text), nothing else: a
 * restrictive policy that merely calls row_visible() (OR true, a role
 * list) does not count.  NULL if so, else what is missing.
 */
static const char *
row_security_problem(Relation rel, Oid row_visible, AttrNumber subject_attnum)
{
	bool		select_policy = false;
	bool		update_policy = false;
	ListCell   *lc;

	if (!rel->rd_rel->relrowsecurity)
		return "Its row-level security is disabled. ";
	if (!rel->rd_rel->relforcerowsecurity)
		return "Its row-level security is not forced on the table owner. ";
	if (rel->rd_rsdesc != NULL && OidIsValid(row_visible) && subject_attnum > 0)
	{
		foreach(lc, rel->rd_rsdesc->policies)
		{
			RowSecurityPolicy *pol = (RowSecurityPolicy *) lfirst(lc);

			if (pol->permissive || pol->with_check_qual != NULL ||
				!applies_to_public(pol->roles) ||
				!is_row_visible_qual((Node *) pol->qual, row_visible, subject_attnum))
				continue;
			if (pol->polcmd == ACL_SELECT_CHR)
				select_policy = true;
			else if (pol->polcmd == ACL_UPDATE_CHR)
				update_policy = true;
		}
	}
	/* without the seal trigger there is no subject to check them against */
	if ((!select_policy || !update_policy) && subject_attnum > 0)
		return "It lacks childguard's row policies. ";
	return NULL;
}

/*
 * Work out the protection of rel into *p, allocating in the current
 * context; the caller copies it into the cache once nothing can run an
 * invalidation any more.
 */
/*
 * A table whose parent (inheritance or partitioning) is not protected: a
 * query of the parent reads this table's rows under the parent's row
 * security, not this table's, so they show whoever may read the parent,
 * with no purpose and after a withdrawal.  NULL if every parent is
 * protected (and so, in turn, are theirs).
 */
static char *
unprotected_parent(Relation rel)
{
	Relation	inh;
	SysScanDesc scan;
	ScanKeyData key;
	HeapTuple	tup;
	char	   *why = NULL;

	inh = table_open(InheritsRelationId, AccessShareLock);
	ScanKeyInit(&key, Anum_pg_inherits_inhrelid, BTEqualStrategyNumber, F_OIDEQ,
				ObjectIdGetDatum(RelationGetRelid(rel)));
	scan = systable_beginscan(inh, InheritsRelidSeqnoIndexId, true, NULL, 1, &key);
	while (why == NULL && HeapTupleIsValid(tup = systable_getnext(scan)))
	{
		Oid			parent = ((Form_pg_inherits) GETSTRUCT(tup))->inhparent;
		Relation	prel = relation_open(parent, AccessShareLock);

		if (!cg_protection_of(prel)->is_protected)
			why = psprintf("It is a child of \"%s\", which is not protected: a query of that table reads this one's rows under its row security. ",
						   RelationGetRelationName(prel));
		relation_close(prel, AccessShareLock);
	}
	systable_endscan(scan);
	table_close(inh, AccessShareLock);
	return why;
}

static void
build_protection(Relation rel, CgProtection *p, Oid *subject_output)
{
	const CgCatalog *cat = cg_catalog();
	TupleDesc	desc = RelationGetDescr(rel);
	StringInfoData problem;
	const char *subject_name;
	const char *why;
	char	   *planted;

	initStringInfo(&problem);
	memset(p, 0, sizeof(*p));
	p->relid = RelationGetRelid(rel);
	p->columns = palloc0(sizeof(CgProtectedColumn) * Max(desc->natts, 1));

	for (int i = 0; i < desc->natts; i++)
	{
		Form_pg_attribute att = TupleDescAttr(desc, i);
		CgTypeHolds holds;
		int32		typmod = att->atttypmod;
		int			category;

		if (att->attisdropped)
			continue;
		holds = cg_type_holds_child_data(att->atttypid);
		if (holds == CG_HOLDS_NONE)
			continue;
		p->has_child_data = true;
		if (holds == CG_HOLDS_NESTED)
		{
			appendStringInfo(&problem, "Column \"%s\" holds child data inside an array or composite type, which cannot be protected. ",
							 NameStr(att->attname));
			continue;
		}
		if (typmod < 0)
			(void) getBaseTypeAndTypmod(att->atttypid, &typmod);
		category = cg_typmod_category(typmod);
		if (category == 0)
		{
			appendStringInfo(&problem, "Column \"%s\" has no data category. ",
							 NameStr(att->attname));
			continue;
		}
		p->columns[p->ncolumns].attnum = att->attnum;
		p->columns[p->ncolumns].category = (uint8) category;
		p->ncolumns++;
	}
	/* a view's definition may run its owner's code on child data it reads */
	if (rel->rd_rel->relkind == RELKIND_VIEW && cg_planted_view_problem(rel))
	{
		appendStringInfoString(&problem, "Its definition reads child data and calls a function that is not built in, or a volatile one. ");
		p->planted = true;
	}
	if (!p->has_child_data)
	{
		if (problem.len > 0)
		{
			problem.data[problem.len - 1] = '\0';
			p->problem = problem.data;
		}
		return;
	}

	subject_name = find_seal_trigger(rel, cat->seal_function, &why);
	if (subject_name == NULL)
		appendStringInfoString(&problem, why);
	else
	{
		for (int i = 0; i < desc->natts; i++)
		{
			Form_pg_attribute att = TupleDescAttr(desc, i);

			if (!att->attisdropped && strcmp(NameStr(att->attname), subject_name) == 0)
				p->subject_attnum = att->attnum;
		}
		if (p->subject_attnum == 0)
			appendStringInfo(&problem, "Its subject column \"%s\" does not exist. ",
							 subject_name);
		else if (cg_type_holds_child_data(TupleDescAttr(desc, p->subject_attnum - 1)->atttypid) != CG_HOLDS_NONE)
			appendStringInfo(&problem, "Its subject column \"%s\" holds child data itself. ",
							 subject_name);
		else
		{
			bool		varlena;

			getTypeOutputInfo(TupleDescAttr(desc, p->subject_attnum - 1)->atttypid,
							  subject_output, &varlena);
		}
	}
	{
		const char *rls = row_security_problem(rel, cat->row_visible_function,
											   p->subject_attnum);

		if (rls != NULL)
			appendStringInfoString(&problem, rls);
	}
	planted = cg_planted_code_problem(RelationGetRelid(rel));
	if (planted != NULL)
	{
		appendStringInfo(&problem, "Its %s is not childguard's own and could read child data. ",
						 planted);
		p->planted = true;
	}
	p->has_parent = rel->rd_rel->relispartition || has_superclass(RelationGetRelid(rel));
	if (p->has_parent)
	{
		char	   *parent = unprotected_parent(rel);

		if (parent != NULL)
			appendStringInfoString(&problem, parent);
	}
	if (problem.len > 0)
	{
		problem.data[problem.len - 1] = '\0';	/* drop the trailing space */
		p->problem = problem.data;
	}
	else
		p->is_protected = true;
}

/* The protection of an open relation, from the cache when possible. */
const CgProtection *
cg_protection_of(Relation rel)
{
	Oid			relid = RelationGetRelid(rel);
	CgProtection *entry;
	CgProtection built;
	Oid			subject_output = InvalidOid;
	bool		found;

	if (last_entry != NULL && last_entry->relid == relid)
		return last_entry;
	if (protection_cache != NULL)
	{
		entry = hash_search(protection_cache, &relid, HASH_FIND, NULL);
		if (entry != NULL)
			return last_entry = entry;
	}
	build_protection(rel, &built, &subject_output);
	/* building may have run invalidations that dropped the table */
	if (protection_cache == NULL)
		protection_cache = cg_backend_hash(&protection_cxt, "childguard protection", 64,
										   sizeof(Oid), sizeof(CgProtection), false);
	entry = hash_search(protection_cache, &relid, HASH_ENTER, &found);
	*entry = built;
	if (built.has_parent)
		cached_with_parent++;
	entry->columns = MemoryContextAlloc(protection_cxt,
										sizeof(CgProtectedColumn) * Max(built.ncolumns, 1));
	memcpy(entry->columns, built.columns, sizeof(CgProtectedColumn) * built.ncolumns);
	entry->problem = built.problem ?
		MemoryContextStrdup(protection_cxt, built.problem) : NULL;
	if (OidIsValid(subject_output))
		fmgr_info_cxt(subject_output, &entry->subject_out, protection_cxt);
	return entry;
}

/* As cg_protection_of, for a relation the caller has already locked. */
const CgProtection *
cg_protection_of_relid(Oid relid)
{
	CgProtection *entry;
	const CgProtection *result;
	Relation	rel;

	if (last_entry != NULL && last_entry->relid == relid)
		return last_entry;
	if (protection_cache != NULL)
	{
		entry = hash_search(protection_cache, &relid, HASH_FIND, NULL);
		if (entry != NULL)
			return last_entry = entry;
	}
	rel = table_open(relid, NoLock);
	result = cg_protection_of(rel);
	table_close(rel, NoLock);
	return result;
}

void
cg_report_not_protected(const CgProtection *p, const char *relname)
{
	ereport(ERROR,
			(errcode(ERRCODE_CG_TABLE_NOT_PROTECTED),
			 errmsg("table \"%s\" is not protected by childguard", relname),
			 errdetail("%s", p->problem ? p->problem : "It is not protected."),
			 errhint("Call childguard.protect() on the table before writing child data to it.")));
}

PG_FUNCTION_INFO_V1(cg_protection_problem);

/*
 * childguard.protection_problem(regclass): why a table holding child data
 * is not protected, or NULL when it is (or holds none); the same answer
 * the write guard and the seal trigger act on.  Also for a view whose
 * definition runs its owner's code on child data.
 */
Datum
cg_protection_problem(PG_FUNCTION_ARGS)
{
	Oid			relid = PG_GETARG_OID(0);
	Relation	rel;
	const CgProtection *p;
	text	   *result = NULL;

	rel = try_relation_open(relid, AccessShareLock);
	if (rel == NULL)
		PG_RETURN_NULL();
	p = cg_protection_of(rel);
	if ((p->has_child_data && !p->is_protected) || p->planted)
		result = cstring_to_text(p->problem ? p->problem : "It is not protected.");
	relation_close(rel, AccessShareLock);
	if (result == NULL)
		PG_RETURN_NULL();
	PG_RETURN_TEXT_P(result);
}
