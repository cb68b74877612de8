/*-------------------------------------------------------------------------
 *
 * delete_rows.h
 *	  DELETE of protected rows: what a DELETE may see of its target, and
 *	  the record of what it removed (delete_rows.c).
 *
 *-------------------------------------------------------------------------
 */
#ifndef CHILDGUARD_DELETE_ROWS_H
#define CHILDGUARD_DELETE_ROWS_H

#include "postgres.h"

#include "commands/trigger.h"
#include "executor/execdesc.h"
#include "fmgr.h"

extern void cg_delete_rows_executor_run(QueryDesc *queryDesc);
extern bool cg_delete_target_row(FunctionCallInfo fcinfo);
extern void cg_delete_rows_note(TriggerData *trigdata);
extern void cg_delete_rows_note_truncate(TriggerData *trigdata);

#endif							/* CHILDGUARD_DELETE_ROWS_H */
