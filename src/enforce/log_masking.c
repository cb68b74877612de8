/*-------------------------------------------------------------------------
 *
 * log_masking.c
 *	  The emit_log_hook: what a log line carries of a statement's text,
 *	  its parameters or its row values is masked before the line is
 *	  written (stderr, csvlog and jsonlog alike: they all read the same
 *	  ErrorData and debug_query_string).
 *
 *	  - statement logging (log_statement, log_min_duration_statement and
 *	    its sampling, the extended protocol's parse/bind/execute lines):
 *	    the text is debug_query_string; it is masked in place
 *	    (statement_text.c; with the scanner for log_statement's line, which
 *	    follows the raw parse of that text at once) and the line rebuilt;
 *	  - the STATEMENT line of an error (log_min_error_statement), CONTEXT,
 *	    QUERY (internal query) and DETAIL lines ("parameters: $1 = '...'",
 *	    "prepare: ...", parameter values in bind errors, COPY data, a
 *	    syntax error's token), and
 *	    auto_explain's plans: these may come from text that did not parse,
 *	    and nothing here may raise an error (it would clobber the report
 *	    being written), so they are masked by cg_mask_text_tolerant;
 *	  - row values in constraint failures ("Failing row contains (...)",
 *	    "Key (...)=(...)"): masked in the server log always; for the client
 *	    too when the statement formatted child data;
 *	  - pgaudit's AUDIT lines: the statement field masked, the parameter
 *	    field replaced;
 *	  - any other report of a statement that formatted child data (its
 *	    values may be quoted by a failing conversion, "invalid input syntax
 *	    for type integer: \"...\"", a JSON or XML parser's detail and
 *	    context, a RAISE of the reader's own): the message keeps only its
 *	    wording (the format, each argument shown as ***), the detail and
 *	    hint are replaced, context lines other than PL/pgSQL's and SQL
 *	    statements' are masked.  The line goes to the client the same way:
 *	    PostgreSQL writes one ErrorData to both.  childguard's own reports
 *	    (class ZC) never carry plaintext and are left as they are.
 *	  Nothing here runs unless a line goes to the server log.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "tcop/tcopprot.h"

#include "statement_text.h"

/* postgres.c's statement-logging lines: each ends with debug_query_string */
static const char *const statement_log_ids[] = {
	"statement: %s",
	"%s %s%s%s: %s",
	"duration: %s ms  statement: %s",
	"duration: %s ms  parse %s: %s",
	"duration: %s ms  bind %s%s%s: %s",
	"duration: %s ms  %s %s%s%s: %s",
	NULL
};

static bool
is_statement_log(const char *id)
{
	if (id == NULL)
		return false;
	for (int i = 0; statement_log_ids[i] != NULL; i++)
		if (strcmp(id, statement_log_ids[i]) == 0)
			return true;
	return false;
}

static int
sql_flags(void)
{
	return CG_MASK_IDENTIFIERS | CG_MASK_NUMBERS;
}

/* A palloc'd copy of s with its quoted constants masked. */
static char *
masked_copy(const char *s, int flags)
{
	char	   *copy = pstrdup(s);

	cg_mask_text_tolerant(copy, flags);
	return copy;
}

/*
 * The statement text a line ends with: debug_query_string, masked in place
 * (the scanner when the line says the text parsed), and the line rebuilt.
 */
static void
mask_statement_log_line(ErrorData *edata)
{
	const char *text = debug_query_string;
	size_t		mlen,
				tlen;

	if (edata->message == NULL)
		return;
	mlen = strlen(edata->message);
	tlen = text != NULL ? strlen(text) : 0;
	if (text != NULL && tlen <= mlen &&
		memcmp(edata->message + mlen - tlen, text, tlen) == 0)
	{
		/*
		 * log_statement's "statement: %s" is written right after the raw
		 * parse of this very text, with the same settings, so the scanner
		 * cannot fail on it.  The other lines come later (a prepared
		 * statement's text parsed in an earlier message, or after the
		 * statements ran, perhaps changing standard_conforming_strings):
		 * the tolerant scan, which cannot fail.
		 */
		cg_statement_text_mask_for_log(strcmp(edata->message_id, "statement: %s") == 0 &&
									   edata->funcname != NULL &&
									   strcmp(edata->funcname, "exec_simple_query") == 0);
		memcpy(edata->message + mlen - tlen, text, tlen);
	}
	else
		cg_mask_text_tolerant(edata->message, sql_flags());
}

