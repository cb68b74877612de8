/*-------------------------------------------------------------------------
 *
 * child_data_compare.c
 *	  Ordering, hashing and pattern matching on childguard.child_data: the
 *	  btree and hash operator classes (ORDER BY, DISTINCT, GROUP BY, merge
 *	  and hash joins, min/max) and LIKE/ILIKE, plus the type's ANALYZE.
 *
 * Each compared, hashed or matched value is opened by
 * cg_child_data_plaintext (child_data.c): a read decided by decision.c
 * under the statement's frozen context -- purpose, category, grant,
 * consent, retention -- and noted in the statement's audit record, the
 * same decision output makes.  Anything but an allowed read (no purpose,
 * a denied value, an erased child, logical decoding or a parallel worker)
 * is an error, raised before the value is decrypted, so a value a reader
 * may not see never takes part in a comparison: no order, equality,
 * prefix or hash of it can be learned by binary search with ORDER BY,
 * WHERE col < 'x', LIKE 'a%', min()/max(), DISTINCT counts, GROUP BY or
 * joins.  The decision is made once per statement and child (decision.c's
 * memo and verdict cache); nothing here reads the catalogs per value.
 *
 * Plaintext stays in this backend's memory: each function decrypts into
 * a palloc'd copy, uses it and wipes and frees it at once (a sort calls
 * the comparator many times in one memory context).  A sort or hash
 * aggregate that spills to disk writes the rows it holds -- the
 * envelopes, never the plaintext -- because the sort key is the
 * child_data value itself and only the comparator decrypts.  Hash values
 * (which hash aggregation writes to its spill files beside the rows) are
 * keyed with a random per-backend key, so a temporary file holds no
 * unkeyed digest of plaintext either.  That key never leaves the backend:
 * nothing persistent may hash child data (hash indexes and partition keys
 * over it are refused by planted_code.c), and our functions are PARALLEL
 * RESTRICTED, so no other process compares hashes with ours.
 *
 * Order is byte order of the UTF-8 plaintext -- code point order, as
 * COLLATE "C" gives for text -- whatever the database's collation, so
 * "equal" is byte equality, as for =, and a sort can use abbreviated keys:
 * sortsupport decrypts each value once, keeps its first 8 bytes as the key
 * in the sort's memory (never written to disk: tuplesort drops
 * abbreviations before it merges runs from tape), and decrypts again only
 * to break ties between equal prefixes.  Without them each comparison
 * would decrypt both values (about 2 log2 n decryptions per value).
 *
 * ANALYZE keeps no values of a child_data column: an operator class would
 * otherwise make it store a histogram and most common values (ordered and
 * counted by plaintext) in pg_statistic.  child_data_analyze records only
 * the null fraction and the average width, as PostgreSQL does for a type
 * without operators.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_collation.h"
#include "commands/vacuum.h"
#include "utils/builtins.h"
#include "utils/sortsupport.h"

#include "child_data.h"
#include "crypto.h"

/* The per-backend key of hash values (never stored, never shared). */
static uint8 hash_key[CG_KEY_LEN];
static bool hash_key_set = false;

/* Wipe and free a plaintext. */
static void
forget(char *plain, size_t len)
{
	explicit_bzero(plain, len);
	pfree(plain);
}

/* Compare the plaintexts of two values; each is a decided, audited read. */
static int
compare_values(Datum a, Datum b)
{
	size_t		alen,
				blen;
	char	   *pa = cg_child_data_plaintext(a, &alen);
	char	   *pb = cg_child_data_plaintext(b, &blen);
	int			result;

	result = memcmp(pa, pb, Min(alen, blen));
	if (result == 0 && alen != blen)
		result = alen < blen ? -1 : 1;
	forget(pa, alen);
	forget(pb, blen);
	return result;
}

PG_FUNCTION_INFO_V1(child_data_cmp);
Datum
child_data_cmp(PG_FUNCTION_ARGS)
{
	PG_RETURN_INT32(compare_values(PG_GETARG_DATUM(0), PG_GETARG_DATUM(1)));
}

