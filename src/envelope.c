/*-------------------------------------------------------------------------
 *
 * envelope.c
 *	  Building, parsing, sealing and opening the stored form of child data
 *	  (layout in envelope.h).  Nothing here decides whether a value may be
 *	  opened; read_policy.c does.
 *
 *	  Values are written in format version 2, padded to a size bucket so
 *	  that the stored size (pg_column_size, envelope_info, the table's
 *	  size) shows only the bucket.  Version 1 values are read, and their
 *	  text form is taken back byte for byte, so old dumps round-trip.
 *	  childguard.envelope_format_version (superuser only) makes this
 *	  session write version 1: for compatibility tests and benchmarks.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "common/base64.h"
#include "port/pg_bitutils.h"
#include "utils/guc.h"
#include "utils/memutils.h"

#include "categories.h"
#include "childguard_errcodes.h"
#include "envelope.h"

static int	write_version = CG_ENV_VERSION;

void
cg_envelope_define_gucs(void)
{
	DefineCustomIntVariable("childguard.envelope_format_version",
							"The envelope format version new child data values are written in.",
							"2 pads values to a size bucket; 1 (childguard 1.0, exact sizes) is for compatibility tests only.",
							&write_version, CG_ENV_VERSION, CG_ENV_VERSION_1, CG_ENV_VERSION_2,
							PGC_SUSET, GUC_SUPERUSER_ONLY | GUC_NOT_IN_SAMPLE,
							NULL, NULL, NULL);
}

/*
 * The padded size for len bytes (the length prefix included): the next
 * power of two from CG_PAD_MIN up to CG_PAD_STEP, then the next multiple
 * of CG_PAD_STEP.
 */
size_t
cg_envelope_bucket(size_t len)
{
	if (len <= CG_PAD_MIN)
		return CG_PAD_MIN;
	if (len <= CG_PAD_STEP)
		return (size_t) pg_nextpower2_32((uint32) len);
	return ((len + CG_PAD_STEP - 1) / CG_PAD_STEP) * CG_PAD_STEP;
}

static bool
is_bucket(size_t len)
{
	return len >= CG_PAD_MIN && cg_envelope_bucket(len) == len;
}

/*
 * The size bucket a value shows: its padded ciphertext for version 2; for
 * version 1, the bucket it will have once rewritten (never its exact
 * length, which its stored size still shows until then).
 */
size_t
cg_envelope_size_bucket(const CgEnvelope *env)
{
	if (env->version == CG_ENV_VERSION_1)
		return cg_envelope_bucket(env->cipher_len + CG_ENV_LENGTH_LEN);
	return env->cipher_len;
}

static void
put_be32(uint8 *p, uint32 v)
{
	p[0] = v >> 24;
	p[1] = v >> 16;
	p[2] = v >> 8;
	p[3] = v;
}

static void
put_be64(uint8 *p, uint64 v)
{
	put_be32(p, (uint32) (v >> 32));
	put_be32(p + 4, (uint32) v);
}

static uint32
get_be32(const uint8 *p)
{
	return ((uint32) p[0] << 24) | ((uint32) p[1] << 16) |
		((uint32) p[2] << 8) | p[3];
}

static uint64
get_be64(const uint8 *p)
{
	return ((uint64) get_be32(p) << 32) | get_be32(p + 4);
}

static void
malformed(const char *why)
{
	ereport(ERROR,
			(errcode(ERRCODE_CG_MALFORMED_ENVELOPE),
			 errmsg("malformed child_data envelope"),
			 errdetail("%s", why),
			 errhint("Envelopes are produced by childguard itself; plaintext must not begin with \"%s\".",
					 CG_ENV_TEXT_PREFIX)));
}

/* Check the structure of raw envelope bytes and fill env. */
static void
parse_bytes(const uint8 *p, size_t len, CgEnvelope *env)
{
	if (len < CG_ENV_OVERHEAD)
		malformed("The envelope is shorter than its fixed header and tag.");
	env->version = p[0];
	env->category = p[1];
	env->flags = p[2];
	if (env->version != CG_ENV_VERSION_1 && env->version != CG_ENV_VERSION_2)
		malformed("The envelope has an unknown format version.");
	if ((env->flags & ~CG_ENV_PENDING) != 0 || p[3] != 0)
		malformed("The envelope has unknown flags.");
	if ((env->flags & CG_ENV_PENDING) ?
		env->category != 0 : !cg_category_is_valid(env->category))
		malformed("The envelope has an unknown data category.");
	env->key_version = get_be32(p + 4);
	env->subject = get_be64(p + 8);
	env->header = p;
	env->nonce = p + CG_ENV_HEADER_LEN;
	env->cipher = p + CG_ENV_HEADER_LEN + CG_NONCE_LEN;
	env->cipher_len = len - CG_ENV_OVERHEAD;
	env->tag = env->cipher + env->cipher_len;
	if (env->version == CG_ENV_VERSION_2 && !is_bucket(env->cipher_len))
		malformed("The envelope's padded length is not a size bucket.");
}

/* Parse a detoasted child_data datum. */
void
cg_envelope_parse(const struct varlena *value, CgEnvelope *env)
{
	parse_bytes((const uint8 *) VARDATA_ANY(value), VARSIZE_ANY_EXHDR(value), env);
}

/*
 * Encrypt plain into a new envelope datum bound to its header fields: in
 * format version 2, its length, the plaintext and zero padding up to the
 * size bucket, encrypted in place in the result.
 */
