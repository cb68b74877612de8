/*-------------------------------------------------------------------------
 *
 * audit_pack.c
 *	  The packed access log (chain format 4, SQL 1.8): one row of
 *	  childguard.access_log_batch per writer batch, its records kept in
 *	  the wire form the backends queued them in; each record hashed into
 *	  the chain on its own; the batch's records unpacked into rows of the
 *	  log (childguard._access_log_unpack(), under the childguard.access_log
 *	  view); and a record's column values built from its wire form (for the
 *	  unpacking, and for the writer's row path of older SQL versions).
 *
 * Format 4 (docs/audit.md, "Chain formats", byte for byte):
 *   packed   = per record: be32 len || hash (32 bytes) || wire (len bytes)
 *   record hash = SHA-256("childguard access_log v4" || prev ||
 *                         be64 id || be64 logged_at || be32 len || wire)
 *     prev: the previous record's hash within the batch; for the batch's
 *     first record, the batch's prev_hash (the previous batch's hash, or
 *     the last format 1-3 record's; 32 zero bytes at the chain's start)
 *   batch hash = SHA-256("childguard access_log v4 batch" || last record's
 *                        hash || be64 first_id || be64 last_id ||
 *                        be32 records || be64 first_statement_at ||
 *                        be64 last_statement_at || be64 logged_at)
 * The next batch links to the batch hash, and the chain head holds it, so
 * a batch's bounds cannot change (records moved between batches, a batch
 * shortened, its times moved) without breaking the chain after it.
 *
 * The wire form (audit_record.c) is host byte order; a stored record is
 * only ever decoded by a library of the same build, and its hash is over
 * the bytes as stored, so the hash does not depend on the byte order.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "fmgr.h"
#include "funcapi.h"
#include "port/pg_bswap.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"
#include "utils/tuplestore.h"

#include "audit.h"
#include "sha256.h"

static const char record_label[] = "childguard access_log v4";
static const char batch_label[] = "childguard access_log v4 batch";

/* ---- a record's column values from its wire form ---- */

static Datum
wire_text(CgAuditWireString s, char *null)
{
	text	   *t;

	*null = s.len < 0 ? 'n' : ' ';
	if (s.len < 0)
		return (Datum) 0;
	t = (text *) palloc(VARHDRSZ + s.len);
	SET_VARSIZE(t, VARHDRSZ + s.len);
	memcpy(VARDATA(t), s.p, s.len);
	return PointerGetDatum(t);
}

/*
 * The empty text[] and bigint[] (most records have no denied or no written
 * children): made once per process, not per record.  The values are only
 * read (hashed, copied into the tuple, compared by the constraints).
 */
static Datum
empty_array(Oid elemtype)
{
	static ArrayType *empty_text = NULL;
	static ArrayType *empty_int8 = NULL;
	ArrayType **a = elemtype == TEXTOID ? &empty_text : &empty_int8;

	Assert(elemtype == TEXTOID || elemtype == INT8OID);
	if (*a == NULL)
	{
		MemoryContext old = MemoryContextSwitchTo(TopMemoryContext);

		*a = construct_empty_array(elemtype);
		MemoryContextSwitchTo(old);
	}
	return PointerGetDatum(*a);
}

