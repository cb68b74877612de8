/*-------------------------------------------------------------------------
 *
 * fuzz_pg.h
 *	  What the fuzz harnesses share: the stand-ins for the few backend
 *	  functions the decoders call (pg_stubs.c), the way an ERROR comes back
 *	  to the harness, and the fake keys.
 *
 * An ereport(ERROR) inside the code under test longjmps to the harness's
 * CG_FUZZ_TRY; every palloc is its own malloc, so AddressSanitizer sees an
 * overrun of any palloc'd chunk, and all of them are freed after each
 * input (cg_fuzz_reset).  The stand-ins are as strict as the real ones: an
 * invalid allocation size is an ERROR with SQLSTATE XX000, which the
 * harness treats as a finding (user input must never reach one), and so
 * is any other ERROR without a specific SQLSTATE.
 *
 *-------------------------------------------------------------------------
 */
#ifndef CG_FUZZ_PG_H
#define CG_FUZZ_PG_H

#include "postgres.h"

#include <setjmp.h>

/* The error the code under test raised, as the harness sees it. */
typedef struct CgFuzzError
{
	int			elevel;
	int			sqlerrcode;
	char		message[256];
	char		detail[512];
} CgFuzzError;

extern CgFuzzError cg_fuzz_error;
extern sigjmp_buf *cg_fuzz_catch;

/*
 * Run stmt; on an ERROR, run on_error with cg_fuzz_error filled in.  Locals
 * changed inside stmt and read in on_error must be volatile.
 */
#define CG_FUZZ_TRY(stmt, on_error) \
	do { \
		sigjmp_buf	cg_fuzz_jb_; \
		if (sigsetjmp(cg_fuzz_jb_, 0) == 0) \
		{ \
			cg_fuzz_catch = &cg_fuzz_jb_; \
			stmt; \
			cg_fuzz_catch = NULL; \
		} \
		else \
		{ \
			cg_fuzz_catch = NULL; \
			on_error; \
		} \
	} while (0)

/* Free every palloc'd chunk: call at the end of each input. */
extern void cg_fuzz_reset(void);

/* Abort (a finding) with a message: the input broke a rule. */
extern void cg_fuzz_fail(const char *fmt,...) pg_attribute_printf(1, 2) pg_attribute_noreturn();

/*
 * The error just caught must be one of the allowed SQLSTATEs (a list ending
 * in 0); anything else, XX000 above all, is a finding.
 */
extern void cg_fuzz_expect_error(const int *allowed);

/* The address of an integer setting defined so far, or NULL. */
extern int *cg_fuzz_int_guc(const char *name);

/*
 * Requests above cg_fuzz_alloc_cap bytes are a finding: inputs are small.
 * Checks of deliberately large inputs raise it for their duration.
 */
#define CG_FUZZ_ALLOC_CAP	((Size) 64 * 1024 * 1024)
extern Size cg_fuzz_alloc_cap;

/* The data key the stand-in key store hands out for key version 1. */
static const uint8 cg_fuzz_data_key[32] = {
	0x63, 0x68, 0x69, 0x6c, 0x64, 0x67, 0x75, 0x61,
	0x72, 0x64, 0x2d, 0x66, 0x75, 0x7a, 0x7a, 0x2d,
	0x64, 0x61, 0x74, 0x61, 0x2d, 0x6b, 0x65, 0x79,
	0x2d, 0x6e, 0x6f, 0x74, 0x2d, 0x72, 0x65, 0x61
};
#define CG_FUZZ_KEY_VERSION 1

#endif							/* CG_FUZZ_PG_H */
