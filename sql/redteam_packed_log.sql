-- Red team on 1.8's packed access log (docs/security.md, "Attacks on the
-- 1.8 fast paths"): the access_log view and the batch table, as the
-- extension's owner (a superuser), an officer and monitoring roles.
--   1. a locking clause naming only another table, in a query that reads
--      the view (a join, EXISTS, IN, a CTE, a view over it): allowed (1.8
--      refused it, ZC204), and it locks nothing of the log; every clause
--      that covers the view (no OF, OF the view, a subquery, a CTE or a
--      view around it, a function, a view whose own query locks) is still
--      refused
--   2. the view re-created by its owner (CREATE OR REPLACE VIEW, CREATE
--      RULE "_RETURN"), and the views over it, or renamed, moved, given
--      away so that another view takes the name: refused (ZC401); on 1.8
--      the view over the table of rows only hid every packed record
--   3. COPY FROM into the view and the batch table, with
--      session_replication_role = replica: refused (ZC203); on 1.8 COPY
--      into the view answered COPY 1 and wrote nothing
--   4. the unpacker (PUBLIC) fed altered batches: bytes flipped, cut,
--      length and count fields set to extremes, random bytes: every one
--      decodes or is refused as altered data (XX001), none as an internal
--      error (1.8: XX000), none crashes
--   5. the batch table's other routes (UPDATE, DELETE, TRUNCATE, MERGE,
--      rules, triggers, policies, replica role) and monitoring roles:
--      already closed
--   6. ALTER TABLE / INDEX ALL IN TABLESPACE moving the log's tables (an
--      ACCESS EXCLUSIVE lock held to the end of the transaction), and a
--      foreign key referencing them (SHARE ROW EXCLUSIVE, then triggers on
--      the log): refused (ZC204); on 1.8 both went through and the writer
--      waited
SET client_min_messages = warning;
DROP DATABASE IF EXISTS regress_redteam_packed;
CREATE DATABASE regress_redteam_packed;
\c regress_redteam_packed
SET client_min_messages = warning;
CREATE EXTENSION childguard CASCADE;
RESET client_min_messages;
\set VERBOSITY terse
\set SHOW_CONTEXT never

SELECT count(childguard.register_child('rp-' || i, '2015-05-01')) FROM generate_series(1, 3) i;
\i test/fixtures/regress_purpose.psql
SELECT pg_temp.consent_all() > 0 AS consented;
CREATE TABLE rp_kids (id text PRIMARY KEY, name childguard.child_data(name));
SELECT childguard.protect('rp_kids', 'id');
CREATE TABLE rp_other (x int);
INSERT INTO rp_other VALUES (1);
SET childguard.purpose = 'regress';
INSERT INTO rp_kids VALUES ('rp-1', 'a'), ('rp-2', 'b'), ('rp-3', 'c');
SELECT count(*) FROM rp_kids WHERE name::text > '';
RESET childguard.purpose;
SELECT childguard.audit_wait();
SELECT count(*) > 0 AS packed_records FROM childguard.access_log WHERE format_version = 4;
SELECT count(*) AS records_before FROM childguard.access_log \gset

-- 1. locking clauses: another table's rows only -- allowed
SELECT count(*) AS exists_of_other FROM (
  SELECT 1 FROM rp_other t WHERE EXISTS (SELECT 1 FROM childguard.access_log) FOR UPDATE OF t) s;
SELECT count(*) >= 0 AS join_of_other FROM (
  SELECT t.x FROM rp_other t, childguard.access_log l FOR UPDATE OF t) s;
SELECT count(*) >= 0 AS in_of_other FROM (
  SELECT t.x FROM rp_other t WHERE t.x IN (SELECT 1 FROM childguard.access_log) FOR SHARE OF t) s;
CREATE VIEW rp_log AS SELECT id, outcome FROM childguard.access_log;
CREATE VIEW rp_log2 AS SELECT * FROM rp_log;
SELECT count(*) >= 0 AS view_of_other FROM (
  SELECT t.x FROM rp_other t, rp_log2 l FOR NO KEY UPDATE OF t) s;
BEGIN;
SELECT count(*) >= 0 AS cte_of_other FROM (
  WITH c AS (SELECT id FROM childguard.access_log)
  SELECT t.x FROM rp_other t, c FOR KEY SHARE OF t) s;
