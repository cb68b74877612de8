/*-------------------------------------------------------------------------
 *
 * shared_cache.c
 *	  The read path's cache shared by the backends (see shared_cache.h):
 *	  one fixed table in shared memory, childguard.shared_cache_size
 *	  entries, so that a backend's first read of a child costs a probe of
 *	  it instead of catalog index fetches whenever any backend has read
 *	  that child since the registry last changed.
 *
 * Layout.  A set-associative table: buckets of SC_WAYS fixed-size slots
 * (key, subject, value bytes), each bucket's stamps and key hashes in one
 * cache line of their own right before its slots (a probe reads it, then
 * one slot, on the same page), the bucket chosen by a hash of the key,
 * locked by one of SC_LOCKS LWLocks (bucket modulo SC_LOCKS; shared to
 * read, exclusive to fill).  A full bucket overwrites an invalid slot
 * first, else one chosen by the key's hash.  Nothing is allocated, raised
 * or read from the catalog under a lock: a probe hashes and copies bytes.
 * The shared memory is a fresh mapping, zero-filled: a zero stamp is an
 * empty slot (generations start at 1).
 *
 * Correctness: a generation and floors.  Every entry carries the
 * generation read BEFORE its catalog fetch (its stamp) and the subject it
 * is about; it is valid while its stamp is at or above the cluster-wide
 * floor and its child's floor (one of SC_CHILD_FLOORS counters, by hash).
 * At the commit of a transaction that changed a registry table -- after
 * the commit is visible to snapshots (XACT_EVENT_COMMIT runs after
 * ProcArrayEndTransaction) and before its invalidation messages go out --
 * the writer's backend moves the generation and raises to it the floors
 * of the children it changed, or the cluster-wide floor:
 *	 - per child, from the per-child statement triggers of the tables whose
 *	   rows each concern one child (catalog.c's cg_registry_rows_changed
 *	   reads their transition tables: cg_shared_cache_note_children);
 *	 - the whole cache, from the other registry tables' statement trigger
 *	   (also TRUNCATE: catalog.c's cg_catalog_changed calls
 *	   cg_shared_cache_note_write), from more than SC_CHILD_NOTES children,
 *	   from its own DDL on a registry table (an invalidation of it
 *	   processed while holding a transaction id -- catalog.c's callbacks,
 *	   the ones that flush the per-backend caches -- or rows of it noted,
 *	   with a lock strong enough for DDL that changes rows without
 *	   triggers: ALTER TABLE, DISABLE TRIGGER, DROP), and from a cache
 *	   reset processed while holding one (needs_whole);
 *	   a prepared transaction's, by the backend that runs COMMIT PREPARED,
 *	   once it has (cg_shared_cache_utility_done).
 * Other backends processing such an invalidation move nothing: a VACUUM or
 * ANALYZE of a registry table sends the same invalidation and would empty
 * the cache.  A hot standby, whose writer is the primary, does not use the
 * shared cache (its backends keep their own caches, as before).  Registry
 * tables are read with a fresh catalog snapshot per fetch, so:
 *	 - a fill whose snapshot predates a commit read the generation before
 *	   that commit's move (the stamp is read before the fetch, with a
 *	   barrier), so the raised floor makes it invalid for everybody;
 *	 - a fill that read the generation after a move took its snapshot after
 *	   the commit that caused it, so it holds the committed state.
 * A committed withdrawal therefore stops the next read in every backend,
 * as it does through the per-backend caches (which stay in front of this
 * one and are flushed as before).
 *
 * A transaction that wrote a registry table (or processed a registry
 * invalidation while holding a transaction id: its own change, seen at a
 * command boundary) neither reads nor fills the shared cache until it
 * ends: its catalog reads see its own uncommitted rows, which must never
 * reach other backends, and it must see its own changes, which the shared
 * entries do not.  Parallel workers never use it either (they may see
 * their leader's uncommitted rows), nor a hot standby (above).
 *
 * What is kept: per child (subjects.c), its subject (with the registry
 * facts the decision needs -- birth date, circumstances -- opened from the
 * sealed row; the backend's memory held the same), its consent words and
 * its data key WRAPPED under the master key, as it is in the table; and
 * per (child, purpose) consent words and per (child, version) wrapped keys
 * for the other paths.  The pages are left out of core dumps
 * (sc_dont_dump).  Unwrapped keys stay per backend in locked,
 * non-dumpable memory (data_keys.c, secure_mem.c): shared memory is
 * readable by any process attached to the segment and cannot be mlock'ed
 * per entry, so a plaintext key there would outlive the backend that
 * needed it.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <sys/mman.h>
#include <unistd.h>

#include "access/parallel.h"
#include "access/xact.h"
#include "access/xlog.h"
#include "common/hashfn.h"
#include "miscadmin.h"
#include "nodes/parsenodes.h"
#include "port/atomics.h"
#include "storage/ipc.h"
#include "storage/lmgr.h"
#include "storage/lock.h"
#include "storage/lwlock.h"
#include "storage/shmem.h"
#include "utils/guc.h"

#include "shared_cache.h"

#define SC_WAYS			4
#define SC_LOCKS		128
#define SC_TRANCHE		"childguard shared cache"
#define SC_ID_MAX		80		/* ids kept in the value */

