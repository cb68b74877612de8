/*-------------------------------------------------------------------------
 *
 * audit_worker.c
 *	  The audit writer: a background worker per database that takes that
 *	  database's records from the shared queue and writes them into its
 *	  childguard.access_log, hash-chained, in its own transactions.
 *
 * Design and concurrency rules
 *
 * A writer is a dynamic background worker, registered by the first
 * backend that queues a record for a database without a running writer
 * (audit_queue.c), and restarted by the postmaster after
 * childguard.audit_writer_restart seconds if it fails.  It serves
 * databases where the extension is installed.  It exits after
 * childguard.audit_writer_idle_timeout without records (under the queue
 * lock, only if nothing is queued for its database), so an idle database
 * holds no connection and can be dropped; the next record starts a new
 * writer.
 * One writer per database: a writer that finds another live writer in
 * its database's slot exits at once (exit code 0, not restarted).
 *
 * Each batch (at most childguard.audit_batch_size records) is one
 * transaction, committed with synchronous_commit = on when a backend waits
 * for one of its records (audit_sync), so a record reported done to such a
 * backend is durable; other batches commit asynchronously, and their
 * records stay in the ring (claimed) until the WAL is flushed past their
 * commit -- by the WAL writer, or by this writer after WRITER_FLUSH_MS --
 * so that a crash in between finds them still queued, not lost with an
 * unflushed commit.  The transaction locks the chain head
 * (childguard.access_log_head) FOR UPDATE, assigns ids, computes each
 * hash from the previous one (audit_chain.c), inserts the rows at once
 * into the table and its indexes (audit_log_store.c: one multi-insert,
 * no SQL), and moves the head.  From SQL 1.8 (access_log_batch exists)
 * the batch is instead one row of access_log_batch, its records packed
 * as they came from the ring and hashed one by one, then the batch's
 * bounds (chain format 4, audit_pack.c); older SQL keeps the row path.
 * The head also
 * holds the key of the last record written -- (epoch, seq), where the
 * epoch changes at every initialisation of shared memory (audit_queue.c)
 * -- and a writer skips a record whose key is not past it: one restarted
 * after its predecessor died between commit and marking its batch done,
 * or a record carried over a crash-restart that was already written, is
 * not written twice; and a record is never taken for written because an
 * older generation reached a higher sequence number.
 *
 * The writer never waits indefinitely: it runs with lock_timeout
 * (WRITER_LOCK_TIMEOUT), and with statement_timeout and read-only defaults
 * that a database's or role's settings might impose switched off.
 *
 * Only this process may change the log: cg_audit_is_writer (defined with
 * the queue, audit_queue.c, set here and nowhere else) is what the log's
 * triggers check (audit_guard.c).
 *
 * A batch that fails for a reason that is not its records' (a lock not
 * granted in time, resources, the table missing: see batch_level_error)
 * is retried whole; one that still fails after WRITER_ATTEMPTS goes to the
 * server log.  A batch that fails because of a record is retried record
 * by record; a record that still cannot be written after three attempts
 * goes to the server log in full with the reason, and its backend is told
 * (an error in synchronous mode).  childguard.audit_queue_status counts
 * the records written to the server log instead of the access log.
 * Either way the ring moves on: one database's trouble does not hold up
 * the others.
 *
 * At shutdown (SIGTERM) the writer drains its database's queued records
 * before exiting.  Records still queued at a crash or an immediate
 * shutdown are saved by the postmaster and queued again at the next start
 * (audit_queue.c).
 *
 * Between batches the writer also registers writers for records carried
 * over a restart, and settles the records of databases that were dropped
 * (audit_queue.c), so that they do not hold the shared ring.
 *
 * Retention: with childguard.audit_retention set, the writer deletes
 * records older than that, oldest first, at most once a minute and in
 * bounded chunks, and records the last purged id and hash in the head so
 * the chain stays verifiable; from 1.8 whole batches, once the rows of
 * the older table before them are gone.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#ifdef __GLIBC__
#include <malloc.h>
#endif

#include "access/table.h"
#include "access/xact.h"
#include "access/xlog.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "postmaster/interrupt.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "tcop/tcopprot.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "catalog/namespace.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"

#include "audit.h"

#define WRITER_NAP_MS 10000
#define WRITER_ATTEMPTS 3
#define PURGE_INTERVAL_MS 60000
#define PURGE_CHUNK 10000
/* batches purged at a time (up to audit_batch_size records each) */
#define PURGE_CHUNK_BATCHES 100
#define WRITER_LOCK_TIMEOUT "2s"
/* an asynchronous batch is flushed by the writer itself after this long */
#define WRITER_FLUSH_MS 200

