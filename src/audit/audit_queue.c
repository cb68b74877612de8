/*-------------------------------------------------------------------------
 *
 * audit_queue.c
 *	  The bounded shared-memory queue between backends and the audit
 *	  writers.
 *
 * Design and concurrency rules
 *
 * The queue is one byte ring (childguard.audit_queue_size) shared by all
 * databases.  head and tail are monotonic byte positions; entries are
 * MAXALIGNed, never wrap (the gap at the end of the ring is skipped, with
 * a PAD entry when it can hold one), and carry the database they belong
 * to, a global sequence number and the backend's pgprocno.
 *
 * Every field of AuditShared except the two condition variables, the
 * per-backend completion counters and each database's count of READY
 * entries (an atomic: see below) is protected by the one LWLock of the
 * "childguard_audit" tranche.  Backends take it exclusively once per
 * record, briefly, to reserve an entry (move the tail); they write the
 * payload in place and publish it without the lock (cg_audit_publish:
 * between reserve and publish the entry belongs to the backend alone).
 * Writers take it to claim a batch (marking its entries CLAIMED; the
 * records are read in place, not copied: a CLAIMED entry is read by its
 * claimer only and stays in the ring until marked DONE) and to mark a
 * batch done.  Nothing that can raise an error, allocate memory, log or
 * read the catalog runs while it is held (the batch's array is allocated
 * before the lock is taken: see cg_audit_claim_batch); AddinShmemInitLock
 * likewise covers only finding the structure, not the files read at a
 * start.
 *
 * Each database has a writer (audit_worker.c), a dynamic background
 * worker started on demand by the first backend that queues a record for
 * that database.  The queue does not know how a writer is started: the
 * function that registers one is handed to it at _PG_init
 * (cg_audit_queue_set_writer_starter), so the queue sits below the writer
 * that drains it.  A writer claims the READY entries of its database in
 * queue order, writes them in one transaction, then marks them DONE; the
 * head advances over DONE and PAD entries only, so a database whose
 * writer is slow holds space, and backends then wait (or are refused, per
 * childguard.audit_queue_full) -- an entry is never overwritten or
 * dropped.
 *
 * Wake-ups: a backend sets the writer's latch only when its database had
 * no READY entry (the writer had taken everything); a writer, once awake,
 * claims batches until none is left, so a record queued while it works
 * is picked up without a wake-up, and batches grow with the load.  (Not
 * "nothing pending": a batch committed asynchronously stays claimed until
 * its commit is flushed, and the writer may sleep meanwhile.)
 *
 * Publishing without the lock.  A slot's READY count (ready) is an
 * atomic: publish adds one BEFORE the entry becomes READY (the entry,
 * still WRITING, keeps its database's slot from being reused meanwhile:
 * pending counts it), a claim subtracts what it took; so the count never
 * falls below the READY entries not yet claimed, and a publish that finds
 * it at zero knows the writer has taken everything and wakes it.  A
 * claim that stops at a WRITING entry (records are written in queue
 * order) sets that entry's wake flag, issues a barrier and looks at the
 * entry's state again; the publish sets the state, issues a barrier and
 * looks at the flag: at least one of them sees the other's write, so
 * either the claim takes the record or the publish wakes the writer
 * (Dekker's handshake).  After its state is READY the publisher reads
 * only its own entry and the writer's latch pointer, never writes the
 * slot: if the record has been written meanwhile and the slot or the
 * entry's space reused, the worst outcome is a needless wake-up.
 *
 * Completion: after a batch commits, the writer raises, for each record,
 * the done_seq (and on failure failed_seq) of the backend that queued it
 * (indexed by pgprocno; sequence numbers grow, so a reused pgprocno is
 * harmless) and broadcasts done_cv.  A backend in synchronous mode, or in
 * childguard.audit_wait(), sleeps on done_cv until its done_seq reaches its
 * record.  space_cv is broadcast whenever the head advances.
 *
 * Identity of a record: (epoch, seq).  seq restarts at 1 whenever shared
 * memory is initialised (server start, and the reinitialisation after any
 * backend crashes), so each initialisation takes a new epoch, later than
 * every earlier one (the time of the initialisation, or one microsecond
 * past the latest epoch of a record carried over).  Along the ring, the
 * records of one database have increasing (epoch, seq); the chain head
 * remembers the last one written, and a writer skips a record whose key is
 * not past it -- that is how a record a dead writer committed but had not
 * marked done is not written twice, and why nothing newer is ever taken
 * for written.
 *
 * A writer that dies leaves its entries CLAIMED; its successor puts them
 * back to READY, and skips those the access_log already holds (see
 * audit_worker.c).
 *
 * Crashes and shutdowns: when the postmaster leaves shared memory (after
 * every backend has exited: at a crash-restart, an immediate, fast or
 * smart shutdown), an on_shmem_exit callback in the postmaster copies the
 * entries not yet DONE to a file (CG_AUDIT_SAVE_FILE), and the next
 * initialisation puts them back in the ring as READY, keeping their keys,
 * so the chain head tells which were already written.  The file stays
 * until every record carried over is done, so a machine failure before
 * then finds them again at the next start.  The callback
 * checks every entry header before trusting it; what it cannot read is
 * counted and reported, never guessed at.  Only the postmaster being
 * killed itself (SIGKILL), or the machine failing before the file reached
 * the disk, can lose queued records: with audit_sync no statement whose
 * record was not durable had returned.
 *
 * A database that disappears (DROP DATABASE while records for it are
 * queued): writers of other databases between batches, and backends
 * waiting for room before a statement reads child data, check the
 * databases that have records but
 * no live writer against pg_database, and settles the records of one that
 * is gone: each goes to the server log in full, then leaves the ring
 * (cg_audit_settle_gone).  A writer whose database has nothing
 * queued exits without connecting, so it does not retry a connection to a
 * database that is gone.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <signal.h>

#include "access/htup_details.h"
#include "access/twophase.h"
#include "access/xact.h"
#include "catalog/pg_database.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "port/atomics.h"
#include "storage/condition_variable.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "storage/lwlock.h"
#include "storage/proc.h"
#include "storage/fd.h"
#include "storage/shmem.h"
#include "utils/inval.h"
#include "utils/tuplestore.h"
#include "utils/memutils.h"
#include "utils/syscache.h"
#include "utils/timestamp.h"

#include "audit.h"
#include "childguard_errcodes.h"

#define CG_AUDIT_TRANCHE "childguard_audit"
/* room a statement needs before it may read child data */
#define CG_AUDIT_ADMIT_BYTES 8192
/* a writer that has not shown up after this long is registered again */
#define CG_AUDIT_WRITER_GRACE_MS 10000
/* at most this many bytes per batch */
#define CG_AUDIT_BATCH_BYTES (4 * 1024 * 1024)
/* records still queued when the postmaster leaves shared memory */
#define CG_AUDIT_SAVE_FILE "pg_stat/childguard_audit_queue.saved"
#define CG_AUDIT_SAVE_MAGIC 0x43474151	/* "CGAQ" */
#define CG_AUDIT_SAVE_VERSION 1
/*
 * present while a postmaster runs; found at start: the last one never
 * saved.  In pg_stat_tmp, which base backups leave out (a standby must not
 * take its primary's marker for its own).
 */
