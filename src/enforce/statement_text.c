/*-------------------------------------------------------------------------
 *
 * statement_text.c
 *	  Statement texts never carry child plaintext out of the backend: the
 *	  constants of the client's statement text are masked in place, once
 *	  the text is known to parse, before anyone copies it out.
 *
 * Which statements touch child data is not always known when the text is
 * first exposed (log_statement logs it before parse analysis; a function
 * called as SELECT f('...') may insert its argument; a comparison reads).
 * So the rule is conservative where it cannot know:
 *
 *	- every line for the server log is masked (log_masking.c), whatever
 *	  the statement, unless childguard.statement_masking = off;
 *	- the text itself (what pg_stat_activity, pg_stat_statements,
 *	  auto_explain and pgaudit read) is masked, with the default
 *	  child_data, as soon as the statement may carry child data: at parse
 *	  analysis for utility commands, multi-statement strings and
 *	  statements using a relation holding child data; at ExecutorStart
 *	  for plans using such a relation or calling a user-defined function;
 *	  and at once whenever plaintext becomes child_data (a constant
 *	  coerced, a bound parameter, a function's argument inserted) or child
 *	  data is read or compared.  With "all", every statement's text is
 *	  masked at parse analysis.
 *
 * Masking is done by PostgreSQL's own scanner (core_yylex), so quoting,
 * E'' escapes, dollar quoting, U&'' strings, quote continuation and
 * comments are read exactly as the parser read them.  Each constant keeps
 * its delimiters and its length in bytes and only its contents change
 * ('***', numbers to 000), so the text still lexes to the same tokens at
 * the same offsets.  That is what lets the text be masked IN PLACE:
 * debug_query_string (the message buffer, or a prepared statement's copy)
 * is the one text that the server log's STATEMENT lines, pg_stat_activity,
 * pg_stat_statements (which finds constants by their offsets),
 * auto_explain, pgaudit, pg_prepared_statements, pg_cursors and parallel
 * workers read, so masking it once covers all of them, whatever the order
 * of the modules in shared_preload_libraries.  Parse trees hold copies of
 * the constants, so masking the text changes nothing the statement does.
 * pg_stat_activity's own copy is rewritten at the same moment.
 *
 * Cost: a statement that uses no child data, calls no user-defined
 * function and is not a utility command pays a probe of the (cached)
 * protection of each relation in its range table; nothing else.  A masked
 * statement pays one scan of its text per client message (memo: text
 * address, length and statement start time), skipped when the text holds
 * no quote, dollar or digit.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"
#include "miscadmin.h"
#include "parser/gramparse.h"
#include "parser/parser.h"
#include "parser/scanner.h"
#include "port/atomics.h"
#include "tcop/tcopprot.h"
#include "catalog/pg_class.h"
#include "nodes/plannodes.h"
#include "parser/scansup.h"
#include "utils/backend_status.h"
#include "utils/syscache.h"
#include "common/hashfn.h"
#include "utils/guc.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"

#include "catalog.h"
#include "protection.h"
#include "statement.h"
#include "statement_text.h"

static int	statement_masking = CG_MASK_CHILD_DATA;

static const struct config_enum_entry masking_options[] = {
	{"child_data", CG_MASK_CHILD_DATA, false},
	{"all", CG_MASK_ALL, false},
	{"off", CG_MASK_OFF, false},
	{NULL, 0, false}
};

/* the last top-level text masked: address, length, statement start */
static const char *memo_text = NULL;
static size_t memo_len = 0;
static TimestampTz memo_start = 0;

/*
 * A copy of the last text the scanner masked, as masked.  Masking is
 * idempotent (constants keep their delimiters and length, their contents
 * become '*' or '0'), so a text equal to it has nothing left to mask: a
 * prepared statement executed again, or the same statement sent again,
 * costs a comparison instead of a scan.  Holds no plaintext (it is
 * masked); kept only for texts up to MASKED_MEMO_MAX bytes.
 */
#define MASKED_MEMO_MAX 8192
static char *masked_memo = NULL;
static size_t masked_memo_len = 0;
static bool masked_memo_valid = false;

