/*-------------------------------------------------------------------------
 *
 * read_policy.c
 *	  Deciding, when a value is about to be shown or compared, whether its
 *	  plaintext may be used.  Without a declared purpose (pg_dump,
 *	  replication, maintenance) a value is shown as its envelope, which
 *	  text input accepts back unchanged.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "utils/guc.h"

#include "read_policy.h"

static char *session_purpose = NULL;

void
cg_read_policy_define_gucs(void)
{
	DefineCustomStringVariable("childguard.purpose",
							   "The purpose for which this session processes child data.",
							   "Without a purpose, child data is shown only in its encrypted form.",
							   &session_purpose, "", PGC_USERSET, 0,
							   NULL, NULL, NULL);
}

bool
cg_purpose_declared(void)
{
	return session_purpose != NULL && session_purpose[0] != '\0';
}

/* The session's declared purpose, or NULL; for the audit record. */
const char *
cg_current_purpose(void)
{
	return cg_purpose_declared() ? session_purpose : NULL;
}

/* The staff grant the current statement reads under, or 0 if none. */
int64
cg_current_grant_id(void)
{
	return 0;
}

/* What the session may see of this value now. */
CgReadAction
cg_read_decide(const CgEnvelope *env)
{
	if (!cg_purpose_declared())
		return CG_READ_ENVELOPE;
	return CG_READ_PLAINTEXT;
}
