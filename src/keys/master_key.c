/*-------------------------------------------------------------------------
 *
 * master_key.c
 *	  Loading the master key from childguard.master_key_file or
 *	  childguard.master_key_command, and the previous one during rotation.
 *
 * The postmaster loads the key once at start (a configured but unusable
 * source stops the server with a clear message), so backends inherit it
 * without reading a file or running a command.  The settings are SIGHUP:
 * when a reload changes a source, the assign hook only marks the key stale
 * and the next use in each process reloads it, reporting any problem as an
 * ordinary error.  Key bytes live in secure_mem.c's arena; they never reach
 * a message, and neither does the file's or command's output.
 *
 * Rotation as seen by a reader.  A backend applies a reload only between
 * statements, while childguard.rotate_master_key() may commit in the middle
 * of a long statement; data keys are read with a fresh catalog snapshot,
 * so the statement then meets keys wrapped by a master key its own settings
 * do not name yet.  cg_master_key_by_id() therefore, on a fingerprint it
 * does not hold, re-reads the four key settings from the configuration
 * files on the spot (ParseConfigFile only parses: it changes no setting,
 * so it is safe mid-statement, unlike ProcessConfigFile) and loads the
 * keys they name into spare slots.  A spare key is used only where its
 * fingerprint is asked for (to unwrap, or as a rotation's target below),
 * never as the current key; spare keys are dropped when the backend
 * applies its next reload, so a key taken out of the configuration still
 * stops decrypting at the next statement.  A re-read that finds no such
 * key is not repeated until postgresql.conf or postgresql.auto.conf
 * changes, so reads of data under a key that is simply not configured do
 * not parse the files (or run a changed key command) again and again.
 *
 * Rotation as seen by a writer.  A statement that began before the reload
 * would go on wrapping new data keys under the old key after the rotation
 * committed, leaving them behind.  So the rotation publishes, when it
 * commits, the fingerprints it rotated from (the previous key) and to in a
 * small shared-memory slot (spinlock-protected; reset by a crash, when
 * there is nothing to protect); cg_master_key_for_wrapping() wraps under
 * the new key when the backend's own current key is the one rotated out
 * and the new one can be found (loaded, or through the configuration files
 * as above), else under the current key.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <limits.h>
#include <sys/stat.h>
#include <unistd.h>

#include "miscadmin.h"
#include "access/xact.h"
#include "storage/fd.h"
#include "storage/lwlock.h"
#include "storage/shmem.h"
#include "storage/spin.h"
#include "utils/guc.h"
#include "utils/memutils.h"

#include "childguard_errcodes.h"
#include "master_key.h"
#include "secure_mem.h"

static char *master_key_file = NULL;
static char *master_key_command = NULL;
static char *previous_master_key_file = NULL;
static char *previous_master_key_command = NULL;

static CgMasterKey *current_key = NULL;
static CgMasterKey *previous_key = NULL;

/*
 * Keys named by the configuration files but not (yet) by our settings: one
 * for each of the two sources, current and previous.
 */
#define SPARE_KEYS 2
static CgMasterKey *spare_keys = NULL;

/*
 * The configuration files as they were at the last re-read that found no
 * key: until one of them changes, another miss does not read them (or run
 * a key command) again.
 */
typedef struct ConfigFilesState
{
	bool		valid;
	struct stat conf;
	struct stat autoconf;
} ConfigFilesState;

static ConfigFilesState fruitless_reread;
static bool keys_stale = true;

/* the last committed rotation: from which key to which (shared memory) */
typedef struct CgRotationTarget
{
	slock_t		mutex;
	bool		set;
	uint8		from_id[CG_KEY_ID_LEN];	/* the previous key it rotated out */
	uint8		id[CG_KEY_ID_LEN];	/* the key it rewrapped to */
} CgRotationTarget;

static CgRotationTarget *rotation_target = NULL;
static bool rotation_pending = false;	/* this transaction is rotating */
static SubTransactionId rotation_pending_subxact;	/* ... in this subtransaction */
static uint8 rotation_pending_from[CG_KEY_ID_LEN];
static uint8 rotation_pending_id[CG_KEY_ID_LEN];
static bool rotation_callback_registered = false;
static uint32 keys_generation = 0;	/* bumped at every (re)load */

