/*-------------------------------------------------------------------------
 *
 * role_release.h
 *	  Recording in the registries that a role's ties ended (DROP OWNED BY,
 *	  DROP ROLE).
 *
 *-------------------------------------------------------------------------
 */
#ifndef CHILDGUARD_ROLE_RELEASE_H
#define CHILDGUARD_ROLE_RELEASE_H

#include "postgres.h"

#include "nodes/pg_list.h"

extern List *cg_role_release_targets(Node *parsetree);
extern void cg_role_release_record(List *roles);

#endif							/* CHILDGUARD_ROLE_RELEASE_H */
