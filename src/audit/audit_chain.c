/*-------------------------------------------------------------------------
 *
 * audit_chain.c
 *	  The hash chain over childguard.access_log, and
 *	  childguard.verify_access_log().
 *
 * Each record's hash is SHA-256(label || prev_hash || canonical form of
 * its other columns), prev_hash being the previous record's hash (32 zero
 * bytes for the very first record of the database).  The canonical form is
 * independent of settings (DateStyle, TimeZone, bytea_output): for each
 * column in table order, a type tag and the value in a fixed binary form
 * (integers and timestamps as 8 big-endian bytes, text as a 4-byte
 * length and its bytes, arrays as a count and their items, NULL as its
 * own tag).  The writer (audit_worker.c) and the verifier call the same
 * function on the same Datums, so they cannot drift apart.
 *
 * Chain formats.  Each row records the format its hash was computed under
 * (access_log.format_version, from SQL 1.2), and the verifier hashes each
 * row under its own format, so records written by an older version keep
 * verifying after ALTER EXTENSION UPDATE:
 *   1  label "childguard access_log v1", the 24 columns of SQL 1.0/1.1
 *      (rows written before 1.2; their format_version is 1 by the
 *      column's missing value)
 *   2  label "childguard access_log v2", the same columns and then
 *      format_version itself, so changing a row's format is an edit the
 *      chain finds
 *   3  label "childguard access_log v3" (SQL 1.4), the columns of format 2
 *      and then end_user (who the application acted for, behind a pool)
 *   4  (SQL 1.8) the packed log: each record's wire form hashed as it is
 *      stored in its batch, and a hash per batch over its bounds
 *      (audit_pack.c); those records are in access_log_batch, walked
 *      after the rows of formats 1-3 (now access_log_rows)
 * The writer uses the latest format the installed table can hold
 * (cg_audit_log_format: 1 while the SQL is 1.0 or 1.1).  Formats never go
 * back along the chain: a record of a lower format after a higher one is
 * reported as broken.
 *
 * verify_access_log() runs in constant memory: it reads the log through a
 * cursor in chain order in batches of VERIFY_BATCH rows, frees each batch,
 * and hashes each row in a memory context reset after it.
 *
 * The library serves every SQL version (sql/README.md):
 * verify_access_log() of SQL 1.0/1.1 (entry point cg_verify_access_log)
 * and of 1.2 (cg_verify_access_log_1_2, which also counts records per
 * format) share the walk; each checks its result type.
 *
 * childguard.access_log_head holds the chain's head (last id and hash)
 * and what a retention purge removed (the last purged id and its hash),
 * so deleting the newest or the oldest records is detected as well as a
 * gap or an edit in between.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/relation.h"
#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "port/pg_bswap.h"
#include "utils/array.h"
#include "utils/arrayaccess.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"

#include "audit.h"
#include "childguard_errcodes.h"
#include "extension_version.h"
#include "sha256.h"

/* rows fetched from the log at a time by verify_access_log() */
#define VERIFY_BATCH 1000
/* the canonical-form buffer is kept between hashes up to this size */
#define CHAIN_BUF_KEEP (1024 * 1024)

StaticAssertDecl(CG_AUDIT_FORMAT_LATEST == 3,
				 "a new chain format needs its label in cg_audit_chain_hash()");

const char *const cg_audit_column_names[CG_AUDIT_NCOLUMNS] = {
	"id", "statement_at", "logged_at", "session_id", "backend_pid",
	"session_role", "acting_role", "client_addr", "application_name",
	"command", "purpose", "grant_id", "relations", "columns",
	"children_read", "children_denied", "children_written", "children",
	"rows", "outcome", "sqlstate", "query_id", "prev_hash", "hash",
	"format_version", "end_user"
};

