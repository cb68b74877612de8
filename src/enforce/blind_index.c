/*-------------------------------------------------------------------------
 *
 * blind_index.c
 *	  Blind indexes: equality lookups on a child_data column at index speed
 *	  (childguard.enable_blind_index, docs/security.md "Blind indexes").
 *
 * A column with a blind index has a hidden bytea column beside it holding
 * HMAC-SHA-256 of the value's plaintext bytes (no other normalization:
 * child_data equality is byte equality) under the column's blind key
 * (blind_keys.c), truncated to 16 bytes.  The seal trigger
 * (seal_trigger.c) writes it on every INSERT and UPDATE (so COPY FROM,
 * migrate_column and load_rows too), whatever the statement wrote there:
 * from the plaintext it seals, or by opening the stored value with the
 * child's data key; an UPDATE that leaves the value as it was keeps the
 * old row's hash.  It is never user-writable in effect.
 *
 * The lookup: a planner_hook rewrite (cg_blind_rewrite) finds, in each
 * query level's WHERE, conjuncts `col = expr` (either side) where col is a
 * child_data column with a blind index and expr holds no column, no
 * volatile function and no sub-select (a constant or a parameter, so
 * generic plans work), and adds `hidden = childguard._blind(table, col,
 * expr)` (and, for `col IN (v1, ...)`, `hidden = ANY (ARRAY[_blind(..,
 * v1), ...])`) -- but only where row-level security applies to the reader
 * (check_enable_rls: not for superusers, BYPASSRLS roles or row_security
 * off, which see every row; the plan cache replans when the role
 * changes) and not on a DELETE's target, whose rows are all visible to it
 * (delete_rows.c): there the row policy does not hide the rows of children
 * the reader may not compare, and only comparing all of them, as without
 * the index, keeps the lookup from answering whether such a child holds
 * the value.  The original conjunct stays: every row the index finds is still
 * compared, each comparison a decided, audited read (child_data.c), and a
 * hash collision is only a false candidate.  The row policy still hides
 * rows of children without consent before that comparison.
 *
 * childguard._blind is STABLE and PARALLEL RESTRICTED: it runs in the
 * leader, once per scan as the index scan's runtime key (and, as a filter,
 * at most once per distinct input, memoized in fn_extra).  Before hashing
 * it asks decision.c what does not depend on the child
 * (cg_decide_column): with no purpose it returns NULL, so the lookup
 * finds nothing -- as the row policy shows nothing without one; when the
 * purpose, grant or calling code could never compare this column it
 * raises the comparison's own error, whether or not any row matches, so
 * a denied reader cannot learn from errors or row counts whether a value
 * is present.  The constant itself is opened as any compared value is
 * (cg_child_data_plaintext).
 *
 * The cache (relid -> blind columns with their keys) is built from
 * childguard.blind_index once per relation and backend, and dropped,
 * keys wiped, on any relation invalidation: enable/disable alter the
 * table, so every backend rebuilds.  The derived keys are kept in a
 * locked, non-dumped mapping (secure_mem.c; palloc'd memory beyond 256
 * keys or where the OS refuses one), wiped with the cache.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "catalog/namespace.h"
#include "catalog/pg_operator.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "nodes/makefuncs.h"
#include "nodes/nodeFuncs.h"
#include "optimizer/clauses.h"
#include "parser/parsetree.h"
#include "optimizer/optimizer.h"
#include "parser/parse_func.h"
#include "rewrite/rewriteManip.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/hsearch.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rls.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"

#include "blind_index.h"
#include "blind_keys.h"
#include "catalog.h"
#include "categories.h"
#include "child_data.h"
#include "childguard_errcodes.h"
#include "citus_node.h"
#include "crypto.h"
#include "decision.h"
#include "protection.h"
#include "secure_mem.h"

/* the parse location of the rewrite's table argument (called_by_rewrite) */
#define BLIND_REWRITE_MARK	(-2)

