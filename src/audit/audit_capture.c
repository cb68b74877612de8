/*-------------------------------------------------------------------------
 *
 * audit_capture.c
 *	  Building one audit record per top-level statement that touched child
 *	  data, from the executor and utility hooks, and handing it to the
 *	  queue.
 *
 * Everything known of the current statement lives in its state
 * (CgStatement, statement.c): the children it touched (one hash entry per
 * child, noted by the read decision and the seal trigger), and the parts
 * this file fills in, only once the statement has touched child data
 * (cg_statement_accesses() != 0):
 *
 *	- at the first access (statement.c's first-access hook): room in the
 *	  queue (else wait or refuse, before any plaintext is produced) and who
 *	  is asking (roles, client, application);
 *	- at each ExecutorStart, and at an ExecutorRun of a cursor whose query
 *	  began in an earlier statement (a FETCH, also inside a function): the
 *	  relations holding child data in the query's range table, and the
 *	  child_data columns it uses (OIDs and numbers only; names are looked
 *	  up once the statement has touched child data, so other statements
 *	  pay one cached lookup per table, and a failed statement's record
 *	  needs no catalog access);
 *	- at the statement's end: the command, rows and query id; then the
 *	  record is encoded once and queued.
 *
 * All of it is in the statement's memory (cg_statement_memory(), reset
 * when the next top-level statement begins), so it survives an error.
 *
 * The statement ends at ExecutorEnd at nesting level 0 (queries, also
 * through the extended protocol), at the end of ProcessUtility at level 0
 * (COPY, FETCH, EXECUTE, CALL, DO, ...), or by an error.  An error leaving
 * the top-level statement is only marked by the hooks' error path
 * (cg_statement_failed: the SQLSTATE, no allocation, no lock, no ereport);
 * the record (outcome "error", that SQLSTATE) is built and queued here,
 * after the error has been cleaned up: in the transaction's abort callback
 * (XACT_EVENT_ABORT), or the subtransaction's (SUBXACT_EVENT_ABORT_SUB)
 * when the statement ran in a savepoint.  At that point no catalog access
 * is allowed; the record uses only what was captured while the statement
 * ran.  An error caught by an EXCEPTION block inside the statement leaves
 * it at a nested level and marks nothing: the statement goes on and gets
 * its normal record.  At process exit (FATAL) an unsent record is sent (or
 * logged) by the exit callback.  A record not yet sent when the next
 * statement begins is sent first.  A statement that touched no child data
 * costs one integer test per hook.
 *
 * If a record cannot be queued, it is never dropped silently: it goes to
 * the server log in full ("AUDIT: CHILD,...", see audit_serverlog.c), and
 * outside the abort and exit callbacks the statement fails (ZC200/ZC201).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/parallel.h"
#include "access/xact.h"
#include "access/xlog.h"
#include "catalog/pg_class.h"
#include "catalog/namespace.h"
#include "common/ip.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "nodes/bitmapset.h"
#include "parser/parsetree.h"
#include "storage/ipc.h"
#include "tcop/pquery.h"
#include "tcop/utility.h"
#include "utils/backend_status.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/portal.h"
#include "utils/resowner.h"
#include "utils/timestamp.h"

#include "audit.h"
#include "backend_cache.h"
#include "childguard_errcodes.h"
#include "catalog.h"
#include "compat.h"
#include "decision.h"
#include "pool_scope.h"
#include "protection.h"
#include "statement.h"

/* the protocol message whose top-level utility returned last (cg_audit_error_reported) */
static TimestampTz utility_returned_at = 0;

static MemoryContext emit_cxt = NULL;
static bool exit_callback_registered = false;
static bool resource_callback_registered = false;	/* capture_resource_release */

static void capture_first_access(void);
static void resolve_names(CgStatement *st);
static void capture_resource_release(ResourceReleasePhase phase, bool isCommit,
									 bool isTopLevel, void *arg);
static void capture_xact_callback(XactEvent event, void *arg);
static void capture_subxact_callback(SubXactEvent event, SubTransactionId mySubid,
									 SubTransactionId parentSubid, void *arg);

/* The client's address as log_line_prefix's %h shows it; NULL if none. */
static char *
client_address(void)
{
	char		host[NI_MAXHOST];
	const SockAddr *a;

	if (MyBEEntry == NULL)
		return NULL;
	a = &MyBEEntry->st_clientaddr;
	if (a->salen == 0)
		return NULL;
	if (a->addr.ss_family == AF_UNIX)
		return pstrdup("[local]");
	if (pg_getnameinfo_all(&a->addr, a->salen, host, sizeof(host), NULL, 0,
						   NI_NUMERICHOST) != 0)
		return NULL;
	return pstrdup(host);
}
static void capture_at_exit(int code, Datum arg);

