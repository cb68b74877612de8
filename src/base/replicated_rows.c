/*-------------------------------------------------------------------------
 *
 * replicated_rows.c
 *	  Registry rows written by a logical replication worker tell the
 *	  caches of the change, as a local statement's rows do.
 *
 * The registry's cache invalidation runs from statement triggers
 * (catalog.c: _catalog_changed(), and the per-child
 * _registry_rows_changed(column) with transition tables).  A logical
 * replication apply worker fires no statement trigger for the inserts,
 * updates and deletes it applies -- only row triggers enabled ALWAYS or
 * REPLICA (TRUNCATE does fire the statement triggers) -- so on a
 * subscriber of the registry, a consent withdrawn or a key destroyed on
 * the publisher reached the subscriber's tables but neither its backends'
 * own caches nor the cache shared by them: a backend that had read the
 * child kept decrypting it.
 *
 * Each registry table carrying one of those statement triggers therefore
 * also has a row trigger (SQL 1.7, part 50), AFTER INSERT OR UPDATE OR
 * DELETE FOR EACH ROW, ENABLE ALWAYS (it fires the same whatever
 * session_replication_role says, so the set-based registration's fast
 * path treats it like the statement triggers), with
 * WHEN (childguard._replication_applying()): for any other writer the
 * WHEN clause is false, so the row costs one C function call and no
 * after-trigger event is queued.  In a logical replication worker, the
 * trigger function notes what the statement trigger would have: the
 * row's child (old and new for an UPDATE) for the per-child tables (its
 * argument names the subject column), otherwise the whole shared cache;
 * and a relcache invalidation of the table, once per transaction per
 * table, for every backend's own caches.  All of it takes effect at the
 * worker's commit (shared_cache.c's transaction callback, PostgreSQL's
 * invalidation messages), as for a local writer.
 *
 * A subscription with two_phase = true applies a prepared transaction in
 * two steps: PREPARE (its rows noted, but the commit-time move of the
 * shared cache's floors does not happen at PREPARE) and, later, COMMIT
 * PREPARED, which the worker runs without a utility statement (so
 * shared_cache.c's ProcessUtility route does not see it).  Such a
 * transaction's xid is kept at PREPARE; at each later commit of the
 * worker, a kept xid that has committed since moves the whole shared
 * cache's floor (its rows are visible by then), one rolled back is
 * forgotten.  Each backend's own caches are told by the prepared
 * transaction's invalidation messages, which COMMIT PREPARED sends.
 *
 * A table-synchronisation worker's initial COPY fires the statement
 * triggers itself; the row trigger notes the same children again, which
 * is harmless (past the per-child limit the whole cache goes anyway).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "access/xact.h"
#include "catalog/pg_type.h"
#include "commands/trigger.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "replication/logicalworker.h"
#include "storage/proc.h"
#include "storage/procarray.h"
#include "access/transam.h"
#include "utils/memutils.h"
#include "utils/inval.h"
#include "utils/rel.h"

#include "catalog.h"
#include "replicated_rows.h"
#include "shared_cache.h"

/* tables already invalidated in this transaction (a handful at most) */
#define APPLIED_RELS 16

static LocalTransactionId applied_lxid = InvalidLocalTransactionId;
static SubTransactionId applied_subxid = InvalidSubTransactionId;
static Oid	applied_rels[APPLIED_RELS];
static int	napplied_rels = 0;

/* the transaction in which this worker last applied registry rows */
static LocalTransactionId wrote_lxid = InvalidLocalTransactionId;

/* this worker's prepared transactions that applied registry rows */
static TransactionId *prepared_xids = NULL;
static int	nprepared = 0;
static int	maxprepared = 0;
static bool xact_callback_registered = false;

static void replicated_rows_xact_callback(XactEvent event, void *arg);

PG_FUNCTION_INFO_V1(cg_replication_applying);

/*
 * The row triggers' WHEN clause: is this backend a logical replication
 * worker (apply or table synchronisation)?  A walsender is not.
 */
Datum
cg_replication_applying(PG_FUNCTION_ARGS)
{
	PG_RETURN_BOOL(IsLogicalWorker());
}

/* Note the subject in column attno of tuple, if any. */
static void
note_row_subject(Relation rel, HeapTuple tuple, AttrNumber attno)
{
	bool		isnull;
	Datum		d;
	uint64		subject;

	if (tuple == NULL)
		return;
	d = heap_getattr(tuple, attno, RelationGetDescr(rel), &isnull);
	if (isnull)
		return;
	subject = (uint64) DatumGetInt64(d);
	(void) cg_shared_cache_note_children(RelationGetRelid(rel), &subject, 1);
}

/*
 * A relcache invalidation of relid at commit, once per (sub)transaction: an
 * aborted subtransaction's messages go with it.
 */
