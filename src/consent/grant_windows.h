/*-------------------------------------------------------------------------
 *
 * grant_windows.h
 *	  Distinct children per grant per hour and per day (Art 15: a guard
 *	  against bulk copying), counted in shared memory across statements,
 *	  cursors and sessions.
 *
 *-------------------------------------------------------------------------
 */
#ifndef CHILDGUARD_GRANT_WINDOWS_H
#define CHILDGUARD_GRANT_WINDOWS_H

#include "postgres.h"

#include "datatype/timestamp.h"

extern void cg_grant_windows_define_gucs(void);
extern void cg_grant_windows_shmem_request(void);
extern void cg_grant_windows_shmem_startup(void);
extern void cg_grant_windows_note(int64 grant_id, int32 per_hour, int32 per_day,
								  TimestampTz now, uint64 subject_no);

#endif							/* CHILDGUARD_GRANT_WINDOWS_H */
