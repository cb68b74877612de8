/*-------------------------------------------------------------------------
 *
 * audit_log_store.c
 *	  The audit writer's direct access to its two tables, without SQL: the
 *	  chain head (childguard.access_log_head) locked, read and moved, and a
 *	  batch of rows into childguard.access_log at once -- one multi-insert
 *	  into the heap and its indexes, the table's constraints checked.
 *
 * The writer (audit_worker.c) used to do a batch with three SPI
 * statements: SELECT ... FROM access_log_head FOR UPDATE, INSERT INTO
 * access_log SELECT * FROM unnest($1) (the batch as an array of the
 * table's row type: every row built, copied into the array, copied out
 * again into a tuplestore, projected, and inserted one heap_insert -- one
 * WAL record -- at a time), and UPDATE access_log_head.  Under a W1 load
 * a batch holds a few dozen records, so the statements' per-batch cost
 * (executor start-up, plans, the row lock through LockRows) was much of
 * the writer's CPU per record; with large batches, the per-row copies.
 *
 * Here, as COPY FROM and logical replication's apply do:
 *   - the head: its one row found by a scan under the batch's snapshot,
 *     locked with table_tuple_lock (LockTupleExclusive, waiting, following
 *     the update chain to its latest version: what FOR UPDATE does under
 *     READ COMMITTED), read from the locked version, and later replaced
 *     with table_tuple_update (its index updated if the update was not
 *     HOT).  Lock waits obey the writer's lock_timeout.
 *   - the rows: ExecConstraints() checks each row's NOT NULLs and CHECK
 *     constraints (a row that breaks one fails the batch with the
 *     constraint's SQLSTATE, and the writer retries record by record, as
 *     before), table_multi_insert() writes them (one WAL record per heap
 *     page), and ExecInsertIndexTuples() adds each to every index (the
 *     primary key's uniqueness checked as for an INSERT).
 *
 * Per batch, two things are not redone (1.6): the head is first looked for
 * where this process's last batch left it (its visible version there, or
 * the scan), and the log's CHECK constraints are prepared once per process
 * and reused while the relcache shows the same ones (ExecConstraints would
 * parse and plan them for every batch's ResultRelInfo).  Per row, the
 * slots take the values the rows were formed from as already deformed, so
 * neither the constraints nor the index entries read the tuples back.
 *
 * What this skips, on purpose: the tables' triggers and rules.  The only
 * triggers the tables can have are the guard's (audit_guard.c refuses any
 * other trigger, rule or policy on them), which let the writer through
 * anyway; a trigger or rule planted by editing the catalog could only
 * suppress or alter records, which is exactly what the writer must not let
 * it do.  Row-level security does not apply to the writer (it runs as the
 * bootstrap superuser).
 *
 * Everything happens in the caller's transaction, with an active
 * snapshot; the tables are opened with RowExclusiveLock and kept locked
 * until the transaction ends.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/table.h"
#include "access/tableam.h"
#include "access/xact.h"
#include "catalog/namespace.h"
#include "executor/executor.h"
#include "nodes/parsenodes.h"
#include "optimizer/optimizer.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "storage/bufmgr.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"

#include "audit.h"
#include "extension_version.h"

/* the head's columns the writer reads and moves */
enum
{
	HEAD_LAST_ID,
	HEAD_LAST_HASH,
	HEAD_EPOCH,
	HEAD_LAST_SEQ,
	HEAD_NCOLS
};

static const char *const head_columns[HEAD_NCOLS] = {
	"last_id", "last_hash", "epoch", "last_seq"
};

/*
 * The position of the head's version this process wrote last (with the
 * table it is in): the next batch tries it before scanning the table.
 */
static Oid	last_head_relid = InvalidOid;
static ItemPointerData last_head_tid;

struct CgAuditStore
{
	EState	   *estate;
	Relation	log;
	Relation	head;
	ResultRelInfo *log_rri;
	ResultRelInfo *head_rri;
	AttrNumber	head_att[HEAD_NCOLS];	/* 0-based positions in the head */
	TupleTableSlot *head_slot;	/* the locked head row */
	bool		packed;			/* log is access_log_batch (SQL 1.8) */
};

