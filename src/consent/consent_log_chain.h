/*-------------------------------------------------------------------------
 *
 * consent_log_chain.h
 *	  The consent log's hash chain: an event's canonical text and one
 *	  SHA-256 step, shared by the SQL-callable step and text functions and
 *	  the statement trigger that appends a statement's events
 *	  (consent_log_append.c).
 *
 *-------------------------------------------------------------------------
 */
#ifndef CHILDGUARD_CONSENT_LOG_CHAIN_H
#define CHILDGUARD_CONSENT_LOG_CHAIN_H

#include "postgres.h"

#include "common/cryptohash.h"
#include "common/sha2.h"
#include "lib/stringinfo.h"

/*
 * One consent event as its canonical text names it, in the order of
 * _consent_event_text()'s array.  A NULL string, or by_role_null, prints
 * as JSON null.
 */
typedef struct CgConsentEventText
{
	int64		event_id;
	int64		at_us;			/* microseconds since the Unix epoch */
	int64		consent_id;
	int64		subject_no;
	int32		purpose_id;
	const char *event;
	const char *giver_kind;
	const char *guardian_id;
	const char *notice_id;
	int32		notice_version;
	Oid			by_role;
	bool		by_role_null;
	const char *by_role_name;
	const char *session_role_name;
} CgConsentEventText;

/* Append the event's canonical text (jsonb_build_array(...)::text) to buf. */
extern void cg_consent_event_text(StringInfo buf, const CgConsentEventText *ev);

/*
 * out = SHA-256(prev || text converted to UTF-8), on a context the caller
 * created (pg_cryptohash_create(PG_SHA256)) and may reuse; prev may be
 * NULL (empty).
 */
extern void cg_chain_step(pg_cryptohash_ctx *ctx, const char *prev, int prev_len,
						  const char *text, int text_len,
						  uint8 out[PG_SHA256_DIGEST_LENGTH]);

#endif							/* CHILDGUARD_CONSENT_LOG_CHAIN_H */