typedef struct ScKey
{
	Oid			dboid;
	uint16		kind;
	uint16		idlen;			/* BY_ID: the id's length */
	uint32		aux;			/* purpose, key version */
	uint32		pad;
	uint64		num;			/* subject number, or the id's hash */
} ScKey;

/*
 * A bucket's header, one cache line: a probe reads it, then only the slot
 * whose stamp is current and whose tag (the key's hash) matches.
 */
typedef struct ScBucket
{
	uint64		stamp[SC_WAYS];	/* generation it was filled under; 0: empty */
	uint32		tag[SC_WAYS];	/* the key's hash */
	uint32		pad[4];
} ScBucket;

typedef struct ScSlot
{
	ScKey		key;
	uint64		subject;		/* the child it is about (per-child floors) */
	uint8		value[CG_SHARED_VALUE_MAX];
} ScSlot;

/*
 * A bucket's header and its slots, together: a probe touches one page
 * (sometimes two), not one for the headers and another for the slots --
 * each page a backend touches first costs it a page fault and a TLB entry
 * (the table is far larger than the TLB reaches with 4 kB pages).
 */
typedef struct ScBlock
{
	ScBucket	hdr;
	ScSlot		slot[SC_WAYS];
} ScBlock;

#define SC_BLOCK_SIZE	TYPEALIGN(PG_CACHE_LINE_SIZE, sizeof(ScBlock))

/*
 * Per-child floors: a child's entries stamped below its floor are invalid.
 * The floor of a (database, subject) is one of SC_CHILD_FLOORS counters,
 * chosen by hash (two children sharing one invalidate each other: only
 * more misses).  A transaction touching more than SC_CHILD_NOTES children
 * moves the whole cache's floor instead.
 */
#define SC_CHILD_FLOORS		16384	/* 128 kB: stays in the CPU's caches */
#define SC_CHILD_NOTES		4096
#define SC_RELIDS			8

typedef struct ScHeader
{
	pg_atomic_uint64 generation;	/* moves at every registry commit */
	pg_atomic_uint64 floor;		/* every entry stamped below is invalid */
	uint32		buckets;
	LWLockPadded *locks;
	char	   *blocks;			/* [buckets] of SC_BLOCK_SIZE */
	pg_atomic_uint64 *child_floor;	/* [SC_CHILD_FLOORS] */
} ScHeader;

/* childguard.shared_cache_size: entries of the cluster's table */
static int	shared_cache_size = 524288;

/* childguard.backend_cache_entries: each per-backend cache's bound */
int			cg_backend_cache_entries = 131072;

static ScHeader *sc = NULL;
static CgSharedCacheStats stats;

/*
 * This transaction's registry writes (see the header): xact_wrote, it
 * neither reads nor fills the shared cache until it ends; at commit it
 * moves the whole cache's floor (xact_whole) or the floors of the children
 * it noted (xact_children, from the per-child triggers on xact_child_rels).
 * Invalidations it processed while holding a transaction id (its own
 * changes, seen at a command boundary) are of xact_inval_rels: at commit,
 * one of a relation other than the noted ones (or of all relations), or a
 * lock that lets DDL or TRUNCATE change rows without row triggers on a
 * noted one, moves the whole cache's floor.  Fixed arrays: nothing is
 * allocated for it, and a commit callback reads them without failing.
 */
