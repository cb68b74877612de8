-------------------------------------------------------------------------------
-- The access log (C4; Art 15, 21, 22; D-Art 17).  One row per top-level
-- statement that decrypted, was denied or wrote child data, written only by
-- the audit writer (a background worker, src/audit_worker.c) in its own
-- transactions, so a record survives the caller's ROLLBACK and errors.
-- Rows are hash-chained; verify_access_log() finds an edit or a deletion.
-- No role can INSERT, UPDATE, DELETE or TRUNCATE it (triggers, ENABLE
-- ALWAYS, checked in C: src/audit_guard.c).  See docs/audit.md.
-------------------------------------------------------------------------------

CREATE TABLE childguard.access_log (
	id					bigint PRIMARY KEY,
	statement_at		timestamptz NOT NULL,
	logged_at			timestamptz NOT NULL,
	session_id			text NOT NULL,
	backend_pid			integer NOT NULL,
	session_role		text,
	acting_role			text,
	client_addr			text,
	application_name	text,
	command				text NOT NULL,
	purpose				text,
	grant_id			bigint,
	relations			text[] NOT NULL,
	columns				text[] NOT NULL,
	children_read		bigint[] NOT NULL,
	children_denied		bigint[] NOT NULL,
	children_written	bigint[] NOT NULL,
	children			integer NOT NULL,
	rows				bigint NOT NULL,
	outcome				text NOT NULL CHECK (outcome IN ('allowed', 'denied', 'error')),
	sqlstate			text,
	query_id			bigint,
	prev_hash			bytea,
	hash				bytea NOT NULL
);
-- BRIN: cheap to keep up for an append-only log, enough for time windows
CREATE INDEX access_log_statement_at_idx ON childguard.access_log USING brin (statement_at);



COMMENT ON TABLE childguard.access_log IS
	'Art 15/22: one record per statement that read, was denied or wrote child data: when, which session and roles, from where, for which purpose and grant, which relations and columns, which children (subject numbers), how many rows, the outcome, the query id. Hash-chained; written only by the audit writer.';
COMMENT ON COLUMN childguard.access_log.session_id IS 'as log_line_prefix %c shows it: session start time and process id, in hex';
COMMENT ON COLUMN childguard.access_log.session_role IS 'the role that logged in';
COMMENT ON COLUMN childguard.access_log.acting_role IS 'the role the session acted as (SET ROLE), whose grant counts';
COMMENT ON COLUMN childguard.access_log.columns IS 'child_data columns the statement used, as schema.table.column';
COMMENT ON COLUMN childguard.access_log.children_read IS 'subject numbers of the children whose data was decrypted';
COMMENT ON COLUMN childguard.access_log.children_denied IS 'subject numbers of the children whose data or rows were withheld';
COMMENT ON COLUMN childguard.access_log.children_written IS 'subject numbers of the children whose data was written (collected)';
COMMENT ON COLUMN childguard.access_log.children IS 'distinct children in the three lists';
COMMENT ON COLUMN childguard.access_log.outcome IS 'allowed: child data was used (some children may still be listed as denied); denied: all of it was refused; error: the statement failed (see sqlstate)';
COMMENT ON COLUMN childguard.access_log.hash IS 'SHA-256 of prev_hash and the canonical form of the other columns (src/audit_chain.c)';

CREATE TABLE childguard.access_log_head (
	one_row				boolean PRIMARY KEY DEFAULT true CHECK (one_row),
	last_id				bigint NOT NULL DEFAULT 0,
	last_hash			bytea,
	purged_upto_id		bigint NOT NULL DEFAULT 0,
	purged_upto_hash	bytea,
	epoch				timestamptz,
	last_seq			bigint NOT NULL DEFAULT 0
);
INSERT INTO childguard.access_log_head DEFAULT VALUES;
COMMENT ON TABLE childguard.access_log_head IS
	'The head of the access log''s hash chain (last id and hash) and what retention purged (last purged id and hash); kept by the audit writer.';

CREATE FUNCTION childguard._access_log_guard() RETURNS trigger
	LANGUAGE C AS 'MODULE_PATHNAME', 'cg_access_log_guard';
COMMENT ON FUNCTION childguard._access_log_guard() IS
	'Refuses every change to the access log except by the audit writer.';
-- statement level: refused before any row is touched, and no per-row cost
-- for the writer
CREATE TRIGGER access_log_guard BEFORE INSERT OR UPDATE OR DELETE
	ON childguard.access_log FOR EACH STATEMENT EXECUTE FUNCTION childguard._access_log_guard();
