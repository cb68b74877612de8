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

PG_FUNCTION_INFO_V1(cg_hash_chain_step);

/* childguard._hash_chain_step(state bytea, seed bytea, t text) -> bytea */
Datum
cg_hash_chain_step(PG_FUNCTION_ARGS)
{
	bytea	   *prev = NULL;
	text	   *t;
	const char *src;
	int			len;
	char	   *utf8;
	int			utf8_len;
	pg_cryptohash_ctx *ctx;
	bytea	   *result;

	if (PG_ARGISNULL(2))
		PG_RETURN_NULL();
	if (!PG_ARGISNULL(0))
		prev = PG_GETARG_BYTEA_PP(0);
	else if (!PG_ARGISNULL(1))
		prev = PG_GETARG_BYTEA_PP(1);
	t = PG_GETARG_TEXT_PP(2);
	src = VARDATA_ANY(t);
	len = VARSIZE_ANY_EXHDR(t);
	/* convert_to(t, 'UTF8'): the same bytes when the server is UTF-8 */
	utf8 = pg_server_to_any(src, len, PG_UTF8);
	utf8_len = utf8 == src ? len : strlen(utf8);

	result = (bytea *) palloc(VARHDRSZ + PG_SHA256_DIGEST_LENGTH);
	SET_VARSIZE(result, VARHDRSZ + PG_SHA256_DIGEST_LENGTH);
	ctx = pg_cryptohash_create(PG_SHA256);
	if (pg_cryptohash_init(ctx) < 0 ||
		(prev != NULL &&
		 pg_cryptohash_update(ctx, (const uint8 *) VARDATA_ANY(prev),
							  VARSIZE_ANY_EXHDR(prev)) < 0) ||
		pg_cryptohash_update(ctx, (const uint8 *) utf8, utf8_len) < 0 ||
		pg_cryptohash_final(ctx, (uint8 *) VARDATA(result),
							PG_SHA256_DIGEST_LENGTH) < 0)
	{
		pg_cryptohash_free(ctx);
		elog(ERROR, "could not compute SHA-256 for the childguard consent log");
	}
	pg_cryptohash_free(ctx);
	if (utf8 != src)
		pfree(utf8);
	PG_RETURN_BYTEA_P(result);
}

PG_FUNCTION_INFO_V1(cg_consent_event_json);

/*
 * childguard._consent_event_json(event_id bigint, at_us bigint,
 *	   consent_id bigint, subject_no bigint, purpose_id integer, event text,
 *	   giver_kind text, guardian_id text, notice_id text,
 *	   notice_version integer, by_role oid, by_role_name text,
 *	   session_role_name text) -> text
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
