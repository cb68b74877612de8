/*-------------------------------------------------------------------------
 *
 * retention_settings.c
 *	  The retention worker's settings (postgresql.conf, reloadable):
 *	  childguard.retention_interval, childguard.retention_databases,
 *	  childguard.retention_batch_size.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <limits.h>

#include "utils/guc.h"

#include "retention.h"

int			cg_retention_interval_s = 60;
char	   *cg_retention_databases = NULL;
int			cg_retention_batch_size = 1000;

/* From _PG_init.  PGC_SIGHUP: no session can switch erasure off for itself. */
void
cg_retention_define_gucs(void)
{
	DefineCustomIntVariable("childguard.retention_interval",
							"Time between two retention sweeps of a database (0 turns the retention worker off).",
							"The sweep erases data that has lost its lawful basis (childguard.retention_due).",
							&cg_retention_interval_s, 60, 0, INT_MAX / 1000,
							PGC_SIGHUP, GUC_UNIT_S, NULL, NULL, NULL);
	DefineCustomStringVariable("childguard.retention_databases",
							   "Databases the retention worker sweeps (comma-separated names; empty: every database where childguard is installed).",
							   NULL,
							   &cg_retention_databases, "",
							   PGC_SIGHUP, GUC_LIST_INPUT, NULL, NULL, NULL);
	DefineCustomIntVariable("childguard.retention_batch_size",
							"How many (child, table) erasures a retention sweep makes per transaction.",
							NULL,
							&cg_retention_batch_size, 1000, 1, 1000000,
							PGC_SIGHUP, 0, NULL, NULL, NULL);
}