/*
 * Who is asking, remembered across statements: one snapshot of the
 * session role's and acting role's names, the client's address and the
 * application name, which each audited statement points at instead of
 * looking them up and copying them.  It is taken again only when it can
 * have changed, which the first access of every statement checks cheaply:
 *
 *	- the session role's OID (SET / RESET SESSION AUTHORIZATION, DISCARD
 *	  ALL) and the acting role's (SET ROLE, RESET ROLE: the role the
 *	  statement decides under, frozen when it began -- a SECURITY DEFINER
 *	  function inside it does not change it) compared with the
 *	  snapshot's;
 *	- any change to a role or a membership (a rename must show in the next
 *	  record): catalog.c's invalidation bumps role_generation;
 *	- application_name compared byte for byte (it is a few bytes; SET,
 *	  RESET, RESET ALL, DISCARD ALL, a pooler's reset query land here);
 *	- the client's address is fixed for the connection.
 *
 * A statement's record may still be unsent when the snapshot is replaced
 * (its strings are referenced from the statement's state until the record
 * is out: a failed statement's record is built in the abort callback, a
 * pending one when the next statement begins, which is before that
 * statement's first access).  So the replaced snapshot is kept one more
 * round and freed at the next replacement.
 */
typedef struct AuditIdentity
{
	Oid			session_roleid;
	Oid			current_roleid;
	uint64		role_generation;
	char	   *session_role;	/* "" if the role has no name now */
	char	   *current_role;
	char	   *client_addr;	/* NULL if none */
	char	   *application_name;	/* NULL if unset or empty */
} AuditIdentity;

static AuditIdentity *identity = NULL;	/* TopMemoryContext */
static AuditIdentity *identity_retired = NULL;
static uint64 role_generation = 1;
static bool client_addr_known = false;
static char *client_addr_memo = NULL;	/* TopMemoryContext; NULL if none */

/* catalog.c's invalidation: a role changed (its name may have). */
static void
forget_role_names(int kinds, Oid relid)
{
	role_generation++;
}

static void
identity_free(AuditIdentity *id)
{
	if (id == NULL)
		return;
	pfree(id->session_role);
	pfree(id->current_role);
	if (id->application_name)
		pfree(id->application_name);
	pfree(id);
}

/* A role's name ("" if it has none now), in TopMemoryContext. */
static char *
role_name_copy(Oid roleid)
{
	const char *name = OidIsValid(roleid) ? GetUserNameFromId(roleid, true) : NULL;

	return MemoryContextStrdup(TopMemoryContext, name ? name : "");
}

/* The client's address, looked up once per connection. */
static char *
client_address_memo(void)
{
	if (!client_addr_known)
	{
		char	   *a = client_address();

		client_addr_memo = a ? MemoryContextStrdup(TopMemoryContext, a) : NULL;
		client_addr_known = true;
	}
	return client_addr_memo;
}

/*
 * Who is asking now: the snapshot, taken again if anything in it can have
 * changed.  The strings stay valid until the next statement's record is
 * out (see above).
 */
static const AuditIdentity *
current_identity(void)
{
	Oid			session_roleid = GetSessionUserId();
	Oid			current_roleid = cg_decision_role();
	const char *app = application_name && application_name[0] ? application_name : NULL;
	AuditIdentity *id;

	if (identity != NULL &&
		identity->session_roleid == session_roleid &&
		identity->current_roleid == current_roleid &&
		identity->role_generation == role_generation &&
		(app == NULL ? identity->application_name == NULL :
		 identity->application_name != NULL && strcmp(app, identity->application_name) == 0))
		return identity;

	/* the names are looked up first: the lookups may process invalidations */
	id = MemoryContextAllocZero(TopMemoryContext, sizeof(AuditIdentity));
	id->role_generation = role_generation;
	id->session_roleid = session_roleid;
	id->current_roleid = current_roleid;
	id->session_role = role_name_copy(session_roleid);
	id->current_role = role_name_copy(current_roleid);
	id->client_addr = client_address_memo();
	id->application_name = app ? MemoryContextStrdup(TopMemoryContext, app) : NULL;
	/* an invalidation during the lookups: this snapshot is not reused */
	if (id->role_generation != role_generation)
		id->role_generation = 0;
	identity_free(identity_retired);
	identity_retired = identity;
	identity = id;
	return id;
}

