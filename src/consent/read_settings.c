/*-------------------------------------------------------------------------
 *
 * read_settings.c
 *	  Settings that shape reads of child data: their definitions and
 *	  current values, nothing else.  What a statement decides under (the
 *	  purpose it started with, its grant) is decision.c's.
 *
 *	  childguard.purpose       the session's declared purpose (USERSET: the
 *	                           application declares it; checked against the
 *	                           registry and the role's grants, see decision.c;
 *	                           a statement decides under the value in force
 *	                           when it starts)
 *	  childguard.denied_read   what a denied value shows: error, null, mask
 *	                           (USERSET: none of them shows plaintext)
 *	  childguard.denied_mask   the mask text
 *	  childguard.max_children_per_statement
 *	                           distinct children one statement may decrypt
 *	                           unless a grant sets its own (0: no limit, the
 *	                           default from 1.4: a per-statement count stops
 *	                           class lists, not copying; the per-grant
 *	                           windows do that, grant_windows.c; SIGHUP,
 *	                           superuser)
 *	  childguard.max_children_per_session
 *	                           distinct children one session may decrypt in
 *	                           all (0: no limit; SIGHUP, superuser)
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <limits.h>

#include "utils/guc.h"

#include "read_settings.h"

static char *session_purpose = NULL;
static int	denied_read = CG_DENIED_ERROR;
static char *denied_mask = NULL;
static int	max_children_per_statement = 0;
static int	max_children_per_session = 0;

static const struct config_enum_entry denied_read_options[] = {
	{"error", CG_DENIED_ERROR, false},
	{"null", CG_DENIED_NULL, false},
	{"mask", CG_DENIED_MASK, false},
	{NULL, 0, false}
};

/*
 * From _PG_init.  purpose_check is the purpose setting's check hook
 * (decision.c's: it knows the registry and the grants), passed in so that
 * settings sit below the decision that reads them.
 */
void
cg_read_settings_define_gucs(GucStringCheckHook purpose_check)
{
	DefineCustomStringVariable("childguard.purpose",
							   "The purpose for which this session processes child data.",
							   "Without a purpose, child data is shown only in its encrypted form and rows of protected tables are invisible.",
							   &session_purpose, "", PGC_USERSET, 0,
							   purpose_check, NULL, NULL);
	DefineCustomEnumVariable("childguard.denied_read",
							 "What a child data value shows when reading it is denied.",
							 "error raises SQLSTATE ZC105; null shows NULL in query results; mask shows childguard.denied_mask.",
							 &denied_read, CG_DENIED_ERROR, denied_read_options,
							 PGC_USERSET, 0, NULL, NULL, NULL);
	DefineCustomStringVariable("childguard.denied_mask",
							   "The text shown for a denied child data value when childguard.denied_read = mask.",
							   NULL, &denied_mask, "[withheld]", PGC_USERSET, 0,
							   NULL, NULL, NULL);
	DefineCustomIntVariable("childguard.max_children_per_statement",
							"How many distinct children's data one statement may decrypt (0: no limit).",
							"0: no limit.  An access grant's max_children sets its own; bulk copying is limited per grant per hour and per day (childguard.set_grant_limits).",
							&max_children_per_statement, 0, 0, INT_MAX,
							PGC_SIGHUP, GUC_SUPERUSER_ONLY, NULL, NULL, NULL);
	DefineCustomIntVariable("childguard.max_children_per_session",
							"How many distinct children's data one session may decrypt in all (0: no limit).",
							"A guard against copying through many small statements, e.g. a cursor fetched in chunks (Art 15).",
							&max_children_per_session, 0, 0, INT_MAX,
							PGC_SIGHUP, GUC_SUPERUSER_ONLY, NULL, NULL, NULL);
}

/*
 * The session's setting as it is now, or NULL.  Only decision.c reads it,
 * when a statement begins: within a statement the purpose that counts is
 * the one the statement started with (cg_decision_purpose).
 */
const char *
cg_session_purpose(void)
{
	return session_purpose != NULL && session_purpose[0] != '\0' ? session_purpose : NULL;
}

CgDeniedRead
cg_denied_read(void)
{
	return (CgDeniedRead) denied_read;
}

const char *
cg_denied_mask(void)
{
	return denied_mask ? denied_mask : "";
}

int
cg_max_children_per_statement(void)
{
	return max_children_per_statement;
}

int
cg_max_children_per_session(void)
{
	return max_children_per_session;
}
