/*-------------------------------------------------------------------------
 *
 * protection_guard.h
 *	  DDL that would leave a protected table unprotected is refused, and
 *	  childguard's own objects change only through its scripts.
 *
 *-------------------------------------------------------------------------
 */
#ifndef CHILDGUARD_PROTECTION_GUARD_H
#define CHILDGUARD_PROTECTION_GUARD_H

#include "postgres.h"

#include "catalog/objectaccess.h"
#include "nodes/nodes.h"

extern void cg_protection_guard_utility_begin(Node *stmt);
extern void cg_protection_guard_statement_end(void);
extern void cg_protection_guard_object_access(ObjectAccessType access, Oid classId,
											  Oid objectId, int subId, void *arg);
extern void cg_protection_guard_init(void);

#endif							/* CHILDGUARD_PROTECTION_GUARD_H */
