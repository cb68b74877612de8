/*-------------------------------------------------------------------------
 *
 * audit_guard.c
 *	  Nobody but the audit writer changes the access log.
 *
 *	  - childguard._access_log_guard(): the BEFORE INSERT/UPDATE/DELETE
 *	    and BEFORE TRUNCATE statement triggers on childguard.access_log
 *	    and childguard.access_log_head -- from 1.8 on access_log_rows and
 *	    access_log_batch, the tables under the access_log view, and an
 *	    INSTEAD OF trigger on the view (ENABLE ALWAYS, so
 *	    session_replication_role does not switch them off).  It refuses
 *	    every change unless the process is an audit writer
 *	    (cg_audit_is_writer, set only in audit_worker.c), or the extension
 *	    script itself is running.  Superusers and the owner included.
 *	  - The utility guard: DDL that would switch those triggers off or
 *	    change the tables (ALTER TABLE, DROP TABLE/TRIGGER/RULE, CREATE
 *	    TRIGGER/RULE, RENAME, ALTER ... SET SCHEMA, inheriting from them,
 *	    attaching them as partitions) is refused outside the extension's
 *	    own scripts.
 *	  - The lock guard: nothing may hold a lock that stalls the writer,
 *	    by any role: LOCK TABLE on the tables (or on a view over them --
 *	    LOCK locks a view's tables), statements that keep a lock that
 *	    blocks inserts until their transaction ends (CREATE INDEX,
 *	    REINDEX, CLUSTER, VACUUM FULL, ALTER or DROP of their indexes;
 *	    from 1.9 ALTER TABLE/INDEX ALL IN TABLESPACE moving them, and a
 *	    foreign key referencing them),
 *	    and row locks (SELECT ... FOR UPDATE / NO KEY UPDATE / SHARE /
 *	    KEY SHARE) on their rows, the chain head's above all, at any
 *	    nesting level (functions, views, CTEs).  Only the writer locks the
 *	    head.  The writer itself runs with lock_timeout, so whatever route
 *	    remains can delay it only briefly (audit_worker.c).
 *	  What remains possible to a superuser (editing the catalogs or the
 *	  data files) is what the hash chain is for: verify_access_log()
 *	  finds it.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/relation.h"
#include "catalog/index.h"
#include "catalog/namespace.h"
#include "catalog/pg_class.h"
#include "commands/defrem.h"
#include "commands/extension.h"
#include "commands/tablespace.h"
#include "commands/trigger.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "nodes/nodeFuncs.h"
#include "nodes/parsenodes.h"
#include "parser/parsetree.h"
#include "rewrite/rewriteHandler.h"
#include "utils/acl.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/syscache.h"

#include "audit.h"
#include "childguard_errcodes.h"
#include "extension_version.h"

static void
report_read_only(const char *relname, const char *what)
{
	ereport(ERROR,
			(errcode(ERRCODE_CG_AUDIT_LOG_READ_ONLY),
			 errmsg("cannot %s \"childguard.%s\"", what, relname),
			 errdetail("Only the childguard audit writer writes the access log; no role can change it."),
			 errhint("Old records are removed by the writer after childguard.audit_retention.")));
}

PG_FUNCTION_INFO_V1(cg_access_log_guard);
Datum
cg_access_log_guard(PG_FUNCTION_ARGS)
{
	TriggerData *trigdata = (TriggerData *) fcinfo->context;
	const char *what;

	if (!CALLED_AS_TRIGGER(fcinfo) ||
		!(TRIGGER_FIRED_BEFORE(trigdata->tg_event) || TRIGGER_FIRED_INSTEAD(trigdata->tg_event)))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("childguard._access_log_guard() must be a BEFORE or INSTEAD OF trigger")));
	/* nobody writes through the view (1.8), the writer included */
	if ((cg_audit_is_writer || cg_running_own_script()) &&
		!TRIGGER_FIRED_INSTEAD(trigdata->tg_event))
	{
		if (TRIGGER_FIRED_FOR_STATEMENT(trigdata->tg_event))
			return PointerGetDatum(NULL);
		return PointerGetDatum(TRIGGER_FIRED_BY_UPDATE(trigdata->tg_event) ?
							   trigdata->tg_newtuple : trigdata->tg_trigtuple);
	}
	what = TRIGGER_FIRED_BY_INSERT(trigdata->tg_event) ? "insert into" :
		TRIGGER_FIRED_BY_UPDATE(trigdata->tg_event) ? "update" :
		TRIGGER_FIRED_BY_DELETE(trigdata->tg_event) ? "delete from" : "truncate";
	report_read_only(RelationGetRelationName(trigdata->tg_relation), what);
	return PointerGetDatum(NULL);
}