-- nothing of the log is locked by it: no row lock taken (the view has a
-- copy mark), its tables held in ACCESS SHARE only
SELECT count(*) FILTER (WHERE l.mode <> 'AccessShareLock') AS log_locks_beyond_access_share,
       count(*) FILTER (WHERE c.relname = 'access_log_batch') AS batch_table_read
  FROM pg_locks l JOIN pg_class c ON c.oid = l.relation
 WHERE l.pid = pg_backend_pid() AND c.relnamespace = 'childguard'::regnamespace
   AND c.relname LIKE 'access_log%';
-- the writer writes meanwhile
SET childguard.purpose = 'regress';
SELECT count(*) FROM rp_kids WHERE name::text > '';
COMMIT;
SELECT childguard.audit_wait();
SELECT count(*) > :records_before AS writer_wrote FROM childguard.access_log;
-- ... and every clause that covers the view: refused
SELECT count(*) FROM (SELECT id FROM childguard.access_log FOR UPDATE) s;
\echo :LAST_ERROR_SQLSTATE
SELECT count(*) FROM (SELECT t.x FROM rp_other t, childguard.access_log l FOR UPDATE) s;
SELECT count(*) FROM (SELECT t.x FROM rp_other t, childguard.access_log l FOR UPDATE OF t, l) s;
SELECT count(*) FROM (SELECT l.id FROM childguard.access_log l FOR KEY SHARE OF l) s;
SELECT count(*) FROM (SELECT id FROM rp_log2 FOR SHARE) s;
SELECT count(*) FROM (SELECT t.x FROM rp_other t, rp_log l FOR NO KEY UPDATE OF l) s;
SELECT count(*) FROM (SELECT s.id FROM (SELECT id FROM childguard.access_log) s FOR UPDATE OF s) q;
WITH c AS (SELECT id FROM childguard.access_log FOR UPDATE) SELECT count(*) FROM c;
SELECT count(*) FROM rp_other t WHERE t.x IN (SELECT 1 FROM rp_log2 FOR UPDATE);
CREATE VIEW rp_locking AS SELECT id FROM childguard.access_log FOR UPDATE;
SELECT count(*) FROM (SELECT t.x FROM rp_other t, rp_locking l FOR UPDATE OF t) s;
CREATE FUNCTION rp_lock_log() RETURNS bigint LANGUAGE sql AS
  $$SELECT count(*) FROM (SELECT id FROM childguard.access_log FOR SHARE) s$$;
SELECT rp_lock_log();
CREATE FUNCTION rp_lock_log_plpgsql() RETURNS bigint LANGUAGE plpgsql AS
  $$DECLARE n bigint; BEGIN SELECT count(*) INTO n FROM (SELECT id FROM rp_log FOR UPDATE) s; RETURN n; END$$;
SELECT rp_lock_log_plpgsql();

-- 2. the view re-created by its owner, and the views over the log
CREATE OR REPLACE VIEW childguard.access_log AS SELECT * FROM childguard.access_log_rows;
\echo :LAST_ERROR_SQLSTATE
CREATE OR REPLACE VIEW childguard.access_log AS
  SELECT * FROM childguard.access_log WHERE outcome <> 'denied';
CREATE RULE "_RETURN" AS ON SELECT TO childguard.access_log
  DO INSTEAD SELECT * FROM childguard.access_log_rows;
CREATE OR REPLACE VIEW childguard.access_summary AS SELECT * FROM childguard.access_summary WHERE false;
CREATE OR REPLACE RULE "_RETURN" AS ON SELECT TO childguard.access_log_children
  DO INSTEAD SELECT * FROM childguard.access_log_children WHERE false;
SET search_path = childguard, public;
CREATE OR REPLACE VIEW access_log AS SELECT * FROM childguard.access_log_rows;
RESET search_path;
-- ... or renamed, moved or given away, and another view put under its name
ALTER VIEW childguard.access_summary RENAME TO access_summary_old;
\echo :LAST_ERROR_SQLSTATE
ALTER TABLE childguard.access_log_children RENAME TO access_log_children_old;
ALTER VIEW childguard.access_summary SET SCHEMA public;
ALTER VIEW childguard.access_summary OWNER TO regress_fixture_dpo;
ALTER VIEW childguard.access_summary SET (security_invoker = true);
ALTER VIEW childguard.access_summary RENAME COLUMN day TO day_old;
ALTER VIEW childguard.access_log RENAME TO access_log_old;
\echo :LAST_ERROR_SQLSTATE
SELECT count(*) AS views_still_there FROM pg_views
 WHERE schemaname = 'childguard' AND viewname IN ('access_log', 'access_summary', 'access_log_children');