/* a batch committed asynchronously, finished once its commit is flushed */
typedef struct Unflushed
{
	XLogRecPtr	lsn;
	TimestampTz committed_at;
	int			n;
	CgAuditQueued *keys;		/* data not kept */
} Unflushed;

static MemoryContext unflushed_cxt = NULL;
static List *unflushed = NIL;

static Oid	writer_db = InvalidOid;
static TimestampTz last_purge = 0;

/* Register a writer for dboid; false if no worker slot is free. */
bool
cg_audit_start_writer(Oid dboid)
{
	BackgroundWorker w;

	memset(&w, 0, sizeof(w));
	w.bgw_flags = BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION;
	w.bgw_start_time = BgWorkerStart_RecoveryFinished;
	w.bgw_restart_time = cg_audit_writer_restart;
	snprintf(w.bgw_library_name, BGW_MAXLEN, "childguard");
	snprintf(w.bgw_function_name, BGW_MAXLEN, "cg_audit_writer_main");
	snprintf(w.bgw_name, BGW_MAXLEN, "childguard audit writer for database %u", dboid);
	snprintf(w.bgw_type, BGW_MAXLEN, "childguard audit writer");
	w.bgw_main_arg = ObjectIdGetDatum(dboid);
	w.bgw_notify_pid = 0;
	return RegisterDynamicBackgroundWorker(&w, NULL);
}

static void
release_slot(int code, Datum arg)
{
	cg_audit_writer_release_slot(DatumGetObjectId(arg));
}

/*
 * One record as the next link of the chain: a row of access_log, its
 * values (indexed by CgAuditColumn) left in values/isnull for the caller
 * (the slot takes them as already deformed).
 */
static HeapTuple
record_row(const CgAuditQueued *q, CgAuditChainHead *h, TimestampTz now, TupleDesc rowdesc,
		   int format, Datum *values, bool *isnull)
{
	CgAuditRecordView rec;
	char		nulls[CG_AUDIT_NCOLUMNS];
	uint8		hash[CG_AUDIT_HASH_LEN];

	cg_audit_record_view(q->data, q->len, &rec);
	cg_audit_wire_values(&rec, values, nulls);
	values[CG_COL_ID] = Int64GetDatum(h->last_id + 1);
	values[CG_COL_LOGGED_AT] = TimestampTzGetDatum(now);
	if (h->has_hash)
		values[CG_COL_PREV_HASH] = cg_audit_hash_datum(h->last_hash);
	else
		nulls[CG_COL_PREV_HASH] = 'n';
	values[CG_COL_HASH] = (Datum) 0;
	/* a 1.0/1.1 table has no such column: heap_form_tuple ignores it */
	values[CG_COL_FORMAT_VERSION] = Int16GetDatum((int16) format);
	/* before 1.4 the table has no end_user column either */

	for (int i = 0; i < CG_AUDIT_NCOLUMNS; i++)
		isnull[i] = nulls[i] == 'n';
	cg_audit_chain_hash(format, h->has_hash ? h->last_hash : NULL, values, isnull, hash);
	values[CG_COL_HASH] = cg_audit_hash_datum(hash);

	Assert(rowdesc->natts == CG_AUDIT_FORMAT_COLUMNS(format));
	h->last_id++;
	h->has_hash = true;
	memcpy(h->last_hash, hash, CG_AUDIT_HASH_LEN);
	h->last_seq = (int64) q->seq;
	h->epoch = q->epoch;
	return heap_form_tuple(rowdesc, values, isnull);
}

/*
 * Chain format 4 (SQL 1.8, audit_pack.c): one record appended to the
 * batch's packed bytes as it came from the ring -- its wire form checked,
 * hashed from the previous link, copied, nothing else formed per record.
 */
