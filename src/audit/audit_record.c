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

#include "utils/memutils.h"

#include "audit.h"

/*
 * The encoder runs in the reading backend at the end of every audited
 * statement: it measures the record first, the queue reserves that much
 * in its ring, and it copies each field into place there (no per-field
 * growth checks, no intermediate buffer).
 */
typedef struct Writer
{
	char	   *p;
} Writer;

static inline void
put_int32(Writer *w, int32 v)
{
	memcpy(w->p, &v, sizeof(v));
	w->p += sizeof(v);
}

static inline void
put_int64(Writer *w, int64 v)
{
	memcpy(w->p, &v, sizeof(v));
	w->p += sizeof(v);
}

static inline void
put_string(Writer *w, const char *s, size_t len)
{
	if (s == NULL)
	{
		put_int32(w, -1);
		return;
	}
	put_int32(w, (int32) len);
	memcpy(w->p, s, len);
	w->p += len;
}

/* the lengths of n list items, into lens; their wire size */
static size_t
strings_size(int n, char **items, int32 *lens)
{
	size_t		size = sizeof(int32);

	for (int i = 0; i < n; i++)
	{
		lens[i] = items[i] ? (int32) strlen(items[i]) : 0;
		size += sizeof(int32) + lens[i];
	}
	return size;
}

static void
put_strings(Writer *w, int n, char **items, const int32 *lens)
{
	put_int32(w, n);
	for (int i = 0; i < n; i++)
		put_string(w, items[i], lens[i]);
}

static void
put_ids(Writer *w, int n, const int64 *ids)
{
	put_int32(w, n);
	if (n > 0)
	{
		memcpy(w->p, ids, n * sizeof(int64));
		w->p += n * sizeof(int64);
	}
}

/* the record's strings outside the lists, in wire order (end_user last) */
#define REC_STRINGS 7

static inline void
record_strings(const CgAuditRecord *rec, const char **str)
{
	str[0] = rec->session_role;
	str[1] = rec->current_role;
	str[2] = rec->client_addr;
	str[3] = rec->application_name;
	str[4] = rec->command;
	str[5] = rec->purpose;
	str[6] = rec->end_user;
}

/*
 * The size of rec's wire form; each string measured once, its length left
 * in lens for cg_audit_record_write() (lens->items in lens, or palloc'd
 * here when there are more than it holds).
 */
Size
cg_audit_record_size(const CgAuditRecord *rec, CgAuditRecordLengths *lens)
{
	const char *str[REC_STRINGS];
	size_t		size;

	StaticAssertStmt(REC_STRINGS == lengthof(lens->str), "one length per string");
	record_strings(rec, str);
	lens->items = rec->nrelations + rec->ncolumns <= lengthof(lens->inline_items) ?
		lens->inline_items :
		palloc(sizeof(int32) * (rec->nrelations + rec->ncolumns + 1));
	size = 2 * sizeof(int64) + sizeof(int32)	/* statement_at, start, pid */
		+ sizeof(int64)			/* grant_id */
		+ strings_size(rec->nrelations, rec->relations, lens->items)
		+ strings_size(rec->ncolumns, rec->columns, lens->items + rec->nrelations)
		+ 3 * sizeof(int32) +
		((size_t) rec->nread + rec->ndenied + rec->nwritten) * sizeof(int64)
		+ sizeof(int32) + sizeof(int64)	/* children, rows */
		+ 1 + 5 + sizeof(int64);	/* outcome, sqlstate, query_id */
	for (int i = 0; i < REC_STRINGS; i++)
	{
		lens->str[i] = str[i] ? (int32) strlen(str[i]) : 0;
		size += sizeof(int32) + lens->str[i];
	}
	return size;
}

/*
 * Write rec's wire form, of size bytes measured by cg_audit_record_size()
 * into lens, at dest: straight into the queue's ring between reserving and
 * publishing an entry, so nothing here may raise, allocate or wait.
 */
void
cg_audit_record_write(const CgAuditRecord *rec, const CgAuditRecordLengths *lens,
					  char *dest, Size size)
{
	const char *str[REC_STRINGS];
	Writer		w;

	record_strings(rec, str);
	w.p = dest;
	put_int64(&w, rec->statement_at);
	put_int64(&w, rec->session_start);
	put_int32(&w, rec->backend_pid);
	for (int i = 0; i < REC_STRINGS - 1; i++)
		put_string(&w, str[i], lens->str[i]);
	put_int64(&w, rec->grant_id);
	put_strings(&w, rec->nrelations, rec->relations, lens->items);
	put_strings(&w, rec->ncolumns, rec->columns, lens->items + rec->nrelations);
	put_ids(&w, rec->nread, rec->read);
	put_ids(&w, rec->ndenied, rec->denied);
	put_ids(&w, rec->nwritten, rec->written);
	put_int32(&w, rec->children);
	put_int64(&w, rec->rows);
	*w.p++ = rec->outcome;
	memcpy(w.p, rec->sqlstate, 5);
	w.p += 5;
	put_int64(&w, rec->query_id);
	put_string(&w, str[REC_STRINGS - 1], lens->str[REC_STRINGS - 1]);	/* end_user (1.4) */
	Assert(w.p == dest + size);
}

