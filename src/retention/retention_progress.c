/*-------------------------------------------------------------------------
 *
 * retention_progress.c
 *	  The progress of running retention sweeps, in shared memory, for the
 *	  view childguard.retention_progress (like pg_stat_progress_*).
 *
 * Design and concurrency rules
 *
 * A fixed array of RETENTION_SLOTS slots, under one LWLock (tranche
 * "childguard retention").  The process running a sweep -- a sweeper of
 * the retention worker, or a backend in run_retention() -- reports each
 * step through childguard._retention_report(); the first report claims a
 * free slot (none free: the sweep runs unreported), the phase "idle"
 * frees it.  A slot whose process is gone, or (run_retention(), one
 * transaction) whose transaction is no longer the one that reported, is
 * stale: it is not shown and may be claimed again, so a sweep that failed
 * or was killed leaves nothing behind.  Nothing is allocated or reported
 * while the lock is held: slots are copied out first.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "storage/ipc.h"
#include "storage/lwlock.h"
#include "storage/proc.h"
#include "storage/procarray.h"
#include "storage/shmem.h"
#include "utils/builtins.h"
#include "utils/timestamp.h"

#include "retention.h"

#define RETENTION_SLOTS 16
#define RETENTION_TRANCHE "childguard retention"
#define PHASE_LEN 32

typedef struct RetentionSlot
{
	int			pid;			/* 0: free */
	Oid			datid;
	bool		worker;			/* a sweeper, else run_retention() */
	LocalTransactionId lxid;	/* run_retention(): its transaction */
	char		phase[PHASE_LEN];
	int32		tables_total;
	int32		tables_done;
	int64		children_done;
	int64		rows_erased;
	TimestampTz started_at;
} RetentionSlot;

typedef struct RetentionShared
{
	LWLock	   *lock;
	RetentionSlot slots[RETENTION_SLOTS];
} RetentionShared;

static RetentionShared *shared = NULL;
static bool is_worker = false;

void
cg_retention_shmem_request(void)
{
	RequestAddinShmemSpace(MAXALIGN(sizeof(RetentionShared)));
	RequestNamedLWLockTranche(RETENTION_TRANCHE, 1);
}

void
cg_retention_shmem_startup(void)
{
	bool		found;

	LWLockAcquire(AddinShmemInitLock, LW_EXCLUSIVE);
	shared = ShmemInitStruct("childguard retention progress", sizeof(RetentionShared), &found);
	if (!found)
	{
		memset(shared, 0, sizeof(RetentionShared));
		shared->lock = &(GetNamedLWLockTranche(RETENTION_TRANCHE))->lock;
	}
	LWLockRelease(AddinShmemInitLock);
}

/* This process is a sweeper of the retention worker (its reports say so). */
void
cg_retention_progress_set_worker(void)
{
	is_worker = true;
}

/* Is slot s live: its process exists and, for run_retention(), its transaction runs? */
static bool
slot_live(const RetentionSlot *s)
{
	PGPROC	   *proc;

	if (s->pid == 0)
		return false;
	proc = BackendPidGetProcWithLock(s->pid);
	if (proc == NULL)
		return false;
	return s->worker || proc->lxid == s->lxid;
}

/* Free this process's slot (end of a sweep, or exit). */
void
cg_retention_progress_clear(void)
{
	if (shared == NULL)
		return;
	LWLockAcquire(shared->lock, LW_EXCLUSIVE);
	for (int i = 0; i < RETENTION_SLOTS; i++)
		if (shared->slots[i].pid == MyProcPid)
			shared->slots[i].pid = 0;
	LWLockRelease(shared->lock);
}

PG_FUNCTION_INFO_V1(cg_retention_report);

/* childguard._retention_report(phase, tables_total, tables_done, children_done, rows_erased) */
Datum
cg_retention_report(PG_FUNCTION_ARGS)
{
	char	   *phase;
	RetentionSlot *mine = NULL;
	RetentionSlot *free_slot = NULL;
	TimestampTz now = GetCurrentTimestamp();

	if (shared == NULL || PG_ARGISNULL(0))
		PG_RETURN_VOID();
	phase = text_to_cstring(PG_GETARG_TEXT_PP(0));
	if (strcmp(phase, "idle") == 0)
	{
		cg_retention_progress_clear();
		PG_RETURN_VOID();
	}
	LWLockAcquire(shared->lock, LW_EXCLUSIVE);
	/* ProcArrayLock is taken after ours, never the other way round */
	LWLockAcquire(ProcArrayLock, LW_SHARED);
	for (int i = 0; i < RETENTION_SLOTS; i++)
	{
		RetentionSlot *s = &shared->slots[i];

		if (s->pid == MyProcPid)
			mine = s;
		else if (free_slot == NULL && !slot_live(s))
			free_slot = s;
	}
	LWLockRelease(ProcArrayLock);
	if (mine == NULL || (!mine->worker && mine->lxid != MyProc->lxid))
	{
		/* a new sweep */
		if (mine == NULL)
			mine = free_slot;
		if (mine != NULL)
		{
			memset(mine, 0, sizeof(RetentionSlot));
			mine->pid = MyProcPid;
			mine->datid = MyDatabaseId;
			mine->worker = is_worker;
			mine->lxid = MyProc->lxid;
			mine->started_at = now;
		}
	}
	if (mine != NULL)
	{
		strlcpy(mine->phase, phase, PHASE_LEN);
		if (!PG_ARGISNULL(1) && PG_GETARG_INT32(1) > 0)
			mine->tables_total = PG_GETARG_INT32(1);
		if (!PG_ARGISNULL(2))
			mine->tables_done = Max(mine->tables_done, PG_GETARG_INT32(2));
		if (!PG_ARGISNULL(3))
			mine->children_done = Max(mine->children_done, PG_GETARG_INT64(3));
		if (!PG_ARGISNULL(4))
			mine->rows_erased = Max(mine->rows_erased, PG_GETARG_INT64(4));
	}
	LWLockRelease(shared->lock);
	PG_RETURN_VOID();
}

PG_FUNCTION_INFO_V1(cg_retention_progress);

/* childguard._retention_progress(): the live slots. */
Datum
cg_retention_progress(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	RetentionSlot copy[RETENTION_SLOTS];
	bool		live[RETENTION_SLOTS];

	InitMaterializedSRF(fcinfo, 0);
	if (shared == NULL)
		return (Datum) 0;
	LWLockAcquire(shared->lock, LW_SHARED);
	LWLockAcquire(ProcArrayLock, LW_SHARED);
	for (int i = 0; i < RETENTION_SLOTS; i++)
	{
		copy[i] = shared->slots[i];
		live[i] = slot_live(&shared->slots[i]);
	}
	LWLockRelease(ProcArrayLock);
	LWLockRelease(shared->lock);

	for (int i = 0; i < RETENTION_SLOTS; i++)
	{
		Datum		values[9];
		bool		nulls[9] = {0};

		if (!live[i])
			continue;
		values[0] = Int32GetDatum(copy[i].pid);
		values[1] = ObjectIdGetDatum(copy[i].datid);
		values[2] = CStringGetTextDatum(copy[i].worker ? "worker" : "run_retention");
		copy[i].phase[PHASE_LEN - 1] = '\0';
		values[3] = CStringGetTextDatum(copy[i].phase);
		values[4] = Int32GetDatum(copy[i].tables_total);
		values[5] = Int32GetDatum(copy[i].tables_done);
		values[6] = Int64GetDatum(copy[i].children_done);
		values[7] = Int64GetDatum(copy[i].rows_erased);
		values[8] = TimestampTzGetDatum(copy[i].started_at);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum) 0;
}