static Relation
open_table(Oid nsp, const char *name)
{
	Oid			relid = get_relname_relid(name, nsp);
	Relation	rel;

	if (!OidIsValid(relid))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_TABLE),
				 errmsg("relation \"childguard.%s\" does not exist", name),
				 errhint("The audit writer serves databases where the childguard extension is installed.")));
	rel = table_open(relid, RowExclusiveLock);
	if (rel->rd_rel->relkind != RELKIND_RELATION)
		ereport(ERROR,
				(errcode(ERRCODE_WRONG_OBJECT_TYPE),
				 errmsg("\"childguard.%s\" is not a table", name),
				 errdetail("The audit writer writes into plain tables.")));
	return rel;
}

static ResultRelInfo *
result_rel(EState *estate, Relation rel, Index rti)
{
	ResultRelInfo *rri = makeNode(ResultRelInfo);

	InitResultRelInfo(rri, rel, rti, NULL, 0);
	ExecOpenIndices(rri, false);
	return rri;
}

/*
 * The log's CHECK constraints, prepared once per process instead of per
 * batch (ExecConstraints would parse and plan each one for every new
 * ResultRelInfo): kept with the texts they were built from and used only
 * while the relcache shows the same constraints in the same order, so a
 * changed constraint (an extension update) is prepared anew.
 */
static MemoryContext checks_cxt = NULL;
static Oid	checks_relid = InvalidOid;
static int	checks_n = 0;
static char **checks_bin = NULL;
static ExprState **checks_state = NULL;

static void
reuse_checks(ResultRelInfo *rri, Relation rel)
{
	TupleConstr *constr = rel->rd_att->constr;
	bool		same;
	MemoryContext old;

	if (constr == NULL || constr->num_check == 0)
		return;
	same = checks_relid == RelationGetRelid(rel) && checks_n == constr->num_check;
	for (int i = 0; same && i < checks_n; i++)
		same = strcmp(checks_bin[i], constr->check[i].ccbin) == 0;
	if (!same)
	{
		if (checks_cxt == NULL)
			checks_cxt = AllocSetContextCreate(TopMemoryContext,
											   "childguard audit log checks",
											   ALLOCSET_SMALL_SIZES);
		MemoryContextReset(checks_cxt);
		checks_relid = InvalidOid;
		old = MemoryContextSwitchTo(checks_cxt);
		checks_bin = palloc(sizeof(char *) * constr->num_check);
		checks_state = palloc(sizeof(ExprState *) * constr->num_check);
		for (int i = 0; i < constr->num_check; i++)
		{
			Expr	   *e = (Expr *) stringToNode(constr->check[i].ccbin);

			checks_bin[i] = pstrdup(constr->check[i].ccbin);
			/* what ExecPrepareExpr does, without an EState's memory */
			checks_state[i] = ExecInitExpr(expression_planner(e), NULL);
		}
		MemoryContextSwitchTo(old);
		checks_n = constr->num_check;
		checks_relid = RelationGetRelid(rel);
	}
	rri->ri_ConstraintExprs = checks_state;
}

