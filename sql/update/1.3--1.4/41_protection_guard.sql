-------------------------------------------------------------------------------
-- Part 41: DDL that would leave a protected table unprotected is refused
-- (issue 13, item 4; src/enforce/protection_guard.c, docs/security.md
-- "Schema changes that would unprotect a table").  unprotect() is the one
-- way to remove the protection on purpose: it says so first.
-------------------------------------------------------------------------------

CREATE FUNCTION childguard._unprotect_begin(tbl regclass) RETURNS void
	LANGUAGE C STRICT VOLATILE AS 'MODULE_PATHNAME', 'cg_unprotect_begin';
COMMENT ON FUNCTION childguard._unprotect_begin(regclass) IS
	'Internal, called by unprotect(): the current statement removes the table''s protection on purpose, so the DDL guard lets it (the table''s owner only).';

CREATE OR REPLACE FUNCTION childguard.unprotect(tbl regclass) RETURNS void
	LANGUAGE plpgsql
	SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	PERFORM childguard._unprotect_begin(tbl);
	EXECUTE pg_catalog.format('DROP TRIGGER IF EXISTS zz_childguard_seal ON %s', tbl);
	EXECUTE pg_catalog.format('DROP TRIGGER IF EXISTS zz_childguard_deleted ON %s', tbl);
	EXECUTE pg_catalog.format('DROP TRIGGER IF EXISTS zz_childguard_truncate ON %s', tbl);
	EXECUTE pg_catalog.format('DROP POLICY IF EXISTS childguard_consent ON %s', tbl);
	EXECUTE pg_catalog.format('DROP POLICY IF EXISTS childguard_consent_update ON %s', tbl);
	EXECUTE pg_catalog.format('DROP POLICY IF EXISTS childguard_base ON %s', tbl);
	IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_policy p WHERE p.polrelid = tbl) THEN
		EXECUTE pg_catalog.format('ALTER TABLE %s NO FORCE ROW LEVEL SECURITY', tbl);
		EXECUTE pg_catalog.format('ALTER TABLE %s DISABLE ROW LEVEL SECURITY', tbl);
	END IF;
END
$$;
COMMENT ON FUNCTION childguard.unprotect(regclass) IS
	'Remove the seal, DELETE and TRUNCATE triggers and the row policies, on purpose (other DDL that would do so is refused with ZC400).  Stored values stay encrypted and still decrypt only when allowed; the table then refuses new child data until protected again. Run as the table''s owner.';
