/*-------------------------------------------------------------------------
 *
 * subjects.h
 *	  From a child's id (the application's key) to childguard's subject
 *	  number and current data-key version, cached per backend.
 *
 *-------------------------------------------------------------------------
 */
#ifndef CHILDGUARD_SUBJECTS_H
#define CHILDGUARD_SUBJECTS_H

#include "postgres.h"

#include "utils/date.h"

typedef struct CgSubject
{
	uint64		subject_no;
	uint32		key_version;
	bool		erased;
	bool		in_difficulty;	/* 困境儿童 (D-Art 12) */
	bool		can_express;	/* able to express their will */
	DateADT		birth_date;
} CgSubject;

/*
 * A child's consent words for each purpose it has consent rows for, as the
 * child's entry in the cache shared by the backends keeps them
 * (below): the reduction consent.c caches per (child, purpose), for
 * up to CG_CHILD_PURPOSES purposes.  known: every purpose with a row is
 * listed (one not listed has no word); false when the child has more, or a
 * retention clock was restarted (those are looked up per purpose).
 */
#define CG_CHILD_PURPOSES 4

typedef struct CgPurposeWords
{
	int32		purpose_id;
	uint8		guardian_word;
	uint8		child_word;
	bool		child_informed;
	bool		collected;
	TimestampTz first_granted;
} CgPurposeWords;

typedef struct CgChildConsents
{
	bool		known;
	uint8		n;
	CgPurposeWords p[CG_CHILD_PURPOSES];
} CgChildConsents;

/*
 * consent.c's part of a child's shared entry, registered from _PG_init
 * (consent.c uses this file, so this file does not call consent.c):
 * read the child's words for every purpose under the entry's stamp; hand
 * them on for the lookups that follow.
 */
typedef void (*CgConsentsFetchAll) (uint64 subject_no, uint64 stamp, CgChildConsents *out);
typedef void (*CgConsentsOffer) (uint64 subject_no, const CgChildConsents *words);

extern void cg_subjects_consent_hooks(CgConsentsFetchAll fetch_all, CgConsentsOffer offer);
extern bool cg_subject_lookup(const char *child_id, CgSubject *out);
extern bool cg_subject_by_no(uint64 subject_no, CgSubject *out);
extern void cg_subjects_flush(void);
extern void cg_subjects_init(void);

#endif							/* CHILDGUARD_SUBJECTS_H */
