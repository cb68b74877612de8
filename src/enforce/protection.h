/*-------------------------------------------------------------------------
 *
 * protection.h
 *	  Is a table protected, and how: which columns hold child data, each
 *	  column's category, and the subject column.  Derived from the table's
 *	  own definition (column type modifiers and the seal trigger), so it
 *	  travels with pg_dump, and cached per backend by relation OID.
 *
 *-------------------------------------------------------------------------
 */
#ifndef CHILDGUARD_PROTECTION_H
#define CHILDGUARD_PROTECTION_H

#include "postgres.h"

#include "fmgr.h"
#include "utils/relcache.h"

/* its users classify column types too (cg_type_holds_child_data) */
#include "holds_child_data.h"

typedef struct CgProtectedColumn
{
	AttrNumber	attnum;
	uint8		category;
} CgProtectedColumn;

typedef struct CgProtection
{
	Oid			relid;
	bool		has_child_data; /* any column holds child_data */
	bool		is_protected;	/* all of them classified, trigger in place */
	char	   *problem;		/* if not protected: why, for errdetail */
	bool		planted;		/* code not ours attached (planted_code.c's check) */
	bool		has_parent;		/* an inheritance child or partition: its
								 * status follows its parents' */
	AttrNumber	subject_attnum;
	FmgrInfo	subject_out;	/* output function of the subject column */
	int			ncolumns;
	CgProtectedColumn *columns;
} CgProtection;

extern const CgProtection *cg_protection_of(Relation rel);
extern const CgProtection *cg_protection_of_relid(Oid relid);
extern void cg_protection_forget(Oid relid);
extern void cg_protection_init(void);
extern int	cg_typmod_category(int32 typmod);
extern void cg_report_not_protected(const CgProtection *p, const char *relname);

#endif							/* CHILDGUARD_PROTECTION_H */