#define KEY_ID_LABEL "childguard master key id v1"

/*
 * Assign hooks: a reload marks the keys stale only when a source actually
 * changed.  A reload that leaves the settings as they were must not read
 * the file or run the command again: the supported deployment removes the
 * key file, or has the command refuse a second request, once the server
 * is up (docs/keys.md, "Threat model").  Each hook compares with its own
 * copy of the value it last saw: the variable itself may already be freed
 * when the hook runs (RestoreGUCState in a parallel worker frees the old
 * values first).
 */
static char *seen_key_file = NULL;
static char *seen_key_command = NULL;
static char *seen_previous_key_file = NULL;
static char *seen_previous_key_command = NULL;

static void
mark_stale_if_changed(const char *newval, char **seen)
{
	const char *value = newval ? newval : "";

	if (strcmp(value, *seen ? *seen : "") == 0)
		return;
	keys_stale = true;
	if (*seen)
		pfree(*seen);
	*seen = MemoryContextStrdup(TopMemoryContext, value);
}

static void
assign_key_file(const char *newval, void *extra)
{
	mark_stale_if_changed(newval, &seen_key_file);
}

static void
assign_key_command(const char *newval, void *extra)
{
	mark_stale_if_changed(newval, &seen_key_command);
}

static void
assign_previous_key_file(const char *newval, void *extra)
{
	mark_stale_if_changed(newval, &seen_previous_key_file);
}

static void
assign_previous_key_command(const char *newval, void *extra)
{
	mark_stale_if_changed(newval, &seen_previous_key_command);
}

/* Define the four key-source settings: SIGHUP, superuser-only, hidden. */
void
cg_master_key_define_gucs(void)
{
	DefineCustomStringVariable("childguard.master_key_file",
							   "File holding the master key as 64 hexadecimal characters.",
							   "Must be outside the data directory and readable only by the server's user.",
							   &master_key_file, "", PGC_SIGHUP,
							   GUC_SUPERUSER_ONLY | GUC_NOT_IN_SAMPLE,
							   NULL, assign_key_file, NULL);
	DefineCustomStringVariable("childguard.master_key_command",
							   "Command that prints the master key as 64 hexadecimal characters.",
							   "Used instead of childguard.master_key_file, like ssl_passphrase_command.",
							   &master_key_command, "", PGC_SIGHUP,
							   GUC_SUPERUSER_ONLY | GUC_NOT_IN_SAMPLE,
							   NULL, assign_key_command, NULL);
	DefineCustomStringVariable("childguard.previous_master_key_file",
							   "File holding the master key being rotated out.",
							   "Set only while childguard.rotate_master_key() rewraps data keys.",
							   &previous_master_key_file, "", PGC_SIGHUP,
							   GUC_SUPERUSER_ONLY | GUC_NOT_IN_SAMPLE,
							   NULL, assign_previous_key_file, NULL);
	DefineCustomStringVariable("childguard.previous_master_key_command",
							   "Command that prints the master key being rotated out.",
							   NULL,
							   &previous_master_key_command, "", PGC_SIGHUP,
							   GUC_SUPERUSER_ONLY | GUC_NOT_IN_SAMPLE,
							   NULL, assign_previous_key_command, NULL);
}

static int
hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/*
 * Parse "64 hex digits, optionally one trailing newline" into key.
 * Returns false on any other shape; never says what the bytes were.
 */
static bool
parse_hex_key(const char *buf, size_t len, uint8 *key)
{
	if (len > 0 && buf[len - 1] == '\n')
		len--;
	if (len > 0 && buf[len - 1] == '\r')
		len--;
	if (len != CG_KEY_LEN * 2)
		return false;
	for (int i = 0; i < CG_KEY_LEN; i++)
	{
		int			hi = hexval(buf[2 * i]);
		int			lo = hexval(buf[2 * i + 1]);

		if (hi < 0 || lo < 0)
			return false;
		key[i] = (uint8) ((hi << 4) | lo);
	}
	return true;
}

