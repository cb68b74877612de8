/*-------------------------------------------------------------------------
 *
 * envelope.c
 *	  Building, parsing, sealing and opening the stored form of child data
 *	  (layout in envelope.h).  Nothing here decides whether a value may be
 *	  opened; read_policy.c does.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "common/base64.h"
#include "utils/memutils.h"

#include "categories.h"
#include "childguard_errcodes.h"
#include "envelope.h"

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
	if (env->version != CG_ENV_VERSION)
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
}

/* Parse a detoasted child_data datum. */
void
cg_envelope_parse(const struct varlena *value, CgEnvelope *env)
{
	parse_bytes((const uint8 *) VARDATA_ANY(value), VARSIZE_ANY_EXHDR(value), env);
}

/* Encrypt plain into a new envelope datum bound to its header fields. */
struct varlena *
cg_envelope_seal(const uint8 *key, uint8 category, uint8 flags,
				 uint32 key_version, uint64 subject,
				 const char *plain, size_t len)
{
	struct varlena *result;
	uint8	   *p;

	if (len > CG_MAX_PLAINTEXT)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("child data value is too long"),
				 errdetail("A value may hold at most %zu bytes.", (size_t) CG_MAX_PLAINTEXT)));
	result = palloc(VARHDRSZ + CG_ENV_OVERHEAD + len);
	SET_VARSIZE(result, VARHDRSZ + CG_ENV_OVERHEAD + len);
	p = (uint8 *) VARDATA(result);
	p[0] = CG_ENV_VERSION;
	p[1] = category;
	p[2] = flags;
	p[3] = 0;
	put_be32(p + 4, key_version);
	put_be64(p + 8, subject);
	cg_random_bytes(p + CG_ENV_HEADER_LEN, CG_NONCE_LEN);
	cg_aead_seal(key, p + CG_ENV_HEADER_LEN, p, CG_ENV_HEADER_LEN,
				 (const uint8 *) plain, len,
				 p + CG_ENV_HEADER_LEN + CG_NONCE_LEN,
				 p + CG_ENV_HEADER_LEN + CG_NONCE_LEN + len);
	return result;
}

/*
 * Authenticate and decrypt; returns a palloc'd, NUL-terminated plaintext.
 * A value that does not authenticate is an error, never garbage.
 */
char *
cg_envelope_open(const CgEnvelope *env, const uint8 *key, size_t *len)
{
	char	   *plain = palloc(env->cipher_len + 1);

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
	plain[env->cipher_len] = '\0';
	*len = env->cipher_len;
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
