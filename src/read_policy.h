/*-------------------------------------------------------------------------
 *
 * read_policy.h
 *	  The read-time decision: may this session see this value's plaintext
 *	  now, and what does it see if not.
 *
 *-------------------------------------------------------------------------
 */
#ifndef CHILDGUARD_READ_POLICY_H
#define CHILDGUARD_READ_POLICY_H

#include "envelope.h"

typedef enum CgReadAction
{
	CG_READ_ENVELOPE,			/* no purpose declared: the sealed form */
	CG_READ_PLAINTEXT			/* allowed: decrypt */
} CgReadAction;

extern void cg_read_policy_define_gucs(void);
extern bool cg_purpose_declared(void);
extern const char *cg_current_purpose(void);
extern int64 cg_current_grant_id(void);
extern CgReadAction cg_read_decide(const CgEnvelope *env);

#endif							/* CHILDGUARD_READ_POLICY_H */
