/*-------------------------------------------------------------------------
 *
 * server_files_guard.c
 *	  Keeping the master key out of reach of SQL (issue 8, item 6).
 *
 * PostgreSQL lets a non-superuser read and write the server's files in a
 * few ways: COPY to or from a file (pg_read_server_files,
 * pg_write_server_files), COPY ... PROGRAM (pg_execute_server_program),
 * the generic file functions (pg_read_file, pg_read_binary_file,
 * pg_stat_file, pg_ls_dir), server-side lo_import/lo_export, and
 * file_fdw's filename and program options.  The server's account can read
 * the master key file, so each of these would hand the key to a role we
 * do not trust with it.  While a master key source is configured:
 *
 *	- COPY FROM/TO a file and file_fdw's filename: the path is resolved
 *	  (realpath, so "..", symlinks and relative paths are seen through)
 *	  and refused if it is a key file, lies in a key file's directory, is
 *	  the key command's program, or is the same inode as one of them (a
 *	  hard link);
 *	- COPY ... TO a file in the data directory or beside the configuration
 *	  files: refused; rewriting postgresql.auto.conf would let a role name
 *	  its own key or archive command, run by the server's account;
 *	- ALTER SYSTEM (grantable per parameter since PostgreSQL 15) of a
 *	  childguard setting, a *_command or a library-loading parameter:
 *	  refused;
 *	- COPY ... PROGRAM and file_fdw's program: refused; a program runs as
 *	  the server's account and can read anything it can;
 *	- the file functions and server-side lo_import/lo_export: refused at
 *	  executor start of the call (object_access_hook's function-execute
 *	  event, raised for every route that runs a function: queries, views,
 *	  PL/pgSQL, cached plans); their argument is not known there, so they
 *	  are refused whatever the path.
 *
 * Superusers are not checked: a superuser can read the key in other ways
 * (docs/keys.md says what the supported deployment does about that).  The
 * cost outside these statements is one integer comparison per function
 * initialisation.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <limits.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "access/transam.h"
#include "catalog/objectaccess.h"
#include "commands/defrem.h"
#include "miscadmin.h"
#include "nodes/parsenodes.h"
#include "utils/fmgroids.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"

#include "childguard_errcodes.h"
#include "server_files_guard.h"

static const char *const key_file_settings[] = {
	"childguard.master_key_file",
	"childguard.previous_master_key_file",
};
static const char *const key_command_settings[] = {
	"childguard.master_key_command",
	"childguard.previous_master_key_command",
};

/* Functions that read or write a server file named by their argument. */
static const Oid file_functions[] = {
	F_PG_READ_FILE_TEXT,
	F_PG_READ_FILE_OLD,
	F_PG_READ_FILE_TEXT_INT8_INT8,
	F_PG_READ_FILE_TEXT_INT8_INT8_BOOL,
	F_PG_READ_BINARY_FILE_TEXT,
	F_PG_READ_BINARY_FILE_TEXT_INT8_INT8,
	F_PG_READ_BINARY_FILE_TEXT_INT8_INT8_BOOL,
	F_PG_STAT_FILE_TEXT,
	F_PG_STAT_FILE_TEXT_BOOL,
	F_PG_LS_DIR_TEXT,
	F_PG_LS_DIR_TEXT_BOOL_BOOL,
	F_LO_IMPORT_TEXT,
	F_LO_IMPORT_TEXT_OID,
	F_LO_EXPORT,
};

static const char *
setting(const char *name)
{
	const char *v = GetConfigOption(name, true, false);

	return (v != NULL && v[0] != '\0') ? v : NULL;
}

/* Is any master key source configured? */
static bool
key_configured(void)
{
	for (int i = 0; i < lengthof(key_file_settings); i++)
		if (setting(key_file_settings[i]) || setting(key_command_settings[i]))
			return true;
	return false;
}

/*
 * The canonical absolute form of path (relative paths are relative to the
 * data directory, the backend's working directory).  A path that does not
 * exist yet (COPY TO creates it) is its directory's canonical form plus
 * its last component.  NULL if neither can be resolved.
 */
static char *
resolve(const char *path)
{
	char		buf[PATH_MAX];
	char	   *copy;
	char	   *slash;

	if (realpath(path, buf) != NULL)
		return pstrdup(buf);
	copy = pstrdup(path);
	slash = strrchr(copy, '/');
	if (slash == NULL)
		return realpath(".", buf) ? psprintf("%s/%s", buf, copy) : NULL;
	*slash = '\0';
	if (realpath(copy[0] ? copy : "/", buf) == NULL)
		return NULL;
	return psprintf("%s/%s", buf, slash + 1);
}

