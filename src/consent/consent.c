/*-------------------------------------------------------------------------
 *
 * consent.c
 *	  The consent half of the read decision.
 *
 * For a child and a purpose, the consent rows are reduced to the last word
 * of each kind of giver: of the guardians (any of them: the latest grant,
 * refusal or withdrawal wins, so one guardian's withdrawal is not outvoted
 * by another's older grant) and of the child.  A lapsed consent (a
 * material new notice) counts as no word.  That reduction is cached per
 * (child, purpose) and flushed by decision.c (on catalog.c's invalidation
 * callback) when consents, children or guardians change; the age rule is applied to it on each use:
 *
 *	 under 14                              the guardians' word
 *	 14 or over                            the child's word
 *	 14 or over, in difficulty             the child's word, a guardian informed
 *	 14 or over, in difficulty, unable
 *	   to express their will               the guardians' word, and no
 *	                                       refusal by the child
 *
 * The retention clock (Art 12) runs from when the data was first collected
 * for the purpose: the first granted consent for (child, purpose) -- the
 * consent rows are never deleted, so that instant is kept however often
 * consent is recorded again, and a consent recorded after the retention
 * ended does not make the old data readable again.  The retention sweep
 * restarts a clock only once nothing of the child is left in the tables
 * the purpose covers (childguard.retention_restart, SQL 1.4, holding the
 * instant the old retention ended): from then on it runs from the first
 * consent granted at or after that instant; with none, the retention stays
 * ended (a consent older than the erased data does not start a new period).
 * docs/consent.md, "The retention clock".
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/stratnum.h"
#include "utils/builtins.h"
#include "utils/datetime.h"
#include "utils/fmgroids.h"
#include "utils/hsearch.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"

#include "backend_cache.h"
#include "catalog.h"
#include "consent.h"
#include "shared_cache.h"

typedef enum CgWord
{
	CG_WORD_NONE,				/* never asked, withdrawn, or lapsed */
	CG_WORD_GRANTED,
	CG_WORD_REFUSED
} CgWord;

typedef struct LastWord
{
	CgWord		word;
	TimestampTz at;				/* when it was said */
	int64		consent_id;		/* tie-break within one transaction */
	TimestampTz granted_at;		/* if granted: since when */
	bool		informed;		/* a guardian was informed (child's word) */
} LastWord;

typedef struct ConsentKey
{
	uint64		subject_no;
	int32		purpose_id;
} ConsentKey;

typedef struct ConsentEntry
{
	ConsentKey	key;
	LastWord	guardian;
	LastWord	child;
	bool		restarted;		/* the sweep restarted the retention clock */
	TimestampTz restarted_at;	/* restarted: when */
	bool		collected;		/* a consent was granted (since the restart) */
	TimestampTz first_granted;	/* collected: the first such grant */
} ConsentEntry;

#define CONSENT_CACHE_MAX cg_backend_cache_entries

static MemoryContext consent_cxt = NULL;
static HTAB *consent_cache = NULL;

/*
 * Does childguard.retention_restart hold any row (-1: not known)?  Almost
 * always empty: then the restart fetch per (child, purpose) is skipped.
 * Flushed with the consent cache (any registry change); for the shared
 * cache, known under restart_stamp, the shared generation read before the
 * look: a fill stamped with another generation looks again.
 */
static int	restart_rows = -1;
static uint64 restart_stamp = 0;

/*
 * The consent words the child's registry entry brought (cg_consents_offer,
 * subjects.c), for the lookups of that child that follow: the read
 * decision asks right after the child's lookup.  Cleared with the cache.
 */
static bool offered_valid = false;
static uint64 offered_subject = 0;
static CgChildConsents offered;

void
cg_consents_flush(void)
{
	if (consent_cxt != NULL)
		MemoryContextReset(consent_cxt);
	consent_cache = NULL;
	restart_rows = -1;
	offered_valid = false;
}

void
cg_consents_offer(uint64 subject_no, const CgChildConsents *words)
{
	if (!words->known)
		return;
	offered_subject = subject_no;
	offered = *words;
	offered_valid = true;
}

