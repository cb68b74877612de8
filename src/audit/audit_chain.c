/*-------------------------------------------------------------------------
 *
 * audit_chain.c
 *	  The hash chain over childguard.access_log, and
 *	  childguard.verify_access_log().
 *
 * Each record's hash is SHA-256(prev_hash || canonical form of its other
 * columns), prev_hash being the previous record's hash (32 zero bytes
 * for the very first record of the database).  The canonical form is
 * independent of settings (DateStyle, TimeZone, bytea_output): for each
 * column in table order, a type tag and the value in a fixed binary form
 * (integers and timestamps as 8 big-endian bytes, text as a 4-byte
 * length and its bytes, arrays as a count and their items, NULL as its
 * own tag).  The writer (audit_worker.c) and the verifier call the same
 * function on the same Datums, so they cannot drift apart.
 *
 * childguard.access_log_head holds the chain's head (last id and hash)
 * and what a retention purge removed (the last purged id and its hash),
 * so deleting the newest or the oldest records is detected as well as a
 * gap or an edit in between.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "common/cryptohash.h"
#include "common/sha2.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"

#include "audit.h"

const char *const cg_audit_column_names[CG_AUDIT_NCOLUMNS] = {
	"id", "statement_at", "logged_at", "session_id", "backend_pid",
	"session_role", "acting_role", "client_addr", "application_name",
	"command", "purpose", "grant_id", "relations", "columns",
	"children_read", "children_denied", "children_written", "children",
	"rows", "outcome", "sqlstate", "query_id", "prev_hash", "hash"
};

const Oid	cg_audit_column_types[CG_AUDIT_NCOLUMNS] = {
	INT8OID, TIMESTAMPTZOID, TIMESTAMPTZOID, TEXTOID, INT4OID,
	TEXTOID, TEXTOID, TEXTOID, TEXTOID,
	TEXTOID, TEXTOID, INT8OID, TEXTARRAYOID, TEXTARRAYOID,
	INT8ARRAYOID, INT8ARRAYOID, INT8ARRAYOID, INT4OID,
	INT8OID, TEXTOID, TEXTOID, INT8OID, BYTEAOID, BYTEAOID
};

static void
put_u64(StringInfo buf, uint64 v)
{
	for (int i = 7; i >= 0; i--)
		appendStringInfoChar(buf, (char) ((v >> (i * 8)) & 0xFF));
}

static void
put_u32(StringInfo buf, uint32 v)
{
	for (int i = 3; i >= 0; i--)
		appendStringInfoChar(buf, (char) ((v >> (i * 8)) & 0xFF));
}

static void
put_bytes(StringInfo buf, const char *p, uint32 len)
{
	put_u32(buf, len);
	appendBinaryStringInfo(buf, p, len);
}

/* One column's canonical form. */
static void
canonical_value(StringInfo buf, Oid type, Datum value, bool isnull)
{
	if (isnull)
	{
		appendStringInfoChar(buf, 'n');
		return;
	}
	switch (type)
	{
		case INT8OID:
			appendStringInfoChar(buf, 'i');
			put_u64(buf, (uint64) DatumGetInt64(value));
			break;
		case INT4OID:
			appendStringInfoChar(buf, 'i');
			put_u64(buf, (uint64) (int64) DatumGetInt32(value));
			break;
		case TIMESTAMPTZOID:
			appendStringInfoChar(buf, 't');
			put_u64(buf, (uint64) DatumGetTimestampTz(value));
			break;
		case TEXTOID:
		case BYTEAOID:
			{
				struct varlena *v = PG_DETOAST_DATUM_PACKED(value);

				appendStringInfoChar(buf, type == TEXTOID ? 's' : 'b');
				put_bytes(buf, VARDATA_ANY(v), VARSIZE_ANY_EXHDR(v));
				break;
			}
		case TEXTARRAYOID:
		case INT8ARRAYOID:
			{
				ArrayType  *a = DatumGetArrayTypeP(value);
				Oid			elemtype = ARR_ELEMTYPE(a);
				int16		typlen;
				bool		typbyval;
				char		typalign;
				Datum	   *elems;
				bool	   *nulls;
				int			n;

				get_typlenbyvalalign(elemtype, &typlen, &typbyval, &typalign);
				deconstruct_array(a, elemtype, typlen, typbyval, typalign,
								  &elems, &nulls, &n);
				appendStringInfoChar(buf, type == TEXTARRAYOID ? 'S' : 'I');
				put_u32(buf, (uint32) n);
				for (int i = 0; i < n; i++)
					canonical_value(buf, elemtype, elems[i], nulls[i]);
				break;
			}
		default:
			elog(ERROR, "unexpected type %u in childguard access log", type);
	}
}

