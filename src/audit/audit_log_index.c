/*-------------------------------------------------------------------------
 *
 * audit_log_index.c
 *	  The packed access log's per-child route (SQL 1.9): each row of
 *	  childguard.access_log_batch carries, in its subjects column, the
 *	  sorted, distinct subject numbers its records name (read, denied or
 *	  written), indexed with GIN, so a request about one child
 *	  (child_report(), childguard._access_log_for_child()) unpacks only the
 *	  batches that name the child, and of those only the child's records
 *	  are formed into rows (childguard._access_log_unpack_child()).
 *
 * The column is not in the chain's hashes (the chain format stays 4):
 * verify_access_log() recomputes each batch's set from its verified
 * records and reports a batch whose column differs, so a column edited to
 * hide a child's records from child_report() (an entry deleted) or to
 * name a child falsely (an entry added) is found (audit_chain.c).
 *
 * The writer collects the ids while it packs the batch (it has checked
 * each record's wire form), sorts them once per batch and stores one
 * array: per record, a few id copies; per batch, one sort and one GIN
 * insertion of the batch's distinct children.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "fmgr.h"
#include "funcapi.h"
#include "lib/qunique.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"
#include "utils/tuplestore.h"

#include "audit.h"

void
cg_audit_subjects_init(CgAuditSubjects *s, int hint)
{
	s->size = Max(hint, 16);
	s->n = 0;
	s->ids = palloc(sizeof(int64) * s->size);
}

static void
add_ids(CgAuditSubjects *s, const char *ids, int n)
{
	if (n <= 0)
		return;
	if (s->n + n > s->size)
	{
		Size		want = Max((Size) s->size * 2, (Size) s->n + n);

		if (want > MaxAllocSize / sizeof(int64))
			elog(ERROR, "childguard audit batch names too many children");
		s->ids = repalloc(s->ids, sizeof(int64) * want);
		s->size = (int) want;
	}
	/* unaligned in the wire form */
	memcpy(s->ids + s->n, ids, (Size) n * sizeof(int64));
	s->n += n;
}

/* The children a record names (read, denied, written), added to s. */
void
cg_audit_subjects_add(CgAuditSubjects *s, const CgAuditRecordView *rec)
{
	add_ids(s, rec->read, rec->nread);
	add_ids(s, rec->denied, rec->ndenied);
	add_ids(s, rec->written, rec->nwritten);
}

static int
cmp_int64(const void *a, const void *b)
{
	int64		x = *(const int64 *) a;
	int64		y = *(const int64 *) b;

	return x < y ? -1 : x > y ? 1 : 0;
}

/* sort_ids(): a quicksort specialised for int64 (qsort's calls cost more) */
#define ST_SORT sort_ids
#define ST_ELEMENT_TYPE int64
#define ST_COMPARE(a, b) (*(a) < *(b) ? -1 : *(a) > *(b) ? 1 : 0)
#define ST_SCOPE static
#define ST_DEFINE
#include "lib/sort_template.h"

/* sorted, duplicates removed, in place */
static void
finish(CgAuditSubjects *s)
{
	if (s->n > 1)
	{
		sort_ids(s->ids, s->n);
		s->n = (int) qunique(s->ids, s->n, sizeof(int64), cmp_int64);
	}
}

/* The batch's subjects column: a bigint[] of the distinct ids, ascending. */
Datum
cg_audit_subjects_array(CgAuditSubjects *s)
{
	Size		size;
	ArrayType  *a;

	finish(s);
	size = ARR_OVERHEAD_NONULLS(1) + (Size) s->n * sizeof(int64);
	if (s->n == 0)
		return PointerGetDatum(construct_empty_array(INT8OID));
	a = (ArrayType *) palloc0(size);
	SET_VARSIZE(a, size);
	a->ndim = 1;
	a->dataoffset = 0;
	a->elemtype = INT8OID;
	ARR_DIMS(a)[0] = s->n;
	ARR_LBOUND(a)[0] = 1;
	memcpy(ARR_DATA_PTR(a), s->ids, (Size) s->n * sizeof(int64));
	return PointerGetDatum(a);
}

/*
 * Does a stored subjects column hold exactly the ids collected in s, as
 * the writer stores them (one dimension, no NULLs, ascending, distinct)?
 */
bool
cg_audit_subjects_match(CgAuditSubjects *s, Datum stored)
{
	ArrayType  *a = DatumGetArrayTypeP(stored);
	int			n;

	finish(s);
	if (ARR_ELEMTYPE(a) != INT8OID || ARR_HASNULL(a))
		return false;
	if (ARR_NDIM(a) == 0)
		return s->n == 0;
	if (ARR_NDIM(a) != 1)
		return false;
	n = ARR_DIMS(a)[0];
	return n == s->n &&
		memcmp(ARR_DATA_PTR(a), s->ids, (Size) n * sizeof(int64)) == 0;
}

static bool
ids_hold(const char *ids, int n, int64 subject)
{
	for (int i = 0; i < n; i++)
	{
		int64		id;

		memcpy(&id, ids + (Size) i * sizeof(int64), sizeof(id));
		if (id == subject)
			return true;
	}
	return false;
}

/* Does the record name the child (read, denied or written)? */
bool
cg_audit_record_names(const CgAuditRecordView *rec, int64 subject)
{
	return ids_hold(rec->read, rec->nread, subject) ||
		ids_hold(rec->denied, rec->ndenied, subject) ||
		ids_hold(rec->written, rec->nwritten, subject);
}
