/*-------------------------------------------------------------------------
 *
 * erasure_ledger.c
 *	  The erasure ledger (issue 11 item 5): every child erased as a whole is
 *	  also written, one line each, to a file OUTSIDE the data directory and
 *	  its backups (childguard.erasure_ledger_file, by default beside the
 *	  master key file), so that an erasure survives a restore from a backup
 *	  taken before it: the ledger's children are known in shared memory from
 *	  server start, their data keys are treated as destroyed (data_keys.c:
 *	  reads deny as for a shredded key, writes refuse), and
 *	  childguard._reapply_ledger() erases them again in the database.
 *
 * A line holds no plaintext:
 *
 *	cgl1 <seq> <database oid> <subject no> <child hash> <erased at, unix us>
 *	     <reason> <request ref> <master key id> <mac>
 *
 * the child hash is HMAC-SHA256(ledger key, child id) cut to 16 bytes, the
 * request reference is kept to [A-Za-z0-9._:/-] (others become '_', at
 * most 64), and the mac is HMAC-SHA256(ledger key, previous mac || line) —
 * a chain: an edited, removed or reordered line breaks it
 * (verify_erasure_ledger()).  The ledger key is HMAC-SHA256(master key,
 * "childguard erasure ledger v1"), of the master key whose id the line
 * names (a rotation keeps older lines verifiable while the previous key is
 * configured).
 *
 * Concurrency and durability.  A line is queued by _ledger_append() in the
 * erasing transaction (dropped if its subtransaction or transaction
 * aborts) and written at PRE_COMMIT: the file is opened O_APPEND, locked
 * with flock(LOCK_EX) (backends of all databases share it), its last line
 * read for the sequence number and mac, the new lines written and
 * fsync'd, the lock released; then the children are added to the shared
 * table.  An error there aborts the transaction: nothing is erased that
 * the ledger does not hold.  A crash after the write and before the commit
 * leaves a line whose erasure did not commit: its reads are denied from
 * then on and _reapply_ledger() completes it (a line means "erasure
 * decided").  PREPARE TRANSACTION of an erasure is refused.
 *
 * The shared table (dboid, subject_no) is a fixed-size open-addressing
 * array (no allocation) under one LWLock (shared to look up, exclusive to
 * add; nothing but slot reads and writes while it is held), filled in the
 * postmaster at startup (and after a crash restart) from the file, read
 * only on a data-key cache miss.  It holds at most
 * childguard.erasure_ledger_max_children entries; beyond that the
 * overflow is counted and logged, and those children are protected by
 * _reapply_ledger() only (it reads the file, not the table).  No palloc,
 * ereport or catalog access while the LWLock is held.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <sys/file.h>
#include <sys/stat.h>
#include <limits.h>
#include <unistd.h>

#include "access/xact.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "storage/fd.h"
#include "storage/ipc.h"
#include "storage/lwlock.h"
#include "storage/shmem.h"
#include "catalog/pg_type.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"

#include "childguard_errcodes.h"
#include "crypto.h"
#include "erasure_ledger.h"
#include "master_key.h"

#define LEDGER_MAGIC		"cgl1"
#define LEDGER_DEFAULT_NAME	"childguard_erasure.ledger"
#define LEDGER_KEY_LABEL	"childguard erasure ledger v1"
#define LEDGER_MAC_LEN		32
#define LEDGER_HASH_LEN		16
#define LEDGER_REF_MAX		64
#define LEDGER_LINE_MAX		512
#define LEDGER_TAIL_READ	4096

typedef struct LedgerSlot
{
	uint64		subject_no;
	Oid			dboid;			/* InvalidOid: a free slot */
} LedgerSlot;

typedef struct LedgerShared
{
	LWLock	   *lock;
	int64		entries;
	int64		overflow;		/* children not held for lack of room */
	bool		loaded;			/* the file was read at startup */
	uint32		nslots;			/* a power of two, at least twice the maximum */
	LedgerSlot	slots[FLEXIBLE_ARRAY_MEMBER];	/* open addressing, linear probing */
} LedgerShared;

/* a line waiting for its transaction to commit */
typedef struct PendingLine
{
	SubTransactionId subid;
	Oid			dboid;
	uint64		subject_no;
	char	   *child_hash;		/* hex */
	char	   *reason;
	char	   *ref;
	uint8		key_id[CG_KEY_ID_LEN];
	uint8		ledger_key[LEDGER_MAC_LEN];
} PendingLine;