/* The STATEMENT line: debug_query_string may not have parsed. */
static void
mask_error_statement(void)
{
	cg_statement_text_mask_for_log(false);
}

/*
 * A syntax error names the token where it stopped: 'at or near "..."'; the
 * token may be (the start of) a constant.
 */
static void
mask_syntax_error(ErrorData *edata)
{
	char	   *near;

	if (edata->message == NULL || edata->sqlerrcode != ERRCODE_SYNTAX_ERROR)
		return;
	near = strstr(edata->message, " at or near \"");
	if (near != NULL)
		cg_mask_text_tolerant(near + strlen(" at or near \""), sql_flags());
}

/*
 * Row values in a constraint failure's detail: after "Key (columns)=(" to
 * the last ")", or else from the first "(" to the last ")" ("Failing row
 * contains (...)").  Only the parentheses' shape is used, so translated
 * messages are masked the same way.
 */
static char *
mask_row_values(const char *detail)
{
	char	   *copy = pstrdup(detail);
	char	   *last = strrchr(copy, ')');
	char	   *start = strstr(copy, ")=(");

	start = start != NULL ? start + 3 : strchr(copy, '(');
	if (start == NULL || last == NULL)
		return copy;
	if (*start == '(')
		start++;
	for (char *q = start; q < last; q++)
		if (*q != '(' && *q != ')' && *q != ',' && *q != ' ')
			*q = '*';
	return copy;
}

/*
 * Context lines that end with a quoted value, 'COPY t, line 1, column c:
 * "..."' (the data COPY was reading): the value is masked, whatever the
 * line's wording (translations included).
 */
static void
mask_quoted_line_ends(char *context)
{
	char	   *line = context;

	while (line != NULL && *line)
	{
		char	   *eol = strchr(line, '\n');
		char	   *end = eol ? eol : line + strlen(line);
		char	   *q = line;

		while (q + 2 < end && !(q[0] == ':' && q[1] == ' ' && q[2] == '"'))
			q++;
		if (q + 2 < end && end[-1] == '"')
			for (q += 3; q < end - 1; q++)
				*q = '*';
		line = eol ? eol + 1 : NULL;
	}
}

/*
 * debug_print_parse / _rewritten / _plan dump each Const's bytes
 * (":constvalue 9 [ 36 0 0 0 104 105 ... ]"): the bytes become zeros.
 */
static void
mask_node_dump(char *dump)
{
	char	   *p = dump;

	while ((p = strstr(p, ":constvalue ")) != NULL)
	{
		char	   *open = strchr(p, '[');
		char	   *close = open ? strchr(open, ']') : NULL;

		if (open == NULL || close == NULL)
			break;
		for (char *q = open + 1; q < close; q++)
			if ((*q >= '1' && *q <= '9') || *q == '-')
				*q = (*q == '-') ? ' ' : '0';
		p = close;
	}
}

/* Split a CSV field starting at *p (pgaudit's quoting); returns it unquoted. */
static char *
csv_field(const char **p)
{
	StringInfoData f;
	const char *s = *p;

	initStringInfo(&f);
	if (*s == '"')
	{
		s++;
		while (*s)
		{
			if (s[0] == '"' && s[1] == '"')
			{
				appendStringInfoChar(&f, '"');
				s += 2;
			}
			else if (s[0] == '"')
			{
				s++;
				break;
			}
			else
				appendStringInfoChar(&f, *s++);
		}
	}
	else
		while (*s && *s != ',')
			appendStringInfoChar(&f, *s++);
	*p = s;
	return f.data;
}

