/*-------------------------------------------------------------------------
 *
 * statement.h
 *	  The state of the current top-level statement, in one struct owned by
 *	  statement.c: its id and nesting level, the decision context frozen
 *	  when it began, the COPY direction and write flags of the nesting
 *	  level running now, the foreign code running inside it, the children
 *	  whose data it decrypted, was denied or wrote, what its audit record
 *	  needs, and how it ended.
 *
 *	  Other files read and write their part here and keep their logic:
 *	  decision.c (the context), write_guard.c (COPY FROM flag),
 *	  foreign_code.c (foreign code running), audit_capture.c (relations,
 *	  who asked, outcome), childguard.c (nesting, around every hook).
 *
 *-------------------------------------------------------------------------
 */
#ifndef CHILDGUARD_STATEMENT_H
#define CHILDGUARD_STATEMENT_H

#include "postgres.h"

#include "nodes/bitmapset.h"
#include "nodes/pg_list.h"
#include "utils/hsearch.h"
#include "utils/timestamp.h"

typedef enum CgAccess
{
	CG_ACCESS_READ = 1 << 0,	/* a value was decrypted */
	CG_ACCESS_DENIED = 1 << 1,	/* a value or row was withheld */
	CG_ACCESS_WRITE = 1 << 2	/* a value was sealed (collected) */
} CgAccess;

/* one past the last CgAccess bit, for arrays indexed by bit number */
#define CG_ACCESS_KINDS 3

/*
 * In cg_statement_accesses() only, never for a child: the statement tried
 * to decrypt (and may have failed before any child was noted read).
 */
#define CG_ACCESS_ATTEMPTED (1 << 3)

/*
 * What belongs to one nesting level: saved when a nested statement (a
 * query or utility run inside the statement) begins, restored when it
 * ends, also when it ends by an error.  A nested COPY leaves the outer
 * COPY's flags as they were.
 */
typedef struct CgStatementLevel
{
	int			nesting;		/* 0: between top-level statements */
	bool		copy_out;		/* a COPY ... TO runs (decision.c) */
	Oid			copy_plain_refused; /* a COPY FROM into this unprotected
									 * table runs (write_guard.c) */
	Bitmapset  *delete_rtis;	/* the running query's DELETE targets, by
								 * range-table index (delete_rows.c) */
} CgStatementLevel;

/* a relation with child data the statement used (audit_capture.c) */
typedef struct CgStatementRelation
{
	Oid			relid;
	char	   *name;			/* schema-qualified; NULL until resolved */
	Bitmapset  *attnums;		/* child_data columns used */
	Bitmapset  *named;			/* those already in CgStatement.columns */
} CgStatementRelation;

typedef struct CgStatement
{
	/* ---- the statement (statement.c) ---- */
	uint64		id;				/* counts top-level statements in this backend */
	CgStatementLevel level;		/* the nesting level running now */

	/* ---- decision context, frozen when it began (decision.c) ---- */
	uint64		frozen_id;		/* the statement it was frozen for */
	Oid			role;			/* GetOuterUserId() at the start */
	char	   *purpose;		/* NULL: none declared */
	TimestampTz now;			/* statement start */
	int64		grant_id;		/* the grant the decisions used; 0: none */
	bool		disclosure;		/* decided under a disclose/publicize purpose (1.4) */

	/*
	 * ---- foreign code running now (foreign_code.c) ---- Kept by the fmgr
	 * hook's START/END pairs, across statements (not reset, not restored).
	 */
	int			foreign_depth;	/* foreign calls running */
	Oid			foreign_owner;	/* the innermost one's owner, or InvalidOid */

	/*
	 * ---- from here to the end: reset when the next top-level statement
	 * begins (cg_statement_begin clears it in one go; keep what must
	 * survive above) ----
	 */
	/* ---- children touched (statement.c), emptied when the next begins ---- */
	struct cg_stmt_subjects_hash *subjects;	/* subject_no -> CgAccess bits */
	void	   *last;			/* one-entry memo into subjects */
	int			counts[CG_ACCESS_KINDS];
	int			accesses;		/* CgAccess bits seen, CG_ACCESS_ATTEMPTED */
	bool		admitted;		/* first-access hook called */

	/* ---- audit capture (audit_capture.c), in the statement's memory ---- */
	int			command_tag;	/* CommandTag of the top-level statement */
	bool		identified;		/* the roles etc. below filled in */
	char	   *session_role;
	char	   *current_role;
	char	   *client_addr;
	char	   *application_name;
	List	   *relations;		/* of CgStatementRelation */
	List	   *columns;		/* of char *, "schema.table.column" */
	const void *captured_plan;	/* the cursor's plan noted last at ExecutorRun */
	bool		utility_done;	/* ProcessUtility at level 0 returned */
	int64		rows;			/* its rows (utility) */
	int64		query_id;		/* its query id (utility) */

	/* ---- how it ended ---- */
	bool		failed;			/* an error left the top-level statement */
	int			sqlerrcode;		/* that error's code */
	int64		failed_query_id;	/* the query id when it failed */
	bool		recorded;		/* its audit record is out */
} CgStatement;

typedef void (*CgStatementSubjectFn) (uint64 subject_no, int accesses, void *arg);

/* called when a statement notes its first access, before it is noted (audit) */
typedef void (*CgStatementFirstAccessHook) (void);
extern PGDLLIMPORT CgStatementFirstAccessHook cg_statement_first_access_hook;

/* the state itself: read through the inline functions below */
extern PGDLLIMPORT CgStatement cg_statement_state;

/* The current statement's state. */
static inline CgStatement *
cg_statement(void)
{
	return &cg_statement_state;
}

/* counts top-level statements in this backend */
static inline uint64
cg_statement_id(void)
{
	return cg_statement_state.id;
}

/* 0: between top-level statements (the hooks test it at every call) */
static inline int
cg_statement_nesting(void)
{
	return cg_statement_state.level.nesting;
}

/*
 * The CgAccess bits seen in the current statement (with
 * CG_ACCESS_ATTEMPTED if it tried to decrypt); 0 if it touched no child
 * data.
 */
static inline int
cg_statement_accesses(void)
{
	return cg_statement_state.accesses;
}

extern MemoryContext cg_statement_memory(void);
extern void cg_statement_begin(int command_tag);

/* A nested statement begins: save the level (for leave) and go one deeper. */
static inline void
cg_statement_enter(CgStatementLevel *saved)
{
	*saved = cg_statement_state.level;
	cg_statement_state.level.nesting++;
}

/* The nested statement ended, normally or by an error: the level as it was. */
static inline void
cg_statement_leave(const CgStatementLevel *saved)
{
	cg_statement_state.level = *saved;
}

extern void cg_statement_set_copy_out(void);
extern void cg_statement_failed(int sqlerrcode);
extern void cg_statement_freeze(Oid role, const char *purpose, TimestampTz now);
extern void cg_statement_note(uint64 subject_no, CgAccess access);
extern void cg_statement_note_unnamed(CgAccess access);
extern void cg_statement_attempt(void);
extern bool cg_statement_noted(uint64 subject_no, CgAccess access);
extern int	cg_statement_count(CgAccess access);
extern void cg_statement_foreach(CgStatementSubjectFn fn, void *arg);

#endif							/* CHILDGUARD_STATEMENT_H */