/* Is path inside the data directory?  Keys must not travel with backups. */
static bool
path_inside_data_directory(const char *path)
{
	char		real_key[PATH_MAX];
	char		real_data[PATH_MAX];
	size_t		dlen;

	if (DataDir == NULL || realpath(path, real_key) == NULL ||
		realpath(DataDir, real_data) == NULL)
		return false;
	dlen = strlen(real_data);
	return strncmp(real_key, real_data, dlen) == 0 &&
		(real_key[dlen] == '/' || real_key[dlen] == '\0');
}

/* Read the key from a file, checking where it is and who can read it. */
static void
read_key_file(const char *setting, const char *path, uint8 *key)
{
	struct stat st;
	char		buf[CG_KEY_LEN * 2 + 8];
	int			fd;
	ssize_t		n;
	bool		ok;

	if (stat(path, &st) != 0)
		ereport(ERROR,
				(errcode(ERRCODE_CG_MASTER_KEY_UNAVAILABLE),
				 errmsg("could not access master key file \"%s\": %m", path),
				 errhint("Check the setting \"%s\".", setting)));
	if (!S_ISREG(st.st_mode))
		ereport(ERROR,
				(errcode(ERRCODE_CG_MASTER_KEY_UNAVAILABLE),
				 errmsg("master key file \"%s\" is not a regular file", path)));
	/* same rule as PostgreSQL's ssl_key_file */
	if ((st.st_uid == geteuid() && (st.st_mode & (S_IRWXG | S_IRWXO)) != 0) ||
		(st.st_uid == 0 && (st.st_mode & (S_IWGRP | S_IXGRP | S_IRWXO)) != 0))
		ereport(ERROR,
				(errcode(ERRCODE_CG_MASTER_KEY_UNAVAILABLE),
				 errmsg("master key file \"%s\" has group or world access", path),
				 errdetail("The file must have permissions u=rw (0600) or less if owned by the database user, or permissions u=rw,g=r (0640) or less if owned by root."),
				 errhint("Run chmod 0600 on the file.")));
	if (st.st_uid != geteuid() && st.st_uid != 0)
		ereport(ERROR,
				(errcode(ERRCODE_CG_MASTER_KEY_UNAVAILABLE),
				 errmsg("master key file \"%s\" must be owned by the database user or root", path)));
	if (path_inside_data_directory(path))
		ereport(ERROR,
				(errcode(ERRCODE_CG_MASTER_KEY_UNAVAILABLE),
				 errmsg("master key file \"%s\" is inside the data directory", path),
				 errdetail("A key stored with the data would be copied into every backup of it."),
				 errhint("Move the file outside the data directory and change \"%s\".", setting)));

	fd = OpenTransientFile(path, O_RDONLY | PG_BINARY);
	if (fd < 0)
		ereport(ERROR,
				(errcode(ERRCODE_CG_MASTER_KEY_UNAVAILABLE),
				 errmsg("could not open master key file \"%s\": %m", path)));
	n = read(fd, buf, sizeof(buf));
	CloseTransientFile(fd);
	ok = n > 0 && parse_hex_key(buf, (size_t) n, key);
	explicit_bzero(buf, sizeof(buf));
	if (!ok)
		ereport(ERROR,
				(errcode(ERRCODE_CG_MASTER_KEY_UNAVAILABLE),
				 errmsg("master key file \"%s\" does not hold a valid key", path),
				 errdetail("The file must hold exactly 64 hexadecimal characters (256 bits), optionally followed by a newline."),
				 errhint("Generate one with: openssl rand -hex 32")));
}

