/*-------------------------------------------------------------------------
 *
 * retention_worker.c
 *	  The retention worker: a launcher for the cluster that starts, every
 *	  childguard.retention_interval, a sweeper per database; the sweeper
 *	  runs the sweep's steps (32_retention_sweep.sql), each step and each
 *	  batch its own transaction.
 *
 * Design and concurrency rules
 *
 * The launcher is a static background worker registered in _PG_init
 * (shared_preload_libraries), restarted by the postmaster after
 * LAUNCHER_RESTART_S if it dies; it connects to no database and reads
 * pg_database only.  On SIGHUP it re-reads postgresql.conf, so the
 * interval, the databases and the batch size change without a restart;
 * an interval of 0 stops starting sweeps.  Each round it starts, for each
 * database that accepts connections and is not a template (or each one
 * named in childguard.retention_databases), a dynamic sweeper, unless the
 * previous one it started there still runs (it keeps the handles).
 *
 * A sweeper connects to its database as the bootstrap superuser and exits
 * at once, quietly, where childguard 1.4 is not installed.  It takes the
 * database's sweep lock (a session advisory lock, the one run_retention()
 * takes for its transaction) or leaves if another sweep holds it; then
 * runs the steps, each in its own transaction:
 *	 _retention_reapply(), _retention_plan(), _retention_erase_batch(n)
 *	 until the queue is empty, _retention_finish().
 * An error ends the sweeper (logged; the next round starts another).
 * SIGTERM is honoured between batches.  Since every erasure of a child in
 * a table is one erase() call inside one batch transaction, a crash, kill
 * -9 or immediate shutdown leaves each child erased in a table or not at
 * all, never half; the next sweep plans again from the tables themselves
 * and completes what is left.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/heapam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "access/tableam.h"
#include "access/xact.h"
#include "catalog/pg_database.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "postmaster/interrupt.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "tcop/tcopprot.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/json.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"
#include "utils/varlena.h"

#include "retention.h"

#define LAUNCHER_RESTART_S 10
#define LAUNCHER_IDLE_MS 5000
#define MAX_SWEPT_DATABASES 256

PGDLLEXPORT void cg_retention_launcher_main(Datum arg);
PGDLLEXPORT void cg_retention_sweeper_main(Datum arg);

/* Register the launcher (from _PG_init). */
void
cg_retention_register_launcher(void)
{
	BackgroundWorker w;

	memset(&w, 0, sizeof(w));
	w.bgw_flags = BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION;
	w.bgw_start_time = BgWorkerStart_RecoveryFinished;
	w.bgw_restart_time = LAUNCHER_RESTART_S;
	snprintf(w.bgw_library_name, BGW_MAXLEN, "childguard");
	snprintf(w.bgw_function_name, BGW_MAXLEN, "cg_retention_launcher_main");
	snprintf(w.bgw_name, BGW_MAXLEN, "childguard retention launcher");
	snprintf(w.bgw_type, BGW_MAXLEN, "childguard retention launcher");
	RegisterBackgroundWorker(&w);
}

/* ---------------------------------------------------------------------------
 * The launcher
 * ---------------------------------------------------------------------------
 */

typedef struct SweptDatabase
{
	Oid			datid;
	BackgroundWorkerHandle *handle;	/* the last sweeper started, or NULL */
	TimestampTz started_at;
} SweptDatabase;

static SweptDatabase swept[MAX_SWEPT_DATABASES];
static int	nswept = 0;

/* Is name in childguard.retention_databases (empty: every database)? */
static bool
database_wanted(const char *name)
{
	char	   *raw;
	List	   *names;
	ListCell   *lc;
	bool		wanted = false;

	if (cg_retention_databases == NULL || cg_retention_databases[0] == '\0')
		return true;
	raw = pstrdup(cg_retention_databases);
	if (!SplitIdentifierString(raw, ',', &names))
	{
		ereport(LOG,
				(errmsg("childguard.retention_databases is not a list of names: no database is swept")));
		return false;
	}
	foreach(lc, names)
		if (strcmp((char *) lfirst(lc), name) == 0)
			wanted = true;
	list_free(names);
	pfree(raw);
	return wanted;
}

