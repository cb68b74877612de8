/*-------------------------------------------------------------------------
 *
 * catalog_layout.c
 *	  The registry columns the C reads by number (the Anum_cg_* of
 *	  catalog.h), checked against the installed tables.
 *
 * The library serves a database at any released SQL version
 * (sql/README.md).  The registry columns it reads by attribute number
 * exist, with these numbers, names and types, from 1.0 on: later versions
 * only add columns (found by name, like access_grant.grantee_role).  A
 * table that does not have them -- a version this library does not know,
 * or a column dropped or retyped by hand -- would make the numbered reads
 * return the wrong column, or read past the row: cg_catalog_check_layout()
 * refuses it first with ZC140, naming the installed version and the fix.
 *
 * Called by cg_catalog_fetch() and cg_catalog_scan() on the relation they
 * opened: a few comparisons against the relcache's tuple descriptor, per
 * registry read (those feed backend-local caches, not rows), and always
 * current, since ALTER TABLE invalidates the descriptor.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "utils/builtins.h"
#include "utils/rel.h"

#include "catalog_layout.h"
#include "extension_version.h"

typedef struct CgColumn
{
	AttrNumber	attnum;
	const char *name;
	Oid			type;
} CgColumn;

#define COL(rel, col, type) {Anum_cg_##rel##_##col, #col, type}

static const CgColumn child_columns[] = {
	COL(child, subject_no, INT8OID),
	COL(child, child_id, TEXTOID),
	COL(child, birth_date, DATEOID),
	COL(child, key_version, INT4OID),
	COL(child, erased_at, TIMESTAMPTZOID),
	COL(child, in_difficulty, BOOLOID),
	COL(child, can_express, BOOLOID),
	{0}
};

static const CgColumn purpose_columns[] = {
	COL(purpose, purpose_id, INT4OID),
	COL(purpose, purpose, TEXTOID),
	COL(purpose, kind, TEXTOID),
	COL(purpose, categories, TEXTARRAYOID),
	COL(purpose, retention, INTERVALOID),
	COL(purpose, forbidden_in_difficulty, BOOLOID),
	{0}
};

static const CgColumn assessment_columns[] = {
	COL(assessment, purpose_id, INT4OID),
	{0}
};

static const CgColumn consent_columns[] = {
	COL(consent, consent_id, INT8OID),
	COL(consent, subject_no, INT8OID),
	COL(consent, purpose_id, INT4OID),
	COL(consent, decision, TEXTOID),
	COL(consent, giver_kind, TEXTOID),
	COL(consent, informed_guardian_id, TEXTOID),
	COL(consent, given_at, TIMESTAMPTZOID),
	COL(consent, withdrawn_at, TIMESTAMPTZOID),
	COL(consent, lapsed_at, TIMESTAMPTZOID),
	{0}
};

static const CgColumn grant_columns[] = {
	COL(grant, grant_id, INT8OID),
	COL(grant, grantee, NAMEOID),
	COL(grant, purposes, TEXTARRAYOID),
	COL(grant, categories, TEXTARRAYOID),
	COL(grant, max_children, INT4OID),
	COL(grant, valid_from, TIMESTAMPTZOID),
	COL(grant, valid_until, TIMESTAMPTZOID),
	COL(grant, processor, BOOLOID),
	COL(grant, approved_at, TIMESTAMPTZOID),
	COL(grant, revoked_at, TIMESTAMPTZOID),
	{0}
};

static const CgColumn request_columns[] = {
	COL(request, subject_no, INT8OID),
	{0}
};

static const CgColumn data_key_columns[] = {
	COL(data_key, subject_no, INT8OID),
	COL(data_key, key_version, INT4OID),
	COL(data_key, wrapped_key, BYTEAOID),
	COL(data_key, master_key_id, BYTEAOID),
	{0}
};

static const CgColumn restart_columns[] = {
	COL(restart, subject_no, INT8OID),
	COL(restart, purpose_id, INT4OID),
	COL(restart, restarted_at, TIMESTAMPTZOID),
	{0}
};

/*
 * The columns read by number from rel, or NULL if none are.  By name:
 * catalog.c opens only childguard's registry tables (it sits above this
 * file, which therefore cannot ask it for their OIDs).
 */
static const CgColumn *
expected_columns(Relation rel)
{
	const char *name = RelationGetRelationName(rel);

	if (strcmp(name, "child") == 0)
		return child_columns;
	if (strcmp(name, "purpose") == 0)
		return purpose_columns;
	if (strcmp(name, "security_assessment") == 0)
		return assessment_columns;
	if (strcmp(name, "consent") == 0)
		return consent_columns;
	if (strcmp(name, "access_grant") == 0)
		return grant_columns;
	if (strcmp(name, "data_key") == 0)
		return data_key_columns;
	if (strcmp(name, "retention_restart") == 0)
		return restart_columns;
	if (strcmp(name, "request") == 0)
		return request_columns;
	return NULL;
}

/* ZC140 unless rel has the columns the C reads from it by number. */
void
cg_catalog_check_layout(Relation rel)
{
	const CgColumn *cols = expected_columns(rel);
	TupleDesc	desc = RelationGetDescr(rel);

	if (cols == NULL)
		return;
	for (; cols->attnum != 0; cols++)
	{
		Form_pg_attribute att;

		if (cols->attnum > desc->natts)
			att = NULL;
		else
			att = TupleDescAttr(desc, cols->attnum - 1);
		if (att == NULL || att->attisdropped ||
			strcmp(NameStr(att->attname), cols->name) != 0 ||
			att->atttypid != cols->type)
			cg_report_sql_mismatch(psprintf("childguard.%s", RelationGetRelationName(rel)),
								   psprintf("Column %d is not \"%s\" of type %s, as in every version this library serves.",
											cols->attnum, cols->name, format_type_be(cols->type)));
	}
}
