/*-------------------------------------------------------------------------
 *
 * foreign_code.h
 *	  Code owned by another role, running inside the reader's statement,
 *	  reads no plaintext (see foreign_code.c).
 *
 *-------------------------------------------------------------------------
 */
#ifndef CHILDGUARD_FOREIGN_CODE_H
#define CHILDGUARD_FOREIGN_CODE_H

#include "postgres.h"

#include "fmgr.h"

extern void cg_foreign_code_init(void);
extern bool cg_foreign_code_needs_hook(Oid fn_oid);
extern void cg_foreign_code_hook(FmgrHookEventType event, FmgrInfo *flinfo);

#endif							/* CHILDGUARD_FOREIGN_CODE_H */