/* a text[] from n wire strings starting at items */
static Datum
wire_text_array(const char *items, int n)
{
	const char *p = items;
	Size		data = 0;
	ArrayType  *a;
	char	   *out;
	bool		any_null = false;

	if (n == 0)
		return empty_array(TEXTOID);
	for (int i = 0; i < n; i++)
	{
		int32		len;

		memcpy(&len, p, sizeof(len));
		p += sizeof(len);
		if (len < 0)
			any_null = true;
		else
		{
			data += INTALIGN(VARHDRSZ + len);
			p += len;
		}
	}
	if (any_null)
	{
		/* never written by this library's encoder; built the general way */
		Datum	   *d = palloc(sizeof(Datum) * n);
		bool	   *nulls = palloc(sizeof(bool) * n);
		int			dims[1] = {n};
		int			lbs[1] = {1};

		p = items;
		for (int i = 0; i < n; i++)
		{
			CgAuditWireString s;
			char		null;

			memcpy(&s.len, p, sizeof(s.len));
			s.p = p + sizeof(s.len);
			p = s.p + Max(s.len, 0);
			d[i] = wire_text(s, &null);
			nulls[i] = null == 'n';
		}
		return PointerGetDatum(construct_md_array(d, nulls, 1, dims, lbs, TEXTOID,
												  -1, false, TYPALIGN_INT));
	}
	if (ARR_OVERHEAD_NONULLS(1) + data > MaxAllocSize)
		elog(ERROR, "childguard audit record's list too large");
	a = (ArrayType *) palloc0(ARR_OVERHEAD_NONULLS(1) + data);
	SET_VARSIZE(a, ARR_OVERHEAD_NONULLS(1) + data);
	a->ndim = 1;
	a->dataoffset = 0;
	a->elemtype = TEXTOID;
	ARR_DIMS(a)[0] = n;
	ARR_LBOUND(a)[0] = 1;
	out = ARR_DATA_PTR(a);
	p = items;
	for (int i = 0; i < n; i++)
	{
		int32		len;

		memcpy(&len, p, sizeof(len));
		p += sizeof(len);
		SET_VARSIZE(out, VARHDRSZ + len);
		memcpy(VARDATA(out), p, len);
		p += len;
		out += INTALIGN(VARHDRSZ + len);
	}
	return PointerGetDatum(a);
}

/* a bigint[] from n unaligned wire ids */
static Datum
wire_id_array(const char *ids, int n)
{
	Size		size = ARR_OVERHEAD_NONULLS(1) + (Size) n * sizeof(int64);
	ArrayType  *a;

	if (n == 0)
		return empty_array(INT8OID);
	if (size > MaxAllocSize)
		elog(ERROR, "childguard audit record's list too large");
	a = (ArrayType *) palloc0(size);
	SET_VARSIZE(a, size);
	a->ndim = 1;
	a->dataoffset = 0;
	a->elemtype = INT8OID;
	ARR_DIMS(a)[0] = n;
	ARR_LBOUND(a)[0] = 1;
	memcpy(ARR_DATA_PTR(a), ids, (Size) n * sizeof(int64));
	return PointerGetDatum(a);
}

Datum
cg_audit_hash_datum(const uint8 *hash)
{
	bytea	   *b = palloc(VARHDRSZ + CG_AUDIT_HASH_LEN);

	SET_VARSIZE(b, VARHDRSZ + CG_AUDIT_HASH_LEN);
	memcpy(VARDATA(b), hash, CG_AUDIT_HASH_LEN);
	return PointerGetDatum(b);
}

/*
 * Texts that repeat from record to record, kept as text values instead of
 * formatted and copied per record: the session id of the last session seen
 * (consecutive records mostly come from a few sessions), and the outcome
 * names.
 */
typedef union TextBuf
{
	int32		align;
	char		data[VARHDRSZ + 64];
} TextBuf;

static TimestampTz memo_session_start = 0;
static int32 memo_backend_pid = 0;
static TextBuf memo_session_id;

static Datum
static_text(TextBuf *buf, const char *s)
{
	size_t		len = strlen(s);

	Assert(len <= sizeof(buf->data) - VARHDRSZ);
	SET_VARSIZE(buf->data, VARHDRSZ + len);
	memcpy(buf->data + VARHDRSZ, s, len);
	return PointerGetDatum(buf->data);
}