const Oid	cg_audit_column_types[CG_AUDIT_NCOLUMNS] = {
	INT8OID, TIMESTAMPTZOID, TIMESTAMPTZOID, TEXTOID, INT4OID,
	TEXTOID, TEXTOID, TEXTOID, TEXTOID,
	TEXTOID, TEXTOID, INT8OID, TEXTARRAYOID, TEXTARRAYOID,
	INT8ARRAYOID, INT8ARRAYOID, INT8ARRAYOID, INT4OID,
	INT8OID, TEXTOID, TEXTOID, INT8OID, BYTEAOID, BYTEAOID,
	INT2OID, TEXTOID
};

/*
 * The chain format the installed childguard.access_log can hold, from its
 * tuple descriptor: 1 (SQL 1.0, 1.1) or 2 (1.2).  Any other layout is an
 * error naming the installed version.  Called once per writer batch and per
 * verify_access_log() call; the descriptor is the relcache's, which ALTER
 * EXTENSION UPDATE (ALTER TABLE) invalidates, so nothing else is cached.
 */
int
cg_audit_log_format(TupleDesc desc, const char *table)
{
	int			format;

	for (format = CG_AUDIT_FORMAT_LATEST; format >= 1; format--)
	{
		int			ncols = CG_AUDIT_FORMAT_COLUMNS(format);
		bool		match = desc->natts == ncols;

		for (int i = 0; match && i < ncols; i++)
		{
			Form_pg_attribute att = TupleDescAttr(desc, i);

			match = !att->attisdropped &&
				strcmp(NameStr(att->attname), cg_audit_column_names[i]) == 0 &&
				att->atttypid == cg_audit_column_types[i];
		}
		if (match)
			return format;
	}
	cg_report_sql_mismatch(psprintf("childguard.%s", table),
						   psprintf("The table has %d columns; this library writes the %d columns of childguard 1.0 and 1.1, the %d of 1.2 or the %d of 1.4.",
									desc->natts, CG_AUDIT_FORMAT_COLUMNS(1),
									CG_AUDIT_FORMAT_COLUMNS(2), CG_AUDIT_FORMAT_COLUMNS(3)));
	return 0;					/* not reached */
}

/*
 * The canonical form is built into one buffer kept by the process: room
 * is made once per value (reserve), and each value's tag and bytes are
 * written in place, big-endian -- the writer hashes every record, so no
 * per-byte calls.
 */
static inline char *
reserve(StringInfo buf, int n)
{
	char	   *p;

	if (buf->len + n >= buf->maxlen)
		enlargeStringInfo(buf, n);
	p = buf->data + buf->len;
	buf->len += n;
	return p;
}

/* tag, 4-byte length, bytes */
static inline void
put_tagged_bytes(StringInfo buf, char tag, const char *bytes, uint32 len)
{
	char	   *p = reserve(buf, 1 + 4 + len);

	*p++ = tag;
	p = put_be32(p, len);
	memcpy(p, bytes, len);
}

static inline void
put_tagged_u64(StringInfo buf, char tag, uint64 v)
{
	char	   *p = reserve(buf, 1 + 8);

	*p++ = tag;
	put_be64(p, v);
}

