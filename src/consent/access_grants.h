/*-------------------------------------------------------------------------
 *
 * access_grants.h
 *	  Staff grants (childguard.access_grant, Art 15-17): which approved,
 *	  unrevoked, in-date grant lets a role read for a purpose.
 *
 *-------------------------------------------------------------------------
 */
#ifndef CHILDGUARD_ACCESS_GRANTS_H
#define CHILDGUARD_ACCESS_GRANTS_H

#include "postgres.h"

#include "datatype/timestamp.h"

#include "categories.h"

typedef enum CgGrantStatus
{
	CG_GRANT_OK,
	CG_GRANT_NONE,				/* no approved grant for this role and purpose */
	CG_GRANT_NOT_YET,			/* approved, but its period has not begun */
	CG_GRANT_EXPIRED			/* approved, but its period is over */
} CgGrantStatus;

#define CG_GRANT_MAX_RECIPIENTS 8

/* What the role may do for the purpose now: the union of its grants in force. */
typedef struct CgGrant
{
	int64		grant_id;		/* the first grant in force, for the audit */
	CgCategorySet categories;	/* within the purpose's */
	int32		max_children;	/* distinct children per statement (0: no limit) */
	int32		per_hour;		/* distinct children per hour (0: no limit) */
	int32		per_day;		/* distinct children per day (0: no limit) */
	TimestampTz ends;			/* when the grant(s) in force end */
	/* 1.4: the recipients the grants in force name (Art 16, 17) */
	int			nrecipients;
	char		recipients[CG_GRANT_MAX_RECIPIENTS][NAMEDATALEN];
	int64		unnamed_grant_id;	/* a grant in force naming no recipient, or 0 */
	/* the first instant after now at which a grant begins or ends (DT_NOEND: none) */
	TimestampTz stable_until;
} CgGrant;

extern CgGrantStatus cg_grant_find(Oid role, int32 purpose_id, const char *purpose,
								   CgCategorySet purpose_categories,
								   int32 default_max_children,
								   TimestampTz now, CgGrant *out);
extern void cg_grants_flush(void);

#endif							/* CHILDGUARD_ACCESS_GRANTS_H */
