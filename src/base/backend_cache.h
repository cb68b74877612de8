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

extern HTAB *cg_backend_hash(MemoryContext *cxt, const char *name, long nelem,
							 Size keysize, Size entrysize, bool string_keys);

#endif							/* CHILDGUARD_BACKEND_CACHE_H */
