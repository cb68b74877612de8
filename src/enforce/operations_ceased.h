/*-------------------------------------------------------------------------
 *
 * operations_ceased.h
 *	  Has the operator ceased collecting children's data (Art 23)?
 *
 *-------------------------------------------------------------------------
 */
#ifndef CHILDGUARD_OPERATIONS_CEASED_H
#define CHILDGUARD_OPERATIONS_CEASED_H

#include "postgres.h"

extern void cg_operations_ceased_init(void);
extern void cg_check_operations_ceased(const char *relname, uint64 subject_no);

#endif							/* CHILDGUARD_OPERATIONS_CEASED_H */
