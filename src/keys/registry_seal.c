/*-------------------------------------------------------------------------
 *
 * registry_seal.c
 *	  Sealing and opening the registry's personal data: a child's birth
 *	  date and circumstances (in difficulty, able to express their will),
 *	  Provisions Art 13 (docs/security.md, "Registry personal data").
 *
 * childguard.child keeps them in one bytea column, `sealed`:
 *
 *	 version (1 byte, 1) | master key id (8) | nonce (12) | tag (16) |
 *	 ciphertext (8: birth date as int32, flags, 3 zero bytes)
 *
 * AES-256-GCM under the registry key, HMAC-SHA256(master key, label): one
 * key per master key, so a master-key rotation re-seals the column
 * (rotate_master_key()) as it rewraps the data keys.  The associated data
 * binds the value to the row's subject number: a sealed value moved to
 * another child fails authentication (ZC003).  The registry key, not the
 * child's data key, because the row is sealed before the child has one
 * (a BEFORE trigger on the registry; the data key references the row);
 * erasure is by erased_at and by the erasure engine, not by shredding.
 *
 * The request register's free-text detail is sealed the same way (1.5;
 * its own format version and associated data, below).
 *
 * Who opens it: the read decision (subjects.c, once per registry fetch,
 * then the per-backend caches), and the SQL functions that need the facts
 * through childguard._open_registry(), which PUBLIC cannot execute.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "fmgr.h"
#include "funcapi.h"
#include "utils/builtins.h"

#include "childguard_errcodes.h"
#include "crypto.h"
#include "master_key.h"
#include "registry_seal.h"
#include "secure_mem.h"

#define REG_VERSION		1
#define REG_PLAIN_LEN	8
#define REG_LEN			(1 + CG_KEY_ID_LEN + CG_NONCE_LEN + CG_TAG_LEN + REG_PLAIN_LEN)
#define REG_KEY_LABEL	"childguard registry key v1"
#define REG_AAD_LABEL	"childguard registry v1"
#define REG_AAD_LABEL_LEN (sizeof(REG_AAD_LABEL) - 1)
#define REG_AAD_LEN		(REG_AAD_LABEL_LEN + 8)

#define FLAG_IN_DIFFICULTY	0x01
#define FLAG_CAN_EXPRESS	0x02

/*
 * The registry key of master key mk, into key_out (the caller wipes it).
 * Derived once per master key and kept, like the keys it comes from, in
 * locked, non-dumpable memory (secure_mem.c): HMAC costs more than the
 * seal itself, and a bulk registration seals one row per child.
 */
typedef struct RegistryKey
{
	bool		valid;
	uint8		id[CG_KEY_ID_LEN];
	uint8		key[CG_KEY_LEN];
} RegistryKey;

#define REGISTRY_KEYS 2			/* the current and the previous master key */

static RegistryKey *registry_keys = NULL;
static int	registry_keys_next = 0;

static void
registry_key(const CgMasterKey *mk, uint8 *key_out)
{
	RegistryKey *slot;

	if (registry_keys == NULL)
	{
		registry_keys = cg_secure_alloc(sizeof(RegistryKey) * REGISTRY_KEYS);
		memset(registry_keys, 0, sizeof(RegistryKey) * REGISTRY_KEYS);
	}
	for (int i = 0; i < REGISTRY_KEYS; i++)
		if (registry_keys[i].valid &&
			memcmp(registry_keys[i].id, mk->id, CG_KEY_ID_LEN) == 0)
		{
			memcpy(key_out, registry_keys[i].key, CG_KEY_LEN);
			return;
		}
	cg_hmac_sha256(mk->key, CG_KEY_LEN, (const uint8 *) REG_KEY_LABEL,
				   sizeof(REG_KEY_LABEL) - 1, key_out);
	slot = &registry_keys[registry_keys_next];
	registry_keys_next = (registry_keys_next + 1) % REGISTRY_KEYS;
	memcpy(slot->id, mk->id, CG_KEY_ID_LEN);
	memcpy(slot->key, key_out, CG_KEY_LEN);
	slot->valid = true;
}

static void
registry_aad(uint8 *aad, uint64 subject_no)
{
	memcpy(aad, REG_AAD_LABEL, REG_AAD_LABEL_LEN);
	for (int i = 0; i < 8; i++)
		aad[REG_AAD_LABEL_LEN + i] = (uint8) (subject_no >> (56 - 8 * i));
}