/* The databases to sweep now: oids into *out (at most MAX_SWEPT_DATABASES). */
static int
databases_to_sweep(Oid *out)
{
	Relation	rel;
	TableScanDesc scan;
	HeapTuple	tup;
	int			n = 0;

	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	PushActiveSnapshot(GetTransactionSnapshot());
	rel = table_open(DatabaseRelationId, AccessShareLock);
	scan = table_beginscan_catalog(rel, 0, NULL);
	while ((tup = heap_getnext(scan, ForwardScanDirection)) != NULL &&
		   n < MAX_SWEPT_DATABASES)
	{
		Form_pg_database db = (Form_pg_database) GETSTRUCT(tup);

		if (!db->datallowconn || db->datistemplate ||
			db->datconnlimit == DATCONNLIMIT_INVALID_DB)
			continue;
		if (database_wanted(NameStr(db->datname)))
			out[n++] = db->oid;
	}
	table_endscan(scan);
	table_close(rel, AccessShareLock);
	PopActiveSnapshot();
	CommitTransactionCommand();
	return n;
}

static SweptDatabase *
swept_entry(Oid datid)
{
	for (int i = 0; i < nswept; i++)
		if (swept[i].datid == datid)
			return &swept[i];
	if (nswept >= MAX_SWEPT_DATABASES)
		return NULL;
	memset(&swept[nswept], 0, sizeof(SweptDatabase));
	swept[nswept].datid = datid;
	return &swept[nswept++];
}

/* Start a sweeper for datid unless the last one still runs. */
static void
start_sweeper(Oid datid)
{
	SweptDatabase *e = swept_entry(datid);
	BackgroundWorker w;
	pid_t		pid;

	if (e == NULL)
		return;
	if (e->handle != NULL)
	{
		if (GetBackgroundWorkerPid(e->handle, &pid) != BGWH_STOPPED)
			return;
		pfree(e->handle);
		e->handle = NULL;
	}
	memset(&w, 0, sizeof(w));
	w.bgw_flags = BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION;
	w.bgw_start_time = BgWorkerStart_RecoveryFinished;
	w.bgw_restart_time = BGW_NEVER_RESTART;
	snprintf(w.bgw_library_name, BGW_MAXLEN, "childguard");
	snprintf(w.bgw_function_name, BGW_MAXLEN, "cg_retention_sweeper_main");
	snprintf(w.bgw_name, BGW_MAXLEN, "childguard retention sweeper for database %u", datid);
	snprintf(w.bgw_type, BGW_MAXLEN, "childguard retention sweeper");
	w.bgw_main_arg = ObjectIdGetDatum(datid);
	w.bgw_notify_pid = MyProcPid;
	if (!RegisterDynamicBackgroundWorker(&w, &e->handle))
	{
		e->handle = NULL;
		ereport(LOG,
				(errmsg("childguard retention launcher could not start a sweeper for database %u", datid),
				 errhint("Raise max_worker_processes.")));
		return;
	}
	e->started_at = GetCurrentTimestamp();
}

