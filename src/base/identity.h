/*-------------------------------------------------------------------------
 *
 * identity.h
 *	  Roles by OID: whether a role we recorded is still the same role, and
 *	  whether two roles count as one person for separation of duties.
 *
 *-------------------------------------------------------------------------
 */
#ifndef CHILDGUARD_IDENTITY_H
#define CHILDGUARD_IDENTITY_H

#include "postgres.h"

extern bool cg_roles_related(Oid a, Oid b);
extern bool cg_role_anchored(Oid role);

#endif							/* CHILDGUARD_IDENTITY_H */