-- granting stays possible (officers are appointed so)
CREATE ROLE regress_rp_officer;
SELECT childguard.appoint_officer('regress_rp_officer');
SET ROLE regress_rp_officer;
SELECT count(*) > 0 AS officer_reads_summary FROM childguard.access_summary;
RESET ROLE;
-- the functions under the view and breach_impact()'s window (already
-- closed: childguard's functions are refused their replacement, ZC401)
CREATE OR REPLACE FUNCTION childguard._access_log_between(from_time timestamptz, to_time timestamptz)
  RETURNS SETOF childguard.access_log LANGUAGE sql STABLE
  AS 'SELECT * FROM childguard.access_log WHERE false';
CREATE OR REPLACE FUNCTION childguard._access_log_unpack(first_id bigint, logged_at timestamptz,
                                                         prev_hash bytea, packed bytea)
  RETURNS TABLE (id bigint, statement_at timestamptz, logged_at timestamptz,
                 session_id text, backend_pid integer, session_role text,
                 acting_role text, client_addr text, application_name text,
                 command text, purpose text, grant_id bigint, relations text[],
                 columns text[], children_read bigint[], children_denied bigint[],
                 children_written bigint[], children integer, rows bigint,
                 outcome text, sqlstate text, query_id bigint, prev_hash bytea,
                 hash bytea, format_version smallint, end_user text)
  LANGUAGE sql IMMUTABLE AS 'SELECT * FROM childguard.access_log_rows WHERE false';
-- a view of one's own in the schema, not the extension's: as before
CREATE VIEW childguard.rp_mine AS SELECT 1 AS x;
CREATE OR REPLACE VIEW childguard.rp_mine AS SELECT 2 AS x;
SELECT x AS own_view_replaced FROM childguard.rp_mine;
DROP VIEW childguard.rp_mine;
SELECT count(*) >= :records_before AS every_record_shown,
       count(*) FILTER (WHERE format_version = 4) > 0 AS packed_shown
  FROM childguard.access_log;

-- 3. COPY into the log
COPY childguard.access_log (id) FROM stdin;
999
\.
\echo :LAST_ERROR_SQLSTATE
COPY childguard.access_log_batch (first_id) FROM stdin;
999
\.
SET session_replication_role = replica;
COPY childguard.access_log (id) FROM stdin;
999
\.
\echo :LAST_ERROR_SQLSTATE
COPY childguard.access_log_batch (first_id) FROM stdin;
999
\.
COPY childguard.access_log_rows (id) FROM stdin;
999
\.
RESET session_replication_role;
SELECT count(*) FILTER (WHERE id = 999) AS forged FROM childguard.access_log;
-- COPY out of the view stays possible through a query
COPY (SELECT count(*) >= 1 FROM childguard.access_log) TO stdout;

-- 4. the unpacker fed altered batches (deterministic: a fixed seed)
CREATE TEMP TABLE rp_batch AS
  SELECT packed FROM childguard.access_log_batch ORDER BY first_id LIMIT 1;
CREATE FUNCTION pg_temp.unpack_fuzz(n int) RETURNS TABLE (runs int, decoded_or_refused int, sqlstates text)
LANGUAGE plpgsql AS $$
DECLARE
	base bytea;
	b bytea;
	len int;
	pos int;
	good int := 0;
	codes text[] := '{}';
	st text;