/*
 * hash = SHA-256(prev_hash || canonical form of every column but
 * prev_hash and hash).  prev_hash NULL means the start of the chain.
 */
void
cg_audit_chain_hash(const uint8 *prev_hash, const Datum *values, const bool *nulls,
					uint8 *out)
{
	static const uint8 zero[CG_AUDIT_HASH_LEN];
	StringInfoData buf;
	pg_cryptohash_ctx *ctx;

	initStringInfo(&buf);
	appendStringInfoString(&buf, "childguard access_log v1");
	appendBinaryStringInfo(&buf, (const char *) (prev_hash ? prev_hash : zero),
						   CG_AUDIT_HASH_LEN);
	for (int i = 0; i < CG_AUDIT_NCOLUMNS; i++)
	{
		if (i == CG_COL_PREV_HASH || i == CG_COL_HASH)
			continue;
		canonical_value(&buf, cg_audit_column_types[i], values[i], nulls[i]);
	}
	ctx = pg_cryptohash_create(PG_SHA256);
	if (pg_cryptohash_init(ctx) < 0 ||
		pg_cryptohash_update(ctx, (const uint8 *) buf.data, buf.len) < 0 ||
		pg_cryptohash_final(ctx, out, CG_AUDIT_HASH_LEN) < 0)
	{
		pg_cryptohash_free(ctx);
		elog(ERROR, "could not compute SHA-256 for the childguard access log");
	}
	pg_cryptohash_free(ctx);
	pfree(buf.data);
}

/* A bytea datum equal to a 32-byte hash? */
static bool
hash_equals(Datum d, bool isnull, const uint8 *hash)
{
	struct varlena *v;

	if (isnull)
		return false;
	v = PG_DETOAST_DATUM_PACKED(d);
	return VARSIZE_ANY_EXHDR(v) == CG_AUDIT_HASH_LEN &&
		memcmp(VARDATA_ANY(v), hash, CG_AUDIT_HASH_LEN) == 0;
}

static void
hash_from_datum(Datum d, bool isnull, uint8 *hash, bool *present)
{
	struct varlena *v;

	*present = false;
	if (isnull)
		return;
	v = PG_DETOAST_DATUM_PACKED(d);
	if (VARSIZE_ANY_EXHDR(v) != CG_AUDIT_HASH_LEN)
		return;
	memcpy(hash, VARDATA_ANY(v), CG_AUDIT_HASH_LEN);
	*present = true;
}

typedef struct Verdict
{
	bool		valid;
	int64		checked;
	int64		broken_id;
	char	   *reason;
} Verdict;

static void
broken(Verdict *v, int64 id, char *reason)
{
	v->valid = false;
	v->broken_id = id;
	v->reason = reason;
}