#define CG_AUDIT_RUNNING_FILE "pg_stat_tmp/childguard_audit_queue.running"
/* one line per such exit: the epoch whose queued records were not saved */
#define CG_AUDIT_LOST_FILE "pg_stat/childguard_audit_queue.unsaved"
/* how often a process looks for databases that disappeared */
#define CG_AUDIT_SETTLE_INTERVAL_MS 1000

typedef enum EntryState
{
	ENTRY_READY = 1,
	ENTRY_CLAIMED,
	ENTRY_DONE,
	ENTRY_PAD,
	ENTRY_WRITING				/* reserved, its payload being written */
} EntryState;

typedef struct QueueEntry
{
	uint32		len;			/* whole entry, MAXALIGNed */
	uint32		payload_len;
	uint8		state;			/* EntryState */
	bool		sync;
	bool		wake;			/* a claim stopped here: its publish wakes the writer */
	Oid			dboid;
	int			procno;			/* -1: carried over from before a restart */
	TimestampTz epoch;			/* with seq: the record's identity */
	uint64		seq;
} QueueEntry;

#define ENTRY_HDR MAXALIGN(sizeof(QueueEntry))

typedef struct DbSlot
{
	Oid			dboid;			/* InvalidOid: free */
	pid_t		writer_pid;		/* 0: no writer running */
	Latch	   *writer_latch;
	bool		registered;		/* a writer has been registered */
	TimestampTz registered_at;
	int			pending;		/* READY or CLAIMED entries */
	pg_atomic_uint32 ready;		/* READY entries the writer has not taken (plus
								 * those being published: see "Publishing
								 * without the lock" above) */
	int			sync_pending;	/* of which a backend waits for */
	uint64		scan_from;		/* entries before this are claimed or done */
	bool		gone;			/* the database was dropped; records settled */
	bool		starved;		/* no worker slot was free for its writer */
} DbSlot;

typedef struct ProcSlot
{
	pg_atomic_uint64 done_seq;
	pg_atomic_uint64 failed_seq;
} ProcSlot;

typedef struct AuditShared
{
	LWLock	   *lock;
	ConditionVariable space_cv;
	ConditionVariable done_cv;
	TimestampTz epoch;			/* of this initialisation of shared memory */
	uint64		next_seq;
	uint64		restored;		/* records carried over at initialisation */
	uint64		restored_left;	/* of which not yet done: the saved file stays */
	uint64		unrestored;		/* saved records that could not be put back */
	uint64		settled;		/* records of dropped databases, to the server log */
	uint64		given_up;		/* records a writer could not write: server log */
	TimestampTz last_settle_check;
	uint64		unsaved_exits;	/* postmasters that ended without saving */
	TimestampTz last_unsaved_epoch; /* the epoch of the last of them */
	bool		unserved;		/* carried-over records may have no writer yet */
	uint64		head;
	uint64		tail;
	Size		size;
	int			nprocs;
	DbSlot		dbs[CG_AUDIT_MAX_DATABASES];
} AuditShared;

static AuditShared *shared = NULL;
static ProcSlot *procs = NULL;
static char *ring = NULL;

/* this backend's last queued record */
static uint64 my_last_seq = 0;

/* registers a writer for a database (audit_worker.c's, set at _PG_init) */
static CgAuditWriterStarter writer_starter = NULL;

/* true only in an audit writer process: audit_worker.c sets it at its start */
bool		cg_audit_is_writer = false;

static void save_queue(int code, Datum arg);
static void restore_queue(void);
static void note_unsaved_exits(void);
static void mark_running(void);
static DbSlot *db_slot(Oid dboid, bool create);
static void settle_if_waiting(void);

static int
total_procs(void)
{
	return MaxBackends + NUM_AUXILIARY_PROCS + max_prepared_xacts;
}

static Size
ring_size(void)
{
	return (Size) cg_audit_queue_kb * 1024;
}

static Size
shmem_size(void)
{
	Size		s = MAXALIGN(sizeof(AuditShared));

	s = add_size(s, MAXALIGN(mul_size(sizeof(ProcSlot), total_procs())));
	return add_size(s, ring_size());
}

/* shmem_request_hook part */
void
cg_audit_queue_shmem_request(void)
{
	RequestAddinShmemSpace(shmem_size());
	RequestNamedLWLockTranche(CG_AUDIT_TRANCHE, 1);
}

/*
 * shmem_startup_hook part.  AddinShmemInitLock is held only while the
 * structure is found or initialised, as pg_stat_statements does: the
 * files read and written at a start (which allocate and log) come after
 * it is released, in the postmaster, before any other process runs.
 */
void
cg_audit_queue_shmem_startup(void)
{
	bool		found;
	char	   *base;

	LWLockAcquire(AddinShmemInitLock, LW_EXCLUSIVE);
	base = ShmemInitStruct("childguard audit queue", shmem_size(), &found);
	shared = (AuditShared *) base;
	procs = (ProcSlot *) (base + MAXALIGN(sizeof(AuditShared)));
	ring = base + MAXALIGN(sizeof(AuditShared)) +
		MAXALIGN(mul_size(sizeof(ProcSlot), total_procs()));
	if (!found)
	{
		memset(shared, 0, sizeof(AuditShared));
		shared->lock = &(GetNamedLWLockTranche(CG_AUDIT_TRANCHE))->lock;
		ConditionVariableInit(&shared->space_cv);
		ConditionVariableInit(&shared->done_cv);
		shared->size = ring_size();
		shared->nprocs = total_procs();
		for (int i = 0; i < shared->nprocs; i++)
		{
			pg_atomic_init_u64(&procs[i].done_seq, 0);
			pg_atomic_init_u64(&procs[i].failed_seq, 0);
		}
		shared->epoch = GetCurrentTimestamp();
		/*
		 * Touch the ring's pages now, once: otherwise the first record
		 * written to each page of the ring after a start pays for the
		 * kernel allocating and zeroing it (a few µs, every 16th record
		 * or so until the ring has gone round once).
		 */
		memset(ring, 0, shared->size);
	}
	LWLockRelease(AddinShmemInitLock);

	if (IsUnderPostmaster)
		return;
	/* the postmaster saves what is still queued when it leaves shared memory */
	on_shmem_exit(save_queue, (Datum) 0);
	if (!found)
	{
		note_unsaved_exits();
		restore_queue();
		mark_running();
	}
}

/*
 * The header of an entry at pos, if it can be trusted: inside the ring,
 * aligned, with sane lengths and state.  NULL otherwise.  Used where the
 * ring may hold what a crashed process left half-written.
 */
static QueueEntry *
checked_entry(uint64 pos, uint64 *next)
{
	Size		off = pos % shared->size;
	QueueEntry *e;

	if (off != MAXALIGN(off))
		return NULL;
	if (shared->size - off < ENTRY_HDR)
	{
		*next = pos + (shared->size - off);
		return NULL;
	}
	e = (QueueEntry *) (ring + off);
	if (e->len < ENTRY_HDR || e->len != MAXALIGN(e->len) || e->len > shared->size - off ||
		(e->state != ENTRY_PAD && e->payload_len > e->len - ENTRY_HDR) ||
		e->state < ENTRY_READY || e->state > ENTRY_WRITING)
		return NULL;
	*next = pos + e->len;
	return e;
}

/*
 * on_shmem_exit in the postmaster: every other process has exited (a
 * crash-restart, or any shutdown).  Copy the entries not yet done to
 * CG_AUDIT_SAVE_FILE, so that the next initialisation queues them again.
 * Runs without the lock (nobody else is left) and trusts nothing it has
 * not checked; never raises.
 */
