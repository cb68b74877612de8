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
 *	  (decision.c's envelope-only rule).  The seal trigger and row policies
 *	  Citus copies onto shards therefore have nothing to do there
 *	  (seal_trigger.c, row_policy.c).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "childguard_errcodes.h"
#include "citus_worker.h"
#include "envelope.h"

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
