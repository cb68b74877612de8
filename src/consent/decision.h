/*-------------------------------------------------------------------------
 *
 * decision.h
 *	  The read-time decision (invariant 3): may this session, now, use the
 *	  plaintext of this child's data of this category?  Also the row
 *	  policy's predicate and the collection check (Art 9, 11).
 *
 *-------------------------------------------------------------------------
 */
#ifndef CHILDGUARD_DECISION_H
#define CHILDGUARD_DECISION_H

#include "postgres.h"

#include "utils/guc.h"

#include "subjects.h"

typedef enum CgVerdict
{
	CG_VERDICT_ENVELOPE,		/* no purpose declared: the sealed form */
	CG_VERDICT_ALLOW,			/* decrypt */
	CG_VERDICT_DENY				/* withheld; see childguard.denied_read */
} CgVerdict;

extern CgVerdict cg_decide_read(uint64 subject_no, int category, const char **why);
extern bool cg_decide_row(const char *child_id);
extern CgVerdict cg_decide_column(int category, const char **why);
extern void cg_check_collection(const CgSubject *subject, int category,
								const char *child_id, const char *relname,
								const char *colname);
extern int64 cg_decision_grant_id(void);
extern void cg_decision_statement_begin(void);
extern bool cg_decision_envelope_only(void);
extern const char *cg_decision_purpose(void);
extern Oid	cg_decision_role(void);
extern void cg_decision_flush(void);
extern void cg_decision_cache_stats(int64 *capacity, int64 *entries, int64 *hits, int64 *misses);
extern void cg_decision_init(void);
extern bool cg_check_purpose_setting(char **newval, void **extra, GucSource source);

#endif							/* CHILDGUARD_DECISION_H */
