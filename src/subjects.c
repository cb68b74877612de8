/*-------------------------------------------------------------------------
 *
 * subjects.c
 *	  Subject lookup by child id, with a backend-local cache that
 *	  catalog.c flushes whenever childguard.child changes (see there).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/stratnum.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/hsearch.h"
#include "utils/memutils.h"

#include "catalog.h"
#include "subjects.h"

/* ids at least this long are looked up without caching */
#define SUBJECT_KEY_LEN		128
#define SUBJECT_CACHE_MAX	65536

typedef struct SubjectEntry
{
	char		child_id[SUBJECT_KEY_LEN];
	CgSubject	subject;
} SubjectEntry;

static MemoryContext subject_cxt = NULL;
static HTAB *subject_cache = NULL;

void
cg_subjects_flush(void)
{
	if (subject_cxt != NULL)
		MemoryContextReset(subject_cxt);
	subject_cache = NULL;
}

static void
subject_cache_init(void)
{
	HASHCTL		ctl;

	if (subject_cxt == NULL)
		subject_cxt = AllocSetContextCreate(TopMemoryContext,
											"childguard subject cache",
											ALLOCSET_DEFAULT_SIZES);
	ctl.keysize = SUBJECT_KEY_LEN;
	ctl.entrysize = sizeof(SubjectEntry);
	ctl.hcxt = subject_cxt;
	subject_cache = hash_create("childguard subjects", 1024, &ctl,
								HASH_ELEM | HASH_STRINGS | HASH_CONTEXT);
}

/* Read the registry row for child_id. */
static bool
subject_fetch(const char *child_id, CgSubject *out)
{
	const CgCatalog *cat = cg_catalog();
	ScanKeyData key;
	Datum	   *values;
	bool	   *nulls;

	ScanKeyInit(&key, Anum_cg_child_child_id, BTEqualStrategyNumber,
				F_TEXTEQ, CStringGetTextDatum(child_id));
	if (!cg_catalog_fetch(cat->child_rel, cat->child_id_index, &key, 1,
						  &values, &nulls))
		return false;
	out->subject_no = (uint64) DatumGetInt64(values[Anum_cg_child_subject_no - 1]);
	out->key_version = (uint32) DatumGetInt32(values[Anum_cg_child_key_version - 1]);
	out->erased = !nulls[Anum_cg_child_erased_at - 1];
	return true;
}

/* Find the subject for child_id; false if the child is not registered. */
bool
cg_subject_lookup(const char *child_id, CgSubject *out)
{
	SubjectEntry *entry;
	bool		found;

	if (strlen(child_id) >= SUBJECT_KEY_LEN)
		return subject_fetch(child_id, out);
	if (subject_cache == NULL)
		subject_cache_init();
	entry = hash_search(subject_cache, child_id, HASH_FIND, NULL);
	if (entry != NULL)
	{
		*out = entry->subject;
		return true;
	}
	if (!subject_fetch(child_id, out))
		return false;
	/* the fetch may have processed an invalidation that reset the cache */
	if (subject_cache == NULL || hash_get_num_entries(subject_cache) >= SUBJECT_CACHE_MAX)
	{
		cg_subjects_flush();
		subject_cache_init();
	}
	entry = hash_search(subject_cache, child_id, HASH_ENTER, &found);
	entry->subject = *out;
	return true;
}
