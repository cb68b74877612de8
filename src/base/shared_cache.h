/*-------------------------------------------------------------------------
 *
 * shared_cache.h
 *	  The read path's cache shared by every backend of the cluster: facts
 *	  read from childguard's registry tables (a subject, a child's consent
 *	  words for a purpose, a WRAPPED data key), under a generation that any
 *	  committed registry change moves (see shared_cache.c).  Never holds a
 *	  plaintext key or personal data in the clear: the registry's sealed
 *	  facts are kept opened only as far as the decision needs them (dates
 *	  and flags), and data keys stay wrapped.
 *
 *-------------------------------------------------------------------------
 */
#ifndef CHILDGUARD_SHARED_CACHE_H
#define CHILDGUARD_SHARED_CACHE_H

#include "postgres.h"

#include "nodes/nodes.h"

/* what an entry holds; part of its key */
typedef enum CgSharedKind
{
	CG_SHARED_CHILD = 1,		/* child id -> subject, consent words, wrapped
								 * key (id kept, compared: subjects.c) */
	CG_SHARED_CHILD_BY_NO,		/* subject number -> the same, or not
								 * registered */
	CG_SHARED_CONSENT,			/* (subject, purpose) -> consent words */
	CG_SHARED_DATA_KEY			/* (subject, version) -> wrapped key */
} CgSharedKind;

/* the largest value an entry holds (with the id, for BY_ID) */
#define CG_SHARED_VALUE_MAX		256

typedef struct CgSharedCacheStats
{
	int64		capacity;		/* entries of the cluster's table; 0: none */
	int64		hits;			/* this backend's */
	int64		misses;
	int64		fills;
	int64		bypassed;		/* asked while this transaction wrote a registry */
	int64		whole_bumps;	/* this backend's commits that emptied it all */
	int64		child_bumps;	/* children whose entries its commits dropped */
	uint64		generation;		/* the cluster's, now */
	uint64		floor;			/* entries stamped below it are invalid */
} CgSharedCacheStats;

extern void cg_shared_cache_define_gucs(void);
extern void cg_shared_cache_init(void);
extern void cg_shared_cache_invalidate(int kinds, Oid relid);
extern void cg_shared_cache_invalidate_objects(int kinds, Oid relid);
extern void cg_shared_cache_shmem_request(void);
extern void cg_shared_cache_shmem_startup(void);

extern uint64 cg_shared_cache_stamp(void);
extern bool cg_shared_cache_get(CgSharedKind kind, uint64 num, uint32 aux,
								const char *id, void *value, Size size);
extern void cg_shared_cache_put(uint64 stamp, CgSharedKind kind, uint64 num,
								uint32 aux, const char *id,
								const void *value, Size size);
extern void cg_shared_cache_note_write(void);
extern void cg_shared_cache_note_private(void);
extern bool cg_shared_cache_note_children(Oid relid, const uint64 *subjects, int n);
extern void cg_shared_cache_utility_done(Node *stmt);
extern void cg_shared_cache_prepared_committed(void);
extern void cg_shared_cache_stats(CgSharedCacheStats *out);

/* per-backend caches' entry bound (childguard.backend_cache_entries) */
extern int	cg_backend_cache_entries;

#endif							/* CHILDGUARD_SHARED_CACHE_H */
