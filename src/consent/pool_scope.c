/*-------------------------------------------------------------------------
 *
 * pool_scope.c
 *	  Purposes and end users for applications behind a connection pool
 *	  (docs/security.md, "Pools"): transaction-scoped purposes, a setting
 *	  that refuses session-level ones, the end user recorded in each audit
 *	  record, and what a read without a purpose says.
 *
 *	  childguard.session_purpose  allow | refuse (superuser; ALTER SYSTEM,
 *	                              ALTER ROLE/DATABASE ... SET).  refuse:
 *	                              childguard.purpose and childguard.end_user
 *	                              hold only for the transaction that set
 *	                              them (SET LOCAL, set_config(..., true),
 *	                              childguard.set_purpose(p, local => true))
 *	  childguard.end_user         who the application acts for (USERSET, up
 *	                              to 128 printable characters); frozen when a
 *	                              top-level statement begins, like the
 *	                              purpose, and recorded in its audit record
 *	  childguard.no_purpose       silent | notice | error: what a read of a
 *	                              protected table without a purpose says
 *	                              (once per statement)
 *
 * How "session-level" is told apart.  A GUC's check hook does not learn
 * whether a SET is LOCAL, so the scope is read from the GUC machinery's own
 * record of the value: its source and its stack of saved values
 * (utils/guc_tables.h).  A value is transaction-scoped when the innermost
 * stack entry says SET LOCAL (GUC_LOCAL or GUC_SET_LOCAL); it is
 * session-level when it was set by SET without LOCAL (GUC_SET), or came
 * from outside any transaction (no stack entry: a connection option or
 * PGOPTIONS, ALTER ROLE/DATABASE ... SET, the configuration file, or a SET
 * committed earlier).  Under refuse:
 *	  - SET without LOCAL of either setting (but to '' or DEFAULT, which
 *	    clear it), and ALTER ROLE/DATABASE/SYSTEM ... SET of either, are
 *	    refused at once (ZC422, utility hook);
 *	  - a commit that would leave either set for the session (set_config(...,
 *	    false), SET inside a function body) fails (ZC422, pre-commit
 *	    callback), which rolls the setting back with the transaction;
 *	  - a statement that would decide reads under a session-level purpose or
 *	    end user (one from the connection, the role, the database) is
 *	    refused (ZC422) before it reads anything.
 * So a pooled server connection never carries a purpose or an end user from
 * one client's transaction into the next client's.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"
#include "nodes/parsenodes.h"
#include "utils/guc.h"
#include "utils/guc_tables.h"

#include "childguard_errcodes.h"
#include "pool_scope.h"

#define END_USER_MAX 128

typedef enum CgSessionPurpose
{
	CG_SESSION_PURPOSE_ALLOW,
	CG_SESSION_PURPOSE_REFUSE
} CgSessionPurpose;

static const struct config_enum_entry session_purpose_options[] = {
	{"allow", CG_SESSION_PURPOSE_ALLOW, false},
	{"refuse", CG_SESSION_PURPOSE_REFUSE, false},
	{NULL, 0, false}
};

static const struct config_enum_entry no_purpose_options[] = {
	{"silent", CG_NO_PURPOSE_SILENT, false},
	{"notice", CG_NO_PURPOSE_NOTICE, false},
	{"error", CG_NO_PURPOSE_ERROR, false},
	{NULL, 0, false}
};

static int	session_purpose = CG_SESSION_PURPOSE_ALLOW;
static int	no_purpose = CG_NO_PURPOSE_NOTICE;
static char *end_user = NULL;

/* the GUC records of childguard.purpose and childguard.end_user */
static struct config_generic *purpose_gconf = NULL;
static struct config_generic *end_user_gconf = NULL;

/* what the current top-level statement froze */
static uint64 frozen_statement = 0;
static char frozen_end_user[END_USER_MAX + 1];
static bool frozen_has_end_user = false;
static bool frozen_session_level = false;	/* refuse: a session-level value in force */
static const char *frozen_session_setting = NULL;
static uint64 no_purpose_said = 0;	/* the statement that was told */

/* childguard.end_user: printable, bounded, no plaintext-looking garbage */
static bool
check_end_user(char **newval, void **extra, GucSource source)
{
	const unsigned char *p;

	if (*newval == NULL)
		return true;
	if (strlen(*newval) > END_USER_MAX)
	{
		GUC_check_errcode(ERRCODE_CG_INVALID_END_USER);
		GUC_check_errdetail("The end user is %d bytes long; at most %d are allowed.",
							(int) strlen(*newval), END_USER_MAX);
		GUC_check_errhint("Give the application's identifier for its user, not personal data.");
		return false;
	}
	for (p = (const unsigned char *) *newval; *p; p++)
		if (*p < 0x20 || *p == 0x7f)
		{
			GUC_check_errcode(ERRCODE_CG_INVALID_END_USER);
			GUC_check_errdetail("The end user contains a control character.");
			GUC_check_errhint("Give the application's identifier for its user, not personal data.");
			return false;
		}
	return true;
}

