/*-------------------------------------------------------------------------
 *
 * fuzz_envelope.c
 *	  libFuzzer target for the envelope decoder (src/format/envelope.c): every
 *	  input is taken as raw envelope bytes (cg_envelope_parse, with a
 *	  4-byte and, where it fits, a 1-byte varlena header) and as the
 *	  envelope's text form (cg_envelope_from_text).
 *
 * Besides the sanitizers, it checks the decoder's rules:
 *	- a bad envelope is ERROR ZC004 malformed (or ZC003 authentication failed
 *	  when opening), never another SQLSTATE;
 *	- a parsed envelope's parts lie inside the value, in order;
 *	- both varlena header forms parse the same way;
 *	- text form and bytes round-trip: from_text(to_text(v)) == v;
 *	- opening a value either authenticates or fails cleanly;
 *	- version 2: content that authenticates opens exactly when its length
 *	  prefix and zero padding are canonical, to the right plaintext.
 *
 * Only public functions are called, so new format versions need no change
 * here, only new seeds (test/fuzz/make_seeds.c).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "utils/memutils.h"

#include "childguard_errcodes.h"
#include "envelope.h"
#include "fuzz_pg.h"

static const int malformed_only[] = {ERRCODE_CG_MALFORMED_ENVELOPE, 0};
static const int open_errors[] = {ERRCODE_CG_AUTHENTICATION_FAILED, 0};

/* A parsed envelope's parts must lie inside [p, p + len). */
static void
check_parts(const CgEnvelope *env, const uint8 *p, size_t len)
{
	const uint8 *end = p + len;

	if (env->header != p)
		cg_fuzz_fail("header does not start the value");
	if (env->nonce < p || env->nonce + CG_NONCE_LEN > end ||
		env->cipher < env->nonce + CG_NONCE_LEN ||
		env->cipher_len > len ||
		env->cipher + env->cipher_len > end ||
		env->tag < env->cipher + env->cipher_len ||
		env->tag + CG_TAG_LEN > end)
		cg_fuzz_fail("envelope parts outside the value (len %zu, cipher_len %zu)",
					 len, env->cipher_len);
}

/* Parse bytes as a datum with a 4-byte header; true if it parsed. */
static bool
parse_as_datum(const uint8 *data, size_t size, bool short_header,
			   CgEnvelope *env, struct varlena **datum)
{
	volatile bool ok = false;
	struct varlena *v;
	const uint8 *body;

	if (short_header)
	{
		uint8	   *b = palloc(1 + size);

		SET_VARSIZE_SHORT(b, 1 + size);
		memcpy(b + 1, data, size);
		v = (struct varlena *) b;
		body = b + 1;
	}
	else
	{
		v = palloc(VARHDRSZ + size);
		SET_VARSIZE(v, VARHDRSZ + size);
		memcpy(VARDATA(v), data, size);
		body = (const uint8 *) VARDATA(v);
	}
	CG_FUZZ_TRY({
		cg_envelope_parse(v, env);
		ok = true;
	}, cg_fuzz_expect_error(malformed_only));
	if (ok)
		check_parts(env, body, size);
	*datum = v;
	return ok;
}

/* from_text(to_text(v)) must give v's bytes back. */
static void
check_text_round_trip(struct varlena *v)
{
	char	   *volatile text = NULL;
	struct varlena *volatile back = NULL;

	CG_FUZZ_TRY({
		text = cg_envelope_to_text(v);
		back = cg_envelope_from_text(text);
	}, cg_fuzz_fail("a parsed envelope did not survive its text form: %s",
					cg_fuzz_error.message));
	if (!cg_text_is_envelope(text))
		cg_fuzz_fail("the text form does not carry the envelope prefix");
	if (VARSIZE_ANY_EXHDR(back) != VARSIZE_ANY_EXHDR(v) ||
		memcmp(VARDATA_ANY(back), VARDATA_ANY(v), VARSIZE_ANY_EXHDR(v)) != 0)
		cg_fuzz_fail("text form round trip changed the envelope");
}

