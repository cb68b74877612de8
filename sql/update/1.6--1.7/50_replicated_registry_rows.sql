-- ---------------------------------------------------------------------------
-- 50 (1.6 -> 1.7): registry rows applied by a logical replication worker
-- tell the caches of the change (issue 12, subinval).
--
-- The registry's cache invalidation runs from statement triggers
-- (_catalog_changed(), _registry_rows_changed(column)).  A logical
-- replication apply worker fires no statement trigger for the inserts,
-- updates and deletes it applies, only row triggers enabled ALWAYS or
-- REPLICA: on a subscriber of the registry, a consent withdrawn or a key
-- destroyed on the publisher reached the tables but not the caches of the
-- subscriber's backends (their own and the shared one), and a backend that
-- had read the child kept decrypting it.  Every table carrying one of those
-- statement triggers gets a row trigger <table>_applied, AFTER INSERT OR
-- UPDATE OR DELETE FOR EACH ROW, ENABLE ALWAYS, WHEN
-- (childguard._replication_applying()): for every other writer the WHEN
-- clause is false (one C function call per row, no trigger event queued);
-- in a logical replication worker it notes the row's child (the per-child
-- tables, argument subject_no) or the whole shared cache (the other
-- tables) and invalidates the table for every backend, at the worker's
-- commit (src/base/replicated_rows.c).  TRUNCATE fires the statement
-- triggers in the apply worker too.  A registry table added later with one
-- of those statement triggers needs its <table>_applied trigger as well.
-- ---------------------------------------------------------------------------

CREATE FUNCTION childguard._replication_applying() RETURNS boolean
	LANGUAGE C VOLATILE PARALLEL SAFE AS 'MODULE_PATHNAME', 'cg_replication_applying';
REVOKE ALL ON FUNCTION childguard._replication_applying() FROM PUBLIC;
COMMENT ON FUNCTION childguard._replication_applying() IS
	'Internal: true in a logical replication worker (apply or table synchronisation), false elsewhere (a walsender too); the WHEN clause of the registry tables'' <table>_applied row triggers.';

CREATE FUNCTION childguard._registry_row_applied() RETURNS trigger
	LANGUAGE C AS 'MODULE_PATHNAME', 'cg_registry_row_applied';
REVOKE ALL ON FUNCTION childguard._registry_row_applied() FROM PUBLIC;
COMMENT ON FUNCTION childguard._registry_row_applied() IS
	'Internal: AFTER ROW trigger on the registry tables, firing only in a logical replication worker (which fires no statement trigger for the rows it applies): what the table''s statement trigger does for a local statement. With a column name (the subject''s), the row''s child leaves the cache shared by the backends at commit; without, the whole shared cache; each backend''s own caches are flushed.';

DO $$
DECLARE
	t record;
BEGIN
	FOR t IN
		SELECT c.oid::regclass AS tbl, c.relname,
			   (SELECT pg_catalog.split_part(pg_catalog.encode(tg.tgargs, 'escape'), '\000', 1)
				  FROM pg_catalog.pg_trigger tg
				 WHERE tg.tgrelid = c.oid AND NOT tg.tgisinternal
				   AND tg.tgfoid = 'childguard._registry_rows_changed()'::regprocedure
				 ORDER BY tg.tgname LIMIT 1) AS subject_column
		  FROM pg_catalog.pg_class c
		 WHERE c.relnamespace = 'childguard'::regnamespace
		   AND EXISTS (SELECT 1 FROM pg_catalog.pg_trigger tg
						WHERE tg.tgrelid = c.oid AND NOT tg.tgisinternal
						  AND tg.tgfoid IN ('childguard._catalog_changed()'::regprocedure,
											'childguard._registry_rows_changed()'::regprocedure))
		 ORDER BY c.relname
	LOOP
		IF t.subject_column IS NOT NULL THEN
			EXECUTE pg_catalog.format(
				'CREATE TRIGGER %I AFTER INSERT OR UPDATE OR DELETE ON %s FOR EACH ROW '
				'WHEN (childguard._replication_applying()) '
				'EXECUTE FUNCTION childguard._registry_row_applied(%L)',
				t.relname || '_applied', t.tbl, t.subject_column);
			EXECUTE pg_catalog.format('COMMENT ON TRIGGER %I ON %s IS %L', t.relname || '_applied', t.tbl,
				'Rows applied by a logical replication worker (which fires no statement trigger for them): their children''s entries in the cache shared by the backends go at commit, and every backend''s own caches are flushed (_registry_row_applied). Any other writer: the WHEN clause is false.');
		ELSE
			EXECUTE pg_catalog.format(
				'CREATE TRIGGER %I AFTER INSERT OR UPDATE OR DELETE ON %s FOR EACH ROW '
				'WHEN (childguard._replication_applying()) '
				'EXECUTE FUNCTION childguard._registry_row_applied()',
				t.relname || '_applied', t.tbl);
			EXECUTE pg_catalog.format('COMMENT ON TRIGGER %I ON %s IS %L', t.relname || '_applied', t.tbl,
				'Rows applied by a logical replication worker (which fires no statement trigger for them): every backend''s caches and the whole cache shared by the backends are emptied at commit (_registry_row_applied). Any other writer: the WHEN clause is false.');
		END IF;
		EXECUTE pg_catalog.format('ALTER TABLE %s ENABLE ALWAYS TRIGGER %I', t.tbl, t.relname || '_applied');
	END LOOP;
END
$$;
