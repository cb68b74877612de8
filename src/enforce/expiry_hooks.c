/*-------------------------------------------------------------------------
 *
 * expiry_hooks.c
 *	  Running one expiry hook for childguard.erase() (sql part 21): the
 *	  hook function runs as its owner, inside a security-restricted
 *	  operation (no SET ROLE, no temporary objects, no deferred work
 *	  outliving it), with its own GUC nesting level, and with a flag set
 *	  that refuses an erasure started from inside a hook (ZC323: a hook
 *	  cannot erase, nor recurse into the erasure that called it).  The
 *	  subtransaction that keeps a failing hook from stopping the erasure is
 *	  the caller's (PL/pgSQL's EXCEPTION block); the flag is reset on the
 *	  way out by PG_FINALLY, so an error leaves it clear.
 *
 *	  A hook gets the table, the child's id and the reason, never a value;
 *	  what it reads of child data is decided as foreign code (foreign_code.c:
 *	  another owner's function inside the statement reads nothing).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "catalog/pg_proc.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/syscache.h"

#include "childguard_errcodes.h"

static int	hook_depth = 0;

PG_FUNCTION_INFO_V1(cg_not_in_expiry_hook);
Datum
cg_not_in_expiry_hook(PG_FUNCTION_ARGS)
{
	if (hook_depth > 0)
		ereport(ERROR,
				(errcode(ERRCODE_CG_ERASE_IN_HOOK),
				 errmsg("cannot erase child data from inside an expiry hook"),
				 errdetail("An expiry hook is told about an erasure; it cannot start one."),
				 errhint("Erase from the session that runs the erasure, or let the retention worker do it.")));
	PG_RETURN_VOID();
}

PG_FUNCTION_INFO_V1(cg_run_expiry_hook);
Datum
cg_run_expiry_hook(PG_FUNCTION_ARGS)
{
	Oid			fn;
	Oid			owner;
	HeapTuple	tup;
	Oid			save_userid;
	int			save_sec_context;
	int			save_nestlevel;
	LOCAL_FCINFO(hook_fcinfo, 3);
	FmgrInfo	flinfo;

	if (PG_ARGISNULL(0) || PG_ARGISNULL(2) || PG_ARGISNULL(3))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("expiry hook, child and reason are required")));
	fn = PG_GETARG_OID(0);
	tup = SearchSysCache1(PROCOID, ObjectIdGetDatum(fn));
	if (!HeapTupleIsValid(tup))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_FUNCTION),
				 errmsg("expiry hook function %u does not exist", fn),
				 errhint("Unregister the hook with childguard.unregister_expiry_hook().")));
	owner = ((Form_pg_proc) GETSTRUCT(tup))->proowner;
	ReleaseSysCache(tup);

	fmgr_info(fn, &flinfo);
	InitFunctionCallInfoData(*hook_fcinfo, &flinfo, 3, InvalidOid, NULL, NULL);
	hook_fcinfo->args[0].value = PG_GETARG_DATUM(1);
	hook_fcinfo->args[0].isnull = PG_ARGISNULL(1);
	hook_fcinfo->args[1].value = PG_GETARG_DATUM(2);
	hook_fcinfo->args[1].isnull = false;
	hook_fcinfo->args[2].value = PG_GETARG_DATUM(3);
	hook_fcinfo->args[2].isnull = false;

	GetUserIdAndSecContext(&save_userid, &save_sec_context);
	SetUserIdAndSecContext(owner, save_sec_context |
						   SECURITY_LOCAL_USERID_CHANGE |
						   SECURITY_RESTRICTED_OPERATION);
	save_nestlevel = NewGUCNestLevel();
	hook_depth++;
	PG_TRY();
	{
		(void) FunctionCallInvoke(hook_fcinfo);
	}
	PG_FINALLY();
	{
		hook_depth--;
	}
	PG_END_TRY();
	AtEOXact_GUC(false, save_nestlevel);
	SetUserIdAndSecContext(save_userid, save_sec_context);
	PG_RETURN_VOID();
}