/* Seal facts for subject_no under the current master key's registry key. */
bytea *
cg_registry_seal(uint64 subject_no, const CgRegistryFacts *facts)
{
	const CgMasterKey *mk = cg_master_key_for_wrapping();
	bytea	   *out = palloc(VARHDRSZ + REG_LEN);
	uint8	   *p = (uint8 *) VARDATA(out);
	uint8		plain[REG_PLAIN_LEN];
	uint8		aad[REG_AAD_LEN];
	uint8		key[CG_KEY_LEN];
	int32		date = (int32) facts->birth_date;

	SET_VARSIZE(out, VARHDRSZ + REG_LEN);
	memset(plain, 0, sizeof(plain));
	for (int i = 0; i < 4; i++)
		plain[i] = (uint8) ((uint32) date >> (24 - 8 * i));
	plain[4] = (facts->in_difficulty ? FLAG_IN_DIFFICULTY : 0) |
		(facts->can_express ? FLAG_CAN_EXPRESS : 0);
	registry_aad(aad, subject_no);
	registry_key(mk, key);
	p[0] = REG_VERSION;
	memcpy(p + 1, mk->id, CG_KEY_ID_LEN);
	cg_random_bytes(p + 1 + CG_KEY_ID_LEN, CG_NONCE_LEN);
	cg_aead_seal(key, p + 1 + CG_KEY_ID_LEN, aad, REG_AAD_LEN, plain, REG_PLAIN_LEN,
				 p + 1 + CG_KEY_ID_LEN + CG_NONCE_LEN + CG_TAG_LEN,
				 p + 1 + CG_KEY_ID_LEN + CG_NONCE_LEN);
	explicit_bzero(key, sizeof(key));
	explicit_bzero(plain, sizeof(plain));
	return out;
}

typedef enum RegistryOpen
{
	REG_OPENED,
	REG_MALFORMED,
	REG_NO_KEY,
	REG_AUTH_FAILED
} RegistryOpen;

/* Open the sealed facts of subject_no into out, or say why not. */
static RegistryOpen
registry_open(uint64 subject_no, const bytea *sealed, CgRegistryFacts *out)
{
	const uint8 *p = (const uint8 *) VARDATA_ANY(sealed);
	const CgMasterKey *mk;
	uint8		plain[REG_PLAIN_LEN];
	uint8		aad[REG_AAD_LEN];
	uint8		key[CG_KEY_LEN];
	bool		ok;
	uint32		date = 0;

	(void) cg_master_key_current();		/* a clear error if none at all */
	if (VARSIZE_ANY_EXHDR(sealed) != REG_LEN || p[0] != REG_VERSION)
		return REG_MALFORMED;
	mk = cg_master_key_by_id(p + 1);
	if (mk == NULL)
		return REG_NO_KEY;
	registry_aad(aad, subject_no);
	registry_key(mk, key);
	ok = cg_aead_open(key, p + 1 + CG_KEY_ID_LEN, aad, REG_AAD_LEN,
					  p + 1 + CG_KEY_ID_LEN + CG_NONCE_LEN + CG_TAG_LEN, REG_PLAIN_LEN,
					  p + 1 + CG_KEY_ID_LEN + CG_NONCE_LEN, plain);
	explicit_bzero(key, sizeof(key));
	if (!ok)
		return REG_AUTH_FAILED;
	for (int i = 0; i < 4; i++)
		date = (date << 8) | plain[i];
	out->birth_date = (DateADT) (int32) date;
	out->in_difficulty = (plain[4] & FLAG_IN_DIFFICULTY) != 0;
	out->can_express = (plain[4] & FLAG_CAN_EXPRESS) != 0;
	explicit_bzero(plain, sizeof(plain));
	return REG_OPENED;
}

/*
 * Open the sealed facts of subject_no; false, with nothing reported, if
 * that cannot be done (cg_registry_open then says why).
 */
bool
cg_registry_try_open(uint64 subject_no, const bytea *sealed, CgRegistryFacts *out)
{
	return registry_open(subject_no, sealed, out) == REG_OPENED;
}

/*
 * ZC002: a sealed value (what, id: "registry data of subject 7") names a
 * master key (key_id) that is not configured.
 */
static void
report_no_key(const char *what, uint64 id, const uint8 *key_id)
{
	ereport(ERROR,
			(errcode(ERRCODE_CG_DATA_KEY_UNAVAILABLE),
			 errmsg("%s %llu was wrapped by a master key that is not configured",
					what, (unsigned long long) id),
			 errdetail("It was sealed under master key %s; the configured master key is %s.",
					   cg_key_id_hex(key_id), cg_key_id_hex(cg_master_key_current()->id)),
			 errhint("Configure the master key this database was created with, or set childguard.previous_master_key_file to it and run childguard.rotate_master_key().")));
}

