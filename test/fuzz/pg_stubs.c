/*-------------------------------------------------------------------------
 *
 * pg_stubs.c
 *	  Stand-ins for the backend functions that the fuzzed source files
 *	  (src/format/envelope.c, src/enforce/child_data.c, src/format/pending.c, src/keys/crypto.c,
 *	  src/format/categories.c) call, so they link into a plain program.
 *
 * Memory: every palloc is a malloc of exactly the size asked for, kept in
 * a list and freed by cg_fuzz_reset() after each input, so AddressSanitizer
 * reports any access past a chunk.  Sizes are checked as the real
 * allocator checks them (an invalid size is ERROR XX000, which the harness
 * treats as a finding), and anything above CG_FUZZ_ALLOC_CAP aborts: for
 * inputs of a few kilobytes, such a request is a bug.
 *
 * Errors: errstart..errfinish record the error; at ERROR, errfinish
 * longjmps to the harness (CG_FUZZ_TRY).  FATAL or worse, or an ERROR
 * outside CG_FUZZ_TRY, aborts.
 *
 * Functions the harnesses never reach fail loudly rather than pretend.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "access/htup_details.h"
#include "fmgr.h"
#include "funcapi.h"
#include "lib/stringinfo.h"
#include "libpq/pqformat.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "storage/ipc.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/memutils.h"

#include "fuzz_pg.h"

CgFuzzError cg_fuzz_error;
sigjmp_buf *cg_fuzz_catch = NULL;
int			MyProcPid = 4242;
Size		cg_fuzz_alloc_cap = CG_FUZZ_ALLOC_CAP;

/* ---- findings ------------------------------------------------------------ */

void
cg_fuzz_fail(const char *fmt,...)
{
	va_list		ap;

	fprintf(stderr, "cg-fuzz: FINDING: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n");
	abort();
}

void
cg_fuzz_expect_error(const int *allowed)
{
	for (const int *a = allowed; *a != 0; a++)
		if (cg_fuzz_error.sqlerrcode == *a)
			return;
	cg_fuzz_fail("unexpected ERROR SQLSTATE %s: %s (%s)",
				 unpack_sql_state(cg_fuzz_error.sqlerrcode),
				 cg_fuzz_error.message, cg_fuzz_error.detail);
}

/* unpack_sql_state lives in elog.c; the same five characters. */
char *
unpack_sql_state(int sql_state)
{
	static char buf[12];
	int			i;

	for (i = 0; i < 5; i++)
	{
		buf[i] = PGUNSIXBIT(sql_state);
		sql_state >>= 6;
	}
	buf[i] = '\0';
	return buf;
}

/* ---- memory -------------------------------------------------------------- */

static void **chunks = NULL;
static size_t nchunks = 0;
static size_t maxchunks = 0;

static void
check_size(Size size, int flags)
{
	if ((flags & MCXT_ALLOC_HUGE) ? !AllocHugeSizeIsValid(size) :
		!AllocSizeIsValid(size))
		elog(ERROR, "invalid memory alloc request size %zu", size);
	if (size > cg_fuzz_alloc_cap)
		cg_fuzz_fail("allocation of %zu bytes", size);
}

static void *
track(void *p)
{
	if (nchunks == maxchunks)
	{
		maxchunks = maxchunks ? maxchunks * 2 : 64;
		chunks = realloc(chunks, maxchunks * sizeof(void *));
		if (chunks == NULL)
			abort();
	}
	chunks[nchunks++] = p;
	return p;
}

static size_t
find_chunk(void *p)
{
	for (size_t i = nchunks; i > 0; i--)
		if (chunks[i - 1] == p)
			return i - 1;
	cg_fuzz_fail("pfree/repalloc of a pointer palloc never returned");
}

void
cg_fuzz_reset(void)
{
	for (size_t i = 0; i < nchunks; i++)
		free(chunks[i]);
	nchunks = 0;
}

void *
palloc_extended(Size size, int flags)
{
	void	   *p;

	check_size(size, flags);
	/*
	 * Exactly size bytes, even for 0 (ASan's malloc(0) is a valid chunk with
	 * no usable byte), so any access past the request is reported.
	 */
	p = (flags & MCXT_ALLOC_ZERO) ? calloc(1, size) : malloc(size);
	if (p == NULL && size == 0)
		p = malloc(1);
	if (p == NULL)
		cg_fuzz_fail("out of memory for %zu bytes", size);
	return track(p);
}

void *
palloc(Size size)
{
	return palloc_extended(size, 0);
}

void *
palloc0(Size size)
{
	return palloc_extended(size, MCXT_ALLOC_ZERO);
}

void *
MemoryContextAlloc(MemoryContext context, Size size)
{
	return palloc_extended(size, 0);
}

void *
MemoryContextAllocZero(MemoryContext context, Size size)
{
	return palloc_extended(size, MCXT_ALLOC_ZERO);
}

