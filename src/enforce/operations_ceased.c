/*-------------------------------------------------------------------------
 *
 * operations_ceased.c
 *	  cease_operations() (Art 23) leaves a row in
 *	  childguard.operations_ceased; while it is there no child data is
 *	  collected: the seal trigger refuses every new value (ZC326).  The
 *	  answer is cached per backend and dropped on catalog.c's invalidation
 *	  (the table's statement trigger tells every backend at commit), so a
 *	  write pays one test of a static.  Before 1.4 the table does not
 *	  exist: never ceased.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "utils/lsyscache.h"

#include "catalog.h"
#include "childguard_errcodes.h"
#include "operations_ceased.h"
#include "statement.h"

static int	ceased = -1;		/* -1 unknown, 0 no, 1 yes */
static Oid	ceased_rel = InvalidOid;

static void
ceased_flush(int kinds, Oid relid)
{
	if (!OidIsValid(relid) || relid == ceased_rel || (kinds & CG_INVAL_OBJECTS))
		ceased = -1;
}

void
cg_operations_ceased_init(void)
{
	cg_catalog_on_invalidation(ceased_flush, CG_INVAL_RELATION | CG_INVAL_OBJECTS);
}

static void
note_row(Datum *values, bool *nulls, void *arg)
{
	*(bool *) arg = true;
}

/*
 * Refuse collection when operations have ceased; the refused write of
 * subject_no's data is noted for the statement's audit record first.
 */
void
cg_check_operations_ceased(const char *relname, uint64 subject_no)
{
	if (ceased < 0)
	{
		const CgCatalog *cat = cg_catalog();
		bool		found = false;

		ceased_rel = cat->present ?
			get_relname_relid("operations_ceased", cat->namespace_oid) : InvalidOid;
		if (OidIsValid(ceased_rel))
			cg_catalog_scan(ceased_rel, InvalidOid, NULL, 0, note_row, &found);
		ceased = found ? 1 : 0;
	}
	if (ceased == 1)
	{
		cg_statement_note(subject_no, CG_ACCESS_DENIED);
		ereport(ERROR,
				(errcode(ERRCODE_CG_OPERATIONS_CEASED),
				 errmsg("cannot collect child data: operations have ceased"),
				 errdetail("childguard.cease_operations() stopped the collection of children's personal information (Art 23); table \"%s\" takes no new child data.", relname),
				 errhint("The extension owner can lift it with childguard.resume_operations().")));
	}
}
