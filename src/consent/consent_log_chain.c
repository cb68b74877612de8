/*-------------------------------------------------------------------------
 *
 * consent_log_chain.c
 *	  The consent log's hash chain in C: one step of the chain (the
 *	  transition function of the aggregate childguard._hash_chain(seed,
 *	  text), which the consent log's statement trigger runs as a window
 *	  aggregate over a statement's events in order), and an event's
 *	  canonical text.
 *
 * The step is SHA-256(previous || text in UTF-8), the previous value being
 * the running state, else the seed (the log head's hash before the batch),
 * else empty; a NULL text gives NULL.  That is exactly the SQL function it
 * replaces (sha256(coalesce(state, seed, '') || convert_to(t, 'UTF8'))), so
 * verify_consent_log() and every hash already written stay valid; as SQL
 * it cost an SQL function call per event, several times the hash itself,
 * in bulk registration (record_consents).
 *
 * An event's canonical text is what _consent_event_text() makes with
 * jsonb_build_array(...)::text: a JSON array, elements separated by ", ",
 * integers in decimal, an oid as a string of its digits (jsonb's
 * category for it), strings escaped as jsonb prints them (escape_json),
 * NULL as null.  Built directly it costs a fraction of building a jsonb
 * value and printing it (about 13 µs an event here); verify_consent_log()
 * recomputes every event's text with _consent_event_text(), so a
 * difference would show there, and regress registration_references
 * compares the two on awkward strings.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "common/cryptohash.h"
#include "common/sha2.h"
#include "fmgr.h"
#include "lib/stringinfo.h"
#include "mb/pg_wchar.h"
#include "utils/builtins.h"
#include "utils/json.h"

#include "consent_log_chain.h"

/*
 * out = SHA-256(prev || text in UTF-8).  convert_to(t, 'UTF8') gives the
 * same bytes when the server is UTF-8.
 */
void
cg_chain_step(pg_cryptohash_ctx *ctx, const char *prev, int prev_len,
			  const char *text, int text_len, uint8 out[PG_SHA256_DIGEST_LENGTH])
{
	char	   *utf8 = pg_server_to_any(text, text_len, PG_UTF8);
	int			utf8_len = utf8 == text ? text_len : strlen(utf8);

	if (pg_cryptohash_init(ctx) < 0 ||
		(prev != NULL &&
		 pg_cryptohash_update(ctx, (const uint8 *) prev, prev_len) < 0) ||
		pg_cryptohash_update(ctx, (const uint8 *) utf8, utf8_len) < 0 ||
		pg_cryptohash_final(ctx, out, PG_SHA256_DIGEST_LENGTH) < 0)
		elog(ERROR, "could not compute SHA-256 for the childguard consent log");
	if (utf8 != text)
		pfree(utf8);
}

PG_FUNCTION_INFO_V1(cg_hash_chain_step);

/* childguard._hash_chain_step(state bytea, seed bytea, t text) -> bytea */
Datum
cg_hash_chain_step(PG_FUNCTION_ARGS)
{
	bytea	   *prev = NULL;
	text	   *t;
	pg_cryptohash_ctx *ctx;
	bytea	   *result;

	if (PG_ARGISNULL(2))
		PG_RETURN_NULL();
	if (!PG_ARGISNULL(0))
		prev = PG_GETARG_BYTEA_PP(0);
	else if (!PG_ARGISNULL(1))
		prev = PG_GETARG_BYTEA_PP(1);
	t = PG_GETARG_TEXT_PP(2);

	result = (bytea *) palloc(VARHDRSZ + PG_SHA256_DIGEST_LENGTH);
	SET_VARSIZE(result, VARHDRSZ + PG_SHA256_DIGEST_LENGTH);
	/* on an error the resource owner frees ctx */
	ctx = pg_cryptohash_create(PG_SHA256);
	cg_chain_step(ctx, prev ? VARDATA_ANY(prev) : NULL,
				  prev ? VARSIZE_ANY_EXHDR(prev) : 0,
				  VARDATA_ANY(t), VARSIZE_ANY_EXHDR(t),
				  (uint8 *) VARDATA(result));
	pg_cryptohash_free(ctx);
	PG_RETURN_BYTEA_P(result);
}

/* a string element: escaped as jsonb prints it, or null */
static void
append_string(StringInfo buf, const char *s)
{
	if (s == NULL)
		appendStringInfoString(buf, "null");
	else
		escape_json(buf, s);
}