/* Must the restart of (child, purpose) be fetched?  stamp: the fill's. */
static bool
restart_possible(uint64 stamp)
{
	const CgCatalog *cat = cg_catalog();

	if (!OidIsValid(cat->restart_rel) || !OidIsValid(cat->restart_index))
		return false;
	if (restart_rows < 0 || restart_stamp != stamp)
	{
		Datum	   *values;
		bool	   *nulls;
		bool		any;

		any = cg_catalog_fetch(cat->restart_rel, cat->restart_index, NULL, 0,
							   &values, &nulls);
		/* the fetch may have processed an invalidation: it cleared the flag */
		restart_rows = any ? 1 : 0;
		restart_stamp = stamp;
	}
	return restart_rows != 0;
}

/* Age in whole years on a date: the birthday itself counts. */
int
cg_age_on(DateADT birth_date, DateADT on)
{
	int			by,
				bm,
				bd,
				oy,
				om,
				od;
	int			age;

	j2date(birth_date + POSTGRES_EPOCH_JDATE, &by, &bm, &bd);
	j2date(on + POSTGRES_EPOCH_JDATE, &oy, &om, &od);
	age = oy - by;
	if (om < bm || (om == bm && od < bd))
		age--;
	return age;
}

/* Fold one consent row into the last word of its kind of giver. */
static void
fold_consent(Datum *values, bool *nulls, void *arg)
{
	ConsentEntry *e = (ConsentEntry *) arg;
	bool		is_child = strcmp(TextDatumGetCString(values[Anum_cg_consent_giver_kind - 1]),
								  "child") == 0;
	LastWord   *last = is_child ? &e->child : &e->guardian;
	int64		id = DatumGetInt64(values[Anum_cg_consent_consent_id - 1]);
	TimestampTz given = DatumGetTimestampTz(values[Anum_cg_consent_given_at - 1]);
	TimestampTz at = given;
	CgWord		word;

	if (strcmp(TextDatumGetCString(values[Anum_cg_consent_decision - 1]), "refused") == 0)
		word = CG_WORD_REFUSED;
	else
	{
		word = CG_WORD_GRANTED;
		/* the retention clock: the first grant (since the last restart) */
		if ((!e->restarted || given >= e->restarted_at) &&
			(!e->collected || given < e->first_granted))
		{
			e->collected = true;
			e->first_granted = given;
		}
	}
	if (!nulls[Anum_cg_consent_withdrawn_at - 1])
	{
		word = CG_WORD_NONE;
		at = DatumGetTimestampTz(values[Anum_cg_consent_withdrawn_at - 1]);
	}
	if (!nulls[Anum_cg_consent_lapsed_at - 1])
	{
		word = CG_WORD_NONE;
		at = Max(at, DatumGetTimestampTz(values[Anum_cg_consent_lapsed_at - 1]));
	}
	/* the latest word wins; a withdrawal beats a grant made in the same instant */
	if (last->consent_id != 0)
	{
		int			rank = word == CG_WORD_NONE ? 1 : 0;
		int			last_rank = last->word == CG_WORD_NONE ? 1 : 0;

		if (at < last->at ||
			(at == last->at && (rank < last_rank ||
								(rank == last_rank && id < last->consent_id))))
			return;
	}
	last->word = word;
	last->at = at;
	last->consent_id = id;
	last->granted_at = given;
	last->informed = !nulls[Anum_cg_consent_informed_guardian_id - 1];
}

