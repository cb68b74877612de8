/*-------------------------------------------------------------------------
 *
 * purposes.h
 *	  The purposes registry (childguard.purpose) as the read decision sees
 *	  it: categories, retention, kind, exclusion of children in difficulty,
 *	  whether a security assessment is on record.  Cached per backend.
 *
 *-------------------------------------------------------------------------
 */
#ifndef CHILDGUARD_PURPOSES_H
#define CHILDGUARD_PURPOSES_H

#include "postgres.h"

#include "datatype/timestamp.h"

#include "categories.h"

typedef enum CgPurposeKind
{
	CG_PURPOSE_USE,
	CG_PURPOSE_TRANSFER,
	CG_PURPOSE_DISCLOSE,
	CG_PURPOSE_PUBLICIZE		/* disclosure to the public (1.4) */
} CgPurposeKind;

typedef struct CgPurpose
{
	int32		purpose_id;
	CgPurposeKind kind;
	CgCategorySet categories;
	Interval	retention;
	bool		forbidden_in_difficulty;
	bool		assessed;		/* a security assessment is recorded */
} CgPurpose;

extern bool cg_purpose_lookup(const char *name, CgPurpose *out);
extern void cg_purposes_flush(void);
extern bool cg_purpose_assessed_for(int32 purpose_id, const char *recipient);

#endif							/* CHILDGUARD_PURPOSES_H */
