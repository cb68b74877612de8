/*-------------------------------------------------------------------------
 *
 * purposes.c
 *	  Purpose lookup by name, cached per backend and flushed (by
 *	  decision.c, on catalog.c's invalidation callback) whenever a purpose
 *	  or an assessment changes.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/stratnum.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/hsearch.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"

#include "backend_cache.h"
#include "catalog.h"
#include "purposes.h"

typedef struct PurposeEntry
{
	char		name[NAMEDATALEN];	/* hash key */
	bool		defined;
	CgPurpose	purpose;
} PurposeEntry;

static MemoryContext purpose_cxt = NULL;
static HTAB *purpose_cache = NULL;

void
cg_purposes_flush(void)
{
	if (purpose_cxt != NULL)
		MemoryContextReset(purpose_cxt);
	purpose_cache = NULL;
}

static void
note_assessment(Datum *values, bool *nulls, void *arg)
{
	CgPurpose  *p = (CgPurpose *) arg;

	if (DatumGetInt32(values[Anum_cg_assessment_purpose_id - 1]) == p->purpose_id)
		p->assessed = true;
}

static bool
purpose_fetch(const char *name, CgPurpose *out)
{
	const CgCatalog *cat = cg_catalog();
	ScanKeyData key;
	Datum	   *values;
	bool	   *nulls;
	const char *kind;

	ScanKeyInit(&key, Anum_cg_purpose_purpose, BTEqualStrategyNumber,
				F_TEXTEQ, CStringGetTextDatum(name));
	if (!cg_catalog_fetch(cat->purpose_rel, cat->purpose_name_index, &key, 1,
						  &values, &nulls))
		return false;
	out->purpose_id = DatumGetInt32(values[Anum_cg_purpose_purpose_id - 1]);
	kind = TextDatumGetCString(values[Anum_cg_purpose_kind - 1]);
	out->kind = strcmp(kind, "transfer") == 0 ? CG_PURPOSE_TRANSFER :
		strcmp(kind, "disclose") == 0 ? CG_PURPOSE_DISCLOSE :
		strcmp(kind, "publicize") == 0 ? CG_PURPOSE_PUBLICIZE : CG_PURPOSE_USE;
	out->categories = cg_category_set_from_array(values[Anum_cg_purpose_categories - 1]);
	out->retention = *DatumGetIntervalP(values[Anum_cg_purpose_retention - 1]);
	out->forbidden_in_difficulty =
		DatumGetBool(values[Anum_cg_purpose_forbidden_in_difficulty - 1]);
	out->assessed = false;
	/* assessments are few: a heap scan */
	cg_catalog_scan(cat->assessment_rel, InvalidOid, NULL, 0, note_assessment, out);
	return true;
}

typedef struct RecipientProbe
{
	int32		purpose_id;
	const char *recipient;
	AttrNumber	recipient_att;
	bool		found;
} RecipientProbe;

static void
note_recipient_assessment(Datum *values, bool *nulls, void *arg)
{
	RecipientProbe *probe = (RecipientProbe *) arg;
	char		name[NAMEDATALEN];

	if (probe->found || nulls[probe->recipient_att - 1] ||
		DatumGetInt32(values[Anum_cg_assessment_purpose_id - 1]) != probe->purpose_id)
		return;
	text_to_cstring_buffer(DatumGetTextPP(values[probe->recipient_att - 1]), name, NAMEDATALEN);
	if (strcmp(name, probe->recipient) == 0)
		probe->found = true;
}

/*
 * Is a security assessment of the purpose for this recipient on record
 * (1.4: an assessment names its recipient, Art 16, 17)?  Assessments are
 * few: a heap scan, once per statement that reads under a transfer.
 */
bool
cg_purpose_assessed_for(int32 purpose_id, const char *recipient)
{
	const CgCatalog *cat = cg_catalog();
	RecipientProbe probe;

	if (cat->assessment_recipient == 0)
		return false;
	probe.purpose_id = purpose_id;
	probe.recipient = recipient;
	probe.recipient_att = cat->assessment_recipient;
	probe.found = false;
	cg_catalog_scan(cat->assessment_rel, InvalidOid, NULL, 0, note_recipient_assessment, &probe);
	return probe.found;
}

/* The purpose called name; false if no such purpose is defined. */
bool
cg_purpose_lookup(const char *name, CgPurpose *out)
{
	PurposeEntry *entry;
	bool		defined;
	bool		found;

	if (strlen(name) >= NAMEDATALEN)
		return false;			/* define_purpose() allows 63 characters */
	if (purpose_cache != NULL &&
		(entry = hash_search(purpose_cache, name, HASH_FIND, NULL)) != NULL)
	{
		*out = entry->purpose;
		return entry->defined;
	}
	memset(out, 0, sizeof(*out));
	defined = purpose_fetch(name, out);
	/* the fetch may have processed an invalidation that reset the cache */
	if (purpose_cache == NULL)
		purpose_cache = cg_backend_hash(&purpose_cxt, "childguard purposes", 16,
										NAMEDATALEN, sizeof(PurposeEntry), true);
	entry = hash_search(purpose_cache, name, HASH_ENTER, &found);
	entry->defined = defined;
	entry->purpose = *out;
	return defined;
}
