/*-------------------------------------------------------------------------
 *
 * backend_cache.c
 *	  Backend-local hash tables for childguard's caches (see the header).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "utils/memutils.h"

#include "backend_cache.h"

/*
 * A new hash table named name in *cxt, creating *cxt under
 * TopMemoryContext the first time (with the standard macro and sizes; the
 * cache's name becomes the context's identifier in memory reports).  name
 * must be a string constant: the memory context keeps the pointer.  Keys
 * are NUL-terminated strings of at most keysize bytes if string_keys,
 * else keysize bytes compared as such.
 */
HTAB *
cg_backend_hash(MemoryContext *cxt, const char *name, long nelem,
				Size keysize, Size entrysize, bool string_keys)
{
	HASHCTL		ctl;

	if (*cxt == NULL)
	{
		*cxt = AllocSetContextCreate(TopMemoryContext, "childguard cache",
									 ALLOCSET_SMALL_SIZES);
		MemoryContextSetIdentifier(*cxt, name);
	}
	ctl.keysize = keysize;
	ctl.entrysize = entrysize;
	ctl.hcxt = *cxt;
	return hash_create(name, nelem, &ctl,
					   HASH_ELEM | HASH_CONTEXT | (string_keys ? HASH_STRINGS : HASH_BLOBS));
}