static bool xact_wrote = false;
static bool xact_whole = false;
static int	xact_nchildren = 0;
static uint64 xact_children[SC_CHILD_NOTES];
static int	xact_nchild_rels = 0;
static Oid	xact_child_rels[SC_RELIDS];
static int	xact_ninval_rels = 0;
static Oid	xact_inval_rels[SC_RELIDS];

static bool xact_callback_registered = false;

static void sc_xact_callback(XactEvent event, void *arg);

/*
 * This transaction wrote (or may read) what the shared cache must not
 * serve: note it, registering the commit callback the first time in this
 * process (registered first, so that a failure to register leaves
 * nothing noted that the callback would not see).
 */
static inline void
sc_note_wrote(void)
{
	if (!xact_callback_registered)
	{
		RegisterXactCallback(sc_xact_callback, NULL);
		xact_callback_registered = true;
	}
	xact_wrote = true;
}

static uint32
sc_buckets(void)
{
	return (uint32) Max(1, shared_cache_size / SC_WAYS);
}

static Size
sc_size(void)
{
	Size		size;

	if (shared_cache_size <= 0)
		return 0;
	size = CACHELINEALIGN(sizeof(ScHeader));
	size = add_size(size, mul_size(SC_BLOCK_SIZE, sc_buckets()));
	size = add_size(size, CACHELINEALIGN(sizeof(pg_atomic_uint64) * SC_CHILD_FLOORS));
	return add_size(size, 2 * PG_CACHE_LINE_SIZE);
}

/* From _PG_init: the settings. */
void
cg_shared_cache_define_gucs(void)
{
	DefineCustomIntVariable("childguard.shared_cache_size",
							"Entries of the read path's cache shared by all backends.",
							"About 320 bytes of shared memory each; a child read fills two (the child's entry under its id and its number) and probes one. 0 disables it.",
							&shared_cache_size, 524288, 0, 64 * 1024 * 1024,
							PGC_POSTMASTER, 0, NULL, NULL, NULL);
	DefineCustomIntVariable("childguard.backend_cache_entries",
							"Entries each backend's subject, consent and verdict caches keep.",
							"A cache reaching it is emptied and refilled.",
							&cg_backend_cache_entries, 131072, 1024, 64 * 1024 * 1024,
							PGC_SUSET, 0, NULL, NULL, NULL);
}

/* shmem_request_hook part */
void
cg_shared_cache_shmem_request(void)
{
	if (sc_size() == 0)
		return;
	RequestAddinShmemSpace(sc_size());
	RequestNamedLWLockTranche(SC_TRANCHE, SC_LOCKS);
}

/*
 * Keep the table out of core dumps: its slots hold registry facts opened
 * from their seal (birth dates, circumstances) and wrapped data keys.
 * madvise works on whole pages, so the range is the pages wholly inside
 * the table (the header's first page, holding the generation and shared
 * with PostgreSQL's other structures, stays); with huge pages, the huge
 * pages inside it.  The mapping is inherited by every backend at fork.
 * Failing that (a platform without MADV_DONTDUMP), a LOG line says so.
 */
static void
sc_dont_dump(char *start, Size size)
{
#ifdef MADV_DONTDUMP
	Size		pages[2] = {(Size) sysconf(_SC_PAGESIZE), 2 * 1024 * 1024};

	for (int i = 0; i < lengthof(pages); i++)
	{
		char	   *from = (char *) TYPEALIGN(pages[i], start);
		char	   *to = (char *) TYPEALIGN_DOWN(pages[i], start + size);

		if (to <= from)
			return;
		if (madvise(from, to - from, MADV_DONTDUMP) == 0)
			return;
	}
	ereport(LOG,
			(errmsg("childguard: could not exclude the shared cache from core dumps: %m")));
#else
	ereport(LOG,
			(errmsg("childguard: this platform cannot exclude the shared cache from core dumps")));
#endif
}