void
cg_retention_launcher_main(Datum arg)
{
	TimestampTz next_round = 0;

	pqsignal(SIGHUP, SignalHandlerForConfigReload);
	pqsignal(SIGTERM, die);
	BackgroundWorkerUnblockSignals();
	BackgroundWorkerInitializeConnection(NULL, NULL, 0);
	pgstat_report_appname("childguard retention launcher");

	for (;;)
	{
		long		wait_ms = LAUNCHER_IDLE_MS;
		TimestampTz now;

		CHECK_FOR_INTERRUPTS();
		if (ConfigReloadPending)
		{
			ConfigReloadPending = false;
			ProcessConfigFile(PGC_SIGHUP);
			next_round = 0;		/* a new interval counts from now */
		}
		now = GetCurrentTimestamp();
		if (cg_retention_interval_s > 0)
		{
			if (now >= next_round)
			{
				Oid			dbs[MAX_SWEPT_DATABASES];
				int			n = databases_to_sweep(dbs);

				for (int i = 0; i < n; i++)
					start_sweeper(dbs[i]);
				next_round = TimestampTzPlusMilliseconds(now, (int64) cg_retention_interval_s * 1000);
			}
			wait_ms = Min(wait_ms, Max(1, TimestampDifferenceMilliseconds(now, next_round)));
		}
		(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
						 wait_ms, PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
	}
}

/* ---------------------------------------------------------------------------
 * The sweeper
 * ---------------------------------------------------------------------------
 */

static void
sweeper_exit(int code, Datum arg)
{
	cg_retention_progress_clear();
}

/* Begin a transaction with SPI and a snapshot. */
static void
step_begin(const char *what)
{
	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	PushActiveSnapshot(GetTransactionSnapshot());
	pgstat_report_activity(STATE_RUNNING, what);
}

static void
step_end(void)
{
	SPI_finish();
	PopActiveSnapshot();
	CommitTransactionCommand();
	pgstat_report_stat(false);
	pgstat_report_activity(STATE_IDLE, NULL);
}

/* One SQL statement without parameters; the first column of its first row, as int8. */
static int64
run_scalar(const char *sql, bool *isnull)
{
	int64		result = 0;

	*isnull = true;
	if (SPI_execute(sql, false, 0) < 0)
		elog(ERROR, "could not run \"%s\"", sql);
	if (SPI_processed > 0 && SPI_tuptable->tupdesc->natts > 0)
	{
		Datum		d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, isnull);

		if (!*isnull)
		{
			Oid			t = SPI_gettypeid(SPI_tuptable->tupdesc, 1);

			result = t == BOOLOID ? (int64) DatumGetBool(d) : DatumGetInt64(d);
		}
	}
	return result;
}

