/*-------------------------------------------------------------------------
 *
 * backend_cache_stats.c
 *	  childguard.backend_cache_stats(): this backend's read-path caches --
 *	  the data-key cache (data_keys.c) and the per-child verdict cache
 *	  (decision.c), and this backend's probes of the cache shared by the
 *	  backends (shared_cache.c: entries = fills by this backend; not the
 *	  cluster's generation, which would tell anyone with access to the
 *	  schema how often the registry changes) -- as counters, one row per
 *	  cache.  Counts only: no
 *	  key, subject or value.  The shared cache's counters are shown to a
 *	  superuser only (its hits tell of other backends' reads: see below).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "funcapi.h"
#include "miscadmin.h"
#include "utils/builtins.h"

#include "data_keys.h"
#include "decision.h"
#include "shared_cache.h"

/* counts: false for a row whose counters are withheld (NULL, capacity shown) */
static void
add_row(Tuplestorestate *ts, TupleDesc desc, const char *cache, int64 capacity,
		int64 entries, int64 hits, int64 misses, int64 evictions, int64 flushes,
		bool counts)
{
	Datum		values[8];
	bool		nulls[8] = {false, false, !counts, !counts, !counts, !counts, !counts, !counts};

	values[0] = CStringGetTextDatum(cache);
	values[1] = Int64GetDatum(capacity);
	values[2] = Int64GetDatum(entries);
	values[3] = Int64GetDatum(hits);
	values[4] = Int64GetDatum(misses);
	values[5] = Int64GetDatum(evictions);
	values[6] = Int64GetDatum(flushes);
	if (counts && hits + misses > 0)
		values[7] = Float8GetDatum((double) hits / (double) (hits + misses));
	else
		nulls[7] = true;
	tuplestore_putvalues(ts, desc, values, nulls);
}

PG_FUNCTION_INFO_V1(cg_backend_cache_stats);

/*
 * childguard.backend_cache_stats() -> SETOF (cache, capacity, entries,
 * hits, misses, evictions, flushes, hit_rate)
 */
Datum
cg_backend_cache_stats(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	CgDataKeyCacheStats dk;
	CgSharedCacheStats sc;
	int64		capacity,
				entries,
				hits,
				misses;

	InitMaterializedSRF(fcinfo, 0);
	cg_data_keys_stats(&dk);
	add_row(rsinfo->setResult, rsinfo->setDesc, "data_key", dk.capacity, dk.entries,
			dk.hits, dk.misses, dk.evictions, dk.flushes, true);
	cg_decision_cache_stats(&capacity, &entries, &hits, &misses);
	add_row(rsinfo->setResult, rsinfo->setDesc, "verdict", capacity, entries, hits, misses, 0, 0,
			true);
	/*
	 * The cache shared by the backends: its capacity, and this backend's
	 * probes for a superuser only.  A hit says that another backend looked
	 * the child up since the registry last changed: a role with a purpose
	 * that makes its row policy look up one child id (an index scan, in a
	 * fresh session) would learn whether anybody else had just read or
	 * scanned that child's rows, for children it may not read too.
	 */
	cg_shared_cache_stats(&sc);
	add_row(rsinfo->setResult, rsinfo->setDesc, "shared", sc.capacity, sc.fills,
			sc.hits, sc.misses, sc.child_bumps, sc.whole_bumps, superuser());
	PG_RETURN_VOID();
}
