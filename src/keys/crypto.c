/*-------------------------------------------------------------------------
 *
 * crypto.c
 *	  The per-value cryptography: AES-256-GCM seal/open with associated
 *	  data, HMAC-SHA-256, and a strong random source.
 *
 * One EVP_CIPHER_CTX per direction is made on first use and kept for the
 * life of the process, so no value pays for creating a context and no
 * error between init and final can leak one: the next call re-initialises
 * it completely.  They are freed at process exit.
 *
 * Each context stays keyed: it remembers (in secure memory) the key it was
 * last given, and a call with the same key sets only the nonce, so the AES
 * key schedule and GCM tables are computed once per key, not per value;
 * consecutive values of one child (the columns of a row, a child's rows)
 * share the work.  cg_crypto_forget_keys() (on every data-key flush) wipes
 * the remembered keys and resets the contexts.
 *
 * A third context opens only wrapped keys (cg_aead_open_wrapped: a data
 * key under the master key), so a backend's first read of a child -- an
 * unwrap under the master key, then the values under the data key -- keeps
 * the master key's schedule and GHASH table instead of re-keying one
 * context twice per child.  Its key is wiped with the others.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include "miscadmin.h"
#include "storage/ipc.h"
#include "utils/guc.h"

#include "aesni_gcm.h"
#include "crypto.h"
#include "secure_mem.h"

static EVP_CIPHER_CTX *seal_ctx = NULL;
static EVP_CIPHER_CTX *open_ctx = NULL;
static EVP_CIPHER_CTX *unwrap_ctx = NULL;

/* the key each context holds now (secure memory); valid only if *_keyed */
static uint8 *seal_key = NULL;
static uint8 *open_key = NULL;
static uint8 *unwrap_key = NULL;
static bool seal_keyed = false;
static bool open_keyed = false;
static bool unwrap_keyed = false;

/* the AES-NI path, where available (fast_checked: asked once) */
static bool fast_checked = false;
static CgFastGcm *fast_seal = NULL;
static CgFastGcm *fast_open = NULL;
static CgFastGcm *fast_unwrap = NULL;
/* which path holds each direction's key now (valid only if *_keyed) */
static bool seal_keyed_fast = false;
static bool open_keyed_fast = false;
static bool unwrap_keyed_fast = false;

/* childguard.aes_gcm_path: "auto" (AES-NI where it passed its test) or "openssl" */
typedef enum
{
	CG_AES_PATH_AUTO,
	CG_AES_PATH_OPENSSL
} CgAesPath;

static int	aes_gcm_path = CG_AES_PATH_AUTO;

static const struct config_enum_entry aes_gcm_path_options[] = {
	{"auto", CG_AES_PATH_AUTO, false},
	{"openssl", CG_AES_PATH_OPENSSL, false},
	{NULL, 0, false}
};

/* From _PG_init: childguard.aes_gcm_path (superuser; for diagnosis and tests). */
void
cg_crypto_define_gucs(void)
{
	DefineCustomEnumVariable("childguard.aes_gcm_path",
							 "Which AES-256-GCM implementation seals and opens child data.",
							 "auto: the CPU's AES and carry-less multiply instructions, where available and its known-answer test passed, else OpenSSL's EVP interface; openssl: always EVP. Both read and write the same format.",
							 &aes_gcm_path, CG_AES_PATH_AUTO, aes_gcm_path_options,
							 PGC_SUSET, 0, NULL, NULL, NULL);
}

StaticAssertDecl(CG_FAST_GCM_NONCE_LEN == CG_NONCE_LEN && CG_FAST_GCM_TAG_LEN == CG_TAG_LEN,
				 "aesni_gcm.c seals with crypto.h's nonce and tag lengths");

/* Is the AES-NI path in use for the next call? */
static inline bool
use_fast(void)
{
	return fast_seal != NULL && aes_gcm_path == CG_AES_PATH_AUTO;
}

