/*-------------------------------------------------------------------------
 *
 * data_keys.c
 *	  Data keys: generation and wrapping (for the SQL functions that write
 *	  childguard.data_key), unwrapping with whichever configured master key
 *	  wrapped them, and the backend-local cache of unwrapped keys.
 *
 * The cache is a set-associative table (buckets of DEK_WAYS slots) in a
 * secure mapping of its own (locked, not dumped, wiped at exit), sized by
 * childguard.data_key_cache_size; a full bucket evicts its least recently
 * used key, wiped.  No catalog access on a hit.
 *
 * Invalidation drops only what may be wrong.  A cached key can become
 * wrong only when its row is updated (destroyed, or rewrapped by a master
 * key rotation), deleted or truncated: catalog.c tells us of those
 * (cg_data_keys_init registers with its invalidation callback), in every
 * backend at its next command once the change commits, and the cache is
 * flushed, so a destroyed key stops decrypting at the next command
 * everywhere.  An INSERT (a new child, a new key version) cannot change a
 * key anyone has cached, so it flushes nothing elsewhere; the inserting
 * backend forgets its cache if its transaction made keys and aborts
 * (dek_xact_callback).  A master key reload flushes it too (generation).
 * A wrapped key is bound, as associated
 * data, to its subject and version: moving a wrapped key to another
 * subject makes it fail to unwrap.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <sys/resource.h>

#include "access/htup_details.h"
#include "access/stratnum.h"
#include "access/xact.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "port/pg_bswap.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/guc.h"

#include "catalog.h"
#include "childguard_errcodes.h"
#include "crypto.h"
#include "data_keys.h"
#include "erasure_ledger.h"
#include "master_key.h"
#include "secure_mem.h"
#include "shared_cache.h"

#define DEK_WAYS			4		/* slots per bucket */
#define WRAP_LABEL			"cgdek1"
#define WRAP_LABEL_LEN		6
#define WRAP_AAD_LEN		(WRAP_LABEL_LEN + 12)
#define WRAPPED_LEN			(CG_NONCE_LEN + CG_KEY_LEN + CG_TAG_LEN)

typedef struct DekSlot
{
	uint64		subject_no;
	uint32		key_version;
	uint32		last_used;		/* 0: free; else the tick of its last hit */
	uint8		key[CG_KEY_LEN];
} DekSlot;

/* childguard.data_key_cache_size: unwrapped keys one backend keeps */
static int	dek_cache_size_setting = 16384;

static DekSlot *dek_cache = NULL;
static Size dek_cache_bytes = 0;
static uint32 dek_cache_buckets = 0;
static int	dek_cache_sized_for = -1;	/* the setting it was made (or tried) for */
static uint32 dek_cache_generation = 0;	/* master-key load it was filled under */
static uint32 dek_tick = 0;
static bool dek_made_in_xact = false;	/* _new_data_key ran in this transaction */
static bool dek_callbacks_registered = false;	/* dek_xact_callback and dek_subxact_callback, by the first key made */
static CgDataKeyCacheStats stats;
static uint8 *uncached_key = NULL;	/* secure memory, with no cache */

/*
 * The slot of the last hit: the columns of a row and a child's rows ask
 * for the same key in a row, so they skip the bucket probe.  Valid while
 * the slot still holds that (subject, version); cleared when the cache is
 * flushed or remapped.
 */
static DekSlot *last_slot = NULL;

/*
 * The wrapped key a caller read with the child's registry entry
 * (cg_data_key_offer: subjects.c, from the cache shared by the backends
 * or from the catalog under its stamp), for the next cg_data_key of that
 * (subject, version): the read decision looks the child up just before its
 * values ask for the key, so one entry spares the key's own probe.
 * Cleared with the cache (any invalidation of childguard.data_key).
 */
static bool offered_valid = false;
static uint64 offered_subject = 0;
static uint32 offered_version = 0;
static CgWrappedKey offered;

/* Forget every unwrapped key (wiped). */
void
cg_data_keys_flush(void)
{
	if (dek_cache != NULL && stats.entries > 0)
	{
		cg_secure_wipe(dek_cache);	/* the chunks that held keys */
		stats.flushes++;
	}
	stats.entries = 0;
	last_slot = NULL;
	offered_valid = false;
	cg_crypto_forget_keys();
}