/*
 * TopMemoryContext lives as long as the process, as in PostgreSQL: what is
 * allocated there (secure_mem.c's chunk marks) is not tracked, so
 * cg_fuzz_reset does not free it under the code that keeps it.  Any other
 * context is freed with the input, as palloc's chunks are.
 */
static char top_context_marker;
MemoryContext TopMemoryContext = (MemoryContext) &top_context_marker;

void *
MemoryContextAllocExtended(MemoryContext context, Size size, int flags)
{
	void	   *p;

	if (context != TopMemoryContext)
		return palloc_extended(size, flags);
	check_size(size, flags);
	p = (flags & MCXT_ALLOC_ZERO) ? calloc(1, size ? size : 1) : malloc(size ? size : 1);
	if (p == NULL)
		cg_fuzz_fail("out of memory for %zu bytes", size);
	return p;
}

void *
repalloc(void *pointer, Size size)
{
	size_t		i = find_chunk(pointer);
	void	   *p;

	check_size(size, 0);
	p = realloc(pointer, size ? size : 1);
	if (p == NULL)
		cg_fuzz_fail("out of memory for %zu bytes", size);
	chunks[i] = p;
	return p;
}

void
pfree(void *pointer)
{
	size_t		i = find_chunk(pointer);

	free(pointer);
	chunks[i] = chunks[--nchunks];
}

char *
pstrdup(const char *in)
{
	size_t		len = strlen(in);
	char	   *out = palloc(len + 1);

	memcpy(out, in, len + 1);
	return out;
}

/* ---- errors -------------------------------------------------------------- */

static int	pending_elevel = 0;

bool
errstart(int elevel, const char *domain)
{
	if (elevel < ERROR)
		return false;			/* notices and warnings: not our concern */
	memset(&cg_fuzz_error, 0, sizeof(cg_fuzz_error));
	cg_fuzz_error.elevel = elevel;
	cg_fuzz_error.sqlerrcode = ERRCODE_INTERNAL_ERROR;	/* as elog.c does */
	pending_elevel = elevel;
	return true;
}

bool
errstart_cold(int elevel, const char *domain)
{
	return errstart(elevel, domain);
}

void
errfinish(const char *filename, int lineno, const char *funcname)
{
	if (pending_elevel >= FATAL)
		cg_fuzz_fail("FATAL at %s:%d: %s", filename, lineno, cg_fuzz_error.message);
	if (cg_fuzz_catch == NULL)
		cg_fuzz_fail("ERROR outside the harness at %s:%d: %s", filename,
					 lineno, cg_fuzz_error.message);
	siglongjmp(*cg_fuzz_catch, 1);
}

int
errcode(int sqlerrcode)
{
	cg_fuzz_error.sqlerrcode = sqlerrcode;
	return 0;
}

static void
format_into(char *buf, size_t size, const char *fmt, va_list ap)
{
	vsnprintf(buf, size, fmt, ap);
}

int
errmsg(const char *fmt,...)
{
	va_list		ap;

	va_start(ap, fmt);
	format_into(cg_fuzz_error.message, sizeof(cg_fuzz_error.message), fmt, ap);
	va_end(ap);
	return 0;
}

int
errmsg_internal(const char *fmt,...)
{
	va_list		ap;

	va_start(ap, fmt);
	format_into(cg_fuzz_error.message, sizeof(cg_fuzz_error.message), fmt, ap);
	va_end(ap);
	return 0;
}

int
errdetail(const char *fmt,...)
{
	va_list		ap;

	va_start(ap, fmt);
	format_into(cg_fuzz_error.detail, sizeof(cg_fuzz_error.detail), fmt, ap);
	va_end(ap);
	return 0;
}