static const ConsentEntry *
consent_words(uint64 subject_no, int32 purpose_id)
{
	static ConsentEntry fetched;
	ConsentKey	key;
	ConsentEntry *entry;
	ScanKeyData keys[2];
	bool		found;
	uint64		stamp;

	memset(&key, 0, sizeof(key));
	key.subject_no = subject_no;
	key.purpose_id = purpose_id;
	if (consent_cache != NULL &&
		(entry = hash_search(consent_cache, &key, HASH_FIND, NULL)) != NULL)
		return entry;

	/* then what the child's registry entry brought: no probe, no insert */
	if (offered_valid && offered_subject == subject_no)
	{
		memset(&fetched, 0, sizeof(fetched));
		fetched.key = key;
		for (int i = 0; i < offered.n; i++)
		{
			const CgPurposeWords *w = &offered.p[i];

			if (w->purpose_id != purpose_id)
				continue;
			fetched.guardian.word = (CgWord) w->guardian_word;
			fetched.child.word = (CgWord) w->child_word;
			fetched.child.informed = w->child_informed;
			fetched.collected = w->collected;
			fetched.first_granted = w->first_granted;
			break;
		}
		/* not listed: no consent row for the purpose, no word */
		return &fetched;
	}

	/* then the backends' shared cache; a hit fills the local one below */
	StaticAssertStmt(sizeof(ConsentEntry) <= CG_SHARED_VALUE_MAX,
					 "consent words must fit the shared cache's value");
	stamp = cg_shared_cache_stamp();
	if (stamp != 0 &&
		cg_shared_cache_get(CG_SHARED_CONSENT, subject_no, (uint32) purpose_id, NULL,
							&fetched, sizeof(fetched)))
		goto keep;

	memset(&fetched, 0, sizeof(fetched));
	fetched.key = key;
	if (restart_possible(stamp))
	{
		Datum	   *values;
		bool	   *nulls;

		ScanKeyInit(&keys[0], Anum_cg_restart_subject_no, BTEqualStrategyNumber,
					F_INT8EQ, Int64GetDatum((int64) subject_no));
		ScanKeyInit(&keys[1], Anum_cg_restart_purpose_id, BTEqualStrategyNumber,
					F_INT4EQ, Int32GetDatum(purpose_id));
		if (cg_catalog_fetch(cg_catalog()->restart_rel, cg_catalog()->restart_index, keys, 2,
							 &values, &nulls))
		{
			fetched.restarted = true;
			fetched.restarted_at = DatumGetTimestampTz(values[Anum_cg_restart_restarted_at - 1]);
		}
	}
	ScanKeyInit(&keys[0], Anum_cg_consent_subject_no, BTEqualStrategyNumber,
				F_INT8EQ, Int64GetDatum((int64) subject_no));
	ScanKeyInit(&keys[1], Anum_cg_consent_purpose_id, BTEqualStrategyNumber,
				F_INT4EQ, Int32GetDatum(purpose_id));
	cg_catalog_scan(cg_catalog()->consent_rel, cg_catalog()->consent_index, keys, 2,
					fold_consent, &fetched);
	cg_shared_cache_put(stamp, CG_SHARED_CONSENT, subject_no, (uint32) purpose_id, NULL,
						&fetched, sizeof(fetched));

keep:

	/* the scan may have processed an invalidation that reset the cache */
	if (consent_cache == NULL || hash_get_num_entries(consent_cache) >= CONSENT_CACHE_MAX)
	{
		cg_consents_flush();
		consent_cache = cg_backend_hash(&consent_cxt, "childguard consents", 1024,
										sizeof(ConsentKey), sizeof(ConsentEntry), false);
	}
	entry = hash_search(consent_cache, &key, HASH_ENTER, &found);
	memcpy(entry, &fetched, sizeof(fetched));
	return entry;
}

/* fold_consent for every purpose of one child (cg_consents_fetch_all). */
typedef struct FoldAll
{
	int			n;
	bool		overflow;
	ConsentEntry e[CG_CHILD_PURPOSES];
} FoldAll;

static void
fold_any_purpose(Datum *values, bool *nulls, void *arg)
{
	FoldAll    *all = (FoldAll *) arg;
	int32		purpose_id = DatumGetInt32(values[Anum_cg_consent_purpose_id - 1]);
	int			i;

	for (i = 0; i < all->n; i++)
		if (all->e[i].key.purpose_id == purpose_id)
			break;
	if (i == all->n)
	{
		if (all->n == CG_CHILD_PURPOSES)
		{
			all->overflow = true;
			return;
		}
		all->n++;
		all->e[i].key.purpose_id = purpose_id;
	}
	fold_consent(values, nulls, &all->e[i]);
}

/*
 * The child's consent words for every purpose, read from the catalog in
 * one index scan (the consent index leads with the subject), for the
 * child's entry in the shared cache; stamp is that entry's, read before
 * this.  out->known is false when they do not fit or a retention clock may
 * have been restarted (the per-purpose path reads those).
 */
