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
 *	  On a table with blind indexes it also writes each hidden hash column
 *	  from the value's plaintext, whatever the statement put there
 *	  (blind_index.c).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "commands/trigger.h"
#include "utils/rel.h"

#include "blind_index.h"
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
#include "statement.h"
#include "subjects.h"

/* The row's child, resolved from its subject column. */
static void
resolve_subject(Relation rel, const CgProtection *p, HeapTuple tuple,
				CgSubject *subject, char **child_id)
{
	bool		isnull;
	Datum		d = heap_getattr(tuple, p->subject_attnum, RelationGetDescr(rel), &isnull);

	/* each refusal below is a refused write, recorded (statement.c) */
	if (isnull)
	{
		cg_statement_attempt();
		ereport(ERROR,
				(errcode(ERRCODE_CG_UNKNOWN_CHILD),
				 errmsg("child data in table \"%s\" needs a child",
						RelationGetRelationName(rel)),
				 errdetail("The subject column \"%s\" is null.",
						   NameStr(TupleDescAttr(RelationGetDescr(rel), p->subject_attnum - 1)->attname))));
	}
	*child_id = OutputFunctionCall((FmgrInfo *) &p->subject_out, d);
	if (!cg_subject_lookup(*child_id, subject))
	{
		cg_statement_attempt();
		ereport(ERROR,
				(errcode(ERRCODE_CG_UNKNOWN_CHILD),
				 errmsg("child \"%s\" is not registered", *child_id),
				 errhint("Register the child with childguard.register_child() first.")));
	}
	if (subject->erased)
	{
		cg_statement_note(subject->subject_no, CG_ACCESS_DENIED);
		ereport(ERROR,
				(errcode(ERRCODE_CG_CHILD_ERASED),
				 errmsg("child \"%s\" has been erased", *child_id),
				 errdetail("No new data can be collected for an erased child.")));
	}
}

/*
 * Seal one pending value for subject and category (also citus_seal.c);
 * with bc, its blind-index hash into hash_out.
 */
struct varlena *
cg_seal_pending(const CgEnvelope *env, const CgSubject *subject, uint8 category,
				const char *child_id, const CgBlindColumn *bc, uint8 *hash_out)
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
	if (bc != NULL)
		cg_blind_hash(bc, plain, len, hash_out);
	explicit_bzero(plain, len);
	pfree(plain);
	return sealed;
}

/* Make the replacement arrays of a row, once. */
static void
need_repl(TupleDesc desc, Datum **values, bool **nulls, bool **repl)
{
	if (*repl != NULL)
		return;
	*values = palloc0(desc->natts * sizeof(Datum));
	*nulls = palloc0(desc->natts * sizeof(bool));
	*repl = palloc0(desc->natts * sizeof(bool));
}

/* Set bc's hidden column to hash (NULL: null). */
static void
set_blind(TupleDesc desc, const CgBlindColumn *bc, const uint8 *hash,
		  Datum **values, bool **nulls, bool **repl)
{
	int			i = bc->blind_attnum - 1;

	need_repl(desc, values, nulls, repl);
	(*repl)[i] = true;
	(*nulls)[i] = hash == NULL;
	if (hash != NULL)
	{
		bytea	   *b = palloc(VARHDRSZ + CG_BLIND_HASH_LEN);

		SET_VARSIZE(b, VARHDRSZ + CG_BLIND_HASH_LEN);
		memcpy(VARDATA(b), hash, CG_BLIND_HASH_LEN);
		(*values)[i] = PointerGetDatum(b);
	}
}

/*
 * The hidden hash of a stored (already sealed) value in the new row,
 * whatever the statement wrote there: null for null; on UPDATE, the old
 * row's hash when the value is byte for byte the old one; else computed
 * from the value opened with its child's data key (null if the key is
 * gone: the value can no longer be read, nor found).
 */
