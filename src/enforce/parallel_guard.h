/*-------------------------------------------------------------------------
 *
 * parallel_guard.h
 *	  No parallel plan over a table holding child data.
 *
 *-------------------------------------------------------------------------
 */
#ifndef CHILDGUARD_PARALLEL_GUARD_H
#define CHILDGUARD_PARALLEL_GUARD_H

#include "postgres.h"

#include "nodes/pathnodes.h"

extern void cg_parallel_guard_rel_pathlist(PlannerInfo *root, RelOptInfo *rel,
										   Index rti, RangeTblEntry *rte);

#endif							/* CHILDGUARD_PARALLEL_GUARD_H */