/* sortsupport: the full comparator (decrypts both) */
static int
sort_compare(Datum a, Datum b, SortSupport ssup)
{
	return compare_values(a, b);
}

/* the abbreviated key: the first bytes of the plaintext, big-endian */
static Datum
sort_abbrev_convert(Datum original, SortSupport ssup)
{
	size_t		len;
	char	   *plain = cg_child_data_plaintext(original, &len);
	uint64		key = 0;

	for (size_t i = 0; i < sizeof(Datum); i++)
		key = (key << 8) | (i < len ? (uint8) plain[i] : 0);
	forget(plain, len);
	return (Datum) key;
}

static int
sort_abbrev_compare(Datum a, Datum b, SortSupport ssup)
{
	return a < b ? -1 : a > b ? 1 : 0;
}

/* never give up abbreviating: a full comparison costs two decryptions */
static bool
sort_abbrev_abort(int memtupcount, SortSupport ssup)
{
	return false;
}

PG_FUNCTION_INFO_V1(child_data_sortsupport);
Datum
child_data_sortsupport(PG_FUNCTION_ARGS)
{
	SortSupport ssup = (SortSupport) PG_GETARG_POINTER(0);

	ssup->comparator = sort_compare;
	if (ssup->abbreviate)
	{
		ssup->abbrev_converter = sort_abbrev_convert;
		ssup->abbrev_abort = sort_abbrev_abort;
		ssup->abbrev_full_comparator = sort_compare;
		ssup->comparator = sort_abbrev_compare;
	}
	PG_RETURN_VOID();
}

PG_FUNCTION_INFO_V1(child_data_lt);
Datum
child_data_lt(PG_FUNCTION_ARGS)
{
	PG_RETURN_BOOL(compare_values(PG_GETARG_DATUM(0), PG_GETARG_DATUM(1)) < 0);
}

PG_FUNCTION_INFO_V1(child_data_le);
Datum
child_data_le(PG_FUNCTION_ARGS)
{
	PG_RETURN_BOOL(compare_values(PG_GETARG_DATUM(0), PG_GETARG_DATUM(1)) <= 0);
}

PG_FUNCTION_INFO_V1(child_data_gt);
Datum
child_data_gt(PG_FUNCTION_ARGS)
{
	PG_RETURN_BOOL(compare_values(PG_GETARG_DATUM(0), PG_GETARG_DATUM(1)) > 0);
}

PG_FUNCTION_INFO_V1(child_data_ge);
Datum
child_data_ge(PG_FUNCTION_ARGS)
{
	PG_RETURN_BOOL(compare_values(PG_GETARG_DATUM(0), PG_GETARG_DATUM(1)) >= 0);
}

/* min(): the smaller value itself (its envelope), for the aggregate */
PG_FUNCTION_INFO_V1(child_data_smaller);
Datum
child_data_smaller(PG_FUNCTION_ARGS)
{
	PG_RETURN_DATUM(compare_values(PG_GETARG_DATUM(0), PG_GETARG_DATUM(1)) <= 0 ?
					PG_GETARG_DATUM(0) : PG_GETARG_DATUM(1));
}

PG_FUNCTION_INFO_V1(child_data_larger);
Datum
child_data_larger(PG_FUNCTION_ARGS)
{
	PG_RETURN_DATUM(compare_values(PG_GETARG_DATUM(0), PG_GETARG_DATUM(1)) >= 0 ?
					PG_GETARG_DATUM(0) : PG_GETARG_DATUM(1));
}

/* Keyed 64-bit hash of a value's plaintext, seeded; a decided, audited read. */
static uint64
hash_value(Datum value, uint64 seed)
{
	size_t		len;
	char	   *plain = cg_child_data_plaintext(value, &len);
	char	   *input = palloc(len + sizeof(seed));
	uint8		mac[32];
	uint64		result;

	if (!hash_key_set)
	{
		cg_random_bytes(hash_key, sizeof(hash_key));
		hash_key_set = true;
	}
	memcpy(input, &seed, sizeof(seed));
	memcpy(input + sizeof(seed), plain, len);
	cg_hmac_sha256(hash_key, sizeof(hash_key), (const uint8 *) input,
				   len + sizeof(seed), mac);
	memcpy(&result, mac, sizeof(result));
	forget(input, len + sizeof(seed));
	forget(plain, len);
	explicit_bzero(mac, sizeof(mac));
	return result;
}