static void
save_queue(int code, Datum arg)
{
	FILE	   *f;
	uint64		pos;
	uint64		saved = 0;
	uint64		unreadable = 0;
	uint32		hdr[2] = {CG_AUDIT_SAVE_MAGIC, CG_AUDIT_SAVE_VERSION};
	char		tmp[MAXPGPATH];
	bool		ok = true;

	if (IsUnderPostmaster || shared == NULL)
		return;
	if (shared->tail < shared->head || shared->tail - shared->head > shared->size)
	{
		ereport(LOG,
				(errmsg("childguard audit queue is inconsistent at shutdown; its records could not be saved"),
				 errdetail("Records still queued are listed as lost: see childguard.audit_queue_status.")));
		shared = NULL;
		return;
	}
	/* count first: nothing to write, no file */
	for (pos = shared->head; pos < shared->tail;)
	{
		uint64		next;
		QueueEntry *e = checked_entry(pos, &next);

		if (e == NULL)
		{
			if (shared->size - pos % shared->size < ENTRY_HDR)
			{
				pos = next;
				continue;
			}
			unreadable++;
			break;
		}
		if (e->state == ENTRY_READY || e->state == ENTRY_CLAIMED)
			saved++;
		pos = next;
	}
	if (saved == 0 && unreadable == 0)
	{
		unlink(CG_AUDIT_RUNNING_FILE);
		shared = NULL;
		return;
	}
	snprintf(tmp, sizeof(tmp), "%s.tmp", CG_AUDIT_SAVE_FILE);
	f = fopen(tmp, PG_BINARY_W);
	if (f == NULL || fwrite(hdr, sizeof(hdr), 1, f) != 1)
		ok = false;
	for (pos = shared->head; ok && pos < shared->tail;)
	{
		uint64		next;
		QueueEntry *e = checked_entry(pos, &next);

		if (e == NULL)
		{
			if (shared->size - pos % shared->size < ENTRY_HDR)
			{
				pos = next;
				continue;
			}
			break;
		}
		if (e->state == ENTRY_READY || e->state == ENTRY_CLAIMED)
		{
			if (fwrite(e, sizeof(QueueEntry), 1, f) != 1 ||
				fwrite((char *) e + ENTRY_HDR, 1, e->payload_len, f) != e->payload_len)
				ok = false;
		}
		pos = next;
	}
	if (f != NULL)
	{
		if (fflush(f) != 0 || pg_fsync(fileno(f)) != 0)
			ok = false;
		if (fclose(f) != 0)
			ok = false;
	}
	/*
	 * An earlier file not yet read back is replaced only by a complete one;
	 * durably (the directory too).  The running marker goes only if
	 * nothing is missing: an unreadable entry leaves it, so the next start
	 * reports that records may be lost.
	 */
	if (ok && durable_rename(tmp, CG_AUDIT_SAVE_FILE, LOG) != 0)
		ok = false;
	if (ok && unreadable == 0)
		unlink(CG_AUDIT_RUNNING_FILE);
	if (ok)
		ereport(LOG,
				(errmsg("childguard saved %llu audit records still queued to \"%s\"",
						(unsigned long long) saved, CG_AUDIT_SAVE_FILE),
				 errdetail("They are queued again when the server starts; none is written twice."),
				 unreadable > 0 ?
				 errhint("The queue held an unreadable entry after them; what followed it could not be saved.") : 0));
	else
	{
		ereport(LOG,
				(errcode_for_file_access(),
				 errmsg("could not save %llu queued childguard audit records to \"%s\": %m",
						(unsigned long long) saved, tmp)));
		unlink(tmp);
	}
	shared = NULL;
}

/*
 * At initialisation, in the postmaster: put the records saved by
 * save_queue() back in the ring (READY, their keys kept), and take an
 * epoch later than theirs.  Lock not needed: nobody else runs yet.
 */
static void
restore_queue(void)
{
	FILE	   *f;
	uint32		hdr[2];
	uint64		restored = 0;
	uint64		unrestored = 0;
	char	   *payload = NULL;
	bool		full = false;

	f = fopen(CG_AUDIT_SAVE_FILE, PG_BINARY_R);
	if (f == NULL)
		return;
	if (fread(hdr, sizeof(hdr), 1, f) != 1 || hdr[0] != CG_AUDIT_SAVE_MAGIC ||
		hdr[1] != CG_AUDIT_SAVE_VERSION)
	{
		char		kept[MAXPGPATH];

		fclose(f);
		/* named after this epoch: an earlier one is never overwritten */
		snprintf(kept, sizeof(kept), "%s.unreadable." INT64_FORMAT, CG_AUDIT_SAVE_FILE,
				 (int64) shared->epoch);
		(void) rename(CG_AUDIT_SAVE_FILE, kept);
		ereport(LOG,
				(errmsg("childguard cannot read the saved audit queue \"%s\"", CG_AUDIT_SAVE_FILE),
				 errdetail("The file was moved to \"%s\"; its records are not in childguard.access_log.", kept)));
		shared->unrestored = 1;
		return;
	}
	payload = palloc(cg_audit_max_record());
	for (;;)
	{
		QueueEntry	in;
		QueueEntry *e;
		DbSlot	   *slot;
		Size		entry_len;

		if (fread(&in, sizeof(QueueEntry), 1, f) != 1)
			break;
		entry_len = ENTRY_HDR + MAXALIGN(in.payload_len);
		if (in.payload_len > MaxAllocSize - 1 ||
			(in.payload_len > cg_audit_max_record() &&
			 (payload = repalloc(payload, in.payload_len)) == NULL) ||
			fread(payload, 1, in.payload_len, f) != in.payload_len)
		{
			unrestored++;
			break;
		}
		/*
		 * No room (a smaller queue than before, or too many databases):
		 * this record and all that follow go to the server log in full.
		 * Not kept for later: queued after newer records were written,
		 * they would be taken for written.
		 */
		slot = full ? NULL : db_slot(in.dboid, true);
		if (slot == NULL || shared->tail + entry_len > shared->size)
		{
			full = true;
			cg_audit_server_log_raw(payload, in.payload_len,
									in.state == ENTRY_CLAIMED ?
									"the audit queue at start had no room to queue it again (a writer had taken it before the stop: it may also be in childguard.access_log)" :
									"the audit queue at start had no room to queue it again");
			unrestored++;
			continue;
		}
		e = (QueueEntry *) (ring + shared->tail);
		memset(e, 0, sizeof(QueueEntry));
		e->len = entry_len;
		e->payload_len = in.payload_len;
		e->state = ENTRY_READY;
		e->sync = false;
		e->dboid = in.dboid;
		e->procno = -1;
		e->epoch = in.epoch;
		e->seq = in.seq;
		memcpy((char *) e + ENTRY_HDR, payload, in.payload_len);
		shared->tail += entry_len;
		slot->pending++;
		pg_atomic_fetch_add_u32(&slot->ready, 1);
		if (in.epoch >= shared->epoch)
			shared->epoch = in.epoch + 1;
		restored++;
	}
	pfree(payload);
	fclose(f);
	shared->restored = restored;
	shared->unrestored = unrestored;
	shared->unserved = restored > 0;
	if (unrestored > 0)
	{
		char		kept[MAXPGPATH];

		snprintf(kept, sizeof(kept), "%s.unrestored." INT64_FORMAT, CG_AUDIT_SAVE_FILE,
				 (int64) shared->epoch);
		(void) rename(CG_AUDIT_SAVE_FILE, kept);
		ereport(LOG,
				(errmsg("childguard could not queue %llu saved audit records again (the queue is smaller than they need)",
						(unsigned long long) unrestored),
				 errdetail("They are in the server log in full (AUDIT: CHILD lines above), not in childguard.access_log. The saved file is kept as \"%s\" for reference; do not put it back.", kept),
				 errhint("See childguard.audit_queue_status (not_carried_over).")));
	}
	else if (restored == 0)
		unlink(CG_AUDIT_SAVE_FILE);
	/* else the file stays until they are written (cg_audit_finish_batch) */
	shared->restored_left = unrestored > 0 ? 0 : restored;
	if (restored > 0)
		ereport(LOG,
				(errmsg("childguard queued again %llu audit records saved when the server last left shared memory",
						(unsigned long long) restored)));
}