static void
pack_record(const CgAuditQueued *q, CgAuditChainHead *h, TimestampTz now,
			StringInfo packed, CgAuditBatchBounds *b, CgAuditSubjects *subjects)
{
	TimestampTz statement_at;
	uint8		hash[CG_AUDIT_HASH_LEN];
	int64		id = h->last_id + 1;

	/* a record that does not decode fails here, not in a reader */
	if (!cg_audit_record_check(q->data, q->len, &statement_at))
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("corrupt childguard audit record")));
	if (q->len > PG_INT32_MAX)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("childguard audit record too large to pack")));
	cg_audit_pack_record_hash(h->has_hash ? h->last_hash : NULL, id, now,
							  q->data, (uint32) q->len, hash);
	cg_audit_pack_append(packed, q->data, (uint32) q->len, hash);
	/* SQL 1.9: the children it names, for the batch's subjects column */
	if (subjects != NULL)
	{
		CgAuditRecordView rec;

		cg_audit_record_view(q->data, q->len, &rec);
		cg_audit_subjects_add(subjects, &rec);
	}
	if (b->records == 0)
	{
		b->first_id = id;
		b->first_statement_at = b->last_statement_at = statement_at;
	}
	else
	{
		b->first_statement_at = Min(b->first_statement_at, statement_at);
		b->last_statement_at = Max(b->last_statement_at, statement_at);
	}
	b->records++;
	b->last_id = id;
	h->last_id = id;
	h->has_hash = true;
	memcpy(h->last_hash, hash, CG_AUDIT_HASH_LEN);
	h->last_seq = (int64) q->seq;
	h->epoch = q->epoch;
}

/*
 * The packed batch as the row of access_log_batch; the head moves to the
 * batch's hash (the next batch links to it).  packed holds VARHDRSZ
 * reserved bytes before the records: it becomes the bytea in place.
 */
static HeapTuple
batch_row(CgAuditChainHead *h, bool had_prev, const uint8 *prev, StringInfo packed,
		  CgAuditBatchBounds *b, CgAuditSubjects *subjects, TupleDesc desc,
		  Datum *values, bool *isnull)
{
	uint8		batch_hash[CG_AUDIT_HASH_LEN];

	cg_audit_pack_batch_hash(b, h->last_hash, batch_hash);
	memset(isnull, 0, sizeof(bool) * CG_AUDIT_BATCH_NCOLUMNS);
	values[CG_BCOL_FIRST_ID] = Int64GetDatum(b->first_id);
	values[CG_BCOL_LAST_ID] = Int64GetDatum(b->last_id);
	values[CG_BCOL_RECORDS] = Int32GetDatum(b->records);
	values[CG_BCOL_FIRST_STATEMENT_AT] = TimestampTzGetDatum(b->first_statement_at);
	values[CG_BCOL_LAST_STATEMENT_AT] = TimestampTzGetDatum(b->last_statement_at);
	values[CG_BCOL_LOGGED_AT] = TimestampTzGetDatum(b->logged_at);
	values[CG_BCOL_FORMAT_VERSION] = Int16GetDatum(CG_AUDIT_FORMAT_PACKED);
	if (had_prev)
		values[CG_BCOL_PREV_HASH] = cg_audit_hash_datum(prev);
	else
		isnull[CG_BCOL_PREV_HASH] = true;
	values[CG_BCOL_HASH] = cg_audit_hash_datum(batch_hash);
	SET_VARSIZE(packed->data, packed->len);
	values[CG_BCOL_PACKED] = PointerGetDatum(packed->data);
	if (subjects != NULL)
		values[CG_BCOL_SUBJECTS] = cg_audit_subjects_array(subjects);
	else
		isnull[CG_BCOL_SUBJECTS] = true;
	memcpy(h->last_hash, batch_hash, CG_AUDIT_HASH_LEN);
	return heap_form_tuple(desc, values, isnull);
}

static bool
any_sync(const CgAuditQueued *recs, int n)
{
	for (int i = 0; i < n; i++)
		if (recs[i].sync)
			return true;
	return false;
}

/*
 * In a PG_CATCH of a batch transaction: back to cxt, take the error out of
 * the error state, and roll the transaction back, so the loop carries on.
 */
static ErrorData *
abort_batch(MemoryContext cxt)
{
	ErrorData  *edata;

	MemoryContextSwitchTo(cxt);
	edata = CopyErrorData();
	FlushErrorState();
	AbortCurrentTransaction();
	return edata;
}

