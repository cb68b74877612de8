/*-------------------------------------------------------------------------
 *
 * audit.h
 *	  The per-access audit trail (invariant 4): one record per top-level
 *	  statement that decrypted, was denied or wrote child data.
 *
 *	  audit_settings.c  the childguard.audit* settings
 *	  audit_capture.c   capturing a statement's record in the hooks; failed
 *	                    statements' records built in the abort callbacks
 *	  audit_record.c    a record's wire form in the queue
 *	  audit_queue.c     the bounded shared-memory queue and its waits
 *	  audit_worker.c    the writer: one background worker per database
 *	  audit_chain.c     the hash chain and verify_access_log()
 *	  audit_pack.c      the packed log (chain format 4): hashes, packing,
 *	                    unpacking into rows of childguard.access_log
 *	  audit_guard.c     nobody but the writer changes the log
 *	  audit_serverlog.c the optional server-log lines
 *
 *-------------------------------------------------------------------------
 */
#ifndef CHILDGUARD_AUDIT_H
#define CHILDGUARD_AUDIT_H

#include "postgres.h"

#include "access/htup.h"
#include "access/tupdesc.h"
#include "executor/execdesc.h"
#include "lib/stringinfo.h"
#include "nodes/parsenodes.h"
#include "nodes/plannodes.h"
#include "port/pg_bswap.h"
#include "tcop/cmdtag.h"
#include "utils/relcache.h"
#include "utils/timestamp.h"

/* ---- settings (audit_settings.c) ---- */

typedef enum CgAuditQueueFull
{
	CG_AUDIT_FULL_WAIT,			/* wait up to audit_wait_timeout, then refuse */
	CG_AUDIT_FULL_ERROR			/* refuse at once */
} CgAuditQueueFull;

extern bool cg_audit_enabled;
extern bool cg_audit_sync;
extern int	cg_audit_queue_full;
extern int	cg_audit_wait_timeout;	/* ms; 0 = no limit */
extern int	cg_audit_queue_kb;
extern int	cg_audit_batch_size;
extern int	cg_audit_retention_min; /* minutes; 0 = keep forever */
extern int	cg_audit_writer_restart;	/* s */
extern int	cg_audit_writer_idle;	/* ms */
extern int	cg_audit_writer_delay;	/* ms */
extern bool cg_audit_log_server;
extern bool cg_audit_log_client;

extern void cg_audit_define_gucs(void);

/* ---- a record (audit_record.c) ---- */

typedef enum CgAuditOutcome
{
	CG_OUTCOME_ALLOWED = 'a',
	CG_OUTCOME_DENIED = 'd',
	CG_OUTCOME_ERROR = 'e',
	CG_OUTCOME_DISCLOSED = 's'	/* allowed, under a disclosure purpose (1.4) */
} CgAuditOutcome;

typedef struct CgAuditRecord
{
	TimestampTz statement_at;
	TimestampTz session_start;	/* with pid: the session id */
	int32		backend_pid;
	char	   *session_role;
	char	   *current_role;
	char	   *client_addr;
	char	   *application_name;
	char	   *command;
	char	   *purpose;		/* NULL: none declared */
	char	   *end_user;		/* childguard.end_user; NULL: none */
	int64		grant_id;		/* 0: none */
	int			nrelations;
	char	  **relations;
	int			ncolumns;
	char	  **columns;
	int			nread;
	int64	   *read;
	int			ndenied;
	int64	   *denied;
	int			nwritten;
	int64	   *written;
	int32		children;		/* distinct children in any of the three */
	int64		rows;
	char		outcome;		/* CgAuditOutcome */
	char		sqlstate[6];	/* "" unless outcome is error */
	int64		query_id;
} CgAuditRecord;

/*
 * A record read in place (cg_audit_record_view): what the writer turns
 * into a row without copying the strings out first.  A list's items follow
 * each other in the wire form: strings as an int32 length and the bytes,
 * ids as unaligned int64s.
 */
typedef struct CgAuditWireString
{
	const char *p;
	int32		len;			/* -1: NULL */
} CgAuditWireString;

