/*-------------------------------------------------------------------------
 *
 * decision.c
 *	  The read-time decision, the row policy's predicate and the collection
 *	  check.
 *
 * The decision context -- the role, the declared purpose, the time and
 * the date -- is taken once, when the top-level statement begins
 * (cg_decision_statement_begin, called by the executor and utility hooks
 * at nesting level 0), and kept in the statement's state (statement.c,
 * which also holds the COPY direction and the foreign code running, both
 * read here); nothing done during the statement changes it:
 * set_config() in the select list, SET inside a function or DO block, a
 * function's SET clause, SET ROLE through set_config, triggers.  Those
 * change the session's settings for the NEXT statement only.  A cursor's
 * FETCH is a top-level statement of its own, so each FETCH decides under
 * the context in force when it starts (docs/security.md, section 1).
 *
 * From the frozen values, the "statement context" is worked out on first
 * use: the purpose's registry row and the role's staff grant for it.  An
 * unknown purpose or a missing grant is an error, not a silent denial: it
 * is a configuration fault the caller must see.  Per child the decision
 * needs the child's registry row and the consent reduction (subjects.c,
 * consent.c), both cached per backend and flushed when a change commits
 * (catalog.c's invalidation callback, registered by cg_decision_init); a one-entry memo, keyed by the whole context (its
 * number changes whenever the context is rebuilt), spares the lookups for
 * the other values of the same row.
 *
 * The role whose grant counts is the session's role (SET ROLE) as it was
 * when the statement began, not the owner of a SECURITY DEFINER function
 * or view the read passes through: those cannot lend their grants to
 * their callers, and a superuser's function reads with the caller's grant.
 *
 * Where the decision could look at the past or at borrowed settings, it
 * shows the envelope instead: under a historic snapshot (logical
 * decoding, including pg_logical_slot_get_changes in a normal backend), in
 * a walsender, and in parallel workers (whose settings are copied from the
 * leader at launch, possibly after a change within the statement; our I/O
 * functions are PARALLEL RESTRICTED, so only a mislabelled user function
 * can get there).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/parallel.h"
#include "access/xact.h"
#include "backend_cache.h"
#include "miscadmin.h"
#include "pgtime.h"
#include "replication/slot.h"
#include "replication/walsender.h"
#include "utils/snapmgr.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/date.h"
#include "utils/hsearch.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"

#include "access_grants.h"
#include "catalog.h"
#include "categories.h"
#include "childguard_errcodes.h"
#include "consent.h"
#include "correction_permit.h"
#include "citus_node.h"
#include "decision.h"
#include "grant_windows.h"
#include "objections.h"
#include "pool_scope.h"
#include "purposes.h"
#include "read_settings.h"
#include "shared_cache.h"
#include "statement.h"

typedef struct StatementContext
{
	bool		valid;
	uint64		context_no;		/* changes at every rebuild; keys the memo */
	uint64		statement_id;
	uint64		generation;		/* of the caches it was built from */
	Oid			role;
	char		purpose_name[NAMEDATALEN];
	CgPurpose	purpose;
	CgGrant		grant;
	TimestampTz now;
	DateADT		today;
	/* what the context was built under, for the next statements (below) */
	TimestampTz built_now;		/* the time it was built at */
	TimestampTz until;			/* the grants in force or the date change then */
	pg_tz	   *tz;				/* the session's time zone (the date) */
	int32		max_children_setting;	/* childguard.max_children_per_statement */
} StatementContext;

/* The per-child half of a verdict, memoised for the last child seen. */
typedef struct ChildVerdict
{
	bool		valid;
	uint64		context_no;		/* the StatementContext it was decided in */
	uint64		generation;
	uint64		subject_no;
	bool		allowed;
	const char *why;
} ChildVerdict;

/*
 * The row policy's last visible child (cg_decide_row).  protect()'s
 * policies put the predicate on an UPDATE's scan and again, as check
 * options, on the new row (the UPDATE policy's USING, and the SELECT
 * policy's when the statement reads the table), so a point write decides
 * the same child three times in a row.  Kept only for a visible row, keyed
 * like the verdict memo (the context's number, which changes with every
 * statement, and the caches' generation) and by the child's id: a later
 * statement, or a committed change processed meanwhile, decides afresh;
 * a refusal is decided (and noted) every time.
 */
typedef struct RowMemo
{
	bool		valid;
	uint64		context_no;
	uint64		generation;
	char		child_id[NAMEDATALEN];
} RowMemo;

static StatementContext ctx;
static ChildVerdict memo;
static RowMemo row_memo;
static uint64 generation = 1;
static uint64 context_counter = 0;

/* A purpose that discloses child data (Art 18): disclose, publicize. */
static inline bool
is_disclosure(const CgPurpose *p)
{
	return p->kind == CG_PURPOSE_DISCLOSE || p->kind == CG_PURPOSE_PUBLICIZE;
}

/* Registry changed: what the decision cached is stale. */
void
cg_decision_flush(void)
{
	generation++;
	cg_purposes_flush();
	cg_grants_flush();
	cg_consents_flush();
	cg_objections_flush();
}

