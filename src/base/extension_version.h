/*-------------------------------------------------------------------------
 *
 * extension_version.h
 *	  The installed SQL version of childguard, for errors that tell the
 *	  user which version their database is at and how to update it.
 *
 *-------------------------------------------------------------------------
 */
#ifndef CHILDGUARD_EXTENSION_VERSION_H
#define CHILDGUARD_EXTENSION_VERSION_H

#include "postgres.h"

extern char *cg_extension_version(void);
extern bool cg_running_own_script(void);
extern void cg_report_sql_mismatch(const char *object, const char *detail) pg_attribute_noreturn();

#endif							/* CHILDGUARD_EXTENSION_VERSION_H */
