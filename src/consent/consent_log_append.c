/*-------------------------------------------------------------------------
 *
 * consent_log_append.c
 *	  childguard._consent_events_inserted(): the AFTER INSERT FOR EACH
 *	  STATEMENT trigger on childguard.consent that appends the statement's
 *	  consent events to the hash-chained consent log, in one pass in C
 *	  (1.6; the PL/pgSQL trigger before it numbered the events with a sort
 *	  and a window, hashed them with a window aggregate over a second sort,
 *	  and took each event's previous hash with a third window).
 *
 * What it writes is exactly what the PL/pgSQL trigger wrote: for each
 * inserted consent row, in order of consent_id, its decision event (at
 * given_at, by recorded_by_role or else the caller), then, for a row
 * inserted whole with its history (a restore, a superuser's INSERT), its
 * withdrawal (at withdrawn_at, by withdrawn_by) and its lapse (at
 * lapsed_at, by nobody); numbered after the log head's last_id, each
 * hashed as SHA-256(previous hash || its canonical text), the first one's
 * previous hash the head's.  verify_consent_log() recomputes every event's
 * text with the SQL _consent_event_text() and every hash, so it stays
 * exact; regress bulk_registration compares the two triggers' rows.
 *
 * Concurrency: the head's row is locked by the UPDATE that reserves the
 * statement's event numbers (last_id + n) before anything is hashed, so
 * appenders (this trigger, the row trigger _consent_event() for
 * withdrawals) are serialised exactly as before; the head's last_hash is
 * set to the last event's hash before the lock is released at commit.
 *
 * The rows go in the way COPY FROM writes them (1.7): in batches of
 * DIRECT_BATCH through table_multi_insert(), each row checked against the
 * log's constraints (ExecConstraints: NOT NULL and CHECK) before the batch
 * is written and its index entries made by ExecInsertIndexTuples() (the
 * primary key's uniqueness checked as by any INSERT).  That is only taken
 * when an INSERT would do nothing more: the log is a plain table with
 * exactly the columns written here, not a partition, no trigger or rule
 * on INSERT (a foreign key's or anyone's: its owner may add one), no row
 * security, no other module checking or auditing writes
 * (ExecutorCheckPerms_hook), and the current user may insert into it;
 * otherwise (direct_insert_possible()) the rows go in as in 1.6, one
 * INSERT ... SELECT FROM unnest(arrays) per chunk of CHUNK events through
 * SPI, so that every trigger, rule, policy, default and permission check
 * applies as to any INSERT.
 * Either way the rows are the same (regress consent_log_direct compares
 * the two).  Memory: the statement's events are held to be sorted (about
 * 100 bytes each plus the guardian id: the decision, giver kind and
 * notice repeat and are kept once; 2 million events, a 1,000,000-children
 * load's, take about 250 MB); a chunk's arrays and hashes are freed after
 * the chunk.
 *
 * The function is declared SECURITY DEFINER (the extension owner writes
 * the log), like the PL/pgSQL trigger; the caller is still
 * GetOuterUserId(), as childguard._caller_oid() says.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/heapam.h"
#include "access/tableam.h"
#include "access/xact.h"
#include "catalog/pg_class.h"
#include "catalog/pg_type.h"
#include "commands/trigger.h"
#include "executor/executor.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "nodes/makefuncs.h"
#include "storage/lmgr.h"
#include "utils/acl.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/datetime.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"
#include "utils/tuplestore.h"

#include "consent_log_chain.h"

#define CHUNK 8192
#define DIRECT_BATCH 1000		/* as COPY FROM's MAX_BUFFERED_TUPLES */
#define LOG_COLUMNS 15

/* the log's columns, in the order of the values built below */
static const char *const log_columns[LOG_COLUMNS] = {
	"event_id", "at", "consent_id", "subject_no", "purpose_id", "event",
	"giver_kind", "guardian_id", "notice_id", "notice_version", "by_role",
	"by_role_name", "session_role_name", "prev_hash", "hash"
};
static const Oid log_types[LOG_COLUMNS] = {
	INT8OID, TIMESTAMPTZOID, INT8OID, INT8OID, INT4OID, TEXTOID, TEXTOID,
	TEXTOID, TEXTOID, INT4OID, REGROLEOID, NAMEOID, NAMEOID, BYTEAOID, BYTEAOID
};