/* catalog.c's invalidation: childguard.data_key changed (not by an INSERT). */
static void
data_keys_invalidate(int kinds, Oid relid)
{
	cg_data_keys_flush();
}

/*
 * A transaction that made data keys and aborts may have cached one of
 * them, uncommitted and now rolled back, whose (subject, version) a later
 * registration or rotation may reuse with another key; inserts tell no
 * other backend (catalog.c), so this backend forgets everything it holds.
 * Every key row is made by _new_data_key (register_child, rotation), which
 * sets the flag.  Only such transactions pay the flush.
 */
static void
dek_xact_callback(XactEvent event, void *arg)
{
	/* a prepared transaction may still be rolled back, from another session */
	if (event == XACT_EVENT_ABORT || event == XACT_EVENT_PARALLEL_ABORT ||
		event == XACT_EVENT_PREPARE)
	{
		if (dek_made_in_xact)
			cg_data_keys_flush();
		dek_made_in_xact = false;
	}
	else if (event == XACT_EVENT_COMMIT || event == XACT_EVENT_PARALLEL_COMMIT)
		dek_made_in_xact = false;
}

static void
dek_subxact_callback(SubXactEvent event, SubTransactionId mySubid,
					 SubTransactionId parentSubid, void *arg)
{
	if (event == SUBXACT_EVENT_ABORT_SUB && dek_made_in_xact)
		cg_data_keys_flush();
}

/* From _PG_init, before the prefix is reserved: childguard.data_key_cache_size. */
void
cg_data_keys_define_gucs(void)
{
	DefineCustomIntVariable("childguard.data_key_cache_size",
							"Unwrapped data keys each backend keeps in locked memory.",
							"About 48 bytes each; least recently used keys are evicted beyond it. 0 keeps none.",
							&dek_cache_size_setting, 16384, 0, 4 * 1024 * 1024,
							PGC_SUSET, 0, NULL, NULL, NULL);
}

/*
 * At server start: say once, in the server log, when the configured cache
 * cannot be locked in RAM as a whole.  Keys beyond RLIMIT_MEMLOCK are still
 * kept out of core dumps and wiped, but the kernel may swap them out; each
 * backend only notes its own failed mlock at DEBUG1, so without this the
 * DBA would never learn of it.
 */
static void
dek_check_memlock_limit(void)
{
	struct rlimit limit;
	Size		wanted;

	if (dek_cache_size_setting <= 0 || getrlimit(RLIMIT_MEMLOCK, &limit) != 0 ||
		limit.rlim_cur == RLIM_INFINITY)
		return;
	wanted = sizeof(DekSlot) * (Size) dek_cache_size_setting;
	if (wanted <= (Size) limit.rlim_cur)
		return;
	ereport(WARNING,
			(errmsg("childguard.data_key_cache_size needs %zu kB of locked memory, more than the server's limit of %zu kB",
					wanted / 1024, (Size) limit.rlim_cur / 1024),
			 errdetail("Data keys cached beyond the limit are kept out of core dumps and wiped, but may be swapped out."),
			 errhint("Raise the server's locked-memory limit (LimitMEMLOCK in its systemd unit, or ulimit -l) or lower childguard.data_key_cache_size.")));
}

/*
 * From _PG_init: flush when childguard.data_key changes (catalog.c).  The
 * flush after a transaction that made keys aborts is registered by the
 * first key made (cg_new_data_key): until then it would be called at every
 * transaction's end for nothing.
 */
void
cg_data_keys_init(void)
{
	cg_catalog_on_invalidation(data_keys_invalidate, CG_INVAL_DATA_KEY);
	if (process_shared_preload_libraries_in_progress)
		dek_check_memlock_limit();
}