/* One column's canonical form. */
static void
canonical_value(StringInfo buf, Oid type, Datum value, bool isnull)
{
	if (isnull)
	{
		*reserve(buf, 1) = 'n';
		return;
	}
	switch (type)
	{
		case INT8OID:
			put_tagged_u64(buf, 'i', (uint64) DatumGetInt64(value));
			break;
		case INT4OID:
			put_tagged_u64(buf, 'i', (uint64) (int64) DatumGetInt32(value));
			break;
		case INT2OID:
			put_tagged_u64(buf, 'i', (uint64) (int64) DatumGetInt16(value));
			break;
		case TIMESTAMPTZOID:
			put_tagged_u64(buf, 't', (uint64) DatumGetTimestampTz(value));
			break;
		case TEXTOID:
		case BYTEAOID:
			{
				struct varlena *v = PG_DETOAST_DATUM_PACKED(value);

				put_tagged_bytes(buf, type == TEXTOID ? 's' : 'b',
								 VARDATA_ANY(v), VARSIZE_ANY_EXHDR(v));
				break;
			}
		case TEXTARRAYOID:
		case INT8ARRAYOID:
			{
				/*
				 * Walked in place (no deconstructed copy, no type lookup):
				 * the element types are fixed by the column's type.
				 */
				ArrayType  *a = DatumGetArrayTypeP(value);
				bool		text = type == TEXTARRAYOID;
				Oid			elemtype = text ? TEXTOID : INT8OID;
				int			n = ArrayGetNItems(ARR_NDIM(a), ARR_DIMS(a));
				char	   *p;
				array_iter	it;

				if (ARR_ELEMTYPE(a) != elemtype)
					elog(ERROR, "unexpected element type %u in childguard access log",
						 ARR_ELEMTYPE(a));
				p = reserve(buf, 1 + 4);
				*p++ = text ? 'S' : 'I';
				put_be32(p, (uint32) n);
				if (!text && !ARR_HASNULL(a))
				{
					/* ids without NULLs: 9 bytes each, written at once */
					const char *src = ARR_DATA_PTR(a);

					p = reserve(buf, 9 * n);
					for (int i = 0; i < n; i++)
					{
						int64		id;

						memcpy(&id, src + (Size) i * sizeof(int64), sizeof(int64));
						*p++ = 'i';
						p = put_be64(p, (uint64) id);
					}
					break;
				}
				array_iter_setup(&it, (AnyArrayType *) a);
				for (int i = 0; i < n; i++)
				{
					bool		elemnull;
					Datum		elem = array_iter_next(&it, &elemnull, i,
													   text ? -1 : sizeof(int64),
													   text ? false : FLOAT8PASSBYVAL,
													   text ? TYPALIGN_INT : TYPALIGN_DOUBLE);

					canonical_value(buf, elemtype, elem, elemnull);
				}
				break;
			}
		default:
			elog(ERROR, "unexpected type %u in childguard access log", type);
	}
}

/*
 * hash = SHA-256(format's label || prev_hash || canonical form of the
 * format's columns but prev_hash and hash).  prev_hash NULL means the
 * start of the chain.  values/nulls are indexed by CgAuditColumn; a
 * format reads only its own columns.
 */
void
cg_audit_chain_hash(int format, const uint8 *prev_hash, const Datum *values,
					const bool *nulls, uint8 *out)
{
	static const uint8 zero[CG_AUDIT_HASH_LEN];
	static const char *const labels[CG_AUDIT_FORMAT_LATEST + 1] = {
		NULL, "childguard access_log v1", "childguard access_log v2",
		"childguard access_log v3"
	};

	/*
	 * One buffer for every hash of the process, kept between calls (the
	 * writer hashes each record of each batch; the verifier each row), and
	 * given back when a very large record made it grow.
	 */
	static StringInfoData buf;

	if (format < 1 || format > CG_AUDIT_FORMAT_LATEST)
		elog(ERROR, "unknown childguard access log format %d", format);
	if (buf.data == NULL)
	{
		MemoryContext old = MemoryContextSwitchTo(TopMemoryContext);

		initStringInfo(&buf);
		MemoryContextSwitchTo(old);
	}
	resetStringInfo(&buf);
	appendStringInfoString(&buf, labels[format]);
	appendBinaryStringInfo(&buf, (const char *) (prev_hash ? prev_hash : zero),
						   CG_AUDIT_HASH_LEN);
	for (int i = 0; i < CG_AUDIT_FORMAT_COLUMNS(format); i++)
	{
		if (i == CG_COL_PREV_HASH || i == CG_COL_HASH)
			continue;
		canonical_value(&buf, cg_audit_column_types[i], values[i], nulls[i]);
	}
	cg_sha256((const uint8 *) buf.data, buf.len, out);
	if (buf.maxlen > CHAIN_BUF_KEEP)
	{
		pfree(buf.data);
		buf.data = NULL;
	}
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
	int64		by_format[CG_AUDIT_FORMAT_PACKED + 1];	/* [f]: records of format f */
	int			table_format;	/* the latest format the table holds */
	bool		with_subjects;	/* the batches have 1.9's subjects column */
	int64		subjects_broken;	/* first batch whose subjects are wrong, or 0 */
} Verdict;