/* catalog.c's invalidation: a registry, our objects or a role changed. */
static void
decision_invalidate(int kinds, Oid relid)
{
	cg_decision_flush();
}

/* From _PG_init: flush when anything the decision reads changes. */
void
cg_decision_init(void)
{
	cg_catalog_on_invalidation(decision_invalidate,
							   CG_INVAL_POLICY | CG_INVAL_OBJECTS | CG_INVAL_ROLES);
}

/*
 * A refusal is about to be raised: the statement's audit record must show
 * the denied attempt (SPEC, invariant 4), even when the refusal comes
 * before any value was decided.  The child, when known (subject_no != 0:
 * subject numbers start at 1), is noted as denied; otherwise the
 * statement is admitted for audit, so that its error record (outcome
 * "error", the refusal's SQLSTATE) goes out when it aborts.
 */
static void
note_refusal(uint64 subject_no)
{
	if (subject_no != 0)
		cg_statement_note(subject_no, CG_ACCESS_DENIED);
	else
		cg_statement_attempt();
}

static void
report_grant_problem(CgGrantStatus status, const char *purpose, Oid roleid)
{
	const char *role = GetUserNameFromId(roleid, false);

	ereport(ERROR,
			(errcode(ERRCODE_CG_NO_ACCESS_GRANT),
			 errmsg("role \"%s\" has no access grant in force for purpose \"%s\"",
					role, purpose),
			 errdetail("%s",
					   status == CG_GRANT_EXPIRED ? "Its grant for this purpose has expired." :
					   status == CG_GRANT_NOT_YET ? "Its grant for this purpose has not begun yet." :
					   "No approved, unrevoked grant names this role and purpose."),
			 errhint("Art 15: request access with childguard.request_access() and have a protection officer approve it.")));
}

/*
 * A top-level statement begins: fix its role, purpose and time.  Costs a
 * string comparison; the purpose is copied only when it changed.
 */
void
cg_decision_statement_begin(void)
{
	cg_statement_freeze(GetOuterUserId(), cg_session_purpose(),
						GetCurrentStatementStartTimestamp());
	cg_pool_scope_statement_begin(cg_statement()->frozen_id);
}

/* The frozen context of the current statement (taken now if none was). */
static const CgStatement *
frozen_context(void)
{
	const CgStatement *st = cg_statement();

	if (st->frozen_id != st->id || st->frozen_id == 0)
	{
		/* no top-level statement began (e.g. before the first): take it now */
		cg_decision_statement_begin();
		ctx.valid = false;
	}
	return st;
}

/*
 * No decision may be made here: logical decoding (a historic snapshot, a
 * walsender, a logical slot in use), a parallel worker, or a Citus worker
 * (only the coordinator decides, docs/scale-out.md).  Values show as
 * envelopes, rows are invisible, collection is refused.
 */
bool
cg_decision_envelope_only(void)
{
	return HistoricSnapshotActive() || am_walsender || IsParallelWorker() ||
		(MyReplicationSlot != NULL && SlotIsLogical(MyReplicationSlot)) ||
		cg_citus_worker();
}

/* The purpose the current statement decides under, or NULL. */
const char *
cg_decision_purpose(void)
{
	return frozen_context()->purpose;
}

/* The role whose grant the current statement decides under. */
Oid
cg_decision_role(void)
{
	return frozen_context()->role;
}

/*
 * Art 16, 17 (1.4): every read under a transfer purpose -- SELECT, cursor,
 * function, COPY TO alike, since the statement context is built before
 * the first value of any of them is decided -- needs, for each grant in
 * force, a named recipient with a security assessment of this purpose on
 * record.  One vendor's assessment does not cover another.
 */
static void
check_transfer_recipients(const char *purpose, const CgPurpose *p, const CgGrant *grant,
						  uint64 subject_no)
{
	if (grant->unnamed_grant_id != 0)
	{
		note_refusal(subject_no);
		ereport(ERROR,
				(errcode(ERRCODE_CG_RECIPIENT_REQUIRED),
				 errmsg("access grant %lld for transfer purpose \"%s\" names no recipient",
						(long long) grant->unnamed_grant_id, purpose),
				 errdetail("Art 17: child data is transferred only to a recipient whose security assessment for the purpose is on record."),
				 errhint("Name the recipient with childguard.name_recipient() before approval, or request a new grant that names it.")));
	}
	for (int i = 0; i < grant->nrecipients; i++)
		if (!cg_purpose_assessed_for(p->purpose_id, grant->recipients[i]))
		{
			note_refusal(subject_no);
			ereport(ERROR,
					(errcode(ERRCODE_CG_RECIPIENT_NOT_ASSESSED),
					 errmsg("transfer purpose \"%s\" has no security assessment for recipient \"%s\"",
							purpose, grant->recipients[i]),
					 errdetail("Art 16, 17: each recipient is assessed on its own; an assessment of another recipient does not cover it."),
					 errhint("An officer records it with childguard.record_assessment(purpose, summary, assessor, recipient).")));
		}
}