/* Make (or remake, after the setting changed) the cache; false if none. */
static bool
dek_cache_ready(void)
{
	uint32		buckets;

	if (dek_cache_sized_for == dek_cache_size_setting)
		return dek_cache != NULL;	/* made, or could not be: not retried */
	last_slot = NULL;
	if (dek_cache != NULL)
	{
		cg_secure_unmap(dek_cache, dek_cache_bytes);
		dek_cache = NULL;
		dek_cache_buckets = 0;
		stats.entries = 0;
	}
	dek_cache_sized_for = dek_cache_size_setting;
	stats.capacity = 0;
	if (dek_cache_size_setting <= 0)
		return false;
	/* never more than the setting (but one bucket at least) */
	buckets = Max(1, dek_cache_size_setting / DEK_WAYS);
	dek_cache_bytes = TYPEALIGN(8192, sizeof(DekSlot) * DEK_WAYS * (Size) buckets);
	dek_cache = cg_secure_map(dek_cache_bytes);
	if (dek_cache == NULL)
	{
		ereport(LOG,
				(errmsg("childguard: could not map %zu bytes for the data-key cache; reading without it",
						dek_cache_bytes)));
		return false;
	}
	dek_cache_buckets = buckets;
	stats.capacity = (int64) buckets * DEK_WAYS;
	return true;
}

static inline DekSlot *
bucket_of(uint64 subject_no, uint32 key_version)
{
	uint64		h = (subject_no ^ ((uint64) key_version << 47)) *
		UINT64CONST(0x9E3779B97F4A7C15);

	/* the high half scaled to [0, buckets): no division */
	return &dek_cache[(uint32) (((h >> 32) * dek_cache_buckets) >> 32) * DEK_WAYS];
}

/* The cached key for (subject, version), or NULL. */
static const uint8 *
dek_cache_find(uint64 subject_no, uint32 key_version)
{
	DekSlot    *b = bucket_of(subject_no, key_version);

	for (int w = 0; w < DEK_WAYS; w++)
	{
		if (b[w].last_used != 0 && b[w].subject_no == subject_no &&
			b[w].key_version == key_version)
		{
			if (++dek_tick == 0)
				dek_tick = 1;
			b[w].last_used = dek_tick;
			last_slot = &b[w];
			return b[w].key;
		}
	}
	return NULL;
}

/* Cache dek for (subject, version), evicting the bucket's least recently used. */
static const uint8 *
dek_cache_add(uint64 subject_no, uint32 key_version, const uint8 *dek)
{
	DekSlot    *b = bucket_of(subject_no, key_version);
	DekSlot    *victim = NULL;

	for (int w = 0; w < DEK_WAYS; w++)
	{
		if (b[w].last_used == 0)
		{
			victim = &b[w];
			break;
		}
		/* ticks wrap: the oldest is the furthest behind the current tick */
		if (victim == NULL ||
			(uint32) (dek_tick - b[w].last_used) > (uint32) (dek_tick - victim->last_used))
			victim = &b[w];
	}
	if (victim->last_used != 0)
	{
		stats.evictions++;
		explicit_bzero(victim, sizeof(DekSlot));
	}
	else
	{
		stats.entries++;
		/* a free slot may be in a chunk no key was written to: lock it first */
		cg_secure_prepare(victim, sizeof(DekSlot));
	}
	if (++dek_tick == 0)
		dek_tick = 1;
	victim->subject_no = subject_no;
	victim->key_version = key_version;
	victim->last_used = dek_tick;
	memcpy(victim->key, dek, CG_KEY_LEN);
	last_slot = victim;
	return victim->key;
}

/* This backend's data-key cache counters. */
void
cg_data_keys_stats(CgDataKeyCacheStats *out)
{
	(void) dek_cache_ready();
	*out = stats;
}

/* label || subject (8 bytes, big-endian) || version (4 bytes, big-endian) */
static inline void
wrap_aad(uint8 *aad, uint64 subject_no, uint32 key_version)
{
	uint64		s = pg_hton64(subject_no);
	uint32		v = pg_hton32(key_version);

	memcpy(aad, WRAP_LABEL, WRAP_LABEL_LEN);
	memcpy(aad + WRAP_LABEL_LEN, &s, sizeof(s));
	memcpy(aad + WRAP_LABEL_LEN + 8, &v, sizeof(v));
}

/* Wrap dek under mk into a new bytea: nonce || ciphertext || tag. */
static bytea *
wrap_key(const CgMasterKey *mk, uint64 subject_no, uint32 key_version,
		 const uint8 *dek)
{
	bytea	   *out = palloc(VARHDRSZ + WRAPPED_LEN);
	uint8	   *p = (uint8 *) VARDATA(out);
	uint8		aad[WRAP_AAD_LEN];

	SET_VARSIZE(out, VARHDRSZ + WRAPPED_LEN);
	wrap_aad(aad, subject_no, key_version);
	cg_random_bytes(p, CG_NONCE_LEN);
	cg_aead_seal(mk->key, p, aad, WRAP_AAD_LEN, dek, CG_KEY_LEN,
				 p + CG_NONCE_LEN, p + CG_NONCE_LEN + CG_KEY_LEN);
	return out;
}

