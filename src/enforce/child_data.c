/*-------------------------------------------------------------------------
 *
 * child_data.c
 *	  The childguard.child_data type: text and binary I/O, the category
 *	  type modifier, and equality.
 *
 * Input accepts plaintext (sealed at once as a pending value, see
 * pending.c) or an envelope's text form (taken as is, so dumps restore
 * without decrypting).  Output and comparison ask decision.c whether
 * the plaintext may be used now; if not, output shows the envelope and
 * comparison is refused, so neither is an oracle.  Binary I/O carries the
 * same text as text I/O, so both routes behave identically.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "funcapi.h"
#include "libpq/pqformat.h"
#include "utils/array.h"
#include "utils/builtins.h"

#include "categories.h"
#include "child_data.h"
#include "citus_node.h"
#include "citus_worker.h"
#include "childguard_errcodes.h"
#include "data_keys.h"
#include "decision.h"
#include "envelope.h"
#include "held_cursor.h"
#include "pending.h"
#include "read_settings.h"
#include "statement.h"
#include "statement_text.h"
#include "write_guard.h"

/* Make a child_data datum from text: an envelope, or plaintext to seal. */
static struct varlena *
value_from_text(const char *text, size_t len)
{
	if (cg_text_is_envelope(text))
	{
		struct varlena *value = cg_envelope_from_text(text);

		if (cg_citus_worker())
			cg_citus_worker_check_sealed(value);
		return value;
	}
	if (cg_citus_worker())
		cg_citus_worker_refuse_plaintext();
	/* the statement's text holds this plaintext, or it is a parameter: mask it now */
	cg_statement_text_mask_current();
	cg_check_value_size(len);
	cg_write_guard_check_plaintext_input();
	return cg_pending_seal(text, len);
}

/* The error for a denied read (always, when comparing). */
static void
report_denied(const CgEnvelope *env, const char *why, bool comparing)
{
	ereport(ERROR,
			(errcode(ERRCODE_CG_READ_DENIED),
			 errmsg(comparing ? "permission denied to compare child data" :
					"permission denied to read child data"),
			 errdetail("%s The value is %s data of subject %llu.", why,
					   cg_category_name(env->category),
					   (unsigned long long) env->subject),
			 errhint("Reads are allowed for a declared purpose with the child's consent in force, within the purpose's categories and the role's access grant.")));
}

/*
 * The plaintext of value if the session may use it now; NULL if the
 * envelope is to be shown instead; the mask if denied and the session
 * asked for masks.  With required (comparison), anything but plaintext is
 * an error, so comparison is never an oracle.
 */
static char *
open_value(struct varlena *value, bool required, size_t *len)
{
	CgEnvelope	env;
	const uint8 *key;
	CgKeyStatus status;
	const char *why = NULL;
	char	   *plain;

	/* the statement reads or compares child data: its text is masked from now */
	cg_statement_text_mask_current();
	cg_envelope_parse(value, &env);
	if (required && cg_citus_worker())
		cg_citus_worker_refuse_compare();
	if (cg_decision_envelope_only())
	{
		/* logical decoding or a parallel worker: never plaintext */
		if (!required)
			return NULL;
		ereport(ERROR,
				(errcode(ERRCODE_CG_NO_DECISION_HERE),
				 errmsg("cannot compare child data in this context"),
				 errdetail("Child data is not read during logical decoding, in a walsender or in a parallel worker."),
				 errhint("Compare child data in an ordinary session with a declared purpose.")));
	}
	/* nothing opened is kept in a cursor WITH HOLD (held_cursor.c) */
	if (cg_held_cursor_persisting())
		cg_held_cursor_refuse();
	if (env.flags & CG_ENV_PENDING)
	{
		/* this session's own typed-in value, not yet sealed for a child */
		if (cg_decision_purpose() == NULL)
			goto no_purpose;
		return cg_pending_open(&env, len);
	}
	switch (cg_decide_read(env.subject, env.category, &why))
	{
		case CG_VERDICT_ENVELOPE:
			/* comparing a child's value without a purpose: a denied read */
			if (required)
				cg_statement_note(env.subject, CG_ACCESS_DENIED);
			goto no_purpose;
		case CG_VERDICT_DENY:
			if (required || cg_denied_read() == CG_DENIED_ERROR)
				report_denied(&env, why, required);
			*len = strlen(cg_denied_mask());
			return pstrdup(cg_denied_mask());
		case CG_VERDICT_ALLOW:
			break;
	}
	/* admitted for audit now; noted as read only once decrypted */
	cg_statement_attempt();
	key = cg_data_key(env.subject, env.key_version, &status);
	if (key == NULL && status == CG_KEY_DESTROYED && !required)
	{
		cg_statement_note(env.subject, CG_ACCESS_DENIED);
		return NULL;
	}
	if (key == NULL)
		ereport(ERROR,
				(errcode(status == CG_KEY_DESTROYED ? ERRCODE_CG_CHILD_ERASED :
						 ERRCODE_CG_DATA_KEY_UNAVAILABLE),
				 errmsg(status == CG_KEY_DESTROYED ?
						"child data value belongs to an erased child" :
						"no data key for this child data value in this database"),
				 errdetail("The value is sealed for subject %llu, key version %u.",
						   (unsigned long long) env.subject, env.key_version)));
	plain = cg_envelope_open(&env, key, len);
	cg_statement_note(env.subject, CG_ACCESS_READ);
	return plain;

no_purpose:
	if (!required)
		return NULL;
	ereport(ERROR,
			(errcode(ERRCODE_CG_PURPOSE_REQUIRED),
			 errmsg("cannot compare child data without a declared purpose"),
			 errdetail("Comparing child data reads it, and reading needs a purpose."),
			 errhint("SET childguard.purpose to the purpose of this work.")));
	return NULL;				/* keep compiler quiet */
}

