/*-------------------------------------------------------------------------
 *
 * sha256.c
 *	  SHA-256 through one digest context kept for the life of the process.
 *
 * The audit chain hashes every record (src/audit/audit_chain.c), the
 * writer thousands a second.  pg_cryptohash_create() per hash allocates a
 * context, registers it with the resource owner and has OpenSSL 3 look the
 * algorithm up by name; here the algorithm is fetched once and one
 * EVP_MD_CTX is re-initialised per hash (EVP_DigestInit_ex2 keeps its
 * allocation).  A process is single-threaded and no hash calls back into
 * anything that could hash, so one context is enough; an error between
 * init and final cannot leave it in use, since the next call
 * re-initialises it completely.  The context is OpenSSL's (its own
 * allocator), freed at process exit.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <openssl/evp.h>
#include <openssl/opensslv.h>

#include "storage/ipc.h"

#include "sha256.h"

/* OpenSSL 1.1 has neither EVP_MD_fetch nor EVP_DigestInit_ex2 */
#if OPENSSL_VERSION_NUMBER < 0x30000000L
#define EVP_MD_fetch(libctx, name, props) ((EVP_MD *) EVP_sha256())
#define EVP_MD_free(md) ((void) (md))
#define EVP_DigestInit_ex2(ctx, md, params) EVP_DigestInit_ex((ctx), (md), NULL)
#endif

static EVP_MD_CTX *sha_ctx = NULL;
static EVP_MD *sha_md = NULL;

static void
free_sha_ctx(int code, Datum arg)
{
	if (sha_ctx != NULL)
		EVP_MD_CTX_free(sha_ctx);
	if (sha_md != NULL)
		EVP_MD_free(sha_md);
	sha_ctx = NULL;
	sha_md = NULL;
}

/* SHA-256 of data into out32. */
void
cg_sha256(const uint8 *data, size_t len, uint8 *out32)
{
	unsigned int outlen = CG_SHA256_LEN;

	if (sha_ctx == NULL)
	{
		EVP_MD	   *md = EVP_MD_fetch(NULL, "SHA256", NULL);
		EVP_MD_CTX *ctx = md != NULL ? EVP_MD_CTX_new() : NULL;

		if (ctx == NULL)
		{
			if (md != NULL)
				EVP_MD_free(md);
			ereport(ERROR,
					(errcode(ERRCODE_OUT_OF_MEMORY),
					 errmsg("could not create a SHA-256 context")));
		}
		sha_md = md;
		sha_ctx = ctx;
		on_proc_exit(free_sha_ctx, (Datum) 0);
	}
	if (EVP_DigestInit_ex2(sha_ctx, sha_md, NULL) != 1 ||
		EVP_DigestUpdate(sha_ctx, data, len) != 1 ||
		EVP_DigestFinal_ex(sha_ctx, out32, &outlen) != 1 ||
		outlen != CG_SHA256_LEN)
		ereport(ERROR,
				(errcode(ERRCODE_INTERNAL_ERROR),
				 errmsg("could not compute SHA-256")));
}