/* Run the key command and parse what it prints. */
static void
run_key_command(const char *setting, const char *command, uint8 *key)
{
	char		buf[CG_KEY_LEN * 2 + 8];
	FILE	   *fh;
	size_t		n;
	int			rc;
	bool		ok;

	fh = OpenPipeStream(command, "r");
	if (fh == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_CG_MASTER_KEY_UNAVAILABLE),
				 errmsg("could not execute master key command from \"%s\": %m", setting)));
	n = fread(buf, 1, sizeof(buf), fh);
	/* drain anything longer so the command does not block on a full pipe */
	while (!feof(fh) && !ferror(fh))
	{
		char		junk[256];

		if (fread(junk, 1, sizeof(junk), fh) == 0)
			break;
		n = sizeof(buf) + 1;	/* too long: reject */
		explicit_bzero(junk, sizeof(junk));
	}
	rc = ClosePipeStream(fh);
	ok = rc == 0 && n <= sizeof(buf) && n > 0 && parse_hex_key(buf, n, key);
	explicit_bzero(buf, sizeof(buf));
	if (rc != 0)
	{
		char	   *reason = wait_result_to_str(rc);

		ereport(ERROR,
				(errcode(ERRCODE_CG_MASTER_KEY_UNAVAILABLE),
				 errmsg("master key command from \"%s\" failed", setting),
				 errdetail_internal("%s", reason)));
	}
	if (!ok)
		ereport(ERROR,
				(errcode(ERRCODE_CG_MASTER_KEY_UNAVAILABLE),
				 errmsg("master key command from \"%s\" did not print a valid key", setting),
				 errdetail("The command must print exactly 64 hexadecimal characters (256 bits), optionally followed by a newline.")));
}

/* Load one key from its file or command setting into slot. */
static void
load_one(CgMasterKey *slot, const char *file_setting, const char *file,
		 const char *cmd_setting, const char *cmd)
{
	uint8		digest[32];
	bool		have_file = file != NULL && file[0] != '\0';
	bool		have_cmd = cmd != NULL && cmd[0] != '\0';

	slot->loaded = false;
	explicit_bzero(slot->key, sizeof(slot->key));
	if (!have_file && !have_cmd)
		return;
	if (have_file && have_cmd)
		ereport(ERROR,
				(errcode(ERRCODE_CG_MASTER_KEY_UNAVAILABLE),
				 errmsg("both \"%s\" and \"%s\" are set", file_setting, cmd_setting),
				 errhint("Set only one of them.")));
	if (have_file)
		read_key_file(file_setting, file, slot->key);
	else
		run_key_command(cmd_setting, cmd, slot->key);

	cg_hmac_sha256(slot->key, CG_KEY_LEN, (const uint8 *) KEY_ID_LABEL,
				   strlen(KEY_ID_LABEL), digest);
	memcpy(slot->id, digest, CG_KEY_ID_LEN);
	slot->loaded = true;
}

/* (Re)load both keys if a reload changed where they come from. */
static void
ensure_keys_loaded(void)
{
	cg_secure_mem_ensure_locked();
	if (current_key == NULL)
	{
		current_key = cg_secure_alloc(sizeof(CgMasterKey));
		previous_key = cg_secure_alloc(sizeof(CgMasterKey));
		spare_keys = cg_secure_alloc(sizeof(CgMasterKey) * SPARE_KEYS);
		keys_stale = true;
	}
	if (!keys_stale)
		return;
	/* what the files said before this reload no longer counts */
	explicit_bzero(spare_keys, sizeof(CgMasterKey) * SPARE_KEYS);
	fruitless_reread.valid = false;
	/* stay stale until both loads succeed, so an error is reported again */
	load_one(current_key, "childguard.master_key_file", master_key_file,
			 "childguard.master_key_command", master_key_command);
	load_one(previous_key, "childguard.previous_master_key_file",
			 previous_master_key_file, "childguard.previous_master_key_command",
			 previous_master_key_command);
	if (current_key->loaded && previous_key->loaded &&
		memcmp(current_key->id, previous_key->id, CG_KEY_ID_LEN) == 0)
		previous_key->loaded = false;	/* same key twice: nothing to rotate */
	keys_stale = false;
	keys_generation++;
}

/*
 * Which load of the master keys is in force; reloads first if a SIGHUP
 * changed a source.  Caches of unwrapped data keys compare it so that a
 * key taken out of the configuration stops decrypting at once.
 */