/* childguard.blind_index's columns */
#define Anum_blind_tbl			1
#define Anum_blind_column		2
#define Anum_blind_hidden		3
#define Anum_blind_index_id		4
#define Anum_blind_wrapped		5

typedef struct BlindEntry
{
	Oid			relid;			/* hash key */
	CgBlindRel	rel;
} BlindEntry;

static MemoryContext blind_cxt = NULL;
static HTAB *blind_cache = NULL;
static int	blind_any = -1;		/* any blind index in this database: -1 unknown */
static Oid	blind_table = InvalidOid;
static Oid	blind_fn = InvalidOid;
static Oid	child_data_eq_op = InvalidOid;
static Oid	clearing_relid = InvalidOid;	/* _blind_clear's table, while it runs */

/* derived keys live in one locked, non-dumped mapping (secure_mem.c) */
#define KEY_POOL_KEYS	256
static uint8 *key_pool = NULL;
static int	key_pool_used = 0;
static bool key_pool_tried = false;

/* Room for one derived key: the locked pool, or (full, or none) blind_cxt. */
static uint8 *
key_slot(void)
{
	if (!key_pool_tried)
	{
		key_pool_tried = true;
		key_pool = cg_secure_map(KEY_POOL_KEYS * CG_KEY_LEN);
	}
	if (key_pool != NULL && key_pool_used < KEY_POOL_KEYS)
	{
		uint8	   *slot = key_pool + CG_KEY_LEN * key_pool_used++;

		cg_secure_prepare(slot, CG_KEY_LEN);	/* locked before the key is written */
		return slot;
	}
	return MemoryContextAllocZero(blind_cxt, CG_KEY_LEN);
}

/* Forget everything; wipe the keys. */
static void
blind_flush(void)
{
	if (blind_cache != NULL)
	{
		HASH_SEQ_STATUS st;
		BlindEntry *e;

		hash_seq_init(&st, blind_cache);
		while ((e = hash_seq_search(&st)) != NULL)
			for (int i = 0; i < e->rel.ncolumns; i++)
				if (e->rel.columns[i].key != NULL)
					explicit_bzero(e->rel.columns[i].key, CG_KEY_LEN);
	}
	if (key_pool != NULL)
		cg_secure_wipe(key_pool);
	key_pool_used = 0;
	if (blind_cxt != NULL)
		MemoryContextReset(blind_cxt);
	blind_cache = NULL;
	blind_any = -1;
	blind_table = InvalidOid;
	blind_fn = InvalidOid;
	child_data_eq_op = InvalidOid;
}

static void
blind_invalidate(int kinds, Oid relid)
{
	blind_flush();
}

/* From _PG_init: drop the cache when any relation or object changes. */
void
cg_blind_init(void)
{
	cg_catalog_on_invalidation(blind_invalidate, CG_INVAL_RELATION | CG_INVAL_OBJECTS);
}

/* childguard.blind_index's OID, or InvalidOid (not installed, or older SQL). */
static Oid
blind_table_oid(void)
{
	const CgCatalog *cat = cg_catalog();

	if (!cat->present)
		return InvalidOid;
	if (!OidIsValid(blind_table))
		blind_table = get_relname_relid("blind_index", cat->namespace_oid);
	return blind_table;
}

/*
 * Scan childguard.blind_index for relid's rows (or, relid InvalidOid,
 * whether there is any row); fills out (palloc'd in the caller's context,
 * the keys too: the caller wipes them) when given.
 */