/* Open both tables for a batch (in its transaction). */
CgAuditStore *
cg_audit_store_open(void)
{
	Oid			nsp = get_namespace_oid("childguard", false);
	CgAuditStore *st = palloc0(sizeof(CgAuditStore));
	EState	   *estate;
	MemoryContext old;
	List	   *rtable = NIL;
	TupleDesc	hd;

	/*
	 * The log first: without it, the error names the log (as before).  From
	 * SQL 1.8 the writer writes the packed log, one row per batch
	 * (audit_pack.c); before, one row per record into access_log.
	 */
	if (OidIsValid(get_relname_relid("access_log_batch", nsp)))
	{
		st->log = open_table(nsp, "access_log_batch");
		st->packed = true;
		if (!cg_audit_batch_layout_ok(RelationGetDescr(st->log)))
			cg_report_sql_mismatch("childguard.access_log_batch",
								   "Its columns are not those of any version.");
	}
	else
		st->log = open_table(nsp, "access_log");
	st->head = open_table(nsp, "access_log_head");
	st->estate = estate = CreateExecutorState();
	old = MemoryContextSwitchTo(estate->es_query_cxt);
	/* a range table of the two: constraint messages name them */
	for (int i = 0; i < 2; i++)
	{
		Relation	rel = i == 0 ? st->log : st->head;
		RangeTblEntry *rte = makeNode(RangeTblEntry);

		rte->rtekind = RTE_RELATION;
		rte->relid = RelationGetRelid(rel);
		rte->relkind = rel->rd_rel->relkind;
		rte->rellockmode = RowExclusiveLock;
		rtable = lappend(rtable, rte);
	}
	ExecInitRangeTable(estate, rtable);
	estate->es_output_cid = GetCurrentCommandId(true);
	st->log_rri = result_rel(estate, st->log, 1);
	reuse_checks(st->log_rri, st->log);
	st->head_rri = result_rel(estate, st->head, 2);

	hd = RelationGetDescr(st->head);
	for (int c = 0; c < HEAD_NCOLS; c++)
	{
		st->head_att[c] = InvalidAttrNumber;
		for (int i = 0; i < hd->natts; i++)
		{
			Form_pg_attribute att = TupleDescAttr(hd, i);

			if (!att->attisdropped &&
				strcmp(NameStr(att->attname), head_columns[c]) == 0)
				st->head_att[c] = i + 1;
		}
		if (st->head_att[c] == InvalidAttrNumber)
			ereport(ERROR,
					(errcode(ERRCODE_DATA_CORRUPTED),
					 errmsg("childguard.access_log_head has no column \"%s\"", head_columns[c])));
	}
	MemoryContextSwitchTo(old);
	return st;
}

/* Is the log the packed one (SQL 1.8: access_log_batch, chain format 4)? */
bool
cg_audit_store_packed(CgAuditStore *st)
{
	return st->packed;
}

/* The log's descriptor: the batch's rows are formed with it. */
TupleDesc
cg_audit_store_log_desc(CgAuditStore *st)
{
	return RelationGetDescr(st->log);
}

/*
 * Lock the chain head's one row (FOR UPDATE, its latest version) and read
 * it into h.
 */