/*
 * At start, in the postmaster: if the running marker of an earlier
 * postmaster is still there, it ended without saving its queue (it was
 * killed, or the machine stopped): the records it held are lost.  Say so
 * in the server log, and keep it on record (CG_AUDIT_LOST_FILE) for
 * childguard.audit_queue_status.
 */
static void
note_unsaved_exits(void)
{
	FILE	   *f;
	char		line[64];

	f = fopen(CG_AUDIT_RUNNING_FILE, "r");
	if (f != NULL)
	{
		long long	epoch = 0;
		FILE	   *lost;

		if (fgets(line, sizeof(line), f) != NULL)
			epoch = strtoll(line, NULL, 10);
		fclose(f);
		lost = fopen(CG_AUDIT_LOST_FILE, "a");
		if (lost != NULL)
		{
			fprintf(lost, "%lld\n", epoch);
			if (fflush(lost) != 0 || pg_fsync(fileno(lost)) != 0)
				ereport(LOG,
						(errcode_for_file_access(),
						 errmsg("could not write \"%s\": %m", CG_AUDIT_LOST_FILE)));
			fclose(lost);
		}
		ereport(WARNING,
				(errmsg("childguard audit records queued when the server last stopped may be lost"),
				 errdetail("The postmaster that started at %s ended without saving its audit queue (it was killed, or the machine stopped). Records still queued then are neither in childguard.access_log nor in the server log; with childguard.audit_sync on, no statement whose record was lost had returned.",
						   timestamptz_to_str((TimestampTz) epoch)),
				 errhint("See childguard.audit_queue_status.")));
	}
	f = fopen(CG_AUDIT_LOST_FILE, "r");
	if (f != NULL)
	{
		while (fgets(line, sizeof(line), f) != NULL)
		{
			shared->unsaved_exits++;
			shared->last_unsaved_epoch = (TimestampTz) strtoll(line, NULL, 10);
		}
		fclose(f);
	}
}

/* At start, in the postmaster: the running marker, holding this epoch. */
static void
mark_running(void)
{
	FILE	   *f = fopen(CG_AUDIT_RUNNING_FILE, "w");

	if (f == NULL ||
		fprintf(f, INT64_FORMAT "\n", (int64) shared->epoch) < 0 ||
		fflush(f) != 0 || pg_fsync(fileno(f)) != 0)
		ereport(LOG,
				(errcode_for_file_access(),
				 errmsg("could not write \"%s\": %m", CG_AUDIT_RUNNING_FILE)));
	if (f != NULL)
		fclose(f);
}

/* The largest record the queue takes. */
Size
cg_audit_max_record(void)
{
	return ring_size() / 4 - ENTRY_HDR;
}

static void
require_shmem(void)
{
	if (shared == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("childguard audit queue is not initialized"),
				 errhint("childguard must be in shared_preload_libraries.")));
}

/*
 * Walking the ring.  Returns the entry at pos, or NULL if pos is in a gap
 * too small for a header at the end of the ring; *next is the position
 * after it either way.  Lock held.
 */
static QueueEntry *
entry_at(uint64 pos, uint64 *next)
{
	Size		off = pos % shared->size;
	QueueEntry *e;

	if (shared->size - off < ENTRY_HDR)
	{
		*next = pos + (shared->size - off);
		return NULL;
	}
	e = (QueueEntry *) (ring + off);
	*next = pos + e->len;
	return e;
}

/* Move the head over finished entries; true if it moved.  Lock held. */
static bool
advance_head(void)
{
	uint64		start = shared->head;

	while (shared->head < shared->tail)
	{
		uint64		next;
		QueueEntry *e = entry_at(shared->head, &next);

		if (e != NULL && e->state != ENTRY_DONE && e->state != ENTRY_PAD)
			break;
		shared->head = next;
	}
	return shared->head != start;
}

/* The slot of dboid, created if asked and possible.  Lock held. */
static DbSlot *
db_slot(Oid dboid, bool create)
{
	DbSlot	   *free_slot = NULL;

	for (int i = 0; i < CG_AUDIT_MAX_DATABASES; i++)
	{
		DbSlot	   *s = &shared->dbs[i];

		if (s->dboid == dboid)
			return s;
		if (free_slot == NULL &&
			(s->dboid == InvalidOid || (s->pending == 0 && s->writer_pid == 0)))
			free_slot = s;
	}
	if (!create || free_slot == NULL)
		return NULL;
	memset(free_slot, 0, sizeof(DbSlot));
	pg_atomic_init_u32(&free_slot->ready, 0);
	free_slot->dboid = dboid;
	return free_slot;
}

/* Does the slot need a writer registered now?  Marks it registered.  Lock held. */
static bool
writer_needed(DbSlot *slot)
{
	TimestampTz now;

	if (slot->registered && slot->writer_pid != 0)
		return false;
	now = GetCurrentTimestamp();
	if (slot->registered &&
		!TimestampDifferenceExceeds(slot->registered_at, now,
									CG_AUDIT_WRITER_GRACE_MS + cg_audit_writer_restart * 1000))
		return false;
	slot->registered = true;
	slot->registered_at = now;
	return true;
}

/* From _PG_init: how a writer is registered (the queue does not start one itself). */
void
cg_audit_queue_set_writer_starter(CgAuditWriterStarter starter)
{
	writer_starter = starter;
}

/* Start the database's writer (lock not held); warn if it cannot be started. */
static void
start_writer(Oid dboid)
{
	static TimestampTz last_warned = 0;
	Latch	   *idle[CG_AUDIT_MAX_DATABASES];
	int			nidle = 0;
	TimestampTz now;

	Assert(writer_starter != NULL);
	if (writer_starter != NULL && writer_starter(dboid))
		return;
	LWLockAcquire(shared->lock, LW_EXCLUSIVE);
	{
		DbSlot	   *slot = db_slot(dboid, false);

		if (slot != NULL && slot->writer_pid == 0)
		{
			slot->registered = false;
			slot->starved = true;	/* idle writers of other databases make way */
		}
		/* wake the idle writers, so that one of them leaves now */
		for (int i = 0; i < CG_AUDIT_MAX_DATABASES && nidle < CG_AUDIT_MAX_DATABASES; i++)
			if (shared->dbs[i].writer_latch != NULL && shared->dbs[i].pending == 0)
				idle[nidle++] = shared->dbs[i].writer_latch;
	}
	LWLockRelease(shared->lock);
	for (int i = 0; i < nidle; i++)
		SetLatch(idle[i]);
	/* retried each second while waiting: say it once in a while */
	now = GetCurrentTimestamp();
	if (!TimestampDifferenceExceeds(last_warned, now, 10000))
		return;
	last_warned = now;
	ereport(WARNING,
			(errcode(ERRCODE_CONFIGURATION_LIMIT_EXCEEDED),
			 errmsg("could not start the childguard audit writer for this database"),
			 errdetail("Audit records wait in the queue until a writer runs."),
			 errhint("Raise max_worker_processes.")));
}

