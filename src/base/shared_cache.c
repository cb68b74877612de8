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
 * (key, value bytes), each bucket's generation stamps and key hashes in
 * one cache line of their own (a probe reads it, then one slot), the
 * bucket chosen by a hash of the key, locked by one of SC_LOCKS LWLocks (bucket modulo SC_LOCKS; shared
 * to read, exclusive to fill).  A full bucket overwrites a stale slot
 * first, else one chosen by the key's hash.  Nothing is allocated, raised
 * or read from the catalog under a lock: a probe hashes and copies bytes.
 * The shared memory is a fresh mapping, zero-filled: a zero stamp is an
 * empty slot (generations start at 1).
 *
 * Correctness: a generation.  Every entry carries the generation read
 * BEFORE its catalog fetch; an entry is valid only while that is still
 * the cluster's generation.  The generation moves in the writer's backend
 * at the commit of any transaction that changed a registry table, after
 * the commit is visible to snapshots (XACT_EVENT_COMMIT runs after
 * ProcArrayEndTransaction) and before its invalidation messages go out.
 * A writer is known (a) by the registry tables' statement trigger, which
 * also fires for TRUNCATE (catalog.c's cg_catalog_changed calls
 * cg_shared_cache_note_write), and (b) by processing a relcache or
 * syscache invalidation of a registry table or of childguard's objects
 * while holding a transaction id (its own DDL, DROP EXTENSION, seen at a
 * command boundary; catalog.c's callbacks, the ones that flush the
 * per-backend caches); a prepared transaction's, by the backend that runs
 * COMMIT PREPARED, once it has (cg_shared_cache_utility_done).  Other
 * backends processing such an invalidation do not move it: a VACUUM or
 * ANALYZE of a registry table sends the same invalidation and would empty
 * the cache.  A hot standby, whose writer is the primary, does not use the
 * shared cache (its backends keep their own caches, as before).  Registry tables are read with a fresh catalog
 * snapshot per fetch (they have no syscache), so:
 *	 - a fill whose snapshot predates a commit read the generation before
 *	   that commit's bump (the stamp is read before the fetch, with a
 *	   barrier), so the bump makes it invalid for everybody;
 *	 - a fill that read the generation after a bump took its snapshot after
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
 * What is kept: subjects (with the registry facts the decision needs --
 * birth date, circumstances -- opened from the sealed row; the backend's
 * memory held the same), consent words, and data keys WRAPPED under the
 * master key, as they are in the table.  Unwrapped keys stay per backend
 * in locked, non-dumpable memory (data_keys.c, secure_mem.c): shared
 * memory is dumped with a core file, readable by any process attached to
 * the segment, and cannot be mlock'ed per entry, so a plaintext key there
 * would outlive the backend that needed it.
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
	uint8		value[CG_SHARED_VALUE_MAX];
} ScSlot;

typedef struct ScHeader
{
	pg_atomic_uint64 generation;
	uint32		buckets;
	LWLockPadded *locks;
	ScBucket   *bucket;			/* [buckets] */
	ScSlot	   *slots;			/* [buckets * SC_WAYS] */
} ScHeader;

/* childguard.shared_cache_size: entries of the cluster's table */
static int	shared_cache_size = 524288;

/* childguard.backend_cache_entries: each per-backend cache's bound */
int			cg_backend_cache_entries = 131072;

static ScHeader *sc = NULL;
static bool xact_wrote = false;
static CgSharedCacheStats stats;

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
	size = add_size(size, CACHELINEALIGN(mul_size(sizeof(ScBucket), sc_buckets())));
	size = add_size(size, mul_size(sizeof(ScSlot), mul_size(sc_buckets(), SC_WAYS)));
	return add_size(size, PG_CACHE_LINE_SIZE);
}

/* From _PG_init: the settings. */
void
cg_shared_cache_define_gucs(void)
{
	DefineCustomIntVariable("childguard.shared_cache_size",
							"Entries of the read path's cache shared by all backends.",
							"About 160 bytes of shared memory each; a child read takes about four (subject by id and by number, consent for the purpose, wrapped data key). 0 disables it.",
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
		h->buckets = sc_buckets();
		h->locks = GetNamedLWLockTranche(SC_TRANCHE);
		h->bucket = (ScBucket *) p;
		h->slots = (ScSlot *) CACHELINEALIGN(p + sizeof(ScBucket) * (Size) h->buckets);
		sc_dont_dump((char *) h, sc_size());
	}
	LWLockRelease(AddinShmemInitLock);
	sc = h;
}

