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

extern bool cg_subject_lookup(const char *child_id, CgSubject *out);
extern bool cg_subject_by_no(uint64 subject_no, CgSubject *out);
extern void cg_subjects_flush(void);
extern void cg_subjects_init(void);

#endif							/* CHILDGUARD_SUBJECTS_H */
