/*-------------------------------------------------------------------------
 *
 * fuzz_access_record.c
 *	  libFuzzer target for the access log's record decoder
 *	  (src/audit/audit_record.c), which the packed log's unpacker
 *	  (childguard._access_log_unpack(), audit_pack.c: executable by any
 *	  role, on bytes it is given) runs on every record: each input is taken
 *	  as one record's wire form.
 *
 * Besides the sanitizers, it checks the decoder's rules (docs/security.md,
 * "Attacks on the 1.8 fast paths"):
 *	- cg_audit_record_check() never raises;
 *	- a record it accepts decodes, by cg_audit_record_view() (the unpacker's
 *	  and the writer's) and by cg_audit_record_decode(), without an ERROR
 *	  and without an allocation beyond the input's size; every string and
 *	  list of the view lies inside the input; both decodings agree on the
 *	  counts and on statement_at;
 *	- a record it accepts is accepted again with one byte less (it must
 *	  not be) or one byte more (it must not be either: no trailing bytes).
 * A record it refuses is never decoded: the unpacker refuses it (XX001)
 * first.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "pgtime.h"
#include "utils/timestamp.h"

#include "audit.h"
#include "fuzz_pg.h"

/* audit_record.c's session id formats the start time (not decoded here) */
pg_time_t
timestamptz_to_time_t(TimestampTz t)
{
	return (pg_time_t) (t / USECS_PER_SEC);
}

static void
inside(const char *what, const char *p, Size n, const char *data, Size len)
{
	if (p < data || p > data + len || n > (Size) (data + len - p))
		cg_fuzz_fail("%s outside the record (len %zu)", what, (size_t) len);
}

static void
string_inside(const char *what, CgAuditWireString s, const char *data, Size len)
{
	if (s.len < -1)
		cg_fuzz_fail("%s has length %d", what, (int) s.len);
	if (s.len > 0)
		inside(what, s.p, (Size) s.len, data, len);
}

/* the n strings of a list starting at p: each inside; returns its end */
static const char *
list_inside(const char *what, const char *p, int n, const char *data, Size len)
{
	for (int i = 0; i < n; i++)
	{
		int32		l;

		inside(what, p, sizeof(int32), data, len);
		memcpy(&l, p, sizeof(l));
		p += sizeof(l);
		if (l < -1)
			cg_fuzz_fail("%s item %d has length %d", what, i, (int) l);
		if (l > 0)
		{
			inside(what, p, (Size) l, data, len);
			p += l;
		}
	}
	return p;
}

int			LLVMFuzzerTestOneInput(const uint8_t *bytes, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *bytes, size_t size)
{
	/* an exact-size copy, so that any read past the end is ASan's to see */
	char	   *data = palloc(Max(size, 1));
	TimestampTz at = 0;
	bool		ok;
	TimestampTz at2;

	memcpy(data, bytes, size);
	ok = cg_audit_record_check(data, size, &at);
	if (ok)
	{
		CgAuditRecordView v;
		CgAuditRecord rec;

		if (size > 0 && cg_audit_record_check(data, size - 1, &at2))
			cg_fuzz_fail("a record accepted, and again without its last byte");
		CG_FUZZ_TRY({
			cg_audit_record_view(data, size, &v);
		}, {
			cg_fuzz_fail("an accepted record's view raised %s", cg_fuzz_error.message);
		});
		if (v.statement_at != at)
			cg_fuzz_fail("check and view disagree on statement_at");
		string_inside("session_role", v.session_role, data, size);
		string_inside("current_role", v.current_role, data, size);
		string_inside("client_addr", v.client_addr, data, size);
		string_inside("application_name", v.application_name, data, size);
		string_inside("command", v.command, data, size);
		string_inside("purpose", v.purpose, data, size);
		string_inside("end_user", v.end_user, data, size);
		if (v.nrelations < 0 || v.ncolumns < 0 || v.nread < 0 || v.ndenied < 0 ||
			v.nwritten < 0)
			cg_fuzz_fail("a negative count in an accepted record");
		(void) list_inside("relations", v.relations, v.nrelations, data, size);
		(void) list_inside("columns", v.columns, v.ncolumns, data, size);
		inside("children_read", v.read, (Size) v.nread * sizeof(int64), data, size);
		inside("children_denied", v.denied, (Size) v.ndenied * sizeof(int64), data, size);
		inside("children_written", v.written, (Size) v.nwritten * sizeof(int64), data, size);
		CG_FUZZ_TRY({
			cg_audit_record_decode(data, size, &rec);
		}, {
			cg_fuzz_fail("an accepted record's decoding raised %s", cg_fuzz_error.message);
		});
		if (rec.nrelations != v.nrelations || rec.ncolumns != v.ncolumns ||
			rec.nread != v.nread || rec.ndenied != v.ndenied ||
			rec.nwritten != v.nwritten || rec.statement_at != v.statement_at ||
			rec.outcome != v.outcome || (rec.end_user == NULL) != (v.end_user.len < 0))
			cg_fuzz_fail("view and decoding disagree");
	}
	/* one byte more after any input accepted or not: never a whole record with a tail */
	if (ok)
	{
		char	   *longer = palloc(size + 1);

		memcpy(longer, data, size);
		longer[size] = 0;
		if (cg_audit_record_check(longer, size + 1, &at2))
			cg_fuzz_fail("a record accepted with a byte after it");
	}
	cg_fuzz_reset();
	return 0;
}