/* Opening: authenticated plaintext of cipher_len bytes, or a clean failure. */
static void
check_open(const CgEnvelope *env)
{
	char	   *volatile plain = NULL;
	size_t		len = 0;

	CG_FUZZ_TRY({
		plain = cg_envelope_open(env, cg_fuzz_data_key, &len);
	}, cg_fuzz_expect_error(open_errors));
	if (plain != NULL && (len > env->cipher_len || plain[len] != '\0'))
		cg_fuzz_fail("opened plaintext longer than its ciphertext or unterminated");
}

/* The input as text: the envelope prefix is added if missing. */
static void
fuzz_text(const uint8 *data, size_t size)
{
	size_t		n = strnlen((const char *) data, size);
	char	   *text = palloc(CG_ENV_TEXT_PREFIX_LEN + n + 1);
	struct varlena *volatile v = NULL;
	char	   *volatile again = NULL;

	if (n >= CG_ENV_TEXT_PREFIX_LEN &&
		memcmp(data, CG_ENV_TEXT_PREFIX, CG_ENV_TEXT_PREFIX_LEN) == 0)
	{
		memcpy(text, data, n);
		text[n] = '\0';
	}
	else
	{
		memcpy(text, CG_ENV_TEXT_PREFIX, CG_ENV_TEXT_PREFIX_LEN);
		memcpy(text + CG_ENV_TEXT_PREFIX_LEN, data, n);
		text[CG_ENV_TEXT_PREFIX_LEN + n] = '\0';
	}
	CG_FUZZ_TRY({
		v = cg_envelope_from_text(text);
	}, cg_fuzz_expect_error(malformed_only));
	if (v == NULL)
		return;
	/* accepted text must be a parsable value whose text form is stable */
	{
		CgEnvelope	env;
		volatile bool ok = false;

		CG_FUZZ_TRY({
			cg_envelope_parse(v, &env);
			ok = true;
		}, cg_fuzz_fail("from_text accepted a value parse rejects: %s",
						cg_fuzz_error.message));
		if (ok)
			check_parts(&env, (const uint8 *) VARDATA_ANY(v), VARSIZE_ANY_EXHDR(v));
	}
	check_text_round_trip(v);
	CG_FUZZ_TRY({
		again = cg_envelope_to_text(v);
	}, cg_fuzz_fail("to_text failed: %s", cg_fuzz_error.message));
	(void) again;
}

#ifdef CG_ENV_VERSION_2
/*
 * The input as the decrypted content of a version 2 envelope: sealed
 * under the fake data key, so it authenticates, and the padding rules
 * (length prefix, bucket, zero padding) are all that decide.  The rules
 * are restated here, independently of envelope.c: the length prefix n
 * must fit, 4 + n must have exactly this bucket, the rest must be zero.
 */
static void
fuzz_v2_content(const uint8 *data, size_t size)
{
	size_t		inner = cg_envelope_bucket(size);
	size_t		total = CG_ENV_OVERHEAD + inner;
	struct varlena *v = palloc0(VARHDRSZ + total);
	uint8	   *p = (uint8 *) VARDATA(v);
	uint8	   *content = palloc0(inner);
	CgEnvelope	env;
	char	   *volatile plain = NULL;
	volatile bool malformed = false;
	size_t		len = 0;
	uint32		n;
	bool		canonical;

	SET_VARSIZE(v, VARHDRSZ + total);
	memcpy(content, data, size);
	p[0] = CG_ENV_VERSION_2;
	p[1] = 1;					/* name */
	p[7] = CG_FUZZ_KEY_VERSION;
	p[15] = 1;					/* subject 1 */
	cg_aead_seal(cg_fuzz_data_key, p + CG_ENV_HEADER_LEN, p, CG_ENV_HEADER_LEN,
				 content, inner, p + CG_ENV_HEADER_LEN + CG_NONCE_LEN,
				 p + CG_ENV_HEADER_LEN + CG_NONCE_LEN + inner);
	CG_FUZZ_TRY({
		cg_envelope_parse(v, &env);
		plain = cg_envelope_open(&env, cg_fuzz_data_key, &len);
	}, {
		cg_fuzz_expect_error(malformed_only);
		malformed = true;
	});

	n = ((uint32) content[0] << 24) | ((uint32) content[1] << 16) |
		((uint32) content[2] << 8) | content[3];
	canonical = n <= inner - 4 && cg_envelope_bucket(4 + (size_t) n) == inner;
	for (size_t i = 4 + (canonical ? n : 0); canonical && i < inner; i++)
		canonical = content[i] == 0;
	if (canonical == malformed)
		cg_fuzz_fail("version 2 content %s although its padding is %s",
					 malformed ? "rejected" : "accepted",
					 canonical ? "canonical" : "not canonical");
	if (!malformed &&
		(len != n || memcmp(plain, content + 4, n) != 0 || plain[n] != '\0'))
		cg_fuzz_fail("version 2 content opened to the wrong plaintext");
}
#endif