/*
 * And a 64-bit hash of that text before it was masked, with the scanner
 * settings it was masked under: a text with the same hash and length (a
 * prepared statement's text, which every Bind copies afresh from the
 * unmasked original) is overwritten with the masked copy instead of
 * scanned.  A hash collision could only overwrite a text with another
 * masked text -- never leave a constant unmasked -- so no copy of the
 * unmasked text is kept.
 */
static uint64 masked_memo_orig_hash = 0;
static bool masked_memo_scs = false;
static int	masked_memo_bq = 0;

/* statement start time of the last statement that formatted child data */
static TimestampTz child_output_start = 0;

void
cg_statement_text_define_gucs(void)
{
	DefineCustomEnumVariable("childguard.statement_masking",
							 "Which statement texts have their constants masked in pg_stat_activity, pg_stat_statements, auto_explain and pgaudit; server log lines are masked unless off.",
							 "child_data: statements that may carry child data (they use a table holding child data, call a user-defined function, are utility commands or multi-statement strings, or turn text into child data); all: every statement; off: texts as sent (child plaintext may then reach the log).",
							 &statement_masking, CG_MASK_CHILD_DATA, masking_options,
							 PGC_SIGHUP, GUC_SUPERUSER_ONLY, NULL, NULL, NULL);
}

CgStatementMasking
cg_statement_masking(void)
{
	return (CgStatementMasking) statement_masking;
}

/* Mask the contents of the constant token text[0 .. len). */
static void
mask_token(char *tok, size_t len, int token)
{
	size_t		open,
				close;

	if (token == ICONST || token == FCONST)
	{
		/* digits become zeros: the token keeps its shape */
		for (size_t i = 0; i < len; i++)
			if (tok[i] >= '1' && tok[i] <= '9')
				tok[i] = '0';
		return;
	}
	if (tok[0] == '$')
	{
		/* $tag$ ... $tag$: keep both delimiters */
		open = 1;
		while (open < len && tok[open] != '$')
			open++;
		open++;
		close = len > open ? len - open : len;
		if (close < open)
			close = open;
	}
	else
	{
		/* [E|B|X|N|U&]' ... ' (quote continuations included) */
		open = 0;
		while (open < len && tok[open] != '\'')
			open++;
		open++;
		close = (len > 0 && tok[len - 1] == '\'') ? len - 1 : len;
	}
	for (size_t i = open; i < close; i++)
		tok[i] = '*';
}

/*
 * Mask the constants of SQL text in place with PostgreSQL's scanner; true
 * if anything changed.  The text must be one the raw parser accepted, with
 * the current settings (the scanner raises an error otherwise).
 */
bool
cg_mask_sql_with_scanner(char *text, bool numbers)
{
	core_yy_extra_type yyextra;
	core_YYSTYPE yylval;
	YYLTYPE		yylloc;
	core_yyscan_t scanner;
	volatile bool changed = false;
	int			save_client = client_min_messages;
	int			save_log = log_min_messages;

	/*
	 * The parser already said what the scanner says below the level of an
	 * error (an identifier truncated): do not say it twice.
	 */
	client_min_messages = Max(client_min_messages, ERROR);
	log_min_messages = Max(log_min_messages, ERROR);
	PG_TRY();
	{
		scanner = scanner_init(text, &yyextra, &ScanKeywords, ScanKeywordTokens);
		yyextra.escape_string_warning = false;
		for (;;)
		{
			int			token = core_yylex(&yylval, &yylloc, scanner);
			size_t		len;

			if (token == 0)
				break;
			if (token != SCONST && token != USCONST && token != BCONST &&
				token != XCONST && !(numbers && (token == ICONST || token == FCONST)))
				continue;
			/* the scanner ends the current token with a NUL in its own copy */
			len = strlen(yyextra.scanbuf + yylloc);
			mask_token(text + yylloc, len, token);
			changed = true;
		}
		scanner_finish(scanner);
	}
	PG_FINALLY();
	{
		client_min_messages = save_client;
		log_min_messages = save_log;
	}
	PG_END_TRY();
	return changed;
}

