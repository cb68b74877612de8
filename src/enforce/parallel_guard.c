/*-------------------------------------------------------------------------
 *
 * parallel_guard.c
 *	  No parallel plan over a table holding child data.
 *
 * A parallel worker makes no read decision (decision.c: its settings are
 * copied from the leader, possibly after a change within the statement),
 * so it shows envelopes and refuses to compare child data (ZC006).  Our
 * functions are PARALLEL RESTRICTED, which keeps quals and output above
 * the Gather; but PostgreSQL takes a btree or hash operator class's
 * support functions to be parallel safe, and would run a Sort, a partial
 * aggregate's grouping or a hash join's hashing of a child_data column in
 * the workers -- an error there, for a superuser or a role that bypasses
 * row security (under childguard's row policy, whose predicate is
 * PARALLEL RESTRICTED, no scan of a protected table is parallel anyway).
 * So the scan of a relation with a child_data column is made
 * parallel-restricted: set_rel_pathlist_hook drops its partial paths and
 * marks its paths unsafe before PostgreSQL gathers them, and every join or
 * upper relation built on it inherits that.  Relations without child data
 * pay one cached lookup per planned relation, and nothing where childguard
 * is not installed.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "nodes/pathnodes.h"
#include "parser/parsetree.h"

#include "catalog.h"
#include "parallel_guard.h"
#include "protection.h"

/* From set_rel_pathlist_hook (wired in childguard.c), before gathering. */
void
cg_parallel_guard_rel_pathlist(PlannerInfo *root, RelOptInfo *rel,
							   Index rti, RangeTblEntry *rte)
{
	ListCell   *lc;

	if (!rel->consider_parallel && rel->partial_pathlist == NIL)
		return;
	if (rte->rtekind != RTE_RELATION || !OidIsValid(cg_child_data_type()))
		return;
	if (!cg_protection_of_relid(rte->relid)->has_child_data)
		return;
	rel->consider_parallel = false;
	rel->partial_pathlist = NIL;
	foreach(lc, rel->pathlist)
		((Path *) lfirst(lc))->parallel_safe = false;
}