/* Unwrap a stored key into dek_out, with the master key that wrapped it. */
static void
unwrap_raw(uint64 subject_no, uint32 key_version, const uint8 *p, Size wrapped_len,
		   const uint8 *master_id, Size id_len, uint8 *dek_out)
{
	const CgMasterKey *mk;
	uint8		aad[WRAP_AAD_LEN];

	(void) cg_master_key_current();		/* a clear error if none at all */
	if (id_len != CG_KEY_ID_LEN || wrapped_len != WRAPPED_LEN)
		ereport(ERROR,
				(errcode(ERRCODE_CG_DATA_KEY_UNAVAILABLE),
				 errmsg("data key of subject %llu is malformed",
						(unsigned long long) subject_no)));
	mk = cg_master_key_by_id(master_id);
	if (mk == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_CG_DATA_KEY_UNAVAILABLE),
				 errmsg("data key of subject %llu was wrapped by a master key that is not configured",
						(unsigned long long) subject_no),
				 errdetail("The key was wrapped by master key %s; the configured master key is %s.",
						   cg_key_id_hex(master_id),
						   cg_key_id_hex(cg_master_key_current()->id)),
				 errhint("Configure the master key this database was created with, or set childguard.previous_master_key_file to it and run childguard.rotate_master_key().")));
	wrap_aad(aad, subject_no, key_version);
	if (!cg_aead_open_wrapped(mk->key, p, aad, WRAP_AAD_LEN, p + CG_NONCE_LEN,
					  CG_KEY_LEN, p + CG_NONCE_LEN + CG_KEY_LEN, dek_out))
		ereport(ERROR,
				(errcode(ERRCODE_CG_AUTHENTICATION_FAILED),
				 errmsg("data key of subject %llu failed authentication",
						(unsigned long long) subject_no),
				 errdetail("The wrapped key in childguard.data_key was altered or moved to another subject.")));
}

static void
unwrap_key(uint64 subject_no, uint32 key_version, bytea *wrapped,
		   bytea *master_id, uint8 *dek_out)
{
	unwrap_raw(subject_no, key_version, (uint8 *) VARDATA_ANY(wrapped),
			   VARSIZE_ANY_EXHDR(wrapped), (uint8 *) VARDATA_ANY(master_id),
			   VARSIZE_ANY_EXHDR(master_id), dek_out);
}

StaticAssertDecl(CG_WRAPPED_KEY_LEN == WRAPPED_LEN && sizeof(((CgWrappedKey *) 0)->master_id) == CG_KEY_ID_LEN,
				 "data_keys.h's wrapped-key lengths");

void
cg_data_key_offer(uint64 subject_no, uint32 key_version, const CgWrappedKey *key)
{
	offered_subject = subject_no;
	offered_version = key_version;
	offered = *key;
	offered_valid = true;
}

/*
 * Read the data_key row of (subject, version) from the catalog into *out;
 * false if there is none.  A malformed row is reported (by the unwrap),
 * never returned.
 */
bool
cg_data_key_fetch_wrapped(uint64 subject_no, uint32 key_version, CgWrappedKey *out)
{
	const CgCatalog *cat = cg_catalog();
	ScanKeyData keys[2];
	Datum	   *values;
	bool	   *nulls;
	bytea	   *wrapped;
	bytea	   *master_id;

	ScanKeyInit(&keys[0], Anum_cg_data_key_subject_no, BTEqualStrategyNumber,
				F_INT8EQ, Int64GetDatum((int64) subject_no));
	ScanKeyInit(&keys[1], Anum_cg_data_key_key_version, BTEqualStrategyNumber,
				F_INT4EQ, Int32GetDatum((int32) key_version));
	if (!cg_catalog_fetch(cat->data_key_rel, cat->data_key_index, keys, 2,
						  &values, &nulls))
		return false;
	memset(out, 0, sizeof(*out));
	if (nulls[Anum_cg_data_key_wrapped_key - 1])
	{
		out->destroyed = true;
		return true;
	}
	wrapped = DatumGetByteaPP(values[Anum_cg_data_key_wrapped_key - 1]);
	master_id = DatumGetByteaPP(values[Anum_cg_data_key_master_key_id - 1]);
	if (VARSIZE_ANY_EXHDR(wrapped) != WRAPPED_LEN ||
		VARSIZE_ANY_EXHDR(master_id) != CG_KEY_ID_LEN)
	{
		/* malformed: the unwrap reports it, nothing is kept */
		if (uncached_key == NULL)
			uncached_key = cg_secure_alloc(CG_KEY_LEN);
		unwrap_key(subject_no, key_version, wrapped, master_id, uncached_key);
	}
	memcpy(out->wrapped, VARDATA_ANY(wrapped), WRAPPED_LEN);
	memcpy(out->master_id, VARDATA_ANY(master_id), CG_KEY_ID_LEN);
	return true;
}

