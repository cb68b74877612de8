/*-------------------------------------------------------------------------
 *
 * citus_seal.h
 *	  The coordinator seals child data for its child before Citus ships a
 *	  write to the workers (citus_seal.c).
 *
 *-------------------------------------------------------------------------
 */
#ifndef CHILDGUARD_CITUS_SEAL_H
#define CHILDGUARD_CITUS_SEAL_H

#include "postgres.h"

#include "nodes/parsenodes.h"

extern void cg_citus_seal_rewrite(Query *parse);

#endif							/* CHILDGUARD_CITUS_SEAL_H */
