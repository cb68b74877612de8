/*-------------------------------------------------------------------------
 *
 * envelope.h
 *	  The stored form of a child_data value.  Format version 2 (written
 *	  since 1.1) pads the plaintext so that the stored size shows only a
 *	  size bucket; version 1 (childguard 1.0) is still read, and its text
 *	  form is still taken back as is.
 *
 *	  offset  size  field
 *	       0     1  format version (2; 1 for old values)
 *	       1     1  category id (categories.h; 0 for a pending value)
 *	       2     1  flags (CG_ENV_PENDING)
 *	       3     1  reserved, 0
 *	       4     4  key version, big-endian
 *	       8     8  subject number, big-endian (session key id if pending)
 *	      16    12  nonce, random per value
 *	      28     n  AES-256-GCM ciphertext
 *	    28+n    16  GCM tag
 *
 *	  Version 2: the ciphertext encrypts the plaintext's length (4 bytes,
 *	  big-endian), the plaintext and zero bytes up to n, where n is the
 *	  bucket of 4 + length: the next power of two from 16 up to 64 KiB,
 *	  then the next multiple of 64 KiB (cg_envelope_bucket).  A version 2
 *	  envelope whose n is not a bucket, or whose padding is not canonical,
 *	  is malformed.  Version 1: the ciphertext is the plaintext itself.
 *
 *	  Bytes 0..15 are the associated data: changing the version, category,
 *	  key version or subject of a value makes it fail authentication.  The
 *	  text form is "cg1:" followed by the base64 of these bytes (the prefix
 *	  names the text encoding, not the format version).
 *
 *-------------------------------------------------------------------------
 */
#ifndef CHILDGUARD_ENVELOPE_H
#define CHILDGUARD_ENVELOPE_H

#include "crypto.h"

#define CG_ENV_VERSION_1	1	/* unpadded (childguard 1.0); read only */
#define CG_ENV_VERSION_2	2	/* padded to a size bucket */
#define CG_ENV_VERSION		CG_ENV_VERSION_2	/* what is written */
#define CG_ENV_HEADER_LEN	16
#define CG_ENV_OVERHEAD		(CG_ENV_HEADER_LEN + CG_NONCE_LEN + CG_TAG_LEN)
#define CG_ENV_LENGTH_LEN	4	/* v2: the real length, inside the ciphertext */
#define CG_PAD_MIN			16	/* smallest bucket */
#define CG_PAD_STEP			65536	/* buckets double up to this, then grow by it */
#define CG_ENV_PENDING		0x01
#define CG_ENV_TEXT_PREFIX	"cg1:"
#define CG_ENV_TEXT_PREFIX_LEN 4
/*
 * Size limits (docs/keys.md, "Limits").  A value holds at most
 * CG_MAX_PLAINTEXT bytes of plaintext (512 MiB; childguard.max_value_size
 * may lower it).  Its envelope is at most CG_MAX_ENVELOPE bytes, which
 * leaves CG_ENV_SLACK for the header, the tag and any padding a format
 * adds (format version 2 pads by less than
 * CG_PAD_STEP); its text form at most CG_MAX_ENVELOPE_TEXT characters.  Every
 * length computed from these fits in an int and below MaxAllocSize (1 GB),
 * so PostgreSQL's int-based base64 routines and any text or binary message
 * carrying a value stay within their limits; envelope.c checks this at
 * compile time.  All arithmetic on lengths is done in Size.
 */
#define CG_MAX_PLAINTEXT	((Size) 512 * 1024 * 1024)
#define CG_ENV_SLACK		((Size) 1024 * 1024)
#define CG_MAX_ENVELOPE		(CG_MAX_PLAINTEXT + CG_ENV_SLACK)
#define CG_B64_LEN(n)		(((Size) (n) + 2) / 3 * 4)
#define CG_MAX_ENVELOPE_TEXT (CG_ENV_TEXT_PREFIX_LEN + CG_B64_LEN(CG_MAX_ENVELOPE))

/* A parsed view into an envelope; pointers point into the datum. */
typedef struct CgEnvelope
{
	uint8		version;
	uint8		category;
	uint8		flags;
	uint32		key_version;
	uint64		subject;
	const uint8 *header;
	const uint8 *nonce;
	const uint8 *cipher;
	size_t		cipher_len;
	const uint8 *tag;
} CgEnvelope;

extern size_t cg_envelope_bucket(size_t len);
extern size_t cg_envelope_size_bucket(const CgEnvelope *env);
extern void cg_envelope_define_gucs(void);
extern void cg_envelope_parse(const struct varlena *value, CgEnvelope *env);
extern struct varlena *cg_envelope_seal(const uint8 *key, uint8 category,
										uint8 flags, uint32 key_version,
										uint64 subject,
										const char *plain, size_t len);
extern char *cg_envelope_open(const CgEnvelope *env, const uint8 *key,
							  size_t *len);
extern char *cg_envelope_to_text(const struct varlena *value);
extern struct varlena *cg_envelope_from_text(const char *text);
extern bool cg_text_is_envelope(const char *text);
extern void cg_check_value_size(Size len);
extern void cg_check_envelope_text_size(Size textlen);

#endif							/* CHILDGUARD_ENVELOPE_H */