/* the direct route's state: an executor state for the log, as COPY FROM's */
typedef struct DirectInsert
{
	EState	   *estate;
	ResultRelInfo *rri;
	Relation	rel;
	TupleTableSlot *slots[DIRECT_BATCH];
	AttrNumber	attnos[LOG_COLUMNS];
	BulkInsertState bistate;
	CommandId	cid;
} DirectInsert;

/* one event as collected from the inserted rows */
typedef struct AppendEvent
{
	int64		consent_id;
	int			ord;			/* 1 decision, 2 withdrawn, 3 lapsed */
	int32		purpose_id;
	int32		notice_version;
	int64		subject_no;
	TimestampTz at;
	Oid			by_role;
	bool		by_role_null;
	const char *event;
	const char *giver_kind;
	const char *guardian_id;
	const char *notice_id;
} AppendEvent;

static int
event_cmp(const void *a, const void *b)
{
	const AppendEvent *x = (const AppendEvent *) a;
	const AppendEvent *y = (const AppendEvent *) b;

	if (x->consent_id != y->consent_id)
		return x->consent_id < y->consent_id ? -1 : 1;
	return x->ord - y->ord;
}

static int
column(TupleDesc desc, const char *name)
{
	int			attnum = SPI_fnumber(desc, name);

	if (attnum <= 0)
		elog(ERROR, "childguard.consent has no column \"%s\"", name);
	return attnum;
}

/* a column the table declares NOT NULL (checked before AFTER triggers) */
static Datum
not_null(TupleTableSlot *slot, int attnum)
{
	if (slot->tts_isnull[attnum - 1])
		elog(ERROR, "childguard.consent row without its %s",
			 NameStr(TupleDescAttr(slot->tts_tupleDescriptor, attnum - 1)->attname));
	return slot->tts_values[attnum - 1];
}

/*
 * A text column's value as a C string, the previous row's copy when equal
 * (decision, giver kind and notice repeat across a load: one copy each).
 */
static const char *
same_or_copy(Datum d, const char **last)
{
	text	   *t = DatumGetTextPP(d);
	int			len = VARSIZE_ANY_EXHDR(t);

	if (*last == NULL || strlen(*last) != (size_t) len || memcmp(*last, VARDATA_ANY(t), len) != 0)
		*last = text_to_cstring(t);
	return *last;
}

/* (EXTRACT(epoch FROM at) * 1000000)::bigint */
static int64
unix_us(TimestampTz at)
{
	if (TIMESTAMP_NOT_FINITE(at))
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("cannot convert infinity to bigint")));
	return at + (int64) (POSTGRES_EPOCH_JDATE - UNIX_EPOCH_JDATE) * USECS_PER_DAY;
}

/* a role's name, as _role_name() (pg_roles), remembered for the last one */
static const char *
role_name(MemoryContext cxt, Oid role, Oid *last_role, const char **last_name)
{
	if (role != *last_role)
	{
		MemoryContext old = MemoryContextSwitchTo(cxt);

		*last_role = role;
		*last_name = GetUserNameFromId(role, true);
		MemoryContextSwitchTo(old);
	}
	return *last_name;
}

static Datum
array_of(Datum *elems, bool *nulls, int n, Oid elmtype)
{
	int16		len;
	bool		byval;
	char		align;
	int			dims[1] = {n};
	int			lbs[1] = {1};

	get_typlenbyvalalign(elmtype, &len, &byval, &align);
	return PointerGetDatum(construct_md_array(elems, nulls, 1, dims, lbs, elmtype,
											  len, byval, align));
}

/*
 * Whether an INSERT into the log (relid) would do nothing the direct route
 * leaves out: a plain table that is not a partition (an INSERT checks the
 * partition's bound, ExecConstraints does not), each of its live columns
 * one of the fifteen written (so no default, identity or generated column
 * to fill), no trigger on INSERT of any kind (foreign keys' included), no
 * rule on INSERT (the rewriter's, which only an INSERT goes through), no
 * row security, no other module's permission check (ExecutorCheckPerms_hook:
 * an INSERT calls it, and with it pgaudit's audit of writes and sepgsql's
 * access control), and INSERT allowed to the current user.  attnos gets
 * each written column's number.
 */
