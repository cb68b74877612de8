/*-------------------------------------------------------------------------
 *
 * subjects.c
 *	  Subject lookup by child id, with a backend-local cache that is
 *	  flushed whenever childguard.child changes (registered with
 *	  catalog.c's invalidation callback, see there), in front of the cache
 *	  shared by the backends (shared_cache.c: a backend's first read of a
 *	  child another backend has read costs a probe, not an index fetch).
 *	  Each local cache holds at most childguard.backend_cache_entries and
 *	  is emptied when it reaches that.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/stratnum.h"
#include "common/hashfn.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/memutils.h"

#include "backend_cache.h"
#include "catalog.h"
#include "childguard_errcodes.h"
#include "data_keys.h"
#include "registry_seal.h"
#include "shared_cache.h"
#include "statement.h"
#include "subjects.h"

/* ids at least this long are looked up without caching */
#define SUBJECT_KEY_LEN		128
#define SUBJECT_CACHE_MAX	cg_backend_cache_entries

/*
 * By id, an open-addressing table (lib/simplehash.h) keyed by a 64-bit
 * hash of the id, with the id itself (copied into the cache's context)
 * compared on every hit: two ids with the same hash share a slot, the
 * later replacing the earlier, and never answer for each other.  The row
 * policy looks a child up here at every row.
 */
typedef struct SubjectEntry
{
	uint64		id_hash;		/* hash key */
	char		status;			/* simplehash's */
	char	   *child_id;		/* in subject_cxt */
	CgSubject	subject;
} SubjectEntry;

#define SH_PREFIX		subjects_by_id
#define SH_ELEMENT_TYPE	SubjectEntry
#define SH_KEY_TYPE		uint64
#define SH_KEY			id_hash
#define SH_HASH_KEY(tb, k) ((uint32) (k))
#define SH_EQUAL(tb, a, b) ((a) == (b))
#define SH_SCOPE		static inline
#define SH_DECLARE
#define SH_DEFINE
#include "lib/simplehash.h"

typedef struct SubjectByNoEntry
{
	uint64		subject_no;		/* hash key */
	char		status;			/* simplehash's */
	bool		registered;
	CgSubject	subject;
} SubjectByNoEntry;

/*
 * By number, an open-addressing table (lib/simplehash.h), not dynahash: a
 * bulk scan of children new to the backend inserts once per row -- no
 * per-entry allocation, a cheap hash, entries inline.
 */
#define SH_PREFIX		subjects_by_no
#define SH_ELEMENT_TYPE	SubjectByNoEntry
#define SH_KEY_TYPE		uint64
#define SH_KEY			subject_no
#define SH_HASH_KEY(tb, k) cg_backend_hash_uint64(k)
#define SH_EQUAL(tb, a, b) ((a) == (b))
#define SH_SCOPE		static inline
#define SH_DECLARE
#define SH_DEFINE
#include "lib/simplehash.h"

/*
 * A child's entry in the cache shared by the backends, under its id: all
 * a read of the child needs -- its registry facts, its consent words for
 * each purpose and its current data key, still WRAPPED -- so that a
 * backend's first read of a child costs one probe.  Filled from the
 * catalog under one stamp read before the three fetches.  The consent
 * words and the key are handed to consent.c and data_keys.c for the
 * lookups that follow (cg_consents_offer, cg_data_key_offer).  The same
 * entry is kept under the subject's number too (what envelopes carry: a
 * value decided without the row policy's lookup by id).
 */
typedef struct SharedChild
{
	CgSubject	subject;
	bool		registered;		/* under its number: whether there is one */
	bool		has_key;		/* the key's row was there */
	CgWrappedKey key;			/* of subject.key_version */
	CgChildConsents consents;
} SharedChild;

static MemoryContext subject_cxt = NULL;
static subjects_by_id_hash *subject_cache = NULL;
static subjects_by_no_hash *subject_no_cache = NULL;

/* consent.c's part of the child's entry (cg_subjects_consent_hooks) */
static CgConsentsFetchAll consents_fetch_all = NULL;
static CgConsentsOffer consents_offer = NULL;

/* the last child looked up by id: answers the lookup by number that follows */
static bool last_valid = false;
static CgSubject last_subject;

void
cg_subjects_flush(void)
{
	if (subject_cxt != NULL)
		MemoryContextReset(subject_cxt);
	subject_cache = NULL;
	subject_no_cache = NULL;
	last_valid = false;
}

/* catalog.c's invalidation: childguard.child changed. */
static void
subjects_invalidate(int kinds, Oid relid)
{
	cg_subjects_flush();
}

/*
 * From _PG_init: flush when childguard.child changes -- and when the
 * consents or data keys do, whose own caches are flushed then: a child
 * found here skips its shared entry, which is what brings its consent
 * words and key back without a probe each (subject_shared_child).
 */
void
cg_subjects_init(void)
{
	cg_catalog_on_invalidation(subjects_invalidate,
							   CG_INVAL_CHILD | CG_INVAL_DATA_KEY | CG_INVAL_POLICY);
}

