/*-------------------------------------------------------------------------
 *
 * held_cursor.c
 *	  No plaintext is kept in a cursor WITH HOLD.
 *
 *	  When the transaction that declared a cursor WITH HOLD commits,
 *	  PostgreSQL runs the cursor's query to its end (PersistHoldablePortal)
 *	  and keeps the rows in a store that outlives the transaction; later
 *	  FETCHes (or a protocol Execute naming the cursor) read the store and
 *	  run no query.  A child_data column kept as it is stays an envelope
 *	  there, and is decided when a FETCH outputs it, under that FETCH's
 *	  context.  But whatever the query computed from plaintext -- a cast to
 *	  text, upper(name::text), a condition or an order on the value -- was
 *	  decided under the committing transaction's context, and the store
 *	  handed it to any later FETCH: after the consent was withdrawn, to
 *	  another role after SET ROLE, to the next client of a transaction pool
 *	  that declared no purpose, with no decision and no audit record.
 *
 *	  So a value is never opened while a held cursor is being kept
 *	  (ZC580: the COMMIT fails, as it does when any error stops the
 *	  cursor's query there).  The state is recognised from the portal
 *	  PostgreSQL is running: a one-select portal that has its hold store
 *	  and still its executor is being persisted; once kept, its query
 *	  descriptor is gone and FETCH reads only the store.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "tcop/pquery.h"
#include "utils/portal.h"

#include "childguard_errcodes.h"
#include "held_cursor.h"

bool
cg_held_cursor_persisting(void)
{
	Portal		p = ActivePortal;

	return p != NULL &&
		(p->cursorOptions & CURSOR_OPT_HOLD) != 0 &&
		p->strategy == PORTAL_ONE_SELECT &&
		p->holdStore != NULL &&
		p->queryDesc != NULL;
}

void
cg_held_cursor_refuse(void)
{
	ereport(ERROR,
			(errcode(ERRCODE_CG_HELD_CURSOR_PLAINTEXT),
			 errmsg("cannot keep child data in plaintext in cursor \"%s\" WITH HOLD",
					ActivePortal->name),
			 errdetail("A cursor WITH HOLD keeps what its query computed past the transaction, where no later statement decides it; the cursor's query reads a child data value in plaintext (a conversion, a condition or an order on it)."),
			 errhint("Select the child data columns themselves (each FETCH decides them), or use a cursor without HOLD.")));
}