/*
 * May the statement frozen in f decide under the context built for an
 * earlier statement?  Every input of statement_context is compared: the
 * registry and our objects (the generation, compared by the caller: any
 * committed change to purposes, grants, assessments, roles or the
 * catalog's layout moves it), the role and the purpose, the settings it
 * read (childguard.max_children_per_statement, the time zone that makes
 * the date), and the time: the same date and no grant beginning or ending
 * between the time the context was built and the statement's (the clock
 * going back rebuilds it).  So a point read's statement pays comparisons,
 * not the purpose's and the grant's lookups and the date's arithmetic.
 */
static bool
context_still_holds(const CgStatement *f)
{
	return ctx.role == f->role &&
		f->now >= ctx.built_now && f->now < ctx.until &&
		ctx.tz == session_timezone &&
		ctx.max_children_setting == cg_max_children_per_statement() &&
		strcmp(ctx.purpose_name, f->purpose) == 0;
}

/*
 * The statement context, or NULL if the statement declared no purpose.
 * Errors if the purpose is unknown or the role holds no grant for it;
 * each such refusal is a denied attempt on subject_no's data (0: no child
 * known yet), recorded before it is raised.
 */
static const StatementContext *
statement_context(uint64 subject_no)
{
	const CgStatement *f = frozen_context();
	const char *purpose = f->purpose;
	CgGrantStatus status;

	if (purpose == NULL)
		return NULL;
	if (cg_pool_scope_refused(f->id))
	{
		note_refusal(subject_no);
		cg_pool_scope_check(f->id);
	}
	if (ctx.valid && ctx.generation == generation)
	{
		if (ctx.statement_id == f->id)
			return &ctx;
		if (context_still_holds(f))
		{
			/* a new statement under the same context: only its time and number */
			ctx.now = f->now;
			ctx.statement_id = f->id;
			ctx.context_no = ++context_counter;
			cg_statement()->grant_id = ctx.grant.grant_id;
			cg_statement()->disclosure = is_disclosure(&ctx.purpose) &&
				cg_catalog()->child_sealed > 0;
			return &ctx;
		}
	}

	ctx.valid = false;
	if (!cg_catalog()->present)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("extension \"childguard\" is not installed in this database")));
	if (!cg_purpose_lookup(purpose, &ctx.purpose))
	{
		note_refusal(subject_no);
		ereport(ERROR,
				(errcode(ERRCODE_CG_UNKNOWN_PURPOSE),
				 errmsg("unknown purpose \"%s\"", purpose),
				 errhint("Purposes are defined by the protection officer with childguard.define_purpose().")));
	}
	ctx.now = f->now;
	ctx.today = DatumGetDateADT(DirectFunctionCall1(timestamptz_date,
													TimestampTzGetDatum(ctx.now)));
	status = cg_grant_find(f->role, ctx.purpose.purpose_id, purpose, ctx.purpose.categories,
						   cg_max_children_per_statement(), ctx.now, &ctx.grant);
	if (status != CG_GRANT_OK)
	{
		note_refusal(subject_no);
		report_grant_problem(status, purpose, f->role);
	}
	if (ctx.purpose.kind == CG_PURPOSE_TRANSFER && cg_catalog()->assessment_recipient > 0)
		check_transfer_recipients(purpose, &ctx.purpose, &ctx.grant, subject_no);
	strlcpy(ctx.purpose_name, purpose, NAMEDATALEN);
	ctx.role = f->role;
	ctx.built_now = ctx.now;
	ctx.tz = session_timezone;
	ctx.max_children_setting = cg_max_children_per_statement();
	{
		int			overflow = 0;
		TimestampTz tomorrow = date2timestamptz_opt_overflow(ctx.today + 1, &overflow);

		/* no next midnight to compare with (the date's range): rebuild every time */
		ctx.until = overflow != 0 ? ctx.now : Min(tomorrow, ctx.grant.stable_until);
	}
	ctx.statement_id = f->id;
	ctx.generation = generation;
	ctx.context_no = ++context_counter;
	ctx.valid = true;
	cg_statement()->grant_id = ctx.grant.grant_id;
	/* 1.4's access_log knows the outcome "disclosed" */
	cg_statement()->disclosure = is_disclosure(&ctx.purpose) && cg_catalog()->child_sealed > 0;
	return &ctx;
}

/* The grant the current statement reads under, or 0. */
int64
cg_decision_grant_id(void)
{
	return ctx.valid && ctx.statement_id == cg_statement_id() &&
		ctx.generation == generation ? ctx.grant.grant_id : 0;
}

/*
 * The per-child verdict cache: (subject, purpose) -> what child_allowed
 * decided, under a registry generation and a date, without the retention
 * test, which is kept as the instant the retention ends ("until") and
 * checked against the statement's time.  Every input of child_allowed is
 * in the key or the stamp: the child's row, its consents and the purpose's
 * row (generation: any committed change to them bumps it, catalog.c), the
 * date (age and the consents' dates), and the time (until).  So one probe
 * replaces the child's registry and consent lookups and the date
 * arithmetic, in every statement after the first that meets the child,
 * and the next read after a committed withdrawal decides afresh.  Whether
 * an objection is open for the child (objections.c) is kept beside the
 * verdict, not in it: it denies every role but an officer's, and the
 * cache is shared by the roles of the session; childguard.request is a
 * registry of the decision, so opening or closing one moves the
 * generation too.  Bounded:
 * emptied when it reaches VERDICT_CACHE_MAX entries or the generation
 * moves.  The last verdict is memoised too, for the other values of the
 * same row.
 */