/*
 * The names records give relations and columns ("schema.table",
 * "schema.table.column"), cached per (relation, attnum; 0 for the
 * relation itself) so a statement pays no syscache lookups for them;
 * dropped whole when any relation or schema changes (a rename must show in
 * the next record).
 */
typedef struct NameKey
{
	Oid			relid;
	int32		attnum;
} NameKey;

typedef struct NameEntry
{
	NameKey		key;
	char	   *name;			/* in names_cxt */
} NameEntry;

static MemoryContext names_cxt = NULL;
static HTAB *names_cache = NULL;

/*
 * A statement keeps pointers to the cached names (no copy per statement):
 * an invalidation therefore does not free the cache at once but moves its
 * memory under names_retired, freed when the next statement first touches
 * child data (before it looks up any name; the previous statement's
 * record is out by then).
 */
static MemoryContext names_retired = NULL;
static bool names_retired_any = false;

/*
 * The last few entries looked up, so that a statement using the same
 * table and columns as the one before finds its names without hashing.
 * Entries of a dynahash table do not move; forgotten with the table.
 */
#define RECENT_NAMES 4
typedef struct RecentName
{
	Oid			relid;
	int32		attnum;
	NameEntry  *entry;
} RecentName;

static RecentName recent_names[RECENT_NAMES];
static int	recent_next = 0;

static void
forget_names(int kinds, Oid relid)
{
	if (names_cxt != NULL)
	{
		if (names_retired != NULL)
		{
			MemoryContextSetParent(names_cxt, names_retired);
			names_retired_any = true;
		}
		else
			MemoryContextDelete(names_cxt);
		names_cxt = NULL;
	}
	names_cache = NULL;
	memset(recent_names, 0, sizeof(recent_names));
}

/* A new statement, before it looks up names: free the retired caches. */
static void
free_retired_names(void)
{
	if (names_retired_any)
	{
		MemoryContextDeleteChildren(names_retired);
		names_retired_any = false;
	}
}

/*
 * The cached name for (relid, attnum), or NULL; *entry is where to store
 * it (NULL if no cache can be made).  The name stays valid until the next
 * statement's first access (see names_retired).
 */
static const char *
cached_name(Oid relid, int attnum, NameEntry **entry)
{
	NameKey		key;
	bool		found;

	for (int i = 0; i < RECENT_NAMES; i++)
		if (recent_names[i].entry != NULL && recent_names[i].relid == relid &&
			recent_names[i].attnum == attnum)
		{
			*entry = recent_names[i].entry;
			return (*entry)->name;
		}
	*entry = NULL;
	if (names_retired == NULL)
		names_retired = AllocSetContextCreate(TopMemoryContext,
											  "childguard audit names retired",
											  ALLOCSET_SMALL_SIZES);
	if (names_cache == NULL)
		names_cache = cg_backend_hash(&names_cxt, "childguard audit names", 64,
									  sizeof(NameKey), sizeof(NameEntry), false);
	memset(&key, 0, sizeof(key));
	key.relid = relid;
	key.attnum = attnum;
	*entry = hash_search(names_cache, &key, HASH_ENTER, &found);
	if (!found)
		(*entry)->name = NULL;
	recent_names[recent_next].relid = relid;
	recent_names[recent_next].attnum = attnum;
	recent_names[recent_next].entry = *entry;
	recent_next = (recent_next + 1) % RECENT_NAMES;
	return (*entry)->name;
}

/* Store name (computed in the caller's context) for entry. */
static void
cache_name(NameEntry *entry, const char *name)
{
	if (entry != NULL && names_cache != NULL)
		entry->name = MemoryContextStrdup(names_cxt, name);
}

/* Backend start (from _PG_init): hook into statement.c and the transactions. */
void
cg_audit_init(void)
{
	cg_statement_first_access_hook = capture_first_access;
	cg_catalog_on_invalidation(forget_role_names, CG_INVAL_ROLES);
	cg_catalog_on_invalidation(forget_names, CG_INVAL_RELATION | CG_INVAL_OBJECTS);
	/* capture_resource_release: by the first access (capture_first_access) */
	RegisterXactCallback(capture_xact_callback, NULL);
	RegisterSubXactCallback(capture_subxact_callback, NULL);
}

/*
 * The statement is about to touch child data for the first time: make
 * sure its record will have room (or refuse now), and note who is asking.
 */
