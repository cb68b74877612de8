/*-------------------------------------------------------------------------
 *
 * catalog.c
 *	  Finding childguard's objects, reading its registry tables, and
 *	  dispatching cache invalidations.
 *
 * Caches (subjects.c, data_keys.c, protection.c, decision.c) are
 * backend-local.  They are kept honest by PostgreSQL's own invalidation
 * machinery: registry tables carry a statement trigger that queues a
 * relcache invalidation for the table (childguard._catalog_changed), which
 * every backend processes at its next transaction start or command
 * boundary once the change commits.  This file holds the one set of
 * relcache and syscache callbacks; each cache registers, from _PG_init, a
 * function and the kinds of change it depends on
 * (cg_catalog_on_invalidation), and is told of those only.  This file
 * calls nothing of the caches by name: it is the bottom floor, and they
 * sit above it.  Rows are read with the catalog snapshot, which the same
 * invalidation resets, so a cache refill sees the committed change.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "catalog/namespace.h"
#include "catalog/pg_proc.h"
#include "catalog/pg_type.h"
#include "commands/trigger.h"
#include "executor/executor.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "utils/builtins.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"
#include "utils/fmgroids.h"
#include "utils/syscache.h"
#include "utils/tuplestore.h"

#include "catalog.h"
#include "shared_cache.h"

/* caches that registered for invalidations; a handful, fixed at _PG_init */
#define MAX_INVALIDATION_CALLBACKS 12

typedef struct InvalidationCallback
{
	CgInvalidationFn fn;
	int			kinds;
} InvalidationCallback;

static CgCatalog cat;
static bool cat_valid = false;
static InvalidationCallback callbacks[MAX_INVALIDATION_CALLBACKS];
static int	ncallbacks = 0;

/*
 * A function of ours by name and argument types, found through the
 * syscache: no permission check, since whoever runs the statement that
 * needs it may have no USAGE on our schema.
 */
static Oid
function_oid(const char *name, int nargs, const Oid *argtypes, Oid nsp)
{
	return GetSysCacheOid3(PROCNAMEARGSNSP, Anum_pg_proc_oid,
						   CStringGetDatum(name),
						   PointerGetDatum(buildoidvector(argtypes, nargs)),
						   ObjectIdGetDatum(nsp));
}

/* Look everything up by name; leaves present=false if not installed. */
static void
catalog_refresh(void)
{
	Oid			nsp;

	memset(&cat, 0, sizeof(cat));
	nsp = get_namespace_oid("childguard", true);
	if (OidIsValid(nsp))
	{
		cat.namespace_oid = nsp;
		cat.child_data_type = GetSysCacheOid2(TYPENAMENSP, Anum_pg_type_oid,
											  CStringGetDatum("child_data"),
											  ObjectIdGetDatum(nsp));
		cat.child_rel = get_relname_relid("child", nsp);
		cat.child_id_index = get_relname_relid("child_child_id_key", nsp);
		cat.child_pkey_index = get_relname_relid("child_pkey", nsp);
		cat.child_guardian_rel = get_relname_relid("child_guardian", nsp);
		cat.officer_rel = get_relname_relid("officer", nsp);
		cat.purpose_rel = get_relname_relid("purpose", nsp);
		cat.purpose_name_index = get_relname_relid("purpose_purpose_key", nsp);
		cat.assessment_rel = get_relname_relid("security_assessment", nsp);
		cat.consent_rel = get_relname_relid("consent", nsp);
		cat.consent_index = get_relname_relid("consent_subject_purpose_idx", nsp);
		cat.grant_rel = get_relname_relid("access_grant", nsp);
		cat.data_key_rel = get_relname_relid("data_key", nsp);
		cat.data_key_index = get_relname_relid("data_key_pkey", nsp);
		cat.restart_rel = get_relname_relid("retention_restart", nsp);
		cat.restart_index = get_relname_relid("retention_restart_pkey", nsp);
		cat.request_rel = get_relname_relid("request", nsp);
		cat.request_objection_index = get_relname_relid("request_open_objection_idx", nsp);
		cat.seal_function = function_oid("seal_row", 0, NULL, nsp);
		{
			Oid			text_arg[1] = {TEXTOID};

			cat.row_visible_function = function_oid("row_visible", 1, text_arg, nsp);
		}
		cat.role_anchor_function = function_oid("_role_anchor", 0, NULL, nsp);
		{
			Oid			oid_arg[1] = {OIDOID};

			cat.role_released_function = function_oid("_role_released", 1, oid_arg, nsp);
		}
		if (OidIsValid(cat.grant_rel))
		{
			AttrNumber	att = get_attnum(cat.grant_rel, "grantee_role");

			cat.grant_grantee_role = att == InvalidAttrNumber ? 0 : att;
			att = get_attnum(cat.grant_rel, "max_children_per_hour");
			cat.grant_per_hour = att == InvalidAttrNumber ? 0 : att;
			att = get_attnum(cat.grant_rel, "max_children_per_day");
			cat.grant_per_day = att == InvalidAttrNumber ? 0 : att;
			att = get_attnum(cat.grant_rel, "recipient");
			cat.grant_recipient = att == InvalidAttrNumber ? 0 : att;
		}
		if (OidIsValid(cat.child_rel))
		{
			AttrNumber	att = get_attnum(cat.child_rel, "sealed");

			cat.child_sealed = att == InvalidAttrNumber ? 0 : att;
		}
		if (OidIsValid(cat.assessment_rel))
		{
			AttrNumber	att = get_attnum(cat.assessment_rel, "recipient");

			cat.assessment_recipient = att == InvalidAttrNumber ? 0 : att;
		}
		cat.present = OidIsValid(cat.child_data_type);
	}
	cat_valid = true;
}