static inline bool
ident_char(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		(c >= '0' && c <= '9') || c == '_' || c == '$' || c >= 0x80;
}

static inline bool
ident_start(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c >= 0x80;
}

/*
 * Mask, in place and without ever raising an error, what may be a
 * constant in text that may not parse: SQL in an error report, a plan, a
 * log line.  It follows the scanner's rules for quotes, escapes, dollar
 * quoting and comments; where a quote is not closed it masks to the end.
 * Used only where the scanner cannot be (see log_masking.c).
 */
bool
cg_mask_text_tolerant(char *text, int flags)
{
	size_t		n = strlen(text);
	size_t		i = 0;
	bool		changed = false;

	while (i < n)
	{
		unsigned char c = text[i];

		if (c == '-' && i + 1 < n && text[i + 1] == '-')
		{
			while (i < n && text[i] != '\n')
				i++;
		}
		else if (c == '/' && i + 1 < n && text[i + 1] == '*')
		{
			int			depth = 1;

			i += 2;
			while (i < n && depth > 0)
			{
				if (text[i] == '/' && i + 1 < n && text[i + 1] == '*')
					depth++, i += 2;
				else if (text[i] == '*' && i + 1 < n && text[i + 1] == '/')
					depth--, i += 2;
				else
					i++;
			}
		}
		else if (c == '"' && (flags & CG_MASK_IDENTIFIERS))
		{
			i++;
			while (i < n)
			{
				if (text[i] == '"' && i + 1 < n && text[i + 1] == '"')
					i += 2;
				else if (text[i] == '"')
					break;
				else
					i++;
			}
			i++;
		}
		else if (c == '\'')
		{
			/* E'' (the E a token of its own) or non-standard strings: backslash escapes */
			bool		escapes = !standard_conforming_strings ||
				(i > 0 && (text[i - 1] == 'E' || text[i - 1] == 'e') &&
				 (i < 2 || !ident_char(text[i - 2])));

			i++;
			while (i < n)
			{
				if (escapes && text[i] == '\\' && i + 1 < n)
				{
					text[i] = text[i + 1] = '*';
					i += 2;
				}
				else if (text[i] == '\'' && i + 1 < n && text[i + 1] == '\'')
				{
					text[i] = text[i + 1] = '*';
					i += 2;
				}
				else if (text[i] == '\'')
					break;
				else
				{
					text[i] = '*';
					i++;
				}
				changed = true;
			}
			i++;
		}
		else if (c == '$' && i + 1 < n && text[i + 1] >= '0' && text[i + 1] <= '9')
		{
			/* a parameter, $n */
			i++;
			while (i < n && text[i] >= '0' && text[i] <= '9')
				i++;
		}
		else if (c == '$' && i + 1 < n && !(i > 0 && ident_char(text[i - 1])) &&
				 (text[i + 1] == '$' || ident_start(text[i + 1])))
		{
			/* a dollar quote's opening tag, if it is one */
			size_t		t = i + 1;

			while (t < n && text[t] != '$' && ident_char(text[t]))
				t++;
			if (t < n && text[t] == '$')
			{
				size_t		taglen = t - i + 1;
				size_t		j = t + 1;
				size_t		end = n;

				for (size_t k = j; k + taglen <= n; k++)
					if (memcmp(text + k, text + i, taglen) == 0)
					{
						end = k;
						break;
					}
				for (size_t k = j; k < end; k++)
					text[k] = '*';
				changed = changed || end > j;
				i = end + taglen;
			}
			else
				i = t;
		}
		else if (ident_start(c))
		{
			while (i < n && ident_char(text[i]))
				i++;
		}
		else if ((c >= '0' && c <= '9') ||
				 (c == '.' && i + 1 < n && text[i + 1] >= '0' && text[i + 1] <= '9'))
		{
			/* a number: digits, point, exponent */
			while (i < n && ((text[i] >= '0' && text[i] <= '9') || text[i] == '.' ||
							 ((text[i] == 'e' || text[i] == 'E') && i + 1 < n &&
							  ((text[i + 1] >= '0' && text[i + 1] <= '9') ||
							   text[i + 1] == '+' || text[i + 1] == '-')) ||
							 ((text[i] == '+' || text[i] == '-') && i > 0 &&
							  (text[i - 1] == 'e' || text[i - 1] == 'E'))))
			{
				if ((flags & CG_MASK_NUMBERS) && text[i] >= '1' && text[i] <= '9')
				{
					text[i] = '0';
					changed = true;
				}
				i++;
			}
		}
		else
			i++;
	}
	return changed;
}

