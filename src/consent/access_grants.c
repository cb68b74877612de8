/*-------------------------------------------------------------------------
 *
 * access_grants.c
 *	  Finding the grants that let a role read child data for a purpose.
 *
 * The approved, unrevoked grants naming a purpose are read once per
 * (role, purpose) and cached per backend; decision.c flushes the cache
 * (on catalog.c's invalidation callback) when access_grant or role
 * membership changes.  Time is checked on every
 * use, so a grant stops at its valid_until without any change.
 *
 * The grantee is a role OID (access_grant.grantee_role, from 1.1), and a
 * grant counts only while that role still holds its anchor (identity.c):
 * renaming a role keeps its grants, a new role under the old name gets
 * none, and a dropped role's OID never brings them back.  Under the 1.0
 * schema (before ALTER EXTENSION UPDATE) the grantee is looked up by name.
 *
 * A grant holds for its grantee and, unless it is a processor's, for the
 * roles that are members of it (superuser status does not count).  A
 * processor's grant holds for exactly its role: making others members of
 * it does not delegate the processing (Art 16).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "backend_cache.h"
#include "miscadmin.h"
#include "utils/acl.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/hsearch.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"

#include "access_grants.h"
#include "catalog.h"
#include "identity.h"

#define MAX_GRANTS_PER_ROLE_PURPOSE 32

typedef struct GrantRow
{
	int64		grant_id;
	CgCategorySet categories;	/* 0: all of the purpose's */
	int32		max_children;
	int32		per_hour;		/* 0: no limit */
	int32		per_day;		/* 0: no limit */
	TimestampTz valid_from;
	TimestampTz valid_until;
	bool		has_recipient;	/* 1.4: access_grant.recipient is set */
	char		recipient[NAMEDATALEN];
} GrantRow;

typedef struct GrantKey
{
	Oid			role;
	int32		purpose_id;
} GrantKey;

typedef struct GrantEntry
{
	GrantKey	key;
	int			ngrants;
	GrantRow	grants[MAX_GRANTS_PER_ROLE_PURPOSE];
} GrantEntry;

static MemoryContext grant_cxt = NULL;
static HTAB *grant_cache = NULL;

void
cg_grants_flush(void)
{
	if (grant_cxt != NULL)
		MemoryContextReset(grant_cxt);
	grant_cache = NULL;
}

typedef struct GrantScan
{
	Oid			role;
	const char *purpose;
	AttrNumber	grantee_role_att;	/* 0: the 1.0 schema, grantee by name */
	AttrNumber	recipient_att;	/* 0: before 1.4, no recipients */
	AttrNumber	per_hour_att;	/* 0: before 1.4, no window limits */
	AttrNumber	per_day_att;
	GrantEntry *entry;
} GrantScan;

static bool
text_array_contains(Datum array, const char *value)
{
	Datum	   *elems;
	bool	   *nulls;
	int			n;

	deconstruct_array(DatumGetArrayTypeP(array), TEXTOID, -1, false, TYPALIGN_INT,
					  &elems, &nulls, &n);
	for (int i = 0; i < n; i++)
		if (!nulls[i] && strcmp(TextDatumGetCString(elems[i]), value) == 0)
			return true;
	return false;
}

static void
collect_grant(Datum *values, bool *nulls, void *arg)
{
	GrantScan  *scan = (GrantScan *) arg;
	GrantRow   *row;
	Oid			grantee;

	if (nulls[Anum_cg_grant_approved_at - 1] || !nulls[Anum_cg_grant_revoked_at - 1])
		return;
	if (scan->grantee_role_att > 0)
	{
		/* 1.1: the grantee's OID, and only while the role is still anchored */
		if (nulls[scan->grantee_role_att - 1])
			return;
		grantee = DatumGetObjectId(values[scan->grantee_role_att - 1]);
		if (!cg_role_anchored(grantee))
			return;
	}
	else
		grantee = get_role_oid(NameStr(*DatumGetName(values[Anum_cg_grant_grantee - 1])), true);
	if (!OidIsValid(grantee))
		return;
	if (DatumGetBool(values[Anum_cg_grant_processor - 1]) ?
		grantee != scan->role :
		(grantee != scan->role && !is_member_of_role_nosuper(scan->role, grantee)))
		return;
	if (!text_array_contains(values[Anum_cg_grant_purposes - 1], scan->purpose))
		return;
	if (scan->entry->ngrants >= MAX_GRANTS_PER_ROLE_PURPOSE)
		return;					/* more than enough to decide */
	row = &scan->entry->grants[scan->entry->ngrants++];
	row->grant_id = DatumGetInt64(values[Anum_cg_grant_grant_id - 1]);
	row->categories = nulls[Anum_cg_grant_categories - 1] ? 0 :
		cg_category_set_from_array(values[Anum_cg_grant_categories - 1]);
	row->max_children = nulls[Anum_cg_grant_max_children - 1] ? 0 :
		DatumGetInt32(values[Anum_cg_grant_max_children - 1]);
	row->per_hour = scan->per_hour_att > 0 && !nulls[scan->per_hour_att - 1] ?
		DatumGetInt32(values[scan->per_hour_att - 1]) : 0;
	row->per_day = scan->per_day_att > 0 && !nulls[scan->per_day_att - 1] ?
		DatumGetInt32(values[scan->per_day_att - 1]) : 0;
	row->valid_from = DatumGetTimestampTz(values[Anum_cg_grant_valid_from - 1]);
	row->valid_until = DatumGetTimestampTz(values[Anum_cg_grant_valid_until - 1]);
	row->has_recipient = scan->recipient_att > 0 && !nulls[scan->recipient_att - 1];
	if (row->has_recipient)
		text_to_cstring_buffer(DatumGetTextPP(values[scan->recipient_att - 1]),
							   row->recipient, NAMEDATALEN);
}

