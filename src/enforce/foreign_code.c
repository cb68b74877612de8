/*-------------------------------------------------------------------------
 *
 * foreign_code.c
 *	  Code owned by another role, running inside the reader's statement,
 *	  reads no plaintext.
 *
 * A statement decides under its reader's context (decision.c), but code
 * the reader did not write can run inside it: a trigger on a table the
 * reader writes to, a column default, a row policy or a function in a view
 * of a table without child data, a function the reader calls.  If such
 * code selects from a protected table it must not get the reader's
 * plaintext: it could keep it (copy it into its owner's table, NOTIFY it,
 * raise it).  planted_code.c keeps code off the tables that hold child
 * data; this file covers code everywhere else.
 *
 * The rule: while a function owned by a role other than the statement's
 * role is running, reads of child data are denied.  This file keeps the
 * innermost foreign owner in the statement's state (statement.c:
 * foreign_depth, foreign_owner), where decision.c reads it; decision.c
 * does not call into this file.  Trusted owners are exempt: superusers (they
 * can do anything anyway) and the session's login role (whose code is the
 * reader's own; a pooler's or an application's SET ROLE does not make it
 * foreign).  Built-in and C-language functions (only superusers create
 * C functions) are never foreign.
 *
 * Mechanism: PostgreSQL's fmgr hook.  needs_fmgr_hook picks, once per
 * function lookup, the PL and SQL functions of other owners; only those
 * are called through the hook, which keeps a stack of the foreign owners
 * running now.  PostgreSQL does not inline a hooked SQL function, so its
 * body cannot melt into the reader's query.  START and END/ABORT always
 * pair (fmgr_security_definer calls ABORT before it re-throws).  The stack
 * is never cleared behind their back: a procedure may COMMIT or ROLLBACK
 * while it runs, and stays foreign; were a pair ever lost, reads would be
 * denied (fail closed), never allowed.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/transam.h"
#include "access/xact.h"
#include "catalog/pg_language.h"
#include "catalog/pg_proc.h"
#include "miscadmin.h"
#include "utils/memutils.h"
#include "utils/syscache.h"

#include "catalog.h"
#include "decision.h"
#include "foreign_code.h"
#include "statement.h"

/* One entry per hooked call now running: its owner if foreign, else InvalidOid. */
static Oid *running = NULL;
static int	running_len = 0;
static int	running_cap = 0;

/*
 * The answers of user_code_owner for the functions met lately, direct
 * mapped by OID: every statement looks up the functions of its plan again
 * (a row policy's predicate, an output function), and most are ours or
 * built in.  Emptied when any function changes (its owner, its language:
 * catalog.c's CG_INVAL_OBJECTS, on every pg_proc invalidation), so it is
 * never staler than the syscache it replaces.
 */
#define OWNER_MEMO_SIZE 64
typedef struct OwnerMemo
{
	Oid			fn_oid;			/* InvalidOid: empty */
	Oid			owner;
} OwnerMemo;
static OwnerMemo owner_memo[OWNER_MEMO_SIZE];

static void
owner_memo_flush(int kinds, Oid relid)
{
	memset(owner_memo, 0, sizeof(owner_memo));
}

/* From _PG_init: the memo follows pg_proc. */
void
cg_foreign_code_init(void)
{
	cg_catalog_on_invalidation(owner_memo_flush, CG_INVAL_OBJECTS);
}

/* The owner of a user-defined PL or SQL function, or InvalidOid. */
static Oid
user_code_owner(Oid fn_oid)
{
	HeapTuple	tuple;
	Form_pg_proc proc;
	Oid			owner = InvalidOid;
	OwnerMemo  *m;

	if (fn_oid < FirstNormalObjectId || !IsTransactionState())
		return InvalidOid;
	m = &owner_memo[fn_oid % OWNER_MEMO_SIZE];
	if (m->fn_oid == fn_oid)
		return m->owner;
	tuple = SearchSysCache1(PROCOID, ObjectIdGetDatum(fn_oid));
	if (!HeapTupleIsValid(tuple))
		return InvalidOid;
	proc = (Form_pg_proc) GETSTRUCT(tuple);
	if (proc->prolang != INTERNALlanguageId && proc->prolang != ClanguageId)
		owner = proc->proowner;
	ReleaseSysCache(tuple);
	/* the syscache lookup may have processed an invalidation: the slot is refilled after it */
	m->fn_oid = fn_oid;
	m->owner = owner;
	return owner;
}

/* An owner whose code may read under the statement's context. */
static bool
trusted_owner(Oid owner)
{
	return owner == GetSessionUserId() || superuser_arg(owner);
}

/*
 * needs_fmgr_hook: PL and SQL functions whose owner is not trusted.  Once
 * per function lookup (plans cache the answer), not per call.
 */
bool
cg_foreign_code_needs_hook(Oid fn_oid)
{
	Oid			owner = user_code_owner(fn_oid);

	return OidIsValid(owner) && !trusted_owner(owner);
}

/* The innermost foreign owner on the stack, or InvalidOid. */
static Oid
innermost_foreign(void)
{
	for (int i = running_len - 1; i >= 0; i--)
		if (OidIsValid(running[i]))
			return running[i];
	return InvalidOid;
}

/*
 * fmgr_hook: keep the stack of running calls, and the statement's
 * foreign_depth (foreign entries on the stack) and foreign_owner (the
 * innermost one's owner).
 */
void
cg_foreign_code_hook(FmgrHookEventType event, FmgrInfo *flinfo)
{
	CgStatement *st = cg_statement();

	if (event == FHET_START)
	{
		Oid			owner = user_code_owner(flinfo->fn_oid);

		if (OidIsValid(owner) &&
			(trusted_owner(owner) || owner == cg_decision_role()))
			owner = InvalidOid;
		if (running_len == running_cap)
		{
			int			cap = running_cap == 0 ? 16 : running_cap * 2;

			running = running == NULL ?
				MemoryContextAlloc(TopMemoryContext, cap * sizeof(Oid)) :
				repalloc(running, cap * sizeof(Oid));
			running_cap = cap;
		}
		running[running_len++] = owner;
		if (OidIsValid(owner))
		{
			st->foreign_depth++;
			st->foreign_owner = owner;
		}
	}
	else if (running_len > 0)
	{
		/* FHET_END or FHET_ABORT: the innermost call is over */
		if (OidIsValid(running[--running_len]))
		{
			st->foreign_depth--;
			st->foreign_owner = st->foreign_depth > 0 ? innermost_foreign() : InvalidOid;
		}
	}
}