static void
broken(Verdict *v, int64 id, char *reason)
{
	v->valid = false;
	v->broken_id = id;
	v->reason = reason;
}

/* the batches fetched at a time (each up to audit_batch_size records) */
#define VERIFY_BATCHES 4

static bool
missing(Verdict *v, int64 id, int64 expected_id)
{
	broken(v, id < expected_id ? id : expected_id,
		   id < expected_id ?
		   psprintf("record %lld is out of sequence", (long long) id) :
		   id == expected_id + 1 ?
		   psprintf("record %lld is missing: it was deleted", (long long) expected_id) :
		   psprintf("records %lld to %lld are missing: they were deleted",
					(long long) expected_id, (long long) id - 1));
	return false;
}

/*
 * One packed batch (chain format 4, audit_pack.c): its link, each record's
 * hash from the previous one, then its bounds and its own hash.  prev is
 * the running link, moved to the batch's hash.  False (v set) at the first
 * broken link.
 */
static bool
verify_batch(Verdict *v, Datum *values, bool *nulls, int64 *expected_id, uint8 *prev,
			 bool *have_prev, int *last_format)
{
	CgAuditBatchBounds b;
	int64		id;
	int			format;
	bool		link_ok;
	struct varlena *packed;
	const char *data;
	Size		len,
				off = 0;
	int32		count = 0;
	int32		framed;
	TimestampTz lo = 0,
				hi = 0;
	uint8		batch_hash[CG_AUDIT_HASH_LEN];
	CgAuditSubjects subjects;

	/* the subjects column (1.9) is checked after the records, below */
	for (int i = 0; i < CG_AUDIT_BATCH_NCOLUMNS_1_8; i++)
		if (nulls[i] && i != CG_BCOL_PREV_HASH && i != CG_BCOL_HASH)
		{
			broken(v, nulls[CG_BCOL_FIRST_ID] ? *expected_id : DatumGetInt64(values[CG_BCOL_FIRST_ID]),
				   psprintf("record %lld's batch was altered: its %s is missing",
							(long long) (nulls[CG_BCOL_FIRST_ID] ? *expected_id :
										 DatumGetInt64(values[CG_BCOL_FIRST_ID])),
							cg_audit_batch_column_names[i]));
			return false;
		}
	b.first_id = id = DatumGetInt64(values[CG_BCOL_FIRST_ID]);
	b.last_id = DatumGetInt64(values[CG_BCOL_LAST_ID]);
	b.records = DatumGetInt32(values[CG_BCOL_RECORDS]);
	b.first_statement_at = DatumGetTimestampTz(values[CG_BCOL_FIRST_STATEMENT_AT]);
	b.last_statement_at = DatumGetTimestampTz(values[CG_BCOL_LAST_STATEMENT_AT]);
	b.logged_at = DatumGetTimestampTz(values[CG_BCOL_LOGGED_AT]);
	format = DatumGetInt16(values[CG_BCOL_FORMAT_VERSION]);

	if (id != *expected_id)
		return missing(v, id, *expected_id);
	link_ok = *have_prev ?
		hash_equals(values[CG_BCOL_PREV_HASH], nulls[CG_BCOL_PREV_HASH], prev) :
		nulls[CG_BCOL_PREV_HASH];
	if (!link_ok)
	{
		broken(v, id, psprintf("record %lld does not link to the record before it: prev_hash was altered, or the previous record was replaced",
							   (long long) id));
		return false;
	}
	if (format != CG_AUDIT_FORMAT_PACKED)
	{
		broken(v, id, format < *last_format ?
			   psprintf("record %lld has chain format %d after a record of format %d: its format_version was altered",
						(long long) id, format, *last_format) :
			   psprintf("record %lld has an unknown chain format (%d): its format_version was altered",
						(long long) id, format));
		return false;
	}

	packed = PG_DETOAST_DATUM_PACKED(values[CG_BCOL_PACKED]);
	data = VARDATA_ANY(packed);
	len = VARSIZE_ANY_EXHDR(packed);

	/*
	 * How many records the bytes frame: fewer than the batch says means
	 * some were cut out, and the first that does not hash is reported as
	 * deleted rather than altered (its place holds the next one's bytes).
	 */
	{
		const uint8 *h;
		const char *w;
		uint32		wl;

		framed = 0;
		while (cg_audit_pack_next(data, len, &off, &h, &w, &wl) == CG_PACK_RECORD)
			framed++;
		off = 0;
	}
	if (v->with_subjects)
		cg_audit_subjects_init(&subjects, Max(b.records, 1) * 2);
	for (;;)
	{
		const uint8 *stored;
		const char *wire;
		uint32		wirelen;
		uint8		computed[CG_AUDIT_HASH_LEN];
		CgPackStep	step = cg_audit_pack_next(data, len, &off, &stored, &wire, &wirelen);
		TimestampTz at;

		if (step == CG_PACK_END)
			break;
		if (step == CG_PACK_TORN || wirelen < sizeof(int64))
		{
			broken(v, id, psprintf("record %lld was altered: its contents do not match its hash",
								   (long long) id));
			return false;
		}
		if (count >= b.records)
		{
			broken(v, id, psprintf("record %lld is not in its batch's bounds: it was not written by the audit writer",
								   (long long) id));
			return false;
		}
		cg_audit_pack_record_hash(*have_prev ? prev : NULL, id, b.logged_at, wire, wirelen,
								  computed);
		if (memcmp(computed, stored, CG_AUDIT_HASH_LEN) != 0)
		{
			broken(v, id, framed < b.records ?
				   psprintf("record %lld is missing: it was deleted", (long long) id) :
				   psprintf("record %lld was altered: its contents do not match its hash",
							(long long) id));
			return false;
		}
		/* the children it names: the batch's subjects must list them (1.9) */
		if (v->with_subjects)
		{
			CgAuditRecordView rec;

			if (!cg_audit_record_check(wire, wirelen, &at))
			{
				broken(v, id, psprintf("record %lld was altered: it does not decode as an audit record",
									   (long long) id));
				return false;
			}
			cg_audit_record_view(wire, wirelen, &rec);
			cg_audit_subjects_add(&subjects, &rec);
		}
		/* statement_at: the wire form's first field (audit_record.c) */
		memcpy(&at, wire, sizeof(at));
		lo = count == 0 ? at : Min(lo, at);
		hi = count == 0 ? at : Max(hi, at);
		memcpy(prev, computed, CG_AUDIT_HASH_LEN);
		*have_prev = true;
		v->by_format[CG_AUDIT_FORMAT_PACKED]++;
		v->checked++;
		count++;
		id++;
	}
	if (count < b.records)
	{
		/* the records the batch says it has but does not */
		broken(v, id, id == b.first_id + b.records - 1 ?
			   psprintf("record %lld is missing: it was deleted", (long long) id) :
			   psprintf("records %lld to %lld are missing: they were deleted",
						(long long) id, (long long) (b.first_id + b.records - 1)));
		return false;
	}
	if (count == 0 || b.last_id != id - 1 || b.first_statement_at != lo ||
		b.last_statement_at != hi)
	{
		broken(v, b.first_id, psprintf("record %lld's batch was altered: its bounds do not match its records",
									   (long long) b.first_id));
		return false;
	}
	cg_audit_pack_batch_hash(&b, prev, batch_hash);
	if (!hash_equals(values[CG_BCOL_HASH], nulls[CG_BCOL_HASH], batch_hash))
	{
		broken(v, b.last_id, psprintf("record %lld's batch was altered: its hash does not match its records and bounds",
									  (long long) b.first_id));
		return false;
	}
	/*
	 * The subjects column is not hashed: it must list exactly the children
	 * the verified records name.  A difference (an entry deleted would hide
	 * the child's records from child_report(), one added would name a child
	 * falsely) is reported once the chain itself has verified, so that a
	 * broken link is still named first.
	 */
	if (v->with_subjects && v->subjects_broken == 0 &&
		(nulls[CG_BCOL_SUBJECTS] ||
		 !cg_audit_subjects_match(&subjects, values[CG_BCOL_SUBJECTS])))
		v->subjects_broken = b.first_id;
	memcpy(prev, batch_hash, CG_AUDIT_HASH_LEN);
	*expected_id = id;
	*last_format = format;
	return true;
}

