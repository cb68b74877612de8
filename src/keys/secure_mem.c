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
 * On exit the whole arena is wiped with explicit_bzero.  Palloc cannot give
 * any of these guarantees, which is why this file uses mmap.
 *
 * Larger secrets whose size is a setting (the data-key cache, data_keys.c)
 * get a mapping of their own from cg_secure_map, with the same guarantees:
 * not dumped, locked, wiped when the process exits and when it is given
 * back with cg_secure_unmap.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <sys/mman.h>

#include "miscadmin.h"
#include "storage/ipc.h"

#include "secure_mem.h"

#define CG_SECURE_ARENA_SIZE	(128 * 1024)

static char *arena = NULL;
static Size arena_used = 0;
static int	arena_locked_pid = 0;
static int	arena_wipe_registered_pid = 0;

/* mappings of cg_secure_map still held, wiped at exit */
#define CG_SECURE_MAPS_MAX	4
static struct
{
	void	   *p;
	Size		size;
}			maps[CG_SECURE_MAPS_MAX];

/* Wipe every secret this process holds; runs at process exit. */
static void
cg_secure_mem_wipe(int code, Datum arg)
{
	if (arena != NULL)
		explicit_bzero(arena, CG_SECURE_ARENA_SIZE);
	for (int i = 0; i < CG_SECURE_MAPS_MAX; i++)
		if (maps[i].p != NULL)
			explicit_bzero(maps[i].p, maps[i].size);
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
 * dumped, locked where the OS allows, wiped at exit.  NULL if the system
 * has no memory for it or too many are held; the caller then does without.
 */
void *
cg_secure_map(Size size)
{
	void	   *p;
	int			i;

	cg_secure_mem_ensure_locked();	/* the exit wipe is registered */
	for (i = 0; i < CG_SECURE_MAPS_MAX && maps[i].p != NULL; i++)
		;
	if (i == CG_SECURE_MAPS_MAX)
		return NULL;
	p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return NULL;
#ifdef MADV_DONTDUMP
	(void) madvise(p, size, MADV_DONTDUMP);
#endif
	if (mlock(p, size) != 0)
		elog(DEBUG1, "childguard: could not lock key memory: %m");
	maps[i].p = p;
	maps[i].size = size;
	return p;
}

/* Wipe and give back a mapping of cg_secure_map. */
void
cg_secure_unmap(void *p, Size size)
{
	for (int i = 0; i < CG_SECURE_MAPS_MAX; i++)
	{
		if (maps[i].p == p)
		{
			explicit_bzero(p, size);
			(void) munmap(p, size);
			maps[i].p = NULL;
			maps[i].size = 0;
			return;
		}
	}
	elog(ERROR, "childguard: unknown secure mapping");
}
