/*-------------------------------------------------------------------------
 *
 * plan_gate.h
 *	  The executor-start gate: a plan that gives none of the
 *	  executor-start guards anything to look at (plan_gate.c).
 *
 *-------------------------------------------------------------------------
 */
#ifndef CHILDGUARD_PLAN_GATE_H
#define CHILDGUARD_PLAN_GATE_H

#include "postgres.h"

#include "nodes/plannodes.h"

extern bool cg_plan_gate_plain(const PlannedStmt *ps);

#endif							/* CHILDGUARD_PLAN_GATE_H */