/* childguard's objects in this database (present=false if none). */
const CgCatalog *
cg_catalog(void)
{
	if (!cat_valid)
		catalog_refresh();
	return &cat;
}

/* The child_data type's OID, or InvalidOid; the hooks' fast path. */
Oid
cg_child_data_type(void)
{
	if (!cat_valid)
		catalog_refresh();
	return cat.child_data_type;
}

/*
 * A cache depends on the kinds of change in kinds (CG_INVAL_*): call fn
 * whenever one of them commits.  From _PG_init, before any backend
 * starts; the order of registration is the order of the calls.
 */
void
cg_catalog_on_invalidation(CgInvalidationFn fn, int kinds)
{
	if (ncallbacks >= MAX_INVALIDATION_CALLBACKS)
		elog(ERROR, "too many childguard invalidation callbacks");
	callbacks[ncallbacks].fn = fn;
	callbacks[ncallbacks].kinds = kinds;
	ncallbacks++;
}

/* Tell each cache registered for any of kinds; relid as the callback got it. */
static void
dispatch(int kinds, Oid relid)
{
	for (int i = 0; i < ncallbacks; i++)
		if ((callbacks[i].kinds & kinds) != 0)
			callbacks[i].fn(callbacks[i].kinds & kinds, relid);
}

/* Does the read decision depend on this registry table? */
static bool
is_policy_registry(Oid relid)
{
	return cat_valid && OidIsValid(relid) &&
		(relid == cat.child_rel || relid == cat.child_guardian_rel ||
		 relid == cat.officer_rel || relid == cat.purpose_rel ||
		 relid == cat.assessment_rel || relid == cat.consent_rel ||
		 relid == cat.grant_rel || relid == cat.restart_rel ||
		 relid == cat.request_rel);
}

/* A relation changed (InvalidOid: all of them, e.g. after a reset). */
static void
on_relcache_inval(Datum arg, Oid relid)
{
	int			kinds = CG_INVAL_RELATION;

	if (!OidIsValid(relid) || relid == cat.child_rel)
		kinds |= CG_INVAL_CHILD;
	if (!OidIsValid(relid) || relid == cat.data_key_rel)
		kinds |= CG_INVAL_DATA_KEY;
	if (!OidIsValid(relid) || is_policy_registry(relid))
		kinds |= CG_INVAL_POLICY;
	dispatch(kinds, relid);
}

/* A type, function or schema changed: our OIDs may be stale. */
static void
on_syscache_inval(Datum arg, int cacheid, uint32 hashvalue)
{
	cat_valid = false;
	dispatch(CG_INVAL_OBJECTS, InvalidOid);
}

/* Roles: grants name them, and membership decides who holds a grant. */
static void
on_role_inval(Datum arg, int cacheid, uint32 hashvalue)
{
	dispatch(CG_INVAL_ROLES, InvalidOid);
}

/* The one set of PostgreSQL callbacks (from _PG_init). */
void
cg_catalog_register_callbacks(void)
{
	CacheRegisterRelcacheCallback(on_relcache_inval, (Datum) 0);
	CacheRegisterSyscacheCallback(TYPEOID, on_syscache_inval, (Datum) 0);
	CacheRegisterSyscacheCallback(NAMESPACEOID, on_syscache_inval, (Datum) 0);
	CacheRegisterSyscacheCallback(PROCOID, on_syscache_inval, (Datum) 0);
	CacheRegisterSyscacheCallback(AUTHOID, on_role_inval, (Datum) 0);
	CacheRegisterSyscacheCallback(AUTHMEMROLEMEM, on_role_inval, (Datum) 0);
}