static char *ledger_file_setting = NULL;
static int	ledger_max_children = 100000;

static LedgerShared *ledger_shared = NULL;

static List *pending = NIL;		/* of PendingLine *, in TopTransactionContext */
static bool callbacks_registered = false;

/* ---- settings and paths ---- */

void
cg_erasure_ledger_define_gucs(void)
{
	DefineCustomStringVariable("childguard.erasure_ledger_file",
							   "File the erasure ledger is appended to (outside the data directory).",
							   "Empty: \"" LEDGER_DEFAULT_NAME "\" in the master key file's directory.",
							   &ledger_file_setting, "", PGC_SIGHUP,
							   GUC_SUPERUSER_ONLY | GUC_NOT_IN_SAMPLE,
							   NULL, NULL, NULL);
	DefineCustomIntVariable("childguard.erasure_ledger_max_children",
							"Children of the erasure ledger held in shared memory.",
							"Their reads are denied from server start; more are re-erased by _reapply_ledger() only.",
							&ledger_max_children, 100000, 1000, INT_MAX / 64,
							PGC_POSTMASTER, 0, NULL, NULL, NULL);
}

/* The ledger's path, or NULL when none can be named (no file setting). */
char *
cg_erasure_ledger_path(void)
{
	const char *key_file;
	char	   *dir;
	char	   *slash;
	char	   *path;

	if (ledger_file_setting != NULL && ledger_file_setting[0] != '\0')
		path = pstrdup(ledger_file_setting);
	else
	{
		key_file = GetConfigOption("childguard.master_key_file", true, false);
		if (key_file == NULL || key_file[0] == '\0')
			return NULL;
		dir = pstrdup(key_file);
		slash = strrchr(dir, '/');
		if (slash == NULL)
			path = pstrdup(LEDGER_DEFAULT_NAME);
		else
		{
			slash[1] = '\0';
			path = psprintf("%s%s", dir, LEDGER_DEFAULT_NAME);
		}
	}
	/* relative paths are relative to the data directory, as the key's */
	if (!is_absolute_path(path) && DataDir != NULL)
		path = psprintf("%s/%s", DataDir, path);
	return path;
}

/* Is path (or, not existing yet, its directory) inside the data directory? */
static bool
inside_data_directory(const char *path)
{
	char		real_path[PATH_MAX];
	char		real_data[PATH_MAX];
	char	   *dir;
	char	   *slash;
	size_t		dlen;

	if (DataDir == NULL || realpath(DataDir, real_data) == NULL)
		return false;
	if (realpath(path, real_path) == NULL)
	{
		dir = pstrdup(path);
		slash = strrchr(dir, '/');
		if (slash == NULL)
			return true;		/* relative to the data directory */
		*slash = '\0';
		if (realpath(dir[0] ? dir : "/", real_path) == NULL)
			return false;
	}
	dlen = strlen(real_data);
	return strncmp(real_path, real_data, dlen) == 0 &&
		(real_path[dlen] == '/' || real_path[dlen] == '\0');
}

/* The ledger key of a master key. */
static void
ledger_key_of(const CgMasterKey *mk, uint8 *out)
{
	cg_hmac_sha256(mk->key, CG_KEY_LEN, (const uint8 *) LEDGER_KEY_LABEL,
				   strlen(LEDGER_KEY_LABEL), out);
}

static char *
to_hex(const uint8 *b, int n)
{
	static const char digits[] = "0123456789abcdef";
	char	   *s = palloc(n * 2 + 1);

	for (int i = 0; i < n; i++)
	{
		s[i * 2] = digits[b[i] >> 4];
		s[i * 2 + 1] = digits[b[i] & 15];
	}
	s[n * 2] = '\0';
	return s;
}

static bool
from_hex(const char *s, uint8 *out, int n)
{
	if (strlen(s) != (size_t) n * 2)
		return false;
	for (int i = 0; i < n; i++)
	{
		int			v = 0;

		for (int j = 0; j < 2; j++)
		{
			char		c = s[i * 2 + j];

			v <<= 4;
			if (c >= '0' && c <= '9')
				v |= c - '0';
			else if (c >= 'a' && c <= 'f')
				v |= c - 'a' + 10;
			else
				return false;
		}
		out[i] = (uint8) v;
	}
	return true;
}

