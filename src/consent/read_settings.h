/*-------------------------------------------------------------------------
 *
 * read_settings.h
 *	  The session's settings for reading child data: its declared purpose,
 *	  what a denied value shows, and the per-statement limit on distinct
 *	  children.  The decision itself is in decision.c.
 *
 *-------------------------------------------------------------------------
 */
#ifndef CHILDGUARD_READ_SETTINGS_H
#define CHILDGUARD_READ_SETTINGS_H

#include "postgres.h"

typedef enum CgDeniedRead
{
	CG_DENIED_ERROR,			/* raise ZC105 */
	CG_DENIED_NULL,				/* NULL in results; the mask where a value is converted */
	CG_DENIED_MASK				/* childguard.denied_mask */
} CgDeniedRead;

extern void cg_read_settings_define_gucs(void);
extern const char *cg_session_purpose(void);
extern bool cg_purpose_declared(void);
extern const char *cg_current_purpose(void);
extern int64 cg_current_grant_id(void);
extern CgDeniedRead cg_denied_read(void);
extern const char *cg_denied_mask(void);
extern int	cg_max_children_per_statement(void);
extern int	cg_max_children_per_session(void);

#endif							/* CHILDGUARD_READ_SETTINGS_H */
