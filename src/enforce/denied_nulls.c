/*-------------------------------------------------------------------------
 *
 * denied_nulls.c
 *	  childguard.denied_read = null: denied values reach the client as NULL.
 *
 * An output function cannot return NULL, so this works one level up: the
 * receiver that sends a query's rows to the client (or to the tuplestore
 * they wait in for FETCH or a held cursor) is wrapped, and for each
 * row its child_data columns are decided (decision.c) before the row is
 * passed on; a denied value becomes NULL.  Only queries whose result has
 * child_data columns, sent to a client, in a session that asked for nulls,
 * pay anything.  Values converted inside the query (name::text) are
 * already text by then and show the mask instead.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "executor/executor.h"
#include "executor/tuptable.h"

#include "catalog.h"
#include "decision.h"
#include "denied_nulls.h"
#include "envelope.h"
#include "protection.h"
#include "read_settings.h"

typedef struct NullingReceiver
{
	DestReceiver pub;
	DestReceiver *inner;
	TupleTableSlot *slot;		/* virtual copy of each row */
	bool	   *is_child_data;	/* per result column */
} NullingReceiver;

static void
nulling_startup(DestReceiver *self, int operation, TupleDesc typeinfo)
{
	NullingReceiver *r = (NullingReceiver *) self;

	r->slot = MakeSingleTupleTableSlot(typeinfo, &TTSOpsVirtual);
	r->inner->rStartup(r->inner, operation, typeinfo);
}

static bool
nulling_receive(TupleTableSlot *slot, DestReceiver *self)
{
	NullingReceiver *r = (NullingReceiver *) self;
	TupleTableSlot *out = r->slot;
	int			natts = slot->tts_tupleDescriptor->natts;

	slot_getallattrs(slot);
	ExecClearTuple(out);
	memcpy(out->tts_values, slot->tts_values, natts * sizeof(Datum));
	memcpy(out->tts_isnull, slot->tts_isnull, natts * sizeof(bool));
	for (int i = 0; i < natts; i++)
	{
		CgEnvelope	env;
		const char *why;

		if (!r->is_child_data[i] || out->tts_isnull[i])
			continue;
		cg_envelope_parse(PG_DETOAST_DATUM_PACKED(out->tts_values[i]), &env);
		if (env.flags & CG_ENV_PENDING)
			continue;
		if (cg_decide_read(env.subject, env.category, &why) == CG_VERDICT_DENY)
			out->tts_isnull[i] = true;
	}
	ExecStoreVirtualTuple(out);
	return r->inner->receiveSlot(out, r->inner);
}

static void
nulling_shutdown(DestReceiver *self)
{
	NullingReceiver *r = (NullingReceiver *) self;

	r->inner->rShutdown(r->inner);
	if (r->slot)
		ExecDropSingleTupleTableSlot(r->slot);
	r->slot = NULL;
}

static void
nulling_destroy(DestReceiver *self)
{
	pfree(self);
}

/*
 * If this query's rows go to the client with child_data columns and the
 * session asked for NULLs, a receiver that nulls denied values; else NULL.
 */
DestReceiver *
cg_denied_nulls_wrap(QueryDesc *queryDesc)
{
	TupleDesc	desc = queryDesc->tupDesc;
	NullingReceiver *r;
	bool		any = false;
	bool	   *is_cd;

	if (cg_denied_read() != CG_DENIED_NULL || desc == NULL ||
		!OidIsValid(cg_child_data_type()))
		return NULL;
	switch (queryDesc->dest->mydest)
	{
		case DestRemote:
		case DestRemoteExecute:
		case DestRemoteSimple:
		case DestTuplestore:	/* FETCH, held cursors, RETURN QUERY: on their way out */
			break;
		default:
			return NULL;
	}
	is_cd = palloc0(desc->natts * sizeof(bool));
	for (int i = 0; i < desc->natts; i++)
		if (cg_type_holds_child_data(TupleDescAttr(desc, i)->atttypid) == CG_HOLDS_DIRECT)
			is_cd[i] = any = true;
	if (!any)
	{
		pfree(is_cd);
		return NULL;
	}
	r = palloc0(sizeof(NullingReceiver));
	r->pub.receiveSlot = nulling_receive;
	r->pub.rStartup = nulling_startup;
	r->pub.rShutdown = nulling_shutdown;
	r->pub.rDestroy = nulling_destroy;
	r->pub.mydest = queryDesc->dest->mydest;
	r->inner = queryDesc->dest;
	r->is_child_data = is_cd;
	return (DestReceiver *) r;
}
