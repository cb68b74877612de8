/*-------------------------------------------------------------------------
 *
 * protection_guard.c
 *	  No DDL leaves a protected table unprotected, and nobody but an
 *	  extension script changes childguard's own objects.
 *
 * A schema tool's ALTER COLUMN ... TYPE childguard.child_data (no
 * category), a child_data column added without a category, DROP TRIGGER
 * of the seal trigger, DROP or ALTER POLICY of a row policy, DISABLE or
 * NO FORCE ROW LEVEL SECURITY, renaming or dropping the subject column,
 * disabling the seal trigger: each would leave the table refusing every
 * write of child data (protection.c) -- or, worse, looking protected to a
 * reader who does not ask protection_problem().  The rule here: a
 * statement that begins with a table protected (protection.c's answer)
 * must end with it protected, or with no child data column left, unless
 * childguard.unprotect() was called for it; otherwise the statement fails
 * with ZC400 and changes nothing.  For every role, superusers included.
 *
 * How the tables a statement touches are found: the object access hook
 * (which PostgreSQL calls for every route that creates, alters or drops a
 * column, trigger or policy, including CASCADE and DDL run by functions)
 * and, for ALTER TABLE (whose ROW LEVEL SECURITY forms call no hook in
 * PostgreSQL 15), the statement itself before it runs.  The first time a
 * statement touches a table, the table's protection is taken from the
 * relation cache, which the command's own catalog changes reach only at
 * its next CommandCounterIncrement, so it is the state before the
 * statement.  Checked at the end of the top-level statement (utility or
 * query: DDL in a function, DO block or protect() itself is judged with
 * the whole statement, so protect()'s intermediate steps and a restore's
 * separate statements, none of which goes from protected to unprotected,
 * pass), and again before COMMIT or PREPARE for anything left (DDL inside
 * a cursor's query).  The lists live in TopTransactionContext and are
 * emptied after each check and when the transaction ends; an unprotect()
 * undone by a rolled-back subtransaction is forgotten with it.
 *
 * Catalog edits by a superuser (UPDATE pg_attribute, pg_class, pg_trigger)
 * call no hook: they are caught where it matters, by protection.c, which
 * works from the relation cache on every write and every status query, so
 * such a table refuses child data and is reported unprotected.
 *
 * childguard's own functions, types, operators and operator classes are
 * changed only by its extension scripts: CREATE OR REPLACE or ALTER of a
 * member of the extension (a row_visible() that returns true, a seal_row()
 * that does nothing, an operator class with a function of the owner's)
 * outside childguard's own CREATE/ALTER EXTENSION script -- another
 * extension's script included (cg_running_own_script) -- is refused with
 * ZC401, as is ALTER EXTENSION childguard DROP (which would free a member
 * to be replaced).  Neither guard lets another extension's script through.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/relation.h"
#include "access/table.h"
#include "access/xact.h"
#include "catalog/dependency.h"
#include "catalog/indexing.h"
#include "catalog/namespace.h"
#include "catalog/objectaccess.h"
#include "catalog/pg_amop.h"
#include "catalog/pg_amproc.h"
#include "catalog/pg_class.h"
#include "catalog/pg_opclass.h"
#include "catalog/pg_operator.h"
#include "catalog/pg_opfamily.h"
#include "catalog/pg_policy.h"
#include "catalog/pg_proc.h"
#include "catalog/pg_trigger.h"
#include "catalog/pg_type.h"
#include "commands/extension.h"
#include "commands/tablecmds.h"
#include "miscadmin.h"
#include "nodes/parsenodes.h"
#include "utils/acl.h"
#include "utils/fmgroids.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"
#include "utils/syscache.h"

#include "catalog.h"
#include "childguard_errcodes.h"
#include "citus_node.h"
#include "extension_version.h"
#include "protection.h"
#include "protection_guard.h"

typedef struct Touched
{
	Oid			relid;
	bool		was_protected;	/* when the statement first touched it */
} Touched;

static Touched *touched = NULL;
static int	ntouched = 0;
static int	maxtouched = 0;
typedef struct Unprotecting
{
	Oid			relid;
	SubTransactionId subid;		/* the subtransaction that called unprotect() */
} Unprotecting;

static Unprotecting *unprotecting = NULL;
static int	nunprotecting = 0;
static int	maxunprotecting = 0;
static bool busy = false;		/* working out a protection: ignore hooks */
static bool callbacks_registered = false;

