/*-------------------------------------------------------------------------
 *
 * server_files_guard.h
 *	  Refusing SQL routes to the master key's files for non-superusers.
 *
 *-------------------------------------------------------------------------
 */
#ifndef CHILDGUARD_SERVER_FILES_GUARD_H
#define CHILDGUARD_SERVER_FILES_GUARD_H

#include "postgres.h"

#include "access/transam.h"
#include "nodes/nodes.h"

extern void cg_server_files_utility(Node *parsetree);
extern void cg_server_files_function_execute(Oid funcid);

/* the listed functions as bits by OID (made at the first call of the above) */
extern PGDLLIMPORT uint8 cg_server_files_listed[];
extern PGDLLIMPORT bool cg_server_files_listed_made;

/*
 * Whether cg_server_files_function_execute(funcid) has anything to check:
 * the object-access hook runs for every function a plan initialises, and
 * this test keeps the call out of the common case.
 */
static inline bool
cg_server_files_may_refuse(Oid funcid)
{
	return funcid < FirstGenbkiObjectId &&
		(!cg_server_files_listed_made ||
		 (cg_server_files_listed[funcid / 8] & (1 << (funcid % 8))) != 0);
}

#endif							/* CHILDGUARD_SERVER_FILES_GUARD_H */