/* the 32-bit hash is the low half of the extended hash with seed 0, as required */
PG_FUNCTION_INFO_V1(child_data_hash);
Datum
child_data_hash(PG_FUNCTION_ARGS)
{
	PG_RETURN_INT32((int32) (uint32) hash_value(PG_GETARG_DATUM(0), 0));
}

PG_FUNCTION_INFO_V1(child_data_hash_extended);
Datum
child_data_hash_extended(PG_FUNCTION_ARGS)
{
	PG_RETURN_INT64((int64) hash_value(PG_GETARG_DATUM(0), (uint64) PG_GETARG_INT64(1)));
}

/* value LIKE / ILIKE pattern, by PostgreSQL's own text matching */
static bool
match_value(FunctionCallInfo fcinfo, PGFunction matcher)
{
	size_t		len;
	char	   *plain = cg_child_data_plaintext(PG_GETARG_DATUM(0), &len);
	text	   *t = cstring_to_text_with_len(plain, (int) len);
	Oid			collation = OidIsValid(PG_GET_COLLATION()) ?
		PG_GET_COLLATION() : DEFAULT_COLLATION_OID;
	bool		result;

	forget(plain, len);
	result = DatumGetBool(DirectFunctionCall2Coll(matcher, collation,
												  PointerGetDatum(t),
												  PG_GETARG_DATUM(1)));
	forget((char *) t, VARSIZE(t));
	return result;
}

PG_FUNCTION_INFO_V1(child_data_like);
Datum
child_data_like(PG_FUNCTION_ARGS)
{
	PG_RETURN_BOOL(match_value(fcinfo, textlike));
}

PG_FUNCTION_INFO_V1(child_data_notlike);
Datum
child_data_notlike(PG_FUNCTION_ARGS)
{
	PG_RETURN_BOOL(!match_value(fcinfo, textlike));
}

PG_FUNCTION_INFO_V1(child_data_ilike);
Datum
child_data_ilike(PG_FUNCTION_ARGS)
{
	PG_RETURN_BOOL(match_value(fcinfo, texticlike));
}

PG_FUNCTION_INFO_V1(child_data_notilike);
Datum
child_data_notilike(PG_FUNCTION_ARGS)
{
	PG_RETURN_BOOL(!match_value(fcinfo, texticlike));
}

/* ANALYZE of a child_data column: null fraction and width, no values. */
static void
compute_child_data_stats(VacAttrStatsP stats, AnalyzeAttrFetchFunc fetchfunc,
						 int samplerows, double totalrows)
{
	int			nulls = 0;
	int			nonnull = 0;
	double		width = 0;

	for (int i = 0; i < samplerows; i++)
	{
		bool		isnull;
		Datum		value;

		vacuum_delay_point();
		value = fetchfunc(stats, i, &isnull);
		if (isnull)
		{
			nulls++;
			continue;
		}
		nonnull++;
		width += VARSIZE_ANY(DatumGetPointer(value));
	}
	stats->stats_valid = true;
	stats->stanullfrac = samplerows > 0 ? (double) nulls / samplerows : 0.0;
	stats->stawidth = nonnull > 0 ? (int32) (width / nonnull) : 0;
	stats->stadistinct = 0.0;	/* unknown: counting would compare values */
}

PG_FUNCTION_INFO_V1(child_data_analyze);
Datum
child_data_analyze(PG_FUNCTION_ARGS)
{
	VacAttrStats *stats = (VacAttrStats *) PG_GETARG_POINTER(0);

	if (stats->attr->attstattarget < 0)
		stats->attr->attstattarget = default_statistics_target;
	stats->compute_stats = compute_child_data_stats;
	stats->minrows = 300 * stats->attr->attstattarget;
	PG_RETURN_BOOL(true);
}