static void guard_xact_callback(XactEvent event, void *arg);
static void guard_subxact_callback(SubXactEvent event, SubTransactionId mySubid,
								   SubTransactionId parentSubid, void *arg);

/*
 * The lists below are about to hold something: the transaction callbacks
 * that check and forget them are registered the first time (every
 * transaction's end would call them, a point read's included, only to
 * find them empty).
 */
static void
register_callbacks(void)
{
	if (callbacks_registered)
		return;
	RegisterXactCallback(guard_xact_callback, NULL);
	RegisterSubXactCallback(guard_subxact_callback, NULL);
	callbacks_registered = true;
}

/* Forget everything (the memory went with TopTransactionContext). */
static void
forget_all(void)
{
	touched = NULL;
	ntouched = maxtouched = 0;
	unprotecting = NULL;
	nunprotecting = maxunprotecting = 0;
}

/* Empty the lists, keeping their memory for the rest of the transaction. */
static void
reset_lists(void)
{
	ntouched = 0;
	nunprotecting = 0;
}

/* Is the relation a table protected by childguard now (per its relcache)? */
static bool
is_protected_now(Oid relid, LOCKMODE lockmode)
{
	Relation	rel;
	const CgProtection *p;
	bool		result;

	rel = try_relation_open(relid, lockmode);
	if (rel == NULL)
		return false;
	if (rel->rd_rel->relkind != RELKIND_RELATION &&
		rel->rd_rel->relkind != RELKIND_PARTITIONED_TABLE)
	{
		relation_close(rel, lockmode);
		return false;
	}
	busy = true;
	PG_TRY();
	{
		p = cg_protection_of(rel);
		result = p->has_child_data && p->is_protected;
	}
	PG_FINALLY();
	{
		busy = false;
	}
	PG_END_TRY();
	relation_close(rel, lockmode);
	return result;
}

/* The statement touches relid: note its protection the first time. */
static void
touch(Oid relid, LOCKMODE lockmode)
{
	bool		was;

	if (!OidIsValid(relid))
		return;
	for (int i = 0; i < ntouched; i++)
		if (touched[i].relid == relid)
			return;
	was = is_protected_now(relid, lockmode);
	if (ntouched == maxtouched)
	{
		int			n = Max(8, maxtouched * 2);

		register_callbacks();

		touched = touched == NULL ?
			MemoryContextAlloc(TopTransactionContext, n * sizeof(Touched)) :
			repalloc(touched, n * sizeof(Touched));
		maxtouched = n;
	}
	touched[ntouched].relid = relid;
	touched[ntouched].was_protected = was;
	ntouched++;
}

static bool
is_unprotecting(Oid relid)
{
	for (int i = 0; i < nunprotecting; i++)
		if (unprotecting[i].relid == relid)
			return true;
	return false;
}

/* A table that was protected is not any more: refuse the statement. */
static void
report_unprotected(Oid relid)
{
	Relation	rel = try_relation_open(relid, AccessShareLock);
	const CgProtection *p;
	char	   *problem;
	char	   *name;

	if (rel == NULL)
		return;
	p = cg_protection_of(rel);
	if (!p->has_child_data || p->is_protected)
	{
		relation_close(rel, AccessShareLock);
		return;
	}
	problem = pstrdup(p->problem ? p->problem : "It is not protected.");
	name = pstrdup(RelationGetRelationName(rel));
	relation_close(rel, AccessShareLock);
	ereport(ERROR,
			(errcode(ERRCODE_CG_DDL_UNPROTECTS),
			 errmsg("cannot leave table \"%s\" without childguard's protection", name),
			 errdetail("After this statement: %s A protected table refuses every write of child data once it is not protected.",
					   problem),
			 errhint("Give every child_data column its category, e.g. ALTER COLUMN c TYPE childguard.child_data(name), and leave childguard's trigger and row security as protect() made them; to remove the protection on purpose, call childguard.unprotect() first.")));
}

/* Check the tables the statement touched, then forget them. */
static void
check_touched(void)
{
	int			n = ntouched;

	if (n == 0)
	{
		nunprotecting = 0;
		return;
	}
	/* what the statement did, visible to the relation cache */
	CommandCounterIncrement();
	for (int i = 0; i < n && i < ntouched; i++)
	{
		Oid			relid = touched[i].relid;

		if (!touched[i].was_protected || is_unprotecting(relid))
			continue;
		if (!SearchSysCacheExists1(RELOID, ObjectIdGetDatum(relid)))
			continue;
		if (!is_protected_now(relid, AccessShareLock))
			report_unprotected(relid);
	}
	reset_lists();
}

