/*-------------------------------------------------------------------------
 *
 * blind_keys.c
 *	  The keys of blind indexes (childguard.enable_blind_index): one random
 *	  32-byte secret per indexed column, stored in childguard.blind_index
 *	  wrapped by the master key, and the HMAC key derived from it.
 *
 * Stored form (childguard.blind_index.wrapped_key):
 *
 *	 master key id (8) | nonce (12) | ciphertext (32) | tag (16)
 *
 * AES-256-GCM under the master key, the associated data binding it to
 * the index's random identity (blind_index.index_id): a wrapped key moved
 * to another index fails authentication.  The HMAC key is
 * HMAC-SHA-256(secret, label || index_id) (one HKDF-Expand block), so the
 * key material never serves two uses.
 *
 * Not the per-child data key: equal values of different children must
 * hash alike for the index to find them.  Not derived straight from the
 * master key either: a master-key rotation rewraps the secret
 * (rotate_master_key()) and the stored hashes stay valid, with no pass
 * over the tables.  Shredding a child's data key does not touch this key;
 * erasure clears the child's hashes instead (childguard._blind_clear).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "fmgr.h"

#include "blind_keys.h"
#include "childguard_errcodes.h"
#include "crypto.h"
#include "master_key.h"

#define BLIND_WRAP_LABEL		"cgblind1"
#define BLIND_WRAP_LABEL_LEN	8
#define BLIND_HMAC_LABEL		"childguard blind index v1"
#define BLIND_STORED_LEN		(CG_KEY_ID_LEN + CG_NONCE_LEN + CG_KEY_LEN + CG_TAG_LEN)

/* The index identity, checked: 16 bytes. */
static const uint8 *
index_id_bytes(const bytea *index_id)
{
	if (VARSIZE_ANY_EXHDR(index_id) != CG_BLIND_ID_LEN)
		ereport(ERROR,
				(errcode(ERRCODE_CG_BLIND_KEY_UNAVAILABLE),
				 errmsg("blind index identity is malformed"),
				 errdetail("childguard.blind_index.index_id must be %d bytes.", CG_BLIND_ID_LEN)));
	return (const uint8 *) VARDATA_ANY(index_id);
}

static void
wrap_aad(uint8 *aad, const uint8 *id)
{
	memcpy(aad, BLIND_WRAP_LABEL, BLIND_WRAP_LABEL_LEN);
	memcpy(aad + BLIND_WRAP_LABEL_LEN, id, CG_BLIND_ID_LEN);
}

/* secret wrapped under mk for index id, as a new bytea */
static bytea *
wrap_secret(const CgMasterKey *mk, const uint8 *id, const uint8 *secret)
{
	bytea	   *out = palloc(VARHDRSZ + BLIND_STORED_LEN);
	uint8	   *p = (uint8 *) VARDATA(out);
	uint8		aad[BLIND_WRAP_LABEL_LEN + CG_BLIND_ID_LEN];

	SET_VARSIZE(out, VARHDRSZ + BLIND_STORED_LEN);
	memcpy(p, mk->id, CG_KEY_ID_LEN);
	p += CG_KEY_ID_LEN;
	wrap_aad(aad, id);
	cg_random_bytes(p, CG_NONCE_LEN);
	cg_aead_seal(mk->key, p, aad, sizeof(aad), secret, CG_KEY_LEN,
				 p + CG_NONCE_LEN, p + CG_NONCE_LEN + CG_KEY_LEN);
	return out;
}

