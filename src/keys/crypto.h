/*-------------------------------------------------------------------------
 *
 * crypto.h
 *	  AES-256-GCM, HMAC-SHA-256 and random bytes, on OpenSSL's libcrypto.
 *
 *-------------------------------------------------------------------------
 */
#ifndef CHILDGUARD_CRYPTO_H
#define CHILDGUARD_CRYPTO_H

#include "postgres.h"

#define CG_KEY_LEN		32
#define CG_NONCE_LEN	12
#define CG_TAG_LEN		16
#define CG_KEY_ID_LEN	8

extern void cg_crypto_define_gucs(void);
extern void cg_crypto_preload(void);
extern void cg_crypto_forget_keys(void);
extern void cg_random_bytes(void *buf, size_t len);
extern void cg_random_nonce(uint8 *out);
extern void cg_aead_seal(const uint8 *key, const uint8 *nonce,
						 const uint8 *aad, size_t aadlen,
						 const uint8 *plain, size_t len,
						 uint8 *cipher_out, uint8 *tag_out);
extern bool cg_aead_open(const uint8 *key, const uint8 *nonce,
						 const uint8 *aad, size_t aadlen,
						 const uint8 *cipher, size_t len,
						 const uint8 *tag, uint8 *plain_out);
extern bool cg_aead_open_wrapped(const uint8 *key, const uint8 *nonce,
								 const uint8 *aad, size_t aadlen,
								 const uint8 *cipher, size_t len,
								 const uint8 *tag, uint8 *plain_out);
extern void cg_hmac_sha256(const uint8 *key, size_t keylen,
						   const uint8 *data, size_t len, uint8 *out32);

#endif							/* CHILDGUARD_CRYPTO_H */