/*
 * Once per run: envelope texts too long for libFuzzer's inputs.  A text of
 * more than 715,827,882 base64 characters (a value of more than ~512 MB,
 * as a dump holds it) once overflowed the decoded-length arithmetic and
 * failed with XX000 "invalid memory alloc request size" instead of
 * decoding.  Now a text just past that point but within
 * childguard.max_value_size decodes (and this one, all zero bytes, is
 * malformed), and a longer one is refused as too long before decoding.
 */
static void
check_one_long_text(size_t b64len, int expected)
{
	char	   *text;
	int			expect[] = {expected, 0};

	text = palloc(CG_ENV_TEXT_PREFIX_LEN + b64len + 1);
	memcpy(text, CG_ENV_TEXT_PREFIX, CG_ENV_TEXT_PREFIX_LEN);
	memset(text + CG_ENV_TEXT_PREFIX_LEN, 'A', b64len);
	text[CG_ENV_TEXT_PREFIX_LEN + b64len] = '\0';
	CG_FUZZ_TRY({
		(void) cg_envelope_from_text(text);
		cg_fuzz_fail("an all-zero envelope was accepted");
	}, cg_fuzz_expect_error(expect));
	cg_fuzz_reset();
}

static void
check_long_text(void)
{
	cg_fuzz_alloc_cap = (Size) MaxAllocSize;
	check_one_long_text((size_t) 715827884, ERRCODE_CG_MALFORMED_ENVELOPE);
	check_one_long_text((size_t) 716 * 1000 * 1000, ERRCODE_CG_MALFORMED_ENVELOPE);
	check_one_long_text((size_t) 718 * 1000 * 1000, ERRCODE_CG_VALUE_TOO_LONG);
	cg_fuzz_alloc_cap = CG_FUZZ_ALLOC_CAP;
}

int			LLVMFuzzerInitialize(int *argc, char ***argv);

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	check_long_text();
	return 0;
}

int			LLVMFuzzerTestOneInput(const uint8 *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8 *data, size_t size)
{
	CgEnvelope	env4,
				env1;
	struct varlena *v4,
			   *v1;
	bool		ok4,
				ok1;

	ok4 = parse_as_datum(data, size, false, &env4, &v4);
	if (size + 1 <= VARATT_SHORT_MAX)
	{
		ok1 = parse_as_datum(data, size, true, &env1, &v1);
		if (ok1 != ok4)
			cg_fuzz_fail("short and long varlena headers parse differently");
		if (ok1 &&
			(env1.version != env4.version || env1.category != env4.category ||
			 env1.flags != env4.flags || env1.key_version != env4.key_version ||
			 env1.subject != env4.subject || env1.cipher_len != env4.cipher_len))
			cg_fuzz_fail("short and long varlena headers give different fields");
	}
	if (ok4)
	{
		check_text_round_trip(v4);
		check_open(&env4);
	}
	fuzz_text(data, size);
#ifdef CG_ENV_VERSION_2
	fuzz_v2_content(data, size);
#endif
	cg_fuzz_reset();
	return 0;
}