/*
 * Read the first row of relid matching keys through indexid; *values and
 * *nulls get palloc'd arrays indexed by attribute number - 1, copied into
 * the current memory context.
 * Returns false if there is none.  No permission check: these are
 * childguard's own tables, read on behalf of its own checks.
 */
bool
cg_catalog_fetch(Oid relid, Oid indexid, ScanKey keys, int nkeys,
				 Datum **values, bool **nulls)
{
	Relation	rel;
	SysScanDesc scan;
	HeapTuple	tuple;
	bool		found = false;

	if (!OidIsValid(relid) || !OidIsValid(indexid))
		elog(ERROR, "childguard registry is missing in this database");
	rel = table_open(relid, AccessShareLock);
	cg_catalog_check_layout(rel);
	scan = systable_beginscan(rel, indexid, true, NULL, nkeys, keys);
	tuple = systable_getnext(scan);
	if (HeapTupleIsValid(tuple))
	{
		HeapTuple	copy = heap_copytuple(tuple);
		int			natts = RelationGetDescr(rel)->natts;

		*values = palloc(natts * sizeof(Datum));
		*nulls = palloc(natts * sizeof(bool));
		heap_deform_tuple(copy, RelationGetDescr(rel), *values, *nulls);
		found = true;
	}
	systable_endscan(scan);
	table_close(rel, AccessShareLock);
	return found;
}

PG_FUNCTION_INFO_V1(cg_registry_rows_changed);

/* Note the subjects in column attno of the rows in ts (a transition table). */
static void
note_transition_subjects(Relation rel, Tuplestorestate *ts, AttrNumber attno)
{
	TupleTableSlot *slot;
	uint64		batch[256];
	int			n = 0;

	if (ts == NULL)
		return;
	slot = MakeSingleTupleTableSlot(RelationGetDescr(rel), &TTSOpsMinimalTuple);
	tuplestore_rescan(ts);
	while (tuplestore_gettupleslot(ts, true, false, slot))
	{
		bool		isnull;
		Datum		d = slot_getattr(slot, attno, &isnull);

		if (isnull)
			continue;
		batch[n++] = (uint64) DatumGetInt64(d);
		if (n == lengthof(batch))
		{
			/* past the per-child limit the whole cache goes: stop reading */
			if (!cg_shared_cache_note_children(RelationGetRelid(rel), batch, n))
				break;
			n = 0;
		}
	}
	if (n < lengthof(batch))
		(void) cg_shared_cache_note_children(RelationGetRelid(rel), batch, n);
	ExecDropSingleTupleTableSlot(slot);
}

/*
 * Statement trigger with transition tables on the registry tables whose
 * rows concern one child each (childguard._registry_rows_changed(column),
 * column: the subject's; SQL 1.6): what _catalog_changed() does, but the
 * cache shared by the backends drops at commit only the entries of the
 * children in the statement's old and new rows, not every entry
 * (shared_cache.c).  TRUNCATE stays with _catalog_changed().
 */
Datum
cg_registry_rows_changed(PG_FUNCTION_ARGS)
{
	TriggerData *trigdata = (TriggerData *) fcinfo->context;
	Relation	rel;
	AttrNumber	attno;

	if (!CALLED_AS_TRIGGER(fcinfo) ||
		!TRIGGER_FIRED_FOR_STATEMENT(trigdata->tg_event) ||
		trigdata->tg_trigger->tgnargs != 1)
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("childguard._registry_rows_changed() must be called as a statement trigger with a column name")));
	rel = trigdata->tg_relation;
	attno = SPI_fnumber(RelationGetDescr(rel), trigdata->tg_trigger->tgargs[0]);
	if (attno <= 0 ||
		TupleDescAttr(RelationGetDescr(rel), attno - 1)->atttypid != INT8OID)
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("childguard._registry_rows_changed(): \"%s\" is not a bigint column of %s",
						trigdata->tg_trigger->tgargs[0], RelationGetRelationName(rel))));
	/* without its rows (no transition table), the whole cache */
	if ((TRIGGER_FIRED_BY_INSERT(trigdata->tg_event) && trigdata->tg_newtable == NULL) ||
		(!TRIGGER_FIRED_BY_INSERT(trigdata->tg_event) && trigdata->tg_oldtable == NULL) ||
		TRIGGER_FIRED_BY_TRUNCATE(trigdata->tg_event))
		cg_shared_cache_note_write();
	else
	{
		note_transition_subjects(rel, trigdata->tg_oldtable, attno);
		note_transition_subjects(rel, trigdata->tg_newtable, attno);
	}
	/* as _catalog_changed(): a new data key changes no key a backend holds */
	if (TRIGGER_FIRED_BY_INSERT(trigdata->tg_event) &&
		RelationGetRelid(rel) == cg_catalog()->data_key_rel)
		return PointerGetDatum(NULL);
	CacheInvalidateRelcacheByRelid(RelationGetRelid(rel));
	return PointerGetDatum(NULL);
}

