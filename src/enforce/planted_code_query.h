/*-------------------------------------------------------------------------
 *
 * planted_code_query.h
 *	  Refusing, at ExecutorStart, a query over a relation that carries
 *	  code not childguard's own (planted_code_query.c).
 *
 *-------------------------------------------------------------------------
 */
#ifndef CHILDGUARD_PLANTED_CODE_QUERY_H
#define CHILDGUARD_PLANTED_CODE_QUERY_H

#include "postgres.h"

#include "executor/execdesc.h"

extern void cg_planted_code_executor_start(QueryDesc *queryDesc);

#endif							/* CHILDGUARD_PLANTED_CODE_QUERY_H */
