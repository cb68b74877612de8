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

/* Column numbers; must match sql/childguard--1.0.sql. */
#define Anum_cg_child_subject_no	1
#define Anum_cg_child_child_id		2
#define Anum_cg_child_birth_date	3
#define Anum_cg_child_key_version	4
#define Anum_cg_child_erased_at		6

#define Anum_cg_data_key_subject_no		1
#define Anum_cg_data_key_key_version	2
#define Anum_cg_data_key_wrapped_key	3
#define Anum_cg_data_key_master_key_id	4

typedef struct CgCatalog
{
	bool		present;		/* extension installed in this database */
	Oid			namespace_oid;
	Oid			child_data_type;
	Oid			seal_function;
	Oid			child_rel;
	Oid			child_id_index;
	Oid			data_key_rel;
	Oid			data_key_index;
} CgCatalog;

extern const CgCatalog *cg_catalog(void);
extern Oid	cg_child_data_type(void);
extern void cg_catalog_register_callbacks(void);
extern bool cg_catalog_fetch(Oid relid, Oid indexid, ScanKey keys, int nkeys,
							 Datum **values, bool **nulls);

#endif							/* CHILDGUARD_CATALOG_H */