/*
 * The packed batches after the rows, in chain order, VERIFY_BATCHES at a
 * time through a cursor; each batch checked in a context reset after it.
 */
static bool
verify_batches(Verdict *v, int64 *expected_id, uint8 *prev, bool *have_prev,
			   int last_format, MemoryContext walkcxt)
{
	StringInfoData sql;
	SPIPlanPtr	plan;
	Portal		portal;
	MemoryContext rowcxt;
	bool		ok = true;
	int			ncolumns;

	initStringInfo(&sql);
	appendStringInfoString(&sql, "SELECT ");
	/* 1.9's subjects only where the table has them */
	ncolumns = v->with_subjects ? CG_AUDIT_BATCH_NCOLUMNS : CG_AUDIT_BATCH_NCOLUMNS_1_8;
	for (int i = 0; i < ncolumns; i++)
		appendStringInfo(&sql, "%s%s", i ? ", " : "", cg_audit_batch_column_names[i]);
	appendStringInfoString(&sql, " FROM childguard.access_log_batch ORDER BY first_id");
	plan = SPI_prepare_cursor(sql.data, 0, NULL, CURSOR_OPT_NO_SCROLL | CURSOR_OPT_FAST_PLAN);
	if (plan == NULL)
		elog(ERROR, "could not prepare the access log batch scan: %s",
			 SPI_result_code_string(SPI_result));
	portal = SPI_cursor_open(NULL, plan, NULL, NULL, true);
	rowcxt = AllocSetContextCreate(walkcxt, "childguard verify_access_log batch",
								   ALLOCSET_DEFAULT_SIZES);
	while (ok)
	{
		SPITupleTable *batch;
		uint64		nrows;

		SPI_cursor_fetch(portal, true, VERIFY_BATCHES);
		batch = SPI_tuptable;
		nrows = SPI_processed;
		if (nrows == 0)
		{
			SPI_freetuptable(batch);
			break;
		}
		for (uint64 r = 0; r < nrows && ok; r++)
		{
			Datum		values[CG_AUDIT_BATCH_NCOLUMNS];
			bool		nulls[CG_AUDIT_BATCH_NCOLUMNS];

			MemoryContextReset(rowcxt);
			MemoryContextSwitchTo(rowcxt);
			heap_deform_tuple(batch->vals[r], batch->tupdesc, values, nulls);
			ok = verify_batch(v, values, nulls, expected_id, prev, have_prev, &last_format);
			MemoryContextSwitchTo(walkcxt);
		}
		SPI_freetuptable(batch);
	}
	SPI_cursor_close(portal);
	MemoryContextDelete(rowcxt);
	return ok;
}