/* Open the sealed facts of subject_no; ZC002/ZC003 if that cannot be done. */
void
cg_registry_open(uint64 subject_no, const bytea *sealed, CgRegistryFacts *out)
{
	const uint8 *p = (const uint8 *) VARDATA_ANY(sealed);

	switch (registry_open(subject_no, sealed, out))
	{
		case REG_OPENED:
			return;
		case REG_MALFORMED:
			ereport(ERROR,
					(errcode(ERRCODE_CG_AUTHENTICATION_FAILED),
					 errmsg("registry data of subject %llu is malformed",
							(unsigned long long) subject_no),
					 errdetail("childguard.child.sealed does not hold a sealed value of a known format.")));
			break;
		case REG_NO_KEY:
			report_no_key("registry data of subject", subject_no, p + 1);
			break;
		case REG_AUTH_FAILED:
			ereport(ERROR,
					(errcode(ERRCODE_CG_AUTHENTICATION_FAILED),
					 errmsg("registry data of subject %llu failed authentication",
							(unsigned long long) subject_no),
					 errdetail("The sealed birth date and circumstances in childguard.child were altered or moved to another child."),
					 errhint("Restore the row from a backup.")));
			break;
	}
}

PG_FUNCTION_INFO_V1(cg_seal_registry);

/*
 * childguard._seal_registry(subject_no, birth_date, in_difficulty,
 * can_express) -> bytea: the sealed form (the registry's seal trigger).
 */
Datum
cg_seal_registry(PG_FUNCTION_ARGS)
{
	CgRegistryFacts facts;

	facts.birth_date = PG_GETARG_DATEADT(1);
	facts.in_difficulty = PG_GETARG_BOOL(2);
	facts.can_express = PG_GETARG_BOOL(3);
	PG_RETURN_BYTEA_P(cg_registry_seal((uint64) PG_GETARG_INT64(0), &facts));
}

/*
 * The facts as a row of (birth_date, in_difficulty, can_express), its
 * descriptor blessed once per call site (a set-based registration opens
 * one child per call): kept in fn_extra, in fn_mcxt.
 */
static Datum
open_registry_row(FunctionCallInfo fcinfo)
{
	CgRegistryFacts facts;
	TupleDesc	tupdesc = (TupleDesc) fcinfo->flinfo->fn_extra;
	Datum		values[3];
	bool		nulls[3] = {false, false, false};

	if (tupdesc == NULL)
	{
		MemoryContext old = MemoryContextSwitchTo(fcinfo->flinfo->fn_mcxt);

		if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
			elog(ERROR, "return type must be a row type");
		tupdesc = BlessTupleDesc(CreateTupleDescCopy(tupdesc));
		MemoryContextSwitchTo(old);
		fcinfo->flinfo->fn_extra = tupdesc;
	}
	cg_registry_open((uint64) PG_GETARG_INT64(0), PG_GETARG_BYTEA_PP(1), &facts);
	values[0] = DateADTGetDatum(facts.birth_date);
	values[1] = BoolGetDatum(facts.in_difficulty);
	values[2] = BoolGetDatum(facts.can_express);
	return HeapTupleGetDatum(heap_form_tuple(tupdesc, values, nulls));
}

PG_FUNCTION_INFO_V1(cg_open_registry);

/*
 * childguard._open_registry(subject_no, sealed) -> (birth_date,
 * in_difficulty, can_express): for the functions that need them.
 */
Datum
cg_open_registry(PG_FUNCTION_ARGS)
{
	return open_registry_row(fcinfo);
}

PG_FUNCTION_INFO_V1(cg_open_registry_inline);

/*
 * childguard._open_registry_inline(subject_no, sealed) (SQL 1.9): the same,
 * bound without SECURITY DEFINER for record_consents(), which runs as the
 * owner already (one C entry point per SQL signature: sql/README.md).
 */
Datum
cg_open_registry_inline(PG_FUNCTION_ARGS)
{
	return open_registry_row(fcinfo);
}

/*
 * A request's free-text detail (childguard.request.detail_sealed, 1.5):
 * the same registry key, its own associated data (label and request id),
 * so a sealed detail moved to another request, or into child.sealed,
 * fails authentication.
 *
 *	 version (1 byte, 2) | master key id (8) | nonce (12) | tag (16) |
 *	 ciphertext (the detail's bytes)
 */
#define DETAIL_VERSION		2
#define DETAIL_HEADER_LEN	(1 + CG_KEY_ID_LEN + CG_NONCE_LEN + CG_TAG_LEN)
#define DETAIL_AAD_LABEL	"childguard request detail v1"
#define DETAIL_AAD_LABEL_LEN (sizeof(DETAIL_AAD_LABEL) - 1)
#define DETAIL_AAD_LEN		(DETAIL_AAD_LABEL_LEN + 8)