static void
sc_bump(void)
{
	if (sc != NULL)
		pg_atomic_fetch_add_u64(&sc->generation, 1);
}

/*
 * catalog.c's invalidation of the registry tables and childguard's
 * objects, or of all relations (registered from _PG_init: catalog.c calls
 * this file, so this file does not call catalog.c).  Processed inside a
 * transaction holding an xid, it may be this transaction's own change
 * seen at a command boundary: stop using the shared cache until the end,
 * and move the generation at commit.
 */
void
cg_shared_cache_invalidate(int kinds, Oid relid)
{
	if (IsTransactionState() && TransactionIdIsValid(GetTopTransactionIdIfAny()))
		xact_wrote = true;
	/*
	 * The writer moves the generation at its commit; a reader processing
	 * the same change need not (and must not, or every VACUUM or ANALYZE
	 * of a registry table, whose relcache invalidation looks the same,
	 * would empty the cache in every backend).
	 */
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
			sc_bump();
			xact_wrote = false;
			break;
		case XACT_EVENT_PREPARE:
			/* visible at COMMIT PREPARED, which moves it (below) */
		case XACT_EVENT_ABORT:
			xact_wrote = false;
			break;
		default:
			break;
	}
}

/* From _PG_init: bump at a writer's commit. */
void
cg_shared_cache_init(void)
{
	RegisterXactCallback(sc_xact_callback, NULL);
}

/*
 * After a utility statement succeeded (childguard.c's ProcessUtility
 * hook): COMMIT PREPARED has just made a prepared transaction's changes
 * visible, in a session that may have written nothing itself; move the
 * generation as its writer would have at commit.
 */
void
cg_shared_cache_utility_done(Node *stmt)
{
	if (stmt != NULL && IsA(stmt, TransactionStmt) &&
		((TransactionStmt *) stmt)->kind == TRANS_STMT_COMMIT_PREPARED)
		sc_bump();
}

/* This transaction changed a registry table (its statement trigger). */
void
cg_shared_cache_note_write(void)
{
	xact_wrote = true;
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
	return hash_bytes((const unsigned char *) key, sizeof(ScKey));
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
	uint64		gen;
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
	b = &sc->bucket[bucket];
	slots = &sc->slots[(Size) bucket * SC_WAYS];
	lock = &sc->locks[bucket % SC_LOCKS].lock;
	gen = pg_atomic_read_u64(&sc->generation);
	LWLockAcquire(lock, LW_SHARED);
	for (int w = 0; w < SC_WAYS; w++)
	{
		if (b->stamp[w] == gen && b->tag[w] == h && slot_matches(&slots[w], &key, id))
		{
			memcpy(value, slots[w].value + off, size);
			hit = true;
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
 * from the catalog after cg_shared_cache_stamp() returned stamp.
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
	Size		off = id != NULL ? SC_ID_MAX : 0;

	if (stamp == 0 || !sc_usable() || !sc_fits(id, size))
		return;
	sc_key(&key, kind, num, aux, id);
	h = sc_hash(&key);
	bucket = h % sc->buckets;
	b = &sc->bucket[bucket];
	slots = &sc->slots[(Size) bucket * SC_WAYS];
	lock = &sc->locks[bucket % SC_LOCKS].lock;
	LWLockAcquire(lock, LW_EXCLUSIVE);
	/* the generation moved since the fetch: what it read may be stale */
	if (pg_atomic_read_u64(&sc->generation) == stamp)
	{
		for (int w = 0; w < SC_WAYS; w++)
		{
			if (b->stamp[w] != 0 && b->tag[w] == h && slot_matches(&slots[w], &key, id))
			{
				victim = w;
				break;
			}
			if (victim < 0 && b->stamp[w] != stamp)
				victim = w;
		}
		if (victim < 0)
			victim = (h >> 16) % SC_WAYS;
		slots[victim].key = key;
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
}