static void
capture_first_access(void)
{
	CgStatement *st = cg_statement();

	/*
	 * The resource-release callback acts only for a statement that touched
	 * child data, which always passes here first: registered by the
	 * process's first such statement, not at start (every resource owner's
	 * release, three phases of each portal's and transaction's, would call
	 * it in a backend that never reads child data).
	 */
	if (!resource_callback_registered)
	{
		RegisterResourceReleaseCallback(capture_resource_release, NULL);
		resource_callback_registered = true;
	}
	if (!cg_audit_enabled || IsParallelWorker() || cg_audit_is_writer)
		return;
	if (!RecoveryInProgress())
		cg_audit_admit();
	free_retired_names();
	resolve_names(st);
	if (st->identified)
		return;
	{
		const AuditIdentity *id = current_identity();

		/* pointers into the snapshot: valid until this record is out */
		st->session_role = id->session_role;
		st->current_role = id->current_role;
		st->client_addr = id->client_addr;
		st->application_name = id->application_name;
		st->identified = true;
	}
	if (!exit_callback_registered)
	{
		before_shmem_exit(capture_at_exit, 0);
		exit_callback_registered = true;
	}
}

/*
 * Note that the statement used relid, whose protection is p (it holds
 * child data), and which of its child_data columns: those in any of the
 * column sets (attnums offset as in range table entries; a set may be
 * NULL), or every one (all_columns, or the whole row in a set).  Only
 * OIDs and numbers here: names are looked up by resolve_names(), once the
 * statement is known to touch child data.  No set is built: each column
 * is tested against the sets as they are.
 */
static void
capture_relation_sets(const CgProtection *p, Oid relid, const Bitmapset *a,
					  const Bitmapset *b, const Bitmapset *c, bool all_columns)
{
	CgStatement *st = cg_statement();
	CgStatementRelation *rel = NULL;
	MemoryContext old;
	ListCell   *lc;
	const int	whole = InvalidAttrNumber - FirstLowInvalidHeapAttributeNumber;
	bool		whole_row;

	old = MemoryContextSwitchTo(cg_statement_memory());
	foreach(lc, st->relations)
	{
		CgStatementRelation *r = lfirst(lc);

		if (r->relid == relid)
		{
			rel = r;
			break;
		}
	}
	if (rel == NULL)
	{
		rel = palloc0(sizeof(CgStatementRelation));
		rel->relid = relid;
		st->relations = lappend(st->relations, rel);
	}
	whole_row = all_columns || bms_is_member(whole, a) || bms_is_member(whole, b) ||
		bms_is_member(whole, c);
	for (int i = 0; i < p->ncolumns; i++)
	{
		AttrNumber	attnum = p->columns[i].attnum;
		int			m = attnum - FirstLowInvalidHeapAttributeNumber;

		if (whole_row || bms_is_member(m, a) || bms_is_member(m, b) || bms_is_member(m, c))
			rel->attnums = bms_add_member(rel->attnums, attnum);
	}
	MemoryContextSwitchTo(old);
}

/* capture_relation_sets() for one column set, if relid holds child data. */
static void
capture_relation(Oid relid, Bitmapset *cols, bool all_columns)
{
	const CgProtection *p = cg_protection_of_relid(relid);

	if (p->has_child_data)
		capture_relation_sets(p, relid, cols, NULL, NULL, all_columns);
}

/* Names of the captured relations and columns not named yet (catalog lookups). */
static void
resolve_names(CgStatement *st)
{
	MemoryContext old = MemoryContextSwitchTo(cg_statement_memory());
	ListCell   *lc;

	foreach(lc, st->relations)
	{
		CgStatementRelation *rel = lfirst(lc);
		int			attnum = -1;

		if (rel->name == NULL)
		{
			NameEntry  *entry;
			const char *cached = cached_name(rel->relid, 0, &entry);

			if (cached != NULL)
				rel->name = (char *) cached;	/* valid until the record is out */
			else
			{
				char	   *nsp = get_namespace_name(get_rel_namespace(rel->relid));
				char	   *name = get_rel_name(rel->relid);

				rel->name = name && nsp ? quote_qualified_identifier(nsp, name) :
					psprintf("%u", rel->relid);
				/* the lookups may have processed an invalidation: look again */
				if (name && nsp && cached_name(rel->relid, 0, &entry) == NULL)
					cache_name(entry, rel->name);
			}
		}
		while ((attnum = bms_next_member(rel->attnums, attnum)) >= 0)
		{
			NameEntry  *entry;
			const char *cached;
			char	   *attname;
			char	   *column;

			if (bms_is_member(attnum, rel->named))
				continue;
			cached = cached_name(rel->relid, attnum, &entry);
			if (cached != NULL)
				column = (char *) cached;	/* valid until the record is out */
			else
			{
				attname = get_attname(rel->relid, attnum, true);
				column = psprintf("%s.%s", rel->name,
								  attname ? quote_identifier(attname) : "?");
				if (attname && cached_name(rel->relid, attnum, &entry) == NULL)
					cache_name(entry, column);
			}
			st->columns = lappend(st->columns, column);
			rel->named = bms_add_member(rel->named, attnum);
		}
	}
	MemoryContextSwitchTo(old);
}

