/*-------------------------------------------------------------------------
 *
 * citus_coordinator.c
 *	  On a Citus coordinator (childguard.citus_node = coordinator), a
 *	  statement whose plan runs Citus's executor (a CustomScan of Citus's)
 *	  runs with output of child data as envelopes -- so Citus's deparsing
 *	  of constants into shard queries, and its COPY of rows to shards,
 *	  send only envelopes -- except inside the client's receiver, where
 *	  the row goes to the client: there output decides and decrypts as on
 *	  a single node (child_data.c, decision.c), and the statement's audit
 *	  record names the distributed table, from the coordinator's own plan.
 *	  Values come back from the workers as envelopes (a worker never
 *	  decrypts), so what the client may read is decided here, once per
 *	  statement and child, whatever shards the rows came from.
 *
 *	  The wrapping receiver only sets the flag around the client's
 *	  receiveSlot; PG_FINALLY restores it.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_class.h"
#include "nodes/extensible.h"
#include "nodes/nodeFuncs.h"

#include "parser/parsetree.h"

#include "catalog.h"
#include "citus_coordinator.h"
#include "citus_node.h"
#include "protection.h"
#include "statement.h"

/* Is plan (or anything under it) one of Citus's custom scans? */
static bool
plan_has_citus_scan(Plan *plan)
{
	if (plan == NULL)
		return false;
	if (IsA(plan, CustomScan))
	{
		/* "Citus Adaptive", "Citus INSERT ... SELECT", "Citus MERGE INTO ..." */
		if (strncmp(((CustomScan *) plan)->methods->CustomName, "Citus ", 6) == 0)
			return true;
	}
	if (IsA(plan, SubqueryScan) &&
		plan_has_citus_scan(((SubqueryScan *) plan)->subplan))
		return true;
	if (IsA(plan, Append))
	{
		ListCell   *lc;

		foreach(lc, ((Append *) plan)->appendplans)
			if (plan_has_citus_scan(lfirst(lc)))
				return true;
	}
	return plan_has_citus_scan(plan->lefttree) || plan_has_citus_scan(plan->righttree);
}

/* Does Citus ship anything of this statement (coordinator only)? */
bool
cg_citus_plan_ships(PlannedStmt *stmt)
{
	ListCell   *lc;

	if (!cg_citus_coordinator() || stmt == NULL || stmt->commandType == CMD_UTILITY)
		return false;
	if (plan_has_citus_scan(stmt->planTree))
		return true;
	foreach(lc, stmt->subplans)
		if (plan_has_citus_scan(lfirst(lc)))
			return true;
	return false;
}

typedef struct ClientReceiver
{
	DestReceiver pub;
	DestReceiver *client;
} ClientReceiver;

static bool
client_receive(TupleTableSlot *slot, DestReceiver *self)
{
	ClientReceiver *r = (ClientReceiver *) self;
	bool		saved;
	volatile bool result = false;

	cg_citus_client_output_enter(&saved);
	PG_TRY();
	{
		result = r->client->receiveSlot(slot, r->client);
	}
	PG_FINALLY();
	{
		cg_citus_client_output_leave(saved);
	}
	PG_END_TRY();
	return result;
}

static void
client_startup(DestReceiver *self, int operation, TupleDesc typeinfo)
{
	ClientReceiver *r = (ClientReceiver *) self;

	r->client->rStartup(r->client, operation, typeinfo);
}

static void
client_shutdown(DestReceiver *self)
{
	ClientReceiver *r = (ClientReceiver *) self;

	r->client->rShutdown(r->client);
}

static void
client_destroy(DestReceiver *self)
{
	pfree(self);
}

/*
 * A receiver in front of client in which output is the decided read's, if
 * client is the client's connection (a query's result, a cursor's FETCH);
 * NULL otherwise: Citus's own receivers (intermediate results, the rows of
 * INSERT ... SELECT it copies to shards), COPY TO, SPI and the like get
 * envelopes.
 */
DestReceiver *
cg_citus_client_wrap(DestReceiver *client, CommandDest mydest)
{
	ClientReceiver *r;

	if (mydest != DestRemote && mydest != DestRemoteExecute && mydest != DestRemoteSimple)
		return NULL;
	r = palloc0(sizeof(ClientReceiver));

	r->pub.receiveSlot = client_receive;
	r->pub.rStartup = client_startup;
	r->pub.rShutdown = client_shutdown;
	r->pub.rDestroy = client_destroy;
	r->pub.mydest = client->mydest;
	r->client = client;
	return &r->pub;
}

/*
 * ExecutorStart on a coordinator: a DELETE of a distributed protected
 * table runs on the workers, where nothing is recorded and the seal
 * trigger's DELETE half does nothing; the coordinator cannot know the
 * children of the rows removed, but the statement is recorded once, here,
 * naming the table and the number of rows (docs/scale-out.md).
 */
void
cg_citus_executor_start(QueryDesc *queryDesc)
{
	PlannedStmt *ps = queryDesc->plannedstmt;
	ListCell   *lc;

	if (ps->commandType != CMD_DELETE || !cg_citus_coordinator() ||
		!OidIsValid(cg_child_data_type()) || !cg_citus_plan_ships(ps))
		return;
	foreach(lc, ps->rtable)
	{
		RangeTblEntry *rte = lfirst(lc);

		if (rte->rtekind == RTE_RELATION && rte->relkind == RELKIND_RELATION &&
			cg_protection_of_relid(rte->relid)->has_child_data &&
			cg_citus_is_distributed(rte->relid))
		{
			cg_statement_note_unnamed(CG_ACCESS_WRITE);
			return;
		}
	}
}

/*
 * ExecutorStart's previous hook (start), called with Citus shipping
 * envelopes when the plan is Citus's: Citus deparses and evaluates the
 * shard queries of a prepared statement there.
 */
void
cg_citus_executor_start_shipping(void (*start) (QueryDesc *, int),
								 QueryDesc *queryDesc, int eflags)
{
	int			shipping;

	if (!cg_citus_plan_ships(queryDesc->plannedstmt))
	{
		start(queryDesc, eflags);
		return;
	}
	cg_citus_shipping_enter(&shipping);
	PG_TRY();
	{
		start(queryDesc, eflags);
	}
	PG_FINALLY();
	{
		cg_citus_shipping_leave(shipping);
	}
	PG_END_TRY();
}

/*
 * ExecutorRun of a plan of Citus's: Citus ships envelopes, and the
 * client's receiver (client, before any wrapping) shows decided reads.
 * cg_citus_run_end() undoes it, also on error.
 */
void
cg_citus_run_begin(QueryDesc *queryDesc, DestReceiver *client, CgCitusRun *run)
{
	run->wrapper = NULL;
	run->on = false;
	if (!cg_citus_plan_ships(queryDesc->plannedstmt))
		return;
	run->wrapper = cg_citus_client_wrap(queryDesc->dest, client->mydest);
	if (run->wrapper != NULL)
		queryDesc->dest = run->wrapper;
	cg_citus_shipping_enter(&run->shipping);
	run->on = true;
}

void
cg_citus_run_end(CgCitusRun *run)
{
	if (run->on)
		cg_citus_shipping_leave(run->shipping);
	if (run->wrapper != NULL)
		run->wrapper->rDestroy(run->wrapper);
	run->wrapper = NULL;
	run->on = false;
}
