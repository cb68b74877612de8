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
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include "storage/ipc.h"

#include "crypto.h"

static EVP_CIPHER_CTX *seal_ctx = NULL;
static EVP_CIPHER_CTX *open_ctx = NULL;

static void
cg_crypto_cleanup(int code, Datum arg)
{
	if (seal_ctx)
		EVP_CIPHER_CTX_free(seal_ctx);
	if (open_ctx)
		EVP_CIPHER_CTX_free(open_ctx);
	seal_ctx = open_ctx = NULL;
}

/* Make both contexts once per process, with the cipher fixed. */
static void
cg_crypto_init(void)
{
	if (seal_ctx != NULL)
		return;
	seal_ctx = EVP_CIPHER_CTX_new();
	open_ctx = EVP_CIPHER_CTX_new();
	if (seal_ctx == NULL || open_ctx == NULL ||
		EVP_EncryptInit_ex(seal_ctx, EVP_aes_256_gcm(), NULL, NULL, NULL) != 1 ||
		EVP_DecryptInit_ex(open_ctx, EVP_aes_256_gcm(), NULL, NULL, NULL) != 1)
	{
		cg_crypto_cleanup(0, (Datum) 0);
		ereport(ERROR,
				(errcode(ERRCODE_INTERNAL_ERROR),
				 errmsg("could not initialize AES-256-GCM")));
	}
	on_proc_exit(cg_crypto_cleanup, (Datum) 0);
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

/* Encrypt len bytes under key/nonce, authenticating aad too. */
void
cg_aead_seal(const uint8 *key, const uint8 *nonce,
			 const uint8 *aad, size_t aadlen,
			 const uint8 *plain, size_t len,
			 uint8 *cipher_out, uint8 *tag_out)
{
	int			outl;

	cg_crypto_init();
	if (EVP_EncryptInit_ex(seal_ctx, NULL, NULL, key, nonce) != 1 ||
		EVP_EncryptUpdate(seal_ctx, NULL, &outl, aad, (int) aadlen) != 1 ||
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
bool
cg_aead_open(const uint8 *key, const uint8 *nonce,
			 const uint8 *aad, size_t aadlen,
			 const uint8 *cipher, size_t len,
			 const uint8 *tag, uint8 *plain_out)
{
	int			outl;

	cg_crypto_init();
	if (EVP_DecryptInit_ex(open_ctx, NULL, NULL, key, nonce) != 1 ||
		EVP_DecryptUpdate(open_ctx, NULL, &outl, aad, (int) aadlen) != 1 ||
		(len > 0 &&
		 EVP_DecryptUpdate(open_ctx, plain_out, &outl, cipher, (int) len) != 1) ||
		EVP_CIPHER_CTX_ctrl(open_ctx, EVP_CTRL_GCM_SET_TAG, CG_TAG_LEN,
							(void *) tag) != 1)
		ereport(ERROR,
				(errcode(ERRCODE_INTERNAL_ERROR),
				 errmsg("could not decrypt child data")));
	if (EVP_DecryptFinal_ex(open_ctx, plain_out + len, &outl) != 1)
	{
		if (len > 0)
			explicit_bzero(plain_out, len);
		return false;
	}
	return true;
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