/* The end of a top-level statement (utility or query), when it succeeded. */
void
cg_protection_guard_statement_end(void)
{
	if (ntouched == 0 && nunprotecting == 0)
		return;
	check_touched();
}

/* The partitions an ALTER TABLE's ATTACH PARTITION commands name. */
static void
note_attached_partitions(List *cmds)
{
	ListCell   *lc;

	foreach(lc, cmds)
	{
		AlterTableCmd *cmd = lfirst_node(AlterTableCmd, lc);

		if (cmd->subtype == AT_AttachPartition && cmd->def != NULL &&
			IsA(cmd->def, PartitionCmd))
			touch(RangeVarGetRelid(((PartitionCmd *) cmd->def)->name,
								   AccessExclusiveLock, true), NoLock);
	}
}

/*
 * A utility statement is about to run: ALTER TABLE names its table (and
 * its ROW LEVEL SECURITY forms call no object access hook), so note the
 * table's protection now; ALTER EXTENSION childguard DROP is refused.
 */
void
cg_protection_guard_utility_begin(Node *stmt)
{
	if (stmt == NULL || !OidIsValid(cg_child_data_type()) || cg_running_own_script() ||
		cg_citus_worker())
		return;
	if (IsA(stmt, AlterTableStmt))
	{
		AlterTableStmt *at = (AlterTableStmt *) stmt;
		LOCKMODE	lockmode;
		Oid			relid;

		if (at->objtype != OBJECT_TABLE)
			return;
		/* the lock ALTER TABLE itself takes next, with its own checks */
		lockmode = AlterTableGetLockLevel(at->cmds);
		relid = AlterTableLookupRelation(at, lockmode);
		touch(relid, NoLock);
		/*
		 * ATTACH PARTITION changes the table it attaches too: under a parent
		 * that is not protected, its rows would be read under the parent's
		 * row security (protection.c); the lock is the one ATTACH takes.
		 */
		note_attached_partitions(at->cmds);
	}
	else if (IsA(stmt, AlterExtensionContentsStmt))
	{
		AlterExtensionContentsStmt *ae = (AlterExtensionContentsStmt *) stmt;

		if (ae->action < 0 && strcmp(ae->extname, "childguard") == 0)
			ereport(ERROR,
					(errcode(ERRCODE_CG_EXTENSION_OBJECT_ALTERED),
					 errmsg("cannot remove an object from extension \"childguard\""),
					 errdetail("childguard's objects enforce the protection of child data; one taken out of the extension could be replaced."),
					 errhint("Update the extension with ALTER EXTENSION childguard UPDATE.")));
	}
}

/* Refuse a change to a member of the childguard extension outside its scripts. */
static void
guard_member(Oid classId, Oid objectId)
{
	Oid			ext;
	Oid			family = InvalidOid;

	switch (classId)
	{
		case ProcedureRelationId:
		case TypeRelationId:
		case OperatorRelationId:
		case OperatorClassRelationId:
		case OperatorFamilyRelationId:
			break;
		case AccessMethodOperatorRelationId:
			family = cg_catalog_row_oid(classId, AccessMethodOperatorOidIndexId,
							   Anum_pg_amop_oid, objectId, Anum_pg_amop_amopfamily);
			break;
		case AccessMethodProcedureRelationId:
			family = cg_catalog_row_oid(classId, AccessMethodProcedureOidIndexId,
							   Anum_pg_amproc_oid, objectId, Anum_pg_amproc_amprocfamily);
			break;
		default:
			return;
	}
	ext = get_extension_oid("childguard", true);
	if (!OidIsValid(ext))
		return;
	if (OidIsValid(family))
	{
		classId = OperatorFamilyRelationId;
		objectId = family;
	}
	else if (classId == AccessMethodOperatorRelationId ||
			 classId == AccessMethodProcedureRelationId)
		return;
	if (getExtensionOfObject(classId, objectId) != ext)
		return;
	ereport(ERROR,
			(errcode(ERRCODE_CG_EXTENSION_OBJECT_ALTERED),
			 errmsg("cannot change %s, which belongs to extension \"childguard\"",
					getObjectDescriptionOids(classId, objectId)),
			 errdetail("childguard's functions, types and operators enforce the protection of child data; only the extension's own scripts change them."),
			 errhint("Update the extension with ALTER EXTENSION childguard UPDATE.")));
}

/*
 * The object access hook (wired in childguard.c): note the tables whose
 * columns, triggers or policies a statement creates, alters or drops;
 * refuse changes to childguard's own objects.
 */
