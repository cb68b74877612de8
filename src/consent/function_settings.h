/*-------------------------------------------------------------------------
 *
 * function_settings.h
 *	  No function or procedure may carry a SET clause for
 *	  childguard.purpose (see function_settings.c).
 *
 *-------------------------------------------------------------------------
 */
#ifndef CHILDGUARD_FUNCTION_SETTINGS_H
#define CHILDGUARD_FUNCTION_SETTINGS_H

#include "postgres.h"

#include "nodes/nodes.h"

extern void cg_function_settings_check(Node *stmt);

#endif							/* CHILDGUARD_FUNCTION_SETTINGS_H */
