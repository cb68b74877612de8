/*-------------------------------------------------------------------------
 *
 * retention.h
 *	  The retention worker (a launcher for the cluster and a sweeper per
 *	  database), its settings, and the progress of running sweeps in shared
 *	  memory.  The sweep itself is SQL (sql/update/1.3--1.4/32_retention_sweep.sql).
 *
 *-------------------------------------------------------------------------
 */
#ifndef CHILDGUARD_RETENTION_H
#define CHILDGUARD_RETENTION_H

#include "postgres.h"

/* retention_settings.c */
extern int	cg_retention_interval_s;	/* seconds between sweeps; 0 = off */
extern char *cg_retention_databases;	/* names; empty = every database */
extern int	cg_retention_batch_size;	/* (child, table) pairs per transaction */
extern void cg_retention_define_gucs(void);

/* retention_progress.c */
extern void cg_retention_shmem_request(void);
extern void cg_retention_shmem_startup(void);
extern void cg_retention_progress_set_worker(void);
extern void cg_retention_progress_clear(void);

/* retention_worker.c */
extern void cg_retention_register_launcher(void);

#endif							/* CHILDGUARD_RETENTION_H */