static void
report_lock(const char *relname, const char *what)
{
	ereport(ERROR,
			(errcode(ERRCODE_CG_AUDIT_LOG_LOCKED),
			 errmsg("cannot %s \"childguard.%s\"", what, relname),
			 errdetail("A lock held on the access log would stall the audit writer, and every statement that waits for its records."),
			 errhint("Read the log without locking it; only the childguard audit writer locks it.")));
}

/*
 * Is relid one of the log's tables, or an index on one?  Returns the
 * table's name, or NULL.
 */
static const char *
log_relation(Oid relid)
{
	Oid			nsp;
	char	   *name;
	char		kind;

	if (!OidIsValid(relid))
		return NULL;
	kind = get_rel_relkind(relid);
	if (kind == RELKIND_INDEX || kind == RELKIND_PARTITIONED_INDEX)
	{
		relid = IndexGetRelation(relid, true);
		if (!OidIsValid(relid))
			return NULL;
	}
	nsp = get_namespace_oid("childguard", true);
	if (!OidIsValid(nsp) || get_rel_namespace(relid) != nsp)
		return NULL;
	name = get_rel_name(relid);
	/* access_log: the table up to 1.7, the view over the next two from 1.8 */
	if (name != NULL && (strcmp(name, "access_log") == 0 || strcmp(name, "access_log_head") == 0 ||
						 strcmp(name, "access_log_rows") == 0 ||
						 strcmp(name, "access_log_batch") == 0))
		return name;
	return NULL;
}

/* Is rv one of the log's tables (or an index on one)?  Returns its name, or NULL. */
static const char *
log_table(RangeVar *rv)
{
	if (rv == NULL)
		return NULL;
	return log_relation(RangeVarGetRelid(rv, NoLock, true));
}

typedef struct ViewWalk
{
	const char *hit;
	int			depth;
} ViewWalk;

static const char *view_reaches_log(Oid relid, int depth);

/* query_tree_walker callback: a relation of a view's query that is the log. */
static bool
view_walker(Node *node, ViewWalk *w)
{
	if (node == NULL)
		return false;
	if (IsA(node, RangeTblEntry))
	{
		RangeTblEntry *rte = (RangeTblEntry *) node;

		if (rte->rtekind == RTE_RELATION)
			w->hit = view_reaches_log(rte->relid, w->depth + 1);
		return w->hit != NULL;
	}
	if (IsA(node, Query))
		return query_tree_walker((Query *) node, view_walker, w, QTW_EXAMINE_RTES_BEFORE);
	return expression_tree_walker(node, view_walker, w);
}

/*
 * The log table that LOCK on relid would lock: relid itself, or, for a
 * view, a table its query reaches (LOCK recurses into views).
 */
static const char *
view_reaches_log(Oid relid, int depth)
{
	const char *hit = log_relation(relid);
	Relation	rel;
	ViewWalk	w;

	if (hit != NULL || depth > 32 || get_rel_relkind(relid) != RELKIND_VIEW)
		return hit;
	rel = relation_open(relid, AccessShareLock);
	w.hit = NULL;
	w.depth = depth;
	(void) query_tree_walker(get_view_query(rel), view_walker, &w, QTW_EXAMINE_RTES_BEFORE);
	relation_close(rel, AccessShareLock);
	return w.hit;
}

