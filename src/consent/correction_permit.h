/*-------------------------------------------------------------------------
 *
 * correction_permit.h
 *	  An officer's correction under a correction request (Provisions
 *	  Art 19): the one child and category whose values may be sealed
 *	  without a purpose or consent, for one statement.
 *
 *-------------------------------------------------------------------------
 */
#ifndef CHILDGUARD_CORRECTION_PERMIT_H
#define CHILDGUARD_CORRECTION_PERMIT_H

#include "postgres.h"

extern bool cg_correction_permitted(uint64 subject_no, int category);

#endif							/* CHILDGUARD_CORRECTION_PERMIT_H */