static char *
child_hash(const uint8 *ledger_key, const char *child_id)
{
	uint8		h[LEDGER_MAC_LEN];

	cg_hmac_sha256(ledger_key, LEDGER_MAC_LEN, (const uint8 *) child_id,
				   strlen(child_id), h);
	return to_hex(h, LEDGER_HASH_LEN);
}

static char *
clean_ref(const char *ref)
{
	char	   *s;
	int			n;

	if (ref == NULL || ref[0] == '\0')
		return pstrdup("-");
	n = Min((int) strlen(ref), LEDGER_REF_MAX);
	s = palloc(n + 1);
	for (int i = 0; i < n; i++)
	{
		char		c = ref[i];

		s[i] = ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
				(c >= '0' && c <= '9') || c == '.' || c == '_' || c == ':' ||
				c == '/' || c == '-') ? c : '_';
	}
	s[n] = '\0';
	return s;
}

/* ---- parsing ---- */

typedef struct LedgerLine
{
	int64		seq;
	Oid			dboid;
	uint64		subject_no;
	char		child_hash[LEDGER_HASH_LEN * 2 + 1];
	int64		erased_us;
	char		reason[64];
	char		ref[LEDGER_REF_MAX + 1];
	char		key_id[CG_KEY_ID_LEN * 2 + 1];
	char		mac[LEDGER_MAC_LEN * 2 + 1];
	int			body_len;		/* bytes before " <mac>" */
} LedgerLine;

/* Parse one line (without its newline); false if malformed. */
static bool
parse_line(const char *line, LedgerLine *out)
{
	char		magic[8];
	unsigned int dboid;
	unsigned long long subject_no;
	long long	seq;
	long long	us;
	int			n = 0;
	const char *mac;

	if (sscanf(line, "%7s %lld %u %llu %32s %lld %63s %64s %16s %64s%n",
			   magic, &seq, &dboid, &subject_no, out->child_hash, &us,
			   out->reason, out->ref, out->key_id, out->mac, &n) != 10)
		return false;
	if (strcmp(magic, LEDGER_MAGIC) != 0 || line[n] != '\0' ||
		strlen(out->mac) != LEDGER_MAC_LEN * 2 ||
		strlen(out->key_id) != CG_KEY_ID_LEN * 2)
		return false;
	mac = strrchr(line, ' ');
	out->body_len = (int) (mac - line);
	out->seq = seq;
	out->dboid = (Oid) dboid;
	out->subject_no = (uint64) subject_no;
	out->erased_us = us;
	return true;
}

/* mac of a line: HMAC(ledger key, previous mac hex || "\n" || body) */
static char *
line_mac(const uint8 *ledger_key, const char *prev_mac, const char *body, int body_len)
{
	StringInfoData buf;
	uint8		mac[LEDGER_MAC_LEN];

	initStringInfo(&buf);
	appendStringInfo(&buf, "%s\n", prev_mac);
	appendBinaryStringInfo(&buf, body, body_len);
	cg_hmac_sha256(ledger_key, LEDGER_MAC_LEN, (const uint8 *) buf.data, buf.len, mac);
	pfree(buf.data);
	return to_hex(mac, LEDGER_MAC_LEN);
}

static const char zero_mac[] =
"0000000000000000000000000000000000000000000000000000000000000000";

/* ---- shared memory ---- */

static uint32
ledger_nslots(void)
{
	uint32		n = 1024;

	while (n < (uint32) ledger_max_children * 2)
		n <<= 1;
	return n;
}

static Size
ledger_shmem_size(void)
{
	return add_size(offsetof(LedgerShared, slots),
					mul_size(ledger_nslots(), sizeof(LedgerSlot)));
}

void
cg_erasure_ledger_shmem_request(void)
{
	RequestAddinShmemSpace(ledger_shmem_size());
	RequestNamedLWLockTranche("childguard erasure ledger", 1);
}

/* the slot holding (dboid, subject_no), or the free slot where it would go */
static inline LedgerSlot *
slot_for(Oid dboid, uint64 subject_no)
{
	uint32		mask = ledger_shared->nslots - 1;
	uint32		i = (uint32) ((subject_no * UINT64CONST(0x9E3779B97F4A7C15) ^ dboid) >> 16) & mask;

	for (;;)
	{
		LedgerSlot *slot = &ledger_shared->slots[i];

		if (slot->dboid == InvalidOid ||
			(slot->dboid == dboid && slot->subject_no == subject_no))
			return slot;
		i = (i + 1) & mask;
	}
}