/* Add the recipient a grant in force names to out's (distinct) recipients. */
static void
note_recipient(CgGrant *out, const GrantRow *g)
{
	if (!g->has_recipient)
	{
		if (out->unnamed_grant_id == 0)
			out->unnamed_grant_id = g->grant_id;
		return;
	}
	for (int i = 0; i < out->nrecipients; i++)
		if (strcmp(out->recipients[i], g->recipient) == 0)
			return;
	if (out->nrecipients >= CG_GRANT_MAX_RECIPIENTS)
	{
		/* more than that: counted as a grant whose recipient is not checked */
		if (out->unnamed_grant_id == 0)
			out->unnamed_grant_id = g->grant_id;
		return;
	}
	strlcpy(out->recipients[out->nrecipients++], g->recipient, NAMEDATALEN);
}

/*
 * The grants in force now that let role read for the purpose.  Returns
 * CG_GRANT_OK and fills *out, or says why not.
 */
CgGrantStatus
cg_grant_find(Oid role, int32 purpose_id, const char *purpose,
			  CgCategorySet purpose_categories, int32 default_max_children,
			  TimestampTz now, CgGrant *out)
{
	GrantKey	key;
	GrantEntry	fetched;
	GrantEntry *entry;
	bool		found;
	bool		any_future = false;

	memset(&key, 0, sizeof(key));
	key.role = role;
	key.purpose_id = purpose_id;
	entry = grant_cache ? hash_search(grant_cache, &key, HASH_FIND, NULL) : NULL;
	if (entry == NULL)
	{
		GrantScan	scan;

		memset(&fetched, 0, sizeof(fetched));
		fetched.key = key;
		scan.role = role;
		scan.purpose = purpose;
		scan.entry = &fetched;
		scan.grantee_role_att = cg_catalog()->grant_grantee_role;
		scan.recipient_att = cg_catalog()->grant_recipient;
		scan.per_hour_att = cg_catalog()->grant_per_hour;
		scan.per_day_att = cg_catalog()->grant_per_day;
		cg_catalog_scan(cg_catalog()->grant_rel, InvalidOid, NULL, 0, collect_grant, &scan);
		/* the scan may have processed an invalidation that reset the cache */
		if (grant_cache == NULL)
			grant_cache = cg_backend_hash(&grant_cxt, "childguard grants", 16,
										  sizeof(GrantKey), sizeof(GrantEntry), false);
		entry = hash_search(grant_cache, &key, HASH_ENTER, &found);
		memcpy(entry, &fetched, sizeof(fetched));
	}

	memset(out, 0, sizeof(*out));
	TIMESTAMP_NOEND(out->stable_until);
	for (int i = 0; i < entry->ngrants; i++)
	{
		const GrantRow *g = &entry->grants[i];

		if (now < g->valid_from)
		{
			any_future = true;
			out->stable_until = Min(out->stable_until, g->valid_from);
			continue;
		}
		if (now >= g->valid_until)
			continue;
		out->stable_until = Min(out->stable_until, g->valid_until);
		if (out->grant_id == 0 || g->grant_id < out->grant_id)
			out->grant_id = g->grant_id;
		out->categories |= (g->categories ? g->categories : purpose_categories);
		/* the union of the grants: one without a limit lifts it (PG_INT32_MAX) */
		out->max_children = Max(out->max_children,
								g->max_children ? g->max_children :
								default_max_children ? default_max_children : PG_INT32_MAX);
		out->per_hour = Max(out->per_hour, g->per_hour ? g->per_hour : PG_INT32_MAX);
		out->per_day = Max(out->per_day, g->per_day ? g->per_day : PG_INT32_MAX);
		out->ends = Max(out->ends, g->valid_until);
		note_recipient(out, g);
	}
	/* no limit: 0 */
	if (out->max_children == PG_INT32_MAX)
		out->max_children = 0;
	if (out->per_hour == PG_INT32_MAX)
		out->per_hour = 0;
	if (out->per_day == PG_INT32_MAX)
		out->per_day = 0;
	if (out->grant_id != 0)
	{
		out->categories &= purpose_categories;
		return CG_GRANT_OK;
	}
	if (any_future)
		return CG_GRANT_NOT_YET;
	return entry->ngrants > 0 ? CG_GRANT_EXPIRED : CG_GRANT_NONE;
}