static struct config_generic *
find_gconf(const char *name)
{
	struct config_generic **vars = get_guc_variables();
	int			n = GetNumConfigOptions();

	for (int i = 0; i < n; i++)
		if (strcmp(vars[i]->name, name) == 0)
			return vars[i];
	elog(ERROR, "setting \"%s\" is not defined", name);
	return NULL;				/* not reached */
}

/* Would the commit now leave the setting set for the session by SET? */
static bool
set_for_session_in_transaction(const struct config_generic *gconf)
{
	const struct config_string *conf = (const struct config_string *) gconf;

	for (GucStack *s = gconf->stack; s != NULL; s = s->prev)
	{
		if (s->state == GUC_SET && *conf->variable != NULL && (*conf->variable)[0] != '\0')
			return true;
		if (s->state == GUC_SET_LOCAL && s->masked.val.stringval != NULL &&
			s->masked.val.stringval[0] != '\0')
			return true;
	}
	return false;
}

/* Is the value in force now a session-level one (see the header)? */
static bool
session_level_now(const struct config_generic *gconf)
{
	const struct config_string *conf = (const struct config_string *) gconf;

	if (*conf->variable == NULL || (*conf->variable)[0] == '\0')
		return false;
	if (gconf->stack == NULL)
		return true;
	return !(gconf->stack->state == GUC_LOCAL || gconf->stack->state == GUC_SET_LOCAL);
}

static void
refuse(const char *setting, const char *how)
{
	ereport(ERROR,
			(errcode(ERRCODE_CG_SESSION_PURPOSE_REFUSED),
			 errmsg("cannot set %s for the session", setting),
			 errdetail("childguard.session_purpose is refuse: %s holds only for the transaction that sets it (%s).",
					   setting, how),
			 errhint("Inside a transaction use SET LOCAL %s = ... (or set_config('%s', ..., true)).",
					 setting, setting)));
}

/* At commit: refuse to leave a purpose or end user set for the session. */
static void
pool_scope_xact_callback(XactEvent event, void *arg)
{
	/* a prepared transaction's session keeps its settings too */
	if (event != XACT_EVENT_PRE_COMMIT && event != XACT_EVENT_PRE_PREPARE)
		return;
	if (session_purpose != CG_SESSION_PURPOSE_REFUSE || purpose_gconf == NULL)
		return;
	if (set_for_session_in_transaction(purpose_gconf))
		refuse("childguard.purpose", "the transaction would leave it set for the session; the commit is refused and the transaction rolled back");
	if (set_for_session_in_transaction(end_user_gconf))
		refuse("childguard.end_user", "the transaction would leave it set for the session; the commit is refused and the transaction rolled back");
}

/* From _PG_init. */
void
cg_pool_scope_define_gucs(void)
{
	DefineCustomEnumVariable("childguard.session_purpose",
							 "Whether childguard.purpose and childguard.end_user may be set for a whole session.",
							 "refuse: only SET LOCAL (transaction-scoped) values count; use it behind a pool in transaction mode.",
							 &session_purpose, CG_SESSION_PURPOSE_ALLOW, session_purpose_options,
							 PGC_SUSET, 0, NULL, NULL, NULL);
	DefineCustomStringVariable("childguard.end_user",
							   "Who the application acts for, recorded in each audit record.",
							   "Set per transaction (SET LOCAL) by an application behind a pool; at most 128 printable characters.",
							   &end_user, "", PGC_USERSET, 0,
							   check_end_user, NULL, NULL);
	DefineCustomEnumVariable("childguard.no_purpose",
							 "What a read of a protected table without a declared purpose says.",
							 "silent: nothing; notice: a NOTICE once per statement; error: SQLSTATE ZC423.",
							 &no_purpose, CG_NO_PURPOSE_NOTICE, no_purpose_options,
							 PGC_USERSET, 0, NULL, NULL, NULL);
	RegisterXactCallback(pool_scope_xact_callback, NULL);
}

/* From _PG_init, once childguard.purpose is defined. */
void
cg_pool_scope_init(void)
{
	purpose_gconf = find_gconf("childguard.purpose");
	end_user_gconf = find_gconf("childguard.end_user");
}

/*
 * Utility hook: under refuse, SET without LOCAL and ALTER ROLE/DATABASE
 * ... SET of either setting are refused before they run.
 */