/* LOCK TABLE: a log table named, or reached through a view. */
static const char *
locked_log_table(LockStmt *lock)
{
	ListCell   *lc;

	foreach(lc, lock->relations)
	{
		Oid			relid = RangeVarGetRelid((RangeVar *) lfirst(lc), NoLock, true);
		const char *hit;

		if (!OidIsValid(relid))
			continue;
		hit = view_reaches_log(relid, 0);
		if (hit != NULL)
			return hit;
	}
	return NULL;
}

/*
 * A table that would inherit from a log table: its rows would show in the
 * log (CREATE TABLE ... INHERITS, ALTER TABLE ... INHERIT).
 */
static const char *
inherited_log_table(Node *stmt)
{
	ListCell   *lc;

	if (IsA(stmt, CreateStmt))
	{
		foreach(lc, ((CreateStmt *) stmt)->inhRelations)
		{
			const char *hit = log_table((RangeVar *) lfirst(lc));

			if (hit != NULL)
				return hit;
		}
		return NULL;
	}
	foreach(lc, ((AlterTableStmt *) stmt)->cmds)
	{
		AlterTableCmd *cmd = (AlterTableCmd *) lfirst(lc);

		if (cmd->subtype == AT_AddInherit && cmd->def != NULL && IsA(cmd->def, RangeVar))
		{
			const char *hit = log_table((RangeVar *) cmd->def);

			if (hit != NULL)
				return hit;
		}
	}
	return NULL;
}

/*
 * A log table attached as a partition of another table (ALTER TABLE ...
 * ATTACH PARTITION): the writer's multi-insert (audit_log_store.c), like
 * COPY, checks no partition's bound, so its records would land outside
 * the bound and a query of the parent pruning by it would not see them.
 */
static const char *
attached_log_table(AlterTableStmt *stmt)
{
	ListCell   *lc;

	foreach(lc, stmt->cmds)
	{
		AlterTableCmd *cmd = (AlterTableCmd *) lfirst(lc);

		if (cmd->subtype == AT_AttachPartition && cmd->def != NULL &&
			IsA(cmd->def, PartitionCmd))
		{
			const char *hit = log_table(((PartitionCmd *) cmd->def)->name);

			if (hit != NULL)
				return hit;
		}
	}
	return NULL;
}

/* A foreign key constraint (or a list of constraints) referencing a log table. */
static const char *
constraint_references_log(Node *node)
{
	if (node == NULL)
		return NULL;
	if (IsA(node, List))
	{
		ListCell   *lc;

		foreach(lc, (List *) node)
		{
			const char *hit = constraint_references_log(lfirst(lc));

			if (hit != NULL)
				return hit;
		}
		return NULL;
	}
	if (IsA(node, ColumnDef))
		return constraint_references_log((Node *) ((ColumnDef *) node)->constraints);
	if (IsA(node, Constraint) && ((Constraint *) node)->contype == CONSTR_FOREIGN)
		return log_table(((Constraint *) node)->pktable);
	return NULL;
}

/*
 * A foreign key referencing a log table (1.9: CREATE TABLE ... REFERENCES,
 * ALTER TABLE ... ADD FOREIGN KEY or ADD COLUMN ... REFERENCES): making it
 * takes a SHARE ROW EXCLUSIVE lock on the log's table, held to the end of
 * the transaction, which the writer's inserts wait for; and once made, its
 * action triggers on the log's table would refuse (NO ACTION, RESTRICT)
 * the purge of every batch still referenced.
 */
static const char *
referenced_log_table(Node *stmt)
{
	ListCell   *lc;

	if (IsA(stmt, CreateStmt))
	{
		const char *hit = constraint_references_log((Node *) ((CreateStmt *) stmt)->tableElts);

		return hit != NULL ? hit :
			constraint_references_log((Node *) ((CreateStmt *) stmt)->constraints);
	}
	foreach(lc, ((AlterTableStmt *) stmt)->cmds)
	{
		AlterTableCmd *cmd = (AlterTableCmd *) lfirst(lc);
		const char *hit;

		if (cmd->subtype != AT_AddConstraint && cmd->subtype != AT_AddColumn)
			continue;
		if ((hit = constraint_references_log(cmd->def)) != NULL)
			return hit;
	}
	return NULL;
}

