/*-------------------------------------------------------------------------
 *
 * envelope.h
 *	  The stored form of a child_data value (format version 1):
 *
 *	  offset  size  field
 *	       0     1  format version (1)
 *	       1     1  category id (categories.h; 0 for a pending value)
 *	       2     1  flags (CG_ENV_PENDING)
 *	       3     1  reserved, 0
 *	       4     4  key version, big-endian
 *	       8     8  subject number, big-endian (session key id if pending)
 *	      16    12  nonce, random per value
 *	      28     n  AES-256-GCM ciphertext
 *	    28+n    16  GCM tag
 *
 *	  Bytes 0..15 are the associated data: changing the version, category,
 *	  key version or subject of a value makes it fail authentication.  The
 *	  text form is "cg1:" followed by the base64 of these bytes.
 *
 *-------------------------------------------------------------------------
 */
#ifndef CHILDGUARD_ENVELOPE_H
#define CHILDGUARD_ENVELOPE_H

#include "crypto.h"

#define CG_ENV_VERSION		1
#define CG_ENV_HEADER_LEN	16
#define CG_ENV_OVERHEAD		(CG_ENV_HEADER_LEN + CG_NONCE_LEN + CG_TAG_LEN)
#define CG_ENV_PENDING		0x01
#define CG_ENV_TEXT_PREFIX	"cg1:"
#define CG_ENV_TEXT_PREFIX_LEN 4
/*
 * Size limits (docs/keys.md, "Limits").  A value holds at most
 * CG_MAX_PLAINTEXT bytes of plaintext (512 MiB; childguard.max_value_size
 * may lower it).  Its envelope is at most CG_MAX_ENVELOPE bytes, which
 * leaves CG_ENV_SLACK for the header, the tag and any padding a format
 * adds; its text form at most CG_MAX_ENVELOPE_TEXT characters.  Every
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
extern void cg_envelope_define_gucs(void);
extern void cg_check_value_size(Size len);
extern void cg_check_envelope_text_size(Size textlen);

#endif							/* CHILDGUARD_ENVELOPE_H */