void
cg_pool_scope_utility(Node *stmt)
{
	VariableSetStmt *set = NULL;

	if (session_purpose != CG_SESSION_PURPOSE_REFUSE || stmt == NULL)
		return;
	if (IsA(stmt, VariableSetStmt))
		set = (VariableSetStmt *) stmt;
	else if (IsA(stmt, AlterRoleSetStmt))
		set = ((AlterRoleSetStmt *) stmt)->setstmt;
	else if (IsA(stmt, AlterDatabaseSetStmt))
		set = ((AlterDatabaseSetStmt *) stmt)->setstmt;
	else if (IsA(stmt, AlterSystemStmt))
		set = ((AlterSystemStmt *) stmt)->setstmt;
	if (set == NULL || set->name == NULL ||
		(set->kind != VAR_SET_VALUE && set->kind != VAR_SET_CURRENT))
		return;
	if (pg_strcasecmp(set->name, "childguard.purpose") != 0 &&
		pg_strcasecmp(set->name, "childguard.end_user") != 0)
		return;
	if (IsA(stmt, VariableSetStmt) && set->is_local)
		return;
	/* setting it to '' clears it, like RESET */
	if (set->kind == VAR_SET_VALUE)
	{
		char	   *value = ExtractSetVariableArgs(set);

		if (value == NULL || value[0] == '\0')
			return;
	}
	refuse(pg_strcasecmp(set->name, "childguard.purpose") == 0 ?
		   "childguard.purpose" : "childguard.end_user",
		   IsA(stmt, VariableSetStmt) ? "SET without LOCAL lasts for the session" :
		   "a role's, database's or server's setting lasts for every session");
}

/*
 * A top-level statement begins: freeze the end user, and note whether a
 * session-level purpose or end user is in force under refuse.  Costs two
 * comparisons when neither is set.
 */
void
cg_pool_scope_statement_begin(uint64 statement_id)
{
	frozen_statement = statement_id;
	frozen_has_end_user = end_user != NULL && end_user[0] != '\0';
	if (frozen_has_end_user)
		strlcpy(frozen_end_user, end_user, sizeof(frozen_end_user));
	frozen_session_level = false;
	if (session_purpose == CG_SESSION_PURPOSE_REFUSE && purpose_gconf != NULL)
	{
		if (session_level_now(purpose_gconf))
		{
			frozen_session_level = true;
			frozen_session_setting = "childguard.purpose";
		}
		else if (session_level_now(end_user_gconf))
		{
			frozen_session_level = true;
			frozen_session_setting = "childguard.end_user";
		}
	}
}

/* Would cg_pool_scope_check() refuse this statement? */
bool
cg_pool_scope_refused(uint64 statement_id)
{
	return frozen_statement == statement_id && frozen_session_level;
}

/*
 * The decision is about to use the statement's purpose: refuse a
 * session-level one (or end user) under refuse.
 */
void
cg_pool_scope_check(uint64 statement_id)
{
	if (frozen_statement == statement_id && frozen_session_level)
		ereport(ERROR,
				(errcode(ERRCODE_CG_SESSION_PURPOSE_REFUSED),
				 errmsg("cannot read or write child data under a session-level %s",
						frozen_session_setting),
				 errdetail("childguard.session_purpose is refuse: %s was set for the whole session (SET without LOCAL, a connection option, or a role's or database's setting), which a pooled connection would carry to the next client.",
						   frozen_session_setting),
				 errhint("RESET %s, and inside each transaction use SET LOCAL %s = ....",
						 frozen_session_setting, frozen_session_setting)));
}

/* The end user the statement froze, or NULL. */
const char *
cg_pool_end_user(uint64 statement_id)
{
	return frozen_statement == statement_id && frozen_has_end_user ? frozen_end_user : NULL;
}

/*
 * A protected table's rows are being read without a purpose: say so once
 * per statement (childguard.no_purpose).
 */
void
cg_pool_scope_no_purpose(uint64 statement_id)
{
	if (no_purpose == CG_NO_PURPOSE_SILENT || no_purpose_said == statement_id)
		return;
	no_purpose_said = statement_id;
	ereport(no_purpose == CG_NO_PURPOSE_ERROR ? ERROR : NOTICE,
			(errcode(ERRCODE_CG_NO_PURPOSE_DECLARED),
			 errmsg("no purpose declared: rows of protected tables are not visible"),
			 errdetail("Without childguard.purpose, a protected table shows no rows and child data shows only in its encrypted form."),
			 errhint("Inside the transaction run SET LOCAL childguard.purpose = '<purpose>'; childguard.no_purpose = silent stops this message.")));
}
