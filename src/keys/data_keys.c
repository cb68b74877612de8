/*-------------------------------------------------------------------------
 *
 * data_keys.c
 *	  Data keys: generation and wrapping (for the SQL functions that write
 *	  childguard.data_key), unwrapping with whichever configured master key
 *	  wrapped them, and the backend-local cache of unwrapped keys.
 *
 * The cache is a fixed open-addressing table in secure memory (locked,
 * not dumped, wiped at exit).  It is flushed whenever childguard.data_key
 * changes (cg_data_keys_init registers with catalog.c's invalidation
 * callback), so a destroyed key stops decrypting at the next command in
 * every backend.  A wrapped key is bound, as associated
 * data, to its subject and version: moving a wrapped key to another
 * subject makes it fail to unwrap.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "access/stratnum.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"

#include "catalog.h"
#include "childguard_errcodes.h"
#include "crypto.h"
#include "data_keys.h"
#include "master_key.h"
#include "secure_mem.h"

#define DEK_CACHE_SLOTS		1024	/* power of two */
#define DEK_CACHE_FILL_MAX	768
#define WRAP_LABEL			"cgdek1"
#define WRAP_LABEL_LEN		6
#define WRAP_AAD_LEN		(WRAP_LABEL_LEN + 12)
#define WRAPPED_LEN			(CG_NONCE_LEN + CG_KEY_LEN + CG_TAG_LEN)

typedef struct DekSlot
{
	uint64		subject_no;
	uint32		key_version;
	bool		used;
	uint8		key[CG_KEY_LEN];
} DekSlot;

static DekSlot *dek_cache = NULL;
static int	dek_cache_fill = 0;
static uint32 dek_cache_generation = 0;	/* master-key load it was filled under */

void
cg_data_keys_flush(void)
{
	if (dek_cache != NULL)
		explicit_bzero(dek_cache, sizeof(DekSlot) * DEK_CACHE_SLOTS);
	dek_cache_fill = 0;
}

/* catalog.c's invalidation: childguard.data_key changed. */
static void
data_keys_invalidate(int kinds, Oid relid)
{
	cg_data_keys_flush();
}

/* From _PG_init: flush when childguard.data_key changes. */
void
cg_data_keys_init(void)
{
	cg_catalog_on_invalidation(data_keys_invalidate, CG_INVAL_DATA_KEY);
}

static uint32
slot_of(uint64 subject_no, uint32 key_version)
{
	uint64		h = (subject_no * UINT64CONST(0x9E3779B97F4A7C15)) ^ key_version;

	return (uint32) (h >> 40) & (DEK_CACHE_SLOTS - 1);
}

static void
wrap_aad(uint8 *aad, uint64 subject_no, uint32 key_version)
{
	memcpy(aad, WRAP_LABEL, WRAP_LABEL_LEN);
	for (int i = 0; i < 8; i++)
		aad[WRAP_LABEL_LEN + i] = (uint8) (subject_no >> (56 - 8 * i));
	for (int i = 0; i < 4; i++)
		aad[WRAP_LABEL_LEN + 8 + i] = (uint8) (key_version >> (24 - 8 * i));
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
unwrap_key(uint64 subject_no, uint32 key_version, bytea *wrapped,
		   bytea *master_id, uint8 *dek_out)
{
	const CgMasterKey *mk;
	uint8		aad[WRAP_AAD_LEN];
	uint8	   *p = (uint8 *) VARDATA_ANY(wrapped);

	(void) cg_master_key_current();		/* a clear error if none at all */
	if (VARSIZE_ANY_EXHDR(master_id) != CG_KEY_ID_LEN ||
		VARSIZE_ANY_EXHDR(wrapped) != WRAPPED_LEN)
		ereport(ERROR,
				(errcode(ERRCODE_CG_DATA_KEY_UNAVAILABLE),
				 errmsg("data key of subject %llu is malformed",
						(unsigned long long) subject_no)));
	mk = cg_master_key_by_id((uint8 *) VARDATA_ANY(master_id));
	if (mk == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_CG_DATA_KEY_UNAVAILABLE),
				 errmsg("data key of subject %llu was wrapped by a master key that is not configured",
						(unsigned long long) subject_no),
				 errdetail("The key was wrapped by master key %s; the configured master key is %s.",
						   cg_key_id_hex((uint8 *) VARDATA_ANY(master_id)),
						   cg_key_id_hex(cg_master_key_current()->id)),
				 errhint("Configure the master key this database was created with, or set childguard.previous_master_key_file to it and run childguard.rotate_master_key().")));
	wrap_aad(aad, subject_no, key_version);
	if (!cg_aead_open(mk->key, p, aad, WRAP_AAD_LEN, p + CG_NONCE_LEN,
					  CG_KEY_LEN, p + CG_NONCE_LEN + CG_KEY_LEN, dek_out))
		ereport(ERROR,
				(errcode(ERRCODE_CG_AUTHENTICATION_FAILED),
				 errmsg("data key of subject %llu failed authentication",
						(unsigned long long) subject_no),
				 errdetail("The wrapped key in childguard.data_key was altered or moved to another subject.")));
}

