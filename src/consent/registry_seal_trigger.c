/*-------------------------------------------------------------------------
 *
 * registry_seal_trigger.c
 *	  The trigger that keeps the registry's personal data sealed:
 *	  childguard._seal_child(), BEFORE INSERT OR UPDATE FOR EACH ROW on
 *	  childguard.child (1.4, docs/security.md "Registry personal data").
 *
 * Whatever a writer puts in the plaintext columns (birth_date,
 * in_difficulty, can_express) -- register_child(), register_children(),
 * set_child_circumstances(), a restore of an older dump -- is merged with
 * what the row already holds sealed, sealed again (registry_seal.c) into
 * `sealed`, and cleared, before the row reaches a page.  A row that brings
 * no plaintext (e.g. erasure stamping erased_at, a restore of a 1.4 dump)
 * passes unchanged.  In C, not PL/pgSQL: it runs once per registered child.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "commands/trigger.h"
#include "executor/spi.h"
#include "utils/builtins.h"
#include "utils/rel.h"

#include "registry_seal.h"

/* A column of childguard.child by name (the trigger is only ever on it). */
static int
column(TupleDesc desc, const char *name)
{
	int			attnum = SPI_fnumber(desc, name);

	if (attnum <= 0)
		elog(ERROR, "childguard.child has no column \"%s\"", name);
	return attnum;
}

PG_FUNCTION_INFO_V1(cg_seal_child);

Datum
cg_seal_child(PG_FUNCTION_ARGS)
{
	TriggerData *td = (TriggerData *) fcinfo->context;
	TupleDesc	desc;
	HeapTuple	tuple;
	int			cols[4];
	Datum		values[4];
	bool		nulls[4] = {true, true, true, false};
	bool		isnull[5];
	Datum		v[5];
	CgRegistryFacts facts;
	CgRegistryFacts old;
	bool		have_old = false;
	uint64		subject_no;

	if (!CALLED_AS_TRIGGER(fcinfo) || !TRIGGER_FIRED_BEFORE(td->tg_event) ||
		!TRIGGER_FIRED_FOR_ROW(td->tg_event) || TRIGGER_FIRED_BY_DELETE(td->tg_event))
		elog(ERROR, "childguard._seal_child() must be a BEFORE INSERT OR UPDATE row trigger");
	desc = RelationGetDescr(td->tg_relation);
	tuple = TRIGGER_FIRED_BY_UPDATE(td->tg_event) ? td->tg_newtuple : td->tg_trigtuple;
	cols[0] = column(desc, "birth_date");
	cols[1] = column(desc, "in_difficulty");
	cols[2] = column(desc, "can_express");
	cols[3] = column(desc, "sealed");
	for (int i = 0; i < 4; i++)
		v[i] = heap_getattr(tuple, cols[i], desc, &isnull[i]);
	v[4] = heap_getattr(tuple, column(desc, "subject_no"), desc, &isnull[4]);
	if (isnull[0] && isnull[1] && isnull[2])
		return PointerGetDatum(tuple);
	if (isnull[4])
		elog(ERROR, "childguard.child row has no subject number");
	subject_no = (uint64) DatumGetInt64(v[4]);
	if (!isnull[3])
	{
		cg_registry_open(subject_no, DatumGetByteaPP(v[3]), &old);
		have_old = true;
	}
	if (!isnull[0])
		facts.birth_date = DatumGetDateADT(v[0]);
	else if (have_old)
		facts.birth_date = old.birth_date;
	else
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("a child's birth date is required")));
	facts.in_difficulty = !isnull[1] ? DatumGetBool(v[1]) : have_old && old.in_difficulty;
	facts.can_express = !isnull[2] ? DatumGetBool(v[2]) : !have_old || old.can_express;
	values[3] = PointerGetDatum(cg_registry_seal(subject_no, &facts));
	values[0] = values[1] = values[2] = (Datum) 0;
	return PointerGetDatum(heap_modify_tuple_by_cols(tuple, desc, 4, cols, values, nulls));
}