void
cg_consents_fetch_all(uint64 subject_no, uint64 stamp, CgChildConsents *out)
{
	FoldAll		all;
	ScanKeyData keys[1];

	memset(out, 0, sizeof(*out));
	if (restart_possible(stamp))
		return;
	memset(&all, 0, sizeof(all));
	ScanKeyInit(&keys[0], Anum_cg_consent_subject_no, BTEqualStrategyNumber,
				F_INT8EQ, Int64GetDatum((int64) subject_no));
	cg_catalog_scan(cg_catalog()->consent_rel, cg_catalog()->consent_index, keys, 1,
					fold_any_purpose, &all);
	if (all.overflow)
		return;
	for (int i = 0; i < all.n; i++)
	{
		CgPurposeWords *w = &out->p[i];

		w->purpose_id = all.e[i].key.purpose_id;
		w->guardian_word = (uint8) all.e[i].guardian.word;
		w->child_word = (uint8) all.e[i].child.word;
		w->child_informed = all.e[i].child.informed;
		w->collected = all.e[i].collected;
		w->first_granted = all.e[i].first_granted;
	}
	out->n = (uint8) all.n;
	out->known = true;
}

/* When the retention of e's data runs from (see the header). */
static TimestampTz
clock_start(const ConsentEntry *e)
{
	if (e->collected)
		return e->first_granted;
	/* restarted, and no consent granted since: the retention stays ended */
	return DT_NOBEGIN;
}

/*
 * Does a consent count now for subject and purpose_id?  If so, *since is
 * when the retention runs from: the retention clock (the first collection
 * for the purpose, see the header); if not, *why says what is missing, for
 * the denial's detail.
 */
bool
cg_consent_effective(const CgSubject *subject, int32 purpose_id, DateADT today,
					 TimestampTz *since, const char **why)
{
	const ConsentEntry *e = consent_words(subject->subject_no, purpose_id);
	int			age = cg_age_on(subject->birth_date, today);

	if (age < CG_AGE_OF_CONSENT ||
		(subject->in_difficulty && !subject->can_express))
	{
		if (e->guardian.word != CG_WORD_GRANTED)
		{
			*why = e->guardian.word == CG_WORD_REFUSED ?
				"A guardian refused consent for this purpose." :
				"No guardian's consent for this purpose is in force.";
			return false;
		}
		if (age >= CG_AGE_OF_CONSENT && e->child.word == CG_WORD_REFUSED)
		{
			*why = "The child refused consent for this purpose.";
			return false;
		}
		*since = clock_start(e);
		return true;
	}
	if (e->child.word != CG_WORD_GRANTED)
	{
		*why = e->child.word == CG_WORD_REFUSED ?
			"The child refused consent for this purpose." :
			"The child is 14 or over and has not consented to this purpose.";
		return false;
	}
	if (subject->in_difficulty && !e->child.informed)
	{
		*why = "No guardian was informed of the consent of this child in difficult circumstances.";
		return false;
	}
	*since = clock_start(e);
	return true;
}

/*
 * D-Art 13 (1.4): a disclosure concerning a child in difficult
 * circumstances needs the consent of the child AND of a guardian: the
 * guardians' word granted, and, where the child can express their will,
 * the child's own word granted too, whatever the child's age.  Applied on
 * top of cg_consent_effective() for disclose and publicize purposes.
 */
bool
cg_consent_disclosure(const CgSubject *subject, int32 purpose_id, const char **why)
{
	const ConsentEntry *e = consent_words(subject->subject_no, purpose_id);

	if (e->guardian.word != CG_WORD_GRANTED)
	{
		*why = "D-Art 13: a disclosure concerning a child in difficult circumstances needs a guardian's consent as well as the child's.";
		return false;
	}
	if (subject->can_express && e->child.word != CG_WORD_GRANTED)
	{
		*why = "D-Art 13: a disclosure concerning a child in difficult circumstances who can express their will needs the child's own consent as well as a guardian's.";
		return false;
	}
	return true;
}

PG_FUNCTION_INFO_V1(cg_child_age);

/* childguard.child_age(birth_date, on_date): the age rule as SQL. */
Datum
cg_child_age(PG_FUNCTION_ARGS)
{
	DateADT		birth = PG_GETARG_DATEADT(0);
	DateADT		on = PG_GETARG_DATEADT(1);

	if (DATE_NOT_FINITE(birth) || DATE_NOT_FINITE(on))
		ereport(ERROR,
				(errcode(ERRCODE_DATETIME_VALUE_OUT_OF_RANGE),
				 errmsg("age is undefined for infinite dates")));
	PG_RETURN_INT32(cg_age_on(birth, on));
}
