/*-------------------------------------------------------------------------
 *
 * replicated_rows.h
 *	  Registry rows written by a logical replication worker tell the
 *	  caches of the change (replicated_rows.c).
 *
 *-------------------------------------------------------------------------
 */
#ifndef CHILDGUARD_REPLICATED_ROWS_H
#define CHILDGUARD_REPLICATED_ROWS_H

extern void cg_replicated_rows_init(void);

#endif							/* CHILDGUARD_REPLICATED_ROWS_H */