uint32
cg_master_key_generation(void)
{
	if (keys_stale || current_key == NULL)
		ensure_keys_loaded();
	return keys_generation;
}

/*
 * Postmaster start: load the key so backends inherit it.  An unusable
 * configured source stops the server here rather than at the first read.
 */
void
cg_master_key_load_at_startup(void)
{
	ensure_keys_loaded();
	if (!current_key->loaded)
		ereport(WARNING,
				(errcode(ERRCODE_CG_MASTER_KEY_UNAVAILABLE),
				 errmsg("childguard has no master key configured"),
				 errdetail("Child data can be neither stored nor read until one is."),
				 errhint("Set \"childguard.master_key_file\" or \"childguard.master_key_command\" in postgresql.conf.")));
}

/* The key new data keys are wrapped with; an error if there is none. */
const CgMasterKey *
cg_master_key_current(void)
{
	ensure_keys_loaded();
	if (!current_key->loaded)
		ereport(ERROR,
				(errcode(ERRCODE_CG_MASTER_KEY_UNAVAILABLE),
				 errmsg("childguard master key is not configured"),
				 errhint("Set \"childguard.master_key_file\" or \"childguard.master_key_command\" in postgresql.conf and reload.")));
	return current_key;
}

/* The key being rotated out, or NULL. */
const CgMasterKey *
cg_master_key_previous(void)
{
	ensure_keys_loaded();
	return previous_key->loaded ? previous_key : NULL;
}

/* The loaded key (current, previous or spare) with this fingerprint, or NULL. */
static const CgMasterKey *
loaded_key_by_id(const uint8 *id)
{
	if (current_key->loaded && memcmp(current_key->id, id, CG_KEY_ID_LEN) == 0)
		return current_key;
	if (previous_key->loaded && memcmp(previous_key->id, id, CG_KEY_ID_LEN) == 0)
		return previous_key;
	for (int i = 0; i < SPARE_KEYS; i++)
		if (spare_keys[i].loaded &&
			memcmp(spare_keys[i].id, id, CG_KEY_ID_LEN) == 0)
			return &spare_keys[i];
	return NULL;
}

/* Is the setting name (any case) one of the four key sources?  Which one. */
static int
key_setting_index(const char *name)
{
	static const char *const names[4] = {
		"childguard.master_key_file", "childguard.master_key_command",
		"childguard.previous_master_key_file",
		"childguard.previous_master_key_command"
	};

	for (int i = 0; i < 4; i++)
		if (pg_strcasecmp(name, names[i]) == 0)
			return i;
	return -1;
}

/*
 * Re-read the key settings from postgresql.conf (and its includes) and
 * postgresql.auto.conf, as the next reload would see them, and load each
 * key they name into a spare slot unless it is loaded already.  Returns
 * whether a key with fingerprint id is now loaded.  Only parses the files:
 * no setting changes, so it is safe in the middle of a statement.
 */