/* Append rec's wire form to buf. */
void
cg_audit_record_encode(const CgAuditRecord *rec, StringInfo buf)
{
	CgAuditRecordLengths lens;
	Size		size = cg_audit_record_size(rec, &lens);

	if (size >= MaxAllocSize - (size_t) buf->len)
		elog(ERROR, "childguard audit record too large to encode");
	enlargeStringInfo(buf, (int) size);
	cg_audit_record_write(rec, &lens, buf->data + buf->len, size);
	if (lens.items != lens.inline_items)
		pfree(lens.items);
	buf->len += (int) size;
	buf->data[buf->len] = '\0';
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

/*
 * A string in place: its bytes in the wire form (len -1: NULL).  The
 * writer builds each column's value straight from these, with no C string
 * copied out first.
 */
static CgAuditWireString
view_string(Reader *r)
{
	CgAuditWireString s;

	s.len = get_int32(r);
	s.p = r->p;
	if (s.len < -1)
		elog(ERROR, "corrupt childguard audit record");
	if (s.len > 0)
	{
		need(r, s.len);
		r->p += s.len;
	}
	return s;
}

/* a list of strings in place: checked whole, its first item returned */
static const char *
view_strings(Reader *r, int *n)
{
	const char *first;

	*n = get_int32(r);
	if (*n < 0)
		elog(ERROR, "corrupt childguard audit record");
	first = r->p;
	for (int i = 0; i < *n; i++)
		(void) view_string(r);
	return first;
}

static const char *
view_ids(Reader *r, int *n)
{
	const char *first;

	*n = get_int32(r);
	if (*n < 0)
		elog(ERROR, "corrupt childguard audit record");
	need(r, (Size) *n * sizeof(int64));
	first = r->p;
	r->p += (Size) *n * sizeof(int64);
	return first;
}

/*
 * Parse a wire form made by cg_audit_record_encode without copying
 * anything: strings and lists point into data (which must outlive the
 * view); ids are unaligned there (read them with memcpy).  Every length is
 * checked against the record's end, as cg_audit_record_decode does.
 */
void
cg_audit_record_view(const char *data, Size len, CgAuditRecordView *v)
{
	Reader		r = {data, data + len};

	memset(v, 0, sizeof(*v));
	v->statement_at = get_int64(&r);
	v->session_start = get_int64(&r);
	v->backend_pid = get_int32(&r);
	v->session_role = view_string(&r);
	v->current_role = view_string(&r);
	v->client_addr = view_string(&r);
	v->application_name = view_string(&r);
	v->command = view_string(&r);
	v->purpose = view_string(&r);
	v->grant_id = get_int64(&r);
	v->relations = view_strings(&r, &v->nrelations);
	v->columns = view_strings(&r, &v->ncolumns);
	v->read = view_ids(&r, &v->nread);
	v->denied = view_ids(&r, &v->ndenied);
	v->written = view_ids(&r, &v->nwritten);
	v->children = get_int32(&r);
	v->rows = get_int64(&r);
	need(&r, 6);
	v->outcome = *r.p++;
	memcpy(v->sqlstate, r.p, 5);
	v->sqlstate[5] = '\0';
	r.p += 5;
	v->query_id = get_int64(&r);
	/* from 1.4 (see cg_audit_record_decode) */
	if (r.p < r.end)
		v->end_user = view_string(&r);
	else
		v->end_user.len = -1;
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
		case CG_OUTCOME_DISCLOSED:
			return "disclosed";
	}
	return "unknown";
}

/*
 * Is data[0..len) one whole wire form, as cg_audit_record_view() would
 * accept it (and nothing after it)?  The writer checks each record before
 * packing it (1.8), so that every packed record decodes; this walks the
 * lengths only, without building a view or raising.  *statement_at: the
 * record's first field.
 */
bool
cg_audit_record_check(const char *data, Size len, TimestampTz *statement_at)
{
	const char *p = data;
	const char *end = data + len;
	int32		n;

#define HAVE(k) ((Size) (end - p) >= (Size) (k))
#define INT32_AT(v) (memcpy(&(v), p, sizeof(int32)), p += sizeof(int32))
#define STRING() \
	do { \
		int32		l_; \
		if (!HAVE(4)) return false; \
		INT32_AT(l_); \
		if (l_ < -1 || (l_ > 0 && !HAVE(l_))) return false; \
		if (l_ > 0) p += l_; \
	} while (0)

	if (!HAVE(8 + 8 + 4))
		return false;
	memcpy(statement_at, p, sizeof(TimestampTz));
	p += 8 + 8 + 4;
	for (int i = 0; i < 6; i++)
		STRING();
	if (!HAVE(8))
		return false;
	p += 8;
	for (int list = 0; list < 2; list++)
	{
		if (!HAVE(4))
			return false;
		INT32_AT(n);
		if (n < 0)
			return false;
		for (int i = 0; i < n; i++)
			STRING();
	}
	for (int list = 0; list < 3; list++)
	{
		if (!HAVE(4))
			return false;
		INT32_AT(n);
		if (n < 0 || !HAVE((Size) n * sizeof(int64)))
			return false;
		p += (Size) n * sizeof(int64);
	}
	if (!HAVE(4 + 8 + 1 + 5 + 8))
		return false;
	p += 4 + 8 + 1 + 5 + 8;
	if (p < end)
		STRING();				/* end_user, from 1.4 */
	return p == end;
#undef HAVE
#undef INT32_AT
#undef STRING
}
