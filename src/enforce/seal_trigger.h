/*-------------------------------------------------------------------------
 *
 * seal_trigger.h
 *	  Sealing a pending value for its child (seal_trigger.c), shared with
 *	  the coordinator's sealing of values bound for Citus shards
 *	  (citus_seal.c).
 *
 *-------------------------------------------------------------------------
 */
#ifndef CHILDGUARD_SEAL_TRIGGER_H
#define CHILDGUARD_SEAL_TRIGGER_H

#include "postgres.h"

#include "blind_index.h"
#include "envelope.h"
#include "subjects.h"

extern struct varlena *cg_seal_pending(const CgEnvelope *env, const CgSubject *subject,
									   uint8 category, const char *child_id,
									   const CgBlindColumn *bc, uint8 *hash_out);

#endif							/* CHILDGUARD_SEAL_TRIGGER_H */