/* shmem_startup_hook part */
void
cg_shared_cache_shmem_startup(void)
{
	bool		found;
	ScHeader   *h;

	if (sc_size() == 0)
		return;
	LWLockAcquire(AddinShmemInitLock, LW_EXCLUSIVE);
	h = ShmemInitStruct("childguard shared cache", sc_size(), &found);
	if (!found)
	{
		char	   *p = (char *) CACHELINEALIGN((char *) h + sizeof(ScHeader));

		/* the buckets are a fresh zero-filled mapping: stamp 0, empty */
		pg_atomic_init_u64(&h->generation, 1);
		pg_atomic_init_u64(&h->floor, 1);
		h->buckets = sc_buckets();
		h->locks = GetNamedLWLockTranche(SC_TRANCHE);
		h->blocks = p;
		h->child_floor = (pg_atomic_uint64 *)
			CACHELINEALIGN(p + SC_BLOCK_SIZE * (Size) h->buckets);
		for (int i = 0; i < SC_CHILD_FLOORS; i++)
			pg_atomic_init_u64(&h->child_floor[i], 0);
	}
	LWLockRelease(AddinShmemInitLock);
	/* made here (the postmaster): keep it out of core dumps, once */
	if (!found)
		sc_dont_dump((char *) h, sc_size());
	sc = h;
}

/* Raise *v to at least value. */
static inline void
atomic_raise(pg_atomic_uint64 *v, uint64 value)
{
	uint64		old = pg_atomic_read_u64(v);

	while (old < value && !pg_atomic_compare_exchange_u64(v, &old, value))
		;
}

/*
 * A 64-bit multiply-xorshift mix of two words (the probe's hashes: a
 * handful of instructions instead of hash_bytes over the key's bytes; the
 * bucket's tag only pre-filters, every hit compares the whole key).
 */
static inline uint64
sc_mix(uint64 a, uint64 b)
{
	uint64		h = (a ^ (b * UINT64CONST(0x9E3779B97F4A7C15))) * UINT64CONST(0xBF58476D1CE4E5B9);

	h ^= h >> 31;
	h *= UINT64CONST(0x94D049BB133111EB);
	return h ^ (h >> 29);
}

static inline uint32
child_floor_index(Oid dboid, uint64 subject)
{
	return (uint32) (sc_mix(dboid, subject) % SC_CHILD_FLOORS);
}

/* Every entry stamped before now is invalid. */
static void
sc_bump(void)
{
	uint64		g;

	if (sc == NULL)
		return;
	g = pg_atomic_add_fetch_u64(&sc->generation, 1);
	atomic_raise(&sc->floor, g);
	stats.whole_bumps++;
}

/* The noted children's entries stamped before now are invalid. */
static void
sc_bump_children(void)
{
	uint64		g;

	if (sc == NULL || xact_nchildren == 0)
		return;
	g = pg_atomic_add_fetch_u64(&sc->generation, 1);
	for (int i = 0; i < xact_nchildren; i++)
		atomic_raise(&sc->child_floor[child_floor_index(MyDatabaseId, xact_children[i])], g);
	stats.child_bumps += xact_nchildren;
}

static void
xact_reset(void)
{
	xact_wrote = false;
	xact_whole = false;
	xact_nchildren = 0;
	xact_nchild_rels = 0;
	xact_ninval_rels = 0;
}

static bool
rel_noted(Oid relid)
{
	for (int i = 0; i < xact_nchild_rels; i++)
		if (xact_child_rels[i] == relid)
			return true;
	return false;
}

/*
 * Does this transaction hold a lock on relid strong enough for DDL that
 * changes its rows without row or statement triggers, or drops it
 * (ShareRowExclusiveLock and up: ALTER TABLE, DISABLE TRIGGER, DROP,
 * TRUNCATE)?  The lock table is this backend's own: no catalog access, no
 * failure.
 */
static bool
strong_lock_held(Oid relid)
{
	LOCKTAG		tag;

	SET_LOCKTAG_RELATION(tag, MyDatabaseId, relid);
	for (LOCKMODE m = ShareRowExclusiveLock; m <= AccessExclusiveLock; m++)
		if (LockHeldByMe(&tag, m))
			return true;
	return false;
}