/* Check the writer of this database runs, starting one if needed. */
static void
ensure_writer(void)
{
	DbSlot	   *slot;
	bool		need = false;

	LWLockAcquire(shared->lock, LW_EXCLUSIVE);
	slot = db_slot(MyDatabaseId, false);
	if (slot != NULL && slot->pending > 0)
		need = writer_needed(slot);
	LWLockRelease(shared->lock);
	if (need)
		start_writer(MyDatabaseId);
}

/* ms left of the wait timeout from start, or -1 for no limit; 0 = expired */
static long
remaining_ms(TimestampTz start)
{
	long		elapsed;

	if (cg_audit_wait_timeout == 0)
		return -1;
	elapsed = (long) ((GetCurrentTimestamp() - start) / 1000);
	return elapsed >= cg_audit_wait_timeout ? 0 : cg_audit_wait_timeout - elapsed;
}

static void
report_full(const char *when)
{
	ereport(ERROR,
			(errcode(ERRCODE_CG_AUDIT_QUEUE_FULL),
			 errmsg("childguard audit queue is full"),
			 errdetail("%s", when),
			 errhint("The audit writer is behind or not running; retry later, or raise childguard.audit_queue_size.")));
}

/*
 * Before a statement first reads child data: is there room for its
 * record?  Per childguard.audit_queue_full, wait for room (up to the
 * timeout) or refuse at once, before any plaintext is produced.
 */
void
cg_audit_admit(void)
{
	TimestampTz start = 0;
	bool		waited = false;

	if (!cg_audit_enabled || shared == NULL)
		return;
	for (;;)
	{
		uint64		head;
		uint64		used;
		long		left;

		/*
		 * Without the queue's lock (every audited statement passes here,
		 * and the lock is the queue's hottest): both positions only grow
		 * and are read whole (aligned 64-bit), head first, so the room
		 * seen is never more than there was when tail was read.  The
		 * record itself is queued under the lock, which checks again.
		 */
#ifdef PG_HAVE_8BYTE_SINGLE_COPY_ATOMICITY
		head = *(volatile uint64 *) &shared->head;
		pg_read_barrier();
		used = *(volatile uint64 *) &shared->tail - head;
#else
		LWLockAcquire(shared->lock, LW_SHARED);
		head = shared->head;
		used = shared->tail - head;
		LWLockRelease(shared->lock);
#endif
		if (shared->size - Min(used, shared->size) >= CG_AUDIT_ADMIT_BYTES)
			break;
		if (cg_audit_queue_full == CG_AUDIT_FULL_ERROR)
			report_full("Reading child data is refused while its audit record could not be queued (childguard.audit_queue_full = error).");
		if (!waited)
		{
			start = GetCurrentTimestamp();
			waited = true;
		}
		/* each second: a worker slot may have been freed meanwhile */
		ensure_writer();
		if (shared->unserved)
			cg_audit_serve_carried_over();
		settle_if_waiting();
		left = remaining_ms(start);
		if (left == 0)
		{
			ConditionVariableCancelSleep();
			report_full("No room appeared within childguard.audit_wait_timeout.");
		}
		ConditionVariableTimedSleep(&shared->space_cv, left < 0 ? 1000 : Min(left, 1000),
									PG_WAIT_EXTENSION);
	}
	if (waited)
		ConditionVariableCancelSleep();
}

/*
 * Queueing a record in three steps, so that the record is encoded
 * straight into the ring and the queue's lock is held only to move the
 * tail:
 *
 *	reserve: under the lock, room for len bytes at the tail, the entry's
 *	header (state WRITING, its seq) and the tail moved past it;
 *	write:	 without the lock, the caller writes the payload in place --
 *			 code that cannot raise, allocate or wait (a plain encoder);
 *	publish: without the lock, the entry is counted for the writer, then
 *			 becomes READY (a barrier between), and the writer is woken
 *			 as described at the top ("Publishing without the lock").
 *
 * A WRITING entry is not the writer's yet: a claim stops at the first one
 * of its database (records are written in queue order: the chain head's
 * key must only grow), setting the entry's wake flag, and the publish of
 * that entry wakes the writer.  The head does not pass it either.  Only a
 * process killed between reserve and publish can leave one behind, and
 * that reinitialises shared memory: the postmaster's save skips WRITING
 * entries (their statement never completed, as when a backend was killed
 * just before queueing).
 */
typedef struct CgAuditReservation
{
	QueueEntry *entry;
	DbSlot	   *slot;
} CgAuditReservation;

static CgAuditReservation reservation = {NULL, NULL};

/*
 * Reserve room for a record of len bytes for this database; the address
 * to write it to, or NULL (nothing reserved) if there is no room after
 * waiting per childguard.audit_queue_full (with may_wait), or the record
 * is too large.  Never raises an error unless waiting (cancel), so the
 * error path can use it.  The caller writes the payload and calls
 * cg_audit_publish() before anything that can fail.
 */
char *
cg_audit_reserve(Size len, bool sync, bool may_wait, uint64 *seq)
{
	Size		entry_len = ENTRY_HDR + MAXALIGN(len);
	TimestampTz start = 0;
	bool		waited = false;
	char	   *dest = NULL;

	Assert(reservation.entry == NULL);
	if (shared == NULL || len > cg_audit_max_record())
		return NULL;
	for (;;)
	{
		DbSlot	   *slot;
		bool		need = false;
		long		left;

		LWLockAcquire(shared->lock, LW_EXCLUSIVE);
		slot = db_slot(MyDatabaseId, true);
		if (slot != NULL)
		{
			Size		off = shared->tail % shared->size;
			Size		pad = shared->size - off < entry_len ? shared->size - off : 0;

			if (shared->tail - shared->head + pad + entry_len <= shared->size)
			{
				QueueEntry *e;

				if (pad >= ENTRY_HDR)
				{
					e = (QueueEntry *) (ring + off);
					memset(e, 0, sizeof(QueueEntry));
					e->len = pad;
					e->state = ENTRY_PAD;
				}
				shared->tail += pad;
				e = (QueueEntry *) (ring + shared->tail % shared->size);
				e->len = entry_len;
				e->payload_len = len;
				e->state = ENTRY_WRITING;
				e->sync = sync;
				e->wake = false;
				e->dboid = MyDatabaseId;
				e->procno = MyProc->pgprocno;
				e->epoch = shared->epoch;
				e->seq = ++shared->next_seq;
				shared->tail += entry_len;
				/* the slot stays while it has pending entries */
				slot->pending++;
				if (sync)
					slot->sync_pending++;
				*seq = e->seq;
				my_last_seq = e->seq;
				reservation.entry = e;
				reservation.slot = slot;
				dest = (char *) e + ENTRY_HDR;
			}
			need = writer_needed(slot);
		}
		LWLockRelease(shared->lock);
		if (need)
			start_writer(MyDatabaseId);
		if (shared->unserved)
			cg_audit_serve_carried_over();
		if (dest != NULL || !may_wait || cg_audit_queue_full == CG_AUDIT_FULL_ERROR)
			break;
		/* (no settling here: this may run while a portal is released) */
		if (!waited)
		{
			start = GetCurrentTimestamp();
			waited = true;
		}
		left = remaining_ms(start);
		if (left == 0)
			break;
		ConditionVariableTimedSleep(&shared->space_cv, left < 0 ? 1000 : Min(left, 1000),
									PG_WAIT_EXTENSION);
	}
	if (waited)
		ConditionVariableCancelSleep();
	return dest;
}