static bool
load_spare_keys_from_config(const uint8 *id)
{
	MemoryContext cxt;
	MemoryContext old;
	ConfigVariable *head = NULL;
	ConfigVariable *tail = NULL;
	char	   *value[4] = {NULL, NULL, NULL, NULL};
	int			next_spare = 0;
	bool		found;

	if (ConfigFileName == NULL)
		return false;
	explicit_bzero(spare_keys, sizeof(CgMasterKey) * SPARE_KEYS);
	cxt = AllocSetContextCreate(CurrentMemoryContext, "childguard key settings",
								ALLOCSET_SMALL_SIZES);
	old = MemoryContextSwitchTo(cxt);
	/* later lines win, and postgresql.auto.conf comes last, as in a reload */
	(void) ParseConfigFile(ConfigFileName, true, NULL, 0, 0, DEBUG1, &head, &tail);
	if (DataDir != NULL)
		(void) ParseConfigFile(PG_AUTOCONF_FILENAME, false, NULL, 0, 0, DEBUG1,
							   &head, &tail);
	for (ConfigVariable *v = head; v != NULL; v = v->next)
	{
		int			i;

		if (v->ignore || v->name == NULL || v->value == NULL)
			continue;
		i = key_setting_index(v->name);
		if (i >= 0)
			value[i] = v->value;
	}
	MemoryContextSwitchTo(old);

	/* each source as a (file, command) pair, like the settings */
	for (int pair = 0; pair < 2 && next_spare < SPARE_KEYS; pair++)
	{
		const char *file = value[2 * pair];
		const char *cmd = value[2 * pair + 1];
		CgMasterKey *slot = &spare_keys[next_spare];

		if ((file == NULL || file[0] == '\0') && (cmd == NULL || cmd[0] == '\0'))
			continue;
		/* a source our own settings already name is loaded as it is */
		if (pair == 0 ?
			(strcmp(file ? file : "", master_key_file ? master_key_file : "") == 0 &&
			 strcmp(cmd ? cmd : "", master_key_command ? master_key_command : "") == 0) :
			(strcmp(file ? file : "", previous_master_key_file ? previous_master_key_file : "") == 0 &&
			 strcmp(cmd ? cmd : "", previous_master_key_command ? previous_master_key_command : "") == 0))
			continue;
		load_one(slot,
				 pair == 0 ? "childguard.master_key_file" : "childguard.previous_master_key_file",
				 file,
				 pair == 0 ? "childguard.master_key_command" : "childguard.previous_master_key_command",
				 cmd);
		if (slot->loaded && loaded_key_by_id(slot->id) != slot)
			slot->loaded = false;	/* the same key under another name */
		if (slot->loaded)
			next_spare++;
	}
	for (int i = next_spare; i < SPARE_KEYS; i++)
		explicit_bzero(&spare_keys[i], sizeof(CgMasterKey));
	found = loaded_key_by_id(id) != NULL;
	MemoryContextDelete(cxt);	/* the parsed lines with it */
	return found;
}

/* Stat postgresql.conf and postgresql.auto.conf (zeroed if missing). */
static void
stat_config_files(ConfigFilesState *state)
{
	memset(state, 0, sizeof(*state));
	if (ConfigFileName == NULL || stat(ConfigFileName, &state->conf) != 0)
		memset(&state->conf, 0, sizeof(state->conf));
	if (DataDir == NULL || stat(PG_AUTOCONF_FILENAME, &state->autoconf) != 0)
		memset(&state->autoconf, 0, sizeof(state->autoconf));
	state->valid = true;
}

static bool
same_file_state(const struct stat *a, const struct stat *b)
{
	return a->st_ino == b->st_ino && a->st_size == b->st_size &&
		a->st_mtim.tv_sec == b->st_mtim.tv_sec &&
		a->st_mtim.tv_nsec == b->st_mtim.tv_nsec;
}

/*
 * The configured key with this fingerprint, or NULL.  A fingerprint that
 * none of the loaded keys has makes the configuration files be read again
 * (see the file's header): a rotation may have committed under keys that
 * this backend has not applied yet.
 */
const CgMasterKey *
cg_master_key_by_id(const uint8 *id)
{
	const CgMasterKey *mk;

	ConfigFilesState now;

	ensure_keys_loaded();
	mk = loaded_key_by_id(id);
	if (mk != NULL)
		return mk;
	/* the files have not changed since they last had no such key */
	stat_config_files(&now);
	if (fruitless_reread.valid &&
		same_file_state(&now.conf, &fruitless_reread.conf) &&
		same_file_state(&now.autoconf, &fruitless_reread.autoconf))
		return NULL;
	if (load_spare_keys_from_config(id))
		return loaded_key_by_id(id);
	fruitless_reread = now;
	return NULL;
}

/* shmem_request_hook part */
void
cg_master_key_shmem_request(void)
{
	RequestAddinShmemSpace(MAXALIGN(sizeof(CgRotationTarget)));
}