/*
 * At commit: does what this transaction did need the whole cache's floor
 * moved, rather than its children's?  A change not noted child by child
 * (xact_whole); an invalidation of all relations (a cache reset: which
 * were its own is not known); or a strong lock on a registry table it
 * processed an invalidation of or noted rows of: its own DDL (other
 * backends' commits, whose invalidations it may also process, move their
 * own floors).
 */
static bool
needs_whole(void)
{
	if (xact_whole)
		return true;
	for (int i = 0; i < xact_ninval_rels; i++)
		if (!OidIsValid(xact_inval_rels[i]) || strong_lock_held(xact_inval_rels[i]))
			return true;
	for (int i = 0; i < xact_nchild_rels; i++)
		if (strong_lock_held(xact_child_rels[i]))
			return true;
	return false;
}

/*
 * catalog.c's invalidation of the registry tables and childguard's
 * objects, or of all relations (registered from _PG_init: catalog.c calls
 * this file, so this file does not call catalog.c).  Processed inside a
 * transaction holding an xid, it may be this transaction's own change
 * seen at a command boundary: stop using the shared cache until the end,
 * and decide at commit what to move (needs_whole).
 */
void
cg_shared_cache_invalidate(int kinds, Oid relid)
{
	if (!IsTransactionState() || !TransactionIdIsValid(GetTopTransactionIdIfAny()))
	{
		/*
		 * The writer moves the floors at its commit; a reader processing
		 * the same change need not (and must not, or every VACUUM or
		 * ANALYZE of a registry table, whose relcache invalidation looks
		 * the same, would empty the cache in every backend).
		 */
		return;
	}
	sc_note_wrote();
	if (!OidIsValid(relid) || xact_ninval_rels == SC_RELIDS)
	{
		xact_whole = true;
		return;
	}
	for (int i = 0; i < xact_ninval_rels; i++)
		if (xact_inval_rels[i] == relid)
			return;
	xact_inval_rels[xact_ninval_rels++] = relid;
}

/*
 * catalog.c's invalidation of a type, function or schema: no registry row
 * changed with it; processed while holding a transaction id, this
 * transaction's reads may see its own catalog changes: no shared cache
 * until it ends (nothing to move at commit for it).
 */
void
cg_shared_cache_invalidate_objects(int kinds, Oid relid)
{
	if (IsTransactionState() && TransactionIdIsValid(GetTopTransactionIdIfAny()))
		sc_note_wrote();
}

static void
sc_xact_callback(XactEvent event, void *arg)
{
	if (!xact_wrote)
		return;
	switch (event)
	{
		case XACT_EVENT_COMMIT:
			/* visible to snapshots by now; the messages go out after this */
			if (needs_whole())
				sc_bump();
			else
				sc_bump_children();
			xact_reset();
			break;
		case XACT_EVENT_PREPARE:
			/* visible at COMMIT PREPARED, which moves it (below) */
		case XACT_EVENT_ABORT:
			xact_reset();
			break;
		default:
			break;
	}
}

/*
 * From _PG_init.  The transaction callback that moves the floors at a
 * writer's commit is registered by the process's first registry write
 * (sc_note_wrote), not here: until then every transaction's end, a
 * point read's included, would call it only for it to find nothing noted.
 */
void
cg_shared_cache_init(void)
{
}

/*
 * After a utility statement succeeded (childguard.c's ProcessUtility
 * hook): COMMIT PREPARED has just made a prepared transaction's changes
 * visible, in a session that may have written nothing itself; move the
 * whole cache's floor, as its writer would have at commit.
 */
void
cg_shared_cache_utility_done(Node *stmt)
{
	if (stmt != NULL && IsA(stmt, TransactionStmt) &&
		((TransactionStmt *) stmt)->kind == TRANS_STMT_COMMIT_PREPARED)
		sc_bump();
}

/*
 * A prepared transaction that wrote the registry has committed, by a route
 * other than the COMMIT PREPARED statement (a logical replication worker
 * applying a two-phase transaction: replicated_rows.c): move the whole
 * cache's floor, as its writer would have at commit.
 */