/*
 * The reserved record is written: hand it to the writer.  Without the
 * queue's lock (see "Publishing without the lock" at the top).
 */
void
cg_audit_publish(void)
{
	volatile QueueEntry *e = reservation.entry;
	DbSlot	   *slot = reservation.slot;
	int32		was_ready;
	bool		wake;

	Assert(e != NULL);
	if (e == NULL)
		return;
	reservation.entry = NULL;
	reservation.slot = NULL;
	/*
	 * Counted first, while the entry (WRITING) still holds the slot; the
	 * atomic is a full barrier: the payload is written before the state
	 * that lets a writer read it.
	 */
	was_ready = (int32) pg_atomic_fetch_add_u32(&slot->ready, 1);
	e->state = ENTRY_READY;
	pg_memory_barrier();
	/*
	 * Wake the writer when it had taken everything, when its last claim
	 * stopped at this entry, or when a backend will wait for this record.
	 */
	wake = was_ready <= 0 || e->wake || e->sync;
	if (wake)
	{
		Latch	   *latch = ((volatile DbSlot *) slot)->writer_latch;

		if (latch != NULL)
			SetLatch(latch);
	}
}

/*
 * Queue one encoded record for this database (reserve, copy, publish).
 * With may_wait, waits for room per childguard.audit_queue_full; returns
 * false (nothing queued) if there is none, or the record is too large.
 * Never raises an error unless waiting (cancel).
 */
bool
cg_audit_enqueue(const char *data, Size len, bool sync, bool may_wait, uint64 *seq)
{
	char	   *dest = cg_audit_reserve(len, sync, may_wait, seq);

	if (dest == NULL)
		return false;
	memcpy(dest, data, len);
	cg_audit_publish();
	return true;
}

/* The sequence number of this backend's last queued record (0: none). */
uint64
cg_audit_last_seq(void)
{
	return my_last_seq;
}

/*
 * Wait until the writer has committed record seq (and every earlier one of
 * this backend).  Errors if it failed, or on timeout.
 */
void
cg_audit_wait_durable(uint64 seq)
{
	ProcSlot   *me;
	TimestampTz start = GetCurrentTimestamp();
	bool		slept = false;

	require_shmem();
	if (seq == 0)
		return;
	me = &procs[MyProc->pgprocno];
	while (pg_atomic_read_u64(&me->done_seq) < seq)
	{
		long		left = remaining_ms(start);

		if (left == 0)
		{
			ConditionVariableCancelSleep();
			ereport(ERROR,
					(errcode(ERRCODE_CG_AUDIT_NOT_DURABLE),
					 errmsg("audit record was not committed in time"),
					 errdetail("The record is still queued; the audit writer did not commit it within childguard.audit_wait_timeout."),
					 errhint("Check that the childguard audit writer runs (pg_stat_activity, the server log).")));
		}
		/* each second: a worker slot may have been freed meanwhile */
		ensure_writer();
		slept = true;
		ConditionVariableTimedSleep(&shared->done_cv, left < 0 ? 1000 : Min(left, 1000),
									PG_WAIT_EXTENSION);
	}
	if (slept)
		ConditionVariableCancelSleep();
	if (pg_atomic_read_u64(&me->failed_seq) >= seq &&
		pg_atomic_read_u64(&me->failed_seq) > 0)
		ereport(ERROR,
				(errcode(ERRCODE_CG_AUDIT_NOT_DURABLE),
				 errmsg("audit record could not be written to the access log"),
				 errdetail("The audit writer wrote it to the server log instead."),
				 errhint("See the server log for the writer's error.")));
}

/* ---- the writer's side ---- */

/*
 * Become the writer of dboid.  False if another live writer has it.
 * Entries a dead predecessor had claimed become READY again.
 */
bool
cg_audit_writer_claim_slot(Oid dboid)
{
	DbSlot	   *slot;
	uint64		pos;

	require_shmem();
	LWLockAcquire(shared->lock, LW_EXCLUSIVE);
	slot = db_slot(dboid, true);
	if (slot == NULL ||
		(slot->writer_pid != 0 && slot->writer_pid != MyProcPid &&
		 kill(slot->writer_pid, 0) == 0))
	{
		LWLockRelease(shared->lock);
		return false;
	}
	/*
	 * Nothing to write (its records were written, or settled because the
	 * database is gone): leave without connecting; the next record
	 * registers a writer again.
	 */
	if (slot->pending == 0 || slot->gone)
	{
		slot->registered = false;
		LWLockRelease(shared->lock);
		return false;
	}
	slot->writer_pid = MyProcPid;
	slot->writer_latch = MyLatch;
	slot->scan_from = 0;
	slot->starved = false;
	slot->registered = true;
	slot->registered_at = GetCurrentTimestamp();
	for (pos = shared->head; pos < shared->tail;)
	{
		uint64		next;
		QueueEntry *e = entry_at(pos, &next);

		if (e != NULL && e->dboid == dboid && e->state == ENTRY_CLAIMED)
		{
			e->state = ENTRY_READY;
			pg_atomic_fetch_add_u32(&slot->ready, 1);
		}
		pos = next;
	}
	LWLockRelease(shared->lock);
	return true;
}

/* The writer of dboid exits (on_shmem_exit). */
void
cg_audit_writer_release_slot(Oid dboid)
{
	DbSlot	   *slot;

	if (shared == NULL)
		return;
	LWLockAcquire(shared->lock, LW_EXCLUSIVE);
	slot = db_slot(dboid, false);
	if (slot != NULL && slot->writer_pid == MyProcPid)
	{
		slot->writer_pid = 0;
		slot->writer_latch = NULL;
	}
	LWLockRelease(shared->lock);
}

/*
 * The writer of dboid leaves if nothing is queued for its database and it
 * has been idle for childguard.audit_writer_idle_timeout (idle), or another
 * database is waiting for a worker slot: the next record registers a new
 * one.  True if it may exit.
 */
bool
cg_audit_writer_retire(Oid dboid, bool idle)
{
	DbSlot	   *slot;
	bool		retire = false;
	bool		others_starve = false;

	LWLockAcquire(shared->lock, LW_EXCLUSIVE);
	/*
	 * Another database has records and could not get a worker slot for its
	 * writer: an idle writer leaves at once to make way.
	 */
	for (int i = 0; !idle && i < CG_AUDIT_MAX_DATABASES; i++)
		if (shared->dbs[i].dboid != dboid && shared->dbs[i].starved &&
			shared->dbs[i].pending > 0)
			others_starve = true;
	slot = db_slot(dboid, false);
	if (slot != NULL && slot->writer_pid == MyProcPid && slot->pending == 0 &&
		(idle || others_starve))
	{
		slot->writer_pid = 0;
		slot->writer_latch = NULL;
		slot->registered = false;
		retire = true;
	}
	LWLockRelease(shared->lock);
	return retire;
}

/*
 * Records of dboid the writer can take now (READY: not claimed; records
 * claimed and waiting for their commit to be flushed do not count, or a
 * backlog of those would stop gather() from letting batches grow);
 * *sync: how many queued records are awaited.
 */
