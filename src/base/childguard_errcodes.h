/*-------------------------------------------------------------------------
 *
 * childguard_errcodes.h
 *	  childguard's own SQLSTATE class "ZC".  Standard codes are used where
 *	  one fits (22023 for a bad argument, 42501 for privilege); the ones
 *	  below name conditions PostgreSQL has no code for.  docs/errors.md
 *	  lists every code with its meaning and what to do.
 *
 *-------------------------------------------------------------------------
 */
#ifndef CHILDGUARD_ERRCODES_H
#define CHILDGUARD_ERRCODES_H

#include "utils/elog.h"

/* keys */
#define ERRCODE_CG_MASTER_KEY_UNAVAILABLE	MAKE_SQLSTATE('Z','C','0','0','1')
#define ERRCODE_CG_DATA_KEY_UNAVAILABLE		MAKE_SQLSTATE('Z','C','0','0','2')
/* values */
#define ERRCODE_CG_AUTHENTICATION_FAILED	MAKE_SQLSTATE('Z','C','0','0','3')
#define ERRCODE_CG_MALFORMED_ENVELOPE		MAKE_SQLSTATE('Z','C','0','0','4')
#define ERRCODE_CG_FOREIGN_PENDING_VALUE	MAKE_SQLSTATE('Z','C','0','0','5')
#define ERRCODE_CG_NO_DECISION_HERE			MAKE_SQLSTATE('Z','C','0','0','6')
/* key material through SQL (docs/security.md, section 6) */
#define ERRCODE_CG_KEY_FILE_REFUSED			MAKE_SQLSTATE('Z','C','0','4','0')
#define ERRCODE_CG_SERVER_PROGRAM_REFUSED	MAKE_SQLSTATE('Z','C','0','4','1')
#define ERRCODE_CG_FILE_FUNCTION_REFUSED	MAKE_SQLSTATE('Z','C','0','4','2')
#define ERRCODE_CG_SERVER_CONFIG_WRITE_REFUSED	MAKE_SQLSTATE('Z','C','0','4','3')
#define ERRCODE_CG_SERVER_SETTING_REFUSED	MAKE_SQLSTATE('Z','C','0','4','4')
/* values and keys: limits and rotation (docs/keys.md) */
#define ERRCODE_CG_VALUE_TOO_LONG			MAKE_SQLSTATE('Z','C','0','4','5')
#define ERRCODE_CG_ROTATION_ISOLATION		MAKE_SQLSTATE('Z','C','0','4','6')
/* tables and subjects */
#define ERRCODE_CG_TABLE_NOT_PROTECTED		MAKE_SQLSTATE('Z','C','0','1','0')
#define ERRCODE_CG_UNKNOWN_CHILD			MAKE_SQLSTATE('Z','C','0','1','1')
#define ERRCODE_CG_CHILD_ERASED				MAKE_SQLSTATE('Z','C','0','1','2')
/* code attached to tables holding child data (planted_code.c) */
#define ERRCODE_CG_PLANTED_CODE				MAKE_SQLSTATE('Z','C','0','2','0')
#define ERRCODE_CG_TABLE_HAS_PLANTED_CODE	MAKE_SQLSTATE('Z','C','0','2','1')
/* consent, purposes and grants: the read decision and collection */
#define ERRCODE_CG_PURPOSE_REQUIRED			MAKE_SQLSTATE('Z','C','1','0','0')
#define ERRCODE_CG_UNKNOWN_PURPOSE			MAKE_SQLSTATE('Z','C','1','0','1')
#define ERRCODE_CG_NO_ACCESS_GRANT			MAKE_SQLSTATE('Z','C','1','0','2')
#define ERRCODE_CG_NO_CONSENT				MAKE_SQLSTATE('Z','C','1','0','3')
#define ERRCODE_CG_CATEGORY_NOT_NEEDED		MAKE_SQLSTATE('Z','C','1','0','4')
#define ERRCODE_CG_READ_DENIED				MAKE_SQLSTATE('Z','C','1','0','5')
#define ERRCODE_CG_WRONG_CONSENTER			MAKE_SQLSTATE('Z','C','1','0','6')
#define ERRCODE_CG_NOTICE_INCOMPLETE		MAKE_SQLSTATE('Z','C','1','0','7')
#define ERRCODE_CG_NOTICE_SUPERSEDED		MAKE_SQLSTATE('Z','C','1','0','8')
#define ERRCODE_CG_FORBIDDEN_PURPOSE		MAKE_SQLSTATE('Z','C','1','0','9')
#define ERRCODE_CG_TOO_MANY_CHILDREN		MAKE_SQLSTATE('Z','C','1','1','0')
#define ERRCODE_CG_TRANSFER_NOT_ALLOWED		MAKE_SQLSTATE('Z','C','1','1','1')
#define ERRCODE_CG_SEPARATION_OF_DUTIES		MAKE_SQLSTATE('Z','C','1','1','2')
#define ERRCODE_CG_NOTHING_TO_WITHDRAW		MAKE_SQLSTATE('Z','C','1','1','3')
#define ERRCODE_CG_PURPOSE_IN_FUNCTION		MAKE_SQLSTATE('Z','C','1','1','4')
/* identities and separation of duties (docs/security.md, sections 5 and 7) */
#define ERRCODE_CG_NOT_CONSENT_RECORDER		MAKE_SQLSTATE('Z','C','1','2','0')
#define ERRCODE_CG_CONSENT_BY_READER		MAKE_SQLSTATE('Z','C','1','2','1')
#define ERRCODE_CG_ROLE_GONE				MAKE_SQLSTATE('Z','C','1','2','2')
/* versions: the library and the installed SQL (sql/README.md) */
#define ERRCODE_CG_SQL_VERSION_MISMATCH		MAKE_SQLSTATE('Z','C','1','4','0')
#define ERRCODE_CG_ENTRY_POINT_MISMATCH		MAKE_SQLSTATE('Z','C','1','4','1')
/* migrating and loading existing data (docs/migration.md) */
#define ERRCODE_CG_MIGRATION_STOPPED		MAKE_SQLSTATE('Z','C','4','4','0')
#define ERRCODE_CG_CANNOT_MIGRATE			MAKE_SQLSTATE('Z','C','4','4','1')
#define ERRCODE_CG_MIGRATION_STATE			MAKE_SQLSTATE('Z','C','4','4','2')
#define ERRCODE_CG_LOAD_STAGING				MAKE_SQLSTATE('Z','C','4','4','3')
/* requests and incidents (docs/compliance.md; sql/update/1.3--1.4/70_requests.sql, 72_incidents.sql) */
#define ERRCODE_CG_OBJECTION_OPEN			MAKE_SQLSTATE('Z','C','5','0','5')
/* ZC500-ZC504, ZC506, ZC510-ZC513 are raised in SQL only (70_requests.sql, 72_incidents.sql) */
/* the audit trail (docs/audit.md) */
/* hygiene (1.5): ZC560-ZC579; ZC560, ZC561 are raised in SQL only (71_deletion_request_close.sql, 72_inspector.sql) */
/* loose ends (1.6): ZC562-ZC578; ZC562 is raised in SQL only (70_load_reject_add.sql) */
#define ERRCODE_CG_BLIND_INDEX_DISTRIBUTED	MAKE_SQLSTATE('Z','C','5','6','3')
#define ERRCODE_CG_BLIND_DIRECT_CALL		MAKE_SQLSTATE('Z','C','5','6','4')
/* redteam (round 19): ZC580-ZC599 */
#define ERRCODE_CG_HELD_CURSOR_PLAINTEXT	MAKE_SQLSTATE('Z','C','5','8','0')
/* compldata (issue 14, items 1-3): ZC530-ZC559 */
#define ERRCODE_CG_REGISTRY_NOT_SEALED		MAKE_SQLSTATE('Z','C','5','3','0')
#define ERRCODE_CG_RECIPIENT_NOT_ASSESSED	MAKE_SQLSTATE('Z','C','5','3','1')
#define ERRCODE_CG_RECIPIENT_REQUIRED		MAKE_SQLSTATE('Z','C','5','3','2')
#define ERRCODE_CG_PUBLICITY_REFUSED		MAKE_SQLSTATE('Z','C','5','3','3')
#define ERRCODE_CG_CHILD_CONSENT_REQUIRED	MAKE_SQLSTATE('Z','C','5','3','4')