/* add a child to the shared table (caller holds the lock exclusively) */
static void
shared_add(Oid dboid, uint64 subject_no)
{
	LedgerSlot *slot = slot_for(dboid, subject_no);

	if (slot->dboid != InvalidOid)
		return;
	if (ledger_shared->entries >= ledger_max_children)
	{
		ledger_shared->overflow++;
		return;
	}
	slot->subject_no = subject_no;
	slot->dboid = dboid;
	ledger_shared->entries++;
}

/* Read the file's children into the shared table (postmaster, at startup). */
static void
load_ledger_file(void)
{
	char	   *path = cg_erasure_ledger_path();
	FILE	   *f;
	char		line[LEDGER_LINE_MAX + 2];
	int64		lines = 0;
	int64		bad = 0;

	if (path == NULL)
		return;
	f = AllocateFile(path, "r");
	if (f == NULL)
	{
		if (errno == ENOENT)
			ledger_shared->loaded = true;	/* nothing erased yet */
		else
			ereport(WARNING,
					(errcode(ERRCODE_CG_ERASURE_LEDGER),
					 errmsg("could not read erasure ledger \"%s\": %m", path),
					 errdetail("Children erased before a restore are re-erased only once it is readable."),
					 errhint("Make the file readable by the server's user and restart.")));
		return;
	}
	while (fgets(line, sizeof(line), f) != NULL)
	{
		LedgerLine l;
		size_t		len = strlen(line);

		if (len > 0 && line[len - 1] == '\n')
			line[len - 1] = '\0';
		if (!parse_line(line, &l))
		{
			bad++;
			continue;
		}
		lines++;
		shared_add(l.dboid, l.subject_no);
	}
	FreeFile(f);
	ledger_shared->loaded = true;
	if (bad > 0)
		ereport(WARNING,
				(errcode(ERRCODE_CG_ERASURE_LEDGER_TAMPERED),
				 errmsg("erasure ledger \"%s\" has %lld malformed lines", path, (long long) bad),
				 errhint("Check it with childguard.verify_erasure_ledger().")));
	if (ledger_shared->overflow > 0)
		ereport(LOG,
				(errmsg("erasure ledger holds more children than childguard.erasure_ledger_max_children"),
				 errdetail("%lld children are protected by _reapply_ledger() only.",
						   (long long) ledger_shared->overflow)));
	(void) lines;
}

void
cg_erasure_ledger_shmem_startup(void)
{
	bool		found;

	LWLockAcquire(AddinShmemInitLock, LW_EXCLUSIVE);
	ledger_shared = ShmemInitStruct("childguard erasure ledger",
									ledger_shmem_size(), &found);
	if (!found)
	{
		ledger_shared->lock = &(GetNamedLWLockTranche("childguard erasure ledger"))->lock;
		ledger_shared->entries = 0;
		ledger_shared->overflow = 0;
		ledger_shared->loaded = false;
		ledger_shared->nslots = ledger_nslots();
		memset(ledger_shared->slots, 0, mul_size(ledger_shared->nslots, sizeof(LedgerSlot)));
	}
	LWLockRelease(AddinShmemInitLock);
	if (!found && !IsUnderPostmaster)
		load_ledger_file();
}

/* Is the child in the ledger (erased, whatever the database now says)? */
bool
cg_erasure_ledger_has(Oid dboid, uint64 subject_no)
{
	bool		found;

	if (ledger_shared == NULL || ledger_shared->entries == 0)
		return false;
	LWLockAcquire(ledger_shared->lock, LW_SHARED);
	found = slot_for(dboid, subject_no)->dboid != InvalidOid;
	LWLockRelease(ledger_shared->lock);
	return found;
}

/* ---- appending ---- */

/*
 * The last complete line of the open file: its sequence number and mac
 * (0 and zeros if none).  A torn last line (no newline) is reported by
 * *torn; the next write starts on a new line.
 */
