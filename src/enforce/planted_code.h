/*-------------------------------------------------------------------------
 *
 * planted_code.h
 *	  No code but childguard's own is attached to a table holding child
 *	  data: the DDL guard (an object access hook) and the check that
 *	  protection status and protect() share.
 *
 *-------------------------------------------------------------------------
 */
#ifndef CHILDGUARD_PLANTED_CODE_H
#define CHILDGUARD_PLANTED_CODE_H

#include "postgres.h"

#include "catalog/objectaccess.h"
#include "utils/relcache.h"

extern void cg_planted_code_object_access(ObjectAccessType access, Oid classId,
										  Oid objectId, int subId, void *arg);
extern char *cg_planted_code_problem(Oid relid);
extern bool cg_planted_view_problem(Relation view);

#endif							/* CHILDGUARD_PLANTED_CODE_H */