static Datum
session_id_text(TimestampTz session_start, int32 backend_pid)
{
	if (memo_backend_pid == 0 || backend_pid != memo_backend_pid ||
		session_start != memo_session_start)
	{
		char		id[64];

		/* as cg_audit_session_id(): start time and pid in hex */
		snprintf(id, sizeof(id), "%lx.%x",
				 (long) timestamptz_to_time_t(session_start),
				 (unsigned int) backend_pid);
		static_text(&memo_session_id, id);
		memo_session_start = session_start;
		memo_backend_pid = backend_pid;
	}
	return PointerGetDatum(memo_session_id.data);
}

static Datum
outcome_text(char outcome)
{
	static TextBuf texts[4];
	static const char codes[4] = {CG_OUTCOME_ALLOWED, CG_OUTCOME_DENIED,
	CG_OUTCOME_ERROR, CG_OUTCOME_DISCLOSED};

	for (int i = 0; i < 4; i++)
		if (outcome == codes[i])
		{
			if (VARSIZE(texts[i].data) == 0)
				static_text(&texts[i], cg_audit_outcome_name(outcome));
			return PointerGetDatum(texts[i].data);
		}
	return CStringGetTextDatum(cg_audit_outcome_name(outcome));
}

/*
 * The record's column values (indexed by CgAuditColumn), all but id,
 * logged_at, prev_hash, hash and format_version, which the caller sets.
 * nulls: 'n' for NULL, ' ' otherwise.  The session id and outcome texts
 * point at memos that the next call may overwrite: use (copy, hash, form)
 * them before.
 */
void
cg_audit_wire_values(const CgAuditRecordView *rec, Datum *values, char *nulls)
{
	memset(nulls, ' ', CG_AUDIT_NCOLUMNS);
	values[CG_COL_STATEMENT_AT] = TimestampTzGetDatum(rec->statement_at);
	values[CG_COL_SESSION_ID] = session_id_text(rec->session_start, rec->backend_pid);
	values[CG_COL_BACKEND_PID] = Int32GetDatum(rec->backend_pid);
	values[CG_COL_SESSION_ROLE] = wire_text(rec->session_role, &nulls[CG_COL_SESSION_ROLE]);
	values[CG_COL_ACTING_ROLE] = wire_text(rec->current_role, &nulls[CG_COL_ACTING_ROLE]);
	values[CG_COL_CLIENT_ADDR] = wire_text(rec->client_addr, &nulls[CG_COL_CLIENT_ADDR]);
	values[CG_COL_APPLICATION_NAME] = wire_text(rec->application_name,
												&nulls[CG_COL_APPLICATION_NAME]);
	values[CG_COL_COMMAND] = wire_text(rec->command, &nulls[CG_COL_COMMAND]);
	values[CG_COL_PURPOSE] = wire_text(rec->purpose, &nulls[CG_COL_PURPOSE]);
	values[CG_COL_GRANT_ID] = Int64GetDatum(rec->grant_id);
	if (rec->grant_id == 0)
		nulls[CG_COL_GRANT_ID] = 'n';
	values[CG_COL_RELATIONS] = wire_text_array(rec->relations, rec->nrelations);
	values[CG_COL_COLUMNS] = wire_text_array(rec->columns, rec->ncolumns);
	values[CG_COL_CHILDREN_READ] = wire_id_array(rec->read, rec->nread);
	values[CG_COL_CHILDREN_DENIED] = wire_id_array(rec->denied, rec->ndenied);
	values[CG_COL_CHILDREN_WRITTEN] = wire_id_array(rec->written, rec->nwritten);
	values[CG_COL_CHILDREN] = Int32GetDatum(rec->children);
	values[CG_COL_ROWS] = Int64GetDatum(rec->rows);
	values[CG_COL_OUTCOME] = outcome_text(rec->outcome);
	if (rec->sqlstate[0])
		values[CG_COL_SQLSTATE] = CStringGetTextDatum(rec->sqlstate);
	else
		nulls[CG_COL_SQLSTATE] = 'n';
	values[CG_COL_QUERY_ID] = Int64GetDatum(rec->query_id);
	if (rec->query_id == 0)
		nulls[CG_COL_QUERY_ID] = 'n';
	values[CG_COL_END_USER] = wire_text(rec->end_user, &nulls[CG_COL_END_USER]);
}