/* Can c continue an identifier (the scanner's ident_cont, and '$')? */
static inline bool
ident_cont(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		(c >= '0' && c <= '9') || c == '_' || c == '$' || c >= 0x80;
}

/*
 * The text has something to mask only if it holds a quote, a dollar that
 * is not a parameter ($1: a dollar quote may follow), or a digit that can
 * begin a number: one not continuing an identifier or parameter (t1,
 * $12), since the scanner reads those as part of the name.  A prepared
 * statement's text ("... WHERE id = $1") then costs one pass, no scan.
 */
static bool
may_hold_constants(const char *text, bool numbers)
{
	for (const char *p = text; *p; p++)
	{
		if (*p == '\'')
			return true;
		if (*p == '$' && !(p[1] >= '0' && p[1] <= '9'))
			return true;
		if (numbers && *p >= '0' && *p <= '9' &&
			(p == text || !ident_cont((unsigned char) p[-1])))
			return true;
	}
	return false;
}

/*
 * Mask a top-level statement text in place, and pg_stat_activity's copy of
 * it if that shows this text.  how: MASK_SCANNER (the text parsed; an
 * error from the scanner falls back to the tolerant masker), MASK_IN_LOG
 * (the text parsed, but we are inside error reporting and may not raise
 * or catch errors), MASK_TOLERANT (the text may not parse).
 */
typedef enum
{
	MASK_SCANNER,
	MASK_IN_LOG,
	MASK_TOLERANT
} MaskHow;

/*
 * The memo's hash of a statement's original text: 8 bytes a step (a
 * prepared statement's text is hashed at every execution, and
 * hash_any_extended costs about four times as much).  Never 0 (0 means
 * "not hashed").  A collision -- another text of the same length hashing
 * alike -- would only show the memo's masked text in its place: the memo
 * holds no constant, so nothing is disclosed.
 */
static uint64
text_hash(const char *text, size_t len)
{
	uint64		h = UINT64CONST(0x9e3779b97f4a7c15) ^ len;
	size_t		i = 0;
	uint64		w;

	for (; i + 8 <= len; i += 8)
	{
		memcpy(&w, text + i, 8);
		h = (h ^ w) * UINT64CONST(0x100000001b3);
		h ^= h >> 29;
	}
	w = 0;
	memcpy(&w, text + i, len - i);
	h = (h ^ w) * UINT64CONST(0xff51afd7ed558ccd);
	h ^= h >> 32;
	return h != 0 ? h : 1;
}

/* Remember text as masked by the scanner (not by the tolerant masker). */
static void
remember_masked(const char *text, size_t len, MaskHow how, uint64 orig_hash)
{
	masked_memo_valid = false;
	if (how == MASK_TOLERANT || len > MASKED_MEMO_MAX)
		return;
	if (masked_memo == NULL)
		masked_memo = MemoryContextAlloc(TopMemoryContext, MASKED_MEMO_MAX);
	memcpy(masked_memo, text, len);
	masked_memo_len = len;
	masked_memo_orig_hash = orig_hash;
	masked_memo_scs = standard_conforming_strings;
	masked_memo_bq = backslash_quote;
	masked_memo_valid = true;
}

