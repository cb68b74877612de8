/*-------------------------------------------------------------------------
 *
 * audit_settings.c
 *	  The childguard.audit* settings.  Everything that could weaken the
 *	  trail is PGC_SIGHUP (or PGC_POSTMASTER) and superuser-only, so no
 *	  session can switch auditing off or loosen it for itself.  Only
 *	  audit_log_client, which copies the server-log line to the client as a
 *	  NOTICE (for tests), is PGC_SUSET.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <limits.h>

#include "utils/guc.h"

#include "audit.h"

bool		cg_audit_enabled = true;
bool		cg_audit_sync = false;
int			cg_audit_queue_full = CG_AUDIT_FULL_WAIT;
int			cg_audit_wait_timeout = 10000;
int			cg_audit_queue_kb = 8192;
int			cg_audit_batch_size = 500;
int			cg_audit_retention_min = 0;
int			cg_audit_writer_restart = 1;
int			cg_audit_writer_idle = 2000;
int			cg_audit_writer_delay = 10;
bool		cg_audit_log_server = false;
bool		cg_audit_log_client = false;

static const struct config_enum_entry queue_full_options[] = {
	{"wait", CG_AUDIT_FULL_WAIT, false},
	{"error", CG_AUDIT_FULL_ERROR, false},
	{NULL, 0, false}
};

void
cg_audit_define_gucs(void)
{
	DefineCustomBoolVariable("childguard.audit",
							 "Records every statement that reads, is denied or writes child data.",
							 "Turning it off breaks the audit duty (Art 15, 22); meant for measurements only.",
							 &cg_audit_enabled, true, PGC_SIGHUP, GUC_SUPERUSER_ONLY,
							 NULL, NULL, NULL);
	DefineCustomBoolVariable("childguard.audit_sync",
							 "Makes a statement that touched child data wait until its audit record is committed.",
							 "With it on, no statement that decrypted child data completes before its record is durable.",
							 &cg_audit_sync, false, PGC_SIGHUP, GUC_SUPERUSER_ONLY,
							 NULL, NULL, NULL);
	DefineCustomEnumVariable("childguard.audit_queue_full",
							 "What a statement touching child data does when the audit queue is full.",
							 "wait: wait for room up to childguard.audit_wait_timeout, then refuse; error: refuse at once. Records are never dropped.",
							 &cg_audit_queue_full, CG_AUDIT_FULL_WAIT, queue_full_options,
							 PGC_SIGHUP, GUC_SUPERUSER_ONLY, NULL, NULL, NULL);
	DefineCustomIntVariable("childguard.audit_wait_timeout",
							"How long a statement waits for room in the audit queue, or (audit_sync) for its record to be committed.",
							"0 waits without limit.",
							&cg_audit_wait_timeout, 10000, 0, INT_MAX,
							PGC_SIGHUP, GUC_SUPERUSER_ONLY | GUC_UNIT_MS, NULL, NULL, NULL);
	DefineCustomIntVariable("childguard.audit_queue_size",
							"Size of the shared-memory audit queue.",
							"One record can take at most a quarter of it.",
							&cg_audit_queue_kb, 8192, 256, 1024 * 1024,
							PGC_POSTMASTER, GUC_SUPERUSER_ONLY | GUC_UNIT_KB, NULL, NULL, NULL);
	DefineCustomIntVariable("childguard.audit_batch_size",
							"How many audit records the writer commits in one transaction.",
							NULL,
							&cg_audit_batch_size, 500, 1, 100000,
							PGC_SIGHUP, GUC_SUPERUSER_ONLY, NULL, NULL, NULL);
	DefineCustomIntVariable("childguard.audit_retention",
							"How long records stay in childguard.access_log before the writer purges them.",
							"0 keeps them forever. A purge keeps the hash chain verifiable.",
							&cg_audit_retention_min, 0, 0, INT_MAX,
							PGC_SIGHUP, GUC_SUPERUSER_ONLY | GUC_UNIT_MIN, NULL, NULL, NULL);
	DefineCustomIntVariable("childguard.audit_writer_restart",
							"Seconds before a failed audit writer is restarted.",
							NULL,
							&cg_audit_writer_restart, 1, 1, 3600,
							PGC_SIGHUP, GUC_SUPERUSER_ONLY | GUC_UNIT_S, NULL, NULL, NULL);
	DefineCustomIntVariable("childguard.audit_writer_delay",
							"How long the audit writer lets records gather before writing a batch.",
							"Not applied when a backend waits for a record (childguard.audit_sync) or a full batch is queued. 0 writes at once.",
							&cg_audit_writer_delay, 10, 0, 1000,
							PGC_SIGHUP, GUC_SUPERUSER_ONLY | GUC_UNIT_MS, NULL, NULL, NULL);
	DefineCustomIntVariable("childguard.audit_writer_idle_timeout",
							"How long an audit writer waits for records before it exits.",
							"The next record starts a new writer. A writer holds a connection to its database, which DROP DATABASE waits for (up to 5 s).",
							&cg_audit_writer_idle, 2000, 100, INT_MAX,
							PGC_SIGHUP, GUC_SUPERUSER_ONLY | GUC_UNIT_MS, NULL, NULL, NULL);
	DefineCustomBoolVariable("childguard.audit_log_server",
							 "Also writes each audit record to the server log as an \"AUDIT: CHILD,...\" line.",
							 NULL,
							 &cg_audit_log_server, false, PGC_SIGHUP, GUC_SUPERUSER_ONLY,
							 NULL, NULL, NULL);
	DefineCustomBoolVariable("childguard.audit_log_client",
							 "Also sends the audit line to the client as a NOTICE (for tests).",
							 NULL,
							 &cg_audit_log_client, false, PGC_SUSET, 0,
							 NULL, NULL, NULL);
}