static bool
scan_blind_index(Oid relid, CgBlindRel *out)
{
	Oid			tbl = blind_table_oid();
	Relation	rel;
	SysScanDesc scan;
	ScanKeyData key;
	HeapTuple	tuple;
	Snapshot	snap;
	bool		any = false;
	int			cap = 0;

	if (out != NULL)
	{
		out->relid = relid;
		out->ncolumns = 0;
		out->columns = NULL;
	}
	if (!OidIsValid(tbl))
		return false;
	rel = table_open(tbl, AccessShareLock);
	if (RelationGetDescr(rel)->natts < Anum_blind_wrapped)
		elog(ERROR, "childguard.blind_index has an unexpected layout");
	ScanKeyInit(&key, Anum_blind_tbl, BTEqualStrategyNumber, F_OIDEQ,
				ObjectIdGetDatum(relid));
	snap = RegisterSnapshot(GetLatestSnapshot());
	scan = systable_beginscan(rel, InvalidOid, false, snap,
							  OidIsValid(relid) ? 1 : 0, &key);
	while (HeapTupleIsValid(tuple = systable_getnext(scan)))
	{
		Datum		values[Anum_blind_wrapped];
		bool		nulls[Anum_blind_wrapped];
		TupleDesc	desc = RelationGetDescr(rel);
		CgBlindColumn *c;

		any = true;
		if (out == NULL)
			break;
		for (int i = 0; i < Anum_blind_wrapped; i++)
			values[i] = heap_getattr(tuple, i + 1, desc, &nulls[i]);
		for (int i = 0; i < Anum_blind_wrapped; i++)
			if (nulls[i])
				elog(ERROR, "childguard.blind_index has a null field");
		if (out->ncolumns == cap)
		{
			cap = cap == 0 ? 4 : cap * 2;
			out->columns = out->columns == NULL ?
				palloc0(cap * sizeof(CgBlindColumn)) :
				repalloc(out->columns, cap * sizeof(CgBlindColumn));
		}
		c = &out->columns[out->ncolumns];
		c->attnum = get_attnum(relid, NameStr(*DatumGetName(values[Anum_blind_column - 1])));
		c->blind_attnum = get_attnum(relid, NameStr(*DatumGetName(values[Anum_blind_hidden - 1])));
		if (c->attnum == InvalidAttrNumber || c->blind_attnum == InvalidAttrNumber ||
			get_atttype(relid, c->blind_attnum) != BYTEAOID)
			ereport(ERROR,
					(errcode(ERRCODE_CG_BLIND_INDEX_INVALID),
					 errmsg("blind index of table \"%s\" names a column that is missing",
							get_rel_name(relid)),
					 errdetail("Column \"%s\" or its hidden column \"%s\" (bytea) is not in the table.",
							   NameStr(*DatumGetName(values[Anum_blind_column - 1])),
							   NameStr(*DatumGetName(values[Anum_blind_hidden - 1]))),
					 errhint("Run childguard.disable_blind_index() and enable it again.")));
		c->key = palloc(CG_KEY_LEN);	/* moved to the pool by cg_blind_of */
		cg_blind_key_derive(DatumGetByteaPP(values[Anum_blind_index_id - 1]),
							DatumGetByteaPP(values[Anum_blind_wrapped - 1]), c->key);
		out->ncolumns++;
	}
	systable_endscan(scan);
	UnregisterSnapshot(snap);
	table_close(rel, AccessShareLock);
	return any;
}

/* Is there any blind index in this database?  Cached until an invalidation. */
static bool
blind_any_index(void)
{
	if (blind_any < 0)
		blind_any = scan_blind_index(InvalidOid, NULL) ? 1 : 0;
	return blind_any == 1;
}