#define VERDICT_CACHE_MAX	cg_backend_cache_entries	/* childguard.backend_cache_entries */

typedef struct VerdictKey
{
	uint64		subject_no;
	int32		purpose_id;
	int32		pad;			/* zeroed: the key is hashed as bytes */
} VerdictKey;

typedef struct VerdictEntry
{
	VerdictKey	key;
	char		status;			/* simplehash's */
	uint64		generation;
	DateADT		today;
	bool		allowed;		/* all but retention and objections */
	bool		objection;		/* an objection to processing is open */
	TimestampTz until;			/* allowed: retention ends here */
	const char *why;			/* a string literal */
} VerdictEntry;

/*
 * An open-addressing table (lib/simplehash.h), not dynahash: a backend's
 * first read of each child inserts here, and a bulk scan of children new
 * to the backend does that once per row -- no per-entry allocation, a
 * cheap hash of the number, entries inline.
 */
#define SH_PREFIX		verdicts
#define SH_ELEMENT_TYPE	VerdictEntry
#define SH_KEY_TYPE		VerdictKey
#define SH_KEY			key
#define SH_HASH_KEY(tb, k) \
	cg_backend_hash_uint64((k).subject_no ^ ((uint64) (uint32) (k).purpose_id << 48))
#define SH_EQUAL(tb, a, b) \
	((a).subject_no == (b).subject_no && (a).purpose_id == (b).purpose_id)
#define SH_SCOPE		static inline
#define SH_DECLARE
#define SH_DEFINE
#include "lib/simplehash.h"

static MemoryContext verdict_cxt = NULL;
static verdicts_hash *verdict_cache = NULL;
static uint64 verdict_generation = 0;
static int64 verdict_hits = 0;
static int64 verdict_misses = 0;

static const char *const retention_ended =
"Art 12: the purpose's retention period since the data was first collected for it has ended.";
static const char *const objection_open =
"Provisions Art 19, Measures Art 17: an objection to processing this child's data is open; until an officer closes it, only an officer handling it may process the data.";

/*
 * Is the statement's role an appointed officer?  Asked only when an open
 * objection would otherwise deny, and then once per statement context
 * (objections.c reads the officer registry).
 */
static uint64 officer_context_no = 0;
static bool officer_context_is_officer = false;

static bool
context_role_is_officer(const StatementContext *c)
{
	if (officer_context_no != c->context_no)
	{
		officer_context_is_officer = cg_role_is_officer(c->role);
		officer_context_no = c->context_no;
	}
	return officer_context_is_officer;
}

/*
 * D-Art 14: the categories that may not be made public for a child in
 * difficult circumstances -- name, home address (and whereabouts), image,
 * voice and video, school -- and that a disclosure concerning such a child
 * must de-identify (D-Art 13, 14: 技术处理).
 */
static CgCategorySet
identifying_categories(void)
{
	static CgCategorySet set = 0;

	if (set == 0)
	{
		static const char *const names[] = {"name", "address", "location", "image",
		"voice", "school"};

		for (int i = 0; i < lengthof(names); i++)
			set |= CG_CATEGORY_BIT(cg_category_lookup(names[i]));
	}
	return set;
}

/*
 * Disclosure of an identifying category (D-Art 13, 14): for a child in
 * difficult circumstances, refused outright for publicity (ZC533), and
 * withheld -- de-identified -- from any other disclosure.  False (with
 * *why) when withheld; only called for disclosure purposes.
 */
static bool
identifying_disclosure_allowed(const StatementContext *c, uint64 subject_no, int category,
							   const char **why)
{
	CgSubject	subject;

	if (!(identifying_categories() & CG_CATEGORY_BIT(category)))
		return true;
	if (!cg_subject_by_no(subject_no, &subject) || !subject.in_difficulty)
		return true;
	if (c->purpose.kind == CG_PURPOSE_PUBLICIZE)
	{
		note_refusal(subject_no);
		ereport(ERROR,
				(errcode(ERRCODE_CG_PUBLICITY_REFUSED),
				 errmsg("cannot make %s data of a child in difficult circumstances public",
						cg_category_name(category)),
				 errdetail("D-Art 14: the name, home address, image, voice and video, and school of a child in difficult circumstances are not made public; purpose \"%s\" is a publicity purpose.",
						   c->purpose_name),
				 errhint("Leave the column out of what is published.")));
	}
	*why = "D-Art 13, 14: a disclosure concerning a child in difficult circumstances carries no identifying data (name, address, whereabouts, image, voice, school); it is withheld.";
	return false;
}

/*
 * May the statement's purpose use this child's data at all, but for the
 * retention: registered, not erased, not excluded by their circumstances,
 * consent in force.  *since is when the consent counting was given; *why
 * says why not.
 */
