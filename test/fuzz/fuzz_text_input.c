/*-------------------------------------------------------------------------
 *
 * fuzz_text_input.c
 *	  libFuzzer target for child_data's input path (src/enforce/child_data.c):
 *	  text and binary input of plaintext and of envelope text, then output,
 *	  binary send and equality on the value that came in.
 *
 * The first input byte sets the session's situation (the stand-ins below
 * answer from it): the read verdict, whether a purpose is declared, the
 * denied-read mode, whether the write guard refuses plaintext, text or
 * binary input, and the key status of unknown key versions.  The rest is
 * the text.  The real envelope.c, pending.c, crypto.c and categories.c are
 * linked; decisions, keys and the write guard are stand-ins.
 *
 * Rules checked besides the sanitizers:
 *	- bad input is an ERROR with a specific SQLSTATE (never XX000);
 *	- plaintext typed in comes back out unchanged to its own session;
 *	- without a purpose, or where no decision can be made (logical
 *	  decoding, a parallel worker), output is the envelope, never
 *	  plaintext, and the envelope goes back in to the same bytes;
 *	- a denied read shows the mask (or fails), never plaintext;
 *	- binary send carries the same text as output;
 *	- a value equals itself whenever it can be compared.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "fmgr.h"
#include "lib/stringinfo.h"

#include "childguard_errcodes.h"
#include "citus_node.h"
#include "citus_worker.h"
#include "data_keys.h"
#include "decision.h"
#include "envelope.h"
#include "fuzz_pg.h"
#include "held_cursor.h"
#include "read_settings.h"
#include "secure_mem.h"
#include "statement.h"
#include "statement_text.h"
#include "write_guard.h"

extern Datum child_data_in(PG_FUNCTION_ARGS);
extern Datum child_data_out(PG_FUNCTION_ARGS);
extern Datum child_data_recv(PG_FUNCTION_ARGS);
extern Datum child_data_send(PG_FUNCTION_ARGS);
extern Datum child_data_eq(PG_FUNCTION_ARGS);
extern void cg_fuzz_verify_server_text(const char *s, int len);

#define FUZZ_MASK "***"

/* ---- the session's situation, from the control byte ---------------------- */

static uint8 control;

#define C_VERDICT(c)		((c) & 0x03)	/* 0 envelope, 1/3 allow, 2 deny */
#define C_PURPOSE			0x04
#define C_DENIED_MASK		0x08
#define C_GUARD_REFUSES		0x10
#define C_BINARY			0x20
#define C_DESTROYED			0x40
#define C_ENVELOPE_ONLY		0x80	/* logical decoding, parallel worker */

static CgVerdict
verdict(void)
{
	/* as decision.c: no purpose, no decision */
	if (!(control & C_PURPOSE))
		return CG_VERDICT_ENVELOPE;
	switch (C_VERDICT(control))
	{
		case 0:
			return CG_VERDICT_ENVELOPE;
		case 2:
			return CG_VERDICT_DENY;
		default:
			return CG_VERDICT_ALLOW;
	}
}

CgVerdict
cg_decide_read(uint64 subject_no, int category, const char **why)
{
	*why = "The fuzz harness denies this read.";
	return verdict();
}

/* statement_text.c: no client statement text to mask here */
void
cg_statement_text_mask_current(void)
{
}

void
cg_statement_text_note_child_output(void)
{
}

/* statement.c's bookkeeping: nothing to keep for one input */
void
cg_statement_attempt(void)
{
}

void
cg_statement_note(uint64 subject_no, CgAccess access)
{
}

/* citus_node.c, citus_worker.c: the harness is a single node (not a Citus worker) */
bool
cg_citus_worker(void)
{
	return false;
}

bool
cg_citus_envelope_only(void)
{
	return false;
}

void
cg_citus_worker_check_sealed(struct varlena *value)
{
	cg_fuzz_fail("cg_citus_worker_check_sealed is not part of the fuzzed paths");
}

void
cg_citus_worker_refuse_plaintext(void)
{
	cg_fuzz_fail("cg_citus_worker_refuse_plaintext is not part of the fuzzed paths");
}

void
cg_citus_worker_refuse_compare(void)
{
	cg_fuzz_fail("cg_citus_worker_refuse_compare is not part of the fuzzed paths");
}