static void
detail_aad(uint8 *aad, uint64 request_id)
{
	memcpy(aad, DETAIL_AAD_LABEL, DETAIL_AAD_LABEL_LEN);
	for (int i = 0; i < 8; i++)
		aad[DETAIL_AAD_LABEL_LEN + i] = (uint8) (request_id >> (56 - 8 * i));
}

PG_FUNCTION_INFO_V1(cg_seal_request_detail);

/*
 * childguard._seal_request_detail(request_id, detail) -> bytea: the sealed
 * form, under the current master key's registry key (the request
 * register's seal trigger; rotate_master_key() re-seals).
 */
Datum
cg_seal_request_detail(PG_FUNCTION_ARGS)
{
	uint64		request_id = (uint64) PG_GETARG_INT64(0);
	text	   *detail = PG_GETARG_TEXT_PP(1);
	size_t		len = VARSIZE_ANY_EXHDR(detail);
	const CgMasterKey *mk = cg_master_key_for_wrapping();
	bytea	   *out = palloc(VARHDRSZ + DETAIL_HEADER_LEN + len);
	uint8	   *p = (uint8 *) VARDATA(out);
	uint8		aad[DETAIL_AAD_LEN];
	uint8		key[CG_KEY_LEN];

	SET_VARSIZE(out, VARHDRSZ + DETAIL_HEADER_LEN + len);
	detail_aad(aad, request_id);
	registry_key(mk, key);
	p[0] = DETAIL_VERSION;
	memcpy(p + 1, mk->id, CG_KEY_ID_LEN);
	cg_random_bytes(p + 1 + CG_KEY_ID_LEN, CG_NONCE_LEN);
	cg_aead_seal(key, p + 1 + CG_KEY_ID_LEN, aad, DETAIL_AAD_LEN,
				 (const uint8 *) VARDATA_ANY(detail), len,
				 p + DETAIL_HEADER_LEN, p + 1 + CG_KEY_ID_LEN + CG_NONCE_LEN);
	explicit_bzero(key, sizeof(key));
	PG_RETURN_BYTEA_P(out);
}

PG_FUNCTION_INFO_V1(cg_open_request_detail);

/*
 * childguard._open_request_detail(request_id, sealed) -> text: for the
 * request register's views (officers).  ZC002/ZC003 as for the registry.
 */
Datum
cg_open_request_detail(PG_FUNCTION_ARGS)
{
	uint64		request_id = (uint64) PG_GETARG_INT64(0);
	bytea	   *sealed = PG_GETARG_BYTEA_PP(1);
	const uint8 *p = (const uint8 *) VARDATA_ANY(sealed);
	size_t		total = VARSIZE_ANY_EXHDR(sealed);
	const CgMasterKey *mk;
	uint8		aad[DETAIL_AAD_LEN];
	uint8		key[CG_KEY_LEN];
	text	   *out;
	size_t		len;
	bool		ok;

	(void) cg_master_key_current();		/* a clear error if none at all */
	if (total < DETAIL_HEADER_LEN || p[0] != DETAIL_VERSION)
		ereport(ERROR,
				(errcode(ERRCODE_CG_AUTHENTICATION_FAILED),
				 errmsg("detail of request %llu is malformed", (unsigned long long) request_id),
				 errdetail("childguard.request.detail_sealed does not hold a sealed value of a known format.")));
	mk = cg_master_key_by_id(p + 1);
	if (mk == NULL)
		report_no_key("detail of request", request_id, p + 1);
	len = total - DETAIL_HEADER_LEN;
	out = palloc(VARHDRSZ + len);
	SET_VARSIZE(out, VARHDRSZ + len);
	detail_aad(aad, request_id);
	registry_key(mk, key);
	ok = cg_aead_open(key, p + 1 + CG_KEY_ID_LEN, aad, DETAIL_AAD_LEN,
					  p + DETAIL_HEADER_LEN, len,
					  p + 1 + CG_KEY_ID_LEN + CG_NONCE_LEN, (uint8 *) VARDATA(out));
	explicit_bzero(key, sizeof(key));
	if (!ok)
	{
		explicit_bzero(VARDATA(out), len);
		ereport(ERROR,
				(errcode(ERRCODE_CG_AUTHENTICATION_FAILED),
				 errmsg("detail of request %llu failed authentication", (unsigned long long) request_id),
				 errdetail("The sealed detail in childguard.request was altered or moved to another request."),
				 errhint("Restore the row from a backup.")));
	}
	PG_RETURN_TEXT_P(out);
}