/* Write records in one transaction; false (rolled back) on error. */
static bool
try_write(CgAuditQueued *recs, int n, char **error, int *sqlerrcode)
{
	MemoryContext cxt = CurrentMemoryContext;
	volatile bool ok = true;

	/*
	 * Flush the commit to disk before reporting it done when a backend waits
	 * for it (audit_sync); otherwise an asynchronous commit will do: those
	 * records were not promised to survive a crash.
	 */
	SetConfigOption("synchronous_commit", any_sync(recs, n) ? "on" : "off",
					PGC_SUSET, PGC_S_OVERRIDE);
	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	PG_TRY();
	{
		CgAuditChainHead h;
		TimestampTz now = GetCurrentTimestamp();
		TimestampTz current_epoch = cg_audit_current_epoch();
		CgAuditStore *st;
		TupleDesc	rowdesc;
		int			format;
		HeapTuple  *rows = palloc(sizeof(HeapTuple) * n);
		Datum	   *values = palloc(sizeof(Datum) * CG_AUDIT_NCOLUMNS * n);
		bool	   *isnull = palloc(sizeof(bool) * CG_AUDIT_NCOLUMNS * n);
		int			nrows = 0;
		bool		packed_log;
		StringInfoData packed;
		CgAuditBatchBounds bounds;
		bool		had_prev;
		uint8		prev[CG_AUDIT_HASH_LEN];
		CgAuditSubjects subjects_buf;
		CgAuditSubjects *subjects = NULL;

		PushActiveSnapshot(GetTransactionSnapshot());
		pgstat_report_activity(STATE_RUNNING, "childguard: writing audit records");
		st = cg_audit_store_open();
		rowdesc = cg_audit_store_log_desc(st);
		/*
		 * The latest chain format the installed table holds (SQL 1.0/1.1:
		 * 1); from SQL 1.8 the batch table (format 4)
		 */
		format = cg_audit_store_packed(st) ? CG_AUDIT_FORMAT_PACKED :
			cg_audit_log_format(rowdesc, "access_log");
		cg_audit_store_lock_head(st, &h);
		packed_log = cg_audit_store_packed(st);
		had_prev = h.has_hash;
		memcpy(prev, h.last_hash, CG_AUDIT_HASH_LEN);
		memset(&bounds, 0, sizeof(bounds));
		bounds.logged_at = now;
		if (packed_log)
		{
			Size		total = VARHDRSZ;

			/* room for the whole batch at once (no regrowth and copy) */
			for (int i = 0; i < n; i++)
				total += CG_AUDIT_PACK_HDR + recs[i].len;
			initStringInfo(&packed);
			if (total < MaxAllocSize / 2)
				enlargeStringInfo(&packed, (int) total);
			appendStringInfoSpaces(&packed, VARHDRSZ);
			/* SQL 1.9: the batch's children, indexed for per-child reads */
			if (cg_audit_batch_has_subjects(rowdesc))
			{
				cg_audit_subjects_init(&subjects_buf, n * 2);
				subjects = &subjects_buf;
			}
		}
		for (int i = 0; i < n; i++)
		{
			/*
			 * Already written (by a predecessor that died before marking it
			 * done, or before a crash-restart carried it over): its key is
			 * not past the head's.  A record of this generation is compared
			 * within the generation only: if the clock went back across a
			 * restart, an older head epoch must not hide new records.
			 */
			if (recs[i].epoch == current_epoch ?
				(recs[i].epoch == h.epoch && (int64) recs[i].seq <= h.last_seq) :
				(recs[i].epoch < h.epoch ||
				 (recs[i].epoch == h.epoch && (int64) recs[i].seq <= h.last_seq)))
				continue;
			if (packed_log)
				pack_record(&recs[i], &h, now, &packed, &bounds, subjects);
			else
				rows[nrows] = record_row(&recs[i], &h, now, rowdesc, format,
										 values + nrows * CG_AUDIT_NCOLUMNS,
										 isnull + nrows * CG_AUDIT_NCOLUMNS);
			nrows++;
		}
		if (nrows > 0 && packed_log)
		{
			rows[0] = batch_row(&h, had_prev, prev, &packed, &bounds, subjects, rowdesc,
								values, isnull);
			cg_audit_store_insert(st, rows, values, isnull, CG_AUDIT_BATCH_NCOLUMNS, 1);
			cg_audit_store_move_head(st, &h);
		}
		else if (nrows > 0)
		{
			cg_audit_store_insert(st, rows, values, isnull, CG_AUDIT_NCOLUMNS, nrows);
			cg_audit_store_move_head(st, &h);
		}
		cg_audit_store_close(st);
		PopActiveSnapshot();
		CommitTransactionCommand();
	}
	PG_CATCH();
	{
		ErrorData  *edata = abort_batch(cxt);

		*error = edata->message ? pstrdup(edata->message) : pstrdup("unknown error");
		*sqlerrcode = edata->sqlerrcode;
		ereport(WARNING,
				(errcode(edata->sqlerrcode),
				 errmsg("childguard audit writer could not write %d audit records: %s",
						n, *error)));
		FreeErrorData(edata);
		ok = false;
	}
	PG_END_TRY();
	MemoryContextSwitchTo(cxt);
	pgstat_report_activity(STATE_IDLE, NULL);
	return ok;
}