static void
append_csv(StringInfo buf, const char *s)
{
	if (strpbrk(s, ",\"\r\n") == NULL)
	{
		appendStringInfoString(buf, s);
		return;
	}
	appendStringInfoChar(buf, '"');
	for (; *s; s++)
	{
		if (*s == '"')
			appendStringInfoChar(buf, '"');
		appendStringInfoChar(buf, *s);
	}
	appendStringInfoChar(buf, '"');
}

/*
 * pgaudit: "AUDIT: type,id,subid,class,command,objtype,objname,statement,
 * parameters[,rows]".  The statement is masked; logged parameter values
 * are replaced.
 */
static void
mask_pgaudit_line(ErrorData *edata)
{
	const char *p = edata->message + strlen("AUDIT: ");
	StringInfoData out;
	char	   *field;

	initStringInfo(&out);
	appendStringInfoString(&out, "AUDIT: ");
	for (int i = 0; i < 7; i++)
	{
		field = csv_field(&p);
		append_csv(&out, field);
		if (*p != ',')
			goto unparsed;
		p++;
		appendStringInfoChar(&out, ',');
	}
	/* the statement */
	field = csv_field(&p);
	if (field[0] != '<')
		cg_mask_text_tolerant(field, sql_flags());
	append_csv(&out, field);
	if (*p == ',')
	{
		p++;
		appendStringInfoChar(&out, ',');
		field = csv_field(&p);
		if (field[0] == '<' || field[0] == '\0')
			append_csv(&out, field);
		else
			appendStringInfoString(&out, "<masked by childguard>");
		appendStringInfoString(&out, p);	/* rows, if logged */
	}
	edata->message = out.data;
	return;

unparsed:
	/* not the shape we know: mask every quoted constant of the line */
	cg_mask_text_tolerant(edata->message, sql_flags());
}

/*
 * The message's wording without its arguments: message_id (the format,
 * untranslated) with each conversion shown as ***.
 */
static char *
message_wording(const char *fmt)
{
	StringInfoData out;

	initStringInfo(&out);
	for (const char *p = fmt; *p; p++)
	{
		if (*p != '%')
		{
			appendStringInfoChar(&out, *p);
			continue;
		}
		if (p[1] == '%')
		{
			appendStringInfoChar(&out, '%');
			p++;
			continue;
		}
		/* flags, width, precision, length modifiers, then the conversion */
		p++;
		while (*p && strchr("-+ #0123456789.*hlLqjzt", *p) != NULL)
			p++;
		appendStringInfoString(&out, "***");
		if (*p == '\0')
			break;
	}
	return out.data;
}

/* context lines whose shape is known to hold no value (SQL text is masked) */
static const char *const safe_context_prefixes[] = {
	"PL/pgSQL function ",
	"SQL statement \"",
	"SQL function \"",
	"SQL expression \"",
	"PL/pgSQL assignment \"",
	"parallel worker",
	NULL
};

static char *
mask_context_values(const char *context)
{
	StringInfoData out;
	const char *line = context;

	initStringInfo(&out);
	while (line != NULL && *line)
	{
		const char *eol = strchr(line, '\n');
		size_t		len = eol ? (size_t) (eol - line) : strlen(line);
		bool		safe = false;

		for (int i = 0; safe_context_prefixes[i] != NULL; i++)
			if (strncmp(line, safe_context_prefixes[i], strlen(safe_context_prefixes[i])) == 0)
				safe = true;
		if (out.len > 0)
			appendStringInfoChar(&out, '\n');
		if (safe)
			appendBinaryStringInfo(&out, line, len);
		else
			appendStringInfoString(&out, "(a context line not shown: the statement read child data)");
		line = eol ? eol + 1 : NULL;
	}
	return out.data;
}