/*
 * The unwrapped data key for (subject, version), or NULL with *status
 * saying whether it was destroyed or never existed.
 */
const uint8 *
cg_data_key(uint64 subject_no, uint32 key_version, CgKeyStatus *status)
{
	uint8	   *dek;
	const uint8 *key;
	uint32		generation;
	bool		cached;
	uint64		stamp;
	CgWrappedKey shared;

	cached = dek_cache_ready();
	/* a reload that changed the master key invalidates every unwrapped key */
	generation = cg_master_key_generation();
	if (generation != dek_cache_generation)
	{
		cg_data_keys_flush();
		dek_cache_generation = generation;
	}
	if (cached && last_slot != NULL && last_slot->last_used != 0 &&
		last_slot->subject_no == subject_no && last_slot->key_version == key_version)
	{
		stats.hits++;
		*status = CG_KEY_FOUND;
		return last_slot->key;
	}
	if (cached)
	{
		key = dek_cache_find(subject_no, key_version);
		if (key != NULL)
		{
			stats.hits++;
			*status = CG_KEY_FOUND;
			return key;
		}
	}
	stats.misses++;

	/* erased per the ledger (a restore from before the erasure): shredded */
	if (cg_erasure_ledger_has(MyDatabaseId, subject_no))
	{
		*status = CG_KEY_DESTROYED;
		return NULL;
	}
	/*
	 * The row as the child's registry entry brought it, else as another
	 * backend read it (still wrapped), else the catalog.
	 */
	StaticAssertStmt(sizeof(CgWrappedKey) <= CG_SHARED_VALUE_MAX,
					 "a wrapped key must fit the shared cache's value");
	if (offered_valid && offered_subject == subject_no && offered_version == key_version)
		shared = offered;
	else
	{
		stamp = cg_shared_cache_stamp();
		if (stamp == 0 ||
			!cg_shared_cache_get(CG_SHARED_DATA_KEY, subject_no, key_version, NULL,
								 &shared, sizeof(shared)))
		{
			if (!cg_data_key_fetch_wrapped(subject_no, key_version, &shared))
			{
				/* not kept: an INSERT tells nobody (catalog.c) */
				*status = CG_KEY_MISSING;
				return NULL;
			}
			cg_shared_cache_put(stamp, CG_SHARED_DATA_KEY, subject_no, key_version, NULL,
								&shared, sizeof(shared));
		}
	}
	if (shared.destroyed)
	{
		*status = CG_KEY_DESTROYED;
		return NULL;
	}
	/* unwrapped straight into secure memory, never onto the stack */
	if (uncached_key == NULL)
		uncached_key = cg_secure_alloc(CG_KEY_LEN);
	dek = uncached_key;
	unwrap_raw(subject_no, key_version, shared.wrapped, WRAPPED_LEN,
			   shared.master_id, CG_KEY_ID_LEN, dek);
	*status = CG_KEY_FOUND;
	/* the fetch may have resized or flushed the cache: ask again */
	if (!dek_cache_ready())
		return dek;				/* valid until the next call */
	key = dek_cache_add(subject_no, key_version, dek);
	explicit_bzero(dek, CG_KEY_LEN);
	return key;
}

static bytea *
key_id_bytea(const uint8 *id)
{
	bytea	   *out = palloc(VARHDRSZ + CG_KEY_ID_LEN);

	SET_VARSIZE(out, VARHDRSZ + CG_KEY_ID_LEN);
	memcpy(VARDATA(out), id, CG_KEY_ID_LEN);
	return out;
}