void
cg_consent_event_text(StringInfo buf, const CgConsentEventText *ev)
{
	appendStringInfo(buf, "[" INT64_FORMAT ", " INT64_FORMAT ", " INT64_FORMAT ", " INT64_FORMAT ", %d, ",
					 ev->event_id, ev->at_us, ev->consent_id, ev->subject_no, ev->purpose_id);
	append_string(buf, ev->event);
	appendStringInfoString(buf, ", ");
	append_string(buf, ev->giver_kind);
	appendStringInfoString(buf, ", ");
	append_string(buf, ev->guardian_id);
	appendStringInfoString(buf, ", ");
	append_string(buf, ev->notice_id);
	appendStringInfo(buf, ", %d, ", ev->notice_version);
	/* jsonb takes an oid as a string (its output function's) */
	if (ev->by_role_null)
		appendStringInfoString(buf, "null");
	else
		appendStringInfo(buf, "\"%u\"", ev->by_role);
	appendStringInfoString(buf, ", ");
	append_string(buf, ev->by_role_name);
	appendStringInfoString(buf, ", ");
	append_string(buf, ev->session_role_name);
	appendStringInfoChar(buf, ']');
}

PG_FUNCTION_INFO_V1(cg_consent_event_json);

/*
 * childguard._consent_event_json(event_id bigint, at_us bigint,
 *	   consent_id bigint, subject_no bigint, purpose_id integer, event text,
 *	   giver_kind text, guardian_id text, notice_id text,
 *	   notice_version integer, by_role oid, by_role_name text,
 *	   session_role_name text) -> text
 *
 * The numbers are never NULL where the log's columns are NOT NULL; a NULL
 * one still prints as null, as jsonb_build_array would.
 */
Datum
cg_consent_event_json(PG_FUNCTION_ARGS)
{
	/* each argument's kind: i int8, 4 int4, o oid, t text */
	static const char kinds[] = "iiii4tttt4ott";
	StringInfoData buf;
	int			nargs = PG_NARGS();

	if (nargs != 13)
		elog(ERROR, "childguard._consent_event_json() takes 13 arguments");
	initStringInfo(&buf);
	if (!PG_ARGISNULL(0) && !PG_ARGISNULL(1) && !PG_ARGISNULL(2) && !PG_ARGISNULL(3) &&
		!PG_ARGISNULL(4) && !PG_ARGISNULL(9))
	{
		CgConsentEventText ev;

		/* every number present (the log's columns are NOT NULL) */
		ev.event_id = PG_GETARG_INT64(0);
		ev.at_us = PG_GETARG_INT64(1);
		ev.consent_id = PG_GETARG_INT64(2);
		ev.subject_no = PG_GETARG_INT64(3);
		ev.purpose_id = PG_GETARG_INT32(4);
		ev.event = PG_ARGISNULL(5) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(5));
		ev.giver_kind = PG_ARGISNULL(6) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(6));
		ev.guardian_id = PG_ARGISNULL(7) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(7));
		ev.notice_id = PG_ARGISNULL(8) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(8));
		ev.notice_version = PG_GETARG_INT32(9);
		ev.by_role_null = PG_ARGISNULL(10);
		ev.by_role = ev.by_role_null ? InvalidOid : PG_GETARG_OID(10);
		ev.by_role_name = PG_ARGISNULL(11) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(11));
		ev.session_role_name = PG_ARGISNULL(12) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(12));
		cg_consent_event_text(&buf, &ev);
		PG_RETURN_TEXT_P(cstring_to_text_with_len(buf.data, buf.len));
	}

	/* a NULL number: element by element, as before */
	appendStringInfoChar(&buf, '[');
	for (int i = 0; i < nargs; i++)
	{
		char		kind = kinds[i];

		if (i > 0)
			appendStringInfoString(&buf, ", ");
		if (PG_ARGISNULL(i))
		{
			appendStringInfoString(&buf, "null");
			continue;
		}
		switch (kind)
		{
			case 'i':
				appendStringInfo(&buf, INT64_FORMAT, PG_GETARG_INT64(i));
				break;
			case '4':
				appendStringInfo(&buf, "%d", PG_GETARG_INT32(i));
				break;
			case 'o':
				/* jsonb takes an oid as a string (its output function's) */
				appendStringInfo(&buf, "\"%u\"", PG_GETARG_OID(i));
				break;
			default:
				escape_json(&buf, text_to_cstring(PG_GETARG_TEXT_PP(i)));
				break;
		}
	}
	appendStringInfoChar(&buf, ']');
	PG_RETURN_TEXT_P(cstring_to_text_with_len(buf.data, buf.len));
}
