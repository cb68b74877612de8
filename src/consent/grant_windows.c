/*-------------------------------------------------------------------------
 *
 * grant_windows.c
 *	  Distinct children per grant per hour and per day, counted in shared
 *	  memory across statements, cursors and sessions (Art 15: technical
 *	  measures against copying).
 *
 * An officer sets a grant's limits (access_grant.max_children_per_hour,
 * max_children_per_day; childguard.set_grant_limits()).  A child counts
 * once per window however often, by however many sessions and through
 * whichever route (one statement, a cursor fetched in pages, LIMIT/OFFSET
 * pages, many point queries) it is decrypted under the grant; a child that
 * would be the limit's next one is refused with ZC420 before its value is
 * decrypted, and the failing statement's audit record carries the
 * SQLSTATE.  A grant without limits is not counted at all.
 *
 * Windows are fixed: the hour and the day (UTC) containing the statement's
 * start time.  So across a boundary a grant can read up to twice a limit
 * within a short time (the end of one window and the start of the next);
 * docs/consent.md says so.  Counting is exact up to the limit: each window
 * keeps the set of its children, not an estimate.
 *
 * Concurrency and memory.  One table in shared memory, sized at start by
 * childguard.window_children (PGC_POSTMASTER): open addressing with linear
 * probing over fixed-size entries, guarded by one LWLock (its own tranche),
 * taken exclusively for a lookup-and-insert of one child and never while
 * anything allocates, raises or reads the catalog (test/arch).  Two kinds of
 * entry share the table: a member (grant, kind, window, child) and a
 * counter (grant, kind, window, CHILD_COUNTER) holding the window's count.
 * When the table is three-quarters full, the entries of windows older than
 * the previous one are deleted in one sweep (backward-shift deletion, no
 * tombstones); when it is still full, a new child under a limited grant is
 * refused (ZC421), never let through uncounted: the DBA raises the setting.
 * Each backend remembers the children it has already counted in the
 * current windows (a local hash, bounded), so re-reading them takes no lock.
 *
 * Nothing is kept across a server restart, by design: the windows are an
 * operational brake against copying, and the audit trail keeps every read
 * for the officer.  Only the server's operator can restart it.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <limits.h>

#include "miscadmin.h"
#include "storage/ipc.h"
#include "storage/lwlock.h"
#include "storage/shmem.h"
#include "utils/guc.h"
#include "utils/hsearch.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"

#include "backend_cache.h"
#include "childguard_errcodes.h"
#include "grant_windows.h"
#include "statement.h"

#define CG_WINDOWS_TRANCHE "childguard grant windows"

#define KIND_HOUR	1
#define KIND_DAY	2

#define CHILD_COUNTER	PG_UINT64_MAX	/* the entry holding a window's count */

/* entries a backend remembers as counted before it starts afresh */
#define LOCAL_MAX	65536

typedef struct WindowEntry
{
	int64		grant_id;		/* 0: empty slot */
	uint64		subject_no;		/* CHILD_COUNTER: the counter entry */
	int32		window_no;		/* hours or days since 2000-01-01 UTC */
	int16		kind;
	int16		pad;
	int32		count;			/* counter entry only */
	Oid			dboid;			/* grant ids are per database */
} WindowEntry;

typedef struct WindowShared
{
	LWLock	   *lock;
	uint32		nslots;			/* a power of two */
	uint32		used;
	uint32		capacity;		/* entries allowed before a sweep/refusal */
	WindowEntry slots[FLEXIBLE_ARRAY_MEMBER];
} WindowShared;

typedef struct LocalKey
{
	int64		grant_id;
	uint64		subject_no;
	int32		window_no;
	int32		kind;
} LocalKey;

static int	window_children = 65536;
static WindowShared *shared = NULL;
static MemoryContext local_cxt = NULL;
static HTAB *local_counted = NULL;

/* From _PG_init. */
void
cg_grant_windows_define_gucs(void)
{
	DefineCustomIntVariable("childguard.window_children",
							"How many (grant, window, child) entries shared memory holds for the per-hour and per-day limits of access grants.",
							"Each child read under a grant with limits takes one entry per window kind; when full, new children under limited grants are refused (ZC421).",
							&window_children, 65536, 1024, INT_MAX / 4,
							PGC_POSTMASTER, 0, NULL, NULL, NULL);
}

static uint32
table_slots(void)
{
	uint32		n = 1024;

	while (n < (uint32) window_children + (uint32) window_children / 3)
		n <<= 1;
	return n;
}

static Size
shmem_size(void)
{
	return add_size(offsetof(WindowShared, slots),
					mul_size(table_slots(), sizeof(WindowEntry)));
}

/* shmem_request_hook part */
void
cg_grant_windows_shmem_request(void)
{
	RequestAddinShmemSpace(shmem_size());
	RequestNamedLWLockTranche(CG_WINDOWS_TRANCHE, 1);
}

