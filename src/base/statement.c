/*-------------------------------------------------------------------------
 *
 * statement.c
 *	  The state of the current top-level statement (CgStatement, see
 *	  statement.h): one struct, owned here, that the other files read and
 *	  write their part of.
 *
 * A "statement" is what the client sent at the top level: a query (its
 * ExecutorStart at nesting level 0) or a utility command (ProcessUtility
 * at level 0, e.g. COPY or FETCH).  Queries run inside it (functions,
 * triggers, a cursor's query under FETCH, a COPY inside a function called
 * by a COPY, a procedure's statements across its COMMITs) belong to it.
 * The hooks in childguard.c call cg_statement_begin at level 0.
 *
 * Lifetimes:
 *	- per top-level statement (reset by cg_statement_begin): the children
 *	  touched, the audit capture, the outcome, in a memory context (a
 *	  child of TopMemoryContext) reset when the next statement begins, so
 *	  a failed statement's state survives the error until its audit record
 *	  is built in the abort callback (audit_capture.c);
 *	- frozen once per top-level statement: the decision context (decision.c
 *	  calls cg_statement_freeze);
 *	- per nesting level (CgStatementLevel): the nesting depth and the COPY
 *	  flags.  Every hook that runs a nested statement saves the level with
 *	  cg_statement_enter and restores it with cg_statement_leave, in its
 *	  error path too: nothing is reset to a default, so a nested COPY ends
 *	  with the outer COPY's flags back in place;
 *	- the foreign code running (foreign_code.c): kept by the fmgr hook's
 *	  START/END pairs, which always pair; neither reset nor restored.
 *
 * The error path (the hooks' PG_FINALLY) calls only cg_statement_leave
 * and cg_statement_failed: plain assignments, no allocation, no lock, no
 * ereport.
 *
 * Each child is noted once per kind of access, in an open-addressing
 * table kept across statements; a one-entry memo makes consecutive
 * values of the same row cost a comparison.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "utils/backend_status.h"
#include "utils/memutils.h"

#include "backend_cache.h"
#include "statement.h"

typedef struct SubjectAccess
{
	uint64		subject_no;		/* hash key */
	int			accesses;		/* CgAccess bits */
	char		status;			/* simplehash's */
} SubjectAccess;

/*
 * An open-addressing table (lib/simplehash.h), not dynahash: a bulk scan
 * notes a new child at every row -- no per-entry allocation, a cheap hash,
 * entries inline.  Entries move when one is inserted (the table grows, or
 * an entry is displaced), so st.last is set again after every insert and
 * nothing else keeps a pointer into the table.
 */
#define SH_PREFIX		cg_stmt_subjects
#define SH_ELEMENT_TYPE	SubjectAccess
#define SH_KEY_TYPE		uint64
#define SH_KEY			subject_no
#define SH_HASH_KEY(tb, k) cg_backend_hash_uint64(k)
#define SH_EQUAL(tb, a, b) ((a) == (b))
#define SH_SCOPE		static inline
#define SH_DECLARE
#define SH_DEFINE
#include "lib/simplehash.h"

CgStatement cg_statement_state;

#define st cg_statement_state
static MemoryContext statement_cxt = NULL;

/*
 * The children-touched table outlives statements: made once, emptied when
 * the next statement begins, and dropped only after a statement that
 * noted many, so its memory stays bounded.  A point read pays a probe,
 * not a table and a memory context.
 */
#define SUBJECTS_KEEP_MAX	1024
static MemoryContext subjects_cxt = NULL;
static cg_stmt_subjects_hash *subjects_table = NULL;

/*
 * last: an entry of the table, if known; when it is the only one (a point
 * read), it is removed without clearing every slot.
 */
static void
subjects_clear(SubjectAccess *last)
{
	if (subjects_table == NULL)
		return;
	if (subjects_table->members > SUBJECTS_KEEP_MAX)
	{
		MemoryContextReset(subjects_cxt);
		subjects_table = NULL;
		return;
	}
	if (last != NULL && subjects_table->members == 1)
	{
		(void) cg_stmt_subjects_delete(subjects_table, last->subject_no);
		return;
	}
	cg_stmt_subjects_reset(subjects_table);
}

CgStatementFirstAccessHook cg_statement_first_access_hook = NULL;

/* Memory that lives until the next top-level statement begins. */
MemoryContext
cg_statement_memory(void)
{
	if (statement_cxt == NULL)
		statement_cxt = AllocSetContextCreate(TopMemoryContext,
											  "childguard statement",
											  ALLOCSET_SMALL_SIZES);
	return statement_cxt;
}

/*
 * A new top-level statement (command_tag: its CommandTag): forget the
 * previous one.  The level, the frozen context (decision.c freezes it
 * next) and the foreign code running are kept.
 */
void
cg_statement_begin(int command_tag)
{
	if (statement_cxt != NULL)
		MemoryContextReset(statement_cxt);
	if (st.subjects != NULL)
		subjects_clear(st.subjects == subjects_table ? st.last : NULL);
	st.id++;
	st.grant_id = 0;
	st.disclosure = false;
	/* the per-statement part: from subjects to the end (statement.h) */
	memset(&st.subjects, 0, sizeof(st) - offsetof(CgStatement, subjects));
	st.command_tag = command_tag;
}