#define ERRCODE_CG_AUDIT_QUEUE_FULL			MAKE_SQLSTATE('Z','C','2','0','0')
#define ERRCODE_CG_AUDIT_RECORD_TOO_LARGE	MAKE_SQLSTATE('Z','C','2','0','1')
#define ERRCODE_CG_AUDIT_NOT_DURABLE		MAKE_SQLSTATE('Z','C','2','0','2')
#define ERRCODE_CG_AUDIT_LOG_READ_ONLY		MAKE_SQLSTATE('Z','C','2','0','3')
#define ERRCODE_CG_AUDIT_LOG_LOCKED			MAKE_SQLSTATE('Z','C','2','0','4')
/* retention: the clock, the sweep (docs/reliability.md, "The retention worker"); raised from SQL */
#define ERRCODE_CG_ACCOUNT_ALREADY_CLOSED	MAKE_SQLSTATE('Z','C','3','0','1')
#define ERRCODE_CG_SWEEP_RUNNING			MAKE_SQLSTATE('Z','C','3','0','2')
/* erasure, expiry hooks, requests, the erasure ledger (docs/reliability.md, "Erasure") */
#define ERRCODE_CG_UNKNOWN_ERASURE_REASON	MAKE_SQLSTATE('Z','C','3','2','0')
#define ERRCODE_CG_UNKNOWN_ERASURE_ACTION	MAKE_SQLSTATE('Z','C','3','2','1')
#define ERRCODE_CG_ERASE_NOT_PROTECTED		MAKE_SQLSTATE('Z','C','3','2','2')
#define ERRCODE_CG_ERASE_IN_HOOK			MAKE_SQLSTATE('Z','C','3','2','3')
#define ERRCODE_CG_BAD_EXPIRY_HOOK			MAKE_SQLSTATE('Z','C','3','2','4')
#define ERRCODE_CG_EXPIRY_HOOK_UNKNOWN		MAKE_SQLSTATE('Z','C','3','2','5')
#define ERRCODE_CG_OPERATIONS_CEASED		MAKE_SQLSTATE('Z','C','3','2','6')
#define ERRCODE_CG_ERASURE_LEDGER			MAKE_SQLSTATE('Z','C','3','2','7')
#define ERRCODE_CG_ERASURE_LEDGER_TAMPERED	MAKE_SQLSTATE('Z','C','3','2','8')
/* schema tools and protection (docs/security.md, "DDL that would unprotect") */
#define ERRCODE_CG_DDL_UNPROTECTS			MAKE_SQLSTATE('Z','C','4','0','0')
#define ERRCODE_CG_EXTENSION_OBJECT_ALTERED	MAKE_SQLSTATE('Z','C','4','0','1')
/* blind indexes (docs/security.md, "Blind indexes") */
#define ERRCODE_CG_BLIND_KEY_UNAVAILABLE	MAKE_SQLSTATE('Z','C','4','0','2')
#define ERRCODE_CG_BLIND_INDEX_INVALID		MAKE_SQLSTATE('Z','C','4','0','3')

