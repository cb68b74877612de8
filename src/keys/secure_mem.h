/*-------------------------------------------------------------------------
 *
 * secure_mem.h
 *	  A small process-local arena for key material: locked in RAM where the
 *	  OS allows, excluded from core dumps, wiped when the process exits.
 *
 *-------------------------------------------------------------------------
 */
#ifndef CHILDGUARD_SECURE_MEM_H
#define CHILDGUARD_SECURE_MEM_H

#include "postgres.h"

extern void cg_secure_mem_init(void);
extern void *cg_secure_alloc(Size size);
extern void cg_secure_mem_ensure_locked(void);
extern void *cg_secure_map(Size size);
extern void cg_secure_prepare(const void *addr, Size len);
extern void cg_secure_wipe(void *p);
extern void cg_secure_unmap(void *p, Size size);

#endif							/* CHILDGUARD_SECURE_MEM_H */