/*
 * The unwrapped data key for (subject, version), or NULL with *status
 * saying whether it was destroyed or never existed.
 */
const uint8 *
cg_data_key(uint64 subject_no, uint32 key_version, CgKeyStatus *status)
{
	const CgCatalog *cat;
	uint32		i;
	ScanKeyData keys[2];
	Datum	   *values;
	bool	   *nulls;
	uint8		dek[CG_KEY_LEN];
	DekSlot    *slot;
	uint32		generation;

	if (dek_cache == NULL)
	{
		cg_secure_mem_ensure_locked();
		dek_cache = cg_secure_alloc(sizeof(DekSlot) * DEK_CACHE_SLOTS);
	}
	/* a reload that changed the master key invalidates every unwrapped key */
	generation = cg_master_key_generation();
	if (generation != dek_cache_generation)
	{
		cg_data_keys_flush();
		dek_cache_generation = generation;
	}
	for (i = slot_of(subject_no, key_version);; i = (i + 1) & (DEK_CACHE_SLOTS - 1))
	{
		slot = &dek_cache[i];
		if (!slot->used)
			break;
		if (slot->subject_no == subject_no && slot->key_version == key_version)
		{
			*status = CG_KEY_FOUND;
			return slot->key;
		}
	}

	cat = cg_catalog();
	ScanKeyInit(&keys[0], Anum_cg_data_key_subject_no, BTEqualStrategyNumber,
				F_INT8EQ, Int64GetDatum((int64) subject_no));
	ScanKeyInit(&keys[1], Anum_cg_data_key_key_version, BTEqualStrategyNumber,
				F_INT4EQ, Int32GetDatum((int32) key_version));
	if (!cg_catalog_fetch(cat->data_key_rel, cat->data_key_index, keys, 2,
						  &values, &nulls))
	{
		*status = CG_KEY_MISSING;
		return NULL;
	}
	if (nulls[Anum_cg_data_key_wrapped_key - 1])
	{
		*status = CG_KEY_DESTROYED;
		return NULL;
	}
	unwrap_key(subject_no, key_version,
			   DatumGetByteaPP(values[Anum_cg_data_key_wrapped_key - 1]),
			   DatumGetByteaPP(values[Anum_cg_data_key_master_key_id - 1]),
			   dek);

	/* the fetch may have flushed the cache; find a free slot afresh */
	if (dek_cache_fill >= DEK_CACHE_FILL_MAX)
		cg_data_keys_flush();
	for (i = slot_of(subject_no, key_version); dek_cache[i].used;
		 i = (i + 1) & (DEK_CACHE_SLOTS - 1))
		;
	slot = &dek_cache[i];
	slot->used = true;
	slot->subject_no = subject_no;
	slot->key_version = key_version;
	memcpy(slot->key, dek, CG_KEY_LEN);
	explicit_bzero(dek, sizeof(dek));
	dek_cache_fill++;
	*status = CG_KEY_FOUND;
	return slot->key;
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
	TupleDesc	tupdesc;
	Datum		values[2];
	bool		nulls[2] = {false, false};

	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");
	cg_random_bytes(dek, CG_KEY_LEN);
	values[0] = PointerGetDatum(wrap_key(mk, (uint64) subject_no,
										 (uint32) key_version, dek));
	explicit_bzero(dek, sizeof(dek));
	values[1] = PointerGetDatum(key_id_bytea(mk->id));
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(BlessTupleDesc(tupdesc),
													  values, nulls)));
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