/* Is target inside the directory that holds the (resolved) file path? */
static bool
in_directory_of(const char *target, const char *path)
{
	const char *slash = strrchr(path, '/');
	size_t		dirlen;

	if (slash == NULL)
		return false;
	dirlen = slash - path;
	if (dirlen == 0)
		return false;			/* a key at / would make everything its directory */
	return strncmp(target, path, dirlen) == 0 &&
		(target[dirlen] == '/' || target[dirlen] == '\0');
}

/*
 * Is target the file key, the same inode, or (with whole_dir) in its
 * directory?  The directory is taken both where the setting names it and
 * where a symbolic link at the key's own name leads.
 */
static bool
reaches(const char *target, const struct stat *tst, bool tst_valid,
		const char *key, bool whole_dir)
{
	char	   *rkey = resolve(key);
	struct stat kst;

	if (rkey == NULL)
		return false;
	if (strcmp(target, rkey) == 0)
		return true;
	if (tst_valid && stat(rkey, &kst) == 0 &&
		kst.st_dev == tst->st_dev && kst.st_ino == tst->st_ino)
		return true;
	if (whole_dir)
	{
		char	   *named = pstrdup(key);
		char	   *slash = strrchr(named, '/');
		char	   *rdir = NULL;

		if (in_directory_of(target, rkey))
			return true;
		/* the directory as configured, when the key itself is a symlink */
		if (slash != NULL)
		{
			slash[1] = '\0';
			rdir = resolve(named[0] ? named : "/");
		}
		if (rdir != NULL && strcmp(rdir, "/") != 0 &&
			strncmp(target, rdir, strlen(rdir)) == 0 &&
			(target[strlen(rdir)] == '/' || target[strlen(rdir)] == '\0'))
			return true;
	}
	return false;
}

/* The program a key command runs (its first word), or NULL. */
static char *
command_program(const char *command)
{
	size_t		n = strcspn(command, " \t\n");

	return n > 0 ? pnstrdup(command, n) : NULL;
}

/* Refuse path if it leads to key material. */
static void
check_path(const char *path)
{
	char	   *target;
	struct stat tst;
	bool		tst_valid;

	if (path == NULL)
		return;
	target = resolve(path);
	if (target == NULL)
		return;					/* cannot be opened either */
	tst_valid = stat(target, &tst) == 0;
	for (int i = 0; i < lengthof(key_file_settings); i++)
	{
		const char *file = setting(key_file_settings[i]);
		const char *cmd = setting(key_command_settings[i]);
		char	   *prog = cmd ? command_program(cmd) : NULL;

		if ((file && reaches(target, &tst, tst_valid, file, true)) ||
			(prog && strchr(prog, '/') && reaches(target, &tst, tst_valid, prog, false)))
			ereport(ERROR,
					(errcode(ERRCODE_CG_KEY_FILE_REFUSED),
					 errmsg("cannot read or write a server file that holds childguard key material"),
					 errdetail("The path leads to a configured master key file, a file in its directory, or the master key command's program."),
					 errhint("Only a superuser can use these files; keep other files out of the key's directory.")));
	}
}

/*
 * Refuse a write into the data directory or beside the configuration
 * files: a role that could rewrite postgresql.auto.conf (or pg_hba.conf, or
 * a file the server later loads) could name its own key command or archive
 * command and have the server's account hand it the key.
 */
static void
check_write_path(const char *path)
{
	static const char *const dirs_of[] = {"config_file", "hba_file", "ident_file"};
	char	   *target = resolve(path);
	char	   *datadir;

	if (target == NULL)
		return;
	datadir = resolve(DataDir);
	if (datadir != NULL &&
		strncmp(target, datadir, strlen(datadir)) == 0 &&
		(target[strlen(datadir)] == '/' || target[strlen(datadir)] == '\0'))
		goto refuse;
	for (int i = 0; i < lengthof(dirs_of); i++)
	{
		const char *file = setting(dirs_of[i]);
		char	   *rfile = file ? resolve(file) : NULL;

		if (rfile != NULL && in_directory_of(target, rfile))
			goto refuse;
	}
	return;

refuse:
	ereport(ERROR,
			(errcode(ERRCODE_CG_SERVER_CONFIG_WRITE_REFUSED),
			 errmsg("cannot write a file into the data directory or beside the server's configuration"),
			 errdetail("The server reads its settings, among them the master key command, from there."),
			 errhint("Write to a directory outside the data directory.")));
}

static void
refuse_program(void)
{
	ereport(ERROR,
			(errcode(ERRCODE_CG_SERVER_PROGRAM_REFUSED),
			 errmsg("cannot run a server program while childguard holds a master key"),
			 errdetail("A program run by the server runs as its operating-system account, which can read the master key."),
			 errhint("Run the program as a superuser, or outside the database.")));
}

