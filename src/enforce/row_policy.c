/*-------------------------------------------------------------------------
 *
 * row_policy.c
 *	  childguard.row_visible(child text): the predicate of the row-level
 *	  security policies protect() puts on a table.  A row is visible when
 *	  the statement's purpose may use its child's data (decision.c): rows
 *	  of children without consent, or with no purpose declared, are
 *	  invisible.  Rows withheld are noted as denied for the audit trail.
 *	  The rows of a DELETE's target are visible to it (delete_rows.c).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "fmgr.h"
#include "utils/builtins.h"

#include "citus_node.h"
#include "decision.h"
#include "delete_rows.h"

PG_FUNCTION_INFO_V1(cg_row_visible);
Datum
cg_row_visible(PG_FUNCTION_ARGS)
{
	char	   *child_id;
	bool		visible;

	if (PG_ARGISNULL(0))
		PG_RETURN_BOOL(false);
	/* a Citus worker decides nothing: the coordinator decides each value */
	if (cg_citus_worker())
		PG_RETURN_BOOL(true);
	/* a DELETE sees all of its target's rows (delete_rows.c) */
	if (cg_delete_target_row(fcinfo))
		PG_RETURN_BOOL(true);
	child_id = text_to_cstring(PG_GETARG_TEXT_PP(0));
	visible = cg_decide_row(child_id);
	pfree(child_id);
	PG_RETURN_BOOL(visible);
}
