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

#include "nodes/nodes.h"

extern void cg_server_files_utility(Node *parsetree);
extern void cg_server_files_function_execute(Oid funcid);

#endif							/* CHILDGUARD_SERVER_FILES_GUARD_H */
