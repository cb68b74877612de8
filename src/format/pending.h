/*-------------------------------------------------------------------------
 *
 * pending.h
 *	  Pending values: plaintext that has been typed in but not yet sealed
 *	  for a child by a protected table's trigger.
 *
 *-------------------------------------------------------------------------
 */
#ifndef CHILDGUARD_PENDING_H
#define CHILDGUARD_PENDING_H

#include "envelope.h"

extern struct varlena *cg_pending_seal(const char *plain, size_t len);
extern char *cg_pending_open(const CgEnvelope *env, size_t *len);

#endif							/* CHILDGUARD_PENDING_H */
