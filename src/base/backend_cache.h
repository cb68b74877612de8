/*-------------------------------------------------------------------------
 *
 * backend_cache.h
 *	  The one way childguard makes a backend-local hash table: in a memory
 *	  context of its own under TopMemoryContext, so that resetting the
 *	  context (on invalidation) drops the table and everything in it.
 *
 *-------------------------------------------------------------------------
 */
#ifndef CHILDGUARD_BACKEND_CACHE_H
#define CHILDGUARD_BACKEND_CACHE_H

#include "postgres.h"

#include "utils/hsearch.h"

/*
 * A 64-bit key's hash for the open-addressing tables (lib/simplehash.h)
 * that the caches a backend fills once per child use instead of dynahash:
 * the finaliser of splitmix64, so consecutive subject numbers spread.
 */
static inline uint32
cg_backend_hash_uint64(uint64 k)
{
	k ^= k >> 30;
	k *= UINT64CONST(0xbf58476d1ce4e5b9);
	k ^= k >> 27;
	k *= UINT64CONST(0x94d049bb133111eb);
	k ^= k >> 31;
	return (uint32) k;
}

extern HTAB *cg_backend_hash(MemoryContext *cxt, const char *name, long nelem,
							 Size keysize, Size entrysize, bool string_keys);

#endif							/* CHILDGUARD_BACKEND_CACHE_H */