/* shmem_startup_hook part */
void
cg_grant_windows_shmem_startup(void)
{
	bool		found;

	LWLockAcquire(AddinShmemInitLock, LW_EXCLUSIVE);
	shared = ShmemInitStruct("childguard grant windows", shmem_size(), &found);
	if (!found)
	{
		memset(shared, 0, shmem_size());
		shared->lock = &(GetNamedLWLockTranche(CG_WINDOWS_TRANCHE))->lock;
		shared->nslots = table_slots();
		shared->capacity = (uint32) window_children;
	}
	LWLockRelease(AddinShmemInitLock);
}

static uint32
entry_hash(Oid dboid, int64 grant_id, uint64 subject_no, int32 window_no, int16 kind)
{
	uint64		h = ((uint64) grant_id ^ ((uint64) dboid << 40)) *
		UINT64CONST(0x9E3779B97F4A7C15);

	h ^= subject_no + UINT64CONST(0xBF58476D1CE4E5B9) + (h << 6) + (h >> 2);
	h ^= ((uint64) (uint32) window_no << 8 | (uint64) kind) * UINT64CONST(0x94D049BB133111EB);
	h ^= h >> 31;
	h *= UINT64CONST(0xD6E8FEB86659FD93);
	h ^= h >> 32;
	return (uint32) h;
}

static inline uint32
home_slot(const WindowEntry *e)
{
	return entry_hash(e->dboid, e->grant_id, e->subject_no, e->window_no, e->kind) &
		(shared->nslots - 1);
}

/* The slot of the entry, or of the empty slot where it would go. */
static uint32
find_slot(int64 grant_id, uint64 subject_no, int32 window_no, int16 kind, bool *found)
{
	uint32		mask = shared->nslots - 1;
	uint32		i = entry_hash(MyDatabaseId, grant_id, subject_no, window_no, kind) & mask;

	for (;;)
	{
		WindowEntry *e = &shared->slots[i];

		if (e->grant_id == 0)
		{
			*found = false;
			return i;
		}
		if (e->grant_id == grant_id && e->dboid == MyDatabaseId &&
			e->subject_no == subject_no &&
			e->window_no == window_no && e->kind == kind)
		{
			*found = true;
			return i;
		}
		i = (i + 1) & mask;
	}
}

/* Delete the entry at slot i, shifting back the entries probing past it. */
static void
delete_slot(uint32 i)
{
	uint32		mask = shared->nslots - 1;
	uint32		j = i;

	for (;;)
	{
		uint32		k;

		shared->slots[i].grant_id = 0;
		for (;;)
		{
			j = (j + 1) & mask;
			if (shared->slots[j].grant_id == 0)
			{
				shared->used--;
				return;
			}
			k = home_slot(&shared->slots[j]);
			/* stays if its home lies cyclically in (i, j] */
			if (i <= j ? (i < k && k <= j) : (i < k || k <= j))
				continue;
			break;
		}
		shared->slots[i] = shared->slots[j];
		i = j;
	}
}

/*
 * Delete the entries of windows older than the previous one.  A slot that
 * received a shifted entry is examined again, so each entry is seen.
 */
static void
sweep(int32 hour_no, int32 day_no)
{
	uint32		i = 0;

	while (i < shared->nslots)
	{
		WindowEntry *e = &shared->slots[i];

		if (e->grant_id != 0 &&
			e->window_no < (e->kind == KIND_HOUR ? hour_no : day_no) - 1)
			delete_slot(i);
		else
			i++;
	}
}

typedef enum NoteResult
{
	NOTE_OK,
	NOTE_HOUR_FULL,
	NOTE_DAY_FULL,
	NOTE_TABLE_FULL
} NoteResult;

/*
 * Under the lock: is the child counted in the window of kind, or can it
 * be?  *is_new says it needs entering.
 */
static NoteResult
probe(int64 grant_id, uint64 subject_no, int32 window_no, int16 kind, int32 limit,
	  bool *is_new)
{
	bool		found;
	uint32		slot;

	*is_new = false;
	(void) find_slot(grant_id, subject_no, window_no, kind, &found);
	if (found)
		return NOTE_OK;
	slot = find_slot(grant_id, CHILD_COUNTER, window_no, kind, &found);
	if (found && shared->slots[slot].count >= limit)
		return kind == KIND_HOUR ? NOTE_HOUR_FULL : NOTE_DAY_FULL;
	*is_new = true;
	return NOTE_OK;
}

/* Under the lock: enter the child (and the window's counter if new). */
static void
enter(int64 grant_id, uint64 subject_no, int32 window_no, int16 kind)
{
	bool		found;
	uint32		slot;
	WindowEntry *e;

	slot = find_slot(grant_id, CHILD_COUNTER, window_no, kind, &found);
	e = &shared->slots[slot];
	if (!found)
	{
		e->grant_id = grant_id;
		e->subject_no = CHILD_COUNTER;
		e->window_no = window_no;
		e->kind = kind;
		e->count = 0;
		e->dboid = MyDatabaseId;
		shared->used++;
	}
	e->count++;
	slot = find_slot(grant_id, subject_no, window_no, kind, &found);
	e = &shared->slots[slot];
	e->grant_id = grant_id;
	e->subject_no = subject_no;
	e->window_no = window_no;
	e->kind = kind;
	e->count = 0;
	e->dboid = MyDatabaseId;
	shared->used++;
}