/* file_fdw-style options: filename is a path, program a command. */
static void
check_options(List *options)
{
	ListCell   *lc;

	foreach(lc, options)
	{
		DefElem    *def = lfirst_node(DefElem, lc);

		if (def->defaction == DEFELEM_DROP || def->arg == NULL)
			continue;
		if (strcmp(def->defname, "filename") == 0)
			check_path(defGetString(def));
		else if (strcmp(def->defname, "program") == 0)
			refuse_program();
	}
}

/*
 * ALTER SYSTEM (PostgreSQL 15 lets a superuser grant it per parameter): a
 * parameter that names the key, runs a command as the server's account or
 * loads code would hand its holder the key.
 */
static void
check_alter_system(AlterSystemStmt *stmt)
{
	const char *name = stmt->setstmt->name;
	static const char *const loaders[] = {
		"shared_preload_libraries", "session_preload_libraries",
		"local_preload_libraries", "dynamic_library_path", "archive_library",
	};
	bool		refused = false;
	size_t		len;

	if (name == NULL)
		return;					/* ALTER SYSTEM RESET ALL: superuser only anyway */
	len = strlen(name);
	refused = pg_strncasecmp(name, "childguard.", 11) == 0 ||
		(len > 8 && pg_strcasecmp(name + len - 8, "_command") == 0);
	for (int i = 0; i < lengthof(loaders) && !refused; i++)
		refused = pg_strcasecmp(name, loaders[i]) == 0;
	if (refused)
		ereport(ERROR,
				(errcode(ERRCODE_CG_SERVER_SETTING_REFUSED),
				 errmsg("cannot let a non-superuser set \"%s\" while childguard holds a master key", name),
				 errdetail("The parameter names the master key, runs a command as the server's account or loads code, any of which can reach the key."),
				 errhint("A superuser sets it.")));
}

/* ProcessUtility: COPY with a file or program, file_fdw tables, ALTER SYSTEM. */
void
cg_server_files_utility(Node *parsetree)
{
	if (parsetree == NULL || superuser())
		return;
	if (IsA(parsetree, AlterSystemStmt))
	{
		if (key_configured())
			check_alter_system((AlterSystemStmt *) parsetree);
	}
	else if (IsA(parsetree, CopyStmt))
	{
		CopyStmt   *copy = (CopyStmt *) parsetree;

		if (copy->filename == NULL || !key_configured())
			return;
		if (copy->is_program)
			refuse_program();
		check_path(copy->filename);
		if (!copy->is_from)
			check_write_path(copy->filename);
	}
	else if (IsA(parsetree, CreateForeignTableStmt))
	{
		if (key_configured())
			check_options(((CreateForeignTableStmt *) parsetree)->options);
	}
	else if (IsA(parsetree, AlterTableStmt))
	{
		AlterTableStmt *alter = (AlterTableStmt *) parsetree;
		ListCell   *lc;

		if (alter->objtype != OBJECT_FOREIGN_TABLE || !key_configured())
			return;
		foreach(lc, alter->cmds)
		{
			AlterTableCmd *cmd = lfirst_node(AlterTableCmd, lc);

			if (cmd->subtype == AT_GenericOptions)
				check_options((List *) cmd->def);
		}
	}
}

/* object_access_hook, OAT_FUNCTION_EXECUTE: the server file functions. */
uint8		cg_server_files_listed[FirstGenbkiObjectId / 8];
bool		cg_server_files_listed_made = false;

void
cg_server_files_function_execute(Oid funcid)
{
	/* the listed functions are built in: any later function (ours, a user's) is not one */
	if (funcid >= FirstGenbkiObjectId)
		return;
	/* the listed functions as bits by OID, made at the first call */
	if (!cg_server_files_listed_made)
	{
		for (int i = 0; i < lengthof(file_functions); i++)
		{
			Assert(file_functions[i] < FirstGenbkiObjectId);
			cg_server_files_listed[file_functions[i] / 8] |= (uint8) (1 << (file_functions[i] % 8));
		}
		cg_server_files_listed_made = true;
	}
	if (!(cg_server_files_listed[funcid / 8] & (1 << (funcid % 8))) || superuser() ||
		!key_configured())
		return;
	ereport(ERROR,
			(errcode(ERRCODE_CG_FILE_FUNCTION_REFUSED),
			 errmsg("cannot call %s() while childguard holds a master key",
					get_func_name(funcid)),
			 errdetail("Server file functions can reach the master key file; childguard leaves them to superusers."),
			 errhint("Ask a superuser, or read the file outside the database.")));
}
