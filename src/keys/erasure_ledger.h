/*-------------------------------------------------------------------------
 *
 * erasure_ledger.h
 *	  The erasure ledger outside the data directory (erasure_ledger.c).
 *
 *-------------------------------------------------------------------------
 */
#ifndef CHILDGUARD_ERASURE_LEDGER_H
#define CHILDGUARD_ERASURE_LEDGER_H

#include "postgres.h"

extern void cg_erasure_ledger_define_gucs(void);
extern void cg_erasure_ledger_shmem_request(void);
extern void cg_erasure_ledger_shmem_startup(void);
extern bool cg_erasure_ledger_has(Oid dboid, uint64 subject_no);
extern char *cg_erasure_ledger_path(void);

#endif							/* CHILDGUARD_ERASURE_LEDGER_H */
