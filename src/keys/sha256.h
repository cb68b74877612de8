/*-------------------------------------------------------------------------
 *
 * sha256.h
 *	  SHA-256 through one digest context kept for the life of the process.
 *
 *-------------------------------------------------------------------------
 */
#ifndef CHILDGUARD_SHA256_H
#define CHILDGUARD_SHA256_H

#include "postgres.h"

#define CG_SHA256_LEN 32

extern void cg_sha256(const uint8 *data, size_t len, uint8 *out32);

#endif							/* CHILDGUARD_SHA256_H */