/*
 * Walk the chain; the first broken link wins.  Memory: the cursor's batches
 * are freed as they are done, and each row is hashed in rowcxt, reset per
 * row, so the walk uses the same memory for any length of log.
 */
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
	int			table_format;
	int			last_format = 1;
	bool		packed;
	const char *rows_table;
	SPIPlanPtr	plan;
	Portal		portal;
	MemoryContext walkcxt = CurrentMemoryContext;
	MemoryContext rowcxt;

	memset(v, 0, sizeof(*v));
	v->valid = true;

	{
		Oid			nsp = get_namespace_oid("childguard", false);
		Oid			batch_relid = get_relname_relid("access_log_batch", nsp);
		Oid			relid;
		Relation	rel;

		/* from SQL 1.8 the rows are in access_log_rows, access_log a view */
		packed = OidIsValid(batch_relid);
		rows_table = packed ? "access_log_rows" : "access_log";
		relid = get_relname_relid(rows_table, nsp);
		if (!OidIsValid(relid))
			cg_report_sql_mismatch(psprintf("childguard.%s", rows_table),
								   "The table does not exist.");
		rel = relation_open(relid, AccessShareLock);
		table_format = cg_audit_log_format(RelationGetDescr(rel), rows_table);
		/* keep the lock: the layout cannot change under the walk */
		relation_close(rel, NoLock);
		if (packed)
		{
			rel = relation_open(batch_relid, AccessShareLock);
			if (!cg_audit_batch_layout_ok(RelationGetDescr(rel)))
				cg_report_sql_mismatch("childguard.access_log_batch",
									   "Its columns are not those of any version.");
			v->with_subjects = cg_audit_batch_has_subjects(RelationGetDescr(rel));
			relation_close(rel, NoLock);
			table_format = CG_AUDIT_FORMAT_PACKED;
		}
		v->table_format = table_format;
	}

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
	SPI_freetuptable(SPI_tuptable);

	/* the table's columns in CgAuditColumn order; format 1 for a 1.0/1.1 table */
	initStringInfo(&sql);
	appendStringInfoString(&sql, "SELECT ");
	for (int i = 0; i < CG_AUDIT_NCOLUMNS; i++)
	{
		if (i == CG_COL_FORMAT_VERSION && table_format < 2)
			appendStringInfoString(&sql, ", 1::smallint");
		else if (i == CG_COL_END_USER && table_format < 3)
			appendStringInfoString(&sql, ", NULL::text");
		else
			appendStringInfo(&sql, "%s%s", i ? ", " : "", quote_identifier(cg_audit_column_names[i]));
	}
	appendStringInfo(&sql, " FROM childguard.%s ORDER BY id", rows_table);
	plan = SPI_prepare_cursor(sql.data, 0, NULL, CURSOR_OPT_NO_SCROLL | CURSOR_OPT_FAST_PLAN);
	if (plan == NULL)
		elog(ERROR, "could not prepare the access log scan: %s", SPI_result_code_string(SPI_result));
	portal = SPI_cursor_open(NULL, plan, NULL, NULL, true);
	rowcxt = AllocSetContextCreate(walkcxt, "childguard verify_access_log row",
								   ALLOCSET_DEFAULT_SIZES);

	for (;;)
	{
		SPITupleTable *batch;
		uint64		nrows;

		SPI_cursor_fetch(portal, true, VERIFY_BATCH);
		batch = SPI_tuptable;
		nrows = SPI_processed;
		if (nrows == 0)
		{
			SPI_freetuptable(batch);
			break;
		}
		for (uint64 r = 0; r < nrows; r++)
		{
			HeapTuple	t = batch->vals[r];
			Datum		values[CG_AUDIT_NCOLUMNS];
			bool		nulls[CG_AUDIT_NCOLUMNS];
			int64		id;
			int			format;
			uint8		computed[CG_AUDIT_HASH_LEN];
			bool		link_ok,
						hash_ok;

			MemoryContextReset(rowcxt);
			MemoryContextSwitchTo(rowcxt);
			heap_deform_tuple(t, batch->tupdesc, values, nulls);
			id = nulls[CG_COL_ID] ? 0 : DatumGetInt64(values[CG_COL_ID]);
			format = nulls[CG_COL_FORMAT_VERSION] ? 0 :
				DatumGetInt16(values[CG_COL_FORMAT_VERSION]);
			link_ok = have_prev ?
				hash_equals(values[CG_COL_PREV_HASH], nulls[CG_COL_PREV_HASH], prev) :
				nulls[CG_COL_PREV_HASH];
			hash_ok = false;
			if (id == expected_id && link_ok && format >= last_format &&
				format <= Min(table_format, CG_AUDIT_FORMAT_LATEST))
			{
				cg_audit_chain_hash(format, have_prev ? prev : NULL, values, nulls, computed);
				hash_ok = hash_equals(values[CG_COL_HASH], nulls[CG_COL_HASH], computed);
			}
			MemoryContextSwitchTo(walkcxt);

			if (id != expected_id)
				broken(v, id < expected_id ? id : expected_id,
					   id < expected_id ?
					   psprintf("record %lld is out of sequence", (long long) id) :
					   id == expected_id + 1 ?
					   psprintf("record %lld is missing: it was deleted", (long long) expected_id) :
					   psprintf("records %lld to %lld are missing: they were deleted",
								(long long) expected_id, (long long) id - 1));
			else if (!link_ok)
				broken(v, id, psprintf("record %lld does not link to the record before it: prev_hash was altered, or the previous record was replaced",
									   (long long) id));
			else if (format < 1 || format > Min(table_format, CG_AUDIT_FORMAT_LATEST))
				broken(v, id, psprintf("record %lld has an unknown chain format (%d): its format_version was altered",
									   (long long) id, format));
			else if (format < last_format)
				broken(v, id, psprintf("record %lld has chain format %d after a record of format %d: its format_version was altered",
									   (long long) id, format, last_format));
			else if (!hash_ok)
				broken(v, id, psprintf("record %lld was altered: its contents do not match its hash",
									   (long long) id));
			if (!v->valid)
			{
				SPI_freetuptable(batch);
				SPI_cursor_close(portal);
				MemoryContextDelete(rowcxt);
				return;
			}
			memcpy(prev, computed, CG_AUDIT_HASH_LEN);
			have_prev = true;
			last_format = format;
			v->by_format[format]++;
			v->checked++;
			expected_id++;
		}
		SPI_freetuptable(batch);
	}
	SPI_cursor_close(portal);
	MemoryContextDelete(rowcxt);

	if (packed && !verify_batches(v, &expected_id, prev, &have_prev, last_format, walkcxt))
		return;

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
	else if (v->subjects_broken != 0)
		broken(v, v->subjects_broken,
			   psprintf("record %lld's batch was altered: its subjects do not list exactly the children its records name",
						(long long) v->subjects_broken));
}