int
errdetail_log(const char *fmt,...)
{
	va_list		ap;
	char		buf[512];

	va_start(ap, fmt);
	format_into(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	return 0;
}

int
errhint(const char *fmt,...)
{
	va_list		ap;
	char		buf[512];

	va_start(ap, fmt);
	format_into(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	return 0;
}

/* ---- the rest of the backend the decoders touch --------------------------- */

/* Integer settings: the variable's address, for the seed writer to set. */
static struct
{
	const char *name;
	int		   *addr;
}			int_gucs[8];

void
DefineCustomIntVariable(const char *name, const char *short_desc,
						const char *long_desc, int *valueAddr, int bootValue,
						int minValue, int maxValue, GucContext context,
						int flags, GucIntCheckHook check_hook,
						GucIntAssignHook assign_hook, GucShowHook show_hook)
{
	for (int i = 0; i < lengthof(int_gucs); i++)
		if (int_gucs[i].name == NULL || strcmp(int_gucs[i].name, name) == 0)
		{
			int_gucs[i].name = name;
			int_gucs[i].addr = valueAddr;
			*valueAddr = bootValue;
			return;
		}
	cg_fuzz_fail("too many settings");
}

/* Enum settings keep their boot value (crypto.c's childguard.aes_gcm_path). */
void
DefineCustomEnumVariable(const char *name, const char *short_desc,
						 const char *long_desc, int *valueAddr, int bootValue,
						 const struct config_enum_entry *options, GucContext context,
						 int flags, GucEnumCheckHook check_hook,
						 GucEnumAssignHook assign_hook, GucShowHook show_hook)
{
	*valueAddr = bootValue;
}

int *
cg_fuzz_int_guc(const char *name)
{
	for (int i = 0; i < lengthof(int_gucs) && int_gucs[i].name != NULL; i++)
		if (strcmp(int_gucs[i].name, name) == 0)
			return int_gucs[i].addr;
	return NULL;
}

void
on_proc_exit(pg_on_exit_callback function, Datum arg)
{
}

/* Only plain in-line datums reach the harness; anything else is a bug. */
struct varlena *
pg_detoast_datum_packed(struct varlena *datum)
{
	if (VARATT_IS_EXTENDED(datum) && !VARATT_IS_SHORT(datum))
		cg_fuzz_fail("the harness made a toasted datum");
	return datum;
}

struct varlena *
pg_detoast_datum(struct varlena *datum)
{
	if (VARATT_IS_EXTENDED(datum))
		cg_fuzz_fail("the harness made a toasted or short datum");
	return datum;
}

text *
cstring_to_text(const char *s)
{
	size_t		len = strlen(s);
	text	   *t = palloc(len + VARHDRSZ);

	SET_VARSIZE(t, len + VARHDRSZ);
	memcpy(VARDATA(t), s, len);
	return t;
}

char *
text_to_cstring(const text *t)
{
	cg_fuzz_fail("text_to_cstring is not part of the fuzzed paths");
}

/*
 * Text from the client is checked against the server encoding before any
 * input function sees it.  The stand-in applies the weakest check a
 * database can have, SQL_ASCII's (no zero bytes, 22021), so invalid UTF-8
 * still reaches the code under test, as it does in such a database.
 */
static void
verify_server_text(const char *s, int len)
{
	if (pg_encoding_verifymbstr(PG_SQL_ASCII, s, len) != len)
		ereport(ERROR,
				(errcode(ERRCODE_CHARACTER_NOT_IN_REPERTOIRE),
				 errmsg("invalid byte sequence for encoding \"SQL_ASCII\": 0x00")));
}

void
cg_fuzz_verify_server_text(const char *s, int len)
{
	verify_server_text(s, len);
}

char *
pq_getmsgtext(StringInfo msg, int rawbytes, int *nbytes)
{
	char	   *out;

	if (rawbytes < 0 || rawbytes > (msg->len - msg->cursor))
		ereport(ERROR,
				(errcode(ERRCODE_PROTOCOL_VIOLATION),
				 errmsg("insufficient data left in message")));
	verify_server_text(&msg->data[msg->cursor], rawbytes);
	out = palloc(rawbytes + 1);
	memcpy(out, &msg->data[msg->cursor], rawbytes);
	out[rawbytes] = '\0';
	msg->cursor += rawbytes;
	*nbytes = rawbytes;
	return out;
}

void
pq_begintypsend(StringInfo buf)
{
	initStringInfo(buf);
	appendStringInfoSpaces(buf, VARHDRSZ);
}

void
pq_sendtext(StringInfo buf, const char *str, int slen)
{
	appendBinaryStringInfo(buf, str, slen);
}

bytea *
pq_endtypsend(StringInfo buf)
{
	bytea	   *result = (bytea *) buf->data;

	SET_VARSIZE(result, buf->len);
	return result;
}

/* Reached only through the typmod and envelope_info functions, never fuzzed. */
void
deconstruct_array(ArrayType *array, Oid elmtype, int elmlen, bool elmbyval,
				  char elmalign, Datum **elemsp, bool **nullsp, int *nelemsp)
{
	cg_fuzz_fail("deconstruct_array is not part of the fuzzed paths");
}

TypeFuncClass
get_call_result_type(FunctionCallInfo fcinfo, Oid *resultTypeId,
					 TupleDesc *resultTupleDesc)
{
	cg_fuzz_fail("get_call_result_type is not part of the fuzzed paths");
}

TupleDesc
BlessTupleDesc(TupleDesc tupdesc)
{
	cg_fuzz_fail("BlessTupleDesc is not part of the fuzzed paths");
}

HeapTuple
heap_form_tuple(TupleDesc tupleDescriptor, Datum *values, bool *isnull)
{
	cg_fuzz_fail("heap_form_tuple is not part of the fuzzed paths");
}

Datum
HeapTupleHeaderGetDatum(HeapTupleHeader tuple)
{
	cg_fuzz_fail("HeapTupleHeaderGetDatum is not part of the fuzzed paths");
}
