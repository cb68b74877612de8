/*-------------------------------------------------------------------------
 *
 * consent.h
 *	  Is there, now, a consent that counts for this child and purpose?  The
 *	  age rule (Art 9; D-Art 12) is applied at check time, so a birthday
 *	  changes the answer without any batch job.
 *
 *-------------------------------------------------------------------------
 */
#ifndef CHILDGUARD_CONSENT_H
#define CHILDGUARD_CONSENT_H

#include "postgres.h"

#include "datatype/timestamp.h"
#include "utils/date.h"

#include "subjects.h"

/* the age from which a child consents for themselves */
#define CG_AGE_OF_CONSENT 14

extern int	cg_age_on(DateADT birth_date, DateADT on);
extern void cg_consents_fetch_all(uint64 subject_no, uint64 stamp,
								  CgChildConsents *out);
extern void cg_consents_offer(uint64 subject_no, const CgChildConsents *words);
extern bool cg_consent_effective(const CgSubject *subject, int32 purpose_id,
								 DateADT today, TimestampTz *since,
								 const char **why);
extern bool cg_consent_disclosure(const CgSubject *subject, int32 purpose_id,
								  const char **why);
extern void cg_consents_flush(void);

#endif							/* CHILDGUARD_CONSENT_H */