/* What text and binary output show: the plaintext if allowed, else the envelope. */
static char *
value_to_text(struct varlena *value, size_t *len)
{
	char	   *text;

	/* a Citus coordinator ships envelopes; only its client gets decided reads */
	if (cg_citus_envelope_only())
	{
		text = cg_envelope_to_text(value);
		*len = strlen(text);
		cg_statement_text_note_child_output();
		return text;
	}
	text = open_value(value, false, len);

	if (text == NULL)
	{
		text = cg_envelope_to_text(value);
		*len = strlen(text);
	}
	/* plaintext or envelope (not the mask) may end up in an error's row description */
	if (strcmp(text, cg_denied_mask()) != 0)
		cg_statement_text_note_child_output();
	return text;
}

PG_FUNCTION_INFO_V1(child_data_in);
Datum
child_data_in(PG_FUNCTION_ARGS)
{
	char	   *text = PG_GETARG_CSTRING(0);

	PG_RETURN_POINTER(value_from_text(text, strlen(text)));
}

PG_FUNCTION_INFO_V1(child_data_out);
Datum
child_data_out(PG_FUNCTION_ARGS)
{
	size_t		len;

	PG_RETURN_CSTRING(value_to_text(PG_DETOAST_DATUM_PACKED(PG_GETARG_DATUM(0)), &len));
}

PG_FUNCTION_INFO_V1(child_data_recv);
Datum
child_data_recv(PG_FUNCTION_ARGS)
{
	StringInfo	buf = (StringInfo) PG_GETARG_POINTER(0);
	int			nbytes;
	char	   *text;

	/* neither a plaintext nor an envelope within the limits is longer */
	cg_check_envelope_text_size(buf->len - buf->cursor);
	text = pq_getmsgtext(buf, buf->len - buf->cursor, &nbytes);

	PG_RETURN_POINTER(value_from_text(text, nbytes));
}

PG_FUNCTION_INFO_V1(child_data_send);
Datum
child_data_send(PG_FUNCTION_ARGS)
{
	size_t		len;
	char	   *text = value_to_text(PG_DETOAST_DATUM_PACKED(PG_GETARG_DATUM(0)), &len);
	StringInfoData buf;

	pq_begintypsend(&buf);
	pq_sendtext(&buf, text, len);
	PG_RETURN_BYTEA_P(pq_endtypsend(&buf));
}