/* VACUUM FULL names a log table. */
static const char *
vacuum_full_log_table(VacuumStmt *vac)
{
	ListCell   *lc;
	bool		full = false;

	foreach(lc, vac->options)
	{
		DefElem    *opt = (DefElem *) lfirst(lc);

		if (strcmp(opt->defname, "full") == 0)
			full = defGetBoolean(opt);
	}
	if (!full || !vac->is_vacuumcmd)
		return NULL;
	foreach(lc, vac->rels)
	{
		const char *hit = log_table(((VacuumRelation *) lfirst(lc))->relation);

		if (hit != NULL)
			return hit;
	}
	return NULL;
}

/*
 * ExecutorStart, at every nesting level: refuse row locks (FOR UPDATE,
 * FOR NO KEY UPDATE, FOR SHARE, FOR KEY SHARE) on the log's rows -- a
 * locked chain head stalls the writer.  Only the writer locks it.
 */
void
cg_audit_guard_executor_start(QueryDesc *queryDesc)
{
	PlannedStmt *ps = queryDesc->plannedstmt;
	ListCell   *lc;

	/*
	 * A write through the access_log view (1.8), whatever the rows and the
	 * session_replication_role (its INSTEAD OF trigger, which only lets
	 * the statement past the rewriter, cannot be ENABLE ALWAYS on a view).
	 * Only a view as result relation is looked at: other statements pay a
	 * list walk over their result relations.
	 */
	foreach(lc, ps->resultRelations)
	{
		RangeTblEntry *rte = rt_fetch(lfirst_int(lc), ps->rtable);
		const char *hit;

		if (rte->rtekind == RTE_RELATION && rte->relkind == RELKIND_VIEW &&
			(hit = log_relation(rte->relid)) != NULL)
			report_read_only(hit, ps->commandType == CMD_INSERT ? "insert into" :
							 ps->commandType == CMD_UPDATE ? "update" : "delete from");
	}
	if (ps->rowMarks == NIL || cg_audit_is_writer || cg_running_own_script())
		return;
	foreach(lc, ps->rowMarks)
	{
		PlanRowMark *rc = (PlanRowMark *) lfirst(lc);
		RangeTblEntry *rte;
		const char *hit;

		if (rc->markType == ROW_MARK_REFERENCE)
			continue;
		rte = rt_fetch(rc->rti, ps->rtable);
		if (rte->rtekind != RTE_RELATION)
			continue;
		hit = log_relation(rte->relid);
		if (hit == NULL)
			continue;

		if (rc->markType == ROW_MARK_COPY)
			continue;
		report_lock(hit, "lock rows of");
	}

	/*
	 * A SELECT with a locking clause that reads the access_log view (1.8):
	 * PostgreSQL does not push row locks into its UNION ALL (the view gets
	 * a copy mark, which locks nothing), but the clause is refused as one
	 * on the log's table was.  The view is in the range table for its
	 * permission check, and the clause's strength moved into it: the
	 * parser asks ACL_SELECT_FOR_UPDATE of every relation a locking clause
	 * covers (FOR UPDATE without OF, OF the view or of a subquery, CTE or
	 * view around it), and the rewriter keeps that request on the view's
	 * entry.  A clause naming only other tables (FOR UPDATE OF t, while
	 * the view is read in a join, an EXISTS or a CTE) asks no such
	 * privilege of the view: it locks nothing of the log (the view gets a
	 * copy mark), and is not refused (1.9; 1.8 refused it).
	 */
	if (ps->commandType != CMD_SELECT)
		return;
	foreach(lc, ps->rtable)
	{
		RangeTblEntry *rte = (RangeTblEntry *) lfirst(lc);

		if (rte->rtekind == RTE_RELATION && rte->relkind == RELKIND_VIEW &&
			(rte->requiredPerms & ACL_SELECT_FOR_UPDATE) != 0 &&
			log_relation(rte->relid) != NULL)
			report_lock("access_log", "lock rows of");
	}
}

