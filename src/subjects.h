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

typedef struct CgSubject
{
	uint64		subject_no;
	uint32		key_version;
	bool		erased;
} CgSubject;

extern bool cg_subject_lookup(const char *child_id, CgSubject *out);
extern void cg_subjects_flush(void);

#endif							/* CHILDGUARD_SUBJECTS_H */