static bool
child_allowed_base(const StatementContext *c, const CgSubject *subject, bool registered,
				   TimestampTz *since, const char **why)
{
	if (!registered)
	{
		*why = "The child is not registered in this database.";
		return false;
	}
	if (subject->erased)
	{
		*why = "The child has been erased.";
		return false;
	}
	if (subject->in_difficulty && c->purpose.forbidden_in_difficulty)
	{
		*why = "D-Art 15: the purpose is forbidden for children in difficult circumstances.";
		return false;
	}
	if (!cg_consent_effective(subject, c->purpose.purpose_id, c->today, since, why))
		return false;
	if (is_disclosure(&c->purpose) && subject->in_difficulty)
		return cg_consent_disclosure(subject, c->purpose.purpose_id, why);
	return true;
}

/*
 * since + retention, as timestamptz_pl_interval computes it (the calendar
 * arithmetic of a month or a year, in the session's time zone), with a
 * one-entry memo: the children registered together share the time their
 * consent was given, and a scan meets them in a row.  The memo is keyed
 * by everything the result depends on: since, the interval, the session's
 * time zone (a month's length across a daylight-saving change).
 */
static TimestampTz
retention_end(const StatementContext *c, TimestampTz since)
{
	static bool valid = false;
	static TimestampTz memo_since;
	static Interval memo_retention;
	static const pg_tz *memo_tz;
	static TimestampTz memo_until;

	if (valid && memo_since == since && memo_tz == session_timezone &&
		memo_retention.time == c->purpose.retention.time &&
		memo_retention.day == c->purpose.retention.day &&
		memo_retention.month == c->purpose.retention.month)
		return memo_until;
	valid = false;
	memo_until = DatumGetTimestampTz(DirectFunctionCall2(timestamptz_pl_interval,
														 TimestampTzGetDatum(since),
														 PointerGetDatum(&c->purpose.retention)));
	memo_since = since;
	memo_retention = c->purpose.retention;
	memo_tz = session_timezone;
	valid = true;
	return memo_until;
}

/*
 * child_allowed, the rule: may the statement's purpose use this child's
 * data now -- child_allowed_base, no open objection (but for an officer),
 * and within the retention.  It is decided through child_allowed_by_no
 * (the memo and the verdict cache below), for reads and writes alike.
 */

/* The verdict for entry at the statement's time. */
static bool
verdict_now(const StatementContext *c, const VerdictEntry *e, const char **why)
{
	if (!e->allowed)
	{
		*why = e->why;
		return false;
	}
	if (e->until <= c->now)
	{
		*why = retention_ended;
		return false;
	}
	if (e->objection && !context_role_is_officer(c))
	{
		*why = objection_open;
		return false;
	}
	return true;
}

/* child_allowed for subject_no: memo, then the verdict cache, then the registry. */
static bool
child_allowed_by_no(const StatementContext *c, uint64 subject_no, const char **why)
{
	CgSubject	subject;
	bool		registered;
	VerdictKey	key;
	VerdictEntry *e;
	VerdictEntry fresh;
	bool		found;
	uint64		generation0 = generation;

	if (memo.valid && memo.subject_no == subject_no &&
		memo.context_no == c->context_no && memo.generation == generation)
	{
		*why = memo.why;
		return memo.allowed;
	}
	key.subject_no = subject_no;
	key.purpose_id = c->purpose.purpose_id;
	key.pad = 0;
	if (verdict_cache != NULL && verdict_generation == generation &&
		(e = verdicts_lookup(verdict_cache, key)) != NULL &&
		e->generation == generation && e->today == c->today)
	{
		verdict_hits++;
		memo.allowed = verdict_now(c, e, &memo.why);
	}
	else
	{
		TimestampTz since = 0;

		verdict_misses++;
		memset(&fresh, 0, sizeof(fresh));
		registered = cg_subject_by_no(subject_no, &subject);
		fresh.allowed = child_allowed_base(c, &subject, registered, &since, &fresh.why);
		fresh.objection = registered && cg_objection_open(subject_no);
		if (fresh.allowed)
			fresh.until = retention_end(c, since);
		fresh.generation = generation0;
		fresh.today = c->today;
		memo.allowed = verdict_now(c, &fresh, &memo.why);
		/* the lookups may have processed an invalidation: keep only a current verdict */
		if (fresh.generation == generation)
		{
			if (verdict_cache == NULL || verdict_generation != generation ||
				verdict_cache->members >= (uint32) VERDICT_CACHE_MAX)
			{
				if (verdict_cxt == NULL)
					verdict_cxt = AllocSetContextCreate(TopMemoryContext, "childguard verdicts",
														ALLOCSET_SMALL_SIZES);
				else
					MemoryContextReset(verdict_cxt);
				verdict_cache = verdicts_create(verdict_cxt, 1024, NULL);
				verdict_generation = generation;
			}
			e = verdicts_insert(verdict_cache, key, &found);
			fresh.key = key;
			fresh.status = e->status;
			*e = fresh;
		}
	}
	memo.subject_no = subject_no;
	memo.context_no = c->context_no;
	memo.generation = generation0;	/* an invalidation meanwhile: decide again */
	memo.valid = true;
	*why = memo.why;
	return memo.allowed;
}

/* This backend's verdict cache counters (childguard.backend_cache_stats). */
void
cg_decision_cache_stats(int64 *capacity, int64 *entries, int64 *hits, int64 *misses)
{
	*capacity = VERDICT_CACHE_MAX;
	*entries = (verdict_cache != NULL && verdict_generation == generation) ?
		verdict_cache->members : 0;
	*hits = verdict_hits;
	*misses = verdict_misses;
}

