/*-------------------------------------------------------------------------
 *
 * holds_child_data.h
 *	  Does a value of a type hold child data: directly (child_data or a
 *	  domain over it), nested (inside an array or composite), or not.
 *
 *-------------------------------------------------------------------------
 */
#ifndef CHILDGUARD_HOLDS_CHILD_DATA_H
#define CHILDGUARD_HOLDS_CHILD_DATA_H

#include "postgres.h"

/* what a type holds, for classification */
typedef enum CgTypeHolds
{
	CG_HOLDS_NONE,
	CG_HOLDS_DIRECT,			/* child_data or a domain over it */
	CG_HOLDS_NESTED				/* inside an array or composite */
} CgTypeHolds;

extern CgTypeHolds cg_type_holds_child_data(Oid typid);

#endif							/* CHILDGUARD_HOLDS_CHILD_DATA_H */