PG_FUNCTION_INFO_V1(cg_catalog_changed);

/* Statement trigger on registry tables: tell every backend at commit. */
Datum
cg_catalog_changed(PG_FUNCTION_ARGS)
{
	TriggerData *trigdata = (TriggerData *) fcinfo->context;

	if (!CALLED_AS_TRIGGER(fcinfo))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("childguard._catalog_changed() must be called as a trigger")));
	/* this transaction's reads see its own rows: not for the shared cache */
	cg_shared_cache_note_write();

	/*
	 * A new data key changes no key any backend holds (data_keys.c): an
	 * INSERT into data_key tells nobody, so registering children does not
	 * empty every backend's key cache.
	 */
	if (TRIGGER_FIRED_BY_INSERT(trigdata->tg_event) &&
		RelationGetRelid(trigdata->tg_relation) == cg_catalog()->data_key_rel)
		return PointerGetDatum(NULL);
	CacheInvalidateRelcacheByRelid(RelationGetRelid(trigdata->tg_relation));
	return PointerGetDatum(NULL);
}

/*
 * A system catalog's row, found by its OID through its OID index: the Oid
 * in column fieldatt (e.g. the relation a trigger or policy belongs to,
 * the family of an operator-family member), or InvalidOid if there is no
 * such row or the column is null.  SnapshotSelf: a row the current command
 * just wrote counts too (the object access hooks of protection_guard.c
 * and planted_code.c ask in the middle of a DDL command).
 */
Oid
cg_catalog_row_oid(Oid catalog, Oid oidindex, AttrNumber oidatt, Oid objid,
				   AttrNumber fieldatt)
{
	Relation	rel = table_open(catalog, AccessShareLock);
	SysScanDesc scan;
	ScanKeyData key;
	HeapTuple	tup;
	Oid			result = InvalidOid;

	ScanKeyInit(&key, oidatt, BTEqualStrategyNumber, F_OIDEQ, ObjectIdGetDatum(objid));
	scan = systable_beginscan(rel, oidindex, true, SnapshotSelf, 1, &key);
	tup = systable_getnext(scan);
	if (HeapTupleIsValid(tup))
	{
		bool		isnull;
		Datum		d = heap_getattr(tup, fieldatt, RelationGetDescr(rel), &isnull);

		if (!isnull)
			result = DatumGetObjectId(d);
	}
	systable_endscan(scan);
	table_close(rel, AccessShareLock);
	return result;
}

/*
 * Call fn for every row of relid matching keys (through indexid, or a
 * heap scan if InvalidOid), read with the catalog snapshot like
 * cg_catalog_fetch.  fn sees the deformed row in the caller's context.
 */
void
cg_catalog_scan(Oid relid, Oid indexid, ScanKey keys, int nkeys,
				CgRowFn fn, void *arg)
{
	Relation	rel;
	SysScanDesc scan;
	HeapTuple	tuple;
	TupleDesc	desc;
	Datum	   *values;
	bool	   *nulls;

	if (!OidIsValid(relid))
		elog(ERROR, "childguard registry is missing in this database");
	rel = table_open(relid, AccessShareLock);
	cg_catalog_check_layout(rel);
	desc = RelationGetDescr(rel);
	values = palloc(desc->natts * sizeof(Datum));
	nulls = palloc(desc->natts * sizeof(bool));
	scan = systable_beginscan(rel, indexid, OidIsValid(indexid), NULL, nkeys, keys);
	while (HeapTupleIsValid(tuple = systable_getnext(scan)))
	{
		heap_deform_tuple(tuple, desc, values, nulls);
		fn(values, nulls, arg);
	}
	systable_endscan(scan);
	table_close(rel, AccessShareLock);
	pfree(values);
	pfree(nulls);
}