BEGIN
	PERFORM setseed(0.42);
	SELECT packed INTO base FROM rp_batch;
	len := octet_length(base);
	FOR i IN 1..n LOOP
		b := base;
		CASE i % 5
			WHEN 0 THEN		-- bytes flipped
				FOR j IN 1..1 + (random() * 3)::int LOOP
					b := set_byte(b, (random() * (len - 1))::int, (random() * 255)::int);
				END LOOP;
			WHEN 1 THEN		-- cut anywhere
				b := substring(b FROM 1 FOR (random() * len)::int);
			WHEN 2 THEN		-- a 4-byte field (a length, a count) set to an extreme
				pos := (random() * (len - 5))::int;
				b := overlay(b PLACING decode((ARRAY['7fffffff', 'ffffffff', '80000000', '00ffffff',
				                                     'fffffffe', '00000000'])[1 + (random() * 5)::int], 'hex')
				             FROM pos + 1 FOR 4);
			WHEN 3 THEN		-- random bytes
				b := gen_random_bytes(1 + (random() * 300)::int);
			ELSE			-- the first record's length field
				b := overlay(b PLACING int4send((random() * 2000000000)::int) FROM 1 FOR 4);
		END CASE;
		BEGIN
			PERFORM count(*) FROM childguard._access_log_unpack(1, now(), NULL, b);
			good := good + 1;
		EXCEPTION WHEN OTHERS THEN
			GET STACKED DIAGNOSTICS st = RETURNED_SQLSTATE;
			good := good + 1;
			IF NOT st = ANY (codes) THEN
				codes := codes || st;
			END IF;
		END;
	END LOOP;
	RETURN QUERY SELECT n, good, array_to_string(ARRAY(SELECT unnest(codes) ORDER BY 1), ',');
END
$$;
-- as a role without any privilege (the function is PUBLIC)
CREATE ROLE regress_rp_nobody;
GRANT USAGE ON SCHEMA childguard TO regress_rp_nobody;
GRANT ALL ON rp_batch TO regress_rp_nobody;
SET ROLE regress_rp_nobody;
SELECT * FROM pg_temp.unpack_fuzz(3000);
RESET ROLE;
-- crafted: each refused as altered data, naming the record
SELECT count(*) FROM childguard._access_log_unpack(7, now(), NULL, '\x'::bytea) AS no_records;
SELECT count(*) FROM childguard._access_log_unpack(7, now(), NULL, '\x000000'::bytea);
\echo :LAST_ERROR_SQLSTATE
SELECT count(*) FROM childguard._access_log_unpack(7, now(), NULL,
  '\x7fffffff0000000000000000000000000000000000000000000000000000000000000000'::bytea);
-- a record of zero bytes; one of twelve zero bytes (its lists missing)
SELECT count(*) FROM childguard._access_log_unpack(7, now(), NULL,
  ('\x00000000'::bytea || decode(repeat('00', 32), 'hex')));
\echo :LAST_ERROR_SQLSTATE
SELECT count(*) FROM childguard._access_log_unpack(7, now(), NULL,
  ('\x0000000c'::bytea || decode(repeat('00', 32), 'hex') || decode(repeat('00', 12), 'hex')));
-- a record whose string count claims 2^31-1 strings
SELECT count(*) FROM childguard._access_log_unpack(7, now(), NULL,
  ('\x00000030'::bytea || decode(repeat('00', 32), 'hex') || decode(repeat('00', 20), 'hex')
   || decode(repeat('ffffffff', 6), 'hex') || decode('0000000000000000ffffff7f', 'hex')));
-- a whole record with one byte more after it
SELECT octet_length(packed) AS len, get_byte(packed, 0) * 16777216 + get_byte(packed, 1) * 65536
       + get_byte(packed, 2) * 256 + get_byte(packed, 3) AS first_len
  FROM rp_batch \gset
SELECT count(*) FROM rp_batch, childguard._access_log_unpack(7, now(), NULL,
  overlay(substring(packed FROM 1 FOR 36 + :first_len) PLACING int4send(:first_len + 1) FROM 1 FOR 4)
  || '\x00'::bytea);
-- the batch itself decodes
SELECT count(*) >= 1 AS decodes FROM rp_batch, childguard._access_log_unpack(1, now(), NULL, packed);

-- 5. the batch table's other routes, and monitoring roles
UPDATE childguard.access_log_batch SET records = records;
\echo :LAST_ERROR_SQLSTATE
DELETE FROM childguard.access_log_batch;
TRUNCATE childguard.access_log_batch;
MERGE INTO childguard.access_log_batch b USING (SELECT 1 AS x) s ON b.first_id > 0
  WHEN MATCHED THEN UPDATE SET records = 1;