static bool
direct_insert_possible(Relation rel, AttrNumber *attnos)
{
	TupleDesc	desc = RelationGetDescr(rel);
	TriggerDesc *trig = rel->trigdesc;
	int			live = 0;

	if (rel->rd_rel->relkind != RELKIND_RELATION || rel->rd_rel->relrowsecurity ||
		rel->rd_rel->relispartition)
		return false;
	/*
	 * another module checks or audits each write (sepgsql, pgaudit): an
	 * INSERT's permission check calls it, table_multi_insert does not
	 */
	if (ExecutorCheckPerms_hook != NULL)
		return false;
	/* a rule on INSERT rewrites the INSERT (DO ALSO, DO INSTEAD) */
	if (rel->rd_rules != NULL)
	{
		for (int i = 0; i < rel->rd_rules->numLocks; i++)
			if (rel->rd_rules->rules[i]->event == CMD_INSERT)
				return false;
	}
	if (trig != NULL &&
		(trig->trig_insert_before_row || trig->trig_insert_after_row ||
		 trig->trig_insert_instead_row || trig->trig_insert_before_statement ||
		 trig->trig_insert_after_statement || trig->trig_insert_new_table))
		return false;
	if (pg_class_aclcheck(RelationGetRelid(rel), GetUserId(), ACL_INSERT) != ACLCHECK_OK)
		return false;
	for (int i = 0; i < desc->natts; i++)
	{
		Form_pg_attribute att = TupleDescAttr(desc, i);
		int			c;

		if (att->attisdropped)
			continue;
		live++;
		for (c = 0; c < LOG_COLUMNS; c++)
			if (strcmp(NameStr(att->attname), log_columns[c]) == 0)
				break;
		if (c == LOG_COLUMNS || att->atttypid != log_types[c] || att->attgenerated ||
			att->attidentity)
			return false;
		attnos[c] = att->attnum;
	}
	return live == LOG_COLUMNS;
}

/* Open the log for the direct route; NULL when an INSERT must do it. */
static DirectInsert *
direct_insert_begin(Oid relid)
{
	DirectInsert *d = palloc0(sizeof(DirectInsert));
	RangeTblEntry *rte;
	Relation	rel;

	if (!OidIsValid(relid))
	{
		pfree(d);
		return NULL;			/* the INSERT says what is missing */
	}
	LockRelationOid(relid, RowExclusiveLock);
	rel = table_open(relid, NoLock);
	if (!direct_insert_possible(rel, d->attnos))
	{
		table_close(rel, NoLock);
		pfree(d);
		return NULL;
	}
	table_close(rel, NoLock);

	rte = makeNode(RangeTblEntry);
	rte->rtekind = RTE_RELATION;
	rte->relid = relid;
	rte->relkind = RELKIND_RELATION;
	rte->rellockmode = RowExclusiveLock;
	rte->requiredPerms = ACL_INSERT;
	d->estate = CreateExecutorState();
	d->estate->es_snapshot = ActiveSnapshotSet() ? GetActiveSnapshot() : InvalidSnapshot;
	ExecInitRangeTable(d->estate, list_make1(rte));
	d->rri = makeNode(ResultRelInfo);
	ExecInitResultRelation(d->estate, d->rri, 1);
	CheckValidResultRel(d->rri, CMD_INSERT);
	ExecOpenIndices(d->rri, false);
	d->rel = d->rri->ri_RelationDesc;
	for (int i = 0; i < DIRECT_BATCH; i++)
		d->slots[i] = table_slot_create(d->rel, &d->estate->es_tupleTable);
	d->bistate = GetBulkInsertState();
	d->cid = GetCurrentCommandId(true);
	return d;
}

/*
 * Write m (<= DIRECT_BATCH) rows, their values column by column in the
 * order of log_columns: each checked against the constraints, then the
 * batch into the heap, then each row's index entries.
 */
