/*-------------------------------------------------------------------------
 *
 * statement_text.h
 *	  Masking the constants of statement texts before they leave the
 *	  backend (server log, pg_stat_activity, pg_stat_statements,
 *	  auto_explain, pgaudit).  See statement_text.c and log_masking.c, and
 *	  docs/security.md section 4.
 *
 *-------------------------------------------------------------------------
 */
#ifndef CHILDGUARD_STATEMENT_TEXT_H
#define CHILDGUARD_STATEMENT_TEXT_H

#include "postgres.h"

#include "executor/execdesc.h"
#include "parser/parse_node.h"

/* childguard.statement_masking */
typedef enum CgStatementMasking
{
	CG_MASK_OFF,				/* PostgreSQL's behaviour: texts as sent */
	CG_MASK_CHILD_DATA,			/* statements that may carry child data (default) */
	CG_MASK_ALL					/* every statement */
} CgStatementMasking;

/* flags of cg_mask_text_tolerant */
#define CG_MASK_NUMBERS		0x01	/* numbers too (as zeros) */
#define CG_MASK_IDENTIFIERS 0x02	/* "..." are identifiers, never masked */

extern void cg_statement_text_define_gucs(void);
extern CgStatementMasking cg_statement_masking(void);

extern void cg_statement_text_post_parse(ParseState *pstate, Query *query);
extern void cg_statement_text_executor_start(QueryDesc *queryDesc, bool plain);
extern void cg_statement_text_utility(const char *queryString);
extern void cg_statement_text_mask_current(void);
extern void cg_statement_text_mask_for_log(bool parsed);

extern void cg_statement_text_note_child_output(void);
extern bool cg_statement_text_child_output_seen(void);

extern bool cg_mask_sql_with_scanner(char *text, bool numbers);
extern bool cg_mask_text_tolerant(char *text, int flags);

/* log_masking.c: the emit_log_hook body */
extern void cg_log_masking_emit(ErrorData *edata);

#endif							/* CHILDGUARD_STATEMENT_TEXT_H */