/* Plaintext leaves the server through COPY TO only for an assessed transfer (Art 17). */
static void
check_copy_out(const StatementContext *c, uint64 subject_no)
{
	if (!cg_statement()->level.copy_out)
		return;
	if (c->purpose.kind != CG_PURPOSE_TRANSFER ||
		(cg_catalog()->assessment_recipient == 0 && !c->purpose.assessed))
		note_refusal(subject_no);
	if (c->purpose.kind != CG_PURPOSE_TRANSFER)
		ereport(ERROR,
				(errcode(ERRCODE_CG_TRANSFER_NOT_ALLOWED),
				 errmsg("cannot copy child data out in plaintext for purpose \"%s\"",
						c->purpose_name),
				 errdetail("COPY TO writes child data in plaintext only under a transfer purpose."),
				 errhint("Art 17: define a purpose of kind transfer, record its security assessment, and declare it; or copy without a purpose to move the sealed form.")));
	/* from 1.4 the recipients' assessments are checked for every read */
	if (cg_catalog()->assessment_recipient == 0 && !c->purpose.assessed)
		ereport(ERROR,
				(errcode(ERRCODE_CG_TRANSFER_NOT_ALLOWED),
				 errmsg("transfer purpose \"%s\" has no security assessment", c->purpose_name),
				 errdetail("Art 17: child data is transferred only after a security assessment."),
				 errhint("Record it with childguard.record_assessment().")));
}

/* Count a decrypted child against the session's limit, if one is set. */
static void
note_session_read(uint64 subject_no, int limit)
{
	static MemoryContext session_cxt = NULL;
	static HTAB *session_children = NULL;
	bool		found;

	if (session_children == NULL)
		session_children = cg_backend_hash(&session_cxt, "childguard session children", 256,
										   sizeof(uint64), sizeof(uint64), false);
	if (hash_search(session_children, &subject_no, HASH_FIND, NULL) != NULL)
		return;
	if (hash_get_num_entries(session_children) >= limit)
	{
		note_refusal(subject_no);
		ereport(ERROR,
				(errcode(ERRCODE_CG_TOO_MANY_CHILDREN),
				 errmsg("session would read the data of more than %d children", limit),
				 errdetail("Art 15: childguard.max_children_per_session limits how many children one session reads, however the reads are split."),
				 errhint("Start a new session for unrelated work, or ask the DBA to raise the limit.")));
	}
	(void) hash_search(session_children, &subject_no, HASH_ENTER, &found);
}

/*
 * Check a child about to be decrypted against the statement's (and
 * session's) limit.  The caller notes the child as read once the value is
 * decrypted (cg_statement_note), not here: the data key may still fail.
 */
static void
note_read(const StatementContext *c, uint64 subject_no)
{
	if (cg_max_children_per_session() > 0)
		note_session_read(subject_no, cg_max_children_per_session());
	/* the probe only when one more child would pass the limit */
	if (c->grant.max_children > 0 &&
		cg_statement_count(CG_ACCESS_READ) + 1 > c->grant.max_children &&
		!cg_statement_noted(subject_no, CG_ACCESS_READ))
	{
		note_refusal(subject_no);
		ereport(ERROR,
				(errcode(ERRCODE_CG_TOO_MANY_CHILDREN),
				 errmsg("statement would read the data of more than %d children",
						c->grant.max_children),
				 errdetail("Art 15: bulk reads are limited to protect against copying; the limit comes from grant %lld or childguard.max_children_per_statement.",
						   (long long) c->grant.grant_id),
				 errhint("Read fewer children per statement, or have an officer approve a grant with a higher max_children.")));
	}
	/* the grant's hourly and daily windows, shared by all its sessions */
	if (c->grant.per_hour > 0 || c->grant.per_day > 0)
		cg_grant_windows_note(c->grant.grant_id, c->grant.per_hour, c->grant.per_day,
							  c->now, subject_no);
}

/*
 * The decision for one value: sealed for subject_no, of this category.
 * On CG_VERDICT_DENY, *why is the reason (for an error's detail).
 */
CgVerdict
cg_decide_read(uint64 subject_no, int category, const char **why)
{
	const StatementContext *c;

	if (cg_decision_envelope_only())
		return CG_VERDICT_ENVELOPE;
	c = statement_context(subject_no);
	if (c == NULL)
		return CG_VERDICT_ENVELOPE;
	if (OidIsValid(cg_statement()->foreign_owner))
	{
		*why = "The value would be read by a function that another role owns (a trigger, default, policy or function called inside this statement); only code of the statement's role, of the login role or of a superuser reads child data.";
		cg_statement_note(subject_no, CG_ACCESS_DENIED);
		return CG_VERDICT_DENY;
	}
	if (!(c->purpose.categories & CG_CATEGORY_BIT(category)))
	{
		*why = "Art 11: the purpose does not need this category of data.";
		cg_statement_note(subject_no, CG_ACCESS_DENIED);
		return CG_VERDICT_DENY;
	}
	if (!(c->grant.categories & CG_CATEGORY_BIT(category)))
	{
		*why = "Art 15: the access grant does not cover this category of data.";
		cg_statement_note(subject_no, CG_ACCESS_DENIED);
		return CG_VERDICT_DENY;
	}
	if (is_disclosure(&c->purpose) &&
		!identifying_disclosure_allowed(c, subject_no, category, why))
	{
		cg_statement_note(subject_no, CG_ACCESS_DENIED);
		return CG_VERDICT_DENY;
	}
	if (!child_allowed_by_no(c, subject_no, why))
	{
		cg_statement_note(subject_no, CG_ACCESS_DENIED);
		return CG_VERDICT_DENY;
	}
	check_copy_out(c, subject_no);
	note_read(c, subject_no);
	return CG_VERDICT_ALLOW;
}