/* held_cursor.c: no cursor is being kept across a commit here */
bool
cg_held_cursor_persisting(void)
{
	return false;
}

void
cg_held_cursor_refuse(void)
{
	cg_fuzz_fail("cg_held_cursor_refuse is not part of the fuzzed paths");
}

bool
cg_decision_envelope_only(void)
{
	return (control & C_ENVELOPE_ONLY) != 0;
}

const char *
cg_decision_purpose(void)
{
	return (control & C_PURPOSE) ? "fuzz" : NULL;
}

CgDeniedRead
cg_denied_read(void)
{
	return (control & C_DENIED_MASK) ? CG_DENIED_MASK : CG_DENIED_ERROR;
}

const char *
cg_denied_mask(void)
{
	return FUZZ_MASK;
}

const uint8 *
cg_data_key(uint64 subject_no, uint32 key_version, CgKeyStatus *status)
{
	if (key_version == CG_FUZZ_KEY_VERSION)
	{
		*status = CG_KEY_FOUND;
		return cg_fuzz_data_key;
	}
	*status = (control & C_DESTROYED) ? CG_KEY_DESTROYED : CG_KEY_MISSING;
	return NULL;
}

void
cg_write_guard_check_plaintext_input(void)
{
	if (control & C_GUARD_REFUSES)
		ereport(ERROR,
				(errcode(ERRCODE_CG_TABLE_NOT_PROTECTED),
				 errmsg("cannot copy plaintext child data into table \"%s\"", "fuzz")));
}

/* The session key lives here instead of in the locked arena. */
static uint8 secure_arena[4096];
static size_t secure_used = 0;

void *
cg_secure_alloc(Size size)
{
	void	   *p;

	size = MAXALIGN(size);
	if (secure_used + size > sizeof(secure_arena))
		cg_fuzz_fail("secure arena exhausted");
	p = secure_arena + secure_used;
	secure_used += size;
	return p;
}

void
cg_secure_mem_ensure_locked(void)
{
}

/* ---- calling the type's functions ----------------------------------------- */

static Datum
call1(PGFunction fn, Datum arg)
{
	LOCAL_FCINFO(fcinfo, 1);

	InitFunctionCallInfoData(*fcinfo, NULL, 1, InvalidOid, NULL, NULL);
	fcinfo->args[0].value = arg;
	fcinfo->args[0].isnull = false;
	return fn(fcinfo);
}

static Datum
call2(PGFunction fn, Datum a, Datum b)
{
	LOCAL_FCINFO(fcinfo, 2);

	InitFunctionCallInfoData(*fcinfo, NULL, 2, InvalidOid, NULL, NULL);
	fcinfo->args[0].value = a;
	fcinfo->args[0].isnull = false;
	fcinfo->args[1].value = b;
	fcinfo->args[1].isnull = false;
	return fn(fcinfo);
}

/* SQLSTATEs a bad input may legitimately end in. */
static const int input_errors[] = {
	ERRCODE_CG_MALFORMED_ENVELOPE,
	ERRCODE_CG_TABLE_NOT_PROTECTED,
	ERRCODE_CHARACTER_NOT_IN_REPERTOIRE,
	ERRCODE_PROGRAM_LIMIT_EXCEEDED,
	0
};

/* ...and reading a value that came in. */
static const int read_errors[] = {
	ERRCODE_CG_AUTHENTICATION_FAILED,
	ERRCODE_CG_READ_DENIED,
	ERRCODE_CG_PURPOSE_REQUIRED,
	ERRCODE_CG_FOREIGN_PENDING_VALUE,
	ERRCODE_CG_CHILD_ERASED,
	ERRCODE_CG_DATA_KEY_UNAVAILABLE,
	ERRCODE_CG_NO_DECISION_HERE,
	ERRCODE_CG_MALFORMED_ENVELOPE,	/* v2 padding, found only on opening */
	0
};

static bool
same_datum(struct varlena *a, struct varlena *b)
{
	return VARSIZE_ANY_EXHDR(a) == VARSIZE_ANY_EXHDR(b) &&
		memcmp(VARDATA_ANY(a), VARDATA_ANY(b), VARSIZE_ANY_EXHDR(a)) == 0;
}