/* Relations with child data in a plan's range table. */
static void
capture_plan(PlannedStmt *ps)
{
	ListCell   *lc;

	foreach(lc, ps->rtable)
	{
		RangeTblEntry *rte = lfirst(lc);
		const CgProtection *p;

		if (rte->rtekind != RTE_RELATION ||
			(rte->relkind != RELKIND_RELATION && rte->relkind != RELKIND_PARTITIONED_TABLE))
			continue;
		p = cg_protection_of_relid(rte->relid);
		if (!p->has_child_data)
			continue;
		capture_relation_sets(p, rte->relid, cg_rte_cols(ps, rte, selectedCols),
							  cg_rte_cols(ps, rte, insertedCols),
							  cg_rte_cols(ps, rte, updatedCols), false);
	}
}

/*
 * ExecutorStart of any query of the statement: note its relations with
 * child data (before it runs, so a query that fails is included too).
 */
void
cg_audit_executor_start(QueryDesc *queryDesc)
{
	if (!cg_audit_enabled || IsParallelWorker() || !OidIsValid(cg_child_data_type()))
		return;
	/* the top-level query's own portal needs no second look at ExecutorRun */
	if (cg_statement_nesting() == 0)
		cg_statement()->captured_plan = queryDesc->plannedstmt;
	capture_plan(queryDesc->plannedstmt);
	if (cg_statement_accesses() != 0)
		resolve_names(cg_statement());
}

/*
 * ExecutorRun of a portal's query: a cursor's query may have begun in an
 * earlier statement (DECLARE, or OPEN in a function), and the statement
 * fetching from it -- a FETCH, or a function called by any statement --
 * is the one that reads: note its relations now.  Other queries began in
 * this statement and were noted at their ExecutorStart.  A memo of the
 * last cursor noted (or of the top-level query) makes a fetch loop, and a
 * top-level query's run, cost a comparison.
 */
void
cg_audit_executor_run(QueryDesc *queryDesc)
{
	CgStatement *st = cg_statement();

	if (ActivePortal == NULL || ActivePortal->queryDesc != queryDesc ||
		st->captured_plan == queryDesc->plannedstmt ||
		!cg_audit_enabled || IsParallelWorker() || !OidIsValid(cg_child_data_type()))
		return;
	st->captured_plan = queryDesc->plannedstmt;
	capture_plan(queryDesc->plannedstmt);
	if (cg_statement_accesses() != 0)
		resolve_names(st);
}

/*
 * The children of a record, per kind; the first few in place (a point
 * read has one), more in the record's memory context.
 */
#define INLINE_IDS 8
typedef struct SubjectLists
{
	int			distinct;		/* children, whatever their accesses */
	int			n[3];
	int			cap[3];
	int64	   *ids[3];
	int64		inline_ids[3][INLINE_IDS];
} SubjectLists;

static void
add_id(SubjectLists *l, int k, uint64 subject_no)
{
	if (l->n[k] == l->cap[k])
	{
		if (l->cap[k] == 0)
		{
			l->cap[k] = INLINE_IDS;
			l->ids[k] = l->inline_ids[k];
		}
		else
		{
			int64	   *grown = palloc(sizeof(int64) * l->cap[k] * 2);

			memcpy(grown, l->ids[k], sizeof(int64) * l->n[k]);
			if (l->ids[k] != l->inline_ids[k])
				pfree(l->ids[k]);
			l->ids[k] = grown;
			l->cap[k] *= 2;
		}
	}
	l->ids[k][l->n[k]++] = (int64) subject_no;
}

