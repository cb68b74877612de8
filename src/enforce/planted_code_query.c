/*-------------------------------------------------------------------------
 *
 * planted_code_query.c
 *	  A query over a relation that carries planted code is refused.
 *
 * planted_code.c's DDL guard stops code not childguard's own from being
 * attached where it could read child data.  Code that got there behind
 * its back (a database upgraded from 1.0, catalogs edited by hand) is
 * found by the whole-table check, which protection.c runs for the
 * protection status and caches per relation (CgProtection.planted); this
 * file refuses, at ExecutorStart, a query that touches such a table or
 * view.  It sits above both: the check (planted_code.c) and the cached
 * status (protection.c).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/parallel.h"
#include "catalog/pg_class.h"
#include "nodes/parsenodes.h"
#include "nodes/plannodes.h"
#include "utils/lsyscache.h"

#include "catalog.h"
#include "childguard_errcodes.h"
#include "citus_node.h"
#include "planted_code_query.h"
#include "protection.h"

/*
 * ExecutorStart (wired in childguard.c): a query touching a table that
 * carries code not childguard's own, or a view whose definition is such
 * code, which got there behind the guard's back (a database upgraded from
 * 1.0, catalogs edited by hand), is refused: reading it would run that
 * code with the reader's right to see child data.  The cost for other
 * tables is the cached protection lookup the audit capture makes as well.
 */
void
cg_planted_code_executor_start(QueryDesc *queryDesc)
{
	ListCell   *lc;

	if (!OidIsValid(cg_child_data_type()) || IsParallelWorker() || cg_citus_worker())
		return;
	foreach(lc, queryDesc->plannedstmt->rtable)
	{
		RangeTblEntry *rte = lfirst_node(RangeTblEntry, lc);
		const CgProtection *p;

		if (rte->rtekind != RTE_RELATION ||
			(rte->relkind != RELKIND_RELATION && rte->relkind != RELKIND_PARTITIONED_TABLE &&
			 rte->relkind != RELKIND_VIEW))
			continue;
		p = cg_protection_of_relid(rte->relid);
		if (p->planted)
			ereport(ERROR,
					(errcode(ERRCODE_CG_TABLE_HAS_PLANTED_CODE),
					 errmsg("%s \"%s\" has code attached that could read child data",
							rte->relkind == RELKIND_VIEW ? "view" : "table",
							get_rel_name(rte->relid)),
					 errdetail("%s", p->problem),
					 errhint("Drop the object named above; until then the table can be dumped, but not queried.")));
	}
}