static void
direct_insert_rows(DirectInsert *d, Datum **cols, bool **nulls, int from, int m)
{
	ExprContext *econtext = GetPerTupleExprContext(d->estate);

	for (int i = 0; i < m; i++)
	{
		TupleTableSlot *slot = d->slots[i];

		ExecClearTuple(slot);
		memset(slot->tts_isnull, true, sizeof(bool) * slot->tts_tupleDescriptor->natts);
		for (int c = 0; c < LOG_COLUMNS; c++)
		{
			slot->tts_values[d->attnos[c] - 1] = cols[c][from + i];
			slot->tts_isnull[d->attnos[c] - 1] = nulls[c][from + i];
		}
		ExecStoreVirtualTuple(slot);
		if (d->rel->rd_att->constr)
			ExecConstraints(d->rri, slot, d->estate);
	}
	table_multi_insert(d->rel, d->slots, m, d->cid, 0, d->bistate);
	for (int i = 0; i < m; i++)
	{
		if (d->rri->ri_NumIndices > 0)
		{
			List	   *recheck;

			ResetExprContext(econtext);
			recheck = ExecInsertIndexTuples(d->rri, d->slots[i], d->estate,
											false, false, NULL, NIL);
			list_free(recheck);
		}
		ExecClearTuple(d->slots[i]);
	}
	ResetExprContext(econtext);
}

static void
direct_insert_end(DirectInsert *d)
{
	FreeBulkInsertState(d->bistate);
	ExecResetTupleTable(d->estate->es_tupleTable, false);
	ExecCloseResultRelations(d->estate);
	ExecCloseRangeTableRelations(d->estate);
	FreeExecutorState(d->estate);
}

PG_FUNCTION_INFO_V1(cg_consent_events_inserted);

