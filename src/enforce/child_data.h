/*-------------------------------------------------------------------------
 *
 * child_data.h
 *	  The child_data type's plaintext, for the functions that compare,
 *	  hash and match it (child_data_compare.c).
 *
 *-------------------------------------------------------------------------
 */
#ifndef CHILDGUARD_CHILD_DATA_H
#define CHILDGUARD_CHILD_DATA_H

#include "postgres.h"

extern char *cg_child_data_plaintext(Datum value, size_t *len);

#endif							/* CHILDGUARD_CHILD_DATA_H */
