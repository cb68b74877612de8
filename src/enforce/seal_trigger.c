/*-------------------------------------------------------------------------
 *
 * seal_trigger.c
 *	  childguard.seal_row(): the BEFORE INSERT OR UPDATE row trigger that
 *	  protect() installs (and, from 1.4, its AFTER DELETE and BEFORE
 *	  TRUNCATE triggers: delete_rows.c).  It seals each pending value for the row's child
 *	  and the column's category, and refuses sealed values that belong to
 *	  another child or category (copying ciphertext between children).
 *	  Sealing new data is collection: it needs the declared purpose to need
 *	  the column's category and the child's consent (decision.c).
 *	  Work that does not change per row (which columns, which categories,
 *	  the subject column's output function) is cached in protection.c.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "commands/trigger.h"
#include "utils/rel.h"

#include "categories.h"
#include "childguard_errcodes.h"
#include "citus_node.h"
#include "data_keys.h"
#include "decision.h"
#include "delete_rows.h"
#include "envelope.h"
#include "operations_ceased.h"
#include "pending.h"
#include "protection.h"
#include "seal_trigger.h"
#include "subjects.h"

/* The row's child, resolved from its subject column. */
static void
resolve_subject(Relation rel, const CgProtection *p, HeapTuple tuple,
				CgSubject *subject, char **child_id)
{
	bool		isnull;
	Datum		d = heap_getattr(tuple, p->subject_attnum, RelationGetDescr(rel), &isnull);

	if (isnull)
		ereport(ERROR,
				(errcode(ERRCODE_CG_UNKNOWN_CHILD),
				 errmsg("child data in table \"%s\" needs a child",
						RelationGetRelationName(rel)),
				 errdetail("The subject column \"%s\" is null.",
						   NameStr(TupleDescAttr(RelationGetDescr(rel), p->subject_attnum - 1)->attname))));
	*child_id = OutputFunctionCall((FmgrInfo *) &p->subject_out, d);
	if (!cg_subject_lookup(*child_id, subject))
		ereport(ERROR,
				(errcode(ERRCODE_CG_UNKNOWN_CHILD),
				 errmsg("child \"%s\" is not registered", *child_id),
				 errhint("Register the child with childguard.register_child() first.")));
	if (subject->erased)
		ereport(ERROR,
				(errcode(ERRCODE_CG_CHILD_ERASED),
				 errmsg("child \"%s\" has been erased", *child_id),
				 errdetail("No new data can be collected for an erased child.")));
}

/* Seal one pending value for subject and category (also citus_seal.c). */
struct varlena *
cg_seal_pending(const CgEnvelope *env, const CgSubject *subject, uint8 category,
			 const char *child_id)
{
	CgKeyStatus status;
	const uint8 *key = cg_data_key(subject->subject_no, subject->key_version, &status);
	size_t		len;
	char	   *plain;
	struct varlena *sealed;

	if (key == NULL)
		ereport(ERROR,
				(errcode(status == CG_KEY_DESTROYED ? ERRCODE_CG_CHILD_ERASED :
						 ERRCODE_CG_DATA_KEY_UNAVAILABLE),
				 errmsg("child \"%s\" has no usable data key", child_id),
				 errdetail(status == CG_KEY_DESTROYED ?
						   "The key was destroyed when the child's data was erased." :
						   "The key is missing from childguard.data_key.")));
	plain = cg_pending_open(env, &len);
	sealed = cg_envelope_seal(key, category, 0, subject->key_version,
							  subject->subject_no, plain, len);
	explicit_bzero(plain, len);
	pfree(plain);
	return sealed;
}

