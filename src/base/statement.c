/*-------------------------------------------------------------------------
 *
 * statement.c
 *	  Per-statement record of the children whose data the statement
 *	  touched.
 *
 * A "statement" is what the client sent at the top level: a query (its
 * ExecutorStart at nesting level 0) or a utility command (ProcessUtility
 * at level 0, e.g. COPY or FETCH).  Queries run inside it (functions,
 * triggers, a cursor's query under FETCH) belong to it.  The hooks in
 * childguard.c keep the nesting level and call cg_statement_begin at
 * level 0.
 *
 * Each child is noted once per kind of access; the set lives in a memory
 * context reset when the next statement begins, and a one-entry memo
 * makes consecutive values of the same row cost a comparison.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "utils/hsearch.h"
#include "utils/memutils.h"

#include "backend_cache.h"
#include "statement.h"

typedef struct SubjectAccess
{
	uint64		subject_no;		/* hash key */
	int			accesses;		/* CgAccess bits */
} SubjectAccess;

static MemoryContext statement_cxt = NULL;
static HTAB *subjects = NULL;
static uint64 statement_id = 0;
static int	nesting = 0;
static int	counts[CG_ACCESS_KINDS];
static int	all_accesses = 0;
static bool admitted = false;	/* first-access hook called */
static SubjectAccess *last = NULL;

CgStatementFirstAccessHook cg_statement_first_access_hook = NULL;

/* A new top-level statement: forget the previous one's children. */
void
cg_statement_begin(void)
{
	statement_id++;
	if (subjects != NULL)
	{
		MemoryContextReset(statement_cxt);
		subjects = NULL;
	}
	memset(counts, 0, sizeof(counts));
	all_accesses = 0;
	admitted = false;
	last = NULL;
}

/* Counts statements in this backend; changes at each cg_statement_begin. */
uint64
cg_statement_id(void)
{
	return statement_id;
}

int
cg_statement_nesting(void)
{
	return nesting;
}

void
cg_statement_enter(void)
{
	nesting++;
}

void
cg_statement_leave(void)
{
	if (nesting > 0)
		nesting--;
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
	SubjectAccess *entry;
	bool		found;

	if (last != NULL && last->subject_no == subject_no && (last->accesses & access))
		return;
	if (!admitted && cg_statement_first_access_hook)
		cg_statement_first_access_hook();
	admitted = true;
	if (subjects == NULL)
		subjects = cg_backend_hash(&statement_cxt, "childguard statement subjects", 64,
								   sizeof(uint64), sizeof(SubjectAccess), false);
	entry = hash_search(subjects, &subject_no, HASH_ENTER, &found);
	if (!found)
		entry->accesses = 0;
	if (!(entry->accesses & access))
	{
		entry->accesses |= access;
		counts[access_bit(access)]++;
		all_accesses |= access;
	}
	last = entry;
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
	if (!admitted && cg_statement_first_access_hook)
		cg_statement_first_access_hook();
	admitted = true;
	all_accesses |= CG_ACCESS_ATTEMPTED;
}

/* Has the current statement noted this kind of access to subject_no? */
bool
cg_statement_noted(uint64 subject_no, CgAccess access)
{
	SubjectAccess *entry;

	if (last != NULL && last->subject_no == subject_no)
		return (last->accesses & access) != 0;
	if (subjects == NULL)
		return false;
	entry = hash_search(subjects, &subject_no, HASH_FIND, NULL);
	return entry != NULL && (entry->accesses & access) != 0;
}

/* Distinct children with this kind of access in the current statement. */
int
cg_statement_count(CgAccess access)
{
	return counts[access_bit(access)];
}

/*
 * The CgAccess bits seen in the current statement (with
 * CG_ACCESS_ATTEMPTED if it tried to decrypt); 0 if it touched no child
 * data.
 */
int
cg_statement_accesses(void)
{
	return all_accesses;
}

/* Call fn for each child the current statement touched. */
void
cg_statement_foreach(CgStatementSubjectFn fn, void *arg)
{
	HASH_SEQ_STATUS status;
	SubjectAccess *entry;

	if (subjects == NULL)
		return;
	hash_seq_init(&status, subjects);
	while ((entry = hash_seq_search(&status)) != NULL)
		fn(entry->subject_no, entry->accesses, arg);
}
