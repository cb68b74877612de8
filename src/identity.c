/*-------------------------------------------------------------------------
 *
 * identity.c
 *	  childguard._caller(): who is asking.  The session's role as set by
 *	  SET ROLE, which SECURITY DEFINER functions (ours included) do not
 *	  change: officer checks and the two-person rule use it, so a function
 *	  or view owned by someone else cannot lend its owner's standing.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "fmgr.h"
#include "miscadmin.h"
#include "utils/builtins.h"

PG_FUNCTION_INFO_V1(cg_caller);
Datum
cg_caller(PG_FUNCTION_ARGS)
{
	PG_RETURN_DATUM(DirectFunctionCall1(namein,
										CStringGetDatum(GetUserNameFromId(GetOuterUserId(), false))));
}