PG_FUNCTION_INFO_V1(cg_seal_row);
Datum
cg_seal_row(PG_FUNCTION_ARGS)
{
	TriggerData *trigdata = (TriggerData *) fcinfo->context;
	Relation	rel;
	TupleDesc	desc;
	HeapTuple	tuple;
	const CgProtection *p;
	CgSubject	subject;
	char	   *child_id = NULL;
	Datum	   *repl_values = NULL;
	bool	   *repl_nulls = NULL;
	bool	   *repl = NULL;

	/*
	 * On a Citus worker the shard's copy of this trigger has nothing to do:
	 * the worker's input took only envelopes sealed for their child on the
	 * coordinator, which also decided and recorded the write (citus_worker.c)
	 */
	if (cg_citus_worker() && CALLED_AS_TRIGGER(fcinfo))
	{
		if (TRIGGER_FIRED_BEFORE(trigdata->tg_event) &&
			TRIGGER_FIRED_FOR_ROW(trigdata->tg_event) &&
			TRIGGER_FIRED_BY_UPDATE(trigdata->tg_event))
			return PointerGetDatum(trigdata->tg_newtuple);
		if (TRIGGER_FIRED_BEFORE(trigdata->tg_event) &&
			TRIGGER_FIRED_FOR_ROW(trigdata->tg_event) &&
			TRIGGER_FIRED_BY_INSERT(trigdata->tg_event))
			return PointerGetDatum(trigdata->tg_trigtuple);
		return PointerGetDatum(NULL);
	}
	/* protect() also installs it AFTER DELETE (per row) and BEFORE TRUNCATE */
	if (CALLED_AS_TRIGGER(fcinfo) && TRIGGER_FIRED_BY_TRUNCATE(trigdata->tg_event))
	{
		cg_delete_rows_note_truncate(trigdata);
		return PointerGetDatum(NULL);
	}
	if (CALLED_AS_TRIGGER(fcinfo) && TRIGGER_FIRED_BY_DELETE(trigdata->tg_event) &&
		TRIGGER_FIRED_AFTER(trigdata->tg_event) &&
		TRIGGER_FIRED_FOR_ROW(trigdata->tg_event))
	{
		cg_delete_rows_note(trigdata);
		return PointerGetDatum(NULL);
	}
	if (!CALLED_AS_TRIGGER(fcinfo) ||
		!TRIGGER_FIRED_BEFORE(trigdata->tg_event) ||
		!TRIGGER_FIRED_FOR_ROW(trigdata->tg_event) ||
		!(TRIGGER_FIRED_BY_INSERT(trigdata->tg_event) ||
		  TRIGGER_FIRED_BY_UPDATE(trigdata->tg_event)))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("childguard.seal_row() must be a BEFORE INSERT OR UPDATE row trigger"),
				 errhint("Use childguard.protect() to install it.")));

	rel = trigdata->tg_relation;
	desc = RelationGetDescr(rel);
	tuple = TRIGGER_FIRED_BY_UPDATE(trigdata->tg_event) ?
		trigdata->tg_newtuple : trigdata->tg_trigtuple;
	p = cg_protection_of(rel);
	if (!p->is_protected)
		cg_report_not_protected(p, RelationGetRelationName(rel));

	for (int i = 0; i < p->ncolumns; i++)
	{
		const CgProtectedColumn *col = &p->columns[i];
		bool		isnull;
		Datum		d = heap_getattr(tuple, col->attnum, desc, &isnull);
		CgEnvelope	env;
		struct varlena *value;

		if (isnull)
			continue;
		value = PG_DETOAST_DATUM_PACKED(d);
		cg_envelope_parse(value, &env);
		if (child_id == NULL)
			resolve_subject(rel, p, tuple, &subject, &child_id);

		if (env.flags & CG_ENV_PENDING)
		{
			/* new data: collection needs purpose, necessity and consent */
			cg_check_operations_ceased(RelationGetRelationName(rel));
			cg_check_collection(&subject, col->category, child_id,
								RelationGetRelationName(rel),
								NameStr(TupleDescAttr(desc, col->attnum - 1)->attname));
			if (repl == NULL)
			{
				repl_values = palloc0(desc->natts * sizeof(Datum));
				repl_nulls = palloc0(desc->natts * sizeof(bool));
				repl = palloc0(desc->natts * sizeof(bool));
			}
			repl_values[col->attnum - 1] =
				PointerGetDatum(cg_seal_pending(&env, &subject, col->category, child_id));
			repl[col->attnum - 1] = true;
		}
		else if (env.subject != subject.subject_no)
			ereport(ERROR,
					(errcode(ERRCODE_CG_AUTHENTICATION_FAILED),
					 errmsg("child data value belongs to another child"),
					 errdetail("Column \"%s\" of table \"%s\" is for child \"%s\", but the value was sealed for a different child.",
							   NameStr(TupleDescAttr(desc, col->attnum - 1)->attname),
							   RelationGetRelationName(rel), child_id),
					 errhint("Child data cannot be moved from one child to another.")));
		else if (env.category != col->category)
			ereport(ERROR,
					(errcode(ERRCODE_CG_AUTHENTICATION_FAILED),
					 errmsg("child data value belongs to another category"),
					 errdetail("Column \"%s\" of table \"%s\" holds category \"%s\", but the value was sealed as \"%s\".",
							   NameStr(TupleDescAttr(desc, col->attnum - 1)->attname),
							   RelationGetRelationName(rel),
							   cg_category_name(col->category),
							   cg_category_name(env.category))));
	}

	if (repl != NULL)
		tuple = heap_modify_tuple(tuple, desc, repl_values, repl_nulls, repl);
	return PointerGetDatum(tuple);
}