/* The blind columns of relid (ncolumns 0: none); cached per backend. */
const CgBlindRel *
cg_blind_of(Oid relid)
{
	BlindEntry *e;
	bool		found;
	CgBlindRel	built;

	if (!blind_any_index())
	{
		static CgBlindRel none;

		none.relid = relid;
		none.ncolumns = 0;
		return &none;
	}
	if (blind_cxt == NULL)
		blind_cxt = AllocSetContextCreate(TopMemoryContext, "childguard blind indexes",
										  ALLOCSET_SMALL_SIZES);
	if (blind_cache == NULL)
	{
		HASHCTL		ctl;

		ctl.keysize = sizeof(Oid);
		ctl.entrysize = sizeof(BlindEntry);
		ctl.hcxt = blind_cxt;
		blind_cache = hash_create("childguard blind indexes", 64, &ctl,
								  HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
	}
	e = hash_search(blind_cache, &relid, HASH_FIND, NULL);
	if (e != NULL)
		return &e->rel;
	/*
	 * The scan may process an invalidation that drops the cache: build in
	 * the caller's context, then copy into the cache if it is still there.
	 */
	(void) scan_blind_index(relid, &built);
	if (blind_cache == NULL)
	{
		for (int i = 0; i < built.ncolumns; i++)
			explicit_bzero(built.columns[i].key, CG_KEY_LEN);
		return cg_blind_of(relid);
	}
	e = hash_search(blind_cache, &relid, HASH_ENTER, &found);
	e->rel.relid = relid;
	e->rel.ncolumns = 0;
	e->rel.columns = built.ncolumns == 0 ? NULL :
		MemoryContextAllocZero(blind_cxt, built.ncolumns * sizeof(CgBlindColumn));
	for (int i = 0; i < built.ncolumns; i++)
	{
		e->rel.columns[i] = built.columns[i];
		e->rel.columns[i].key = key_slot();
		memcpy(e->rel.columns[i].key, built.columns[i].key, CG_KEY_LEN);
		explicit_bzero(built.columns[i].key, CG_KEY_LEN);
		pfree(built.columns[i].key);
	}
	e->rel.ncolumns = built.ncolumns;
	if (built.columns != NULL)
		pfree(built.columns);
	return &e->rel;
}

/* The blind column of attnum in b, or NULL. */
const CgBlindColumn *
cg_blind_column(const CgBlindRel *b, AttrNumber attnum)
{
	for (int i = 0; i < b->ncolumns; i++)
		if (b->columns[i].attnum == attnum)
			return &b->columns[i];
	return NULL;
}

/* The stored hash of plaintext: HMAC-SHA-256 under the column key, truncated. */
void
cg_blind_hash(const CgBlindColumn *bc, const char *plain, size_t len, uint8 *out)
{
	uint8		full[32];

	cg_hmac_sha256(bc->key, CG_KEY_LEN, (const uint8 *) plain, len, full);
	memcpy(out, full, CG_BLIND_HASH_LEN);
	explicit_bzero(full, sizeof(full));
}

/* Is _blind_clear running on relid (the seal trigger then only clears)? */
bool
cg_blind_clearing(Oid relid)
{
	return OidIsValid(clearing_relid) && clearing_relid == relid;
}

/*
 * childguard._blind_clear(tbl regclass, subject_column name, child_id text)
 * -> bigint: null the hidden hashes of the child's rows (a crypto-shred
 * destroyed the child's data key: its values can no longer be read, and
 * their hashes must not outlive them).  Runs as the extension's owner
 * (childguard._blind_on_shred); the seal trigger, seeing clearing_relid,
 * only nulls the hashes of the rows updated.
 */
PG_FUNCTION_INFO_V1(cg_blind_clear);
Datum
cg_blind_clear(PG_FUNCTION_ARGS)
{
	Oid			relid = PG_GETARG_OID(0);
	Name		subject = PG_GETARG_NAME(1);
	text	   *child_id = PG_GETARG_TEXT_PP(2);
	const CgBlindRel *b = cg_blind_of(relid);
	StringInfoData sql;
	Oid			argtypes[1] = {TEXTOID};
	Datum		args[1];
	uint64		n = 0;
	Oid			saved = clearing_relid;

	if (b->ncolumns == 0)
		PG_RETURN_INT64(0);
	initStringInfo(&sql);
	appendStringInfo(&sql, "UPDATE %s SET ",
					 quote_qualified_identifier(get_namespace_name(get_rel_namespace(relid)),
												get_rel_name(relid)));
	for (int i = 0; i < b->ncolumns; i++)
		appendStringInfo(&sql, "%s%s = NULL", i > 0 ? ", " : "",
						 quote_identifier(get_attname(relid, b->columns[i].blind_attnum, false)));
	appendStringInfo(&sql, " WHERE %s::pg_catalog.text OPERATOR(pg_catalog.=) $1",
					 quote_identifier(NameStr(*subject)));
	args[0] = PointerGetDatum(child_id);
	clearing_relid = relid;
	PG_TRY();
	{
		SPI_connect();
		if (SPI_execute_with_args(sql.data, 1, argtypes, args, NULL, false, 0) != SPI_OK_UPDATE)
			elog(ERROR, "could not clear the blind hashes of table \"%s\"", get_rel_name(relid));
		n = SPI_processed;
		SPI_finish();
	}
	PG_FINALLY();
	{
		clearing_relid = saved;
	}
	PG_END_TRY();
	PG_RETURN_INT64((int64) n);
}

/* Memo of _blind in fn_extra: the last input and its hash. */
typedef struct BlindMemo
{
	bool		decided;
	bool		allowed;		/* false: no purpose, the result is NULL */
	struct varlena *input;		/* copy of the last input */
	uint8		hash[CG_BLIND_HASH_LEN];
} BlindMemo;

/*
 * Is this call of _blind() the one the planner rewrite made (blind_call)?
 * Called directly -- in a select list, a view, a SQL function, a prepared
 * statement -- it would give a reader with a purpose the hash of any value
 * it chooses, and `hidden = hash` then compares that value with every
 * visible row's without a decision, an audit record or a grant window
 * counting a child: a dictionary probe at no cost.  The rewrite's table
 * argument is a constant whose parse location is BLIND_REWRITE_MARK: the
 * parser gives locations >= 0 or -1 only, a stored view or rule reads its
 * locations back as -1, and the planner's copies (also the function call
 * it rebuilds to estimate the lookup's selectivity) keep it.  The
 * rewritten query itself is never stored: it is the planner's own copy.
 */
static bool
called_by_rewrite(FunctionCallInfo fcinfo)
{
	Node	   *expr = fcinfo->flinfo->fn_expr;
	List	   *args;

	if (expr == NULL || !IsA(expr, FuncExpr))
		return false;
	args = ((FuncExpr *) expr)->args;
	return args != NIL && IsA(linitial(args), Const) &&
		((Const *) linitial(args))->location == BLIND_REWRITE_MARK;
}

/*
 * childguard._blind(tbl regclass, attnum int2, value child_data) -> bytea: the
 * hash the hidden column would hold for value, for the index lookup the
 * planner rewrite adds, and only there (called_by_rewrite, ZC564).  See
 * the header comment for the decision.
 */
PG_FUNCTION_INFO_V1(cg_blind);
Datum
cg_blind(PG_FUNCTION_ARGS)
{
	Oid			relid = PG_GETARG_OID(0);
	AttrNumber	attnum = PG_GETARG_INT16(1);
	struct varlena *value = PG_DETOAST_DATUM_PACKED(PG_GETARG_DATUM(2));
	BlindMemo  *memo = (BlindMemo *) fcinfo->flinfo->fn_extra;
	const CgProtection *p;
	const CgBlindColumn *bc;
	int			category = 0;
	size_t		len;
	char	   *plain;
	bytea	   *result;

	if (memo == NULL)
	{
		if (!called_by_rewrite(fcinfo))
			ereport(ERROR,
					(errcode(ERRCODE_CG_BLIND_DIRECT_CALL),
					 errmsg("childguard._blind() is called only by the blind index lookup"),
					 errdetail("The hash of a chosen value would compare it with the hidden column of every visible row without a decision or an audit record."),
					 errhint("Compare the child_data column itself (column = value): the lookup uses the blind index and decides each row it finds.")));
		memo = fcinfo->flinfo->fn_extra =
			MemoryContextAllocZero(fcinfo->flinfo->fn_mcxt, sizeof(BlindMemo));
	}
	if (memo->decided && !memo->allowed)
		PG_RETURN_NULL();
	if (!(memo->input != NULL && VARSIZE_ANY(memo->input) == VARSIZE_ANY(value) &&
		  memcmp(memo->input, value, VARSIZE_ANY(value)) == 0))
	{
		bc = cg_blind_column(cg_blind_of(relid), attnum);
		p = cg_protection_of_relid(relid);
		for (int i = 0; p != NULL && i < p->ncolumns; i++)
			if (p->columns[i].attnum == attnum)
				category = p->columns[i].category;
		if (bc == NULL || category == 0)
			ereport(ERROR,
					(errcode(ERRCODE_CG_BLIND_INDEX_INVALID),
					 errmsg("column %d of table \"%s\" has no blind index",
							attnum, get_rel_name(relid)),
					 errhint("childguard.enable_blind_index() makes one on a protected table's child_data column.")));
		if (!memo->decided)
		{
			const char *why = NULL;

			switch (cg_decide_column(category, &why))
			{
				case CG_VERDICT_ENVELOPE:
					/* no purpose: the row policy would show no row either */
					memo->decided = true;
					memo->allowed = false;
					PG_RETURN_NULL();
				case CG_VERDICT_DENY:
					ereport(ERROR,
							(errcode(ERRCODE_CG_READ_DENIED),
							 errmsg("permission denied to compare child data"),
							 errdetail("%s The value is %s data of column \"%s\" of table \"%s\".",
									   why, cg_category_name(category),
									   get_attname(relid, attnum, false), get_rel_name(relid)),
							 errhint("Reads are allowed for a declared purpose with the child's consent in force, within the purpose's categories and the role's access grant.")));
					break;
				case CG_VERDICT_ALLOW:
					break;
			}
			memo->decided = true;
			memo->allowed = true;
		}
		plain = cg_child_data_plaintext(PointerGetDatum(value), &len);
		cg_blind_hash(bc, plain, len, memo->hash);
		explicit_bzero(plain, len);
		pfree(plain);
		if (memo->input != NULL)
			pfree(memo->input);
		memo->input = MemoryContextAlloc(fcinfo->flinfo->fn_mcxt, VARSIZE_ANY(value));
		memcpy(memo->input, value, VARSIZE_ANY(value));
	}
	result = palloc(VARHDRSZ + CG_BLIND_HASH_LEN);
	SET_VARSIZE(result, VARHDRSZ + CG_BLIND_HASH_LEN);
	memcpy(VARDATA(result), memo->hash, CG_BLIND_HASH_LEN);
	PG_RETURN_BYTEA_P(result);
}

/* ---- the planner rewrite ---- */

/* OIDs the rewrite needs; false if childguard's objects are not all there. */
static bool
rewrite_oids(void)
{
	if (!OidIsValid(blind_fn))
	{
		Oid			args[3] = {REGCLASSOID, INT2OID, cg_child_data_type()};
		List	   *name = list_make2(makeString("childguard"), makeString("_blind"));
		/* the type's = lives in pg_catalog (sql/childguard--1.0.sql) */
		List	   *op = list_make2(makeString("pg_catalog"), makeString("="));

		blind_fn = LookupFuncName(name, 3, args, true);
		child_data_eq_op = OpernameGetOprid(op, args[2], args[2]);
	}
	return OidIsValid(blind_fn) && OidIsValid(child_data_eq_op);
}

/* expr may serve as the looked-up value: no column, volatile function or sub-select. */
static bool
lookup_value_ok(Node *expr)
{
	return exprType(expr) == cg_child_data_type() &&
		!contain_var_clause(expr) &&
		!contain_volatile_functions(expr) &&
		!contain_subplans(expr) &&
		!checkExprHasSubLink(expr) &&
		!contain_agg_clause(expr) &&
		!contain_window_function(expr);
}

/*
 * The blind column of var, if var is a column with a blind index that a
 * lookup may use in query (see the header comment), else NULL.
 */
static const CgBlindColumn *
lookup_column(Query *query, Var *var, Oid *relid)
{
	RangeTblEntry *rte;
	const CgBlindColumn *bc;

	if (var->varlevelsup != 0 || var->varattno <= 0 ||
		var->varno < 1 || var->varno > list_length(query->rtable))
		return NULL;
	rte = rt_fetch(var->varno, query->rtable);
	if (rte->rtekind != RTE_RELATION)
		return NULL;
	/* a DELETE's (or MERGE's) target rows are all visible to it: no lookup */
	if (var->varno == query->resultRelation &&
		(query->commandType == CMD_DELETE || query->commandType == CMD_MERGE))
		return NULL;
	/* only where the row policy hides what the reader may not compare */
	if (check_enable_rls(rte->relid, rte->checkAsUser, true) != RLS_ENABLED)
		return NULL;
	*relid = rte->relid;
	bc = cg_blind_column(cg_blind_of(rte->relid), var->varattno);
	if (bc != NULL && cg_citus_coordinator() && cg_citus_is_distributed(rte->relid))
		cg_blind_refuse_distributed(rte->relid, false);
	return bc;
}

/*
 * A table with a blind index is never distributed by Citus (ZC563): on a
 * coordinator Citus does not fire the shell table's seal trigger for the
 * table's writes (citus_seal.c seals them, and computes no hash), so the
 * hidden column would stay empty for every row written since, and a
 * lookup through it would miss them.  enable_blind_index() refuses a
 * distributed table (ZC403); this refuses the other order: distributing
 * the table (citus_ddl.c, distributing = true) and, should it be
 * distributed anyway (the table named by an expression, with Citus's
 * unsafe-trigger setting turned on by hand), every lookup through the
 * index (lookup_column) and every write to the table (citus_seal.c).
 */
void
cg_blind_refuse_distributed(Oid relid, bool distributing)
{
	char	   *name = get_rel_name(relid);

	if (name == NULL)
		name = psprintf("%u", relid);
	ereport(ERROR,
			(errcode(ERRCODE_CG_BLIND_INDEX_DISTRIBUTED),
			 distributing ?
			 errmsg("cannot distribute table \"%s\" with a blind index", name) :
			 errmsg("table \"%s\" has a blind index and is distributed by Citus", name),
			 errdetail("A blind index's hidden column is filled by the seal trigger, which Citus does not fire for a distributed table's writes: lookups through the index would miss the rows written since."),
			 errhint("Disable the blind index first (childguard.disable_blind_index()), or make the table local again (undistribute_table()).")));
}

/* childguard._blind(relid, attnum, value) */
static Expr *
blind_call(Oid relid, AttrNumber attnum, Node *value)
{
	Const	   *table = makeConst(REGCLASSOID, -1, InvalidOid, sizeof(Oid),
									  ObjectIdGetDatum(relid), false, true);

	/* the mark cg_blind() looks for (called_by_rewrite) */
	table->location = BLIND_REWRITE_MARK;
	return (Expr *) makeFuncExpr(blind_fn, BYTEAOID,
								 list_make3(table,
											makeConst(INT2OID, -1, InvalidOid, sizeof(int16),
													  Int16GetDatum(attnum), false, true),
											copyObject(value)),
								 InvalidOid, InvalidOid, COERCE_EXPLICIT_CALL);
}

/*
 * For `col = value` (either side): `hidden = _blind(rel, col, value)`; for
 * `col IN (v1, v2, ...)`: `hidden = ANY (ARRAY[_blind(.., v1), ...])`;
 * NULL if conjunct is no such lookup.
 */
static Node *
lookup_qual(Query *query, Node *conjunct)
{
	Var		   *var = NULL;
	Node	   *value = NULL;
	const CgBlindColumn *bc;
	Oid			relid = InvalidOid;
	Var		   *hidden;

	if (IsA(conjunct, OpExpr))
	{
		OpExpr	   *op = (OpExpr *) conjunct;
		OpExpr	   *eq;

		if (op->opno != child_data_eq_op || list_length(op->args) != 2)
			return NULL;
		if (IsA(linitial(op->args), Var) && lookup_value_ok(lsecond(op->args)))
		{
			var = linitial(op->args);
			value = lsecond(op->args);
		}
		else if (IsA(lsecond(op->args), Var) && lookup_value_ok(linitial(op->args)))
		{
			var = lsecond(op->args);
			value = linitial(op->args);
		}
		if (var == NULL || (bc = lookup_column(query, var, &relid)) == NULL)
			return NULL;
		hidden = makeVar(var->varno, bc->blind_attnum, BYTEAOID, -1, InvalidOid, 0);
		eq = (OpExpr *) make_opclause(ByteaEqualOperator, BOOLOID, false, (Expr *) hidden,
									  blind_call(relid, var->varattno, value),
									  InvalidOid, InvalidOid);
		eq->opfuncid = F_BYTEAEQ;
		return (Node *) eq;
	}
	if (IsA(conjunct, ScalarArrayOpExpr))
	{
		ScalarArrayOpExpr *sa = (ScalarArrayOpExpr *) conjunct;
		ScalarArrayOpExpr *any;
		ArrayExpr  *values;
		ArrayExpr  *hashes;
		ListCell   *lc;

		if (sa->opno != child_data_eq_op || !sa->useOr || list_length(sa->args) != 2 ||
			!IsA(linitial(sa->args), Var) || !IsA(lsecond(sa->args), ArrayExpr))
			return NULL;
		var = linitial(sa->args);
		values = lsecond(sa->args);
		if (values->multidims || values->elements == NIL)
			return NULL;
		foreach(lc, values->elements)
			if (!lookup_value_ok(lfirst(lc)))
				return NULL;
		if ((bc = lookup_column(query, var, &relid)) == NULL)
			return NULL;
		hashes = makeNode(ArrayExpr);
		hashes->array_typeid = BYTEAARRAYOID;
		hashes->element_typeid = BYTEAOID;
		hashes->multidims = false;
		hashes->location = -1;
		foreach(lc, values->elements)
			hashes->elements = lappend(hashes->elements,
									   blind_call(relid, var->varattno, lfirst(lc)));
		any = makeNode(ScalarArrayOpExpr);
		any->opno = ByteaEqualOperator;
		any->opfuncid = F_BYTEAEQ;
		any->hashfuncid = InvalidOid;
		any->negfuncid = InvalidOid;
		any->useOr = true;
		any->inputcollid = InvalidOid;
		any->args = list_make2(makeVar(var->varno, bc->blind_attnum, BYTEAOID, -1, InvalidOid, 0),
							   hashes);
		any->location = -1;
		return (Node *) any;
	}
	return NULL;
}

static bool rewrite_walker(Node *node, void *context);

/* One query level: its WHERE's top-level conjuncts, then what it contains. */
static void
rewrite_query(Query *query)
{
	Node	   *quals = query->jointree ? query->jointree->quals : NULL;
	List	   *added = NIL;
	ListCell   *lc;

	if (quals != NULL)
	{
		List	   *conjuncts = IsA(quals, BoolExpr) && ((BoolExpr *) quals)->boolop == AND_EXPR ?
			((BoolExpr *) quals)->args : list_make1(quals);

		foreach(lc, conjuncts)
		{
			Node	   *q = lookup_qual(query, lfirst(lc));

			if (q != NULL)
				added = lappend(added, q);
		}
		if (added != NIL)
			query->jointree->quals = (Node *) make_andclause(list_concat(list_make1(quals), added));
	}
	(void) query_tree_walker(query, rewrite_walker, NULL, 0);
}

static bool
rewrite_walker(Node *node, void *context)
{
	if (node == NULL)
		return false;
	if (IsA(node, Query))
	{
		rewrite_query((Query *) node);
		return false;
	}
	return expression_tree_walker(node, rewrite_walker, context);
}

/*
 * From the planner hook: add the index lookups to query (in place: the
 * planner's input is its own copy).  Nothing when the database has no
 * blind index, or childguard's objects are older than 1.5.
 */
void
cg_blind_rewrite(Query *query)
{
	if (!cg_catalog()->present || !blind_any_index() || !rewrite_oids())
		return;
	rewrite_query(query);
}
