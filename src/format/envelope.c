/*-------------------------------------------------------------------------
 *
 * envelope.c
 *	  Building, parsing, sealing and opening the stored form of child data
 *	  (layout in envelope.h).  Nothing here decides whether a value may be
 *	  opened; decision.c does.
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

StaticAssertDecl(CG_MAX_ENVELOPE_TEXT + 1 <= MaxAllocSize &&
				 CG_MAX_ENVELOPE_TEXT + 1 <= (Size) PG_INT32_MAX,
				 "envelope text lengths must fit in an int and in MaxAllocSize");
StaticAssertDecl(CG_ENV_LENGTH_LEN + CG_PAD_STEP + CG_ENV_OVERHEAD <= CG_ENV_SLACK,
				 "padding must fit in the envelope's slack");

static int	write_version = CG_ENV_VERSION;

/* childguard.max_value_size: the largest plaintext a value may hold, in bytes */
static int	max_value_size = (int) CG_MAX_PLAINTEXT;

/* Define the envelope's settings (superuser only). */
void
cg_envelope_define_gucs(void)
{
	DefineCustomIntVariable("childguard.envelope_format_version",
							"The envelope format version new child data values are written in.",
							"2 pads values to a size bucket; 1 (childguard 1.0, exact sizes) is for compatibility tests only.",
							&write_version, CG_ENV_VERSION, CG_ENV_VERSION_1, CG_ENV_VERSION_2,
							PGC_SUSET, GUC_SUPERUSER_ONLY | GUC_NOT_IN_SAMPLE,
							NULL, NULL, NULL);
	DefineCustomIntVariable("childguard.max_value_size",
							"Largest plaintext a child_data value may hold.",
							"Checked when a value is encrypted and when an envelope is read in; at most 512MB.",
							&max_value_size, (int) CG_MAX_PLAINTEXT, 0,
							(int) CG_MAX_PLAINTEXT, PGC_SUSET, GUC_UNIT_BYTE,
							NULL, NULL, NULL);
}

/* Refuse a value of len bytes of plaintext above the limit, before anything is allocated for it. */
void
cg_check_value_size(Size len)
{
	if (len > (Size) max_value_size)
		ereport(ERROR,
				(errcode(ERRCODE_CG_VALUE_TOO_LONG),
				 errmsg("child data value is too long"),
				 errdetail("The value holds %zu bytes; childguard.max_value_size allows at most %d bytes.",
						   len, max_value_size),
				 errhint("Keep large files outside the database and store a reference here, or raise childguard.max_value_size (at most 512MB).")));
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

	cg_check_value_size(len);
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
	cg_random_nonce(p + CG_ENV_HEADER_LEN);
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
	Size		rawlen = VARSIZE_ANY_EXHDR(value);
	Size		enclen;
	char	   *out;
	int			n;

	/* only a value stored by an older version can be this long */
	if (rawlen > CG_MAX_ENVELOPE)
		ereport(ERROR,
				(errcode(ERRCODE_CG_VALUE_TOO_LONG),
				 errmsg("child data value is too long to show as an envelope"),
				 errdetail("The envelope holds %zu bytes; its text form is limited to envelopes of %zu bytes.",
						   rawlen, (Size) CG_MAX_ENVELOPE),
				 errhint("Read the value under a declared purpose, and store it again in parts of at most 512MB.")));
	enclen = CG_B64_LEN(rawlen);
	out = palloc_extended(CG_ENV_TEXT_PREFIX_LEN + enclen + 1, MCXT_ALLOC_HUGE);
	memcpy(out, CG_ENV_TEXT_PREFIX, CG_ENV_TEXT_PREFIX_LEN);
	n = pg_b64_encode(VARDATA_ANY(value), (int) rawlen,
					  out + CG_ENV_TEXT_PREFIX_LEN, (int) enclen);
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

/*
 * The longest ciphertext a value of at most plain_limit bytes of plaintext
 * has in env's format version: the plaintext's own length in version 1,
 * its padded size (length prefix included) in version 2.
 */
static Size
max_cipher_len(const CgEnvelope *env, Size plain_limit)
{
	if (env->version == CG_ENV_VERSION_1)
		return plain_limit;
	return cg_envelope_bucket(CG_ENV_LENGTH_LEN + plain_limit);
}

/*
 * Refuse envelope text of textlen characters (prefix included) that cannot
 * be a value within the limits, before decoding anything.
 */
void
cg_check_envelope_text_size(Size textlen)
{
	if (textlen > CG_MAX_ENVELOPE_TEXT ||
		textlen > CG_ENV_TEXT_PREFIX_LEN +
		CG_B64_LEN((Size) max_value_size + CG_ENV_SLACK))
		ereport(ERROR,
				(errcode(ERRCODE_CG_VALUE_TOO_LONG),
				 errmsg("child data value is too long"),
				 errdetail("The envelope text is %zu bytes long; with childguard.max_value_size at %d bytes, an envelope's text is at most %zu bytes.",
						   textlen, max_value_size,
						   (Size) CG_ENV_TEXT_PREFIX_LEN + CG_B64_LEN((Size) max_value_size + CG_ENV_SLACK)),
				 errhint("Keep large files outside the database and store a reference here, or raise childguard.max_value_size (at most 512MB).")));
}

/* Decode and validate an envelope's text form. */
struct varlena *
cg_envelope_from_text(const char *text)
{
	const char *b64 = text + CG_ENV_TEXT_PREFIX_LEN;
	Size		b64len = strlen(b64);
	Size		maxlen;
	struct varlena *result;
	int			n;
	CgEnvelope	env;

	cg_check_envelope_text_size(CG_ENV_TEXT_PREFIX_LEN + b64len);
	if (b64len == 0 || b64len % 4 != 0)
		malformed("The envelope's base64 text has a wrong length.");
	/*
	 * Not pg_b64_dec_len(): its int arithmetic overflows past 715,827,882
	 * characters, the text of a value of ~512 MB (the size check above
	 * already caps b64len; this stays in Size all the same).
	 */
	maxlen = (b64len / 4) * 3;
	result = palloc_extended(VARHDRSZ + maxlen, MCXT_ALLOC_HUGE);
	n = pg_b64_decode(b64, (int) b64len, VARDATA(result), (int) maxlen);
	if (n < 0)
		malformed("The envelope's text is not valid base64.");
	SET_VARSIZE(result, VARHDRSZ + n);
	parse_bytes((const uint8 *) VARDATA(result), n, &env);
	if (env.cipher_len > max_cipher_len(&env, (Size) max_value_size))
		ereport(ERROR,
				(errcode(ERRCODE_CG_VALUE_TOO_LONG),
				 errmsg("child data value is too long"),
				 errdetail("The envelope holds %zu bytes of ciphertext; with childguard.max_value_size at %d bytes, a value's ciphertext is at most %zu bytes.",
						   env.cipher_len, max_value_size,
						   max_cipher_len(&env, (Size) max_value_size)),
				 errhint("Keep large files outside the database and store a reference here, or raise childguard.max_value_size (at most 512MB).")));
	return result;
}