static void
read_tail(int fd, const char *path, int64 *seq, char *mac, bool *torn)
{
	struct stat st;
	char		buf[LEDGER_TAIL_READ + 1];
	off_t		from;
	ssize_t		n;
	char	   *end;
	char	   *start;
	LedgerLine l;

	*seq = 0;
	strcpy(mac, zero_mac);
	*torn = false;
	if (fstat(fd, &st) != 0)
		ereport(ERROR,
				(errcode(ERRCODE_CG_ERASURE_LEDGER),
				 errmsg("could not stat erasure ledger \"%s\": %m", path)));
	if (st.st_size == 0)
		return;
	from = st.st_size > LEDGER_TAIL_READ ? st.st_size - LEDGER_TAIL_READ : 0;
	n = pg_pread(fd, buf, st.st_size - from, from);
	if (n != st.st_size - from)
		ereport(ERROR,
				(errcode(ERRCODE_CG_ERASURE_LEDGER),
				 errmsg("could not read erasure ledger \"%s\": %m", path)));
	buf[n] = '\0';
	if (buf[n - 1] != '\n')
	{
		*torn = true;
		end = strrchr(buf, '\n');
		if (end == NULL)
			return;
		*end = '\0';
	}
	else
		buf[n - 1] = '\0';
	start = strrchr(buf, '\n');
	start = start ? start + 1 : buf;
	if (!parse_line(start, &l))
		ereport(ERROR,
				(errcode(ERRCODE_CG_ERASURE_LEDGER_TAMPERED),
				 errmsg("erasure ledger \"%s\" ends with a malformed line", path),
				 errdetail("No erasure can be added to a ledger whose chain cannot be continued."),
				 errhint("Check it with childguard.verify_erasure_ledger() and restore it from its copy.")));
	*seq = l.seq;
	strlcpy(mac, l.mac, LEDGER_MAC_LEN * 2 + 1);
}

static void
fsync_directory_of(const char *path)
{
	char	   *dir = pstrdup(path);
	char	   *slash = strrchr(dir, '/');
	int			fd;

	if (slash == NULL)
		return;
	*slash = '\0';
	fd = OpenTransientFile(dir[0] ? dir : "/", O_RDONLY | PG_BINARY);
	if (fd >= 0)
	{
		(void) pg_fsync(fd);
		CloseTransientFile(fd);
	}
}

/* Write the pending lines (PRE_COMMIT). */
static void
write_pending(void)
{
	char	   *path = cg_erasure_ledger_path();
	int			fd;
	int64		seq;
	char		prev[LEDGER_MAC_LEN * 2 + 1];
	bool		torn;
	bool		created;
	struct stat st;
	StringInfoData out;
	ListCell   *lc;
	int64		now_us;

	if (path == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_CG_ERASURE_LEDGER),
				 errmsg("erasure ledger is not configured")));
	created = stat(path, &st) != 0;
	fd = OpenTransientFile(path, O_RDWR | O_APPEND | O_CREAT | PG_BINARY);
	if (fd < 0)
		ereport(ERROR,
				(errcode(ERRCODE_CG_ERASURE_LEDGER),
				 errmsg("could not open erasure ledger \"%s\": %m", path),
				 errdetail("The erasure is not made: it would not survive a restore from an older backup."),
				 errhint("Make the ledger's directory writable by the server's user, or set childguard.erasure_ledger_file.")));
	if (created)
		(void) fchmod(fd, S_IRUSR | S_IWUSR);
	if (flock(fd, LOCK_EX) != 0)
	{
		int			save = errno;

		CloseTransientFile(fd);
		errno = save;
		ereport(ERROR,
				(errcode(ERRCODE_CG_ERASURE_LEDGER),
				 errmsg("could not lock erasure ledger \"%s\": %m", path)));
	}
	PG_TRY();
	{
		read_tail(fd, path, &seq, prev, &torn);
		now_us = (int64) (GetCurrentTimestamp() / 1) +
			((int64) (POSTGRES_EPOCH_JDATE - UNIX_EPOCH_JDATE) * SECS_PER_DAY * USECS_PER_SEC);
		initStringInfo(&out);
		if (torn)
			appendStringInfoChar(&out, '\n');
		foreach(lc, pending)
		{
			PendingLine *p = (PendingLine *) lfirst(lc);
			int			body_start = out.len;
			char	   *mac;

			appendStringInfo(&out, "%s %lld %u %llu %s %lld %s %s %s",
							 LEDGER_MAGIC, (long long) ++seq, p->dboid,
							 (unsigned long long) p->subject_no, p->child_hash,
							 (long long) now_us, p->reason, p->ref,
							 to_hex(p->key_id, CG_KEY_ID_LEN));
			mac = line_mac(p->ledger_key, prev, out.data + body_start, out.len - body_start);
			appendStringInfo(&out, " %s\n", mac);
			strlcpy(prev, mac, sizeof(prev));
		}
		errno = 0;
		if (write(fd, out.data, out.len) != out.len)
		{
			if (errno == 0)
				errno = ENOSPC;
			ereport(ERROR,
					(errcode(ERRCODE_CG_ERASURE_LEDGER),
					 errmsg("could not write erasure ledger \"%s\": %m", path),
					 errdetail("The erasure is not made: it would not survive a restore from an older backup.")));
		}
		if (pg_fsync(fd) != 0)
			ereport(ERROR,
					(errcode(ERRCODE_CG_ERASURE_LEDGER),
					 errmsg("could not fsync erasure ledger \"%s\": %m", path)));
		if (created)
			fsync_directory_of(path);
	}
	PG_FINALLY();
	{
		(void) flock(fd, LOCK_UN);
		CloseTransientFile(fd);
	}
	PG_END_TRY();

	if (ledger_shared != NULL)
	{
		LWLockAcquire(ledger_shared->lock, LW_EXCLUSIVE);
		foreach(lc, pending)
		{
			PendingLine *p = (PendingLine *) lfirst(lc);

			shared_add(p->dboid, p->subject_no);
		}
		LWLockRelease(ledger_shared->lock);
	}
}

