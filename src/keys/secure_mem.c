/*-------------------------------------------------------------------------
 *
 * secure_mem.c
 *	  Where key material lives.
 *
 * Design: one anonymous mapping, made by the postmaster while it loads the
 * library, so every backend inherits it across fork().  Allocation is a
 * bump pointer and nothing is ever freed: the arena holds a fixed, small
 * set of objects (master keys, the session key for pending values, the
 * data-key cache).  The mapping is marked MADV_DONTDUMP (inherited by
 * children) and locked with mlock(); memory locks are not inherited across
 * fork(), so each process locks it again before its first use of a secret.
 * On exit the arena is wiped with explicit_bzero, as far as it was used.
 * Palloc cannot give any of these guarantees, which is why this file uses
 * mmap.
 *
 * Larger secrets whose size is a setting (the data-key cache, data_keys.c)
 * get a mapping of their own from cg_secure_map, with the same guarantees:
 * not dumped, locked, wiped when the process exits and when it is given
 * back with cg_secure_unmap.
 *
 * Such a mapping is locked and wiped by chunks of CG_SECURE_CHUNK bytes
 * (four pages), as the caller writes into them (1.9): before a secret is
 * written, the caller passes its address to cg_secure_prepare, which locks
 * the chunks it falls in (once) and marks them as holding secrets; the
 * wipes (at exit, cg_secure_wipe, cg_secure_unmap) clear the marked chunks
 * only.  A chunk never prepared was never written: anonymous memory, still
 * the kernel's zero pages.  So a backend that reads ten children locks and
 * wipes a few chunks, not the whole cache the setting allows (about 9.6 MB
 * at 200,000 keys: locked and faulted in at the first read, and written
 * over at every exit, before), and a cache larger than RLIMIT_MEMLOCK
 * still has its chunks holding keys locked, up to the limit, instead of
 * none (one mlock of the whole mapping failed as a whole).  The lock
 * precedes the write: no secret is written to a page that could be swapped
 * out, where the limit allows the lock at all (a failed lock is reported
 * once, at DEBUG1, as for the arena).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <sys/mman.h>

#include "miscadmin.h"
#include "storage/ipc.h"
#include "utils/memutils.h"

#include "secure_mem.h"

#define CG_SECURE_ARENA_SIZE	(128 * 1024)
#define CG_SECURE_CHUNK			(16 * 1024)	/* cg_secure_map's unit of locking */

static char *arena = NULL;
static Size arena_used = 0;
static int	arena_locked_pid = 0;
static int	arena_wipe_registered_pid = 0;

/* mappings of cg_secure_map still held, wiped at exit */
#define CG_SECURE_MAPS_MAX	4
static struct
{
	char	   *p;
	Size		size;
	bool	   *prepared;		/* per chunk: locked, may hold secrets */
}			maps[CG_SECURE_MAPS_MAX];

static bool chunk_lock_failure_logged = false;

/* Wipe the chunks of map i that may hold secrets. */
static void
wipe_map(int i)
{
	Size		nchunks = (maps[i].size + CG_SECURE_CHUNK - 1) / CG_SECURE_CHUNK;

	for (Size c = 0; c < nchunks; c++)
		if (maps[i].prepared[c])
			explicit_bzero(maps[i].p + c * CG_SECURE_CHUNK,
						   Min(CG_SECURE_CHUNK, maps[i].size - c * CG_SECURE_CHUNK));
}

/* Wipe every secret this process holds; runs at process exit. */
static void
cg_secure_mem_wipe(int code, Datum arg)
{
	/* the bump allocator never wrote past arena_used (1.9: not all 128 kB) */
	if (arena != NULL)
		explicit_bzero(arena, arena_used);
	for (int i = 0; i < CG_SECURE_MAPS_MAX; i++)
		if (maps[i].p != NULL)
			wipe_map(i);
}