/* ---- format 4: hashes and the packed layout ---- */

/* one buffer per process for the hashes' input, kept up to this size */
#define PACK_BUF_KEEP (1024 * 1024)

static char *
hash_buffer(Size need)
{
	static char *buf = NULL;
	static Size size = 0;

	if (need > size || (size > PACK_BUF_KEEP && need <= PACK_BUF_KEEP))
	{
		if (buf)
			pfree(buf);
		size = Max(need, 1024);
		buf = MemoryContextAlloc(TopMemoryContext, size);
	}
	return buf;
}

/*
 * A record's format 4 hash: SHA-256(label || prev || be64 id ||
 * be64 logged_at || be32 len || wire).  prev NULL: 32 zero bytes.
 */
void
cg_audit_pack_record_hash(const uint8 *prev, int64 id, TimestampTz logged_at,
						  const char *wire, uint32 len, uint8 *out)
{
	static const uint8 zero[CG_AUDIT_HASH_LEN];
	Size		lablen = sizeof(record_label) - 1;
	char	   *buf = hash_buffer(lablen + CG_AUDIT_HASH_LEN + 8 + 8 + 4 + (Size) len);
	char	   *p = buf;

	memcpy(p, record_label, lablen);
	p += lablen;
	memcpy(p, prev ? prev : zero, CG_AUDIT_HASH_LEN);
	p += CG_AUDIT_HASH_LEN;
	p = put_be64(p, (uint64) id);
	p = put_be64(p, (uint64) logged_at);
	p = put_be32(p, len);
	memcpy(p, wire, len);
	p += len;
	cg_sha256((const uint8 *) buf, p - buf, out);
}

/* A batch's hash over its last record's hash and its bounds. */
void
cg_audit_pack_batch_hash(const CgAuditBatchBounds *b, const uint8 *last_hash, uint8 *out)
{
	char		buf[sizeof(batch_label) - 1 + CG_AUDIT_HASH_LEN + 8 + 8 + 4 + 8 + 8 + 8];
	char	   *p = buf;

	memcpy(p, batch_label, sizeof(batch_label) - 1);
	p += sizeof(batch_label) - 1;
	memcpy(p, last_hash, CG_AUDIT_HASH_LEN);
	p += CG_AUDIT_HASH_LEN;
	p = put_be64(p, (uint64) b->first_id);
	p = put_be64(p, (uint64) b->last_id);
	p = put_be32(p, (uint32) b->records);
	p = put_be64(p, (uint64) b->first_statement_at);
	p = put_be64(p, (uint64) b->last_statement_at);
	p = put_be64(p, (uint64) b->logged_at);
	Assert(p == buf + sizeof(buf));
	cg_sha256((const uint8 *) buf, p - buf, out);
}

/*
 * Append a record (its wire form and hash) to a batch's packed bytes.
 * The writer has already checked the wire form (cg_audit_record_view).
 */
void
cg_audit_pack_append(StringInfo packed, const char *wire, uint32 len, const uint8 *hash)
{
	char		hdr[4];

	if ((Size) len + CG_AUDIT_PACK_HDR >= MaxAllocSize - (Size) packed->len)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("childguard audit batch too large to pack")));
	put_be32(hdr, len);
	appendBinaryStringInfo(packed, hdr, 4);
	appendBinaryStringInfo(packed, (const char *) hash, CG_AUDIT_HASH_LEN);
	appendBinaryStringInfo(packed, wire, len);
}

/*
 * The next record of packed bytes from *off: its hash and wire form
 * (pointing into data).  Returns CG_PACK_END at the end, CG_PACK_TORN when
 * the bytes left do not hold a whole record (a framing altered or cut).
 */
