/*-------------------------------------------------------------------------
 *
 * extension_version.c
 *	  The installed SQL version of childguard (pg_extension.extversion),
 *	  and the one error every layout check raises when the installed SQL
 *	  is not one this library can serve.
 *
 * One shared library serves databases at every SQL version from 1.0 on
 * (sql/README.md).  Where the C reads or writes an object whose layout
 * changed between versions, it looks at the object itself (the relation's
 * tuple descriptor, a function's result type), which PostgreSQL's own
 * caches keep current across ALTER EXTENSION UPDATE, and either handles
 * that layout or calls cg_report_sql_mismatch().  The version string read
 * here is only for the message: it is read on the error path, never on a
 * hot path, so it needs no cache.
 *
 * cg_running_own_script() tells childguard's own install and update
 * scripts apart from any other extension's: guards that let the script
 * that builds childguard's tables write them must not let another
 * extension's script (CREATE EXTENSION of something else, run by a
 * superuser who trusted it for its own purpose) write childguard's log.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "catalog/indexing.h"
#include "catalog/pg_extension.h"
#include "commands/extension.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/rel.h"

#include "childguard_errcodes.h"
#include "extension_version.h"

/* childguard's installed version in this database (palloc'd), or NULL. */
char *
cg_extension_version(void)
{
	Relation	rel;
	ScanKeyData key;
	SysScanDesc scan;
	HeapTuple	tuple;
	char	   *version = NULL;

	rel = table_open(ExtensionRelationId, AccessShareLock);
	ScanKeyInit(&key, Anum_pg_extension_extname, BTEqualStrategyNumber,
				F_NAMEEQ, CStringGetDatum("childguard"));
	scan = systable_beginscan(rel, ExtensionNameIndexId, true, NULL, 1, &key);
	tuple = systable_getnext(scan);
	if (HeapTupleIsValid(tuple))
	{
		bool		isnull;
		Datum		d = heap_getattr(tuple, Anum_pg_extension_extversion,
									 RelationGetDescr(rel), &isnull);

		if (!isnull)
			version = text_to_cstring(DatumGetTextPP(d));
	}
	systable_endscan(scan);
	table_close(rel, AccessShareLock);
	return version;
}

/*
 * The installed SQL objects are not a layout this library knows: name the
 * object, the installed version, and the fix.
 */
void
cg_report_sql_mismatch(const char *object, const char *detail)
{
	char	   *version = cg_extension_version();

	ereport(ERROR,
			(errcode(ERRCODE_CG_SQL_VERSION_MISMATCH),
			 errmsg("%s does not have the layout of any childguard version this library serves",
					object),
			 errdetail("The database has childguard version %s installed; %s",
					   version ? version : "(none)", detail),
			 errhint("Run ALTER EXTENSION childguard UPDATE, or install the library that matches version %s.",
					 version ? version : "(none)")));
}

/*
 * Is the running statement part of childguard's own CREATE EXTENSION or
 * ALTER EXTENSION UPDATE script?  False outside any extension script, and
 * inside another extension's.
 */
bool
cg_running_own_script(void)
{
	if (!creating_extension)
		return false;
	return CurrentExtensionObject == get_extension_oid("childguard", true);
}
