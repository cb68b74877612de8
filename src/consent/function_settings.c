/*-------------------------------------------------------------------------
 *
 * function_settings.c
 *	  Refuses functions and procedures whose SET clause names
 *	  childguard.purpose.
 *
 * A statement's decision context is fixed when it starts (decision.c), so
 * a function's SET clause could never switch the purpose its reads are
 * decided under; but such a clause would still change the session's
 * setting for its duration, which then shows in SHOW, in current_setting()
 * and in the settings copied to parallel workers, and invites code written
 * as if it worked.  CREATE FUNCTION / CREATE PROCEDURE with such a clause,
 * and ALTER FUNCTION / ALTER PROCEDURE / ALTER ROUTINE ... SET of it, are
 * refused for every role and every language.  Functions created before
 * (childguard 1.0 did not refuse them) stay harmless: their SET clause
 * changes nothing a statement decides under.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "nodes/parsenodes.h"

#include "childguard_errcodes.h"
#include "function_settings.h"

#define PURPOSE_SETTING "childguard.purpose"

static void
check_set(const VariableSetStmt *set)
{
	/* RESET removes a clause: always allowed */
	if (set == NULL || set->name == NULL || set->kind == VAR_RESET ||
		set->kind == VAR_RESET_ALL ||
		pg_strcasecmp(set->name, PURPOSE_SETTING) != 0)
		return;
	ereport(ERROR,
			(errcode(ERRCODE_CG_PURPOSE_IN_FUNCTION),
			 errmsg("a function cannot set \"%s\"", PURPOSE_SETTING),
			 errdetail("The purpose a statement reads child data for is fixed when the statement starts; a function's SET clause cannot change it."),
			 errhint("Declare the purpose with SET childguard.purpose before the statement that calls the function.")));
}

/* Check a utility statement that may attach settings to a function. */
void
cg_function_settings_check(Node *stmt)
{
	ListCell   *lc;
	List	   *items;

	if (stmt == NULL)
		return;
	if (IsA(stmt, CreateFunctionStmt))
		items = ((CreateFunctionStmt *) stmt)->options;
	else if (IsA(stmt, AlterFunctionStmt))
		items = ((AlterFunctionStmt *) stmt)->actions;
	else
		return;
	foreach(lc, items)
	{
		DefElem    *d = lfirst_node(DefElem, lc);

		if (strcmp(d->defname, "set") != 0 || d->arg == NULL)
			continue;
		if (IsA(d->arg, VariableSetStmt))
			check_set((VariableSetStmt *) d->arg);
		else if (IsA(d->arg, List))
		{
			ListCell   *lc2;

			foreach(lc2, (List *) d->arg)
				check_set(lfirst_node(VariableSetStmt, lc2));
		}
	}
}