/*
 * A report of a statement that formatted child data: whatever it quotes of
 * values may be plaintext.  Not childguard's own reports (class ZC), which
 * never carry it, nor constraint failures (their row values are masked
 * above, by shape).
 */
static void
mask_values_of_child_statement(ErrorData *edata)
{
	const char *state = unpack_sql_state(edata->sqlerrcode);

	if ((state[0] == 'Z' && state[1] == 'C') || edata->table_name != NULL)
		return;
	if (edata->message != NULL && edata->message_id != NULL)
		edata->message = message_wording(edata->message_id);
	else if (edata->message != NULL)
		edata->message = pstrdup("***");
	if (edata->detail != NULL)
		edata->detail = pstrdup("The detail is not shown: the statement read child data.");
	if (edata->detail_log != NULL)
		edata->detail_log = pstrdup("The detail is not shown: the statement read child data.");
	if (edata->hint != NULL)
		edata->hint = pstrdup("The hint is not shown: the statement read child data.");
	if (edata->context != NULL)
		edata->context = mask_context_values(edata->context);
}

/*
 * emit_log_hook body.  childguard.c calls it before the previous hook, so
 * that hook sees the masked line too.
 */
void
cg_log_masking_emit(ErrorData *edata)
{
	if (cg_statement_masking() == CG_MASK_OFF || !edata->output_to_server)
		return;

	/* the statement text, wherever the line shows it */
	if (is_statement_log(edata->message_id))
		mask_statement_log_line(edata);
	else if (edata->message_id != NULL &&
			 strcmp(edata->message_id, "duration: %.3f ms  plan:\n%s") == 0)
		cg_mask_text_tolerant(edata->message, 0);	/* auto_explain */
	else if (edata->message != NULL &&
			 (strncmp(edata->message, "AUDIT: SESSION,", 15) == 0 ||
			  strncmp(edata->message, "AUDIT: OBJECT,", 14) == 0))
		mask_pgaudit_line(edata);	/* childguard's own lines are "AUDIT: CHILD," */
	mask_syntax_error(edata);
	if (!edata->hide_stmt)
		mask_error_statement();
	if (edata->internalquery != NULL)
		cg_mask_text_tolerant(edata->internalquery, sql_flags());

	/* row values of a constraint failure, parameters, prepared texts */
	if (edata->detail != NULL && edata->table_name != NULL)
	{
		edata->detail_log = mask_row_values(edata->detail_log ?
											edata->detail_log : edata->detail);
		if (cg_statement_text_child_output_seen())
			edata->detail = mask_row_values(edata->detail);
	}
	else if (edata->detail != NULL &&
			 (is_statement_log(edata->message_id) ||
			  strncmp(edata->detail, "parameters: ", 12) == 0 ||
			  strncmp(edata->detail, "prepare: ", 9) == 0))
	{
		/* "parameters: $1 = '...'" or "prepare: <text>" */
		edata->detail_log = masked_copy(edata->detail_log ?
										edata->detail_log : edata->detail,
										sql_flags());
	}

	/* debug_print_parse and friends: "%s:" with the tree in the detail */
	if (edata->message_id != NULL && strcmp(edata->message_id, "%s:") == 0 &&
		edata->detail != NULL)
		mask_node_dump(edata->detail);

	/* a deadlock report quotes each process's statement text (log only) */
	if (edata->message_id != NULL && strcmp(edata->message_id, "deadlock detected") == 0 &&
		edata->detail_log != NULL)
		cg_mask_text_tolerant(edata->detail_log, CG_MASK_IDENTIFIERS);

	/* CONTEXT: SQL statements of functions and DO blocks, parameters, COPY data */
	if (edata->context != NULL)
	{
		mask_quoted_line_ends(edata->context);
		cg_mask_text_tolerant(edata->context, 0);
	}

	/* the values a failing conversion or a RAISE quotes (see the header) */
	if (edata->elevel >= INFO && cg_statement_text_child_output_seen() &&
		!is_statement_log(edata->message_id))
		mask_values_of_child_statement(edata);
}