int
cg_audit_pending_for(Oid dboid, int *sync)
{
	DbSlot	   *slot;
	int			n = 0;

	*sync = 0;
	LWLockAcquire(shared->lock, LW_SHARED);
	slot = db_slot(dboid, false);
	if (slot != NULL)
	{
		n = Max((int32) pg_atomic_read_u32(&slot->ready), 0);
		*sync = slot->sync_pending;
	}
	LWLockRelease(shared->lock);
	return n;
}

/*
 * Where the READY entries of dboid start (lock held): entries before the
 * slot's scan_from are claimed or done.
 */
static uint64
scan_start(DbSlot *slot)
{
	return slot != NULL ? Max(slot->scan_from, shared->head) : shared->head;
}

/*
 * Claim up to max_records READY entries of dboid, in queue order.  Returns
 * how many; *out (allocated in the current memory context) points at
 * their payloads in place, in the ring: a CLAIMED entry is read only by
 * its claimer and stays where it is until cg_audit_finish_batch() marks it
 * DONE (the head passes DONE entries only), so the payloads stay valid
 * until then.  Nothing is copied or allocated while the lock is held.
 *
 * Only this database's writer (or the one process settling a dropped
 * database) claims its entries.
 */
int
cg_audit_claim_batch(Oid dboid, int max_records, CgAuditQueued **out)
{
	CgAuditQueued *recs = palloc(sizeof(CgAuditQueued) * Max(max_records, 1));
	DbSlot	   *slot;
	int			n = 0;
	Size		bytes = 0;
	uint64		pos;

	LWLockAcquire(shared->lock, LW_EXCLUSIVE);
	slot = db_slot(dboid, false);
	for (pos = scan_start(slot);
		 pos < shared->tail && n < max_records && bytes < CG_AUDIT_BATCH_BYTES;)
	{
		uint64		next;
		volatile QueueEntry *e = entry_at(pos, &next);

		if (e == NULL || e->dboid != dboid)
		{
			pos = next;
			continue;
		}
		if (e->state == ENTRY_WRITING)
		{
			/*
			 * In queue order: not past a record being written.  Its
			 * publish wakes the writer -- unless it was published just
			 * now, which the second look sees (see "Publishing without
			 * the lock").
			 */
			e->wake = true;
			pg_memory_barrier();
			if (e->state == ENTRY_WRITING)
				break;
		}
		if (e->state == ENTRY_READY)
		{
			recs[n].epoch = e->epoch;
			recs[n].seq = e->seq;
			recs[n].procno = e->procno;
			recs[n].sync = e->sync;
			recs[n].len = e->payload_len;
			recs[n].data = (char *) e + ENTRY_HDR;
			e->state = ENTRY_CLAIMED;
			bytes += MAXALIGN(e->payload_len);
			n++;
		}
		pos = next;
	}
	if (slot != NULL)
	{
		slot->scan_from = pos;
		if (n > 0)
			pg_atomic_fetch_sub_u32(&slot->ready, n);
	}
	LWLockRelease(shared->lock);
	/* the payloads are read after their READY state (paired with publish's barrier) */
	pg_read_barrier();
	*out = recs;
	return n;
}

/*
 * A claimed batch is finished: committed (written) or given up (logged
 * to the server log instead).  Tells the waiting backends.
 */
void
cg_audit_finish_batch(Oid dboid, CgAuditQueued *recs, int n, bool written)
{
	DbSlot	   *slot;
	uint64		pos;
	int			i = 0;
	bool		moved;
	bool		drop_saved = false;

	if (n == 0)
		return;
	LWLockAcquire(shared->lock, LW_EXCLUSIVE);
	for (pos = shared->head; pos < shared->tail && i < n;)
	{
		uint64		next;
		QueueEntry *e = entry_at(pos, &next);

		if (e != NULL && e->dboid == dboid && e->state == ENTRY_CLAIMED &&
			e->seq == recs[i].seq && e->epoch == recs[i].epoch)
		{
			e->state = ENTRY_DONE;
			i++;
		}
		pos = next;
	}
	for (i = 0; i < n; i++)
	{
		ProcSlot   *p;

		if (recs[i].procno < 0 && shared->restored_left > 0 &&
			--shared->restored_left == 0)
			drop_saved = true;
		if (recs[i].procno < 0 || recs[i].procno >= shared->nprocs)
			continue;
		p = &procs[recs[i].procno];
		if (!written && pg_atomic_read_u64(&p->failed_seq) < recs[i].seq)
			pg_atomic_write_u64(&p->failed_seq, recs[i].seq);
		if (pg_atomic_read_u64(&p->done_seq) < recs[i].seq)
			pg_atomic_write_u64(&p->done_seq, recs[i].seq);
	}
	slot = db_slot(dboid, false);
	if (slot != NULL)
	{
		slot->pending = Max(0, slot->pending - n);
		for (i = 0; i < n; i++)
			if (recs[i].sync)
				slot->sync_pending = Max(0, slot->sync_pending - 1);
	}
	moved = advance_head();
	LWLockRelease(shared->lock);
	/* every record carried over is done: the saved copy is not needed */
	if (drop_saved)
		(void) unlink(CG_AUDIT_SAVE_FILE);
	ConditionVariableBroadcast(&shared->done_cv);
	if (moved)
		ConditionVariableBroadcast(&shared->space_cv);
}

/* ---- carried-over records, and databases that disappeared ---- */

/* Is the slot's writer alive?  Lock held. */
static bool
writer_alive(DbSlot *slot)
{
	return slot->writer_pid != 0 && kill(slot->writer_pid, 0) == 0;
}

/*
 * Records carried over a restart belong to databases where nobody may
 * read again soon: register writers for them.  Called by backends that
 * queue and by writers while shared->unserved is set.
 */
void
cg_audit_serve_carried_over(void)
{
	Oid			need[CG_AUDIT_MAX_DATABASES];
	int			n = 0;
	bool		left = false;

	if (shared == NULL || !shared->unserved)
		return;
	LWLockAcquire(shared->lock, LW_EXCLUSIVE);
	for (int i = 0; i < CG_AUDIT_MAX_DATABASES; i++)
	{
		DbSlot	   *s = &shared->dbs[i];

		if (s->dboid == InvalidOid || s->pending == 0 || s->gone)
			continue;
		if (writer_alive(s))
			continue;
		left = true;
		if (writer_needed(s))
			need[n++] = s->dboid;
	}
	if (!left)
		shared->unserved = false;
	LWLockRelease(shared->lock);
	for (int i = 0; i < n; i++)
		start_writer(need[i]);
}

/*
 * Databases (other than this one) with records queued and no live writer,
 * at most once per CG_AUDIT_SETTLE_INTERVAL_MS over all processes: the
 * candidates to check against pg_database.  Returns how many.
 */
int
cg_audit_unwritten_databases(Oid *out)
{
	TimestampTz now;
	int			n = 0;

	if (shared == NULL)
		return 0;
	now = GetCurrentTimestamp();
	LWLockAcquire(shared->lock, LW_EXCLUSIVE);
	if (TimestampDifferenceExceeds(shared->last_settle_check, now, CG_AUDIT_SETTLE_INTERVAL_MS))
	{
		shared->last_settle_check = now;
		for (int i = 0; i < CG_AUDIT_MAX_DATABASES; i++)
		{
			DbSlot	   *s = &shared->dbs[i];

			if (s->dboid != InvalidOid && s->dboid != MyDatabaseId &&
				s->pending > 0 && !writer_alive(s))
				out[n++] = s->dboid;
		}
	}
	LWLockRelease(shared->lock);
	return n;
}