/*
 * Finish the batches whose commit has reached the disk; with force (or
 * when the oldest waited WRITER_FLUSH_MS), flush the WAL first.
 */
static void
finish_flushed(bool force)
{
	XLogRecPtr	flushed;
	XLogRecPtr	last = InvalidXLogRecPtr;
	ListCell   *lc;
	List	   *left = NIL;
	MemoryContext old;

	if (unflushed == NIL)
		return;
	foreach(lc, unflushed)
		last = Max(last, ((Unflushed *) lfirst(lc))->lsn);
	if (force ||
		TimestampDifferenceExceeds(((Unflushed *) linitial(unflushed))->committed_at,
								   GetCurrentTimestamp(), WRITER_FLUSH_MS))
		XLogFlush(last);
	flushed = GetFlushRecPtr(NULL);
	old = MemoryContextSwitchTo(unflushed_cxt);
	foreach(lc, unflushed)
	{
		Unflushed  *u = (Unflushed *) lfirst(lc);

		if (u->lsn <= flushed)
			cg_audit_finish_batch(writer_db, u->keys, u->n, true);
		else
			left = lappend(left, u);
	}
	MemoryContextSwitchTo(old);
	unflushed = left;
	if (unflushed == NIL)
		MemoryContextReset(unflushed_cxt);
}

/*
 * A batch was committed: done now if its commit is on disk (audit_sync
 * batches commit synchronously), else when it gets there.
 */
static void
finish_written(CgAuditQueued *recs, int n)
{
	MemoryContext old = MemoryContextSwitchTo(unflushed_cxt);
	Unflushed  *u = palloc(sizeof(Unflushed));

	u->lsn = XactLastCommitEnd;
	u->committed_at = GetCurrentTimestamp();
	u->n = n;
	u->keys = palloc(sizeof(CgAuditQueued) * n);
	for (int i = 0; i < n; i++)
	{
		u->keys[i] = recs[i];
		u->keys[i].data = NULL;
	}
	unflushed = lappend(unflushed, u);
	MemoryContextSwitchTo(old);
	finish_flushed(false);
}

/* Give up on records: the server log gets each in full. */
static void
give_up(CgAuditQueued *q, int n, const char *error)
{
	char	   *why = psprintf("the audit writer could not write it (%s)", error);

	for (int i = 0; i < n; i++)
		cg_audit_server_log_raw(q[i].data, q[i].len, why);
	cg_audit_finish_batch(writer_db, q, n, false);
	cg_audit_count_given_up(n);
}

/*
 * Is the error about one of the records (bad data, a constraint, a value
 * too large, a record that does not decode)?  Then the batch is retried
 * record by record to write the others.  Any other error -- a lock not
 * granted in time, a cancel, resources, the log's table missing or
 * changed, privileges -- is the database's, and retrying record by record
 * would only multiply the wait while the ring holds the batch.
 */
static bool
batch_level_error(int sqlerrcode)
{
	int			class = ERRCODE_TO_CATEGORY(sqlerrcode);

	return !(class == ERRCODE_TO_CATEGORY(ERRCODE_DATA_EXCEPTION) ||
			 class == ERRCODE_TO_CATEGORY(ERRCODE_INTEGRITY_CONSTRAINT_VIOLATION) ||
			 class == ERRCODE_TO_CATEGORY(ERRCODE_PROGRAM_LIMIT_EXCEEDED) ||
			 class == ERRCODE_TO_CATEGORY(ERRCODE_INTERNAL_ERROR));
}