static void
mask_top_text(char *text, MaskHow how)
{
	volatile PgBackendStatus *be = MyBEEntry;
	bool		numbers = true;
	size_t		len = strlen(text);
	volatile size_t shown = 0;
	volatile bool changed = false;
	volatile MaskHow used = how;
	uint64		orig_hash;
	MemoryContext cxt = CurrentMemoryContext;

	if (text == memo_text && len == memo_len &&
		memo_start == GetCurrentStatementStartTimestamp())
		return;
	if (how != MASK_TOLERANT)
	{
		memo_text = text;
		memo_len = len;
		memo_start = GetCurrentStatementStartTimestamp();
	}
	if (masked_memo_valid && len == masked_memo_len &&
		memcmp(text, masked_memo, len) == 0)
		return;
	/*
	 * A text of the memo's length is hashed first: if it is the memo's
	 * original (a prepared statement's next execution), the memo had
	 * constants and the scan for them is spared.
	 */
	if (how != MASK_TOLERANT && masked_memo_valid && len == masked_memo_len)
		orig_hash = text_hash(text, len);
	else
		orig_hash = 0;
	if (!(orig_hash != 0 && orig_hash == masked_memo_orig_hash) &&
		!may_hold_constants(text, numbers))
		return;
	if (orig_hash == 0 && len <= MASKED_MEMO_MAX)
		orig_hash = text_hash(text, len);

	if (be != NULL && pgstat_track_activities && be->st_activity_raw != NULL)
	{
		size_t		n = Min(len, (size_t) pgstat_track_activity_query_size - 1);

		if (strncmp((const char *) be->st_activity_raw, text, n) == 0 &&
			be->st_activity_raw[n] == '\0')
			shown = n;
	}

	if (how != MASK_TOLERANT && masked_memo_valid && len == masked_memo_len &&
		orig_hash == masked_memo_orig_hash &&
		masked_memo_scs == standard_conforming_strings &&
		masked_memo_bq == backslash_quote)
	{
		/* masked before under the same settings: the same result */
		memcpy(text, masked_memo, len);
		changed = true;
	}
	else if (how == MASK_TOLERANT)
		changed = cg_mask_text_tolerant(text, CG_MASK_IDENTIFIERS |
										(numbers ? CG_MASK_NUMBERS : 0));
	else if (how == MASK_IN_LOG)
		changed = cg_mask_sql_with_scanner(text, numbers);
	else
	{
		PG_TRY();
		{
			changed = cg_mask_sql_with_scanner(text, numbers);
		}
		PG_CATCH();
		{
			/* the text does not lex with today's settings: mask it tolerantly */
			MemoryContextSwitchTo(cxt);
			FlushErrorState();
			used = MASK_TOLERANT;
			changed = cg_mask_text_tolerant(text, CG_MASK_IDENTIFIERS |
											(numbers ? CG_MASK_NUMBERS : 0));
		}
		PG_END_TRY();
	}

	if (changed && shown > 0)
	{
		PGSTAT_BEGIN_WRITE_ACTIVITY(be);
		memcpy((char *) be->st_activity_raw, text, shown);
		PGSTAT_END_WRITE_ACTIVITY(be);
	}
	remember_masked(text, len, used, orig_hash);
}

/* Is text the client's statement text, which we may change in place? */
static bool
maskable(const char *text)
{
	return statement_masking != CG_MASK_OFF && text != NULL &&
		text == debug_query_string &&
		(MyBackendType == B_BACKEND || MyBackendType == B_WAL_SENDER);
}

/* Does text hold another statement after [0, end)?  (';' and blanks do not count) */
static bool
more_statements_after(const char *text, int end)
{
	for (const char *p = text + end; *p; p++)
		if (*p != ';' && !scanner_isspace(*p))
			return true;
	return false;
}

/* Does a relation of this range table hold child data? */
static bool
rtable_holds_child_data(List *rtable)
{
	ListCell   *lc;

	foreach(lc, rtable)
	{
		RangeTblEntry *rte = lfirst_node(RangeTblEntry, lc);

		if (rte->rtekind == RTE_RELATION &&
			(rte->relkind == RELKIND_RELATION || rte->relkind == RELKIND_PARTITIONED_TABLE ||
			 rte->relkind == RELKIND_VIEW || rte->relkind == RELKIND_MATVIEW ||
			 rte->relkind == RELKIND_FOREIGN_TABLE) &&
			cg_protection_of_relid(rte->relid)->has_child_data)
			return true;
	}
	return false;
}