CREATE TRIGGER access_log_guard_truncate BEFORE TRUNCATE
	ON childguard.access_log FOR EACH STATEMENT EXECUTE FUNCTION childguard._access_log_guard();
CREATE TRIGGER access_log_head_guard BEFORE INSERT OR UPDATE OR DELETE
	ON childguard.access_log_head FOR EACH STATEMENT EXECUTE FUNCTION childguard._access_log_guard();
CREATE TRIGGER access_log_head_guard_truncate BEFORE TRUNCATE
	ON childguard.access_log_head FOR EACH STATEMENT EXECUTE FUNCTION childguard._access_log_guard();
-- ALWAYS: session_replication_role = replica must not switch them off
ALTER TABLE childguard.access_log ENABLE ALWAYS TRIGGER access_log_guard;
ALTER TABLE childguard.access_log ENABLE ALWAYS TRIGGER access_log_guard_truncate;
ALTER TABLE childguard.access_log_head ENABLE ALWAYS TRIGGER access_log_head_guard;
ALTER TABLE childguard.access_log_head ENABLE ALWAYS TRIGGER access_log_head_guard_truncate;

CREATE FUNCTION childguard.verify_access_log(OUT valid boolean, OUT records_checked bigint,
											 OUT broken_id bigint, OUT reason text)
	RETURNS record
	LANGUAGE C VOLATILE SECURITY DEFINER
	SET search_path = pg_catalog, pg_temp
	AS 'MODULE_PATHNAME', 'cg_verify_access_log';
COMMENT ON FUNCTION childguard.verify_access_log() IS
	'Walk the access log''s hash chain: valid, or the first broken link (the id where it breaks and why: a record altered, deleted, inserted, or the newest or oldest ones removed).';

CREATE FUNCTION childguard.audit_wait() RETURNS void
	LANGUAGE C VOLATILE AS 'MODULE_PATHNAME', 'cg_audit_wait';
COMMENT ON FUNCTION childguard.audit_wait() IS
	'Wait until every audit record this session has produced is committed to the access log (what childguard.audit_sync does after each statement).';

-------------------------------------------------------------------------------
-- Views over the log
-------------------------------------------------------------------------------

CREATE VIEW childguard.access_log_children AS
	SELECT l.id, l.statement_at, l.session_role, l.acting_role, l.purpose, l.grant_id,
	       l.command, l.outcome, a.access, a.subject_no, c.child_id
	  FROM childguard.access_log l
	 CROSS JOIN LATERAL (
	        SELECT 'read'::text, s FROM pg_catalog.unnest(l.children_read) s
	        UNION ALL
	        SELECT 'denied'::text, s FROM pg_catalog.unnest(l.children_denied) s
	        UNION ALL
	        SELECT 'written'::text, s FROM pg_catalog.unnest(l.children_written) s
	       ) a(access, subject_no)
	  LEFT JOIN childguard.child c ON c.subject_no = a.subject_no;
COMMENT ON VIEW childguard.access_log_children IS
	'One row per record and child: what the statement did to that child (read, denied, written), with the child''s id.';

CREATE VIEW childguard.access_summary AS
	SELECT (l.statement_at AT TIME ZONE 'UTC')::date AS day,
	       l.acting_role AS role_name,
	       l.purpose,
	       pg_catalog.count(*) AS statements,
	       pg_catalog.count(*) FILTER (WHERE l.outcome = 'allowed') AS allowed,
	       pg_catalog.count(*) FILTER (WHERE l.outcome = 'denied') AS denied,
	       pg_catalog.count(*) FILTER (WHERE l.outcome = 'error') AS errors,
	       pg_catalog.sum(pg_catalog.cardinality(l.children_read)) AS children_read,
	       pg_catalog.sum(pg_catalog.cardinality(l.children_denied)) AS children_denied,
	       pg_catalog.sum(pg_catalog.cardinality(l.children_written)) AS children_written,
	       pg_catalog.sum(l.rows) AS rows
	  FROM childguard.access_log l
	 GROUP BY 1, 2, 3;
COMMENT ON VIEW childguard.access_summary IS
	'Access to child data per day (UTC), acting role and purpose: statements by outcome, and children read, denied and written (summed per statement).';

REVOKE ALL ON childguard.access_log, childguard.access_log_head,
	childguard.access_log_children, childguard.access_summary FROM PUBLIC;
REVOKE ALL ON FUNCTION childguard.verify_access_log() FROM PUBLIC;
REVOKE ALL ON FUNCTION childguard._access_log_guard() FROM PUBLIC;