/* The table a DROP names, if it is a table or an object on a table. */
static const char *
dropped_log_table(DropStmt *drop)
{
	ListCell   *lc;

	if (drop->removeType != OBJECT_TABLE && drop->removeType != OBJECT_TRIGGER &&
		drop->removeType != OBJECT_RULE && drop->removeType != OBJECT_POLICY &&
		drop->removeType != OBJECT_INDEX && drop->removeType != OBJECT_VIEW)
		return NULL;
	foreach(lc, drop->objects)
	{
		List	   *names = (List *) lfirst(lc);
		const char *hit;

		if (drop->removeType != OBJECT_TABLE && drop->removeType != OBJECT_INDEX &&
			drop->removeType != OBJECT_VIEW)
			names = list_truncate(list_copy(names), list_length(names) - 1);
		if (names == NIL)
			continue;
		hit = log_table(makeRangeVarFromNameList(names));
		if (hit != NULL)
			return hit;
	}
	return NULL;
}

/*
 * Would rel (a log table, or one of its indexes) be moved by ALTER TABLE
 * (INDEX) ALL IN TABLESPACE ts [OWNED BY roles]?  As AlterTableMoveAll()
 * picks them: its kind, its tablespace (0: the database's default), its
 * owner among roles when given.
 */
static bool
move_takes(Oid relid, ObjectType objtype, Oid tablespace, List *roles)
{
	HeapTuple	tup = SearchSysCache1(RELOID, ObjectIdGetDatum(relid));
	Form_pg_class form;
	bool		takes;

	if (!HeapTupleIsValid(tup))
		return false;
	form = (Form_pg_class) GETSTRUCT(tup);
	takes = form->reltablespace == tablespace &&
		((objtype == OBJECT_TABLE && form->relkind == RELKIND_RELATION) ||
		 (objtype == OBJECT_INDEX && form->relkind == RELKIND_INDEX));
	if (takes && roles != NIL)
	{
		ListCell   *lc;

		takes = false;
		foreach(lc, roles)
			if (get_rolespec_oid((RoleSpec *) lfirst(lc), true) == form->relowner)
				takes = true;
	}
	ReleaseSysCache(tup);
	return takes;
}

/*
 * ALTER TABLE ALL IN TABLESPACE ... SET TABLESPACE (1.9; also ALTER INDEX
 * ALL): it takes an ACCESS EXCLUSIVE lock on every table (index) it
 * moves and holds it to the end of the transaction -- the log's tables
 * among them when they are in that tablespace, which stalled the writer
 * for as long as the transaction stayed open.  The log table (or the
 * table of the index) it would move, or NULL.
 */
static const char *
moved_log_relation(AlterTableMoveAllStmt *stmt)
{
	static const char *const names[] = {"access_log", "access_log_rows",
	"access_log_batch", "access_log_head"};
	Oid			nsp = get_namespace_oid("childguard", true);
	Oid			tablespace;

	if (!OidIsValid(nsp) ||
		(stmt->objtype != OBJECT_TABLE && stmt->objtype != OBJECT_INDEX))
		return NULL;
	tablespace = get_tablespace_oid(stmt->orig_tablespacename, true);
	if (!OidIsValid(tablespace))
		return NULL;
	if (tablespace == MyDatabaseTableSpace)
		tablespace = InvalidOid;
	for (int i = 0; i < lengthof(names); i++)
	{
		Oid			relid = get_relname_relid(names[i], nsp);
		Relation	rel;
		List	   *indexes;
		ListCell   *lc;
		bool		takes = false;

		if (!OidIsValid(relid) || get_rel_relkind(relid) != RELKIND_RELATION)
			continue;
		if (stmt->objtype == OBJECT_TABLE)
		{
			if (move_takes(relid, OBJECT_TABLE, tablespace, stmt->roles))
				return names[i];
			continue;
		}
		rel = relation_open(relid, AccessShareLock);
		indexes = RelationGetIndexList(rel);
		relation_close(rel, AccessShareLock);
		foreach(lc, indexes)
			if (move_takes(lfirst_oid(lc), OBJECT_INDEX, tablespace, stmt->roles))
				takes = true;
		list_free(indexes);
		if (takes)
			return names[i];
	}
	return NULL;
}