static void
collect_subject(uint64 subject_no, int accesses, void *arg)
{
	SubjectLists *l = arg;

	l->distinct++;
	if (accesses & CG_ACCESS_READ)
		add_id(l, 0, subject_no);
	if (accesses & CG_ACCESS_DENIED)
		add_id(l, 1, subject_no);
	if (accesses & CG_ACCESS_WRITE)
		add_id(l, 2, subject_no);
}

static int
cmp_int64(const void *a, const void *b)
{
	int64		x = *(const int64 *) a;
	int64		y = *(const int64 *) b;

	return x < y ? -1 : x > y ? 1 : 0;
}

/* l's strings as an array: buf if it has room (nbuf), else palloc'd */
static char **
string_array(List *l, int *n, char **buf, int nbuf)
{
	char	  **a = list_length(l) <= nbuf ? buf :
		palloc(sizeof(char *) * (list_length(l) + 1));
	ListCell   *lc;
	int			i = 0;

	foreach(lc, l)
		a[i++] = lfirst(lc);
	*n = i;
	return a;
}

/*
 * Build, queue (and in synchronous mode await) the record of the current
 * statement.  A failed statement's record is built after the error was
 * cleaned up (abort callbacks, or the next statement, or process exit):
 * then nothing may wait or raise, and the catalog is not read.
 */
static void
emit(const char *command, int64 rows, int64 query_id)
{
	CgStatement *st = cg_statement();
	int			accesses = st->accesses;
	bool		failed = st->failed;
	CgAuditRecord rec;
	SubjectLists subjects;
	CgAuditRecordLengths lens;
	char	   *relations_buf[8];
	char	   *columns_buf[8];
	Size		size;
	char	   *dest;
	MemoryContext old;
	uint64		seq = 0;
	bool		queued;
	bool		too_large;

	if (st->recorded || accesses == 0 || !cg_audit_enabled ||
		IsParallelWorker() || cg_audit_is_writer)
		return;
	if (!failed)
		resolve_names(st);
	if (emit_cxt == NULL)
		emit_cxt = AllocSetContextCreate(TopMemoryContext, "childguard audit record",
										 ALLOCSET_DEFAULT_SIZES);
	MemoryContextReset(emit_cxt);
	old = MemoryContextSwitchTo(emit_cxt);

	memset(&rec, 0, sizeof(rec));
	rec.statement_at = GetCurrentStatementStartTimestamp();
	rec.session_start = MyStartTimestamp;
	rec.backend_pid = MyProcPid;
	rec.session_role = st->session_role;
	rec.current_role = st->current_role;
	rec.client_addr = st->client_addr;
	rec.application_name = st->application_name;
	rec.command = (char *) (command ? command :
							st->command_tag != CMDTAG_UNKNOWN ?
							GetCommandTagName((CommandTag) st->command_tag) : "UNKNOWN");
	/* the context the statement decided under (frozen when it began) */
	rec.purpose = st->frozen_id == st->id ? st->purpose : NULL;
	rec.end_user = (char *) cg_pool_end_user(st->id);
	rec.grant_id = st->grant_id;
	rec.relations = list_length(st->relations) <= lengthof(relations_buf) ? relations_buf :
		palloc(sizeof(char *) * (list_length(st->relations) + 1));
	{
		ListCell   *lc;

		foreach(lc, st->relations)
		{
			CgStatementRelation *r = lfirst(lc);

			rec.relations[rec.nrelations++] = r->name ? r->name : psprintf("%u", r->relid);
		}
	}
	rec.columns = string_array(st->columns, &rec.ncolumns, columns_buf, lengthof(columns_buf));

	memset(&subjects, 0, sizeof(subjects));
	cg_statement_foreach(collect_subject, &subjects);
	for (int k = 0; k < 3; k++)
		if (subjects.n[k] > 1)
			qsort(subjects.ids[k], subjects.n[k], sizeof(int64), cmp_int64);
	rec.nread = subjects.n[0];
	rec.read = subjects.ids[0];
	rec.ndenied = subjects.n[1];
	rec.denied = subjects.ids[1];
	rec.nwritten = subjects.n[2];
	rec.written = subjects.ids[2];
	rec.children = subjects.distinct;
	rec.rows = rows;
	if (failed)
	{
		rec.outcome = CG_OUTCOME_ERROR;
		if (st->sqlerrcode != 0)
			memcpy(rec.sqlstate, unpack_sql_state(st->sqlerrcode), 5);
	}
	else if ((accesses & CG_ACCESS_READ) && st->disclosure)
		rec.outcome = CG_OUTCOME_DISCLOSED;	/* Art 18: a disclosure, its own outcome */
	else
		rec.outcome = (accesses & (CG_ACCESS_READ | CG_ACCESS_WRITE)) ?
			CG_OUTCOME_ALLOWED : CG_OUTCOME_DENIED;
	/* a failed statement and output after a utility: the top-level query id */
	rec.query_id = query_id != 0 ? query_id :
		failed && st->failed_query_id != 0 ? st->failed_query_id :
		(int64) pgstat_get_my_query_id();

	/* a hot standby cannot write the log: its records go to the server log */
	if (RecoveryInProgress())
	{
		st->recorded = true;
		cg_audit_server_log(&rec, "a hot standby cannot write childguard.access_log");
		MemoryContextSwitchTo(old);
		return;
	}
	/* encoded straight into the queue's ring: reserve, write, publish */
	size = cg_audit_record_size(&rec, &lens);
	too_large = size > cg_audit_max_record();
	dest = too_large ? NULL :
		cg_audit_reserve(size, cg_audit_sync && !failed, !failed, &seq);
	queued = dest != NULL;
	if (queued)
	{
		cg_audit_record_write(&rec, &lens, dest, size);
		cg_audit_publish();
	}

	/* from here on the record is out: in the queue or the server log */
	st->recorded = true;
	if (cg_audit_log_server || cg_audit_log_client || !queued)
		cg_audit_server_log(&rec, queued ? NULL :
							too_large ? "the record is larger than the audit queue takes" :
							"the audit queue is full");
	MemoryContextSwitchTo(old);

	if (failed)
		return;
	if (too_large)
		ereport(ERROR,
				(errcode(ERRCODE_CG_AUDIT_RECORD_TOO_LARGE),
				 errmsg("audit record of this statement is too large for the audit queue"),
				 errdetail("The statement touched the data of %d children; the record went to the server log instead.",
						   rec.children),
				 errhint("Touch fewer children per statement, or raise childguard.audit_queue_size.")));
	if (!queued)
		ereport(ERROR,
				(errcode(ERRCODE_CG_AUDIT_QUEUE_FULL),
				 errmsg("childguard audit queue is full"),
				 errdetail("The statement's audit record could not be queued and went to the server log instead."),
				 errhint("The audit writer is behind or not running; retry later, or raise childguard.audit_queue_size.")));
	if (cg_audit_sync)
		cg_audit_wait_durable(seq);
}