typedef struct CgAuditRecordView
{
	TimestampTz statement_at;
	TimestampTz session_start;
	int32		backend_pid;
	CgAuditWireString session_role;
	CgAuditWireString current_role;
	CgAuditWireString client_addr;
	CgAuditWireString application_name;
	CgAuditWireString command;
	CgAuditWireString purpose;
	CgAuditWireString end_user;
	int64		grant_id;
	int			nrelations;
	const char *relations;
	int			ncolumns;
	const char *columns;
	int			nread;
	const char *read;
	int			ndenied;
	const char *denied;
	int			nwritten;
	const char *written;
	int32		children;
	int64		rows;
	char		outcome;
	char		sqlstate[6];
	int64		query_id;
} CgAuditRecordView;

/* the string lengths cg_audit_record_size() measured, for cg_audit_record_write() */
typedef struct CgAuditRecordLengths
{
	int32		str[7];			/* the strings outside the lists, in wire order */
	int32	   *items;			/* the relations', then the columns' */
	int32		inline_items[16];	/* items, when they fit */
} CgAuditRecordLengths;

extern Size cg_audit_record_size(const CgAuditRecord *rec, CgAuditRecordLengths *lens);
extern void cg_audit_record_write(const CgAuditRecord *rec, const CgAuditRecordLengths *lens,
								  char *dest, Size size);
extern void cg_audit_record_encode(const CgAuditRecord *rec, StringInfo buf);
extern void cg_audit_record_decode(const char *data, Size len, CgAuditRecord *rec);
extern void cg_audit_record_view(const char *data, Size len, CgAuditRecordView *v);
extern bool cg_audit_record_check(const char *data, Size len, TimestampTz *statement_at);
extern char *cg_audit_session_id(const CgAuditRecord *rec);
extern const char *cg_audit_outcome_name(char outcome);

/* ---- the queue (audit_queue.c) ---- */

extern void cg_audit_queue_shmem_request(void);
extern void cg_audit_queue_shmem_startup(void);
extern void cg_audit_admit(void);
extern bool cg_audit_enqueue(const char *data, Size len, bool sync, bool may_wait,
							 uint64 *seq);
extern char *cg_audit_reserve(Size len, bool sync, bool may_wait, uint64 *seq);
extern void cg_audit_publish(void);
extern void cg_audit_wait_durable(uint64 seq);
extern uint64 cg_audit_last_seq(void);
extern Size cg_audit_max_record(void);

/* databases that can have records queued at once */
#define CG_AUDIT_MAX_DATABASES 64

/* the writer's side */
typedef struct CgAuditQueued
{
	TimestampTz epoch;			/* with seq: the record's identity */
	uint64		seq;
	int			procno;
	bool		sync;
	Size		len;
	char	   *data;			/* in the ring, valid until the batch is finished */
} CgAuditQueued;

/* true only in an audit writer process (set by audit_worker.c at its start) */
extern bool cg_audit_is_writer;

/* registers a writer for a database; false if no worker slot is free */
typedef bool (*CgAuditWriterStarter) (Oid dboid);
extern void cg_audit_queue_set_writer_starter(CgAuditWriterStarter starter);

extern bool cg_audit_writer_claim_slot(Oid dboid);
extern void cg_audit_writer_release_slot(Oid dboid);
extern bool cg_audit_writer_retire(Oid dboid, bool idle);
extern int	cg_audit_claim_batch(Oid dboid, int max_records, CgAuditQueued **out);
extern void cg_audit_finish_batch(Oid dboid, CgAuditQueued *recs, int n, bool written);
extern int	cg_audit_pending_for(Oid dboid, int *sync);
extern void cg_audit_serve_carried_over(void);
extern int	cg_audit_unwritten_databases(Oid *out);
extern void cg_audit_settle_gone(const Oid *dbs, int n);
extern void cg_audit_count_given_up(int n);
extern TimestampTz cg_audit_current_epoch(void);

/* ---- the writer (audit_worker.c) ---- */

extern bool cg_audit_start_writer(Oid dboid);

/* the writer's tables, without SQL (audit_log_store.c) */
typedef struct CgAuditChainHead
{
	int64		last_id;
	bool		has_hash;
	uint8		last_hash[32];	/* CG_AUDIT_HASH_LEN */
	TimestampTz epoch;
	int64		last_seq;
} CgAuditChainHead;

