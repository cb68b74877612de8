/*-------------------------------------------------------------------------
 *
 * citus_node.c
 *	  childguard.citus_node: the part this server plays in a Citus cluster.
 *
 *	  none (the default): a single node, nothing changes.
 *	  coordinator: the one place that decides, decrypts, seals and audits.
 *	  worker: stores and returns envelopes only -- it never decrypts,
 *	  never needs a purpose, takes no plaintext and no pending values
 *	  (only the coordinator process that typed them could open them),
 *	  and records nothing (docs/scale-out.md).
 *
 *	  On the coordinator, output of child data is plaintext only where a
 *	  decided read hands it to the client.  While Citus's own code runs
 *	  inside a statement (deparsing a query for a shard, copying rows to
 *	  shards), output is the envelope: the "shipping" depth counts those
 *	  levels and the "client output" flag marks the client's receiver
 *	  formatting a row within them.  Both are process-local and restored
 *	  by the callers' PG_FINALLY blocks, so an error never leaves them set.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/skey.h"
#include "access/table.h"
#include "catalog/namespace.h"
#include "catalog/pg_language.h"
#include "catalog/pg_namespace.h"
#include "catalog/pg_proc.h"
#include "utils/syscache.h"
#include "utils/fmgroids.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"

#include "citus_node.h"

static int	citus_node = CG_CITUS_NONE;
static int	shipping_depth = 0;
static bool client_output = false;

static const struct config_enum_entry citus_node_options[] = {
	{"none", CG_CITUS_NONE, false},
	{"coordinator", CG_CITUS_COORDINATOR, false},
	{"worker", CG_CITUS_WORKER, false},
	{NULL, 0, false}
};

/* From _PG_init. */
void
cg_citus_node_define_gucs(void)
{
	DefineCustomEnumVariable("childguard.citus_node",
							 "The part this server plays in a Citus cluster.",
							 "none: a single node; coordinator: decides, decrypts, seals and audits; worker: stores and returns envelopes only.",
							 &citus_node, CG_CITUS_NONE, citus_node_options,
							 PGC_POSTMASTER, GUC_SUPERUSER_ONLY, NULL, NULL, NULL);
}

CgCitusNode
cg_citus_node(void)
{
	return (CgCitusNode) citus_node;
}

bool
cg_citus_worker(void)
{
	return citus_node == CG_CITUS_WORKER;
}

bool
cg_citus_coordinator(void)
{
	return citus_node == CG_CITUS_COORDINATOR;
}

/* Citus's code starts running values through output functions. */
void
cg_citus_shipping_enter(int *saved)
{
	*saved = shipping_depth;
	shipping_depth++;
}

void
cg_citus_shipping_leave(int saved)
{
	shipping_depth = saved;
}

/* The client's receiver formats a row: the decided read may show plaintext. */
void
cg_citus_client_output_enter(bool *saved)
{
	*saved = client_output;
	client_output = true;
}

void
cg_citus_client_output_leave(bool saved)
{
	client_output = saved;
}

/* On the coordinator, is output the envelope now (Citus is shipping)? */
bool
cg_citus_envelope_only(void)
{
	return citus_node == CG_CITUS_COORDINATOR && shipping_depth > 0 && !client_output;
}

/*
 * Is relid a Citus table (a row in pg_dist_partition)?  False without
 * Citus.  Read with a plain catalog scan, once per statement that needs
 * it (COPY, the write rewrite), only on a coordinator.
 */
bool
cg_citus_is_distributed(Oid relid)
{
	Oid			catalog;
	Relation	rel;
	SysScanDesc scan;
	ScanKeyData key;
	bool		found;

	if (citus_node != CG_CITUS_COORDINATOR)
		return false;
	catalog = get_relname_relid("pg_dist_partition", PG_CATALOG_NAMESPACE);
	if (!OidIsValid(catalog))
		return false;
	rel = table_open(catalog, AccessShareLock);
	/* logicalrelid is the table's first column */
	ScanKeyInit(&key, 1, BTEqualStrategyNumber, F_OIDEQ, ObjectIdGetDatum(relid));
	scan = systable_beginscan(rel, InvalidOid, false, NULL, 1, &key);
	found = HeapTupleIsValid(systable_getnext(scan));
	systable_endscan(scan);
	table_close(rel, AccessShareLock);
	return found;
}

/*
 * Is fn Citus's own C function of that name in pg_catalog (as created by
 * CREATE EXTENSION citus: only a superuser makes C functions)?
 */
bool
cg_citus_own_function(Oid fn, const char *name)
{
	HeapTuple	tup;
	Form_pg_proc proc;
	bool		own;

	tup = SearchSysCache1(PROCOID, ObjectIdGetDatum(fn));
	if (!HeapTupleIsValid(tup))
		return false;
	proc = (Form_pg_proc) GETSTRUCT(tup);
	own = proc->prolang == ClanguageId &&
		proc->pronamespace == PG_CATALOG_NAMESPACE &&
		strcmp(NameStr(proc->proname), name) == 0;
	ReleaseSysCache(tup);
	return own;
}