static void
ledger_xact_callback(XactEvent event, void *arg)
{
	if (pending == NIL)
		return;
	switch (event)
	{
		case XACT_EVENT_PRE_COMMIT:
		case XACT_EVENT_PARALLEL_PRE_COMMIT:
			write_pending();
			break;
		case XACT_EVENT_PRE_PREPARE:
			ereport(ERROR,
					(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
					 errmsg("cannot PREPARE a transaction that erased a child")));
			break;
		case XACT_EVENT_COMMIT:
		case XACT_EVENT_PARALLEL_COMMIT:
		case XACT_EVENT_ABORT:
		case XACT_EVENT_PARALLEL_ABORT:
		case XACT_EVENT_PREPARE:
			pending = NIL;		/* memory goes with TopTransactionContext */
			break;
	}
}

static void
ledger_subxact_callback(SubXactEvent event, SubTransactionId mySubid,
						SubTransactionId parentSubid, void *arg)
{
	ListCell   *lc;

	if (pending == NIL)
		return;
	if (event == SUBXACT_EVENT_ABORT_SUB)
	{
		foreach(lc, pending)
		{
			PendingLine *p = (PendingLine *) lfirst(lc);

			if (p->subid == mySubid)
				pending = foreach_delete_current(pending, lc);
		}
	}
	else if (event == SUBXACT_EVENT_COMMIT_SUB)
	{
		foreach(lc, pending)
		{
			PendingLine *p = (PendingLine *) lfirst(lc);

			if (p->subid == mySubid)
				p->subid = parentSubid;
		}
	}
}

/* The ledger's path, checked: configured and outside the data directory. */
static char *
checked_path(void)
{
	char	   *path = cg_erasure_ledger_path();

	if (path == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_CG_ERASURE_LEDGER),
				 errmsg("erasure ledger is not configured"),
				 errdetail("A child erased as a whole is also written to the erasure ledger, outside the data directory, so the erasure survives a restore."),
				 errhint("Set childguard.erasure_ledger_file (or childguard.master_key_file, beside which it is kept by default).")));
	if (inside_data_directory(path))
		ereport(ERROR,
				(errcode(ERRCODE_CG_ERASURE_LEDGER),
				 errmsg("erasure ledger \"%s\" is inside the data directory", path),
				 errdetail("A ledger stored with the data would be restored with it, and forget the erasures made after the backup."),
				 errhint("Set childguard.erasure_ledger_file to a file outside the data directory.")));
	return path;
}

