/*-------------------------------------------------------------------------
 *
 * compat.h
 *	  The one place for PostgreSQL-version differences.  childguard targets
 *	  PostgreSQL 15; 16 and 17 need only the guards kept here.
 *
 *-------------------------------------------------------------------------
 */
#ifndef CHILDGUARD_COMPAT_H
#define CHILDGUARD_COMPAT_H

#include "postgres.h"

#if PG_VERSION_NUM < 150000
#error "childguard requires PostgreSQL 15 or later"
#endif

#if PG_VERSION_NUM >= 160000
#define CG_RELFILE_FIELD relfilenumber
#else
#define CG_RELFILE_FIELD relfilenode
#endif

/* a range table entry's column sets (moved to RTEPermissionInfo in 16) */
#if PG_VERSION_NUM >= 160000
#define cg_rte_cols(stmt, rte, field) \
	((rte)->perminfoindex != 0 ? \
	 getRTEPermissionInfo((stmt)->permInfos, (rte))->field : NULL)
#else
#define cg_rte_cols(stmt, rte, field) ((rte)->field)
#endif

#endif							/* CHILDGUARD_COMPAT_H */