/* The subjects' memory context, made the first time. */
static MemoryContext
subject_context(void)
{
	if (subject_cxt == NULL)
		subject_cxt = AllocSetContextCreate(TopMemoryContext, "childguard subjects",
											ALLOCSET_SMALL_SIZES);
	return subject_cxt;
}

static void
subject_cache_init(void)
{
	subject_cache = subjects_by_id_create(subject_context(), 1024, NULL);
}

static inline uint64
subject_id_hash(const char *child_id, size_t len)
{
	return DatumGetUInt64(hash_any_extended((const unsigned char *) child_id, (int) len, 0));
}

/* Read the registry row matching key through index. */
static bool
subject_fetch(Oid index, ScanKey key, CgSubject *out)
{
	const CgCatalog *cat = cg_catalog();
	Datum	   *values;
	bool	   *nulls;

	if (!cg_catalog_fetch(cat->child_rel, index, key, 1, &values, &nulls))
		return false;
	out->subject_no = (uint64) DatumGetInt64(values[Anum_cg_child_subject_no - 1]);
	out->key_version = (uint32) DatumGetInt32(values[Anum_cg_child_key_version - 1]);
	out->erased = !nulls[Anum_cg_child_erased_at - 1];
	if (cat->child_sealed > 0 && !nulls[cat->child_sealed - 1])
	{
		/* 1.4: sealed (registry_seal.c); opened once, then cached */
		CgRegistryFacts facts;

		bytea	   *sealed = DatumGetByteaPP(values[cat->child_sealed - 1]);

		/*
		 * A failure (no such master key, an altered row) admits the
		 * statement for audit before it is reported, so it leaves its
		 * record, as a data key's failure does; a success adds nothing.
		 */
		if (!cg_registry_try_open(out->subject_no, sealed, &facts))
		{
			cg_statement_attempt();
			cg_registry_open(out->subject_no, sealed, &facts);
		}
		out->birth_date = facts.birth_date;
		out->in_difficulty = facts.in_difficulty;
		out->can_express = facts.can_express;
	}
	else if (cat->child_sealed == 0 && !nulls[Anum_cg_child_birth_date - 1])
	{
		/* an installed SQL version before 1.4: plaintext columns */
		out->in_difficulty = DatumGetBool(values[Anum_cg_child_in_difficulty - 1]);
		out->can_express = DatumGetBool(values[Anum_cg_child_can_express - 1]);
		out->birth_date = DatumGetDateADT(values[Anum_cg_child_birth_date - 1]);
	}
	else
	{
		/* as for a failed seal above: the statement leaves its record */
		cg_statement_attempt();
		ereport(ERROR,
				(errcode(ERRCODE_CG_REGISTRY_NOT_SEALED),
				 errmsg("registry data of subject %llu is not sealed",
						(unsigned long long) out->subject_no),
				 errdetail("Row of childguard.child has no sealed birth date and circumstances."),
				 errhint("Write the row again with the registry's seal trigger enabled (docs/security.md, \"Registry personal data\").")));
	}
	return true;
}

static bool
subject_fetch_by_id(const char *child_id, CgSubject *out)
{
	ScanKeyData key;

	ScanKeyInit(&key, Anum_cg_child_child_id, BTEqualStrategyNumber,
				F_TEXTEQ, CStringGetTextDatum(child_id));
	return subject_fetch(cg_catalog()->child_id_index, &key, out);
}

/* From _PG_init: consent.c's part of a child's entry. */
void
cg_subjects_consent_hooks(CgConsentsFetchAll fetch_all, CgConsentsOffer offer)
{
	consents_fetch_all = fetch_all;
	consents_offer = offer;
}

/* The rest of a child's entry, read after its row under the same stamp. */
static void
shared_child_complete(SharedChild *child, uint64 stamp)
{
	if (!child->registered || child->subject.erased)
		return;
	if (consents_fetch_all != NULL)
		consents_fetch_all(child->subject.subject_no, stamp, &child->consents);
	child->has_key = cg_data_key_fetch_wrapped(child->subject.subject_no,
											   child->subject.key_version,
											   &child->key);
}

/* Hand the entry's consent words and wrapped key on (see SharedChild). */
static void
shared_child_offer(const SharedChild *child)
{
	if (!child->registered)
		return;
	if (consents_offer != NULL)
		consents_offer(child->subject.subject_no, &child->consents);
	if (child->has_key)
		cg_data_key_offer(child->subject.subject_no, child->subject.key_version,
						  &child->key);
}

/*
 * The child's shared entry for child_id: from the cache shared by the
 * backends, else the catalog (filling it, under the id and the number);
 * false if the child is not registered.
 */
