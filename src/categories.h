/*-------------------------------------------------------------------------
 *
 * categories.h
 *	  The fixed list of child-data categories.  A category's id is written
 *	  into every envelope and into the column's type modifier, so ids are
 *	  permanent: add new ones at the end, never renumber.
 *
 *-------------------------------------------------------------------------
 */
#ifndef CHILDGUARD_CATEGORIES_H
#define CHILDGUARD_CATEGORIES_H

#include "postgres.h"

#define CG_CATEGORY_MIN 1
#define CG_CATEGORY_MAX 13

extern bool cg_category_is_valid(int id);
extern const char *cg_category_name(int id);
extern int	cg_category_lookup(const char *name);
extern void cg_report_unknown_category(const char *name);

#endif							/* CHILDGUARD_CATEGORIES_H */
