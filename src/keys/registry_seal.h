/*-------------------------------------------------------------------------
 *
 * registry_seal.h
 *	  The registry's personal data (a child's birth date and
 *	  circumstances) sealed with AES-256-GCM under the registry key, bound
 *	  to the child's subject number (registry_seal.c).
 *
 *-------------------------------------------------------------------------
 */
#ifndef CHILDGUARD_REGISTRY_SEAL_H
#define CHILDGUARD_REGISTRY_SEAL_H

#include "postgres.h"

#include "utils/date.h"

/* What childguard.child.sealed holds for one child. */
typedef struct CgRegistryFacts
{
	DateADT		birth_date;
	bool		in_difficulty;	/* 困境儿童 (D-Art 12) */
	bool		can_express;	/* able to express their will */
} CgRegistryFacts;

extern bytea *cg_registry_seal(uint64 subject_no, const CgRegistryFacts *facts);
extern void cg_registry_open(uint64 subject_no, const bytea *sealed,
							 CgRegistryFacts *out);
extern bool cg_registry_try_open(uint64 subject_no, const bytea *sealed,
								 CgRegistryFacts *out);

#endif							/* CHILDGUARD_REGISTRY_SEAL_H */