static void
invalidate_once(Oid relid)
{
	if (MyProc->lxid != applied_lxid ||
		GetCurrentSubTransactionId() != applied_subxid)
	{
		applied_lxid = MyProc->lxid;
		applied_subxid = GetCurrentSubTransactionId();
		napplied_rels = 0;
	}
	for (int i = 0; i < napplied_rels; i++)
		if (applied_rels[i] == relid)
			return;
	if (napplied_rels < APPLIED_RELS)
		applied_rels[napplied_rels++] = relid;
	CacheInvalidateRelcacheByRelid(relid);
}

PG_FUNCTION_INFO_V1(cg_registry_row_applied);

/*
 * AFTER ROW trigger on the registry tables
 * (childguard._registry_row_applied([column]), SQL 1.7): in a logical
 * replication worker, what the table's statement trigger does for a local
 * statement; elsewhere nothing (the WHEN clause keeps it from firing).
 */
Datum
cg_registry_row_applied(PG_FUNCTION_ARGS)
{
	TriggerData *trigdata = (TriggerData *) fcinfo->context;
	Relation	rel;

	if (!CALLED_AS_TRIGGER(fcinfo) ||
		!TRIGGER_FIRED_FOR_ROW(trigdata->tg_event) ||
		!TRIGGER_FIRED_AFTER(trigdata->tg_event) ||
		trigdata->tg_trigger->tgnargs > 1)
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("childguard._registry_row_applied() must be called as an AFTER ROW trigger with at most a column name")));
	/* the WHEN clause says the same; a trigger created without it */
	if (!IsLogicalWorker())
		return PointerGetDatum(NULL);
	/* the transaction callback acts only after such a write: registered by the first */
	if (!xact_callback_registered)
	{
		RegisterXactCallback(replicated_rows_xact_callback, NULL);
		xact_callback_registered = true;
	}
	wrote_lxid = MyProc->lxid;

	rel = trigdata->tg_relation;
	if (trigdata->tg_trigger->tgnargs == 1)
	{
		AttrNumber	attno = SPI_fnumber(RelationGetDescr(rel),
										trigdata->tg_trigger->tgargs[0]);

		if (attno <= 0 ||
			TupleDescAttr(RelationGetDescr(rel), attno - 1)->atttypid != INT8OID)
			ereport(ERROR,
					(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
					 errmsg("childguard._registry_row_applied(): \"%s\" is not a bigint column of %s",
							trigdata->tg_trigger->tgargs[0], RelationGetRelationName(rel))));
		note_row_subject(rel, trigdata->tg_trigtuple, attno);
		if (TRIGGER_FIRED_BY_UPDATE(trigdata->tg_event))
			note_row_subject(rel, trigdata->tg_newtuple, attno);
	}
	else
		cg_shared_cache_note_write();

	/* as _catalog_changed(): a new data key changes no key a backend holds */
	if (TRIGGER_FIRED_BY_INSERT(trigdata->tg_event) &&
		RelationGetRelid(rel) == cg_catalog()->data_key_rel)
		return PointerGetDatum(NULL);
	invalidate_once(RelationGetRelid(rel));
	return PointerGetDatum(NULL);
}

/*
 * Transaction callback, logical replication workers only: keep the xid of
 * a transaction that applied registry rows when it is prepared; at each
 * commit, move the whole shared cache's floor for those committed since.
 */
static void
replicated_rows_xact_callback(XactEvent event, void *arg)
{
	bool		committed = false;
	int			kept = 0;

	if (!IsLogicalWorker())
		return;
	switch (event)
	{
		case XACT_EVENT_PRE_PREPARE:
			if (wrote_lxid == MyProc->lxid &&
				TransactionIdIsValid(GetTopTransactionIdIfAny()))
			{
				if (nprepared == maxprepared)
				{
					maxprepared = Max(8, maxprepared * 2);
					prepared_xids = prepared_xids == NULL ?
						MemoryContextAlloc(TopMemoryContext, maxprepared * sizeof(TransactionId)) :
						repalloc(prepared_xids, maxprepared * sizeof(TransactionId));
				}
				prepared_xids[nprepared++] = GetTopTransactionIdIfAny();
			}
			break;
		case XACT_EVENT_COMMIT:
			/* a COMMIT PREPARED or ROLLBACK PREPARED has run by now */
			for (int i = 0; i < nprepared; i++)
			{
				TransactionId xid = prepared_xids[i];

				if (TransactionIdIsInProgress(xid))
					prepared_xids[kept++] = xid;
				else if (TransactionIdDidCommit(xid))
					committed = true;
			}
			nprepared = kept;
			if (committed)
				cg_shared_cache_prepared_committed();
			break;
		default:
			break;
	}
}

/*
 * From _PG_init.  The transaction callback is registered by a logical
 * worker's first applied registry row (cg_registry_row_applied): every
 * other process would call it at each transaction's end for nothing.
 */
void
cg_replicated_rows_init(void)
{
}