/*
 * The part of cg_decide_read that does not depend on the child, for a
 * blind-index lookup (blind_index.c), which compares no value itself but
 * decides which rows the retained comparison sees: no purpose gives
 * CG_VERDICT_ENVELOPE; a purpose, grant or calling code that could never
 * read this category, or a disclosure of an identifying category (which
 * depends on each child's circumstances), gives CG_VERDICT_DENY with *why.
 * Notes nothing: the comparisons on the rows found are the reads.
 */
CgVerdict
cg_decide_column(int category, const char **why)
{
	const StatementContext *c;

	if (cg_decision_envelope_only())
		return CG_VERDICT_ENVELOPE;
	c = statement_context(0);
	if (c == NULL)
		return CG_VERDICT_ENVELOPE;
	if (OidIsValid(cg_statement()->foreign_owner))
	{
		*why = "The value would be read by a function that another role owns (a trigger, default, policy or function called inside this statement); only code of the statement's role, of the login role or of a superuser reads child data.";
		return CG_VERDICT_DENY;
	}
	if (!(c->purpose.categories & CG_CATEGORY_BIT(category)))
	{
		*why = "Art 11: the purpose does not need this category of data.";
		return CG_VERDICT_DENY;
	}
	if (!(c->grant.categories & CG_CATEGORY_BIT(category)))
	{
		*why = "Art 15: the access grant does not cover this category of data.";
		return CG_VERDICT_DENY;
	}
	if (is_disclosure(&c->purpose) && (identifying_categories() & CG_CATEGORY_BIT(category)))
	{
		*why = "D-Art 13, 14: a disclosure purpose does not look up identifying data through a blind index.";
		return CG_VERDICT_DENY;
	}
	return CG_VERDICT_ALLOW;
}

/*
 * The row policy: is the row of child_id visible to this statement?  No
 * purpose, no consent: invisible.
 */
bool
cg_decide_row(const char *child_id)
{
	const StatementContext *c;
	CgSubject	subject;
	const char *why;
	uint64		generation0;

	if (cg_decision_envelope_only())
		return false;
	c = statement_context(0);
	generation0 = generation;
	if (c != NULL && row_memo.valid && row_memo.context_no == c->context_no &&
		row_memo.generation == generation0 && strcmp(row_memo.child_id, child_id) == 0)
		return true;
	if (!cg_subject_lookup(child_id, &subject))
		return false;
	if (c == NULL || !child_allowed_by_no(c, subject.subject_no, &why))
	{
		cg_statement_note(subject.subject_no, CG_ACCESS_DENIED);
		if (c == NULL)
			cg_pool_scope_no_purpose(cg_statement_id());
		return false;
	}
	/* the lookups may have processed an invalidation: then keep nothing */
	row_memo.valid = false;
	if (strlen(child_id) < sizeof(row_memo.child_id) && generation0 == generation)
	{
		strcpy(row_memo.child_id, child_id);
		row_memo.context_no = c->context_no;
		row_memo.generation = generation0;
		row_memo.valid = true;
	}
	return true;
}

/*
 * Collection (Art 9, 11): writing a new value of category for the child
 * needs a declared purpose that needs the category, a grant covering it,
 * and the consent in force.  Errors otherwise.
 */
