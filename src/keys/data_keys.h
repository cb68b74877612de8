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

extern const uint8 *cg_data_key(uint64 subject_no, uint32 key_version,
								CgKeyStatus *status);
extern void cg_data_keys_flush(void);
extern void cg_data_keys_init(void);

#endif							/* CHILDGUARD_DATA_KEYS_H */
