/*-------------------------------------------------------------------------
 *
 * statement.h
 *	  What the current top-level statement has done to child data: the
 *	  distinct children whose values it decrypted, was denied, or wrote.
 *	  The read decision uses it for the per-statement limit on distinct
 *	  children; the audit trail records it once per statement.
 *
 *-------------------------------------------------------------------------
 */
#ifndef CHILDGUARD_STATEMENT_H
#define CHILDGUARD_STATEMENT_H

#include "postgres.h"

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

typedef void (*CgStatementSubjectFn) (uint64 subject_no, int accesses, void *arg);

/* called when a statement notes its first access, before it is noted (audit) */
typedef void (*CgStatementFirstAccessHook) (void);
extern PGDLLIMPORT CgStatementFirstAccessHook cg_statement_first_access_hook;

extern void cg_statement_begin(void);
extern uint64 cg_statement_id(void);
extern int	cg_statement_nesting(void);
extern void cg_statement_enter(void);
extern void cg_statement_leave(void);
extern void cg_statement_note(uint64 subject_no, CgAccess access);
extern void cg_statement_attempt(void);
extern bool cg_statement_noted(uint64 subject_no, CgAccess access);
extern int	cg_statement_count(CgAccess access);
extern int	cg_statement_accesses(void);
extern void cg_statement_foreach(CgStatementSubjectFn fn, void *arg);

#endif							/* CHILDGUARD_STATEMENT_H */
