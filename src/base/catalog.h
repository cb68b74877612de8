/*-------------------------------------------------------------------------
 *
 * catalog.h
 *	  Where childguard's own objects are in the current database, reading
 *	  its registry tables from C, and the cache invalidation that keeps
 *	  every backend-local cache in step with committed changes.
 *
 *-------------------------------------------------------------------------
 */
#ifndef CHILDGUARD_CATALOG_H
#define CHILDGUARD_CATALOG_H

#include "postgres.h"

#include "access/skey.h"
#include "utils/relcache.h"

/* the column numbers the C reads (Anum_cg_*), checked by catalog_layout.c */
#include "catalog_layout.h"

typedef struct CgCatalog
{
	bool		present;		/* extension installed in this database */
	Oid			namespace_oid;
	Oid			child_data_type;
	Oid			seal_function;
	Oid			row_visible_function;
	Oid			child_rel;
	Oid			child_id_index;
	Oid			child_pkey_index;
	Oid			child_guardian_rel;
	Oid			officer_rel;
	Oid			purpose_rel;
	Oid			purpose_name_index;
	Oid			assessment_rel;
	Oid			consent_rel;
	Oid			consent_index;
	Oid			grant_rel;
	Oid			data_key_rel;
	Oid			data_key_index;
	Oid			role_anchor_function;	/* InvalidOid before 1.1 */
	Oid			role_released_function;	/* InvalidOid before 1.1 */
	Oid			request_rel;	/* InvalidOid before 1.4 */
	Oid			request_objection_index;	/* InvalidOid before 1.4 */
	AttrNumber	grant_grantee_role;	/* access_grant.grantee_role; 0 before 1.1 */
	Oid			restart_rel;	/* retention_restart; InvalidOid before 1.4 */
	Oid			restart_index;
	AttrNumber	child_sealed;	/* child.sealed; 0 before 1.4 */
	AttrNumber	grant_recipient;	/* access_grant.recipient; 0 before 1.4 */
	AttrNumber	assessment_recipient;	/* security_assessment.recipient; 0 before 1.4 */
	AttrNumber	grant_per_hour;	/* access_grant.max_children_per_hour; 0 before 1.4 */
	AttrNumber	grant_per_day;	/* access_grant.max_children_per_day; 0 before 1.4 */
} CgCatalog;

/*
 * Kinds of committed change a backend-local cache may depend on; a cache
 * registers the kinds it needs with cg_catalog_on_invalidation() and its
 * function is called with those of them that happened.
 */
#define CG_INVAL_RELATION	0x01	/* any relation: relid (InvalidOid: all) */
#define CG_INVAL_CHILD		0x02	/* childguard.child (or all relations) */
#define CG_INVAL_DATA_KEY	0x04	/* childguard.data_key (or all relations) */
#define CG_INVAL_POLICY		0x08	/* a registry the read decision reads (or all) */
#define CG_INVAL_OBJECTS	0x10	/* a type, function or schema: OIDs may be stale */
#define CG_INVAL_ROLES		0x20	/* a role or a role membership */

typedef void (*CgInvalidationFn) (int kinds, Oid relid);

extern const CgCatalog *cg_catalog(void);
extern Oid	cg_child_data_type(void);
extern void cg_catalog_register_callbacks(void);
extern void cg_catalog_on_invalidation(CgInvalidationFn fn, int kinds);
typedef void (*CgRowFn) (Datum *values, bool *nulls, void *arg);

extern void cg_catalog_scan(Oid relid, Oid indexid, ScanKey keys, int nkeys,
							CgRowFn fn, void *arg);
extern bool cg_catalog_fetch(Oid relid, Oid indexid, ScanKey keys, int nkeys,
							 Datum **values, bool **nulls);
extern Oid	cg_catalog_row_oid(Oid catalog, Oid oidindex, AttrNumber oidatt, Oid objid,
							   AttrNumber fieldatt);

/* catalog_layout.c */

#endif							/* CHILDGUARD_CATALOG_H */
