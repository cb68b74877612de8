/*-------------------------------------------------------------------------
 *
 * aesni_gcm.h
 *	  AES-256-GCM without OpenSSL 3's per-call parameter handling: the AES
 *	  block cipher on the CPU's AES instructions, GHASH on its carry-less
 *	  multiply (PCLMULQDQ), the GCM mode in aesni_gcm.c.
 *
 *-------------------------------------------------------------------------
 */
#ifndef CHILDGUARD_AESNI_GCM_H
#define CHILDGUARD_AESNI_GCM_H

#include "postgres.h"

/* GCM's 96-bit nonce and 128-bit tag, as crypto.h's CG_NONCE_LEN, CG_TAG_LEN */
#define CG_FAST_GCM_NONCE_LEN	12
#define CG_FAST_GCM_TAG_LEN		16

/* One direction's keyed state; the AES key schedule lives in secure memory. */
typedef struct CgFastGcm CgFastGcm;

extern bool cg_fast_gcm_available(void);
extern CgFastGcm *cg_fast_gcm_new(void);
extern void cg_fast_gcm_free(CgFastGcm *g);
extern void cg_fast_gcm_set_key(CgFastGcm *g, const uint8 *key);
extern void cg_fast_gcm_forget(CgFastGcm *g);
extern bool cg_fast_gcm_seal(CgFastGcm *g, const uint8 *nonce,
							 const uint8 *aad, size_t aadlen,
							 const uint8 *plain, size_t len,
							 uint8 *cipher_out, uint8 *tag_out);
extern bool cg_fast_gcm_open(CgFastGcm *g, const uint8 *nonce,
							 const uint8 *aad, size_t aadlen,
							 const uint8 *cipher, size_t len,
							 const uint8 *tag, uint8 *plain_out, bool *authentic);

#endif							/* CHILDGUARD_AESNI_GCM_H */