PG_FUNCTION_INFO_V1(cg_new_data_key);

/*
 * childguard._new_data_key(subject_no, key_version)
 *	  -> (wrapped_key bytea, master_key_id bytea)
 * A fresh random data key, wrapped by the current master key (or the one
 * the last rotation moved to, if this backend has not applied it yet).
 */
Datum
cg_new_data_key(PG_FUNCTION_ARGS)
{
	int64		subject_no = PG_GETARG_INT64(0);
	int32		key_version = PG_GETARG_INT32(1);
	const CgMasterKey *mk = cg_master_key_for_wrapping();
	uint8		dek[CG_KEY_LEN];
	TupleDesc	tupdesc = (TupleDesc) fcinfo->flinfo->fn_extra;
	Datum		values[2];
	bool		nulls[2] = {false, false};

	/*
	 * The result's descriptor once per call site (a registration calls this
	 * once per child), kept with the call's FmgrInfo.
	 */
	if (tupdesc == NULL)
	{
		MemoryContext oldcxt = MemoryContextSwitchTo(fcinfo->flinfo->fn_mcxt);

		if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
			elog(ERROR, "return type must be a row type");
		tupdesc = BlessTupleDesc(CreateTupleDescCopy(tupdesc));
		MemoryContextSwitchTo(oldcxt);
		fcinfo->flinfo->fn_extra = tupdesc;
	}
	/* the callbacks act only after a key was made here: registered by the first */
	if (!dek_callbacks_registered)
	{
		RegisterXactCallback(dek_xact_callback, NULL);
		RegisterSubXactCallback(dek_subxact_callback, NULL);
		dek_callbacks_registered = true;
	}
	dek_made_in_xact = true;	/* see dek_xact_callback */
	cg_shared_cache_note_private();	/* its key is not for other backends yet */
	cg_random_bytes(dek, CG_KEY_LEN);
	values[0] = PointerGetDatum(wrap_key(mk, (uint64) subject_no,
										 (uint32) key_version, dek));
	explicit_bzero(dek, sizeof(dek));
	values[1] = PointerGetDatum(key_id_bytea(mk->id));
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(tupdesc, values, nulls)));
}

PG_FUNCTION_INFO_V1(cg_rewrap_data_key);

/*
 * childguard._rewrap_data_key(subject_no, key_version, wrapped, master_key_id)
 *	  -> bytea: the same data key wrapped by the current master key.
 */
Datum
cg_rewrap_data_key(PG_FUNCTION_ARGS)
{
	int64		subject_no = PG_GETARG_INT64(0);
	int32		key_version = PG_GETARG_INT32(1);
	bytea	   *wrapped = PG_GETARG_BYTEA_PP(2);
	bytea	   *master_id = PG_GETARG_BYTEA_PP(3);
	const CgMasterKey *mk = cg_master_key_current();
	uint8		dek[CG_KEY_LEN];
	bytea	   *result;

	unwrap_key((uint64) subject_no, (uint32) key_version, wrapped, master_id, dek);
	result = wrap_key(mk, (uint64) subject_no, (uint32) key_version, dek);
	explicit_bzero(dek, sizeof(dek));
	PG_RETURN_BYTEA_P(result);
}

PG_FUNCTION_INFO_V1(cg_master_key_rotating);

/*
 * childguard._master_key_rotating() -> void: called by rotate_master_key()
 * once it holds its lock; when its transaction commits, backends that still
 * hold the previous key as their current one wrap new data keys under the
 * current key (master_key.c).
 */
Datum
cg_master_key_rotating(PG_FUNCTION_ARGS)
{
	cg_master_key_note_rotation();
	PG_RETURN_VOID();
}

PG_FUNCTION_INFO_V1(cg_master_key_id);

/* childguard.master_key_id(previous bool) -> fingerprint of a configured key */
Datum
cg_master_key_id(PG_FUNCTION_ARGS)
{
	bool		previous = PG_GETARG_BOOL(0);
	const CgMasterKey *mk;

	if (previous)
	{
		mk = cg_master_key_previous();
		if (mk == NULL)
			PG_RETURN_NULL();
	}
	else
		mk = cg_master_key_current();
	PG_RETURN_BYTEA_P(key_id_bytea(mk->id));
}
