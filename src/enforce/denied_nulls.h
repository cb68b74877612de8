/*-------------------------------------------------------------------------
 *
 * denied_nulls.h
 *	  Denied child data values sent to the client as NULL
 *	  (childguard.denied_read = null).
 *
 *-------------------------------------------------------------------------
 */
#ifndef CHILDGUARD_DENIED_NULLS_H
#define CHILDGUARD_DENIED_NULLS_H

#include "executor/execdesc.h"

extern DestReceiver *cg_denied_nulls_wrap(QueryDesc *queryDesc);

#endif							/* CHILDGUARD_DENIED_NULLS_H */
