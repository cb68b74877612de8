/*-------------------------------------------------------------------------
 *
 * role_release.c
 *	  When a role's ties to childguard end (DROP OWNED BY, DROP ROLE), say
 *	  so in the registries of the current database.
 *
 * A role tied to a duty holds EXECUTE on childguard._role_anchor()
 * (identity.c); once that is gone its officer appointment, enrollments and
 * grants are dead whatever the registries say.  After DROP OWNED BY or
 * DROP ROLE succeeds here, childguard._role_released(oid) records it:
 * appointments and enrollments are removed and grants revoked, each with a
 * role_event row.  The function does nothing for a role that still holds
 * its anchor, so it is safe for anyone to call.  Other databases record
 * it at their own DROP OWNED BY (which DROP ROLE needs there first).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"
#include "fmgr.h"
#include "nodes/parsenodes.h"
#include "utils/acl.h"
#include "utils/snapmgr.h"

#include "catalog.h"
#include "role_release.h"

/* The role OIDs a DROP OWNED BY / DROP ROLE names (before it runs). */
List *
cg_role_release_targets(Node *parsetree)
{
	List	   *specs;
	List	   *oids = NIL;
	ListCell   *lc;

	if (parsetree == NULL)
		return NIL;
	if (IsA(parsetree, DropOwnedStmt))
		specs = ((DropOwnedStmt *) parsetree)->roles;
	else if (IsA(parsetree, DropRoleStmt))
		specs = ((DropRoleStmt *) parsetree)->roles;
	else
		return NIL;
	if (!cg_catalog()->present)
		return NIL;
	foreach(lc, specs)
	{
		Oid			role = get_rolespec_oid(lfirst(lc), true);

		if (OidIsValid(role))
			oids = lappend_oid(oids, role);
	}
	return oids;
}

/*
 * The statement succeeded: record the release of each role.  The function
 * is called directly (no SPI, so no privilege on our schema is needed: any
 * role that may DROP OWNED BY may have its effect recorded); it is
 * SECURITY DEFINER and does nothing for a role still anchored.
 */
void
cg_role_release_record(List *roles)
{
	Oid			fn;
	ListCell   *lc;
	bool		pushed = false;

	if (roles == NIL)
		return;
	fn = cg_catalog()->role_released_function;
	if (!OidIsValid(fn))
		return;
	/* see the statement's own catalog changes (the revoked anchor) */
	CommandCounterIncrement();
	if (!ActiveSnapshotSet())
	{
		PushActiveSnapshot(GetTransactionSnapshot());
		pushed = true;
	}
	foreach(lc, roles)
		OidFunctionCall1(fn, ObjectIdGetDatum(lfirst_oid(lc)));
	if (pushed)
		PopActiveSnapshot();
}
