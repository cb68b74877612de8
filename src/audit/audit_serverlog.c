/*-------------------------------------------------------------------------
 *
 * audit_serverlog.c
 *	  The audit record as one server-log line, pgaudit-like and parseable
 *	  as CSV after the "AUDIT: " prefix:
 *
 *	  AUDIT: CHILD,outcome,command,purpose,grant,relations,columns,
 *	         children,read,denied,written,rows,sqlstate
 *
 *	  relations and columns are ';'-separated, the three child lists are
 *	  space-separated subject numbers; a field is double-quoted (quotes
 *	  doubled) when it holds a comma, quote or line break.  Time, session,
 *	  roles, client and query id are those of the line itself: put %m %c
 *	  %u %r %Q in log_line_prefix.  Written when childguard.audit_log_server
 *	  is on, and always for a record that could not be queued (with the
 *	  reason in the message), so no record disappears silently.  No
 *	  query text, so no literal of a query reaches the log.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "lib/stringinfo.h"
#include "utils/timestamp.h"

#include "audit.h"

/* Append s as one CSV field. */
static void
append_field(StringInfo buf, const char *s)
{
	appendStringInfoChar(buf, ',');
	if (s == NULL)
		return;
	if (strpbrk(s, ",\"\r\n") == NULL)
	{
		appendStringInfoString(buf, s);
		return;
	}
	appendStringInfoChar(buf, '"');
	for (const char *p = s; *p; p++)
	{
		if (*p == '"')
			appendStringInfoChar(buf, '"');
		appendStringInfoChar(buf, *p);
	}
	appendStringInfoChar(buf, '"');
}

static char *
join_strings(char **items, int n)
{
	StringInfoData s;

	initStringInfo(&s);
	for (int i = 0; i < n; i++)
	{
		if (i > 0)
			appendStringInfoChar(&s, ';');
		appendStringInfoString(&s, items[i]);
	}
	return s.data;
}

static char *
join_ids(const int64 *ids, int n)
{
	StringInfoData s;

	initStringInfo(&s);
	for (int i = 0; i < n; i++)
		appendStringInfo(&s, i > 0 ? " " INT64_FORMAT : INT64_FORMAT, ids[i]);
	return s.data;
}

/* The line (without the "AUDIT: " prefix). */
static char *
format_line(const CgAuditRecord *rec)
{
	StringInfoData buf;

	initStringInfo(&buf);
	appendStringInfoString(&buf, "CHILD");
	append_field(&buf, cg_audit_outcome_name(rec->outcome));
	append_field(&buf, rec->command);
	append_field(&buf, rec->purpose);
	append_field(&buf, rec->grant_id ? psprintf(INT64_FORMAT, rec->grant_id) : NULL);
	append_field(&buf, join_strings(rec->relations, rec->nrelations));
	append_field(&buf, join_strings(rec->columns, rec->ncolumns));
	append_field(&buf, psprintf("%d", rec->children));
	append_field(&buf, join_ids(rec->read, rec->nread));
	append_field(&buf, join_ids(rec->denied, rec->ndenied));
	append_field(&buf, join_ids(rec->written, rec->nwritten));
	append_field(&buf, psprintf(INT64_FORMAT, rec->rows));
	append_field(&buf, rec->sqlstate[0] ? rec->sqlstate : NULL);
	return buf.data;
}

/*
 * Write rec's line to the server log (and to the client when
 * childguard.audit_log_client is on).  why_fallback, if set, says why the
 * record is only here and not in the access log.  Does not raise.
 */
void
cg_audit_server_log(const CgAuditRecord *rec, const char *why_fallback)
{
	char	   *line = format_line(rec);

	/* the line is then the only copy: it names everything the table would */
	if (why_fallback != NULL)
		ereport(LOG,
				(errmsg("AUDIT: %s", line),
				 errdetail("This audit record is not in childguard.access_log: %s. "
						   "Statement at %s, session %s, role %s acting as %s, "
						   "client %s, application %s, query id " INT64_FORMAT ".%s%s%s",
						   why_fallback, timestamptz_to_str(rec->statement_at),
						   cg_audit_session_id(rec),
						   rec->session_role ? rec->session_role : "?",
						   rec->current_role ? rec->current_role : "?",
						   rec->client_addr ? rec->client_addr : "(none)",
						   rec->application_name ? rec->application_name : "(none)",
						   rec->query_id,
						   rec->end_user ? " End user: " : "",
						   rec->end_user ? rec->end_user : "",
						   rec->end_user ? "." : ""),
				 errhidestmt(true), errhidecontext(true)));
	else if (cg_audit_log_server)
		ereport(LOG_SERVER_ONLY,
				(errmsg("AUDIT: %s", line),
				 errhidestmt(true), errhidecontext(true)));
	if (cg_audit_log_client)
		ereport(NOTICE,
				(errmsg("AUDIT: %s", line),
				 errhidestmt(true), errhidecontext(true)));
}

/*
 * Write an encoded record to the server log only (never to the client:
 * the caller may be another session), with why it is not in the access
 * log.  The line's prefix is the caller's, so the detail names the
 * record's own session, roles and time.  For writers and settlement, which
 * handle records of other sessions.  A record that cannot be decoded is
 * reported as such.  Does not raise.
 */
void
cg_audit_server_log_raw(const char *data, Size len, const char *why)
{
	MemoryContext cxt = CurrentMemoryContext;

	PG_TRY();
	{
		CgAuditRecord rec;

		cg_audit_record_decode(data, len, &rec);
		ereport(LOG,
				(errmsg("AUDIT: %s", format_line(&rec)),
				 errdetail("This audit record is not in childguard.access_log: %s. "
						   "Statement at %s, session %s, role %s acting as %s.%s%s%s",
						   why, timestamptz_to_str(rec.statement_at),
						   cg_audit_session_id(&rec),
						   rec.session_role ? rec.session_role : "?",
						   rec.current_role ? rec.current_role : "?",
						   rec.end_user ? " End user: " : "",
						   rec.end_user ? rec.end_user : "",
						   rec.end_user ? "." : ""),
				 errhidestmt(true), errhidecontext(true)));
	}
	PG_CATCH();
	{
		MemoryContextSwitchTo(cxt);
		FlushErrorState();
		ereport(LOG,
				(errmsg("AUDIT: an audit record of %zu bytes could not be decoded", len),
				 errdetail("This audit record is not in childguard.access_log: %s.", why),
				 errhidestmt(true), errhidecontext(true)));
	}
	PG_END_TRY();
}
