-- ---------------------------------------------------------------------------
-- Pool-safe purposes (issue 13, item 3; docs/security.md, "Pools").
-- The end user an application behind a pool acts for
-- (childguard.end_user, frozen when each statement begins) is recorded in
-- each audit record, and covered by the hash chain: records written from
-- 1.4 have chain format 3 (label "childguard access_log v3", the columns of
-- format 2 and then end_user).  Records written before keep their format
-- (1 or 2) and verify as before; their end_user is NULL (the column's
-- missing value, no rewrite of the log).
-- ---------------------------------------------------------------------------

ALTER TABLE childguard.access_log ADD COLUMN end_user text;
COMMENT ON COLUMN childguard.access_log.end_user IS
	'Who the application acted for (childguard.end_user when the statement began, set with SET LOCAL by an application behind a pool); NULL: none given. Covered by the hash from chain format 3.';
COMMENT ON COLUMN childguard.access_log.format_version IS
	'the chain format the record''s hash was computed under: 1 for records written by childguard 1.0 and 1.1, 2 from 1.2 (the hash then also covers this column), 3 from 1.4 (and end_user); see docs/audit.md';

-- set_purpose(p, is_local => true) is the function form of SET LOCAL.
COMMENT ON FUNCTION childguard.set_purpose(text, boolean) IS
	'Declare the purpose of this session (or, with is_local => true, of this transaction only: the pool-safe form); the same as SET [LOCAL] childguard.purpose. It takes effect from the next statement: a statement decides under the purpose in force when it started. An unknown purpose, or one the role has no grant for, is an error; a session-level purpose is refused when childguard.session_purpose = refuse.';