void
cg_audit_store_lock_head(CgAuditStore *st, CgAuditChainHead *h)
{
	MemoryContext old = MemoryContextSwitchTo(st->estate->es_query_cxt);
	Snapshot	snap = GetActiveSnapshot();
	TableScanDesc scan;
	TupleTableSlot *slot = table_slot_create(st->head, &st->estate->es_tupleTable);
	ItemPointerData tid;
	int			rows = 0;
	TM_FailureData tmfd;
	TM_Result	res;
	bool		isnull;
	Datum		x;

	ItemPointerSetInvalid(&tid);
	/*
	 * Where the last batch left the head: still its visible version unless
	 * someone else (retention's purge, an extension update) moved it since.
	 * Any visible row of the table is the head (it holds one row, by its
	 * key and CHECK); table_tuple_fetch_row_version checks the line
	 * pointer and the visibility, so a stale position only costs the scan.
	 */
	if (OidIsValid(last_head_relid) && last_head_relid == RelationGetRelid(st->head) &&
		ItemPointerIsValid(&last_head_tid) &&
		ItemPointerGetBlockNumber(&last_head_tid) < RelationGetNumberOfBlocks(st->head) &&
		table_tuple_fetch_row_version(st->head, &last_head_tid, snap, slot))
	{
		tid = last_head_tid;
		rows = 1;
	}
	else
	{
		scan = table_beginscan(st->head, snap, 0, NULL);
		while (table_scan_getnextslot(scan, ForwardScanDirection, slot))
		{
			if (rows++ == 0)
				tid = slot->tts_tid;
		}
		table_endscan(scan);
	}
	if (rows != 1)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("childguard.access_log_head must hold exactly one row")));
	res = table_tuple_lock(st->head, &tid, snap, slot, st->estate->es_output_cid,
						   LockTupleExclusive, LockWaitBlock,
						   TUPLE_LOCK_FLAG_FIND_LAST_VERSION, &tmfd);
	if (res != TM_Ok)
		ereport(ERROR,
				(errcode(ERRCODE_T_R_SERIALIZATION_FAILURE),
				 errmsg("could not lock the childguard access log chain head"),
				 errdetail("Its row was deleted or changed while the writer waited for it.")));
	slot_getallattrs(slot);
	st->head_slot = slot;

	x = slot_getattr(slot, st->head_att[HEAD_LAST_ID], &isnull);
	h->last_id = isnull ? 0 : DatumGetInt64(x);
	x = slot_getattr(slot, st->head_att[HEAD_LAST_HASH], &isnull);
	h->has_hash = !isnull;
	if (!isnull)
	{
		bytea	   *b = DatumGetByteaPP(x);

		if (VARSIZE_ANY_EXHDR(b) != CG_AUDIT_HASH_LEN)
			ereport(ERROR,
					(errcode(ERRCODE_DATA_CORRUPTED),
					 errmsg("childguard.access_log_head holds a malformed hash")));
		memcpy(h->last_hash, VARDATA_ANY(b), CG_AUDIT_HASH_LEN);
	}
	x = slot_getattr(slot, st->head_att[HEAD_EPOCH], &isnull);
	h->epoch = isnull ? 0 : DatumGetTimestampTz(x);
	x = slot_getattr(slot, st->head_att[HEAD_LAST_SEQ], &isnull);
	h->last_seq = isnull ? 0 : DatumGetInt64(x);
	MemoryContextSwitchTo(old);
}

/* Move the locked head to h: a new version of its row. */
void
cg_audit_store_move_head(CgAuditStore *st, const CgAuditChainHead *h)
{
	MemoryContext old = MemoryContextSwitchTo(st->estate->es_query_cxt);
	TupleDesc	hd = RelationGetDescr(st->head);
	TupleTableSlot *slot = MakeTupleTableSlot(hd, &TTSOpsVirtual);
	TupleTableSlot *locked = st->head_slot;
	TM_FailureData tmfd;
	LockTupleMode lockmode;
	bool		update_indexes;
	TM_Result	res;

	Assert(locked != NULL);
	ExecClearTuple(slot);
	memcpy(slot->tts_values, locked->tts_values, sizeof(Datum) * hd->natts);
	memcpy(slot->tts_isnull, locked->tts_isnull, sizeof(bool) * hd->natts);
#define SET_HEAD(c, v, n) \
	(slot->tts_values[st->head_att[c] - 1] = (v), slot->tts_isnull[st->head_att[c] - 1] = (n))
	SET_HEAD(HEAD_LAST_ID, Int64GetDatum(h->last_id), false);
	if (h->has_hash)
	{
		bytea	   *b = palloc(VARHDRSZ + CG_AUDIT_HASH_LEN);

		SET_VARSIZE(b, VARHDRSZ + CG_AUDIT_HASH_LEN);
		memcpy(VARDATA(b), h->last_hash, CG_AUDIT_HASH_LEN);
		SET_HEAD(HEAD_LAST_HASH, PointerGetDatum(b), false);
	}
	else
		SET_HEAD(HEAD_LAST_HASH, (Datum) 0, true);
	SET_HEAD(HEAD_EPOCH, TimestampTzGetDatum(h->epoch), false);
	SET_HEAD(HEAD_LAST_SEQ, Int64GetDatum(h->last_seq), false);
#undef SET_HEAD
	ExecStoreVirtualTuple(slot);
	if (st->head->rd_att->constr)
		ExecConstraints(st->head_rri, slot, st->estate);

	res = table_tuple_update(st->head, &locked->tts_tid, slot, st->estate->es_output_cid,
							 GetActiveSnapshot(), InvalidSnapshot, true, &tmfd,
							 &lockmode, &update_indexes);
	if (res != TM_Ok)
		ereport(ERROR,
				(errcode(ERRCODE_T_R_SERIALIZATION_FAILURE),
				 errmsg("could not move the childguard access log chain head"),
				 errdetail("Its row changed although the writer held its lock.")));
	if (update_indexes && st->head_rri->ri_NumIndices > 0)
		list_free(ExecInsertIndexTuples(st->head_rri, slot, st->estate,
										true, false, NULL, NIL));
	/* where the next batch looks first (the slot holds the new version's TID) */
	last_head_relid = RelationGetRelid(st->head);
	last_head_tid = slot->tts_tid;
	ExecDropSingleTupleTableSlot(slot);
	MemoryContextSwitchTo(old);
}

