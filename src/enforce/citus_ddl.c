/*-------------------------------------------------------------------------
 *
 * citus_ddl.c
 *	  On a Citus coordinator, childguard.protect() and Citus's
 *	  create_distributed_table() work in either order, on tables holding
 *	  rows, without the user setting citus.enable_unsafe_triggers.
 *
 *	  Citus refuses to distribute a table with triggers, and to create a
 *	  trigger on a distributed table, unless citus.enable_unsafe_triggers
 *	  is on.  childguard's own triggers (the seal trigger, the DELETE and
 *	  TRUNCATE triggers) are safe on shards: on a worker they do nothing
 *	  (seal_trigger.c; a worker takes only sealed envelopes, citus_worker.c),
 *	  and on the coordinator Citus never fires the shell table's triggers
 *	  for distributed writes, which are sealed before they are shipped
 *	  (citus_seal.c).  So the setting is turned on -- for the duration of
 *	  one call, as a function's SET clause would -- only for:
 *	  - childguard.protect(), whose triggers are childguard's own;
 *	  - Citus's create_distributed_table() and
 *	    create_distributed_table_concurrently() when their table argument
 *	    is a constant naming a table protected by childguard with no code
 *	    but childguard's attached (protection.c, planted_code.c).
 *	  Any other table keeps Citus's refusal.  A table with a blind index
 *	  is not distributed at all (ZC563, blind_index.c).  Existing rows are copied to
 *	  the shards as they are stored (sealed envelopes; Citus reads the heap
 *	  directly, and output while Citus ships is the envelope,
 *	  citus_node.c), and each worker's input takes them (citus_worker.c).
 *
 *	  Mechanism: the fmgr hook.  needs_fmgr_hook selects, on a coordinator
 *	  only, those functions by name; START opens a GUC nesting level and
 *	  sets the setting in it, END closes it (AtEOXact_GUC), and an error
 *	  unwinds it with the (sub)transaction, as for a SET clause.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "catalog/pg_proc.h"
#include "nodes/primnodes.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/syscache.h"

#include "blind_index.h"
#include "citus_ddl.h"
#include "citus_node.h"
#include "protection.h"

#define UNSAFE_TRIGGERS "citus.enable_unsafe_triggers"

typedef enum DdlKind
{
	DDL_NONE = 0,
	DDL_PROTECT,
	DDL_DISTRIBUTE
} DdlKind;

/* What fn_oid is to this file. */
static DdlKind
ddl_kind(Oid fn_oid)
{
	HeapTuple	tup;
	Form_pg_proc proc;
	char	   *nsp;
	DdlKind		kind = DDL_NONE;

	tup = SearchSysCache1(PROCOID, ObjectIdGetDatum(fn_oid));
	if (!HeapTupleIsValid(tup))
		return DDL_NONE;
	proc = (Form_pg_proc) GETSTRUCT(tup);
	nsp = get_namespace_name(proc->pronamespace);
	if (nsp != NULL && strcmp(nsp, "childguard") == 0 &&
		strcmp(NameStr(proc->proname), "protect") == 0)
		kind = DDL_PROTECT;
	else if (nsp != NULL && strcmp(nsp, "pg_catalog") == 0 &&
			 (strcmp(NameStr(proc->proname), "create_distributed_table") == 0 ||
			  strcmp(NameStr(proc->proname), "create_distributed_table_concurrently") == 0))
		kind = DDL_DISTRIBUTE;
	ReleaseSysCache(tup);
	return kind;
}

bool
cg_citus_ddl_needs_hook(Oid fn_oid)
{
	if (!cg_citus_coordinator() || fn_oid < FirstNormalObjectId)
		return false;
	return ddl_kind(fn_oid) != DDL_NONE;
}

/* The table the call's first argument names as a constant, or InvalidOid. */
static Oid
call_table(FmgrInfo *flinfo)
{
	Node	   *expr = flinfo->fn_expr;
	Node	   *arg;

	if (expr == NULL || !IsA(expr, FuncExpr) || ((FuncExpr *) expr)->args == NIL)
		return InvalidOid;
	arg = linitial(((FuncExpr *) expr)->args);
	while (IsA(arg, RelabelType))
		arg = (Node *) ((RelabelType *) arg)->arg;
	if (!IsA(arg, Const) || ((Const *) arg)->constisnull ||
		((Const *) arg)->consttype != REGCLASSOID)
		return InvalidOid;
	return DatumGetObjectId(((Const *) arg)->constvalue);
}

/* Is the call's first argument a constant naming a table safe to distribute? */
static bool
distributes_protected_table(FmgrInfo *flinfo)
{
	Oid			relid = call_table(flinfo);
	const CgProtection *p;

	if (!OidIsValid(relid))
		return false;
	p = cg_protection_of_relid(relid);
	return p->has_child_data && p->is_protected && !p->planted;
}

/*
 * The GUC nesting levels opened by the calls running now (0: none), a
 * stack: these calls nest (protect() inside a function, a function
 * calling create_distributed_table()), and START and END/ABORT pair.
 */
#define MAX_DEPTH 64
static int	levels[MAX_DEPTH];
static int	depth = 0;

void
cg_citus_ddl_hook(FmgrHookEventType event, FmgrInfo *flinfo)
{
	int			level = 0;

	if (!cg_citus_coordinator() || ddl_kind(flinfo->fn_oid) == DDL_NONE)
		return;
	switch (event)
	{
		case FHET_START:
			/* a blind index would miss every row written after (blind_index.c) */
			if (ddl_kind(flinfo->fn_oid) == DDL_DISTRIBUTE)
			{
				Oid			relid = call_table(flinfo);

				if (OidIsValid(relid) && cg_blind_of(relid)->ncolumns > 0)
					cg_blind_refuse_distributed(relid, true);
			}
			if (GetConfigOption(UNSAFE_TRIGGERS, true, false) != NULL &&
				(ddl_kind(flinfo->fn_oid) == DDL_PROTECT ||
				 distributes_protected_table(flinfo)) &&
				depth < MAX_DEPTH)
			{
				level = NewGUCNestLevel();
				(void) set_config_option(UNSAFE_TRIGGERS, "on", PGC_USERSET, PGC_S_SESSION,
										 GUC_ACTION_SAVE, true, 0, false);
			}
			if (depth < MAX_DEPTH)
				levels[depth] = level;
			depth++;
			break;
		case FHET_END:
			if (depth > 0)
			{
				depth--;
				if (depth < MAX_DEPTH && levels[depth] > 0)
					AtEOXact_GUC(true, levels[depth]);
			}
			break;
		case FHET_ABORT:
			/* the (sub)transaction's abort unwinds the GUC level */
			if (depth > 0)
				depth--;
			break;
	}
}