static void
cg_crypto_cleanup(int code, Datum arg)
{
	if (seal_ctx)
		EVP_CIPHER_CTX_free(seal_ctx);
	if (open_ctx)
		EVP_CIPHER_CTX_free(open_ctx);
	if (unwrap_ctx)
		EVP_CIPHER_CTX_free(unwrap_ctx);
	seal_ctx = open_ctx = unwrap_ctx = NULL;
	seal_keyed = open_keyed = unwrap_keyed = false;
	cg_fast_gcm_free(fast_seal);
	cg_fast_gcm_free(fast_open);
	cg_fast_gcm_free(fast_unwrap);
}

/*
 * From _PG_init, in the postmaster (1.9): the AES-NI path's known-answer
 * test (cg_fast_gcm_available), once; every backend forked from it
 * inherits the result instead of running the test at its first value
 * (about 140,000 instructions: most of what a new connection's first read
 * paid for AES).  No key is involved.  A process that did not inherit it
 * runs the test itself, as before.
 */
void
cg_crypto_preload(void)
{
	(void) cg_fast_gcm_available();
}

/* Make the contexts once per process, with the cipher fixed. */
static void
cg_crypto_init(void)
{
	if (seal_ctx != NULL)
		return;
	if (seal_key == NULL)
	{
		seal_key = cg_secure_alloc(CG_KEY_LEN);
		open_key = cg_secure_alloc(CG_KEY_LEN);
		unwrap_key = cg_secure_alloc(CG_KEY_LEN);
	}
	seal_keyed = open_keyed = unwrap_keyed = false;
	seal_ctx = EVP_CIPHER_CTX_new();
	open_ctx = EVP_CIPHER_CTX_new();
	unwrap_ctx = EVP_CIPHER_CTX_new();
	if (seal_ctx == NULL || open_ctx == NULL || unwrap_ctx == NULL ||
		EVP_EncryptInit_ex(seal_ctx, EVP_aes_256_gcm(), NULL, NULL, NULL) != 1 ||
		EVP_DecryptInit_ex(open_ctx, EVP_aes_256_gcm(), NULL, NULL, NULL) != 1 ||
		EVP_DecryptInit_ex(unwrap_ctx, EVP_aes_256_gcm(), NULL, NULL, NULL) != 1)
	{
		cg_crypto_cleanup(0, (Datum) 0);
		ereport(ERROR,
				(errcode(ERRCODE_INTERNAL_ERROR),
				 errmsg("could not initialize AES-256-GCM")));
	}
	if (!fast_checked)
	{
		fast_checked = true;
		if (cg_fast_gcm_available())
		{
			fast_seal = cg_fast_gcm_new();
			fast_open = cg_fast_gcm_new();
			fast_unwrap = cg_fast_gcm_new();
		}
	}
	on_proc_exit(cg_crypto_cleanup, (Datum) 0);
}

/*
 * Forget the keys the contexts hold: wipe the remembered copies and reset
 * the contexts (which frees their key schedules), so no key dropped from
 * the data-key cache stays usable or resident here.
 */
void
cg_crypto_forget_keys(void)
{
	if (seal_ctx == NULL)
		return;
	if (seal_keyed || open_keyed || unwrap_keyed)
	{
		explicit_bzero(seal_key, CG_KEY_LEN);
		explicit_bzero(open_key, CG_KEY_LEN);
		explicit_bzero(unwrap_key, CG_KEY_LEN);
		seal_keyed = open_keyed = unwrap_keyed = false;
		if (fast_seal != NULL)
		{
			cg_fast_gcm_forget(fast_seal);
			cg_fast_gcm_forget(fast_open);
			cg_fast_gcm_forget(fast_unwrap);
		}
		if (EVP_CIPHER_CTX_reset(seal_ctx) != 1 ||
			EVP_CIPHER_CTX_reset(open_ctx) != 1 ||
			EVP_CIPHER_CTX_reset(unwrap_ctx) != 1 ||
			EVP_EncryptInit_ex(seal_ctx, EVP_aes_256_gcm(), NULL, NULL, NULL) != 1 ||
			EVP_DecryptInit_ex(open_ctx, EVP_aes_256_gcm(), NULL, NULL, NULL) != 1 ||
			EVP_DecryptInit_ex(unwrap_ctx, EVP_aes_256_gcm(), NULL, NULL, NULL) != 1)
			ereport(ERROR,
					(errcode(ERRCODE_INTERNAL_ERROR),
					 errmsg("could not initialize AES-256-GCM")));
	}
}