void
cg_shared_cache_prepared_committed(void)
{
	sc_bump();
}

/*
 * This transaction changed a registry table in a way not noted child by
 * child (_catalog_changed(): TRUNCATE, grants, purposes, ...): the whole
 * cache at commit.
 */
void
cg_shared_cache_note_write(void)
{
	sc_note_wrote();
	xact_whole = true;
}

/*
 * This transaction may read what other backends must not see yet (a data
 * key it made): no shared cache until it ends; what it writes is noted by
 * the registry's triggers.
 */
void
cg_shared_cache_note_private(void)
{
	sc_note_wrote();
}

/*
 * The rows of relid this statement wrote concern these children (the
 * per-child triggers: cg_registry_rows_changed); their entries go at
 * commit.  Too many: the whole cache.  Returns false once the whole cache
 * goes anyway, so the caller can stop reading its rows.
 */
bool
cg_shared_cache_note_children(Oid relid, const uint64 *subjects, int n)
{
	sc_note_wrote();
	if (!rel_noted(relid))
	{
		if (xact_nchild_rels == SC_RELIDS)
		{
			xact_whole = true;
			return false;
		}
		xact_child_rels[xact_nchild_rels++] = relid;
	}
	if (xact_whole)
		return false;
	for (int i = 0; i < n; i++)
	{
		if (xact_nchildren == SC_CHILD_NOTES)
		{
			xact_whole = true;
			return false;
		}
		xact_children[xact_nchildren++] = subjects[i];
	}
	return true;
}

static inline bool
sc_usable(void)
{
	/* a hot standby's writer is the primary: no commit here moves it */
	if (sc == NULL || !OidIsValid(MyDatabaseId) || IsParallelWorker() ||
		RecoveryInProgress())
		return false;
	if (xact_wrote)
	{
		stats.bypassed++;
		return false;
	}
	return true;
}

/*
 * The generation to stamp a fill with, read before the catalog fetch that
 * fills it; 0 if the shared cache is not to be used now.
 */
uint64
cg_shared_cache_stamp(void)
{
	uint64		gen;

	if (!sc_usable())
		return 0;
	gen = pg_atomic_read_u64(&sc->generation);
	/* the stamp is read before the fetch's snapshot is taken */
	pg_memory_barrier();
	return gen;
}

static void
sc_key(ScKey *key, CgSharedKind kind, uint64 num, uint32 aux, const char *id)
{
	memset(key, 0, sizeof(*key));
	key->dboid = MyDatabaseId;
	key->kind = (uint16) kind;
	key->aux = aux;
	if (id != NULL)
	{
		size_t		len = strlen(id);

		key->idlen = (uint16) len;
		key->num = hash_bytes_extended((const unsigned char *) id, (int) len, 0);
	}
	else
		key->num = num;
}

static inline uint32
sc_hash(const ScKey *key)
{
	uint64		a = ((uint64) key->dboid << 32) | ((uint64) key->kind << 16) | key->idlen;

	return (uint32) (sc_mix(a ^ ((uint64) key->aux << 20), key->num) >> 32);
}

static inline bool
slot_matches(const ScSlot *s, const ScKey *key, const char *id)
{
	if (memcmp(&s->key, key, sizeof(ScKey)) != 0)
		return false;
	return id == NULL || memcmp(s->value, id, key->idlen) == 0;
}

/* An id too long to be kept with its value is not cached. */
static inline bool
sc_fits(const char *id, Size size)
{
	if (id == NULL)
		return size <= CG_SHARED_VALUE_MAX;
	return strlen(id) <= SC_ID_MAX && size + SC_ID_MAX <= CG_SHARED_VALUE_MAX;
}

/*
 * Copy the valid entry for (kind, num, aux) -- or for the child id id --
 * into value (size bytes, as put); false if there is none.
 */