/* Write a claimed batch; on failure retried whole or record by record. */
static void
process_batch(CgAuditQueued *recs, int n)
{
	char	   *error = NULL;
	int			sqlerrcode = 0;
	int			attempt = 1;
	bool		written;

	while (!(written = try_write(recs, n, &error, &sqlerrcode)))
	{
		if (!batch_level_error(sqlerrcode))
			break;
		if (attempt++ >= WRITER_ATTEMPTS)
		{
			give_up(recs, n, error);
			return;
		}
		(void) WaitLatch(MyLatch, WL_TIMEOUT | WL_EXIT_ON_PM_DEATH, 1000L,
						 PG_WAIT_EXTENSION);
		CHECK_FOR_INTERRUPTS();
	}
	if (written)
	{
		finish_written(recs, n);
		return;
	}
	for (int i = 0; i < n; i++)
	{
		bool		done = false;

		for (int attempt = 1; attempt <= WRITER_ATTEMPTS && !done; attempt++)
		{
			if (attempt > 1)
			{
				(void) WaitLatch(MyLatch, WL_TIMEOUT | WL_EXIT_ON_PM_DEATH, 1000L,
								 PG_WAIT_EXTENSION);
				CHECK_FOR_INTERRUPTS();
			}
			done = try_write(&recs[i], 1, &error, &sqlerrcode);
		}
		if (done)
			finish_written(&recs[i], 1);
		else
			give_up(&recs[i], 1, error);
	}
}

/* Delete records past childguard.audit_retention, oldest first. */
static void
purge_expired(void)
{
	TimestampTz now = GetCurrentTimestamp();
	MemoryContext cxt = CurrentMemoryContext;

	if (cg_audit_retention_min <= 0 ||
		!TimestampDifferenceExceeds(last_purge, now, PURGE_INTERVAL_MS))
		return;
	last_purge = now;

	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	PG_TRY();
	{
		Oid			types[2] = {TIMESTAMPTZOID, INT4OID};
		Datum		values[2];
		bool		isnull;
		int64		upto;
		bool		packed;
		const char *rows_sql;
		uint64		purged = 0;

		if (SPI_connect() != SPI_OK_CONNECT)
			elog(ERROR, "SPI_connect failed");
		PushActiveSnapshot(GetTransactionSnapshot());
		pgstat_report_activity(STATE_RUNNING, "childguard: purging expired audit records");
		/* the head is locked first, as the writer does, so purges and batches serialise */
		SPI_execute("SELECT 1 FROM childguard.access_log_head FOR UPDATE", false, 0);
		values[0] = TimestampTzGetDatum(now - (int64) cg_audit_retention_min * 60 * USECS_PER_SEC);
		values[1] = Int32GetDatum(PURGE_CHUNK);
		packed = OidIsValid(get_relname_relid("access_log_batch",
											   get_namespace_oid("childguard", false)));
		rows_sql = packed ?
			"SELECT max(id) FROM (SELECT id FROM childguard.access_log_rows "
			"WHERE logged_at < $1 ORDER BY id LIMIT $2) s" :
			"SELECT max(id) FROM (SELECT id FROM childguard.access_log "
			"WHERE logged_at < $1 ORDER BY id LIMIT $2) s";
		if (SPI_execute_with_args(rows_sql, 2, types, values, NULL, true, 1) != SPI_OK_SELECT)
			elog(ERROR, "could not find expired audit records");
		upto = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
		if (!isnull)
		{
			Oid			t1[1] = {INT8OID};
			Datum		v1[1] = {Int64GetDatum(upto)};

			if (SPI_execute_with_args(packed ?
									  "UPDATE childguard.access_log_head h "
									  "SET purged_upto_id = l.id, purged_upto_hash = l.hash "
									  "FROM childguard.access_log_rows l WHERE l.id = $1" :
									  "UPDATE childguard.access_log_head h "
									  "SET purged_upto_id = l.id, purged_upto_hash = l.hash "
									  "FROM childguard.access_log l WHERE l.id = $1",
									  1, t1, v1, NULL, false, 0) != SPI_OK_UPDATE ||
				SPI_execute_with_args(packed ?
									  "DELETE FROM childguard.access_log_rows WHERE id <= $1" :
									  "DELETE FROM childguard.access_log WHERE id <= $1",
									  1, t1, v1, NULL, false, 0) != SPI_OK_DELETE)
				elog(ERROR, "could not purge expired audit records");
			purged += SPI_processed;
		}

		/*
		 * The packed log (1.8): whole batches, oldest first, once no row of
		 * the older table is left before them (the chain's order); the
		 * head keeps the last purged batch's hash, which the next batch
		 * links to.  A batch's records were all logged at its logged_at.
		 */
		if (packed)
		{
			if (SPI_execute("SELECT 1 FROM childguard.access_log_rows LIMIT 1", true, 1) != SPI_OK_SELECT)
				elog(ERROR, "could not find expired audit records");
			if (SPI_processed == 0)
			{
				values[1] = Int32GetDatum(PURGE_CHUNK_BATCHES);
				if (SPI_execute_with_args("SELECT max(last_id), sum(records) FROM "
										  "(SELECT last_id, records FROM childguard.access_log_batch "
										  "WHERE logged_at < $1 ORDER BY first_id LIMIT $2) s",
										  2, types, values, NULL, true, 1) != SPI_OK_SELECT)
					elog(ERROR, "could not find expired audit records");
				upto = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc,
												   1, &isnull));
				if (!isnull)
				{
					Oid			t1[1] = {INT8OID};
					Datum		v1[1] = {Int64GetDatum(upto)};
					int64		records;

					/* sum(integer) is a bigint */
					records = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0],
														  SPI_tuptable->tupdesc, 2, &isnull));
					if (SPI_execute_with_args("UPDATE childguard.access_log_head h "
											  "SET purged_upto_id = b.last_id, purged_upto_hash = b.hash "
											  "FROM childguard.access_log_batch b WHERE b.last_id = $1",
											  1, t1, v1, NULL, false, 0) != SPI_OK_UPDATE ||
						SPI_execute_with_args("DELETE FROM childguard.access_log_batch WHERE last_id <= $1",
											  1, t1, v1, NULL, false, 0) != SPI_OK_DELETE)
						elog(ERROR, "could not purge expired audit records");
					purged += records;
				}
			}
		}
		if (purged > 0)
			ereport(LOG,
					(errmsg("childguard audit writer purged %llu audit records older than childguard.audit_retention",
							(unsigned long long) purged)));
		SPI_finish();
		PopActiveSnapshot();
		CommitTransactionCommand();
	}
	PG_CATCH();
	{
		ErrorData  *edata = abort_batch(cxt);

		ereport(WARNING,
				(errcode(edata->sqlerrcode),
				 errmsg("childguard audit writer could not purge expired records: %s",
						edata->message)));
		FreeErrorData(edata);
	}
	PG_END_TRY();
	MemoryContextSwitchTo(cxt);
	pgstat_report_activity(STATE_IDLE, NULL);
}

