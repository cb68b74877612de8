/*-------------------------------------------------------------------------
 *
 * citus_worker.c
 *	  The rules of a Citus worker (childguard.citus_node = worker): it
 *	  stores and returns envelopes sealed by the coordinator, and nothing
 *	  else.  Its child_data input takes only sealed envelopes -- never
 *	  plaintext, never a pending value (only the coordinator process that
 *	  entered it could open it) -- so no route (a shipped INSERT, COPY into
 *	  a shard, a shard move, a direct connection) puts anything else in a
 *	  shard; its output is always the envelope and it compares nothing,
 *	  so it needs no purpose, no registry, no data key and decides nothing
 *	  (decision.c's envelope-only rule).  The seal trigger Citus copies onto
 *	  shards therefore has nothing to do there (seal_trigger.c), and the
 *	  row-level security Citus would recreate on shards (without AS
 *	  RESTRICTIVE) is not created at all on a table holding child data:
 *	  it would decide nothing, and it would stop Citus's COPY into shards
 *	  for every role but a superuser's.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/namespace.h"
#include "nodes/parsenodes.h"

#include "childguard_errcodes.h"
#include "citus_node.h"
#include "citus_worker.h"
#include "envelope.h"
#include "protection.h"

/* A worker takes a sealed envelope, never a pending one. */
void
cg_citus_worker_check_sealed(struct varlena *value)
{
	CgEnvelope	env;

	cg_envelope_parse(value, &env);
	if (env.flags & CG_ENV_PENDING)
		ereport(ERROR,
				(errcode(ERRCODE_CG_CITUS_WORKER_PENDING),
				 errmsg("a Citus worker takes only child data sealed for a child"),
				 errdetail("The value was entered in a coordinator session and not sealed for its child before it was sent (a value written by INSERT ... SELECT or COPY, or one to compare with); only that session could open it, and a worker compares no child data."),
				 errhint("Write child data through the coordinator with INSERT ... VALUES or UPDATE ... WHERE <child column> = <child id>, and select rows by other columns; see docs/scale-out.md.")));
}

/* A worker never takes plaintext. */
void
cg_citus_worker_refuse_plaintext(void)
{
	ereport(ERROR,
			(errcode(ERRCODE_CG_CITUS_WORKER_PLAINTEXT),
			 errmsg("a Citus worker does not take plaintext child data"),
			 errdetail("On a worker (childguard.citus_node = worker) child data is stored only as envelopes sealed on the coordinator."),
			 errhint("Write child data through the coordinator; see docs/scale-out.md.")));
}

/* A worker never compares child data: comparing is a read, and only the coordinator decides. */
void
cg_citus_worker_refuse_compare(void)
{
	ereport(ERROR,
			(errcode(ERRCODE_CG_CITUS_WORKER_COMPARE),
			 errmsg("cannot compare child data on a Citus worker"),
			 errdetail("Comparing child data reads it; in a Citus cluster only the coordinator decides and decrypts, and conditions on child data are evaluated on the workers."),
			 errhint("Select the rows by the child id or other columns and filter child data in the application; see docs/scale-out.md.")));
}

/* Does this RangeVar name a table holding child data? */
static bool
holds_child_data(RangeVar *rv)
{
	Oid			relid;

	if (rv == NULL)
		return false;
	relid = RangeVarGetRelid(rv, NoLock, true);
	return OidIsValid(relid) && cg_protection_of_relid(relid)->has_child_data;
}

/*
 * On a worker, is this utility statement one to skip: row-level security
 * for a table holding child data (ALTER TABLE ... ENABLE / FORCE ROW LEVEL
 * SECURITY and nothing else, CREATE POLICY), as Citus sends them when it
 * creates a shard or propagates protect()'s DDL?
 */
bool
cg_citus_worker_skips_utility(Node *stmt)
{
	if (!cg_citus_worker() || stmt == NULL)
		return false;
	if (IsA(stmt, CreatePolicyStmt))
		return holds_child_data(((CreatePolicyStmt *) stmt)->table);
	if (IsA(stmt, AlterTableStmt))
	{
		AlterTableStmt *at = (AlterTableStmt *) stmt;
		ListCell   *lc;

		if (at->cmds == NIL)
			return false;
		foreach(lc, at->cmds)
		{
			AlterTableCmd *cmd = lfirst(lc);

			if (cmd->subtype != AT_EnableRowSecurity && cmd->subtype != AT_ForceRowSecurity)
				return false;
		}
		return holds_child_data(at->relation);
	}
	return false;
}