/*
 * A new top-level statement is about to begin (before statement.c forgets
 * the previous one): send the previous one's record if still pending.
 */
void
cg_audit_flush_pending(void)
{
	const CgStatement *st = cg_statement();

	if (st->accesses != 0 && !st->recorded)
		emit(NULL, 0, 0);
}

/* ExecutorEnd at nesting level 0: the query is complete. */
void
cg_audit_executor_end(QueryDesc *queryDesc)
{
	if (cg_statement_accesses() == 0 || cg_statement_nesting() != 0)
		return;
	if (!cg_audit_enabled || IsParallelWorker())
		return;
	emit(GetCommandTagName(CreateCommandTag((Node *) queryDesc->plannedstmt)),
		 queryDesc->estate ? (int64) queryDesc->estate->es_processed : 0,
		 (int64) queryDesc->plannedstmt->queryId);
}

/* ProcessUtility at nesting level 0 returned. */
void
cg_audit_utility_end(PlannedStmt *pstmt, QueryCompletion *qc)
{
	CgStatement *st = cg_statement();
	Node	   *stmt = pstmt->utilityStmt;

	st->utility_done = true;
	utility_returned_at = GetCurrentStatementStartTimestamp();
	st->rows = qc ? (int64) qc->nprocessed : 0;
	st->query_id = (int64) pstmt->queryId;
	/* FETCH: the cursor's query was started by an earlier statement */
	if (IsA(stmt, FetchStmt) && cg_audit_enabled && !IsParallelWorker())
	{
		Portal		portal = GetPortalByName(((FetchStmt *) stmt)->portalname);

		if (PortalIsValid(portal) && portal->queryDesc != NULL)
			capture_plan(portal->queryDesc->plannedstmt);
	}
	if (cg_statement_accesses() == 0 || !cg_audit_enabled || IsParallelWorker())
		return;
	/* COPY table TO/FROM runs without the executor: the table is in the statement */
	if (IsA(stmt, CopyStmt) && ((CopyStmt *) stmt)->relation != NULL)
	{
		CopyStmt   *copy = (CopyStmt *) stmt;
		Oid			relid = RangeVarGetRelid(copy->relation, NoLock, true);

		if (OidIsValid(relid))
		{
			Bitmapset  *cols = NULL;
			ListCell   *lc;

			foreach(lc, copy->attlist)
			{
				AttrNumber	attnum = get_attnum(relid, strVal(lfirst(lc)));

				if (attnum != InvalidAttrNumber)
					cols = bms_add_member(cols, attnum - FirstLowInvalidHeapAttributeNumber);
			}
			capture_relation(relid, cols, copy->attlist == NIL);
		}
	}
	emit(CreateCommandName(stmt), st->rows, st->query_id);
}