void
cg_protection_guard_object_access(ObjectAccessType access, Oid classId,
								  Oid objectId, int subId, void *arg)
{
	if (access != OAT_POST_CREATE && access != OAT_POST_ALTER && access != OAT_DROP)
		return;
	if (busy || !IsTransactionState() || !OidIsValid(cg_child_data_type()) ||
		cg_running_own_script() || cg_citus_worker())
		return;
	if (access != OAT_DROP)
	{
		/* a brand-new object is no member yet; CREATE OR REPLACE of one is */
		guard_member(classId, objectId);
	}
	switch (classId)
	{
		case RelationRelationId:
			/* a column added, altered, renamed or dropped; or ALTER TABLE on the table */
			if (subId != 0 || access == OAT_POST_ALTER)
				touch(objectId, NoLock);
			break;
		case TriggerRelationId:
			touch(cg_catalog_row_oid(TriggerRelationId, TriggerOidIndexId, Anum_pg_trigger_oid,
							objectId, Anum_pg_trigger_tgrelid), NoLock);
			break;
		case PolicyRelationId:
			touch(cg_catalog_row_oid(PolicyRelationId, PolicyOidIndexId, Anum_pg_policy_oid,
							objectId, Anum_pg_policy_polrelid), NoLock);
			break;
		default:
			break;
	}
}

PG_FUNCTION_INFO_V1(cg_unprotect_begin);

/*
 * childguard._unprotect_begin(regclass), called by unprotect(): the
 * current statement removes the table's protection on purpose.  Only the
 * table's owner (who could run unprotect() anyway).
 */
Datum
cg_unprotect_begin(PG_FUNCTION_ARGS)
{
	Oid			relid = PG_GETARG_OID(0);

	if (!SearchSysCacheExists1(RELOID, ObjectIdGetDatum(relid)))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_TABLE),
				 errmsg("relation with OID %u does not exist", relid)));
	if (!pg_class_ownercheck(relid, GetUserId()))
		aclcheck_error(ACLCHECK_NOT_OWNER, get_relkind_objtype(get_rel_relkind(relid)),
					   get_rel_name(relid));
	if (nunprotecting == maxunprotecting)
	{
		int			n = Max(4, maxunprotecting * 2);

		register_callbacks();

		unprotecting = unprotecting == NULL ?
			MemoryContextAlloc(TopTransactionContext, n * sizeof(Unprotecting)) :
			repalloc(unprotecting, n * sizeof(Unprotecting));
		maxunprotecting = n;
	}
	unprotecting[nunprotecting].relid = relid;
	unprotecting[nunprotecting].subid = GetCurrentSubTransactionId();
	nunprotecting++;
	PG_RETURN_VOID();
}

/* Before COMMIT or PREPARE: what DDL inside a query left; after: forget. */
static void
guard_xact_callback(XactEvent event, void *arg)
{
	switch (event)
	{
		case XACT_EVENT_PRE_COMMIT:
		case XACT_EVENT_PARALLEL_PRE_COMMIT:
		case XACT_EVENT_PRE_PREPARE:
			if (ntouched > 0)
				check_touched();
			break;
		case XACT_EVENT_COMMIT:
		case XACT_EVENT_PARALLEL_COMMIT:
		case XACT_EVENT_ABORT:
		case XACT_EVENT_PARALLEL_ABORT:
		case XACT_EVENT_PREPARE:
			forget_all();
			break;
	}
}

/*
 * A subtransaction rolled back: its unprotect() calls are undone (the
 * tables it touched keep their first state: its DDL is undone too, so
 * that is still the state before the statement); one that committed hands
 * them to its parent.
 */
static void
guard_subxact_callback(SubXactEvent event, SubTransactionId mySubid,
					   SubTransactionId parentSubid, void *arg)
{
	int			kept = 0;

	if (event != SUBXACT_EVENT_ABORT_SUB && event != SUBXACT_EVENT_COMMIT_SUB)
		return;
	for (int i = 0; i < nunprotecting; i++)
	{
		if (unprotecting[i].subid == mySubid)
		{
			if (event == SUBXACT_EVENT_ABORT_SUB)
				continue;
			unprotecting[i].subid = parentSubid;
		}
		unprotecting[kept++] = unprotecting[i];
	}
	nunprotecting = kept;
}

/* From _PG_init: the callbacks are registered by the first use (register_callbacks). */
void
cg_protection_guard_init(void)
{
}
