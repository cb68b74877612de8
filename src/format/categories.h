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

/* A set of categories: bit (1 << id). */
typedef uint32 CgCategorySet;
#define CG_CATEGORY_BIT(id) ((CgCategorySet) 1 << (id))

extern CgCategorySet cg_category_set_from_array(Datum text_array);
extern char *cg_category_set_names(CgCategorySet set);

#endif							/* CHILDGUARD_CATEGORIES_H */