void
cg_check_collection(const CgSubject *subject, int category, const char *child_id,
					const char *relname, const char *colname)
{
	const StatementContext *c;
	const char *why = NULL;
	bool		allowed;

	if (cg_decision_envelope_only())
		ereport(ERROR,
				(errcode(ERRCODE_CG_NO_DECISION_HERE),
				 errmsg("cannot collect child data in this context"),
				 errdetail("Child data is not sealed during logical decoding or in a parallel worker."),
				 errhint("Write child data from an ordinary session.")));
	/* an officer's correction under a correction request (correction_permit.c) */
	if (cg_correction_permitted(subject->subject_no, category))
	{
		cg_statement_note(subject->subject_no, CG_ACCESS_WRITE);
		return;
	}
	c = statement_context(subject->subject_no);
	if (c == NULL)
	{
		cg_statement_note(subject->subject_no, CG_ACCESS_DENIED);
		ereport(ERROR,
				(errcode(ERRCODE_CG_PURPOSE_REQUIRED),
				 errmsg("cannot collect child data without a declared purpose"),
				 errdetail("Column \"%s\" of table \"%s\" holds child data.", colname, relname),
				 errhint("SET childguard.purpose to the purpose the data is collected for.")));
	}
	/*
	 * every refusal below is a denied write, recorded before the error.
	 * The verdict is child_allowed's, taken from the memo of this row's
	 * policy check or the verdict cache (child_allowed_by_no: the same
	 * registry, consent, objection and retention, for this purpose) rather
	 * than reducing the child's consents again for every value written;
	 * child_allowed names an open objection before an ended retention,
	 * the verdict the other way round: reported as child_allowed does.
	 */
	allowed = child_allowed_by_no(c, subject->subject_no, &why);
	if (!allowed && why == retention_ended &&
		cg_objection_open(subject->subject_no) && !context_role_is_officer(c))
		why = objection_open;
	if (!allowed ||
		!(c->purpose.categories & CG_CATEGORY_BIT(category)) ||
		!(c->grant.categories & CG_CATEGORY_BIT(category)) ||
		(subject->in_difficulty && c->purpose.forbidden_in_difficulty))
		cg_statement_note(subject->subject_no, CG_ACCESS_DENIED);
	if (!(c->purpose.categories & CG_CATEGORY_BIT(category)))
		ereport(ERROR,
				(errcode(ERRCODE_CG_CATEGORY_NOT_NEEDED),
				 errmsg("purpose \"%s\" does not need %s data", c->purpose_name,
						cg_category_name(category)),
				 errdetail("Art 11: column \"%s\" of table \"%s\" holds category \"%s\"; the purpose needs only: %s.",
						   colname, relname, cg_category_name(category),
						   cg_category_set_names(c->purpose.categories)),
				 errhint("Collect only what the purpose needs.")));
	if (!(c->grant.categories & CG_CATEGORY_BIT(category)))
		ereport(ERROR,
				(errcode(ERRCODE_CG_CATEGORY_NOT_NEEDED),
				 errmsg("access grant %lld does not cover %s data",
						(long long) c->grant.grant_id, cg_category_name(category)),
				 errdetail("Art 15: the grant covers only: %s.",
						   cg_category_set_names(c->grant.categories))));
	if (subject->in_difficulty && c->purpose.forbidden_in_difficulty)
		ereport(ERROR,
				(errcode(ERRCODE_CG_FORBIDDEN_PURPOSE),
				 errmsg("purpose \"%s\" is forbidden for children in difficult circumstances",
						c->purpose_name),
				 errdetail("D-Art 15: child \"%s\" is in difficult circumstances.", child_id)));
	if (!allowed && why == objection_open)
		ereport(ERROR,
				(errcode(ERRCODE_CG_OBJECTION_OPEN),
				 errmsg("processing of child \"%s\"'s data is restricted by an open objection", child_id),
				 errdetail("%s", why),
				 errhint("An officer closes the objection with childguard.close_request() once it is resolved.")));
	if (!allowed)
		ereport(ERROR,
				(errcode(ERRCODE_CG_NO_CONSENT),
				 errmsg("no consent in force to collect data of child \"%s\" for purpose \"%s\"",
						child_id, c->purpose_name),
				 errdetail("%s", why),
				 errhint("Art 9: record the consent with childguard.record_consent() first.")));
	cg_statement_note(subject->subject_no, CG_ACCESS_WRITE);
}

/*
 * GUC check hook for childguard.purpose: when set inside a transaction in
 * a database with childguard, the purpose must exist and (except when
 * merely validating ALTER ROLE/DATABASE ... SET) the role must hold a
 * grant for it now.  Outside a transaction (connection options) the check
 * is left to the first read, which makes the same checks.
 */
bool
cg_check_purpose_setting(char **newval, void **extra, GucSource source)
{
	CgPurpose	purpose;
	CgGrant		grant;
	CgGrantStatus status;
	TimestampTz now;

	if (*newval == NULL || (*newval)[0] == '\0')
		return true;
	if (!IsTransactionState() || IsParallelWorker() || !IsNormalProcessingMode() ||
		!cg_catalog()->present)
		return true;
	if (!cg_purpose_lookup(*newval, &purpose))
	{
		GUC_check_errcode(ERRCODE_CG_UNKNOWN_PURPOSE);
		GUC_check_errdetail("Purpose \"%s\" is not defined.", *newval);
		GUC_check_errhint("Purposes are defined by the protection officer with childguard.define_purpose().");
		return false;
	}
	if (source == PGC_S_TEST)
		return true;
	now = GetCurrentStatementStartTimestamp();
	status = cg_grant_find(GetOuterUserId(), purpose.purpose_id, *newval, purpose.categories,
						   cg_max_children_per_statement(), now, &grant);
	if (status != CG_GRANT_OK)
	{
		GUC_check_errcode(ERRCODE_CG_NO_ACCESS_GRANT);
		GUC_check_errdetail("Role \"%s\" has no access grant in force for purpose \"%s\"%s.",
							GetUserNameFromId(GetOuterUserId(), false), *newval,
							status == CG_GRANT_EXPIRED ? " (its grant has expired)" :
							status == CG_GRANT_NOT_YET ? " (its grant has not begun)" : "");
		GUC_check_errhint("Art 15: request access with childguard.request_access() and have a protection officer approve it.");
		return false;
	}
	return true;
}
