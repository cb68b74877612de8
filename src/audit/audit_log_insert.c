/*-------------------------------------------------------------------------
 *
 * audit_log_insert.c
 *	  A batch of the audit writer's rows into childguard.access_log at
 *	  once: one multi-insert into the heap and its indexes, the table's
 *	  constraints checked, without SQL.
 *
 * The writer (audit_worker.c) used to insert a batch with one prepared
 * statement, INSERT ... SELECT * FROM unnest($1), the batch as an array of
 * the table's row type: every row was built, copied into the array,
 * copied out again by unnest into a tuplestore, projected and inserted one
 * heap_insert (one WAL record) at a time.  Here, as COPY FROM does, the
 * rows go to table_multi_insert() (one WAL record per heap page), then to
 * each index (ExecInsertIndexTuples: the primary key's uniqueness is
 * checked as for an INSERT), after ExecConstraints() has checked each
 * row's NOT NULLs and CHECK constraints (a row that breaks one fails the
 * batch with the constraint's SQLSTATE, and the writer retries record by
 * record, as before).
 *
 * What this skips, on purpose: the table's triggers and rules.  The only
 * triggers the table can have are the guard's (audit_guard.c refuses any
 * other trigger, rule or policy on the log), which let the writer through
 * anyway; a trigger or rule planted by editing the catalog could only
 * suppress or alter records, which is exactly what the writer must not let
 * it do.  Row-level security does not apply to the writer (it runs as the
 * bootstrap superuser).
 *
 * The caller holds RowExclusiveLock on the table, in the batch's
 * transaction, with a snapshot; the rows are formed with the table's
 * descriptor.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/tableam.h"
#include "access/xact.h"
#include "executor/executor.h"
#include "nodes/parsenodes.h"
#include "utils/rel.h"

#include "audit.h"

/*
 * Insert n rows (formed with rel's descriptor) into rel and its indexes.
 * The rows are the slots' from now on: freed here.
 */
void
cg_audit_log_insert(Relation rel, HeapTuple *rows, int n)
{
	EState	   *estate;
	ResultRelInfo *rri;
	RangeTblEntry *rte;
	TupleDesc	desc;
	TupleTableSlot **slots;
	MemoryContext old;

	if (n <= 0)
		return;
	if (rel->rd_rel->relkind != RELKIND_RELATION)
		ereport(ERROR,
				(errcode(ERRCODE_WRONG_OBJECT_TYPE),
				 errmsg("\"%s\" is not a table", RelationGetRelationName(rel)),
				 errdetail("The audit writer inserts its records into a plain table.")));

	estate = CreateExecutorState();
	old = MemoryContextSwitchTo(estate->es_query_cxt);
	/* a range table of the one relation: constraint messages name it */
	rte = makeNode(RangeTblEntry);
	rte->rtekind = RTE_RELATION;
	rte->relid = RelationGetRelid(rel);
	rte->relkind = rel->rd_rel->relkind;
	rte->rellockmode = RowExclusiveLock;
	ExecInitRangeTable(estate, list_make1(rte));
	rri = makeNode(ResultRelInfo);
	InitResultRelInfo(rri, rel, 1, NULL, 0);
	estate->es_output_cid = GetCurrentCommandId(true);
	ExecOpenIndices(rri, false);

	/* an unpinned copy of the descriptor: no resource-owner entry per slot */
	desc = CreateTupleDescCopy(RelationGetDescr(rel));
	slots = palloc(sizeof(TupleTableSlot *) * n);
	for (int i = 0; i < n; i++)
	{
		slots[i] = MakeTupleTableSlot(desc, &TTSOpsHeapTuple);
		ExecStoreHeapTuple(rows[i], slots[i], true);
		slots[i]->tts_tableOid = RelationGetRelid(rel);
		if (rel->rd_att->constr)
			ExecConstraints(rri, slots[i], estate);
		ResetPerTupleExprContext(estate);
	}
	MemoryContextSwitchTo(old);

	table_multi_insert(rel, slots, n, estate->es_output_cid, 0, NULL);

	old = MemoryContextSwitchTo(estate->es_query_cxt);
	for (int i = 0; i < n; i++)
	{
		if (rri->ri_NumIndices > 0)
		{
			List	   *recheck = ExecInsertIndexTuples(rri, slots[i], estate,
														false, false, NULL, NIL);

			list_free(recheck);
		}
		ResetPerTupleExprContext(estate);
		ExecClearTuple(slots[i]);
	}
	MemoryContextSwitchTo(old);
	ExecCloseIndices(rri);
	FreeExecutorState(estate);
}