struct varlena *
cg_envelope_seal(const uint8 *key, uint8 category, uint8 flags,
				 uint32 key_version, uint64 subject,
				 const char *plain, size_t len)
{
	struct varlena *result;
	uint8	   *p;
	uint8	   *cipher;
	size_t		inner;

	if (len > CG_MAX_PLAINTEXT)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("child data value is too long"),
				 errdetail("A value may hold at most %zu bytes.", (size_t) CG_MAX_PLAINTEXT)));
	inner = write_version == CG_ENV_VERSION_1 ? len :
		cg_envelope_bucket(CG_ENV_LENGTH_LEN + len);
	result = palloc_extended(VARHDRSZ + CG_ENV_OVERHEAD + inner, MCXT_ALLOC_HUGE);
	SET_VARSIZE(result, VARHDRSZ + CG_ENV_OVERHEAD + inner);
	p = (uint8 *) VARDATA(result);
	cipher = p + CG_ENV_HEADER_LEN + CG_NONCE_LEN;
	p[0] = (uint8) write_version;
	p[1] = category;
	p[2] = flags;
	p[3] = 0;
	put_be32(p + 4, key_version);
	put_be64(p + 8, subject);
	cg_random_bytes(p + CG_ENV_HEADER_LEN, CG_NONCE_LEN);
	if (write_version == CG_ENV_VERSION_1)
	{
		cg_aead_seal(key, p + CG_ENV_HEADER_LEN, p, CG_ENV_HEADER_LEN,
					 (const uint8 *) plain, len, cipher, cipher + len);
		return result;
	}
	put_be32(cipher, (uint32) len);
	memcpy(cipher + CG_ENV_LENGTH_LEN, plain, len);
	memset(cipher + CG_ENV_LENGTH_LEN + len, 0, inner - CG_ENV_LENGTH_LEN - len);
	/* GCM encrypts in place: the plaintext copy is overwritten at once */
	cg_aead_seal(key, p + CG_ENV_HEADER_LEN, p, CG_ENV_HEADER_LEN,
				 cipher, inner, cipher, cipher + inner);
	return result;
}

/*
 * Authenticate and decrypt; returns a palloc'd, NUL-terminated plaintext.
 * A value that does not authenticate is an error, never garbage.
 */
char *
cg_envelope_open(const CgEnvelope *env, const uint8 *key, size_t *len)
{
	char	   *plain = palloc_extended(env->cipher_len + 1, MCXT_ALLOC_HUGE);
	size_t		n;

	if (!cg_aead_open(key, env->nonce, env->header, CG_ENV_HEADER_LEN,
					  env->cipher, env->cipher_len, env->tag, (uint8 *) plain))
	{
		pfree(plain);
		ereport(ERROR,
				(errcode(ERRCODE_CG_AUTHENTICATION_FAILED),
				 errmsg("child data value failed authentication"),
				 errdetail("The value was altered, or was moved from the child or category it was written for."),
				 errhint("Restore the value from a backup; childguard never returns unauthenticated data.")));
	}
	if (env->version == CG_ENV_VERSION_1)
		n = env->cipher_len;
	else
	{
		bool		canonical;

		n = get_be32((const uint8 *) plain);
		canonical = n <= env->cipher_len - CG_ENV_LENGTH_LEN &&
			cg_envelope_bucket(CG_ENV_LENGTH_LEN + n) == env->cipher_len;
		for (size_t i = CG_ENV_LENGTH_LEN + (canonical ? n : 0);
			 canonical && i < env->cipher_len; i++)
			canonical = plain[i] == 0;
		if (!canonical)
		{
			explicit_bzero(plain, env->cipher_len);
			pfree(plain);
			malformed("The envelope's padding is not canonical.");
		}
		memmove(plain, plain + CG_ENV_LENGTH_LEN, n);
		explicit_bzero(plain + n, env->cipher_len - n);
	}
	plain[n] = '\0';
	*len = n;
	return plain;
}

/* The text form: prefix + base64 of the envelope bytes. */
char *
cg_envelope_to_text(const struct varlena *value)
{
	int			rawlen = VARSIZE_ANY_EXHDR(value);
	int			enclen = pg_b64_enc_len(rawlen);
	char	   *out = palloc_extended(CG_ENV_TEXT_PREFIX_LEN + enclen + 1,
									  MCXT_ALLOC_HUGE);
	int			n;

	memcpy(out, CG_ENV_TEXT_PREFIX, CG_ENV_TEXT_PREFIX_LEN);
	n = pg_b64_encode(VARDATA_ANY(value), rawlen,
					  out + CG_ENV_TEXT_PREFIX_LEN, enclen);
	if (n < 0)
		elog(ERROR, "could not encode child_data envelope");
	out[CG_ENV_TEXT_PREFIX_LEN + n] = '\0';
	return out;
}

bool
cg_text_is_envelope(const char *text)
{
	return strncmp(text, CG_ENV_TEXT_PREFIX, CG_ENV_TEXT_PREFIX_LEN) == 0;
}

/* Decode and validate an envelope's text form. */
struct varlena *
cg_envelope_from_text(const char *text)
{
	const char *b64 = text + CG_ENV_TEXT_PREFIX_LEN;
	int			b64len = strlen(b64);
	int			maxlen = pg_b64_dec_len(b64len);
	struct varlena *result;
	int			n;
	CgEnvelope	env;

	if (b64len == 0 || b64len % 4 != 0)
		malformed("The envelope's base64 text has a wrong length.");
	result = palloc_extended(VARHDRSZ + maxlen, MCXT_ALLOC_HUGE);
	n = pg_b64_decode(b64, b64len, VARDATA(result), maxlen);
	if (n < 0)
		malformed("The envelope's text is not valid base64.");
	if ((Size) n + VARHDRSZ > MaxAllocSize)
		malformed("The envelope is too long.");
	SET_VARSIZE(result, VARHDRSZ + n);
	parse_bytes((const uint8 *) VARDATA(result), n, &env);
	return result;
}
