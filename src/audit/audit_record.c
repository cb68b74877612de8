/*-------------------------------------------------------------------------
 *
 * audit_record.c
 *	  A record's wire form in the shared-memory queue: the backend encodes
 *	  it once at the end of the statement, the writer decodes it.  Fixed
 *	  fields in a fixed order; a string is an int32 length (-1 for NULL)
 *	  and its bytes; a list is an int32 count and its items.  Both sides
 *	  are the same binary, so host byte order is fine.  Fields added later
 *	  go at the end and are optional there (end_user, 1.4), so a record an
 *	  older library saved at shutdown still decodes.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "audit.h"

static void
put_int32(StringInfo buf, int32 v)
{
	appendBinaryStringInfo(buf, (const char *) &v, sizeof(v));
}

static void
put_int64(StringInfo buf, int64 v)
{
	appendBinaryStringInfo(buf, (const char *) &v, sizeof(v));
}

static void
put_string(StringInfo buf, const char *s)
{
	if (s == NULL)
	{
		put_int32(buf, -1);
		return;
	}
	put_int32(buf, (int32) strlen(s));
	appendBinaryStringInfo(buf, s, strlen(s));
}

static void
put_strings(StringInfo buf, int n, char **items)
{
	put_int32(buf, n);
	for (int i = 0; i < n; i++)
		put_string(buf, items[i]);
}

static void
put_ids(StringInfo buf, int n, const int64 *ids)
{
	put_int32(buf, n);
	if (n > 0)
		appendBinaryStringInfo(buf, (const char *) ids, n * sizeof(int64));
}

/* Append rec's wire form to buf. */
void
cg_audit_record_encode(const CgAuditRecord *rec, StringInfo buf)
{
	put_int64(buf, rec->statement_at);
	put_int64(buf, rec->session_start);
	put_int32(buf, rec->backend_pid);
	put_string(buf, rec->session_role);
	put_string(buf, rec->current_role);
	put_string(buf, rec->client_addr);
	put_string(buf, rec->application_name);
	put_string(buf, rec->command);
	put_string(buf, rec->purpose);
	put_int64(buf, rec->grant_id);
	put_strings(buf, rec->nrelations, rec->relations);
	put_strings(buf, rec->ncolumns, rec->columns);
	put_ids(buf, rec->nread, rec->read);
	put_ids(buf, rec->ndenied, rec->denied);
	put_ids(buf, rec->nwritten, rec->written);
	put_int32(buf, rec->children);
	put_int64(buf, rec->rows);
	appendStringInfoChar(buf, rec->outcome);
	appendBinaryStringInfo(buf, rec->sqlstate, 5);
	put_int64(buf, rec->query_id);
	put_string(buf, rec->end_user);
}

typedef struct Reader
{
	const char *p;
	const char *end;
} Reader;

static void
need(Reader *r, Size n)
{
	if ((Size) (r->end - r->p) < n)
		elog(ERROR, "truncated childguard audit record");
}

static int32
get_int32(Reader *r)
{
	int32		v;

	need(r, sizeof(v));
	memcpy(&v, r->p, sizeof(v));
	r->p += sizeof(v);
	return v;
}

static int64
get_int64(Reader *r)
{
	int64		v;

	need(r, sizeof(v));
	memcpy(&v, r->p, sizeof(v));
	r->p += sizeof(v);
	return v;
}

static char *
get_string(Reader *r)
{
	int32		len = get_int32(r);
	char	   *s;

	if (len < 0)
		return NULL;
	need(r, len);
	s = palloc(len + 1);
	memcpy(s, r->p, len);
	s[len] = '\0';
	r->p += len;
	return s;
}

static char **
get_strings(Reader *r, int *n)
{
	char	  **items;

	*n = get_int32(r);
	if (*n < 0)
		elog(ERROR, "corrupt childguard audit record");
	items = palloc0(sizeof(char *) * (*n + 1));
	for (int i = 0; i < *n; i++)
		items[i] = get_string(r);
	return items;
}

static int64 *
get_ids(Reader *r, int *n)
{
	int64	   *ids;

	*n = get_int32(r);
	if (*n < 0)
		elog(ERROR, "corrupt childguard audit record");
	need(r, (Size) *n * sizeof(int64));
	ids = palloc(sizeof(int64) * (*n + 1));
	if (*n > 0)
		memcpy(ids, r->p, *n * sizeof(int64));
	r->p += *n * sizeof(int64);
	return ids;
}

/* Parse a wire form made by cg_audit_record_encode; strings are palloc'd. */
void
cg_audit_record_decode(const char *data, Size len, CgAuditRecord *rec)
{
	Reader		r = {data, data + len};

	memset(rec, 0, sizeof(*rec));
	rec->statement_at = get_int64(&r);
	rec->session_start = get_int64(&r);
	rec->backend_pid = get_int32(&r);
	rec->session_role = get_string(&r);
	rec->current_role = get_string(&r);
	rec->client_addr = get_string(&r);
	rec->application_name = get_string(&r);
	rec->command = get_string(&r);
	rec->purpose = get_string(&r);
	rec->grant_id = get_int64(&r);
	rec->relations = get_strings(&r, &rec->nrelations);
	rec->columns = get_strings(&r, &rec->ncolumns);
	rec->read = get_ids(&r, &rec->nread);
	rec->denied = get_ids(&r, &rec->ndenied);
	rec->written = get_ids(&r, &rec->nwritten);
	rec->children = get_int32(&r);
	rec->rows = get_int64(&r);
	need(&r, 6);
	rec->outcome = *r.p++;
	memcpy(rec->sqlstate, r.p, 5);
	rec->sqlstate[5] = '\0';
	r.p += 5;
	rec->query_id = get_int64(&r);
	/*
	 * From 1.4; a record queued by an older library (carried over a restart
	 * in the saved queue) ends here: no end user.
	 */
	rec->end_user = r.p < r.end ? get_string(&r) : NULL;
}

/* The session id, as log_line_prefix's %c shows it: start time and pid in hex. */
char *
cg_audit_session_id(const CgAuditRecord *rec)
{
	return psprintf("%lx.%x",
					(long) timestamptz_to_time_t(rec->session_start),
					(unsigned int) rec->backend_pid);
}

const char *
cg_audit_outcome_name(char outcome)
{
	switch (outcome)
	{
		case CG_OUTCOME_ALLOWED:
			return "allowed";
		case CG_OUTCOME_DENIED:
			return "denied";
		case CG_OUTCOME_ERROR:
			return "error";
	}
	return "unknown";
}