int			LLVMFuzzerTestOneInput(const uint8 *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8 *data, size_t size)
{
	const char *text;
	size_t		len;
	bool		is_envelope_text;
	struct varlena *volatile value = NULL;
	char	   *volatile out = NULL;
	bytea	   *volatile sent = NULL;
	volatile bool equal = false;
	volatile bool compared = false;

	if (size < 1)
		return 0;
	control = data[0];
	text = (const char *) data + 1;
	len = size - 1;

	/* ---- in ---- */
	if (control & C_BINARY)
	{
		StringInfoData buf;

		buf.data = palloc(len + 1);
		memcpy(buf.data, text, len);
		buf.data[len] = '\0';
		buf.len = len;
		buf.maxlen = len + 1;
		buf.cursor = 0;
		CG_FUZZ_TRY({
			value = (struct varlena *) DatumGetPointer(call1(child_data_recv,
															 PointerGetDatum(&buf)));
		}, cg_fuzz_expect_error(input_errors));
	}
	else
	{
		/* a cstring without zero bytes, as the parser hands it */
		char	   *cstr;

		len = strnlen(text, len);
		cstr = palloc(len + 1);
		memcpy(cstr, text, len);
		cstr[len] = '\0';
		CG_FUZZ_TRY({
			cg_fuzz_verify_server_text(cstr, len);
			value = (struct varlena *) DatumGetPointer(call1(child_data_in,
															 CStringGetDatum(cstr)));
		}, cg_fuzz_expect_error(input_errors));
	}
	if (value == NULL)
		goto done;
	is_envelope_text = len >= CG_ENV_TEXT_PREFIX_LEN &&
		memcmp(text, CG_ENV_TEXT_PREFIX, CG_ENV_TEXT_PREFIX_LEN) == 0;
	if (!is_envelope_text && (control & C_GUARD_REFUSES))
		cg_fuzz_fail("plaintext accepted although the write guard refuses it");

	/* ---- out ---- */
	CG_FUZZ_TRY({
		out = DatumGetCString(call1(child_data_out, PointerGetDatum(value)));
	}, cg_fuzz_expect_error(read_errors));
	if (out != NULL)
	{
		bool		out_is_envelope = cg_text_is_envelope(out);

		if (cg_decision_envelope_only())
		{
			if (!out_is_envelope)
				cg_fuzz_fail("plaintext shown where only envelopes may be");
		}
		else if (!is_envelope_text && cg_decision_purpose() != NULL)
		{
			/* this session's own typed-in value: exactly what went in */
			if (strlen(out) != len || memcmp(out, text, len) != 0)
				cg_fuzz_fail("typed-in plaintext came back changed");
		}
		else if (cg_decision_purpose() == NULL && !out_is_envelope)
			cg_fuzz_fail("plaintext shown without a declared purpose");
		else if (is_envelope_text && verdict() == CG_VERDICT_DENY &&
				 strcmp(out, FUZZ_MASK) != 0)
			cg_fuzz_fail("a denied read showed something other than the mask");
		else if (is_envelope_text && verdict() == CG_VERDICT_ENVELOPE &&
				 !out_is_envelope)
			cg_fuzz_fail("plaintext shown on an envelope verdict");

		if (out_is_envelope)
		{
			struct varlena *volatile back = NULL;

			CG_FUZZ_TRY({
				back = cg_envelope_from_text(out);
			}, cg_fuzz_fail("output envelope does not go back in: %s",
							cg_fuzz_error.message));
			if (!same_datum(back, value))
				cg_fuzz_fail("output envelope goes back in as different bytes");
		}

		/* ---- send: the same text as output ---- */
		CG_FUZZ_TRY({
			sent = DatumGetByteaPP(call1(child_data_send, PointerGetDatum(value)));
		}, cg_fuzz_fail("send failed where output succeeded: %s",
						cg_fuzz_error.message));
		if (VARSIZE_ANY_EXHDR(sent) != strlen(out) ||
			memcmp(VARDATA_ANY(sent), out, strlen(out)) != 0)
			cg_fuzz_fail("binary send differs from text output");
	}

	/* ---- equality: a value equals itself whenever it can be compared ---- */
	CG_FUZZ_TRY({
		equal = DatumGetBool(call2(child_data_eq, PointerGetDatum(value),
								   PointerGetDatum(value)));
		compared = true;
	}, cg_fuzz_expect_error(read_errors));
	if (compared && !equal)
		cg_fuzz_fail("a value is not equal to itself");

done:
	cg_fuzz_reset();
	return 0;
}