/*
 * post_parse_analyze_hook: the text parsed.  Mask it (if it is the
 * client's) when every statement is masked, or when this one may carry
 * child data as far as parse analysis can tell: a utility command (DO,
 * CALL, PREPARE, EXECUTE, COPY, EXPLAIN ...), a string of several
 * statements (a later one may), or a table holding child data in its
 * range table.  A constant coerced to child_data masked it already.
 */
void
cg_statement_text_post_parse(ParseState *pstate, Query *query)
{
	if (!maskable(pstate->p_sourcetext))
		return;
	if (statement_masking == CG_MASK_ALL ||
		query->commandType == CMD_UTILITY ||
		query->stmt_location > 0 ||
		(query->stmt_len > 0 &&
		 more_statements_after(pstate->p_sourcetext, query->stmt_location + query->stmt_len)) ||
		(OidIsValid(cg_child_data_type()) && rtable_holds_child_data(query->rtable)))
		mask_top_text((char *) pstate->p_sourcetext, MASK_SCANNER);
}

/*
 * A top-level ExecutorStart (a prepared statement's text reaches here
 * without parse analysis).  Mask when every statement is masked, or when
 * the plan uses a relation holding child data (views expanded, subqueries
 * included) or calls a user-defined function (which may write child data
 * from its arguments): both come from lists the planner keeps anyway.
 * plain: the executor-start gate found no relation holding child data in
 * the range table (plan_gate.c), so only the functions are looked at.
 */
void
cg_statement_text_executor_start(QueryDesc *queryDesc, bool plain)
{
	PlannedStmt *ps = queryDesc->plannedstmt;
	bool		mask = statement_masking == CG_MASK_ALL;
	ListCell   *lc;

	if (!maskable(queryDesc->sourceText))
		return;
	if (!mask && OidIsValid(cg_child_data_type()))
	{
		foreach(lc, ps->invalItems)
			if (lfirst_node(PlanInvalItem, lc)->cacheId == PROCOID)
				mask = true;
		mask = mask || (!plain && rtable_holds_child_data(ps->rtable));
	}
	if (mask)
		mask_top_text((char *) queryDesc->sourceText, MASK_SCANNER);
}

/* A top-level utility command: always masked (DO, CALL, COPY, EXECUTE ...). */
void
cg_statement_text_utility(const char *queryString)
{
	if (maskable(queryString))
		mask_top_text((char *) queryString, MASK_SCANNER);
}

/*
 * child_data input of plaintext, or a value read: whatever the client sent
 * is masked now.  Called for every value; once the text has been masked,
 * the next values pay three comparisons: the same address, the same
 * protocol message (its start time: a message's text may land where the
 * last one's was, and a literal's input runs at parse analysis, before
 * the message's statement begins) and the same top-level statement (a
 * portal run again within a message).
 */
void
cg_statement_text_mask_current(void)
{
	static const char *done_text = NULL;
	static uint64 done_statement = 0;
	static TimestampTz done_start = 0;

	if (debug_query_string == done_text && done_text != NULL &&
		cg_statement_id() == done_statement &&
		GetCurrentStatementStartTimestamp() == done_start)
		return;
	if (maskable(debug_query_string))
	{
		mask_top_text((char *) debug_query_string, MASK_SCANNER);
		done_text = debug_query_string;
		done_statement = cg_statement_id();
		done_start = GetCurrentStatementStartTimestamp();
	}
}

/*
 * From the emit_log_hook: mask debug_query_string in place, with the
 * scanner if the line being written says the text parsed.  Raises no
 * error when parsed is false; parsed lines come only after a raw parse
 * succeeded with the same settings, so the scanner raises none either.
 */
void
cg_statement_text_mask_for_log(bool parsed)
{
	if (maskable(debug_query_string))
		mask_top_text((char *) debug_query_string,
					  parsed ? MASK_IN_LOG : MASK_TOLERANT);
}

/* child_data output ran in this statement (e.g. for an error's row description) */
void
cg_statement_text_note_child_output(void)
{
	child_output_start = GetCurrentStatementStartTimestamp();
}

bool
cg_statement_text_child_output_seen(void)
{
	return child_output_start != 0 &&
		child_output_start == GetCurrentStatementStartTimestamp();
}