/* _ledger_append(subject_no, child_id, reason, request_ref) */
PG_FUNCTION_INFO_V1(cg_erasure_ledger_append);
Datum
cg_erasure_ledger_append(PG_FUNCTION_ARGS)
{
	const CgMasterKey *mk;
	PendingLine *p;
	MemoryContext old;
	char	   *child_id;
	char	   *reason;

	if (PG_ARGISNULL(0) || PG_ARGISNULL(1) || PG_ARGISNULL(2))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("subject, child and reason are required")));
	(void) checked_path();
	mk = cg_master_key_current();
	child_id = text_to_cstring(PG_GETARG_TEXT_PP(1));
	reason = text_to_cstring(PG_GETARG_TEXT_PP(2));
	if (strlen(reason) >= 64 || strspn(reason, "abcdefghijklmnopqrstuvwxyz_0123456789") != strlen(reason))
		ereport(ERROR,
				(errcode(ERRCODE_CG_UNKNOWN_ERASURE_REASON),
				 errmsg("unknown erasure reason \"%s\"", reason)));

	if (!callbacks_registered)
	{
		RegisterXactCallback(ledger_xact_callback, NULL);
		RegisterSubXactCallback(ledger_subxact_callback, NULL);
		callbacks_registered = true;
	}
	old = MemoryContextSwitchTo(TopTransactionContext);
	p = palloc0(sizeof(PendingLine));
	p->subid = GetCurrentSubTransactionId();
	p->dboid = MyDatabaseId;
	p->subject_no = (uint64) PG_GETARG_INT64(0);
	memcpy(p->key_id, mk->id, CG_KEY_ID_LEN);
	ledger_key_of(mk, p->ledger_key);
	p->child_hash = child_hash(p->ledger_key, child_id);
	p->reason = pstrdup(reason);
	p->ref = clean_ref(PG_ARGISNULL(3) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(3)));
	pending = lappend(pending, p);
	MemoryContextSwitchTo(old);
	PG_RETURN_VOID();
}

/* _ledger_child_hash(child_id text, key_id text): the hash a line would hold */
PG_FUNCTION_INFO_V1(cg_erasure_ledger_child_hash);
Datum
cg_erasure_ledger_child_hash(PG_FUNCTION_ARGS)
{
	uint8		id[CG_KEY_ID_LEN];
	const CgMasterKey *mk;
	uint8		lk[LEDGER_MAC_LEN];
	char	   *h;

	if (!from_hex(text_to_cstring(PG_GETARG_TEXT_PP(1)), id, CG_KEY_ID_LEN) ||
		(mk = cg_master_key_by_id(id)) == NULL)
		PG_RETURN_NULL();
	ledger_key_of(mk, lk);
	h = child_hash(lk, text_to_cstring(PG_GETARG_TEXT_PP(0)));
	explicit_bzero(lk, sizeof(lk));
	PG_RETURN_TEXT_P(cstring_to_text(h));
}

/*
 * _ledger_lines(): every line of the ledger, whatever database it names:
 * line number, sequence, database, subject, child hash, time, reason,
 * reference, key id, and what is wrong with it (NULL: nothing).  Checks
 * the chain as it goes.
 */