static void
blind_of_stored(TriggerData *trigdata, TupleDesc desc, HeapTuple tuple,
				const CgBlindColumn *bc, Datum **values, bool **nulls, bool **repl)
{
	bool		isnull;
	Datum		d = heap_getattr(tuple, bc->attnum, desc, &isnull);
	struct varlena *value;
	CgEnvelope	env;
	CgKeyStatus status;
	const uint8 *key;
	char	   *plain;
	size_t		len;
	uint8		hash[CG_BLIND_HASH_LEN];

	if (isnull)
	{
		set_blind(desc, bc, NULL, values, nulls, repl);
		return;
	}
	value = PG_DETOAST_DATUM_PACKED(d);
	if (TRIGGER_FIRED_BY_UPDATE(trigdata->tg_event))
	{
		HeapTuple	old = trigdata->tg_trigtuple;
		bool		oldnull,
					oldhnull;
		Datum		od = heap_getattr(old, bc->attnum, desc, &oldnull);
		Datum		oh = heap_getattr(old, bc->blind_attnum, desc, &oldhnull);

		if (!oldnull && !oldhnull)
		{
			struct varlena *ov = PG_DETOAST_DATUM_PACKED(od);
			bytea	   *ohash = DatumGetByteaPP(oh);

			if (VARSIZE_ANY(ov) == VARSIZE_ANY(value) &&
				memcmp(ov, value, VARSIZE_ANY(value)) == 0 &&
				VARSIZE_ANY_EXHDR(ohash) == CG_BLIND_HASH_LEN)
			{
				set_blind(desc, bc, (uint8 *) VARDATA_ANY(ohash), values, nulls, repl);
				return;
			}
		}
	}
	cg_envelope_parse(value, &env);
	key = cg_data_key(env.subject, env.key_version, &status);
	if (key == NULL)
	{
		set_blind(desc, bc, NULL, values, nulls, repl);
		return;
	}
	plain = cg_envelope_open(&env, key, &len);
	cg_blind_hash(bc, plain, len, hash);
	explicit_bzero(plain, len);
	pfree(plain);
	set_blind(desc, bc, hash, values, nulls, repl);
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
	const CgBlindRel *blind;

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
	blind = cg_blind_of(RelationGetRelid(rel));
	if (blind->ncolumns == 0)
		blind = NULL;
	else if (cg_blind_clearing(RelationGetRelid(rel)))
	{
		/* _blind_clear: a shredded child's hashes go, nothing else changes */
		for (int i = 0; i < blind->ncolumns; i++)
			set_blind(desc, &blind->columns[i], NULL, &repl_values, &repl_nulls, &repl);
		return PointerGetDatum(heap_modify_tuple(tuple, desc, repl_values, repl_nulls, repl));
	}

	for (int i = 0; i < p->ncolumns; i++)
	{
		const CgProtectedColumn *col = &p->columns[i];
		bool		isnull;
		Datum		d = heap_getattr(tuple, col->attnum, desc, &isnull);
		CgEnvelope	env;
		struct varlena *value;
		const CgBlindColumn *bc;
		uint8		hash[CG_BLIND_HASH_LEN];

		if (isnull)
			continue;
		value = PG_DETOAST_DATUM_PACKED(d);
		cg_envelope_parse(value, &env);
		if (child_id == NULL)
			resolve_subject(rel, p, tuple, &subject, &child_id);

		if (env.flags & CG_ENV_PENDING)
		{
			/* new data: collection needs purpose, necessity and consent */
			cg_check_operations_ceased(RelationGetRelationName(rel), subject.subject_no);
			cg_check_collection(&subject, col->category, child_id,
								RelationGetRelationName(rel),
								NameStr(TupleDescAttr(desc, col->attnum - 1)->attname));
			need_repl(desc, &repl_values, &repl_nulls, &repl);
			bc = blind != NULL ? cg_blind_column(blind, col->attnum) : NULL;
			repl_values[col->attnum - 1] =
				PointerGetDatum(cg_seal_pending(&env, &subject, col->category, child_id,
												bc, hash));
			repl[col->attnum - 1] = true;
			if (bc != NULL)
				set_blind(desc, bc, hash, &repl_values, &repl_nulls, &repl);
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

	/* the hidden hashes of the values not just sealed (blind_index.c) */
	if (blind != NULL)
		for (int i = 0; i < blind->ncolumns; i++)
			if (repl == NULL || !repl[blind->columns[i].blind_attnum - 1])
				blind_of_stored(trigdata, desc, tuple, &blind->columns[i],
								&repl_values, &repl_nulls, &repl);

	if (repl != NULL)
		tuple = heap_modify_tuple(tuple, desc, repl_values, repl_nulls, repl);
	return PointerGetDatum(tuple);
}