/* Under the lock: count the child in both windows, or say which is full. */
static NoteResult
note_locked(int64 grant_id, int32 per_hour, int32 per_day, int32 hour_no,
			int32 day_no, uint64 subject_no)
{
	bool		new_hour = false;
	bool		new_day = false;
	NoteResult	r;
	uint32		needed;

	if (per_hour > 0 &&
		(r = probe(grant_id, subject_no, hour_no, KIND_HOUR, per_hour, &new_hour)) != NOTE_OK)
		return r;
	if (per_day > 0 &&
		(r = probe(grant_id, subject_no, day_no, KIND_DAY, per_day, &new_day)) != NOTE_OK)
		return r;
	needed = (new_hour ? 2 : 0) + (new_day ? 2 : 0);
	if (needed == 0)
		return NOTE_OK;
	if (shared->used + needed > shared->capacity)
		sweep(hour_no, day_no);
	if (shared->used + needed > shared->capacity)
		return NOTE_TABLE_FULL;
	if (new_hour)
		enter(grant_id, subject_no, hour_no, KIND_HOUR);
	if (new_day)
		enter(grant_id, subject_no, day_no, KIND_DAY);
	return NOTE_OK;
}

/*
 * A child about to be decrypted under grant_id, whose limits are per_hour
 * and per_day (0: none), at the statement's time now.  Returns when the
 * child is counted in both windows; raises ZC420 when it would exceed a
 * limit, ZC421 when the table is full.
 */
void
cg_grant_windows_note(int64 grant_id, int32 per_hour, int32 per_day,
					  TimestampTz now, uint64 subject_no)
{
	static LocalKey last;
	LocalKey	key;
	int32		hour_no = (int32) (now / USECS_PER_HOUR);
	int32		day_no = (int32) (now / USECS_PER_DAY);
	NoteResult	r;

	if (per_hour <= 0 && per_day <= 0)
		return;
	memset(&key, 0, sizeof(key));
	key.grant_id = grant_id;
	key.subject_no = subject_no;
	key.window_no = hour_no;
	/* the kinds with a limit, and the day, in one key */
	key.kind = (per_hour > 0 ? 1 : 0) | (per_day > 0 ? 2 : 0) | (day_no << 2);
	if (memcmp(&key, &last, sizeof(key)) == 0)
		return;
	if (local_counted != NULL &&
		hash_search(local_counted, &key, HASH_FIND, NULL) != NULL)
	{
		last = key;
		return;
	}
	if (shared == NULL)
		elog(ERROR, "childguard grant windows are not in shared memory");

	LWLockAcquire(shared->lock, LW_EXCLUSIVE);
	r = note_locked(grant_id, per_hour, per_day, hour_no, day_no, subject_no);
	LWLockRelease(shared->lock);

	switch (r)
	{
		case NOTE_OK:
			break;
		case NOTE_HOUR_FULL:
		case NOTE_DAY_FULL:
			/* the statement's audit record names the child refused */
			cg_statement_note(subject_no, CG_ACCESS_DENIED);
			ereport(ERROR,
					(errcode(ERRCODE_CG_WINDOW_LIMIT),
					 errmsg("access grant %lld has reached its limit of %d children per %s",
							(long long) grant_id,
							r == NOTE_HOUR_FULL ? per_hour : per_day,
							r == NOTE_HOUR_FULL ? "hour" : "day"),
					 errdetail("Art 15: a grant reads at most that many distinct children in each %s (UTC), counted across statements, cursors and sessions; the children already read this %s can still be read.",
							   r == NOTE_HOUR_FULL ? "hour" : "day",
							   r == NOTE_HOUR_FULL ? "hour" : "day"),
					 errhint("Wait for the next %s, or have a protection officer raise the grant's limit with childguard.set_grant_limits().",
							 r == NOTE_HOUR_FULL ? "hour" : "day")));
			break;
		case NOTE_TABLE_FULL:
			cg_statement_note(subject_no, CG_ACCESS_DENIED);
			ereport(ERROR,
					(errcode(ERRCODE_CG_WINDOW_TABLE_FULL),
					 errmsg("could not count a child against access grant %lld's limits", (long long) grant_id),
					 errdetail("The shared table of children read under limited grants holds %d entries and is full.",
							   window_children),
					 errhint("Ask the DBA to raise childguard.window_children (a restart is needed).")));
			break;
	}

	if (local_counted == NULL || hash_get_num_entries(local_counted) >= LOCAL_MAX)
	{
		if (local_cxt != NULL)
			MemoryContextReset(local_cxt);
		local_counted = cg_backend_hash(&local_cxt, "childguard counted children", 256,
										sizeof(LocalKey), sizeof(LocalKey), false);
	}
	(void) hash_search(local_counted, &key, HASH_ENTER, NULL);
	last = key;
}