void
cg_retention_sweeper_main(Datum arg)
{
	Oid			datid = DatumGetObjectId(arg);
	bool		isnull;
	int64		queued;
	int64		tables_total = 0;
	int64		children = 0;
	int64		rows = 0;
	TimestampTz started;
	StringInfoData erased;
	bool		first = true;

	pqsignal(SIGHUP, SignalHandlerForConfigReload);
	pqsignal(SIGTERM, SignalHandlerForShutdownRequest);
	BackgroundWorkerUnblockSignals();
	BackgroundWorkerInitializeConnectionByOid(datid, InvalidOid, 0);
	pgstat_report_appname("childguard retention sweeper");
	cg_retention_progress_set_worker();
	before_shmem_exit(sweeper_exit, (Datum) 0);
	/* the sweep's own settings: no timeout a database or role may impose */
	SetConfigOption("statement_timeout", "0", PGC_SUSET, PGC_S_OVERRIDE);
	SetConfigOption("lock_timeout", "0", PGC_SUSET, PGC_S_OVERRIDE);
	SetConfigOption("idle_in_transaction_session_timeout", "0", PGC_SUSET, PGC_S_OVERRIDE);
	SetConfigOption("default_transaction_read_only", "off", PGC_SUSET, PGC_S_OVERRIDE);
	started = GetCurrentTimestamp();

	/* childguard 1.4 here?  Then the sweep lock, held for the session. */
	step_begin("childguard: retention sweep starting");
	if (run_scalar("SELECT pg_catalog.to_regprocedure('childguard._retention_plan()') IS NOT NULL",
				   &isnull) == 0)
	{
		step_end();
		proc_exit(0);
	}
	if (run_scalar("SELECT pg_catalog.pg_try_advisory_lock(childguard._retention_lock_key(), 0)",
				   &isnull) == 0)
	{
		step_end();
		ereport(DEBUG1, (errmsg("childguard retention sweep already running in database %u", datid)));
		proc_exit(0);
	}
	step_end();

	step_begin("childguard: retention sweep: erasure ledger");
	(void) run_scalar("SELECT childguard._retention_reapply()", &isnull);
	step_end();

	step_begin("childguard: retention sweep: planning");
	queued = run_scalar("SELECT childguard._retention_plan()", &isnull);
	tables_total = run_scalar("SELECT pg_catalog.count(DISTINCT table_oid) FROM childguard.retention_work",
							  &isnull);
	step_end();

	initStringInfo(&erased);
	appendStringInfoChar(&erased, '[');
	while (queued > 0)
	{
		Oid			types[4] = {INT4OID, INT4OID, INT8OID, INT8OID};
		Datum		values[4];
		bool		more;

		if (ShutdownRequestPending)
			proc_exit(0);		/* the next sweep plans again */
		if (ConfigReloadPending)
		{
			ConfigReloadPending = false;
			ProcessConfigFile(PGC_SIGHUP);
		}
		step_begin("childguard: retention sweep: erasing");
		values[0] = Int32GetDatum(cg_retention_batch_size);
		values[1] = Int32GetDatum((int32) tables_total);
		values[2] = Int64GetDatum(children);
		values[3] = Int64GetDatum(rows);
		if (SPI_execute_with_args("SELECT table_name::text, reason, children, rows_erased, failed "
								  "FROM childguard._retention_erase_batch($1, $2, $3, $4)",
								  4, types, values, NULL, false, 0) != SPI_OK_SELECT)
			elog(ERROR, "could not run a retention batch");
		for (uint64 i = 0; i < SPI_processed; i++)
		{
			HeapTuple	t = SPI_tuptable->vals[i];
			TupleDesc	d = SPI_tuptable->tupdesc;
			char	   *tbl = SPI_getvalue(t, d, 1);
			char	   *reason = SPI_getvalue(t, d, 2);
			int64		c = DatumGetInt64(SPI_getbinval(t, d, 3, &isnull));
			int64		r = DatumGetInt64(SPI_getbinval(t, d, 4, &isnull));
			int64		f = DatumGetInt64(SPI_getbinval(t, d, 5, &isnull));
			MemoryContext old = MemoryContextSwitchTo(TopMemoryContext);

			if (!first)
				appendStringInfoChar(&erased, ',');
			first = false;
			appendStringInfoString(&erased, "{\"table\": ");
			escape_json(&erased, tbl);
			appendStringInfoString(&erased, ", \"reason\": ");
			escape_json(&erased, reason);
			appendStringInfo(&erased, ", \"children\": " INT64_FORMAT ", \"rows_erased\": " INT64_FORMAT
							 ", \"failed\": " INT64_FORMAT "}", c, r, f);
			MemoryContextSwitchTo(old);
			children += c;
			rows += r;
		}
		more = run_scalar("SELECT EXISTS (SELECT 1 FROM childguard.retention_work)", &isnull) != 0;
		step_end();
		if (!more)
			break;
	}
	appendStringInfoChar(&erased, ']');

	step_begin("childguard: retention sweep: finishing");
	{
		Oid			types[2] = {TIMESTAMPTZOID, TEXTOID};
		Datum		values[2];

		values[0] = TimestampTzGetDatum(started);
		values[1] = CStringGetTextDatum(erased.data);
		if (SPI_execute_with_args("SELECT childguard._retention_finish('worker', $1, $2::jsonb)",
								  2, types, values, NULL, false, 0) != SPI_OK_SELECT)
			elog(ERROR, "could not finish the retention sweep");
	}
	step_end();
	if (children > 0)
		ereport(LOG,
				(errmsg("childguard retention sweep erased " INT64_FORMAT " children's data (" INT64_FORMAT " rows) in database %u",
						children, rows, datid)));
	proc_exit(0);
}