/*
 * The key argument for an Init call on a context holding *held: NULL
 * (keep the schedule) if it is the same key, else key, remembered.  The
 * caller's Init must succeed or call this again: *keyed is cleared first.
 */
static const uint8 *
key_to_load(const uint8 *key, uint8 *held, bool *keyed)
{
	if (*keyed && memcmp(key, held, CG_KEY_LEN) == 0)
		return NULL;
	*keyed = false;
	memcpy(held, key, CG_KEY_LEN);
	return key;
}

/* Fill buf with cryptographically strong random bytes, or fail. */
void
cg_random_bytes(void *buf, size_t len)
{
	if (RAND_bytes(buf, (int) len) != 1)
		ereport(ERROR,
				(errcode(ERRCODE_INTERNAL_ERROR),
				 errmsg("could not generate random bytes")));
}

/*
 * A fresh random AES-GCM nonce (CG_NONCE_LEN bytes) for a value's
 * envelope.  One RAND_bytes call costs OpenSSL 3 about 6,500 instructions
 * whatever its length (its DRBG's locking and parameter handling), and a
 * written value takes two nonces (the pending envelope of the input
 * function, then the seal for its child): so nonces are drawn
 * NONCE_POOL at a time into a per-process pool and handed out once each,
 * in order.  A nonce is public (it is stored in clear in the envelope);
 * what GCM needs is that none repeats under a key, which a 96-bit random
 * draw gives, pooled or not.  The pool belongs to the process that filled
 * it: a process forked after the fill (the postmaster's children) draws
 * its own (MyProcPid), so no two processes share one.
 */
#define NONCE_POOL 64

void
cg_random_nonce(uint8 *out)
{
	static uint8 pool[NONCE_POOL * CG_NONCE_LEN];
	static int	next = NONCE_POOL;
	static int	pool_pid = 0;

	if (pool_pid != MyProcPid || next >= NONCE_POOL)
	{
		next = NONCE_POOL;		/* an error below leaves the pool empty */
		cg_random_bytes(pool, sizeof(pool));
		pool_pid = MyProcPid;
		next = 0;
	}
	memcpy(out, pool + next * CG_NONCE_LEN, CG_NONCE_LEN);
	memset(pool + next * CG_NONCE_LEN, 0, CG_NONCE_LEN);
	next++;
}

/* Encrypt len bytes under key/nonce, authenticating aad too. */
void
cg_aead_seal(const uint8 *key, const uint8 *nonce,
			 const uint8 *aad, size_t aadlen,
			 const uint8 *plain, size_t len,
			 uint8 *cipher_out, uint8 *tag_out)
{
	int			outl;
	const uint8 *load;

	bool		fast;

	cg_crypto_init();
	fast = use_fast();
	if (seal_keyed_fast != fast)
		seal_keyed = false;		/* the other path holds the key */
	load = key_to_load(key, seal_key, &seal_keyed);
	seal_keyed_fast = fast;
	if (fast)
	{
		if (load != NULL)
			cg_fast_gcm_set_key(fast_seal, load);
		seal_keyed = true;
		if (!cg_fast_gcm_seal(fast_seal, nonce, aad, aadlen, plain, len,
							  cipher_out, tag_out))
			ereport(ERROR,
					(errcode(ERRCODE_INTERNAL_ERROR),
					 errmsg("could not encrypt child data")));
		return;
	}
	if (EVP_EncryptInit_ex(seal_ctx, NULL, NULL, load, nonce) != 1)
		ereport(ERROR,
				(errcode(ERRCODE_INTERNAL_ERROR),
				 errmsg("could not encrypt child data")));
	seal_keyed = true;
	if (EVP_EncryptUpdate(seal_ctx, NULL, &outl, aad, (int) aadlen) != 1 ||
		(len > 0 &&
		 EVP_EncryptUpdate(seal_ctx, cipher_out, &outl, plain, (int) len) != 1) ||
		EVP_EncryptFinal_ex(seal_ctx, cipher_out + len, &outl) != 1 ||
		EVP_CIPHER_CTX_ctrl(seal_ctx, EVP_CTRL_GCM_GET_TAG, CG_TAG_LEN, tag_out) != 1)
		ereport(ERROR,
				(errcode(ERRCODE_INTERNAL_ERROR),
				 errmsg("could not encrypt child data")));
}