/* Does database dboid exist (and can it be connected to)?  In a transaction. */
static bool
database_exists(Oid dboid)
{
	HeapTuple	tup;
	bool		usable;

	tup = SearchSysCache1(DATABASEOID, ObjectIdGetDatum(dboid));
	if (!HeapTupleIsValid(tup))
		return false;
	/* an interrupted DROP DATABASE leaves it invalid: it cannot be connected to */
	usable = !database_is_invalid_form((Form_pg_database) GETSTRUCT(tup));
	ReleaseSysCache(tup);
	return usable;
}

/*
 * Settle the records of dboid, a database that is gone: each goes to the
 * server log in full, then leaves the ring.  Returns how many.
 */
static uint64
settle_database(Oid dboid)
{
	MemoryContext cxt = AllocSetContextCreate(CurrentMemoryContext,
											  "childguard audit settle",
											  ALLOCSET_DEFAULT_SIZES);
	MemoryContext old = MemoryContextSwitchTo(cxt);
	DbSlot	   *slot;
	uint64		total = 0;

	LWLockAcquire(shared->lock, LW_EXCLUSIVE);
	slot = db_slot(dboid, false);
	if (slot == NULL || writer_alive(slot))
	{
		LWLockRelease(shared->lock);
		MemoryContextSwitchTo(old);
		MemoryContextDelete(cxt);
		return 0;
	}
	slot->gone = true;
	slot->scan_from = 0;
	/* what a writer had claimed before it died is settled too */
	for (uint64 pos = shared->head; pos < shared->tail;)
	{
		uint64		next;
		QueueEntry *e = entry_at(pos, &next);

		if (e != NULL && e->dboid == dboid && e->state == ENTRY_CLAIMED)
		{
			e->state = ENTRY_READY;
			pg_atomic_fetch_add_u32(&slot->ready, 1);
		}
		pos = next;
	}
	LWLockRelease(shared->lock);

	for (;;)
	{
		CgAuditQueued *recs;
		int			n = cg_audit_claim_batch(dboid, 1000, &recs);
		char	   *why = psprintf("database %u was dropped before the audit writer wrote it", dboid);

		if (n == 0)
			break;
		for (int i = 0; i < n; i++)
			cg_audit_server_log_raw(recs[i].data, recs[i].len, why);
		cg_audit_finish_batch(dboid, recs, n, false);
		total += n;
		MemoryContextReset(cxt);
	}
	LWLockAcquire(shared->lock, LW_EXCLUSIVE);
	shared->settled += total;
	LWLockRelease(shared->lock);
	MemoryContextSwitchTo(old);
	MemoryContextDelete(cxt);
	if (total > 0)
		ereport(LOG,
				(errmsg("childguard settled %llu audit records of database %u, which no longer exists",
						(unsigned long long) total, dboid),
				 errdetail("Each record is in the server log in full (AUDIT: CHILD lines); they left the audit queue.")));
	return total;
}

/*
 * Check the candidates of cg_audit_unwritten_databases() and settle those
 * that are gone.  In a transaction.
 */
void
cg_audit_settle_gone(const Oid *dbs, int n)
{
	if (n == 0)
		return;
	AcceptInvalidationMessages();
	for (int i = 0; i < n; i++)
		if (!database_exists(dbs[i]))
			(void) settle_database(dbs[i]);
}

/* A backend waiting for room: settle what a dropped database holds up. */
static void
settle_if_waiting(void)
{
	Oid			dbs[CG_AUDIT_MAX_DATABASES];
	int			n;

	if (!IsTransactionState())
		return;
	n = cg_audit_unwritten_databases(dbs);
	cg_audit_settle_gone(dbs, n);
}

PG_FUNCTION_INFO_V1(cg_audit_queue_status);

/*
 * childguard.audit_queue_status(): the queue now, and what happened to
 * records across restarts and dropped databases (one row).
 */
Datum
cg_audit_queue_status(PG_FUNCTION_ARGS)
{
	TupleDesc	desc;
	Datum		values[10];
	bool		nulls[10];
	AuditShared copy;
	int64		queued = 0;

	require_shmem();
	if (get_call_result_type(fcinfo, NULL, &desc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");
	/* a copy under the lock; the Datums (which may allocate) after it */
	LWLockAcquire(shared->lock, LW_SHARED);
	memcpy(&copy, shared, sizeof(copy));
	LWLockRelease(shared->lock);
	for (int i = 0; i < CG_AUDIT_MAX_DATABASES; i++)
		if (copy.dbs[i].dboid != InvalidOid)
			queued += copy.dbs[i].pending;
	memset(nulls, 0, sizeof(nulls));
	values[0] = TimestampTzGetDatum(copy.epoch);
	values[1] = Int64GetDatum(queued);
	values[2] = Int64GetDatum((int64) (copy.tail - copy.head));
	values[3] = Int64GetDatum((int64) copy.size);
	values[4] = Int64GetDatum((int64) copy.restored);
	values[5] = Int64GetDatum((int64) copy.unrestored);
	values[6] = Int64GetDatum((int64) copy.settled);
	values[7] = Int64GetDatum((int64) copy.unsaved_exits);
	values[8] = TimestampTzGetDatum(copy.last_unsaved_epoch);
	nulls[8] = copy.unsaved_exits == 0;
	values[9] = Int64GetDatum((int64) copy.given_up);
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(desc, values, nulls)));
}

PG_FUNCTION_INFO_V1(cg_audit_queue_databases);

/*
 * childguard.audit_queue_databases(): per database with records in the
 * queue or a writer: how many records wait, how many a backend waits for,
 * the writer's pid (NULL: none running), and whether its records were
 * settled because the database was dropped.
 */
Datum
cg_audit_queue_databases(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	DbSlot		copy[CG_AUDIT_MAX_DATABASES];

	require_shmem();
	InitMaterializedSRF(fcinfo, 0);
	LWLockAcquire(shared->lock, LW_SHARED);
	memcpy(copy, shared->dbs, sizeof(copy));
	LWLockRelease(shared->lock);
	for (int i = 0; i < CG_AUDIT_MAX_DATABASES; i++)
	{
		Datum		values[5];
		bool		nulls[5];

		if (copy[i].dboid == InvalidOid ||
			(copy[i].pending == 0 && copy[i].writer_pid == 0))
			continue;
		memset(nulls, 0, sizeof(nulls));
		values[0] = ObjectIdGetDatum(copy[i].dboid);
		values[1] = Int64GetDatum(copy[i].pending);
		values[2] = Int64GetDatum(copy[i].sync_pending);
		values[3] = Int32GetDatum(copy[i].writer_pid);
		nulls[3] = copy[i].writer_pid == 0;
		values[4] = BoolGetDatum(copy[i].gone);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum) 0;
}

/* The epoch of this initialisation of shared memory. */
TimestampTz
cg_audit_current_epoch(void)
{
	require_shmem();
	return shared->epoch;
}

/* A writer wrote n records to the server log instead of the access log. */
void
cg_audit_count_given_up(int n)
{
	LWLockAcquire(shared->lock, LW_EXCLUSIVE);
	shared->given_up += n;
	LWLockRelease(shared->lock);
}