CgPackStep
cg_audit_pack_next(const char *data, Size len, Size *off, const uint8 **hash,
				   const char **wire, uint32 *wirelen)
{
	uint32		n;

	if (*off == len)
		return CG_PACK_END;
	if (len - *off < CG_AUDIT_PACK_HDR)
		return CG_PACK_TORN;
	memcpy(&n, data + *off, 4);
	n = pg_ntoh32(n);
	if (len - *off - CG_AUDIT_PACK_HDR < n)
		return CG_PACK_TORN;
	*hash = (const uint8 *) data + *off + 4;
	*wire = data + *off + CG_AUDIT_PACK_HDR;
	*wirelen = n;
	*off += CG_AUDIT_PACK_HDR + n;
	return CG_PACK_RECORD;
}

/* ---- unpacking: childguard._access_log_unpack() ---- */

/*
 * A batch that does not decode: XX001, naming the batch and the record,
 * never any of its bytes.
 */
static void
report_malformed(int64 first_id, int64 id, const char *why)
{
	ereport(ERROR,
			(errcode(ERRCODE_DATA_CORRUPTED),
			 errmsg("childguard access log batch %lld is malformed at record %lld",
					(long long) first_id, (long long) id),
			 errdetail("%s", why),
			 errhint("Run childguard.verify_access_log() to find the altered records.")));
}

/*
 * The batch's records as rows of the log into the SRF's tuplestore; with
 * filter, only the records that name subject (the others are walked, not
 * formed).  Each record shows the hash stored with it and, as prev_hash,
 * the hash it links to.
 */
static void
unpack_batch(FunctionCallInfo fcinfo, bool filter, int64 subject)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	int64		first_id;
	TimestampTz logged_at;
	bytea	   *packed;
	const char *data;
	Size		len;
	Size		off = 0;
	Datum		prev = (Datum) 0;
	bool		prev_null = true;
	const uint8 *prev_hash = NULL;
	MemoryContext rowcxt;
	MemoryContext old;

	InitMaterializedSRF(fcinfo, 0);
	if (PG_ARGISNULL(0) || PG_ARGISNULL(1) || PG_ARGISNULL(3))
		return;
	if (rsinfo->setDesc->natts != CG_AUDIT_NCOLUMNS)
		elog(ERROR, "childguard._access_log_unpack() must return the %d columns of the access log",
			 CG_AUDIT_NCOLUMNS);
	first_id = PG_GETARG_INT64(0);
	logged_at = PG_GETARG_TIMESTAMPTZ(1);
	if (!PG_ARGISNULL(2))
	{
		prev = PG_GETARG_DATUM(2);
		prev_null = false;
	}
	packed = PG_GETARG_BYTEA_PP(3);
	data = VARDATA_ANY(packed);
	len = VARSIZE_ANY_EXHDR(packed);
	rowcxt = AllocSetContextCreate(CurrentMemoryContext, "childguard access log unpack",
								   ALLOCSET_DEFAULT_SIZES);
	for (int64 id = first_id;; id++)
	{
		const uint8 *hash;
		const char *wire;
		uint32		wirelen;
		CgPackStep	step = cg_audit_pack_next(data, len, &off, &hash, &wire, &wirelen);
		CgAuditRecordView rec;
		Datum		values[CG_AUDIT_NCOLUMNS];
		char		nullc[CG_AUDIT_NCOLUMNS];
		bool		nulls[CG_AUDIT_NCOLUMNS];
		TimestampTz at;

		if (step == CG_PACK_END)
			break;
		if (step == CG_PACK_TORN)
			report_malformed(first_id, id, "Its packed bytes do not hold a whole record.");
		if (!cg_audit_record_check(wire, wirelen, &at))
			report_malformed(first_id, id, "The record's bytes do not decode as an audit record.");
		cg_audit_record_view(wire, wirelen, &rec);
		if (!filter || cg_audit_record_names(&rec, subject))
		{
			MemoryContextReset(rowcxt);
			old = MemoryContextSwitchTo(rowcxt);
			cg_audit_wire_values(&rec, values, nullc);
			values[CG_COL_ID] = Int64GetDatum(id);
			values[CG_COL_LOGGED_AT] = TimestampTzGetDatum(logged_at);
			if (prev_hash != NULL)
			{
				values[CG_COL_PREV_HASH] = cg_audit_hash_datum(prev_hash);
				prev_null = false;
			}
			else
				values[CG_COL_PREV_HASH] = prev;
			nullc[CG_COL_PREV_HASH] = prev_null ? 'n' : ' ';
			values[CG_COL_HASH] = cg_audit_hash_datum(hash);
			values[CG_COL_FORMAT_VERSION] = Int16GetDatum(CG_AUDIT_FORMAT_PACKED);
			for (int i = 0; i < CG_AUDIT_NCOLUMNS; i++)
				nulls[i] = nullc[i] == 'n';
			tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
			MemoryContextSwitchTo(old);
		}
		/* the next record links to this one's hash (it points into packed) */
		prev_hash = hash;
	}
	MemoryContextDelete(rowcxt);
}

