/*-------------------------------------------------------------------------
 *
 * correction_permit.c
 *	  childguard._permit_correction(subject_no, category): the permit that
 *	  lets childguard.correct_child_data() (Provisions Art 19) write a
 *	  corrected value of one category for one child without a declared
 *	  purpose or consent in force; the collection check (decision.c) asks
 *	  cg_correction_permitted() before its own checks.
 *
 * The SQL function is not granted to anyone: only correct_child_data(),
 * a SECURITY DEFINER function of the extension's owner, calls it, after
 * checking that the caller is an officer and that an open correction
 * request of that child exists; it sets the permit, runs its one UPDATE
 * and clears it.  The permit also dies with the top-level statement that
 * set it (it remembers the statement's id), so an error between setting
 * and clearing it leaves nothing behind for the next statement.  It covers
 * sealing only: reading the child's data still needs everything a read
 * needs.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "fmgr.h"
#include "utils/builtins.h"

#include "categories.h"
#include "correction_permit.h"
#include "statement.h"

typedef struct CorrectionPermit
{
	bool		active;
	uint64		statement_id;
	uint64		subject_no;
	int			category;
} CorrectionPermit;

static CorrectionPermit permit;

/* May a value of category be sealed for subject_no under a correction? */
bool
cg_correction_permitted(uint64 subject_no, int category)
{
	return permit.active && permit.statement_id == cg_statement_id() &&
		permit.subject_no == subject_no && permit.category == category;
}

PG_FUNCTION_INFO_V1(cg_permit_correction);
/* childguard._permit_correction(subject_no bigint, category text) */
Datum
cg_permit_correction(PG_FUNCTION_ARGS)
{
	int			category;

	if (PG_ARGISNULL(0) || PG_ARGISNULL(1))
	{
		memset(&permit, 0, sizeof(permit));
		PG_RETURN_VOID();
	}
	category = cg_category_lookup(text_to_cstring(PG_GETARG_TEXT_PP(1)));
	if (category == 0)
		cg_report_unknown_category(text_to_cstring(PG_GETARG_TEXT_PP(1)));
	permit.active = true;
	permit.statement_id = cg_statement_id();
	permit.subject_no = (uint64) PG_GETARG_INT64(0);
	permit.category = category;
	PG_RETURN_VOID();
}