PG_FUNCTION_INFO_V1(cg_erasure_ledger_lines);
Datum
cg_erasure_ledger_lines(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	char	   *path;
	FILE	   *f;
	char		line[LEDGER_LINE_MAX + 2];
	char		prev[LEDGER_MAC_LEN * 2 + 1];
	int64		lineno = 0;
	int64		expect_seq = 1;

	InitMaterializedSRF(fcinfo, 0);
	path = checked_path();
	f = AllocateFile(path, "r");
	if (f == NULL)
	{
		if (errno == ENOENT)
			return (Datum) 0;
		ereport(ERROR,
				(errcode(ERRCODE_CG_ERASURE_LEDGER),
				 errmsg("could not read erasure ledger \"%s\": %m", path)));
	}
	strcpy(prev, zero_mac);
	while (fgets(line, sizeof(line), f) != NULL)
	{
		Datum		values[11];
		bool		nulls[11];
		LedgerLine l;
		size_t		len = strlen(line);
		const char *problem = NULL;

		lineno++;
		memset(nulls, 0, sizeof(nulls));
		if (len == 0 || line[len - 1] != '\n')
			problem = "torn line (no newline)";
		else
			line[len - 1] = '\0';
		if (problem == NULL && !parse_line(line, &l))
			problem = "malformed line";
		if (problem == NULL)
		{
			uint8		id[CG_KEY_ID_LEN];
			const CgMasterKey *mk = NULL;

			if (from_hex(l.key_id, id, CG_KEY_ID_LEN))
				mk = cg_master_key_by_id(id);
			if (l.seq != expect_seq)
				problem = "sequence broken (a line removed, added or reordered)";
			else if (mk == NULL)
				problem = "written under a master key that is not configured";
			else
			{
				uint8		lk[LEDGER_MAC_LEN];
				char	   *mac;

				ledger_key_of(mk, lk);
				mac = line_mac(lk, prev, line, l.body_len);
				explicit_bzero(lk, sizeof(lk));
				if (strcmp(mac, l.mac) != 0)
					problem = "mac mismatch (line edited, or the chain before it)";
			}
			strlcpy(prev, l.mac, sizeof(prev));
			expect_seq = l.seq + 1;
		}
		values[0] = Int64GetDatum(lineno);
		if (problem != NULL && strncmp(problem, "sequence", 8) != 0 &&
			strncmp(problem, "mac", 3) != 0 && strncmp(problem, "written", 7) != 0)
		{
			for (int i = 1; i < 10; i++)
				nulls[i] = true;
		}
		else
		{
			values[1] = Int64GetDatum(l.seq);
			values[2] = ObjectIdGetDatum(l.dboid);
			values[3] = Int64GetDatum((int64) l.subject_no);
			values[4] = CStringGetTextDatum(l.child_hash);
			values[5] = TimestampTzGetDatum(l.erased_us -
											((int64) (POSTGRES_EPOCH_JDATE - UNIX_EPOCH_JDATE) * SECS_PER_DAY * USECS_PER_SEC));
			values[6] = CStringGetTextDatum(l.reason);
			values[7] = CStringGetTextDatum(l.ref);
			values[8] = CStringGetTextDatum(l.key_id);
			values[9] = BoolGetDatum(l.dboid == MyDatabaseId);
		}
		if (problem)
			values[10] = CStringGetTextDatum(problem);
		else
			nulls[10] = true;
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	FreeFile(f);
	return (Datum) 0;
}

/* _ledger_status(): the path, whether it was read at start, children held, overflow */
PG_FUNCTION_INFO_V1(cg_erasure_ledger_status);
Datum
cg_erasure_ledger_status(PG_FUNCTION_ARGS)
{
	TupleDesc	desc;
	Datum		values[5];
	bool		nulls[5];
	char	   *path = cg_erasure_ledger_path();

	if (get_call_result_type(fcinfo, NULL, &desc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");
	memset(nulls, 0, sizeof(nulls));
	if (path)
		values[0] = CStringGetTextDatum(path);
	else
		nulls[0] = true;
	values[1] = BoolGetDatum(path != NULL && !inside_data_directory(path));
	if (ledger_shared != NULL)
	{
		LWLockAcquire(ledger_shared->lock, LW_SHARED);
		values[2] = BoolGetDatum(ledger_shared->loaded);
		values[3] = Int64GetDatum(ledger_shared->entries);
		values[4] = Int64GetDatum(ledger_shared->overflow);
		LWLockRelease(ledger_shared->lock);
	}
	else
		nulls[2] = nulls[3] = nulls[4] = true;
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(desc, values, nulls)));
}

/*
 * _ledger_subjects(): the subject numbers the shared table holds for this
 * database, so that _reapply_ledger() reads the file only when one of them
 * is not erased here (or the table overflowed).  The array is allocated
 * before the lock is taken; the entries cannot outnumber it (they only
 * grow, and the copy stops at its size).
 */
PG_FUNCTION_INFO_V1(cg_erasure_ledger_subjects);
Datum
cg_erasure_ledger_subjects(PG_FUNCTION_ARGS)
{
	int64		room;
	Datum	   *out;
	int			n = 0;

	if (ledger_shared == NULL)
		PG_RETURN_ARRAYTYPE_P(construct_empty_array(INT8OID));
	room = Min(ledger_shared->entries + 1, (int64) ledger_max_children);
	out = palloc(sizeof(Datum) * room);
	LWLockAcquire(ledger_shared->lock, LW_SHARED);
	for (uint32 i = 0; i < ledger_shared->nslots && n < room; i++)
	{
		LedgerSlot *slot = &ledger_shared->slots[i];

		if (slot->dboid == MyDatabaseId)
			out[n++] = Int64GetDatum((int64) slot->subject_no);
	}
	LWLockRelease(ledger_shared->lock);
	PG_RETURN_ARRAYTYPE_P(construct_array(out, n, INT8OID, sizeof(int64), FLOAT8PASSBYVAL,
										  TYPALIGN_DOUBLE));
}
