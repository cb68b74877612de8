/*-------------------------------------------------------------------------
 *
 * data_keys.h
 *	  Per-subject data keys: made at random, stored wrapped by the master
 *	  key in childguard.data_key, unwrapped into a backend-local cache in
 *	  secure memory.
 *
 *-------------------------------------------------------------------------
 */
#ifndef CHILDGUARD_DATA_KEYS_H
#define CHILDGUARD_DATA_KEYS_H

#include "postgres.h"

typedef enum CgKeyStatus
{
	CG_KEY_FOUND,
	CG_KEY_DESTROYED,			/* crypto-shredded: the data is gone */
	CG_KEY_MISSING				/* no such key in this database */
} CgKeyStatus;

/* one backend's data-key cache counters (childguard.backend_cache_stats) */
typedef struct CgDataKeyCacheStats
{
	int64		capacity;		/* slots (0: no cache) */
	int64		entries;		/* keys held now */
	int64		hits;
	int64		misses;
	int64		evictions;		/* keys dropped to make room */
	int64		flushes;		/* invalidations that dropped every key */
} CgDataKeyCacheStats;

/*
 * A data_key row as stored: the key WRAPPED under the master key (never
 * the unwrapped key), or that it was destroyed.  What the cache shared by
 * the backends keeps of it (shared_cache.c).
 */
#define CG_WRAPPED_KEY_LEN	60	/* nonce, key, tag */

typedef struct CgWrappedKey
{
	bool		destroyed;
	uint8		master_id[8];	/* CG_KEY_ID_LEN */
	uint8		wrapped[CG_WRAPPED_KEY_LEN];
} CgWrappedKey;

extern const uint8 *cg_data_key(uint64 subject_no, uint32 key_version,
								CgKeyStatus *status);
extern bool cg_data_key_fetch_wrapped(uint64 subject_no, uint32 key_version,
									  CgWrappedKey *out);
extern void cg_data_key_offer(uint64 subject_no, uint32 key_version,
							  const CgWrappedKey *key);
extern void cg_data_keys_flush(void);
extern void cg_data_keys_define_gucs(void);
extern void cg_data_keys_init(void);
extern void cg_data_keys_stats(CgDataKeyCacheStats *out);

#endif							/* CHILDGUARD_DATA_KEYS_H */