PG_FUNCTION_INFO_V1(child_data_typmod_in);
Datum
child_data_typmod_in(PG_FUNCTION_ARGS)
{
	ArrayType  *ta = PG_GETARG_ARRAYTYPE_P(0);
	Datum	   *elems;
	int			n;
	int			category;

	deconstruct_array(ta, CSTRINGOID, -2, false, TYPALIGN_CHAR, &elems, NULL, &n);
	if (n != 1)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("child_data takes exactly one type modifier, its data category"),
				 errhint("Write, for example, childguard.child_data(name).")));
	category = cg_category_lookup(DatumGetCString(elems[0]));
	if (category == 0)
		cg_report_unknown_category(DatumGetCString(elems[0]));
	PG_RETURN_INT32(category);
}

PG_FUNCTION_INFO_V1(child_data_typmod_out);
Datum
child_data_typmod_out(PG_FUNCTION_ARGS)
{
	int32		typmod = PG_GETARG_INT32(0);

	PG_RETURN_CSTRING(cg_category_is_valid(typmod) ?
					  psprintf("(%s)", cg_category_name(typmod)) : pstrdup(""));
}

/*
 * The plaintext of a value about to be compared, hashed or matched: a
 * decided, audited read; anything but plaintext (no purpose, denied,
 * erased) is an error, so comparison is never an oracle.  The caller
 * wipes it (explicit_bzero) when done.
 */
char *
cg_child_data_plaintext(Datum value, size_t *len)
{
	struct varlena *v = PG_DETOAST_DATUM_PACKED(value);
	char	   *plain = open_value(v, true, len);

	/* a sort compares many times in one context: free what detoasting made */
	if ((Pointer) v != DatumGetPointer(value))
		pfree(v);
	return plain;
}

/* Both plaintexts, for comparison; each a read under the policy. */
static bool
plaintexts_equal(FunctionCallInfo fcinfo)
{
	size_t		alen,
				blen;
	char	   *a = cg_child_data_plaintext(PG_GETARG_DATUM(0), &alen);
	char	   *b = cg_child_data_plaintext(PG_GETARG_DATUM(1), &blen);
	bool		equal = alen == blen && memcmp(a, b, alen) == 0;

	explicit_bzero(a, alen);
	explicit_bzero(b, blen);
	return equal;
}

PG_FUNCTION_INFO_V1(child_data_eq);
Datum
child_data_eq(PG_FUNCTION_ARGS)
{
	PG_RETURN_BOOL(plaintexts_equal(fcinfo));
}

PG_FUNCTION_INFO_V1(child_data_ne);
Datum
child_data_ne(PG_FUNCTION_ARGS)
{
	PG_RETURN_BOOL(!plaintexts_equal(fcinfo));
}

PG_FUNCTION_INFO_V1(child_data_envelope);

/* childguard.envelope(child_data) -> text: the sealed form, always. */
Datum
child_data_envelope(PG_FUNCTION_ARGS)
{
	struct varlena *value = PG_DETOAST_DATUM_PACKED(PG_GETARG_DATUM(0));

	PG_RETURN_TEXT_P(cstring_to_text(cg_envelope_to_text(value)));
}

PG_FUNCTION_INFO_V1(child_data_envelope_info);

/*
 * childguard.envelope_info(child_data) -> (format_version, category,
 * subject_no, key_version, pending, ciphertext_bytes): the public header
 * of a value, for inspection; reads nothing secret.  ciphertext_bytes is
 * the value's size bucket, never its exact length (envelope.h).
 */
Datum
child_data_envelope_info(PG_FUNCTION_ARGS)
{
	struct varlena *value = PG_DETOAST_DATUM_PACKED(PG_GETARG_DATUM(0));
	CgEnvelope	env;
	TupleDesc	tupdesc;
	Datum		values[6];
	bool		nulls[6] = {false, false, false, false, false, false};

	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");
	cg_envelope_parse(value, &env);
	values[0] = Int32GetDatum(env.version);
	if (env.flags & CG_ENV_PENDING)
	{
		nulls[1] = nulls[2] = nulls[3] = true;
	}
	else
	{
		values[1] = CStringGetTextDatum(cg_category_name(env.category));
		values[2] = Int64GetDatum((int64) env.subject);
		values[3] = Int32GetDatum((int32) env.key_version);
	}
	values[4] = BoolGetDatum((env.flags & CG_ENV_PENDING) != 0);
	values[5] = Int64GetDatum((int64) cg_envelope_size_bucket(&env));
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(BlessTupleDesc(tupdesc),
													  values, nulls)));
}
