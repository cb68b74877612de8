/* childguard 1.1 -> 1.2 — the upgrade script, one concern per part */
\echo Use "ALTER EXTENSION childguard UPDATE TO '1.2'" to load this file. \quit

-------------------------------------------------------------------------------
-- 10: the access log's chain format version per record (docs/audit.md,
-- "Chain formats").  Each record's hash is computed under the format of its
-- own row, so records written under 1.0 and 1.1 (format 1) keep verifying
-- after the update, and new records use format 2, whose hash also covers the
-- format column itself.  Existing rows get format 1 through the column's
-- missing value (no rewrite, no UPDATE of the log); the default is then
-- dropped, since the audit writer always sets the column.
-------------------------------------------------------------------------------

ALTER TABLE childguard.access_log ADD COLUMN format_version smallint NOT NULL DEFAULT 1;
ALTER TABLE childguard.access_log ALTER COLUMN format_version DROP DEFAULT;
COMMENT ON COLUMN childguard.access_log.format_version IS
	'the chain format the record''s hash was computed under: 1 for records written by childguard 1.0 and 1.1, 2 from 1.2 (the hash then also covers this column); see docs/audit.md';
COMMENT ON COLUMN childguard.access_log.hash IS
	'SHA-256 of prev_hash and the canonical form of the other columns, under the record''s format_version (src/audit/audit_chain.c)';

-- verify_access_log() also reports how many records of each format it
-- checked: a new result column, so the function is replaced (its 1.0/1.1
-- C entry point, cg_verify_access_log, stays in the library for databases
-- not yet updated).  Its privileges -- protection officers', and any an
-- administrator granted -- are given again as they were.
SELECT pg_catalog.set_config('childguard_upgrade.verify_acl',
	coalesce((SELECT p.proacl::text FROM pg_catalog.pg_proc p
	           WHERE p.oid = 'childguard.verify_access_log()'::pg_catalog.regprocedure), ''), true);
DROP FUNCTION childguard.verify_access_log();
CREATE FUNCTION childguard.verify_access_log(OUT valid boolean, OUT records_checked bigint,
											 OUT broken_id bigint, OUT reason text,
											 OUT records_by_format bigint[])
	RETURNS record
	LANGUAGE C VOLATILE SECURITY DEFINER
	SET search_path = pg_catalog, pg_temp
	AS 'MODULE_PATHNAME', 'cg_verify_access_log_1_2';
COMMENT ON FUNCTION childguard.verify_access_log() IS
	'Walk the access log''s hash chain, each record under its own chain format: valid, or the first broken link (the id where it breaks and why: a record altered, deleted, inserted, its format changed, or the newest or oldest ones removed); records_by_format[f] counts the records of format f.';
REVOKE ALL ON FUNCTION childguard.verify_access_log() FROM PUBLIC;
DO $grant$
DECLARE
	acl text := pg_catalog.current_setting('childguard_upgrade.verify_acl');
	owner oid := (SELECT p.proowner FROM pg_catalog.pg_proc p
	               WHERE p.oid = 'childguard.verify_access_log()'::pg_catalog.regprocedure);
	a record;
BEGIN
	IF acl = '' THEN
		RETURN;
	END IF;
	FOR a IN SELECT e.grantee, e.is_grantable
	           FROM pg_catalog.aclexplode(acl::pg_catalog.aclitem[]) WITH ORDINALITY e
	          WHERE e.privilege_type = 'EXECUTE' AND e.grantee <> owner
	          ORDER BY e.ordinality LOOP
		EXECUTE pg_catalog.format('GRANT EXECUTE ON FUNCTION childguard.verify_access_log() TO %s%s',
		                          CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE a.grantee::regrole::text END,
		                          CASE WHEN a.is_grantable THEN ' WITH GRANT OPTION' ELSE '' END);
	END LOOP;
END
$grant$;
