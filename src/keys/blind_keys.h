/*-------------------------------------------------------------------------
 *
 * blind_keys.h
 *	  Per-column blind-index keys: made, wrapped by the master key,
 *	  rewrapped on rotation, and derived into the HMAC key (blind_keys.c).
 *
 *-------------------------------------------------------------------------
 */
#ifndef CHILDGUARD_BLIND_KEYS_H
#define CHILDGUARD_BLIND_KEYS_H

#include "postgres.h"

#include "crypto.h"

#define CG_BLIND_ID_LEN		16	/* the index's random identity */
#define CG_BLIND_HASH_LEN	16	/* stored HMAC-SHA-256 prefix */

extern void cg_blind_key_derive(const bytea *index_id, const bytea *stored,
								uint8 *key_out);

#endif							/* CHILDGUARD_BLIND_KEYS_H */
