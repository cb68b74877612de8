/*-------------------------------------------------------------------------
 *
 * read_settings.h
 *	  The session's settings for reading child data: its declared purpose,
 *	  what a denied value shows, and the limits on distinct children per
 *	  statement and per session.  The decision itself, and the purpose and
 *	  grant a statement runs under, are in decision.c.
 *
 *-------------------------------------------------------------------------
 */
#ifndef CHILDGUARD_READ_SETTINGS_H
#define CHILDGUARD_READ_SETTINGS_H

#include "postgres.h"

#include "utils/guc.h"

typedef enum CgDeniedRead
{
	CG_DENIED_ERROR,			/* raise ZC105 */
	CG_DENIED_NULL,				/* NULL in results; the mask where a value is converted */
	CG_DENIED_MASK				/* childguard.denied_mask */
} CgDeniedRead;

extern void cg_read_settings_define_gucs(GucStringCheckHook purpose_check);
extern const char *cg_session_purpose(void);
extern CgDeniedRead cg_denied_read(void);
extern const char *cg_denied_mask(void);
extern int	cg_max_children_per_statement(void);
extern int	cg_max_children_per_session(void);

#endif							/* CHILDGUARD_READ_SETTINGS_H */