/*
 * Decrypt and authenticate.  Returns false when the tag does not verify
 * (tampered data, wrong key or wrong associated data); plain_out is then
 * wiped so no unauthenticated byte escapes.
 */
static bool
aead_open(EVP_CIPHER_CTX *ctx, CgFastGcm *fastg, uint8 *held, bool *keyed,
		  bool *keyed_fast, const uint8 *key, const uint8 *nonce,
		  const uint8 *aad, size_t aadlen,
		  const uint8 *cipher, size_t len,
		  const uint8 *tag, uint8 *plain_out)
{
	int			outl;
	const uint8 *load;
	bool		fast;

	fast = use_fast();
	if (*keyed_fast != fast)
		*keyed = false;			/* the other path holds the key */
	load = key_to_load(key, held, keyed);
	*keyed_fast = fast;
	if (fast)
	{
		bool		authentic;

		if (load != NULL)
			cg_fast_gcm_set_key(fastg, load);
		*keyed = true;
		if (!cg_fast_gcm_open(fastg, nonce, aad, aadlen, cipher, len, tag,
							  plain_out, &authentic))
			ereport(ERROR,
					(errcode(ERRCODE_INTERNAL_ERROR),
					 errmsg("could not decrypt child data")));
		return authentic;
	}
	if (EVP_DecryptInit_ex(ctx, NULL, NULL, load, nonce) != 1)
		ereport(ERROR,
				(errcode(ERRCODE_INTERNAL_ERROR),
				 errmsg("could not decrypt child data")));
	*keyed = true;
	if (EVP_DecryptUpdate(ctx, NULL, &outl, aad, (int) aadlen) != 1 ||
		(len > 0 &&
		 EVP_DecryptUpdate(ctx, plain_out, &outl, cipher, (int) len) != 1) ||
		EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, CG_TAG_LEN,
							(void *) tag) != 1)
		ereport(ERROR,
				(errcode(ERRCODE_INTERNAL_ERROR),
				 errmsg("could not decrypt child data")));
	if (EVP_DecryptFinal_ex(ctx, plain_out + len, &outl) != 1)
	{
		if (len > 0)
			explicit_bzero(plain_out, len);
		return false;
	}
	return true;
}

bool
cg_aead_open(const uint8 *key, const uint8 *nonce,
			 const uint8 *aad, size_t aadlen,
			 const uint8 *cipher, size_t len,
			 const uint8 *tag, uint8 *plain_out)
{
	cg_crypto_init();
	return aead_open(open_ctx, fast_open, open_key, &open_keyed, &open_keyed_fast,
					 key, nonce, aad, aadlen, cipher, len, tag, plain_out);
}

/*
 * cg_aead_open through the context kept for wrapped keys (see the header):
 * for opening keys wrapped under a master key, whose schedule stays.
 */
bool
cg_aead_open_wrapped(const uint8 *key, const uint8 *nonce,
					 const uint8 *aad, size_t aadlen,
					 const uint8 *cipher, size_t len,
					 const uint8 *tag, uint8 *plain_out)
{
	cg_crypto_init();
	return aead_open(unwrap_ctx, fast_unwrap, unwrap_key, &unwrap_keyed,
					 &unwrap_keyed_fast, key, nonce, aad, aadlen, cipher, len,
					 tag, plain_out);
}

/* HMAC-SHA-256 of data under key into out32. */
void
cg_hmac_sha256(const uint8 *key, size_t keylen,
			   const uint8 *data, size_t len, uint8 *out32)
{
	unsigned int outlen = 32;

	if (HMAC(EVP_sha256(), key, (int) keylen, data, len, out32, &outlen) == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INTERNAL_ERROR),
				 errmsg("could not compute HMAC-SHA-256")));
}