/*
 * The shared body of both entry points: walk the chain and return its
 * verdict as a row of the function's result type, which must have
 * expect_natts columns (the entry point's SQL version).
 */
static Datum
verify_access_log(FunctionCallInfo fcinfo, int expect_natts, const char *entry)
{
	TupleDesc	tupdesc;
	Datum		values[5];
	bool		nulls[5] = {false, false, false, false, false};
	Verdict		v;
	MemoryContext caller = CurrentMemoryContext;

	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");
	if (tupdesc->natts != expect_natts)
		ereport(ERROR,
				(errcode(ERRCODE_CG_ENTRY_POINT_MISMATCH),
				 errmsg("childguard.verify_access_log() returns %d columns, but its C entry point %s returns %d",
						tupdesc->natts, entry, expect_natts),
				 errdetail("The function's SQL definition does not match the library entry point it names."),
				 errhint("Run ALTER EXTENSION childguard UPDATE, or recreate the extension.")));
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	verify_chain(&v);
	/* the reason must outlive SPI's memory */
	MemoryContextSwitchTo(caller);
	if (v.reason != NULL)
		values[3] = CStringGetTextDatum(v.reason);
	if (expect_natts >= 5)
	{
		Datum		counts[CG_AUDIT_FORMAT_PACKED];

		/* one element per format the installed table can hold */
		for (int f = 1; f <= v.table_format; f++)
			counts[f - 1] = Int64GetDatum(v.by_format[f]);
		values[4] = PointerGetDatum(construct_array(counts, v.table_format, INT8OID,
													sizeof(int64), FLOAT8PASSBYVAL,
													TYPALIGN_DOUBLE));
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

PG_FUNCTION_INFO_V1(cg_verify_access_log);

/*
 * childguard.verify_access_log() of SQL 1.0 and 1.1 -> (valid,
 * records_checked, broken_id, reason): walks the whole chain and reports
 * its first broken link.
 */
Datum
cg_verify_access_log(PG_FUNCTION_ARGS)
{
	return verify_access_log(fcinfo, 4, "cg_verify_access_log");
}

PG_FUNCTION_INFO_V1(cg_verify_access_log_1_2);

/*
 * childguard.verify_access_log() of SQL 1.2: the same, and
 * records_by_format (element f: the records checked of chain format f).
 */
Datum
cg_verify_access_log_1_2(PG_FUNCTION_ARGS)
{
	return verify_access_log(fcinfo, 5, "cg_verify_access_log_1_2");
}