/* Create the arena once, in the process that loads the library first. */
void
cg_secure_mem_init(void)
{
	void	   *p;

	if (arena != NULL)
		return;

	p = mmap(NULL, CG_SECURE_ARENA_SIZE, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		ereport(FATAL,
				(errcode(ERRCODE_OUT_OF_MEMORY),
				 errmsg("could not map memory for childguard key material: %m")));
#ifdef MADV_DONTDUMP
	(void) madvise(p, CG_SECURE_ARENA_SIZE, MADV_DONTDUMP);
#endif
	arena = p;
	cg_secure_mem_ensure_locked();
}

/*
 * Lock the arena in RAM and arrange for it to be wiped, once per process.
 * A failed mlock (RLIMIT_MEMLOCK) is reported at DEBUG1 only: the keys are
 * still kept out of core dumps, and refusing to run would help nobody.
 */
void
cg_secure_mem_ensure_locked(void)
{
	if (arena == NULL)
		cg_secure_mem_init();
	if (arena_locked_pid == MyProcPid)
		return;
	arena_locked_pid = MyProcPid;
	if (mlock(arena, CG_SECURE_ARENA_SIZE) != 0)
		elog(DEBUG1, "childguard: could not lock key memory: %m");
	if (arena_wipe_registered_pid != MyProcPid)
	{
		arena_wipe_registered_pid = MyProcPid;
		on_proc_exit(cg_secure_mem_wipe, (Datum) 0);
	}
}

/* Carve a zeroed, 16-byte aligned block out of the arena. */
void *
cg_secure_alloc(Size size)
{
	void	   *p;

	if (arena == NULL)
		cg_secure_mem_init();
	size = TYPEALIGN(16, size);
	if (arena_used + size > CG_SECURE_ARENA_SIZE)
		elog(ERROR, "childguard secure memory arena exhausted");
	p = arena + arena_used;
	arena_used += size;
	memset(p, 0, size);
	return p;
}

/*
 * A zeroed mapping of size bytes of its own (rounded up to pages), not
 * dumped, wiped at exit; its chunks are locked as the caller prepares them
 * for secrets (cg_secure_prepare, see the header).  NULL if the system has
 * no memory for it or too many are held; the caller then does without.
 */
void *
cg_secure_map(Size size)
{
	void	   *p;
	bool	   *prepared;
	int			i;

	cg_secure_mem_ensure_locked();	/* the exit wipe is registered */
	for (i = 0; i < CG_SECURE_MAPS_MAX && maps[i].p != NULL; i++)
		;
	if (i == CG_SECURE_MAPS_MAX)
		return NULL;
	prepared = MemoryContextAllocExtended(TopMemoryContext,
										  (size + CG_SECURE_CHUNK - 1) / CG_SECURE_CHUNK,
										  MCXT_ALLOC_NO_OOM | MCXT_ALLOC_ZERO);
	if (prepared == NULL)
		return NULL;
	p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
	{
		pfree(prepared);
		return NULL;
	}
#ifdef MADV_DONTDUMP
	(void) madvise(p, size, MADV_DONTDUMP);
#endif
	maps[i].p = p;
	maps[i].size = size;
	maps[i].prepared = prepared;
	return p;
}

/*
 * A secret is about to be written at [addr, addr+len) in a mapping of
 * cg_secure_map: lock the chunks it falls in that are not locked yet, and
 * mark them for the wipes.  Costs a few comparisons once a chunk is.
 */
void
cg_secure_prepare(const void *addr, Size len)
{
	const char *a = (const char *) addr;

	for (int i = 0; i < CG_SECURE_MAPS_MAX; i++)
	{
		Size		first,
					last;

		if (maps[i].p == NULL || a < maps[i].p || a + len > maps[i].p + maps[i].size)
			continue;
		first = (Size) (a - maps[i].p) / CG_SECURE_CHUNK;
		last = (Size) (a + len - 1 - maps[i].p) / CG_SECURE_CHUNK;
		for (Size c = first; c <= last; c++)
		{
			if (maps[i].prepared[c])
				continue;
			/* marked first: even an unlocked chunk is wiped */
			maps[i].prepared[c] = true;
			if (mlock(maps[i].p + c * CG_SECURE_CHUNK,
					  Min(CG_SECURE_CHUNK, maps[i].size - c * CG_SECURE_CHUNK)) != 0 &&
				!chunk_lock_failure_logged)
			{
				chunk_lock_failure_logged = true;
				elog(DEBUG1, "childguard: could not lock key memory: %m");
			}
		}
		return;
	}
	elog(ERROR, "childguard: unknown secure mapping");
}

/* Wipe what a mapping of cg_secure_map holds, keeping it. */
void
cg_secure_wipe(void *p)
{
	for (int i = 0; i < CG_SECURE_MAPS_MAX; i++)
	{
		if (maps[i].p == p)
		{
			wipe_map(i);
			return;
		}
	}
	elog(ERROR, "childguard: unknown secure mapping");
}

/* Wipe and give back a mapping of cg_secure_map. */
void
cg_secure_unmap(void *p, Size size)
{
	for (int i = 0; i < CG_SECURE_MAPS_MAX; i++)
	{
		if (maps[i].p == p)
		{
			wipe_map(i);
			(void) munmap(p, size);
			pfree(maps[i].prepared);
			maps[i].p = NULL;
			maps[i].size = 0;
			maps[i].prepared = NULL;
			return;
		}
	}
	elog(ERROR, "childguard: unknown secure mapping");
}
