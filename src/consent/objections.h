/*-------------------------------------------------------------------------
 *
 * objections.h
 *	  Open objections (Provisions Art 19, Measures Art 17): which children's
 *	  data may not be processed while an objection is being handled, and
 *	  who may still read it (an appointed officer, handling it).
 *
 *-------------------------------------------------------------------------
 */
#ifndef CHILDGUARD_OBJECTIONS_H
#define CHILDGUARD_OBJECTIONS_H

#include "postgres.h"

extern bool cg_objection_open(uint64 subject_no);
extern bool cg_role_is_officer(Oid role);
extern void cg_objections_flush(void);

#endif							/* CHILDGUARD_OBJECTIONS_H */