/* Walk the chain; the first broken link wins. */
static void
verify_chain(Verdict *v)
{
	StringInfoData sql;
	int64		head_last_id = 0;
	uint8		head_last_hash[CG_AUDIT_HASH_LEN];
	bool		head_has_hash = false;
	int64		expected_id = 1;
	uint8		prev[CG_AUDIT_HASH_LEN];
	bool		have_prev = false;
	SPIPlanPtr	plan;
	Portal		portal;

	v->valid = true;
	v->checked = 0;
	v->broken_id = 0;
	v->reason = NULL;

	if (SPI_execute("SELECT last_id, last_hash, purged_upto_id, purged_upto_hash "
					"FROM childguard.access_log_head", true, 2) != SPI_OK_SELECT)
		elog(ERROR, "could not read childguard.access_log_head");
	if (SPI_processed != 1)
	{
		broken(v, 0, pstrdup("the chain head (childguard.access_log_head) is missing or duplicated"));
		return;
	}
	{
		HeapTuple	t = SPI_tuptable->vals[0];
		TupleDesc	d = SPI_tuptable->tupdesc;
		bool		isnull;
		Datum		x;

		x = SPI_getbinval(t, d, 1, &isnull);
		head_last_id = isnull ? 0 : DatumGetInt64(x);
		x = SPI_getbinval(t, d, 2, &isnull);
		hash_from_datum(x, isnull, head_last_hash, &head_has_hash);
		x = SPI_getbinval(t, d, 3, &isnull);
		expected_id = (isnull ? 0 : DatumGetInt64(x)) + 1;
		x = SPI_getbinval(t, d, 4, &isnull);
		hash_from_datum(x, isnull, prev, &have_prev);
	}

	initStringInfo(&sql);
	appendStringInfoString(&sql, "SELECT ");
	for (int i = 0; i < CG_AUDIT_NCOLUMNS; i++)
		appendStringInfo(&sql, "%s%s", i ? ", " : "", quote_identifier(cg_audit_column_names[i]));
	appendStringInfoString(&sql, " FROM childguard.access_log ORDER BY id");
	plan = SPI_prepare(sql.data, 0, NULL);
	if (plan == NULL)
		elog(ERROR, "could not prepare the access log scan: %s", SPI_result_code_string(SPI_result));
	portal = SPI_cursor_open(NULL, plan, NULL, NULL, true);

	for (;;)
	{
		SPI_cursor_fetch(portal, true, 1000);
		if (SPI_processed == 0)
			break;
		for (uint64 r = 0; r < SPI_processed; r++)
		{
			HeapTuple	t = SPI_tuptable->vals[r];
			Datum		values[CG_AUDIT_NCOLUMNS];
			bool		nulls[CG_AUDIT_NCOLUMNS];
			int64		id;
			uint8		computed[CG_AUDIT_HASH_LEN];

			heap_deform_tuple(t, SPI_tuptable->tupdesc, values, nulls);
			id = nulls[CG_COL_ID] ? 0 : DatumGetInt64(values[CG_COL_ID]);
			if (id != expected_id)
			{
				broken(v, id < expected_id ? id : expected_id,
					   id < expected_id ?
					   psprintf("record %lld is out of sequence", (long long) id) :
					   id == expected_id + 1 ?
					   psprintf("record %lld is missing: it was deleted", (long long) expected_id) :
					   psprintf("records %lld to %lld are missing: they were deleted",
								(long long) expected_id, (long long) id - 1));
				SPI_cursor_close(portal);
				return;
			}
			if (have_prev ? !hash_equals(values[CG_COL_PREV_HASH], nulls[CG_COL_PREV_HASH], prev) :
				!nulls[CG_COL_PREV_HASH])
			{
				broken(v, id, psprintf("record %lld does not link to the record before it: prev_hash was altered, or the previous record was replaced",
									   (long long) id));
				SPI_cursor_close(portal);
				return;
			}
			cg_audit_chain_hash(have_prev ? prev : NULL, values, nulls, computed);
			if (!hash_equals(values[CG_COL_HASH], nulls[CG_COL_HASH], computed))
			{
				broken(v, id, psprintf("record %lld was altered: its contents do not match its hash",
									   (long long) id));
				SPI_cursor_close(portal);
				return;
			}
			memcpy(prev, computed, CG_AUDIT_HASH_LEN);
			have_prev = true;
			v->checked++;
			expected_id++;
		}
	}
	SPI_cursor_close(portal);

	if (expected_id - 1 < head_last_id)
		broken(v, expected_id,
			   expected_id == head_last_id ?
			   psprintf("record %lld is missing: the newest record was deleted", (long long) expected_id) :
			   psprintf("records %lld to %lld are missing: the newest records were deleted",
						(long long) expected_id, (long long) head_last_id));
	else if (expected_id - 1 > head_last_id)
		broken(v, head_last_id + 1,
			   psprintf("record %lld is not in the chain head: it was not written by the audit writer",
						(long long) head_last_id + 1));
	else if (head_last_id > 0 &&
			 (!head_has_hash || !have_prev || memcmp(prev, head_last_hash, CG_AUDIT_HASH_LEN) != 0))
		broken(v, head_last_id,
			   psprintf("record %lld does not match the chain head", (long long) head_last_id));
}

PG_FUNCTION_INFO_V1(cg_verify_access_log);

/*
 * childguard.verify_access_log() -> (valid, records_checked, broken_id,
 * reason): walks the whole chain and reports its first broken link.
 */
Datum
cg_verify_access_log(PG_FUNCTION_ARGS)
{
	TupleDesc	tupdesc;
	Datum		values[4];
	bool		nulls[4] = {false, false, false, false};
	Verdict		v;
	MemoryContext caller = CurrentMemoryContext;

	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	verify_chain(&v);
	/* the reason must outlive SPI's memory */
	if (v.reason != NULL)
	{
		MemoryContext spi = MemoryContextSwitchTo(caller);

		values[3] = CStringGetTextDatum(v.reason);
		MemoryContextSwitchTo(spi);
	}
	SPI_finish();
	values[0] = BoolGetDatum(v.valid);
	values[1] = Int64GetDatum(v.checked);
	values[2] = Int64GetDatum(v.broken_id);
	nulls[2] = v.valid;
	nulls[3] = v.reason == NULL;
	if (nulls[3])
		values[3] = (Datum) 0;
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(BlessTupleDesc(tupdesc), values, nulls)));
}
