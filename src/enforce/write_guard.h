/*-------------------------------------------------------------------------
 *
 * write_guard.h
 *	  Refusing to write child data anywhere but a protected table.
 *
 *-------------------------------------------------------------------------
 */
#ifndef CHILDGUARD_WRITE_GUARD_H
#define CHILDGUARD_WRITE_GUARD_H

#include "postgres.h"

#include "executor/execdesc.h"
#include "nodes/parsenodes.h"

extern void cg_write_guard_executor_start(QueryDesc *queryDesc);
extern void cg_write_guard_utility_begin(Node *stmt);
extern void cg_write_guard_check_plaintext_input(void);

#endif							/* CHILDGUARD_WRITE_GUARD_H */
