/*-------------------------------------------------------------------------
 *
 * plan_gate.c
 *	  The executor-start gate: does a query's plan give any of the
 *	  executor-start guards something to look at?
 *
 *	  Four guards look at a query's plan as it starts (childguard.c's
 *	  ExecutorStart hook): the write guard (write_guard.c: its result
 *	  relations), planted code (planted_code_query.c: every table and
 *	  view of its range table), the access log's guard (audit_guard.c: a
 *	  view as result relation, row marks) and the audit's capture
 *	  (audit_capture.c: the tables holding child data).  Each walked the
 *	  plan on its own, behind its own call and its own tests.  A query
 *	  that touches no child data -- most of an application's statements
 *	  -- now pays one walk of its range table here and none of them:
 *
 *	  "plain" means a SELECT (no data-modifying WITH), without result
 *	  relations or row marks, whose range table names no table, view,
 *	  materialized view or foreign table that holds child data or
 *	  carries planted code, as the protection cache says (protection.c:
 *	  its entries are forgotten at any invalidation of their relation or
 *	  of our objects, so the answer is never staler than the guards'
 *	  own lookups were).  For such a plan each guard would have returned
 *	  without acting, so skipping them changes nothing: the write guard
 *	  and the log's guard need result relations or row marks, planted
 *	  code a relation marked planted, the capture a relation with child
 *	  data.
 *
 *	  The answer is computed per execution, not kept per plan: a plan's
 *	  address is reused by the next one once it is freed (an unnamed
 *	  statement's plan lives in the message's memory), so a memo keyed by
 *	  it could answer for another plan.  The walk costs a comparison per
 *	  range-table entry on the protection cache's one-entry memo.
 *
 *	  What the gate does not cover, on purpose: the statement's beginning
 *	  (the decision context is frozen, and invalidations taken in, for
 *	  every top-level statement: a function called by a plain statement
 *	  may read child data), the statement text's masking of a plan that
 *	  calls a user-defined function, and the run hook's nesting level.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/parallel.h"
#include "catalog/pg_class.h"
#include "nodes/parsenodes.h"
#include "nodes/plannodes.h"

#include "catalog.h"
#include "plan_gate.h"
#include "protection.h"

/* Is ps plain (see the header): would every executor-start guard pass it by? */
bool
cg_plan_gate_plain(const PlannedStmt *ps)
{
	ListCell   *lc;

	if (ps->commandType != CMD_SELECT || ps->hasModifyingCTE ||
		ps->resultRelations != NIL || ps->rowMarks != NIL)
		return false;
	/* no child_data type in this database: no guard has anything to see */
	if (!OidIsValid(cg_child_data_type()))
		return true;
	foreach(lc, ps->rtable)
	{
		RangeTblEntry *rte = lfirst_node(RangeTblEntry, lc);
		const CgProtection *p;

		if (rte->rtekind != RTE_RELATION)
			continue;
		if (rte->relkind != RELKIND_RELATION && rte->relkind != RELKIND_PARTITIONED_TABLE &&
			rte->relkind != RELKIND_VIEW && rte->relkind != RELKIND_MATVIEW &&
			rte->relkind != RELKIND_FOREIGN_TABLE)
			continue;
		p = cg_protection_of_relid(rte->relid);
		if (p->has_child_data || p->planted)
			return false;
	}
	return true;
}