PG_FUNCTION_INFO_V1(cg_access_log_unpack);

/*
 * childguard._access_log_unpack(first_id, logged_at, prev_hash, packed)
 * -> the batch's records as rows of childguard.access_log.  Reads only its
 * arguments.  Bytes that do not frame or decode as records are an error
 * (the batch was altered: verify_access_log() names the record).
 */
Datum
cg_access_log_unpack(PG_FUNCTION_ARGS)
{
	unpack_batch(fcinfo, false, 0);
	return (Datum) 0;
}

PG_FUNCTION_INFO_V1(cg_access_log_unpack_child);

/*
 * childguard._access_log_unpack_child(first_id, logged_at, prev_hash,
 * packed, subject_no) -> the batch's records that name the child (read,
 * denied or written), as rows of childguard.access_log (SQL 1.9).  A NULL
 * subject_no names no child: no rows.
 */
Datum
cg_access_log_unpack_child(PG_FUNCTION_ARGS)
{
	if (PG_ARGISNULL(4))
	{
		InitMaterializedSRF(fcinfo, 0);
		return (Datum) 0;
	}
	unpack_batch(fcinfo, true, PG_GETARG_INT64(4));
	return (Datum) 0;
}

/* ---- the batch table's layout ---- */

const char *const cg_audit_batch_column_names[CG_AUDIT_BATCH_NCOLUMNS] = {
	"first_id", "last_id", "records", "first_statement_at", "last_statement_at",
	"logged_at", "format_version", "prev_hash", "hash", "packed", "subjects"
};

const Oid	cg_audit_batch_column_types[CG_AUDIT_BATCH_NCOLUMNS] = {
	INT8OID, INT8OID, INT4OID, TIMESTAMPTZOID, TIMESTAMPTZOID,
	TIMESTAMPTZOID, INT2OID, BYTEAOID, BYTEAOID, BYTEAOID, INT8ARRAYOID
};

/*
 * Does childguard.access_log_batch have 1.8's columns, or 1.9's (with
 * subjects)?
 */
bool
cg_audit_batch_layout_ok(TupleDesc desc)
{
	if (desc->natts != CG_AUDIT_BATCH_NCOLUMNS_1_8 &&
		desc->natts != CG_AUDIT_BATCH_NCOLUMNS)
		return false;
	for (int i = 0; i < desc->natts; i++)
	{
		Form_pg_attribute att = TupleDescAttr(desc, i);

		if (att->attisdropped ||
			strcmp(NameStr(att->attname), cg_audit_batch_column_names[i]) != 0 ||
			att->atttypid != cg_audit_batch_column_types[i])
			return false;
	}
	return true;
}

/* Has the (layout-checked) batch table 1.9's subjects column? */
bool
cg_audit_batch_has_subjects(TupleDesc desc)
{
	return desc->natts == CG_AUDIT_BATCH_NCOLUMNS;
}