/*
 * Insert n rows (formed with the log's descriptor) into the log and its
 * indexes.  The rows are the slots' from now on: freed here.  Row i's
 * values and nulls, those it was formed from, are at values/isnull +
 * i * stride (at least the descriptor's columns): the slots take them as
 * already deformed, so neither the constraints nor the index entries
 * take the tuple apart again.  They must live until the batch ends.
 */
void
cg_audit_store_insert(CgAuditStore *st, HeapTuple *rows, const Datum *values,
					  const bool *isnull, int stride, int n)
{
	EState	   *estate = st->estate;
	ResultRelInfo *rri = st->log_rri;
	Relation	rel = st->log;
	TupleDesc	desc;
	TupleTableSlot **slots;
	MemoryContext old;

	if (n <= 0)
		return;
	old = MemoryContextSwitchTo(estate->es_query_cxt);
	/* an unpinned copy of the descriptor: no resource-owner entry per slot */
	desc = CreateTupleDescCopy(RelationGetDescr(rel));
	Assert(desc->natts <= stride);
	slots = palloc(sizeof(TupleTableSlot *) * n);
	for (int i = 0; i < n; i++)
	{
		TupleTableSlot *slot = MakeTupleTableSlot(desc, &TTSOpsHeapTuple);

		ExecStoreHeapTuple(rows[i], slot, true);
		/*
		 * The values the tuple was formed from, as if deformed: the same
		 * Datums (by-reference ones point at the caller's copies, which
		 * outlive the slot), so nothing reads the tuple back.
		 */
		memcpy(slot->tts_values, values + (Size) i * stride, sizeof(Datum) * desc->natts);
		memcpy(slot->tts_isnull, isnull + (Size) i * stride, sizeof(bool) * desc->natts);
		slot->tts_nvalid = desc->natts;
		slot->tts_tableOid = RelationGetRelid(rel);
		slots[i] = slot;
		if (rel->rd_att->constr)
			ExecConstraints(rri, slot, estate);
		ResetPerTupleExprContext(estate);
	}
	MemoryContextSwitchTo(old);

	table_multi_insert(rel, slots, n, estate->es_output_cid, 0, NULL);

	old = MemoryContextSwitchTo(estate->es_query_cxt);
	for (int i = 0; i < n; i++)
	{
		if (rri->ri_NumIndices > 0)
			list_free(ExecInsertIndexTuples(rri, slots[i], estate,
											false, false, NULL, NIL));
		ResetPerTupleExprContext(estate);
		ExecDropSingleTupleTableSlot(slots[i]);
	}
	pfree(slots);
	MemoryContextSwitchTo(old);
}

/* Done with the batch's tables (the locks stay until the transaction ends). */
void
cg_audit_store_close(CgAuditStore *st)
{
	ExecCloseIndices(st->log_rri);
	ExecCloseIndices(st->head_rri);
	ExecResetTupleTable(st->estate->es_tupleTable, false);
	FreeExecutorState(st->estate);
	table_close(st->log, NoLock);
	table_close(st->head, NoLock);
	pfree(st);
}