SET session_replication_role = replica;
DELETE FROM childguard.access_log_batch;
UPDATE childguard.access_log SET outcome = 'allowed';
\echo :LAST_ERROR_SQLSTATE
DELETE FROM childguard.access_log;
RESET session_replication_role;
CREATE RULE rp_r AS ON INSERT TO childguard.access_log_batch DO ALSO NOTIFY rp;
CREATE POLICY rp_p ON childguard.access_log_batch USING (false);
ALTER TABLE childguard.access_log_batch DISABLE TRIGGER access_log_batch_guard;
ALTER TABLE childguard.access_log_batch ALTER COLUMN packed SET COMPRESSION pglz;
CREATE ROLE regress_rp_monitor IN ROLE pg_monitor, pg_read_all_stats;
SET ROLE regress_rp_monitor;
SELECT count(*) FROM childguard.access_log_batch;
SELECT count(*) FROM childguard.access_log;
RESET ROLE;
-- 6. ALTER TABLE (INDEX) ALL IN TABLESPACE: an ACCESS EXCLUSIVE lock on
-- every table it moves, held to the end of the transaction (on 1.8 the
-- log's tables moved and stayed locked until ROLLBACK); other tables, and
-- OWNED BY a role that owns none of the log's, move as before
SET allow_in_place_tablespaces = on;
CREATE TABLESPACE regress_rp_ts LOCATION '';
BEGIN;
ALTER TABLE ALL IN TABLESPACE pg_default SET TABLESPACE regress_rp_ts;
\echo :LAST_ERROR_SQLSTATE
ROLLBACK;
BEGIN;
ALTER INDEX ALL IN TABLESPACE pg_default SET TABLESPACE regress_rp_ts NOWAIT;
ROLLBACK;
SELECT count(*) AS log_relations_moved FROM pg_class
 WHERE relnamespace = 'childguard'::regnamespace AND relname LIKE 'access_log%' AND reltablespace <> 0;
CREATE ROLE regress_rp_mover;
ALTER TABLE rp_other OWNER TO regress_rp_mover;
ALTER TABLE ALL IN TABLESPACE pg_default OWNED BY regress_rp_mover SET TABLESPACE regress_rp_ts;
SELECT t.spcname AS rp_other_moved_to FROM pg_class c JOIN pg_tablespace t ON t.oid = c.reltablespace
 WHERE c.oid = 'rp_other'::regclass;
ALTER TABLE ALL IN TABLESPACE regress_rp_ts SET TABLESPACE pg_default;
ALTER TABLE rp_other OWNER TO CURRENT_USER;
DROP TABLESPACE regress_rp_ts;
RESET allow_in_place_tablespaces;
-- ... and a foreign key referencing the log's tables: SHARE ROW EXCLUSIVE
-- on them to the end of the transaction (on 1.8 held until ROLLBACK),
-- then action triggers on them that would refuse the purge
BEGIN;
CREATE TABLE rp_fk (x bigint REFERENCES childguard.access_log_batch (first_id));
\echo :LAST_ERROR_SQLSTATE
ROLLBACK;
CREATE TABLE rp_fk (x bigint, y bigint);
ALTER TABLE rp_fk ADD FOREIGN KEY (x) REFERENCES childguard.access_log_batch (first_id) NOT VALID;
ALTER TABLE rp_fk ADD COLUMN z bigint REFERENCES childguard.access_log_rows (id) ON DELETE RESTRICT;
CREATE TABLE rp_fk2 (x bigint, CONSTRAINT rp_c FOREIGN KEY (x) REFERENCES childguard.access_log_rows);
CREATE TABLE rp_pk (id bigint PRIMARY KEY);
ALTER TABLE rp_fk ADD FOREIGN KEY (y) REFERENCES rp_pk;
SELECT count(*) AS log_triggers FROM pg_trigger
 WHERE tgrelid IN ('childguard.access_log_batch'::regclass, 'childguard.access_log_rows'::regclass);
SELECT (childguard.verify_access_log()).valid AS chain_verifies;
SELECT count(*) - :records_before >= 1 AS only_the_writer_added FROM childguard.access_log;

\c contrib_regression
SET client_min_messages = warning;
DROP DATABASE regress_redteam_packed;
DROP ROLE regress_rp_nobody;
DROP ROLE regress_rp_monitor;
DROP ROLE regress_rp_officer;
DROP ROLE regress_rp_mover;