Datum
cg_consent_events_inserted(PG_FUNCTION_ARGS)
{
	TriggerData *td = (TriggerData *) fcinfo->context;
	Tuplestorestate *ts;
	TupleDesc	desc;
	TupleTableSlot *slot;
	MemoryContext work;
	MemoryContext chunk_cxt;
	MemoryContext old;
	AppendEvent *evs;
	int64		cap;
	int64		n = 0;
	bool		sorted = true;
	int			c_id, c_subject, c_purpose, c_decision, c_giver, c_guardian,
				c_notice, c_version, c_given, c_withdrawn, c_lapsed, c_recorded_by,
				c_withdrawn_by;
	Oid			caller = GetOuterUserId();
	const char *caller_name;
	const char *sess_name;
	const char *last_giver = NULL;
	const char *last_notice = NULL;
	const char *last_decision = NULL;
	Oid			last_role = InvalidOid;
	const char *last_role_name = NULL;
	int			readptr;
	Oid			head_types[1] = {INT8OID};
	Datum		head_args[1];
	int64		last_id;
	char	   *prev = NULL;
	int			prev_len = 0;
	uint8		hash[PG_SHA256_DIGEST_LENGTH];
	pg_cryptohash_ctx *sha;
	SPIPlanPtr	insert_plan = NULL;
	DirectInsert *direct;
	int			chunk;
	Oid			insert_types[15] = {INT8ARRAYOID, TIMESTAMPTZARRAYOID, INT8ARRAYOID,
		INT8ARRAYOID, INT4ARRAYOID, TEXTARRAYOID, TEXTARRAYOID, TEXTARRAYOID,
		TEXTARRAYOID, INT4ARRAYOID, OIDARRAYOID, TEXTARRAYOID, TEXTARRAYOID,
	BYTEAARRAYOID, BYTEAARRAYOID};
	StringInfoData buf;

	if (!CALLED_AS_TRIGGER(fcinfo) || !TRIGGER_FIRED_AFTER(td->tg_event) ||
		!TRIGGER_FIRED_FOR_STATEMENT(td->tg_event) || !TRIGGER_FIRED_BY_INSERT(td->tg_event) ||
		td->tg_newtable == NULL)
		elog(ERROR, "childguard._consent_events_inserted() must be an AFTER INSERT statement trigger with a NEW TABLE");
	/* only on childguard.consent: it writes the log as the extension owner */
	if (strcmp(RelationGetRelationName(td->tg_relation), "consent") != 0 ||
		strcmp(get_namespace_name(RelationGetNamespace(td->tg_relation)), "childguard") != 0)
		elog(ERROR, "childguard._consent_events_inserted() fires only on childguard.consent");
	ts = td->tg_newtable;
	desc = RelationGetDescr(td->tg_relation);
	c_id = column(desc, "consent_id");
	c_subject = column(desc, "subject_no");
	c_purpose = column(desc, "purpose_id");
	c_decision = column(desc, "decision");
	c_giver = column(desc, "giver_kind");
	c_guardian = column(desc, "guardian_id");
	c_notice = column(desc, "notice_id");
	c_version = column(desc, "notice_version");
	c_given = column(desc, "given_at");
	c_withdrawn = column(desc, "withdrawn_at");
	c_lapsed = column(desc, "lapsed_at");
	c_recorded_by = column(desc, "recorded_by_role");
	c_withdrawn_by = column(desc, "withdrawn_by");

	work = AllocSetContextCreate(CurrentMemoryContext, "childguard consent log append",
								 ALLOCSET_DEFAULT_SIZES);
	old = MemoryContextSwitchTo(work);
	caller_name = GetUserNameFromId(caller, true);
	sess_name = GetUserNameFromId(GetSessionUserId(), true);

	/* the statement's events, in the order of the transition table */
	cap = Max(tuplestore_tuple_count(ts), 16);
	evs = MemoryContextAllocHuge(work, sizeof(AppendEvent) * cap);
	slot = MakeSingleTupleTableSlot(desc, &TTSOpsMinimalTuple);
	readptr = tuplestore_alloc_read_pointer(ts, EXEC_FLAG_REWIND);
	tuplestore_select_read_pointer(ts, readptr);
	tuplestore_rescan(ts);
	while (tuplestore_gettupleslot(ts, true, false, slot))
	{
		bool		isnull;
		Datum		v;
		AppendEvent base;

		slot_getallattrs(slot);
#define NOTNULL(att) not_null(slot, (att))
		base.consent_id = DatumGetInt64(NOTNULL(c_id));
		base.subject_no = DatumGetInt64(NOTNULL(c_subject));
		base.purpose_id = DatumGetInt32(NOTNULL(c_purpose));
		base.notice_version = DatumGetInt32(NOTNULL(c_version));
		base.giver_kind = same_or_copy(NOTNULL(c_giver), &last_giver);
		base.notice_id = same_or_copy(NOTNULL(c_notice), &last_notice);
		v = slot_getattr(slot, c_guardian, &isnull);
		base.guardian_id = isnull ? NULL : TextDatumGetCString(v);

		if (n + 3 > cap)
		{
			cap *= 2;
			evs = repalloc_huge(evs, sizeof(AppendEvent) * cap);
		}
		/* the decision, by who recorded it (else the caller) */
		evs[n] = base;
		evs[n].ord = 1;
		evs[n].event = same_or_copy(NOTNULL(c_decision), &last_decision);
		evs[n].at = DatumGetTimestampTz(NOTNULL(c_given));
		v = slot_getattr(slot, c_recorded_by, &isnull);
		evs[n].by_role = isnull ? caller : DatumGetObjectId(v);
		evs[n].by_role_null = false;
		if (n > 0 && event_cmp(&evs[n - 1], &evs[n]) > 0)
			sorted = false;
		n++;
		/* a row inserted whole brings its withdrawal and its lapse */
		v = slot_getattr(slot, c_withdrawn, &isnull);
		if (!isnull)
		{
			evs[n] = base;
			evs[n].ord = 2;
			evs[n].event = "withdrawn";
			evs[n].at = DatumGetTimestampTz(v);
			v = slot_getattr(slot, c_withdrawn_by, &isnull);
			evs[n].by_role = isnull ? InvalidOid : DatumGetObjectId(v);
			evs[n].by_role_null = isnull;
			n++;
		}
		v = slot_getattr(slot, c_lapsed, &isnull);
		if (!isnull)
		{
			evs[n] = base;
			evs[n].ord = 3;
			evs[n].event = "lapsed";
			evs[n].at = DatumGetTimestampTz(v);
			evs[n].by_role = InvalidOid;
			evs[n].by_role_null = true;
			n++;
		}
#undef NOTNULL
	}
	ExecDropSingleTupleTableSlot(slot);
	if (n == 0)
	{
		MemoryContextSwitchTo(old);
		MemoryContextDelete(work);
		return PointerGetDatum(NULL);
	}
	if (!sorted)
		qsort(evs, n, sizeof(AppendEvent), event_cmp);

	SPI_connect();
	/* the head's row lock serialises appenders; it numbers our events */
	head_args[0] = Int64GetDatum(n);
	if (SPI_execute_with_args("UPDATE childguard.consent_log_head x SET last_id = x.last_id + $1 "
							  "RETURNING x.last_id, x.last_hash",
							  1, head_types, head_args, NULL, false, 0) != SPI_OK_UPDATE_RETURNING ||
		SPI_processed != 1)
		elog(ERROR, "childguard.consent_log_head must hold exactly one row");
	{
		bool		isnull;
		Datum		v;

		v = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
		if (isnull)
			elog(ERROR, "childguard.consent_log_head has no last_id");
		last_id = DatumGetInt64(v);
		v = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &isnull);
		if (!isnull)
		{
			bytea	   *h = DatumGetByteaPP(v);

			prev_len = VARSIZE_ANY_EXHDR(h);
			prev = MemoryContextAlloc(work, Max(prev_len, 1));
			memcpy(prev, VARDATA_ANY(h), prev_len);
		}
	}

	/* as COPY FROM when an INSERT would do nothing more, else an INSERT */
	direct = direct_insert_begin(get_relname_relid("consent_log",
												   RelationGetNamespace(td->tg_relation)));
	chunk = direct ? DIRECT_BATCH * 8 : CHUNK;
	if (direct == NULL)
	{
		insert_plan = SPI_prepare("INSERT INTO childguard.consent_log (event_id, at, consent_id, subject_no, "
								  "purpose_id, event, giver_kind, guardian_id, notice_id, notice_version, "
								  "by_role, by_role_name, session_role_name, prev_hash, hash) "
								  "SELECT * FROM ROWS FROM (pg_catalog.unnest($1), pg_catalog.unnest($2), "
								  "pg_catalog.unnest($3), pg_catalog.unnest($4), pg_catalog.unnest($5), "
								  "pg_catalog.unnest($6), pg_catalog.unnest($7), pg_catalog.unnest($8), "
								  "pg_catalog.unnest($9), pg_catalog.unnest($10), "
								  "pg_catalog.unnest($11::pg_catalog.regrole[]), pg_catalog.unnest($12), "
								  "pg_catalog.unnest($13), pg_catalog.unnest($14), pg_catalog.unnest($15))",
								  15, insert_types);
		if (insert_plan == NULL)
			elog(ERROR, "could not prepare the consent log's insert: %s",
				 SPI_result_code_string(SPI_result));
	}

	chunk_cxt = AllocSetContextCreate(work, "childguard consent log chunk",
									  ALLOCSET_DEFAULT_SIZES);
	/* freed by the resource owner if an error ends the statement */
	sha = pg_cryptohash_create(PG_SHA256);
	{
		for (int64 from = 0; from < n; from += chunk)
		{
			int			m = (int) Min((int64) chunk, n - from);
			Datum	   *cols[15];
			bool	   *nulls[15];
			Datum		args[15];
			MemoryContext outer = MemoryContextSwitchTo(chunk_cxt);

			initStringInfo(&buf);
			for (int c = 0; c < 15; c++)
			{
				cols[c] = palloc(sizeof(Datum) * m);
				nulls[c] = palloc0(sizeof(bool) * m);
			}
			for (int i = 0; i < m; i++)
			{
				AppendEvent *e = &evs[from + i];
				CgConsentEventText t;
				bytea	   *h;
				bytea	   *p;

				t.event_id = last_id - n + from + i + 1;
				t.at_us = unix_us(e->at);
				t.consent_id = e->consent_id;
				t.subject_no = e->subject_no;
				t.purpose_id = e->purpose_id;
				t.event = e->event;
				t.giver_kind = e->giver_kind;
				t.guardian_id = e->guardian_id;
				t.notice_id = e->notice_id;
				t.notice_version = e->notice_version;
				t.by_role = e->by_role;
				t.by_role_null = e->by_role_null;
				t.by_role_name = e->by_role_null ? NULL :
					e->by_role == caller ? caller_name :
					role_name(work, e->by_role, &last_role, &last_role_name);
				t.session_role_name = sess_name;
				resetStringInfo(&buf);
				cg_consent_event_text(&buf, &t);
				cg_chain_step(sha, prev, prev_len, buf.data, buf.len, hash);

				cols[0][i] = Int64GetDatum(t.event_id);
				cols[1][i] = TimestampTzGetDatum(e->at);
				cols[2][i] = Int64GetDatum(t.consent_id);
				cols[3][i] = Int64GetDatum(t.subject_no);
				cols[4][i] = Int32GetDatum(t.purpose_id);
				cols[5][i] = CStringGetTextDatum(t.event);
				cols[6][i] = CStringGetTextDatum(t.giver_kind);
				if (t.guardian_id)
					cols[7][i] = CStringGetTextDatum(t.guardian_id);
				else
					nulls[7][i] = true;
				cols[8][i] = CStringGetTextDatum(t.notice_id);
				cols[9][i] = Int32GetDatum(t.notice_version);
				cols[10][i] = ObjectIdGetDatum(t.by_role);
				nulls[10][i] = t.by_role_null;
				/* names: text for the INSERT's cast, name for the heap */
				if (t.by_role_name)
					cols[11][i] = direct ? DirectFunctionCall1(namein, CStringGetDatum(t.by_role_name)) :
						CStringGetTextDatum(t.by_role_name);
				else
					nulls[11][i] = true;
				if (t.session_role_name)
					cols[12][i] = direct ? DirectFunctionCall1(namein, CStringGetDatum(t.session_role_name)) :
						CStringGetTextDatum(t.session_role_name);
				else
					nulls[12][i] = true;
				if (prev != NULL)
				{
					p = (bytea *) palloc(VARHDRSZ + prev_len);
					SET_VARSIZE(p, VARHDRSZ + prev_len);
					memcpy(VARDATA(p), prev, prev_len);
					cols[13][i] = PointerGetDatum(p);
				}
				else
					nulls[13][i] = true;
				h = (bytea *) palloc(VARHDRSZ + PG_SHA256_DIGEST_LENGTH);
				SET_VARSIZE(h, VARHDRSZ + PG_SHA256_DIGEST_LENGTH);
				memcpy(VARDATA(h), hash, PG_SHA256_DIGEST_LENGTH);
				cols[14][i] = PointerGetDatum(h);
				/* the next event's previous hash: this one's */
				prev = VARDATA(h);
				prev_len = PG_SHA256_DIGEST_LENGTH;
			}
			if (direct)
			{
				for (int off = 0; off < m; off += DIRECT_BATCH)
					direct_insert_rows(direct, cols, nulls, off, Min(DIRECT_BATCH, m - off));
				MemoryContextSwitchTo(outer);
			}
			else
			{
				for (int c = 0; c < 15; c++)
					args[c] = array_of(cols[c], nulls[c], m,
									   get_element_type(insert_types[c]));
				MemoryContextSwitchTo(outer);
				if (SPI_execute_plan(insert_plan, args, NULL, false, 0) != SPI_OK_INSERT ||
					SPI_processed != (uint64) m)
					elog(ERROR, "could not append to childguard.consent_log");
			}
			/* keep the last hash across the chunk's reset */
			prev = MemoryContextAlloc(work, PG_SHA256_DIGEST_LENGTH);
			memcpy(prev, hash, PG_SHA256_DIGEST_LENGTH);
			MemoryContextReset(chunk_cxt);
		}
	}
	pg_cryptohash_free(sha);
	if (direct)
		direct_insert_end(direct);

	/* the head's hash: the last event's */
	{
		Oid			types[1] = {BYTEAOID};
		Datum		args[1];
		bytea	   *h = (bytea *) palloc(VARHDRSZ + PG_SHA256_DIGEST_LENGTH);

		SET_VARSIZE(h, VARHDRSZ + PG_SHA256_DIGEST_LENGTH);
		memcpy(VARDATA(h), hash, PG_SHA256_DIGEST_LENGTH);
		args[0] = PointerGetDatum(h);
		if (SPI_execute_with_args("UPDATE childguard.consent_log_head x SET last_hash = $1",
								  1, types, args, NULL, false, 0) != SPI_OK_UPDATE)
			elog(ERROR, "could not update childguard.consent_log_head");
	}
	SPI_finish();
	MemoryContextSwitchTo(old);
	MemoryContextDelete(work);
	return PointerGetDatum(NULL);
}