typedef struct CgAuditStore CgAuditStore;

extern CgAuditStore *cg_audit_store_open(void);
extern TupleDesc cg_audit_store_log_desc(CgAuditStore *st);
extern void cg_audit_store_lock_head(CgAuditStore *st, CgAuditChainHead *h);
extern void cg_audit_store_insert(CgAuditStore *st, HeapTuple *rows, const Datum *values,
								  const bool *isnull, int stride, int n);
extern void cg_audit_store_move_head(CgAuditStore *st, const CgAuditChainHead *h);
extern void cg_audit_store_close(CgAuditStore *st);
extern bool cg_audit_store_packed(CgAuditStore *st);
extern PGDLLEXPORT void cg_audit_writer_main(Datum arg);

/* ---- the chain (audit_chain.c) ---- */

#define CG_AUDIT_HASH_LEN 32

/* the columns of childguard.access_log, in table and chain order */
typedef enum CgAuditColumn
{
	CG_COL_ID,
	CG_COL_STATEMENT_AT,
	CG_COL_LOGGED_AT,
	CG_COL_SESSION_ID,
	CG_COL_BACKEND_PID,
	CG_COL_SESSION_ROLE,
	CG_COL_ACTING_ROLE,
	CG_COL_CLIENT_ADDR,
	CG_COL_APPLICATION_NAME,
	CG_COL_COMMAND,
	CG_COL_PURPOSE,
	CG_COL_GRANT_ID,
	CG_COL_RELATIONS,
	CG_COL_COLUMNS,
	CG_COL_CHILDREN_READ,
	CG_COL_CHILDREN_DENIED,
	CG_COL_CHILDREN_WRITTEN,
	CG_COL_CHILDREN,
	CG_COL_ROWS,
	CG_COL_OUTCOME,
	CG_COL_SQLSTATE,
	CG_COL_QUERY_ID,
	CG_COL_PREV_HASH,
	CG_COL_HASH,
	CG_COL_FORMAT_VERSION,		/* from SQL 1.2 (chain format 2) */
	CG_COL_END_USER,			/* from SQL 1.4 (chain format 3) */
	CG_AUDIT_NCOLUMNS
} CgAuditColumn;

/*
 * Chain formats (docs/audit.md): a record's hash is computed under the
 * format its row records.  Format 1: the 24 columns of SQL 1.0 and 1.1;
 * format 2 (SQL 1.2): those and format_version; format 3 (SQL 1.4): those
 * and end_user.  CG_AUDIT_FORMAT_COLUMNS gives the table's column count
 * for a format.
 */
#define CG_AUDIT_FORMAT_LATEST 3
#define CG_AUDIT_FORMAT_COLUMNS(f) ((f) >= 3 ? CG_AUDIT_NCOLUMNS : \
									(f) >= 2 ? CG_COL_END_USER : CG_COL_FORMAT_VERSION)

extern const char *const cg_audit_column_names[CG_AUDIT_NCOLUMNS];
extern const Oid cg_audit_column_types[CG_AUDIT_NCOLUMNS];
extern int	cg_audit_log_format(TupleDesc desc, const char *table);
extern void cg_audit_chain_hash(int format, const uint8 *prev_hash, const Datum *values,
								const bool *nulls, uint8 *out);

/* ---- the packed log, chain format 4 (audit_pack.c) ---- */

#define CG_AUDIT_FORMAT_PACKED 4
/* a packed record's framing: be32 length and its hash, then its wire form */
#define CG_AUDIT_PACK_HDR (4 + CG_AUDIT_HASH_LEN)

/* childguard.access_log_batch's columns, in table order */
typedef enum CgAuditBatchColumn
{
	CG_BCOL_FIRST_ID,
	CG_BCOL_LAST_ID,
	CG_BCOL_RECORDS,
	CG_BCOL_FIRST_STATEMENT_AT,
	CG_BCOL_LAST_STATEMENT_AT,
	CG_BCOL_LOGGED_AT,
	CG_BCOL_FORMAT_VERSION,
	CG_BCOL_PREV_HASH,
	CG_BCOL_HASH,
	CG_BCOL_PACKED,
	CG_BCOL_SUBJECTS,			/* SQL 1.9: the children its records name */
	CG_AUDIT_BATCH_NCOLUMNS
} CgAuditBatchColumn;