bool
cg_shared_cache_get(CgSharedKind kind, uint64 num, uint32 aux,
					const char *id, void *value, Size size)
{
	ScKey		key;
	uint32		h;
	uint32		bucket;
	uint64		floor;
	ScBucket   *b;
	ScSlot	   *slots;
	LWLock	   *lock;
	bool		hit = false;
	Size		off = id != NULL ? SC_ID_MAX : 0;

	if (!sc_usable() || !sc_fits(id, size))
		return false;
	sc_key(&key, kind, num, aux, id);
	h = sc_hash(&key);
	bucket = h % sc->buckets;
	b = &((ScBlock *) (sc->blocks + SC_BLOCK_SIZE * (Size) bucket))->hdr;
	slots = ((ScBlock *) (sc->blocks + SC_BLOCK_SIZE * (Size) bucket))->slot;
	lock = &sc->locks[bucket % SC_LOCKS].lock;
	floor = pg_atomic_read_u64(&sc->floor);
	LWLockAcquire(lock, LW_SHARED);
	for (int w = 0; w < SC_WAYS; w++)
	{
		if (b->stamp[w] >= floor && b->tag[w] == h && slot_matches(&slots[w], &key, id))
		{
			/* the child's own floor: a writer touched it since the fill */
			if (b->stamp[w] >= pg_atomic_read_u64(&sc->child_floor[child_floor_index(key.dboid, slots[w].subject)]))
			{
				memcpy(value, slots[w].value + off, size);
				hit = true;
			}
			break;
		}
	}
	LWLockRelease(lock);
	if (hit)
		stats.hits++;
	else
		stats.misses++;
	return hit;
}

/*
 * Keep value (size bytes) for (kind, num, aux) or the child id id, read
 * from the catalog after cg_shared_cache_stamp() returned stamp.  num is
 * the subject the entry is about (with an id too: the id's child).
 */
void
cg_shared_cache_put(uint64 stamp, CgSharedKind kind, uint64 num, uint32 aux,
					const char *id, const void *value, Size size)
{
	ScKey		key;
	uint32		h;
	uint32		bucket;
	ScBucket   *b;
	ScSlot	   *slots;
	int			victim = -1;
	LWLock	   *lock;
	uint64		floor;
	uint64		subject = num;	/* with an id: the caller's subject */
	Size		off = id != NULL ? SC_ID_MAX : 0;

	if (stamp == 0 || !sc_usable() || !sc_fits(id, size))
		return;
	sc_key(&key, kind, num, aux, id);
	h = sc_hash(&key);
	bucket = h % sc->buckets;
	b = &((ScBlock *) (sc->blocks + SC_BLOCK_SIZE * (Size) bucket))->hdr;
	slots = ((ScBlock *) (sc->blocks + SC_BLOCK_SIZE * (Size) bucket))->slot;
	lock = &sc->locks[bucket % SC_LOCKS].lock;
	LWLockAcquire(lock, LW_EXCLUSIVE);
	/* a floor moved past it since the fetch: what it read may be stale */
	floor = pg_atomic_read_u64(&sc->floor);
	if (stamp >= floor &&
		stamp >= pg_atomic_read_u64(&sc->child_floor[child_floor_index(key.dboid, subject)]))
	{
		for (int w = 0; w < SC_WAYS; w++)
		{
			if (b->stamp[w] != 0 && b->tag[w] == h && slot_matches(&slots[w], &key, id))
			{
				victim = w;
				break;
			}
			if (victim < 0 && b->stamp[w] < floor)
				victim = w;
		}
		if (victim < 0)
			victim = (h >> 16) % SC_WAYS;
		slots[victim].key = key;
		slots[victim].subject = subject;
		memset(slots[victim].value, 0, CG_SHARED_VALUE_MAX);
		if (id != NULL)
			memcpy(slots[victim].value, id, key.idlen);
		memcpy(slots[victim].value + off, value, size);
		b->tag[victim] = h;
		b->stamp[victim] = stamp;
		stats.fills++;
	}
	LWLockRelease(lock);
}

/* This backend's counters and the table's capacity. */
void
cg_shared_cache_stats(CgSharedCacheStats *out)
{
	*out = stats;
	out->capacity = sc != NULL ? (int64) sc->buckets * SC_WAYS : 0;
	out->generation = sc != NULL ? pg_atomic_read_u64(&sc->generation) : 0;
	out->floor = sc != NULL ? pg_atomic_read_u64(&sc->floor) : 0;
}
