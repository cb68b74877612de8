-- Registry rows applied by a logical replication worker (SQL 1.7 part 50):
-- every registry table whose statement trigger tells the caches of a change
-- also has its <table>_applied row trigger, enabled ALWAYS, behind the WHEN
-- clause that is false outside a logical replication worker; the per-child
-- tables pass the same subject column as their statement triggers.  The
-- subscriber itself is tested in test/t/211_subscriber_invalidation.pl.
SET client_min_messages = warning;

-- tables with a cache-invalidating statement trigger but no (or a wrong)
-- row trigger for the apply worker: none
SELECT c.relname AS missing_or_wrong
  FROM pg_class c
 WHERE c.relnamespace = 'childguard'::regnamespace
   AND EXISTS (SELECT 1 FROM pg_trigger s
                WHERE s.tgrelid = c.oid AND NOT s.tgisinternal
                  AND s.tgfoid IN ('childguard._catalog_changed()'::regprocedure,
                                   'childguard._registry_rows_changed()'::regprocedure))
   AND NOT EXISTS (
	SELECT 1 FROM pg_trigger r
	 WHERE r.tgrelid = c.oid
	   AND r.tgfoid = 'childguard._registry_row_applied()'::regprocedure
	   AND r.tgenabled = 'A'
	   -- ROW, AFTER, INSERT, DELETE, UPDATE (tgtype bits 0, 2, 3, 4 set; BEFORE bit 1 clear)
	   AND (r.tgtype::int & (1 | 2 | 4 | 8 | 16)) = (1 | 4 | 8 | 16)
	   AND pg_get_triggerdef(r.oid) LIKE '%WHEN (childguard._replication_applying())%'
	   AND r.tgargs = coalesce((SELECT s.tgargs FROM pg_trigger s
	                             WHERE s.tgrelid = c.oid
	                               AND s.tgfoid = 'childguard._registry_rows_changed()'::regprocedure
	                             LIMIT 1), ''::bytea))
 ORDER BY 1;

-- which tables, and which name the subject column
SELECT tgrelid::regclass AS tbl, tgname, encode(tgargs, 'escape') AS args
  FROM pg_trigger
 WHERE tgfoid = 'childguard._registry_row_applied()'::regprocedure
 ORDER BY 1::text COLLATE "C";

-- not a logical replication worker: the WHEN clause is false
SELECT childguard._replication_applying() AS applying;

-- nobody but the owner may call them (internal)
SELECT p.oid::regprocedure AS fn, has_function_privilege('public', p.oid, 'EXECUTE') AS public_may
  FROM pg_proc p
 WHERE p.oid IN ('childguard._replication_applying()'::regprocedure,
                 'childguard._registry_row_applied()'::regprocedure)
 ORDER BY 1;

-- the trigger function refuses to be anything but an AFTER ROW trigger
SELECT childguard._registry_row_applied();
CREATE TABLE applied_probe (subject_no bigint);
CREATE TRIGGER applied_probe_stmt AFTER INSERT ON applied_probe
	FOR EACH STATEMENT EXECUTE FUNCTION childguard._registry_row_applied();
INSERT INTO applied_probe VALUES (1);
DROP TRIGGER applied_probe_stmt ON applied_probe;
-- without the WHEN clause it fires for every writer, and returns at once
-- outside a logical replication worker (a wrong column is not even looked at)
CREATE TRIGGER applied_probe_row AFTER INSERT ON applied_probe
	FOR EACH ROW EXECUTE FUNCTION childguard._registry_row_applied('no_such_column');
INSERT INTO applied_probe VALUES (2);
SELECT count(*) FROM applied_probe;
DROP TABLE applied_probe;
RESET client_min_messages;