static bool
subject_shared_child(const char *child_id, uint64 stamp, CgSubject *out)
{
	SharedChild child;

	StaticAssertStmt(sizeof(SharedChild) + 80 <= CG_SHARED_VALUE_MAX,
					 "a child's entry must fit the shared cache's value with its id");
	if (!cg_shared_cache_get(CG_SHARED_CHILD, 0, 0, child_id, &child, sizeof(child)))
	{
		memset(&child, 0, sizeof(child));
		if (!subject_fetch_by_id(child_id, &child.subject))
			return false;
		child.registered = true;
		shared_child_complete(&child, stamp);
		cg_shared_cache_put(stamp, CG_SHARED_CHILD, child.subject.subject_no, 0, child_id,
							&child, sizeof(child));
		cg_shared_cache_put(stamp, CG_SHARED_CHILD_BY_NO, child.subject.subject_no, 0, NULL,
							&child, sizeof(child));
	}
	*out = child.subject;
	shared_child_offer(&child);
	return true;
}

/* Find the subject for child_id; false if the child is not registered. */
bool
cg_subject_lookup(const char *child_id, CgSubject *out)
{
	SubjectEntry *entry;
	bool		found;
	uint64		stamp;
	size_t		len = strlen(child_id);
	uint64		h;

	if (len >= SUBJECT_KEY_LEN)
		return subject_fetch_by_id(child_id, out);
	if (subject_cache == NULL)
		subject_cache_init();
	h = subject_id_hash(child_id, len);
	entry = subjects_by_id_lookup(subject_cache, h);
	if (entry != NULL && strcmp(entry->child_id, child_id) == 0)
	{
		*out = entry->subject;
		last_subject = *out;
		last_valid = true;
		return true;
	}
	stamp = cg_shared_cache_stamp();
	if (stamp == 0)
	{
		if (!subject_fetch_by_id(child_id, out))
			return false;
	}
	else if (!subject_shared_child(child_id, stamp, out))
		return false;
	/* the fetch may have processed an invalidation that reset the cache */
	if (subject_cache == NULL || subject_cache->members >= (uint32) SUBJECT_CACHE_MAX)
	{
		cg_subjects_flush();
		subject_cache_init();
	}
	entry = subjects_by_id_insert(subject_cache, h, &found);
	if (!found || strcmp(entry->child_id, child_id) != 0)
	{
		/* a new entry, or another id with the same hash: this one replaces it */
		if (found)
			pfree(entry->child_id);
		entry->child_id = MemoryContextStrdup(subject_cxt, child_id);
	}
	entry->subject = *out;
	/* the read decision's lookup by number follows: the memo answers it */
	last_subject = *out;
	last_valid = true;
	return true;
}

/*
 * Find the subject by its number (what envelopes carry); false if there
 * is no such subject in this database.  Misses are cached too.
 */
bool
cg_subject_by_no(uint64 subject_no, CgSubject *out)
{
	SubjectByNoEntry *entry;
	SharedChild shared;
	ScanKeyData key;
	bool		registered;
	bool		found;
	uint64		stamp;

	if (last_valid && last_subject.subject_no == subject_no)
	{
		*out = last_subject;
		return true;
	}
	if (subject_no_cache == NULL)
		subject_no_cache = subjects_by_no_create(subject_context(), 1024, NULL);
	entry = subjects_by_no_lookup(subject_no_cache, subject_no);
	if (entry != NULL)
	{
		*out = entry->subject;
		return entry->registered;
	}
	stamp = cg_shared_cache_stamp();
	if (stamp != 0 &&
		cg_shared_cache_get(CG_SHARED_CHILD_BY_NO, subject_no, 0, NULL,
							&shared, sizeof(shared)))
	{
		/*
		 * Not kept in this backend's table: the caller's verdict is (the
		 * read decision's, decision.c), and asking again costs a probe;
		 * the memo answers the lookups of the same child that follow.
		 * The first read of a child in a backend makes one insert fewer.
		 */
		*out = shared.subject;
		shared_child_offer(&shared);
		if (shared.registered)
		{
			last_subject = shared.subject;
			last_valid = true;
		}
		return shared.registered;
	}
	else
	{
		ScanKeyInit(&key, Anum_cg_child_subject_no, BTEqualStrategyNumber,
					F_INT8EQ, Int64GetDatum((int64) subject_no));
		memset(&shared, 0, sizeof(shared));
		registered = subject_fetch(cg_catalog()->child_pkey_index, &key, &shared.subject);
		shared.registered = registered;
		if (stamp != 0)
		{
			shared_child_complete(&shared, stamp);
			cg_shared_cache_put(stamp, CG_SHARED_CHILD_BY_NO, subject_no, 0, NULL,
								&shared, sizeof(shared));
		}
		*out = shared.subject;
	}
	if (stamp != 0)
		shared_child_offer(&shared);
	/* the fetch may have processed an invalidation that reset the cache */
	if (subject_no_cache == NULL || subject_no_cache->members >= (uint32) SUBJECT_CACHE_MAX)
		return registered;
	entry = subjects_by_no_insert(subject_no_cache, subject_no, &found);
	entry->registered = registered;
	entry->subject = *out;
	return registered;
}