/* shmem_startup_hook part */
void
cg_master_key_shmem_startup(void)
{
	bool		found;

	LWLockAcquire(AddinShmemInitLock, LW_EXCLUSIVE);
	rotation_target = ShmemInitStruct("childguard rotation target",
									  sizeof(CgRotationTarget), &found);
	if (!found)
	{
		SpinLockInit(&rotation_target->mutex);
		rotation_target->set = false;
	}
	LWLockRelease(AddinShmemInitLock);
}

/* Publish a rotation's target key when (and only if) its transaction commits. */
static void
rotation_xact_callback(XactEvent event, void *arg)
{
	if (!rotation_pending)
		return;
	if (event == XACT_EVENT_COMMIT && rotation_target != NULL)
	{
		SpinLockAcquire(&rotation_target->mutex);
		memcpy(rotation_target->from_id, rotation_pending_from, CG_KEY_ID_LEN);
		memcpy(rotation_target->id, rotation_pending_id, CG_KEY_ID_LEN);
		rotation_target->set = true;
		SpinLockRelease(&rotation_target->mutex);
	}
	if (event == XACT_EVENT_COMMIT || event == XACT_EVENT_ABORT ||
		event == XACT_EVENT_PARALLEL_COMMIT || event == XACT_EVENT_PARALLEL_ABORT ||
		event == XACT_EVENT_PREPARE)
		rotation_pending = false;
}

/* A rotation in a subtransaction that rolls back publishes nothing. */
static void
rotation_subxact_callback(SubXactEvent event, SubTransactionId mySubid,
						  SubTransactionId parentSubid, void *arg)
{
	if (!rotation_pending || rotation_pending_subxact != mySubid)
		return;
	if (event == SUBXACT_EVENT_ABORT_SUB)
		rotation_pending = false;
	else if (event == SUBXACT_EVENT_COMMIT_SUB)
		rotation_pending_subxact = parentSubid;
}

/*
 * The current transaction rewraps data keys from the previous key under
 * the current key (rotate_master_key): once it commits, writers that still
 * hold the previous key as their current one are to use the new key.
 * Nothing to publish without a previous key.
 */
void
cg_master_key_note_rotation(void)
{
	const CgMasterKey *mk = cg_master_key_current();
	const CgMasterKey *from = cg_master_key_previous();

	if (from == NULL)
		return;

	if (!rotation_callback_registered)
	{
		RegisterXactCallback(rotation_xact_callback, NULL);
		RegisterSubXactCallback(rotation_subxact_callback, NULL);
		rotation_callback_registered = true;
	}
	memcpy(rotation_pending_from, from->id, CG_KEY_ID_LEN);
	memcpy(rotation_pending_id, mk->id, CG_KEY_ID_LEN);
	rotation_pending_subxact = GetCurrentSubTransactionId();
	rotation_pending = true;
}

/*
 * The key to wrap a new data key with: the current key, unless it is the
 * one the last committed rotation rotated out (this backend's settings
 * predate the rotation); then the rotation's key, if it can be found.
 */
const CgMasterKey *
cg_master_key_for_wrapping(void)
{
	const CgMasterKey *mk = cg_master_key_current();
	const CgMasterKey *target;
	uint8		from[CG_KEY_ID_LEN];
	uint8		id[CG_KEY_ID_LEN];
	bool		set = false;

	if (rotation_target != NULL)
	{
		SpinLockAcquire(&rotation_target->mutex);
		set = rotation_target->set;
		memcpy(from, rotation_target->from_id, CG_KEY_ID_LEN);
		memcpy(id, rotation_target->id, CG_KEY_ID_LEN);
		SpinLockRelease(&rotation_target->mutex);
	}
	if (!set || memcmp(from, mk->id, CG_KEY_ID_LEN) != 0)
		return mk;
	target = cg_master_key_by_id(id);
	return target != NULL ? target : mk;
}

/* Hex form of a fingerprint, for messages and status views. */
char *
cg_key_id_hex(const uint8 *id)
{
	char	   *out = palloc(CG_KEY_ID_LEN * 2 + 1);

	for (int i = 0; i < CG_KEY_ID_LEN; i++)
		sprintf(out + 2 * i, "%02x", id[i]);
	return out;
}