/* ProcessUtility, before running stmt: refuse DDL on the log's tables. */
void
cg_audit_guard_utility(PlannedStmt *pstmt)
{
	Node	   *stmt = pstmt->utilityStmt;
	const char *hit = NULL;
	const char *what = "alter";

	if (cg_running_own_script())
		return;
	switch (nodeTag(stmt))
	{
		case T_AlterTableStmt:
			hit = log_table(((AlterTableStmt *) stmt)->relation);
			if (hit == NULL && (hit = inherited_log_table(stmt)) != NULL)
				what = "inherit from";
			if (hit == NULL && (hit = attached_log_table((AlterTableStmt *) stmt)) != NULL)
				what = "attach as a partition";
			if (hit == NULL && (hit = referenced_log_table(stmt)) != NULL)
				report_lock(hit, "reference");
			break;
		case T_CreateStmt:
			hit = inherited_log_table(stmt);
			what = "inherit from";
			if (hit == NULL && (hit = referenced_log_table(stmt)) != NULL)
				report_lock(hit, "reference");
			break;
		case T_RenameStmt:
			hit = log_table(((RenameStmt *) stmt)->relation);
			break;
		case T_TruncateStmt:
			/* the tables' own triggers refuse it; the view (1.8) here */
			{
				ListCell   *lc;

				foreach(lc, ((TruncateStmt *) stmt)->relations)
				{
					RangeVar   *rv = (RangeVar *) lfirst(lc);
					Oid			relid = RangeVarGetRelid(rv, NoLock, true);

					if (OidIsValid(relid) && get_rel_relkind(relid) == RELKIND_VIEW &&
						(hit = log_relation(relid)) != NULL)
						break;
					hit = NULL;
				}
			}
			what = "truncate";
			break;
		case T_AlterObjectSchemaStmt:
			hit = log_table(((AlterObjectSchemaStmt *) stmt)->relation);
			break;
		case T_CopyStmt:

			/*
			 * COPY ... FROM into the access_log view (1.9): COPY runs no
			 * ExecutorStart, and under session_replication_role = replica
			 * the view's INSTEAD OF trigger does not fire, so 1.8 answered
			 * "COPY n" for records it never wrote.  The tables' own
			 * triggers (ENABLE ALWAYS) refuse COPY into them; refused here
			 * for every log relation all the same.
			 */
			if (((CopyStmt *) stmt)->is_from)
				hit = log_table(((CopyStmt *) stmt)->relation);
			what = "insert into";
			break;
		case T_CreateTrigStmt:
			hit = log_table(((CreateTrigStmt *) stmt)->relation);
			what = "create a trigger on";
			break;
		case T_RuleStmt:
			hit = log_table(((RuleStmt *) stmt)->relation);
			what = "create a rule on";
			break;
		case T_CreatePolicyStmt:
			hit = log_table(((CreatePolicyStmt *) stmt)->table);
			what = "create a policy on";
			break;
		case T_DropStmt:
			hit = dropped_log_table((DropStmt *) stmt);
			what = "drop";
			break;
			/* locks the writer would wait for */
		case T_LockStmt:
			hit = locked_log_table((LockStmt *) stmt);
			if (hit != NULL)
				report_lock(hit, "lock");
			return;
		case T_IndexStmt:
			hit = log_table(((IndexStmt *) stmt)->relation);
			if (hit != NULL)
				report_lock(hit, "create an index on");
			return;
		case T_ReindexStmt:
			hit = log_table(((ReindexStmt *) stmt)->relation);
			if (hit != NULL)
				report_lock(hit, "reindex");
			return;
		case T_ClusterStmt:
			hit = log_table(((ClusterStmt *) stmt)->relation);
			if (hit != NULL)
				report_lock(hit, "cluster");
			return;
		case T_VacuumStmt:
			hit = vacuum_full_log_table((VacuumStmt *) stmt);
			if (hit != NULL)
				report_lock(hit, "vacuum full");
			return;
		case T_AlterTableMoveAllStmt:
			hit = moved_log_relation((AlterTableMoveAllStmt *) stmt);
			if (hit != NULL)
				report_lock(hit, "move");
			return;
		default:
			return;
	}
	if (hit != NULL)
		report_read_only(hit, what);
}