/* pools and bulk-copy windows (docs/security.md, "Pools"; docs/consent.md) */
#define ERRCODE_CG_WINDOW_LIMIT				MAKE_SQLSTATE('Z','C','4','2','0')
#define ERRCODE_CG_WINDOW_TABLE_FULL		MAKE_SQLSTATE('Z','C','4','2','1')
#define ERRCODE_CG_SESSION_PURPOSE_REFUSED	MAKE_SQLSTATE('Z','C','4','2','2')
#define ERRCODE_CG_NO_PURPOSE_DECLARED		MAKE_SQLSTATE('Z','C','4','2','3')
#define ERRCODE_CG_INVALID_END_USER			MAKE_SQLSTATE('Z','C','4','2','4')
#define ERRCODE_CG_INVALID_GRANT_LIMIT		MAKE_SQLSTATE('Z','C','4','2','5')

/* Citus scale-out (docs/scale-out.md) */
#define ERRCODE_CG_CITUS_WORKER_PLAINTEXT	MAKE_SQLSTATE('Z','C','6','0','0')
#define ERRCODE_CG_CITUS_WORKER_PENDING		MAKE_SQLSTATE('Z','C','6','0','1')
#define ERRCODE_CG_CITUS_WORKER_COMPARE		MAKE_SQLSTATE('Z','C','6','0','2')
#define ERRCODE_CG_CITUS_COPY_UNSUPPORTED	MAKE_SQLSTATE('Z','C','6','0','3')
#define ERRCODE_CG_CITUS_UPDATE_UNPINNED	MAKE_SQLSTATE('Z','C','6','0','4')
#define ERRCODE_CG_CITUS_SEAL_MISUSE		MAKE_SQLSTATE('Z','C','6','0','5')
#define ERRCODE_CG_CITUS_SELECT_PLAINTEXT	MAKE_SQLSTATE('Z','C','6','0','6')

#endif							/* CHILDGUARD_ERRCODES_H */
