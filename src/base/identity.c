/*-------------------------------------------------------------------------
 *
 * identity.c
 *	  Who is asking, and whether two roles are the same person for the
 *	  two-person rule and the separation of consent from reading.
 *
 *	  childguard._caller(): the session's role as set by SET ROLE, which
 *	  SECURITY DEFINER functions (ours included) do not change: officer
 *	  checks and the two-person rule use it, so a function or view owned by
 *	  someone else cannot lend its owner's standing.
 *
 *	  Registries tie duties to role OIDs (never names), and a role's OID
 *	  only counts while the role still holds EXECUTE on the anchor function
 *	  childguard._role_anchor(), granted when the role is first tied.  That
 *	  privilege is a pg_shdepend entry in this database: DROP ROLE fails in
 *	  every database until someone revokes it here (DROP OWNED BY), so a
 *	  dropped role's OID, even if reused after wrap-around, never inherits
 *	  what its predecessor held (see docs/security.md, section 5).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "catalog/pg_proc.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "utils/acl.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/syscache.h"

#include "catalog.h"
#include "identity.h"

PG_FUNCTION_INFO_V1(cg_caller);
Datum
cg_caller(PG_FUNCTION_ARGS)
{
	PG_RETURN_DATUM(DirectFunctionCall1(namein,
										CStringGetDatum(GetUserNameFromId(GetOuterUserId(), false))));
}

/* childguard._caller_oid(): the same role as _caller(), by OID. */
PG_FUNCTION_INFO_V1(cg_caller_oid);
Datum
cg_caller_oid(PG_FUNCTION_ARGS)
{
	PG_RETURN_OID(GetOuterUserId());
}

/* childguard._session_oid(): the role that logged in. */
PG_FUNCTION_INFO_V1(cg_session_oid);
Datum
cg_session_oid(PG_FUNCTION_ARGS)
{
	PG_RETURN_OID(GetSessionUserId());
}

/*
 * Are a and b the same person for separation of duties: the same role, or
 * one a member of the other at any depth (whatever INHERIT says, since a
 * member can SET ROLE).  Superuser status does not count: a superuser is
 * outside the model (docs/security.md, section 5).
 */
bool
cg_roles_related(Oid a, Oid b)
{
	if (!OidIsValid(a) || !OidIsValid(b))
		return false;
	return a == b || is_member_of_role_nosuper(a, b) || is_member_of_role_nosuper(b, a);
}

PG_FUNCTION_INFO_V1(cg_roles_related_sql);
Datum
cg_roles_related_sql(PG_FUNCTION_ARGS)
{
	PG_RETURN_BOOL(cg_roles_related(PG_GETARG_OID(0), PG_GETARG_OID(1)));
}

/*
 * Does the role still exist and hold its anchor (EXECUTE granted directly
 * on childguard._role_anchor())?  Without the anchor function (the 1.0
 * schema) only existence counts.
 */
bool
cg_role_anchored(Oid role)
{
	Oid			anchor = cg_catalog()->role_anchor_function;
	HeapTuple	tuple;
	Datum		aclDatum;
	bool		isnull;
	bool		found = false;

	if (!OidIsValid(role) || !SearchSysCacheExists1(AUTHOID, ObjectIdGetDatum(role)))
		return false;
	if (!OidIsValid(anchor))
		return true;
	tuple = SearchSysCache1(PROCOID, ObjectIdGetDatum(anchor));
	if (!HeapTupleIsValid(tuple))
		return true;
	aclDatum = SysCacheGetAttr(PROCOID, tuple, Anum_pg_proc_proacl, &isnull);
	if (!isnull)
	{
		Acl		   *acl = DatumGetAclP(aclDatum);
		AclItem    *items = ACL_DAT(acl);

		for (int i = 0; i < ACL_NUM(acl) && !found; i++)
			found = items[i].ai_grantee == role &&
				(ACLITEM_GET_PRIVS(items[i]) & ACL_EXECUTE) != 0;
	}
	ReleaseSysCache(tuple);
	return found;
}

PG_FUNCTION_INFO_V1(cg_role_alive);
Datum
cg_role_alive(PG_FUNCTION_ARGS)
{
	PG_RETURN_BOOL(cg_role_anchored(PG_GETARG_OID(0)));
}

/*
 * childguard._role_xmin(oid): the transaction that last wrote the role's
 * pg_authid row (created, renamed or altered it).  The 1.1 upgrade uses it
 * to refuse binding a 1.0 entry, stored by name, to a role written after
 * the entry: that may be another role under the old name.
 */
PG_FUNCTION_INFO_V1(cg_role_xmin);
Datum
cg_role_xmin(PG_FUNCTION_ARGS)
{
	HeapTuple	tuple = SearchSysCache1(AUTHOID, ObjectIdGetDatum(PG_GETARG_OID(0)));
	TransactionId xmin;

	if (!HeapTupleIsValid(tuple))
		PG_RETURN_NULL();
	xmin = HeapTupleHeaderGetXmin(tuple->t_data);
	ReleaseSysCache(tuple);
	PG_RETURN_TRANSACTIONID(xmin);
}
