/*-------------------------------------------------------------------------
 *
 * master_key.h
 *	  The master key: where it comes from, how it is held, which one wrapped
 *	  a data key.
 *
 *-------------------------------------------------------------------------
 */
#ifndef CHILDGUARD_MASTER_KEY_H
#define CHILDGUARD_MASTER_KEY_H

#include "crypto.h"

typedef struct CgMasterKey
{
	bool		loaded;
	uint8		key[CG_KEY_LEN];
	uint8		id[CG_KEY_ID_LEN];	/* HMAC-derived fingerprint, not secret */
} CgMasterKey;

extern void cg_master_key_define_gucs(void);
extern void cg_master_key_load_at_startup(void);
extern const CgMasterKey *cg_master_key_current(void);
extern const CgMasterKey *cg_master_key_previous(void);
extern const CgMasterKey *cg_master_key_by_id(const uint8 *id);
extern char *cg_key_id_hex(const uint8 *id);
extern uint32 cg_master_key_generation(void);
extern void cg_master_key_shmem_request(void);
extern void cg_master_key_shmem_startup(void);
extern void cg_master_key_note_rotation(void);
extern const CgMasterKey *cg_master_key_for_wrapping(void);

#endif							/* CHILDGUARD_MASTER_KEY_H */
