/*-------------------------------------------------------------------------
 *
 * objections.c
 *	  Open objections (Provisions Art 19, Measures Art 17): an objection
 *	  recorded in childguard.request (kind 'objection', status open or
 *	  in_progress) restricts every read and write of that child's data,
 *	  for every purpose, until an officer closes it; an appointed officer
 *	  handling it is not restricted (decision.c applies both).
 *
 * The children with an open objection are few, so they are read as a
 * set, once per registry generation, through the partial index that
 * holds exactly them (request_open_objection_idx), into a backend-local
 * hash; a child's check is one probe of that (usually empty) set, and a
 * statement that meets no objection pays nothing more.  The set is
 * dropped by decision.c's flush, which catalog.c's invalidation calls
 * when childguard.request changes (its statement trigger), so an
 * objection committed in another session restricts this session's next
 * read, and its closing lifts it.  Before SQL version 1.4 there is no
 * request table: nothing is restricted.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "miscadmin.h"
#include "utils/acl.h"
#include "utils/hsearch.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"

#include "backend_cache.h"
#include "catalog.h"
#include "identity.h"
#include "objections.h"

static MemoryContext objection_cxt = NULL;
static HTAB *objection_set = NULL;	/* NULL and loaded: none open */
static bool objection_loaded = false;

/* The registry changed: read the set again when next needed. */
void
cg_objections_flush(void)
{
	if (objection_cxt != NULL)
		MemoryContextReset(objection_cxt);
	objection_set = NULL;
	objection_loaded = false;
}

typedef struct ObjectionList
{
	uint64	   *subjects;
	int			n;
	int			size;
} ObjectionList;

/* One row of the partial index: an open objection. */
static void
collect_objection(Datum *values, bool *nulls, void *arg)
{
	ObjectionList *list = (ObjectionList *) arg;

	if (nulls[Anum_cg_request_subject_no - 1])
		return;
	if (list->n == list->size)
	{
		list->size *= 2;
		list->subjects = repalloc(list->subjects, list->size * sizeof(uint64));
	}
	list->subjects[list->n++] = (uint64) DatumGetInt64(values[Anum_cg_request_subject_no - 1]);
}

static void
objections_load(void)
{
	const CgCatalog *cat = cg_catalog();
	ObjectionList list;

	objection_set = NULL;
	if (!OidIsValid(cat->request_rel) || !OidIsValid(cat->request_objection_index))
	{
		objection_loaded = true;
		return;
	}
	list.size = 16;
	list.n = 0;
	list.subjects = palloc(list.size * sizeof(uint64));
	/* opening the table may process invalidations: they reset nothing read below */
	cg_catalog_scan(cat->request_rel, cat->request_objection_index, NULL, 0,
					collect_objection, &list);
	if (objection_cxt != NULL)
		MemoryContextReset(objection_cxt);
	if (list.n > 0)
	{
		objection_set = cg_backend_hash(&objection_cxt, "childguard open objections", 16,
										sizeof(uint64), sizeof(uint64), false);
		for (int i = 0; i < list.n; i++)
			(void) hash_search(objection_set, &list.subjects[i], HASH_ENTER, NULL);
	}
	pfree(list.subjects);
	objection_loaded = true;
}

/* Is an objection to processing this child's data open? */
bool
cg_objection_open(uint64 subject_no)
{
	if (!objection_loaded)
		objections_load();
	return objection_set != NULL &&
		hash_search(objection_set, &subject_no, HASH_FIND, NULL) != NULL;
}

typedef struct OfficerMatch
{
	Oid			role;
	AttrNumber	role_att;
	bool		found;
} OfficerMatch;

static void
match_officer(Datum *values, bool *nulls, void *arg)
{
	OfficerMatch *m = (OfficerMatch *) arg;
	Oid			officer;

	if (m->found || nulls[m->role_att - 1])
		return;
	officer = DatumGetObjectId(values[m->role_att - 1]);
	if (cg_role_anchored(officer) && is_member_of_role(m->role, officer))
		m->found = true;
}

/*
 * Is role an appointed officer (or a member of one), its appointment
 * bound to the role that holds it (identity.c)?  Asked only when an
 * objection restricts a read, so it is not cached.
 */
bool
cg_role_is_officer(Oid role)
{
	const CgCatalog *cat = cg_catalog();
	OfficerMatch m;

	if (!OidIsValid(cat->officer_rel))
		return false;
	m.role = role;
	m.role_att = get_attnum(cat->officer_rel, "role");
	m.found = false;
	if (m.role_att == InvalidAttrNumber)
		return false;
	cg_catalog_scan(cat->officer_rel, InvalidOid, NULL, 0, match_officer, &m);
	return m.found;
}