/*
 * The transaction or subtransaction aborted, its resources released and
 * the error cleaned up: if an error left the top-level statement (marked
 * by the hooks' error path), its record is built now.  An abort with no
 * such mark -- an EXCEPTION block catching an error inside the statement
 * -- leaves the statement to go on.  Only what was captured while the
 * statement ran is used: no catalog access.
 */
static void
record_failed(void)
{
	CgStatement *st = cg_statement();

	if (!st->failed || st->recorded || st->accesses == 0)
		return;
	PG_TRY();
	{
		emit(NULL, 0, 0);
	}
	PG_CATCH();
	{
		/* e.g. out of memory: reported, and not retried by the next abort */
		st->recorded = true;
		PG_RE_THROW();
	}
	PG_END_TRY();
}

/*
 * An error is being reported at the top level (the emit_log_hook, called
 * from EmitErrorReport before the transaction aborts).  One raised outside
 * the hooks -- while the rows of a FETCH or an EXECUTE are sent, after the
 * utility returned, where an output function decides each value -- left
 * the statement without the hooks' mark, and its record would say
 * "denied" with no SQLSTATE.  Mark it here with the error's SQLSTATE, so
 * the abort callback records it as any failed statement.  An error caught
 * by an EXCEPTION block is never reported, and one raised inside the
 * hooks is already marked: both are left alone.  Only an error of the
 * protocol message whose utility returned counts (a portal kept open past
 * it, then an unrelated error of the next message, is not this statement's
 * failure).  Plain assignments only.
 */
void
cg_audit_error_reported(const ErrorData *edata)
{
	const CgStatement *st;

	if (edata->elevel < ERROR)
		return;
	st = cg_statement();
	if (st->accesses == 0 || st->recorded || st->failed || st->level.nesting != 0 ||
		!st->utility_done || GetCurrentStatementStartTimestamp() != utility_returned_at)
		return;
	cg_statement_failed(edata->sqlerrcode);
}

static void
capture_xact_callback(XactEvent event, void *arg)
{
	if (event == XACT_EVENT_ABORT)
		record_failed();
}

static void
capture_subxact_callback(SubXactEvent event, SubTransactionId mySubid,
						 SubTransactionId parentSubid, void *arg)
{
	if (event == SUBXACT_EVENT_ABORT_SUB)
		record_failed();
}

/*
 * A utility that returns rows (FETCH, EXECUTE, EXPLAIN ANALYZE, ...) at
 * the top level stores them, and the client's output functions -- the
 * decryption -- run after ProcessUtility returned, outside any hook.  The
 * next thing that happens is that the portal is dropped, which releases
 * its resource owner (not top-level, not an abort): the record goes out
 * there, before the command completes.
 */
static void
capture_resource_release(ResourceReleasePhase phase, bool isCommit, bool isTopLevel,
						 void *arg)
{
	const CgStatement *st = cg_statement();

	if (phase != RESOURCE_RELEASE_AFTER_LOCKS || !isCommit || isTopLevel ||
		st->level.nesting != 0 || st->accesses == 0 || st->recorded || st->failed)
		return;
	emit(NULL, st->rows, st->query_id);
}

/*
 * The process exits (e.g. FATAL) in the middle of a statement, or before
 * a failed statement's abort callback ran: an error record.
 */
static void
capture_at_exit(int code, Datum arg)
{
	CgStatement *st = cg_statement();

	if (st->accesses == 0 || st->recorded)
		return;
	cg_statement_failed(0);
	emit(NULL, 0, 0);
}

PG_FUNCTION_INFO_V1(cg_audit_wait);

/* childguard.audit_wait(): until this session's records are committed. */
Datum
cg_audit_wait(PG_FUNCTION_ARGS)
{
	cg_audit_wait_durable(cg_audit_last_seq());
	PG_RETURN_VOID();
}