/*
 * Let records gather for up to childguard.audit_writer_delay before a
 * batch, so that under load batches are large and the writer wakes
 * rarely -- unless a backend waits for one (audit_sync), a full batch is
 * there, or nothing is queued at all.
 */
static void
gather(void)
{
	TimestampTz start = GetCurrentTimestamp();

	for (;;)
	{
		int			sync;
		int			pending = cg_audit_pending_for(writer_db, &sync);
		long		elapsed;

		if (pending == 0 || sync > 0 || pending >= cg_audit_batch_size ||
			ShutdownRequestPending)
			return;
		elapsed = (long) ((GetCurrentTimestamp() - start) / 1000);
		if (elapsed >= cg_audit_writer_delay)
			return;
		(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
						 cg_audit_writer_delay - elapsed, PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
		CHECK_FOR_INTERRUPTS();
	}
}

/*
 * Write what is queued for this database; true if there was any.  With
 * all, until nothing is left (shutdown); otherwise a batch that took less
 * than a full batch ends the round: what was queued meanwhile waits for the
 * next gather() (unless a backend waits for it), so that under a steady
 * load the batches are those gather() lets grow, not the few records that
 * arrived while the previous batch was being written.
 */
static bool
drain(MemoryContext batch_cxt, bool all)
{
	bool		any = false;

	for (;;)
	{
		CgAuditQueued *recs;
		int			n;
		MemoryContext old = MemoryContextSwitchTo(batch_cxt);

		n = cg_audit_claim_batch(writer_db, cg_audit_batch_size, &recs);
		if (n > 0)
			process_batch(recs, n);
		MemoryContextSwitchTo(old);
		MemoryContextReset(batch_cxt);
		if (n == 0)
			break;
		any = true;
		if (!all && n < cg_audit_batch_size)
			break;
		if (ConfigReloadPending)
		{
			ConfigReloadPending = false;
			ProcessConfigFile(PGC_SIGHUP);
		}
	}
	return any;
}

/*
 * Records of other databases that nobody serves: those carried over a
 * restart get writers; those of a dropped database are settled.
 */
static void
serve_others(void)
{
	Oid			dbs[CG_AUDIT_MAX_DATABASES];
	int			n;
	MemoryContext cxt = CurrentMemoryContext;

	cg_audit_serve_carried_over();
	n = cg_audit_unwritten_databases(dbs);
	if (n == 0)
		return;
	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	PG_TRY();
	{
		cg_audit_settle_gone(dbs, n);
		CommitTransactionCommand();
	}
	PG_CATCH();
	{
		ErrorData  *edata = abort_batch(cxt);

		ereport(WARNING,
				(errcode(edata->sqlerrcode),
				 errmsg("childguard audit writer could not settle the records of dropped databases: %s",
						edata->message)));
		FreeErrorData(edata);
	}
	PG_END_TRY();
	MemoryContextSwitchTo(cxt);
}

/* The writer's entry point; arg is the database OID. */
void
cg_audit_writer_main(Datum arg)
{
	MemoryContext batch_cxt;
	TimestampTz idle_since;

	writer_db = DatumGetObjectId(arg);
	pqsignal(SIGHUP, SignalHandlerForConfigReload);
	pqsignal(SIGTERM, SignalHandlerForShutdownRequest);
	BackgroundWorkerUnblockSignals();

	cg_audit_is_writer = true;
	if (!cg_audit_writer_claim_slot(writer_db))
		proc_exit(0);			/* another writer serves this database */
	on_shmem_exit(release_slot, ObjectIdGetDatum(writer_db));

	/* a database closed to connections (datallowconn) still gets its records */
	BackgroundWorkerInitializeConnectionByOid(writer_db, InvalidOid, BGWORKER_BYPASS_ALLOWCONN);
	SetConfigOption("application_name", "childguard audit writer", PGC_USERSET, PGC_S_OVERRIDE);
	/* never stall indefinitely; no database or role default stops the writer */
	SetConfigOption("lock_timeout", WRITER_LOCK_TIMEOUT, PGC_SUSET, PGC_S_OVERRIDE);
	SetConfigOption("statement_timeout", "0", PGC_SUSET, PGC_S_OVERRIDE);
	SetConfigOption("idle_in_transaction_session_timeout", "0", PGC_SUSET, PGC_S_OVERRIDE);
	SetConfigOption("default_transaction_read_only", "off", PGC_SUSET, PGC_S_OVERRIDE);
	SetConfigOption("default_transaction_isolation", "read committed", PGC_SUSET, PGC_S_OVERRIDE);
	pgstat_report_appname("childguard audit writer");

#ifdef M_TRIM_THRESHOLD
	/*
	 * Each batch allocates and frees a few megabytes (records, rows, the
	 * array): keep that memory in the process instead of returning it to the
	 * kernel after every batch and faulting it in again (a seventh of the
	 * writer's time went to page faults).  Bounded by the batch size.
	 */
	mallopt(M_TRIM_THRESHOLD, 64 * 1024 * 1024);
	mallopt(M_MMAP_THRESHOLD, 32 * 1024 * 1024);
#endif
	batch_cxt = AllocSetContextCreate(TopMemoryContext, "childguard audit batch",
									  ALLOCSET_DEFAULT_SIZES);
	unflushed_cxt = AllocSetContextCreate(TopMemoryContext, "childguard audit unflushed",
										  ALLOCSET_DEFAULT_SIZES);
	idle_since = GetCurrentTimestamp();
	for (;;)
	{
		if (ConfigReloadPending)
		{
			ConfigReloadPending = false;
			ProcessConfigFile(PGC_SIGHUP);
		}
		gather();
		if (drain(batch_cxt, false))
			idle_since = GetCurrentTimestamp();
		if (ShutdownRequestPending)
			break;
		serve_others();
		purge_expired();
		finish_flushed(false);
		if (cg_audit_writer_retire(writer_db,
								   TimestampDifferenceExceeds(idle_since, GetCurrentTimestamp(),
															  cg_audit_writer_idle)))
			proc_exit(0);		/* idle, or making way: the next record starts a new writer */
		(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
						 unflushed != NIL ? WRITER_FLUSH_MS / 4 :
						 Min(WRITER_NAP_MS, cg_audit_writer_idle), PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
		CHECK_FOR_INTERRUPTS();
	}
	/* shutting down: what backends queued until now still gets written */
	drain(batch_cxt, true);
	finish_flushed(true);
	proc_exit(1);
}
