/*-------------------------------------------------------------------------
 *
 * holds_child_data.c
 *	  Classifying a type by what its values hold: child data directly
 *	  (child_data or a domain over it), nested in an array or composite
 *	  type, or none.
 *
 * Both the protection status (protection.c) and the DDL guard
 * (planted_code.c) classify column types, and so do the write guard and
 * the NULL-for-denied receiver; it sits below all of them.  The answer
 * is read from the type cache and the syscache each time (no cache of
 * our own: the callers cache what they derive from it).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/transam.h"
#include "catalog/pg_type.h"
#include "miscadmin.h"
#include "utils/lsyscache.h"
#include "utils/typcache.h"

#include "catalog.h"
#include "holds_child_data.h"

/* What a value of typid holds, cgtype being child_data's OID. */
static CgTypeHolds
holds_child_data(Oid typid, Oid cgtype, int depth)
{
	Oid			base;
	Oid			elem;

	check_stack_depth();
	base = getBaseType(typid);
	if (base == cgtype)
		return CG_HOLDS_DIRECT;
	elem = get_element_type(base);
	if (OidIsValid(elem))
		return holds_child_data(elem, cgtype, depth + 1) != CG_HOLDS_NONE ?
			CG_HOLDS_NESTED : CG_HOLDS_NONE;
	if (base != RECORDOID && type_is_rowtype(base))
	{
		TupleDesc	td = lookup_rowtype_tupdesc(base, -1);
		CgTypeHolds result = CG_HOLDS_NONE;

		for (int i = 0; i < td->natts && result == CG_HOLDS_NONE; i++)
		{
			Form_pg_attribute att = TupleDescAttr(td, i);

			if (!att->attisdropped &&
				holds_child_data(att->atttypid, cgtype, depth + 1) != CG_HOLDS_NONE)
				result = CG_HOLDS_NESTED;
		}
		ReleaseTupleDesc(td);
		return result;
	}
	return CG_HOLDS_NONE;
}

/* Does a value of typid hold child data, directly or nested? */
CgTypeHolds
cg_type_holds_child_data(Oid typid)
{
	Oid			cgtype = cg_child_data_type();

	if (!OidIsValid(cgtype) || typid < FirstGenbkiObjectId)
		return CG_HOLDS_NONE;
	return holds_child_data(typid, cgtype, 0);
}