/* the batch table's columns in SQL 1.8 (no subjects) */
#define CG_AUDIT_BATCH_NCOLUMNS_1_8 CG_BCOL_SUBJECTS

extern const char *const cg_audit_batch_column_names[CG_AUDIT_BATCH_NCOLUMNS];
extern const Oid cg_audit_batch_column_types[CG_AUDIT_BATCH_NCOLUMNS];

typedef struct CgAuditBatchBounds
{
	int64		first_id;
	int64		last_id;
	int32		records;
	TimestampTz first_statement_at;
	TimestampTz last_statement_at;
	TimestampTz logged_at;
} CgAuditBatchBounds;

typedef enum CgPackStep
{
	CG_PACK_RECORD,
	CG_PACK_END,
	CG_PACK_TORN
} CgPackStep;

extern void cg_audit_wire_values(const CgAuditRecordView *rec, Datum *values, char *nulls);
extern Datum cg_audit_hash_datum(const uint8 *hash);
extern void cg_audit_pack_record_hash(const uint8 *prev, int64 id, TimestampTz logged_at,
									  const char *wire, uint32 len, uint8 *out);
extern void cg_audit_pack_batch_hash(const CgAuditBatchBounds *b, const uint8 *last_hash,
									 uint8 *out);
extern void cg_audit_pack_append(StringInfo packed, const char *wire, uint32 len,
								 const uint8 *hash);
extern CgPackStep cg_audit_pack_next(const char *data, Size len, Size *off,
									 const uint8 **hash, const char **wire, uint32 *wirelen);
extern bool cg_audit_batch_layout_ok(TupleDesc desc);
extern bool cg_audit_batch_has_subjects(TupleDesc desc);

/* ---- a batch's subjects, the per-child index (audit_log_index.c, SQL 1.9) ---- */

typedef struct CgAuditSubjects
{
	int64	   *ids;
	int			n;
	int			size;
} CgAuditSubjects;

extern void cg_audit_subjects_init(CgAuditSubjects *s, int hint);
extern void cg_audit_subjects_add(CgAuditSubjects *s, const CgAuditRecordView *rec);
extern Datum cg_audit_subjects_array(CgAuditSubjects *s);
extern bool cg_audit_subjects_match(CgAuditSubjects *s, Datum stored);
extern bool cg_audit_record_names(const CgAuditRecordView *rec, int64 subject);

/* ---- capture (audit_capture.c), called from childguard.c ---- */

extern void cg_audit_init(void);
extern void cg_audit_flush_pending(void);
extern void cg_audit_executor_start(QueryDesc *queryDesc);
extern void cg_audit_executor_run(QueryDesc *queryDesc);
extern void cg_audit_executor_end(QueryDesc *queryDesc);
extern void cg_audit_utility_end(PlannedStmt *pstmt, QueryCompletion *qc);
extern void cg_audit_error_reported(const ErrorData *edata);

/* ---- the guard (audit_guard.c) ---- */

extern void cg_audit_guard_utility(PlannedStmt *pstmt);
extern void cg_audit_guard_executor_start(QueryDesc *queryDesc);

/* ---- server-log lines (audit_serverlog.c) ---- */

extern void cg_audit_server_log(const CgAuditRecord *rec, const char *why_fallback);
extern void cg_audit_server_log_raw(const char *data, Size len, const char *why);

/*
 * Big-endian integers into a buffer, for the chain's canonical forms
 * (audit_chain.c) and the packed format's hashes and layout (audit_pack.c):
 * each returns the position after what it wrote.
 */
static inline char *
put_be64(char *p, uint64 v)
{
	v = pg_hton64(v);
	memcpy(p, &v, 8);
	return p + 8;
}

static inline char *
put_be32(char *p, uint32 v)
{
	v = pg_hton32(v);
	memcpy(p, &v, 4);
	return p + 4;
}

#endif							/* CHILDGUARD_AUDIT_H */
