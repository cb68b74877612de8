-- ---------------------------------------------------------------------------
-- Per-child invalidation of the cache shared by the backends (issue 12,
-- coldread).
--
-- The registry tables whose rows each concern one child (child, data_key,
-- consent, child_guardian, retention_restart, request) tell the caches of
-- a change through statement triggers with transition tables: at commit
-- the cache shared by the backends drops only the entries of the children
-- in the statement's old and new rows (shared_cache.c, docs/keys.md "The
-- cache shared by the backends"), so registering or withdrawing for one
-- child no longer empties it for every other.  Each backend's own caches
-- are flushed as before (a relcache invalidation).  TRUNCATE, and every
-- other registry table (purposes, grants, officers, assessments, ...),
-- keep _catalog_changed(), which empties the whole shared cache at commit.
-- All fire ALWAYS, whatever session_replication_role says (part 10).
-- ---------------------------------------------------------------------------

CREATE FUNCTION childguard._registry_rows_changed() RETURNS trigger
	LANGUAGE C AS 'MODULE_PATHNAME', 'cg_registry_rows_changed';
REVOKE ALL ON FUNCTION childguard._registry_rows_changed() FROM PUBLIC;
COMMENT ON FUNCTION childguard._registry_rows_changed() IS
	'Internal: statement trigger (with transition tables) on the registry tables whose rows concern one child each; its argument names the subject column. At commit, the cache shared by the backends drops the entries of the children in the old and new rows only; each backend''s own caches are flushed.';

DO $$
DECLARE
	t text;
BEGIN
	FOREACH t IN ARRAY ARRAY['child', 'data_key', 'consent', 'child_guardian',
							 'retention_restart', 'request']
	LOOP
		EXECUTE pg_catalog.format('DROP TRIGGER %I ON childguard.%I', t || '_changed', t);
		EXECUTE pg_catalog.format(
			'CREATE TRIGGER %I AFTER TRUNCATE ON childguard.%I '
			'FOR EACH STATEMENT EXECUTE FUNCTION childguard._catalog_changed()',
			t || '_changed', t);
		EXECUTE pg_catalog.format(
			'CREATE TRIGGER %I AFTER INSERT ON childguard.%I REFERENCING NEW TABLE AS cg_new '
			'FOR EACH STATEMENT EXECUTE FUNCTION childguard._registry_rows_changed(%L)',
			t || '_rows_inserted', t, 'subject_no');
		EXECUTE pg_catalog.format(
			'CREATE TRIGGER %I AFTER UPDATE ON childguard.%I REFERENCING OLD TABLE AS cg_old NEW TABLE AS cg_new '
			'FOR EACH STATEMENT EXECUTE FUNCTION childguard._registry_rows_changed(%L)',
			t || '_rows_updated', t, 'subject_no');
		EXECUTE pg_catalog.format(
			'CREATE TRIGGER %I AFTER DELETE ON childguard.%I REFERENCING OLD TABLE AS cg_old '
			'FOR EACH STATEMENT EXECUTE FUNCTION childguard._registry_rows_changed(%L)',
			t || '_rows_deleted', t, 'subject_no');
		EXECUTE pg_catalog.format('ALTER TABLE childguard.%I ENABLE ALWAYS TRIGGER %I', t, t || '_changed');
		EXECUTE pg_catalog.format('ALTER TABLE childguard.%I ENABLE ALWAYS TRIGGER %I', t, t || '_rows_inserted');
		EXECUTE pg_catalog.format('ALTER TABLE childguard.%I ENABLE ALWAYS TRIGGER %I', t, t || '_rows_updated');
		EXECUTE pg_catalog.format('ALTER TABLE childguard.%I ENABLE ALWAYS TRIGGER %I', t, t || '_rows_deleted');
		EXECUTE pg_catalog.format('COMMENT ON TRIGGER %I ON childguard.%I IS %L', t || '_changed', t,
			'TRUNCATE empties every backend''s caches and the whole cache shared by the backends (_catalog_changed).');
		EXECUTE pg_catalog.format('COMMENT ON TRIGGER %I ON childguard.%I IS %L', t || '_rows_inserted', t,
			'The children of the inserted rows: their entries in the cache shared by the backends go at commit (_registry_rows_changed).');
		EXECUTE pg_catalog.format('COMMENT ON TRIGGER %I ON childguard.%I IS %L', t || '_rows_updated', t,
			'The children of the updated rows, old and new: their entries in the cache shared by the backends go at commit (_registry_rows_changed).');
		EXECUTE pg_catalog.format('COMMENT ON TRIGGER %I ON childguard.%I IS %L', t || '_rows_deleted', t,
			'The children of the deleted rows: their entries in the cache shared by the backends go at commit (_registry_rows_changed).');
	END LOOP;
END
$$;