/* A COPY ... TO runs at this level (until cg_statement_leave). */
void
cg_statement_set_copy_out(void)
{
	st.level.copy_out = true;
}

/*
 * An error is leaving the top-level statement (the hooks' error path):
 * mark it failed, keeping the first error's code.  Plain assignments only;
 * the record is built after the error is cleaned up (audit_capture.c).
 */
void
cg_statement_failed(int sqlerrcode)
{
	if (st.failed)
		return;
	st.failed = true;
	st.sqlerrcode = sqlerrcode;
	st.failed_query_id = (int64) pgstat_get_my_query_id();
}

/*
 * The decision context of the current statement (decision.c): the role,
 * purpose and time it decides under.  The purpose is copied only when it
 * changed.
 */
void
cg_statement_freeze(Oid role, const char *purpose, TimestampTz now)
{
	st.frozen_id = st.id;
	st.role = role;
	st.now = now;
	st.grant_id = 0;
	st.disclosure = false;
	if (purpose == NULL)
	{
		if (st.purpose != NULL)
			pfree(st.purpose);
		st.purpose = NULL;
	}
	else if (st.purpose == NULL || strcmp(st.purpose, purpose) != 0)
	{
		if (st.purpose != NULL)
			pfree(st.purpose);
		st.purpose = MemoryContextStrdup(TopMemoryContext, purpose);
	}
}

static int
access_bit(CgAccess access)
{
	switch (access)
	{
		case CG_ACCESS_READ:
			return 0;
		case CG_ACCESS_DENIED:
			return 1;
		case CG_ACCESS_WRITE:
			return 2;
	}
	elog(ERROR, "unexpected childguard access kind %d", (int) access);
	return 0;
}

/* Note that this statement did access to subject_no's data. */
void
cg_statement_note(uint64 subject_no, CgAccess access)
{
	SubjectAccess *last = st.last;
	SubjectAccess *entry;
	bool		found;

	if (last != NULL && last->subject_no == subject_no && (last->accesses & access))
		return;
	if (!st.admitted && cg_statement_first_access_hook)
		cg_statement_first_access_hook();
	st.admitted = true;
	if (st.subjects == NULL)
	{
		if (subjects_table == NULL)
		{
			if (subjects_cxt == NULL)
				subjects_cxt = AllocSetContextCreate(TopMemoryContext,
													 "childguard statement subjects",
													 ALLOCSET_SMALL_SIZES);
			subjects_table = cg_stmt_subjects_create(subjects_cxt, 64, NULL);
		}
		st.subjects = subjects_table;
	}
	entry = cg_stmt_subjects_insert(st.subjects, subject_no, &found);
	if (!found)
		entry->accesses = 0;
	if (!(entry->accesses & access))
	{
		entry->accesses |= access;
		st.counts[access_bit(access)]++;
		st.accesses |= access;
	}
	st.last = entry;
}

/*
 * The statement is about to decrypt a value whose child is not noted yet:
 * the value's data key may still fail to open, and the child is noted as
 * read only once it has been decrypted (an error record never names a
 * child whose data the statement did not see).  This runs the
 * first-access hook now, before any plaintext exists, and makes the
 * statement count as having touched child data, so a failure still
 * leaves its record.
 */
void
cg_statement_attempt(void)
{
	if (!st.admitted && cg_statement_first_access_hook)
		cg_statement_first_access_hook();
	st.admitted = true;
	st.accesses |= CG_ACCESS_ATTEMPTED;
}

/*
 * The statement made an access of this kind whose children are not known
 * here (a DELETE of a Citus distributed table runs on the workers): its
 * record names the relations and rows, and no child.
 */
void
cg_statement_note_unnamed(CgAccess access)
{
	cg_statement_attempt();
	st.accesses |= access;
}

/* Has the current statement noted this kind of access to subject_no? */
bool
cg_statement_noted(uint64 subject_no, CgAccess access)
{
	SubjectAccess *last = st.last;
	SubjectAccess *entry;

	if (last != NULL && last->subject_no == subject_no)
		return (last->accesses & access) != 0;
	if (st.subjects == NULL)
		return false;
	entry = cg_stmt_subjects_lookup(st.subjects, subject_no);
	return entry != NULL && (entry->accesses & access) != 0;
}

/* Distinct children with this kind of access in the current statement. */
int
cg_statement_count(CgAccess access)
{
	return st.counts[access_bit(access)];
}

/* Call fn for each child the current statement touched. */
void
cg_statement_foreach(CgStatementSubjectFn fn, void *arg)
{
	cg_stmt_subjects_iterator it;
	SubjectAccess *entry;

	if (st.subjects == NULL)
		return;
	/* one child (a point read): the memo is it, no scan of every slot */
	if (st.last != NULL && st.subjects->members == 1)
	{
		entry = st.last;
		fn(entry->subject_no, entry->accesses, arg);
		return;
	}
	cg_stmt_subjects_start_iterate(st.subjects, &it);
	while ((entry = cg_stmt_subjects_iterate(st.subjects, &it)) != NULL)
		fn(entry->subject_no, entry->accesses, arg);
}