/* Unwrap the stored secret of index id into secret_out. */
static void
unwrap_secret(const uint8 *id, const bytea *stored, uint8 *secret_out)
{
	const uint8 *p = (const uint8 *) VARDATA_ANY(stored);
	const CgMasterKey *mk;
	uint8		aad[BLIND_WRAP_LABEL_LEN + CG_BLIND_ID_LEN];

	(void) cg_master_key_current();		/* a clear error if none at all */
	if (VARSIZE_ANY_EXHDR(stored) != BLIND_STORED_LEN)
		ereport(ERROR,
				(errcode(ERRCODE_CG_BLIND_KEY_UNAVAILABLE),
				 errmsg("blind index key is malformed"),
				 errhint("Disable and enable the blind index again.")));
	mk = cg_master_key_by_id(p);
	if (mk == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_CG_BLIND_KEY_UNAVAILABLE),
				 errmsg("blind index key was wrapped by a master key that is not configured"),
				 errdetail("The key was wrapped by master key %s; the configured master key is %s.",
						   cg_key_id_hex(p), cg_key_id_hex(cg_master_key_current()->id)),
				 errhint("Configure the previous master key and run childguard.rotate_master_key().")));
	p += CG_KEY_ID_LEN;
	wrap_aad(aad, id);
	if (!cg_aead_open(mk->key, p, aad, sizeof(aad), p + CG_NONCE_LEN, CG_KEY_LEN,
					  p + CG_NONCE_LEN + CG_KEY_LEN, secret_out))
		ereport(ERROR,
				(errcode(ERRCODE_CG_AUTHENTICATION_FAILED),
				 errmsg("blind index key failed authentication"),
				 errdetail("The wrapped key in childguard.blind_index was altered or moved to another index.")));
}

/*
 * The HMAC key of a blind index (32 bytes into key_out, which the caller
 * wipes): HMAC-SHA-256(secret, label || index_id).
 */
void
cg_blind_key_derive(const bytea *index_id, const bytea *stored, uint8 *key_out)
{
	const uint8 *id = index_id_bytes(index_id);
	uint8		secret[CG_KEY_LEN];
	uint8		info[sizeof(BLIND_HMAC_LABEL) - 1 + CG_BLIND_ID_LEN];

	unwrap_secret(id, stored, secret);
	memcpy(info, BLIND_HMAC_LABEL, sizeof(BLIND_HMAC_LABEL) - 1);
	memcpy(info + sizeof(BLIND_HMAC_LABEL) - 1, id, CG_BLIND_ID_LEN);
	cg_hmac_sha256(secret, CG_KEY_LEN, info, sizeof(info), key_out);
	explicit_bzero(secret, sizeof(secret));
}

PG_FUNCTION_INFO_V1(cg_new_blind_key);

/*
 * childguard._new_blind_key(index_id bytea) -> bytea: a fresh random
 * secret for the index, wrapped by the master key new keys are wrapped with.
 */
Datum
cg_new_blind_key(PG_FUNCTION_ARGS)
{
	const uint8 *id = index_id_bytes(PG_GETARG_BYTEA_PP(0));
	const CgMasterKey *mk = cg_master_key_for_wrapping();
	uint8		secret[CG_KEY_LEN];
	bytea	   *out;

	cg_random_bytes(secret, CG_KEY_LEN);
	out = wrap_secret(mk, id, secret);
	explicit_bzero(secret, sizeof(secret));
	PG_RETURN_BYTEA_P(out);
}

PG_FUNCTION_INFO_V1(cg_rewrap_blind_key);

/*
 * childguard._rewrap_blind_key(index_id bytea, wrapped bytea) -> bytea:
 * the same secret wrapped by the current master key (rotate_master_key()).
 */
Datum
cg_rewrap_blind_key(PG_FUNCTION_ARGS)
{
	const uint8 *id = index_id_bytes(PG_GETARG_BYTEA_PP(0));
	bytea	   *stored = PG_GETARG_BYTEA_PP(1);
	uint8		secret[CG_KEY_LEN];
	bytea	   *out;

	unwrap_secret(id, stored, secret);
	out = wrap_secret(cg_master_key_current(), id, secret);
	explicit_bzero(secret, sizeof(secret));
	PG_RETURN_BYTEA_P(out);
}
