-- Blind indexes (issue 13, item 1): childguard.enable_blind_index() keeps,
-- beside a child_data column, a hidden column of keyed hashes of its
-- plaintext and an index on it, so col = value is answered through the
-- index; each row found is still compared under the read decision.
-- Covered: who may enable it, every write route fills the hash (INSERT,
-- UPDATE, COPY, load_rows, INSERT ... SELECT of sealed values), UPDATE
-- recomputes, NULLs, a hostile owner writing the hidden column, EXPLAIN,
-- generic plans, the readers who may not compare learning nothing more
-- than without the index (same errors, same row counts, for a value that
-- is there and one that is not), erasure, rotation of the key's wrapping,
-- disable, and no plaintext in the database's files.
-- (On the old code enable_blind_index() does not exist.)
SET client_min_messages = warning;
DROP DATABASE IF EXISTS regress_blind;
CREATE DATABASE regress_blind;
\c regress_blind
SET client_min_messages = warning;
CREATE EXTENSION childguard CASCADE;
RESET client_min_messages;
\set VERBOSITY terse
\set SHOW_CONTEXT never

SELECT count(*) AS registered FROM (
  SELECT childguard.register_child(c, '2015-05-01')
    FROM unnest(ARRAY['b-1', 'b-2', 'b-3', 'b-4', 'b-5', 'b-9']) c) r;
\i test/fixtures/regress_purpose.psql
SELECT pg_temp.consent_all() > 0 AS consents;

-- two tables with the same rows: "pupils" gets the blind index, "plain" not
CREATE TABLE pupils (id text, name childguard.child_data(name), school childguard.child_data(school));
SELECT childguard.protect('pupils', 'id');
CREATE TABLE plain (id text, name childguard.child_data(name), school childguard.child_data(school));
SELECT childguard.protect('plain', 'id');
SET childguard.purpose = 'regress';
INSERT INTO pupils VALUES
  ('b-1', 'BLINDMARK-bob', '第一小学'), ('b-2', 'BLINDMARK-alice', '第二小学'),
  ('b-3', 'BLINDMARK-alice', '第一小学'), ('b-4', NULL, NULL), ('b-9', 'BLINDMARK-zed', '第一小学');
INSERT INTO plain SELECT * FROM pupils;
RESET childguard.purpose;

CREATE ROLE regress_bi_app;
CREATE ROLE regress_bi_narrow;
SELECT childguard.enroll_application('regress_bi_app');
SELECT childguard.enroll_application('regress_bi_narrow');
GRANT SELECT, INSERT, UPDATE, DELETE ON pupils, plain TO regress_bi_app, regress_bi_narrow;
SELECT childguard.request_access('regress_bi_app', '{regress}', now() + interval '1 day') AS g1 \gset
SET ROLE regress_fixture_dpo;
SELECT childguard.approve_access(:g1);
-- a purpose that needs the school, not the name
SELECT childguard.define_purpose('regress_school', '{school}', '10 years');
SELECT childguard.publish_notice('regress-school-notice', '{regress_school}', 'tests', 'here', 'encrypted',
                                 'none', 'none', 'none', 'none');
RESET ROLE;
SELECT childguard.request_access('regress_bi_narrow', '{regress_school}', now() + interval '1 day') AS g2 \gset
SET ROLE regress_fixture_dpo;
SELECT childguard.approve_access(:g2);
RESET ROLE;
SET ROLE regress_fixture_recorder;
SELECT count(childguard.record_consent(c, 'regress_school', 'regress-school-notice', 'g-' || c,
                                       guardian_informed => 'g-' || c)) AS school_consents
  FROM unnest(ARRAY['b-1', 'b-2', 'b-3', 'b-4', 'b-9']) c;
RESET ROLE;

-------------------------------------------------------------------------------
-- enabling: the table's owner, on a protected table's child_data column
-------------------------------------------------------------------------------
SET ROLE regress_bi_app;
SELECT childguard.enable_blind_index('pupils', 'name');            -- not the owner
RESET ROLE;
SELECT childguard.enable_blind_index('pupils', 'id');              -- not child_data
SELECT childguard.enable_blind_index('pupils', 'nope');            -- no such column
CREATE TABLE loose (id text, name childguard.child_data(name));
SELECT childguard.enable_blind_index('loose', 'name');             -- not protected
SELECT childguard.enable_blind_index('pupils', 'name', 2);         -- batches of 2
SELECT childguard.enable_blind_index('pupils', 'name');            -- twice
SELECT table_name, column_name, blind_column, length(master_key_id) AS key_id_bytes
  FROM childguard.blind_indexes;
-- the hashes: 16 bytes for each value, NULL for NULL, equal values equal
SELECT id, length(name_blind) AS bytes FROM pupils ORDER BY id;
SELECT count(DISTINCT name_blind) AS distinct_hashes FROM pupils WHERE name_blind IS NOT NULL;
SELECT (SELECT name_blind FROM pupils WHERE id = 'b-2') = (SELECT name_blind FROM pupils WHERE id = 'b-3')
       AS equal_values_equal_hashes;
-- a keyed hash: not the plain SHA-256 or the plaintext
SELECT count(*) AS unkeyed FROM pupils
 WHERE name_blind IN (substr(sha256(convert_to('BLIND' || 'MARK-alice', 'UTF8')), 1, 16),
                      convert_to('BLIND' || 'MARK-alice', 'UTF8'));

-------------------------------------------------------------------------------
-- an allowed reader: through the index, same rows as without
-------------------------------------------------------------------------------
SET ROLE regress_bi_app;
SET childguard.purpose = 'regress';
SET enable_seqscan = off;
EXPLAIN (COSTS OFF) SELECT id FROM pupils WHERE name = 'BLINDMARK-alice';
SELECT id, name FROM pupils WHERE name = 'BLINDMARK-alice' ORDER BY id;
SELECT id, name FROM plain WHERE name = 'BLINDMARK-alice' ORDER BY id;
SELECT id FROM pupils WHERE 'BLINDMARK-bob' = name;
SELECT id FROM pupils WHERE name = 'BLINDMARK-nobody';
SELECT id FROM pupils WHERE name = 'BLINDMARK-alice' AND school = '第二小学';
SELECT count(*) FROM pupils WHERE name = NULL;
-- IN (...) of constants: through the index too; = ANY of an array parameter
-- is not rewritten, and still works by comparing every row
EXPLAIN (COSTS OFF) SELECT id FROM pupils WHERE name IN ('BLINDMARK-bob', 'BLINDMARK-zed');
SELECT id FROM pupils WHERE name IN ('BLINDMARK-bob', 'BLINDMARK-zed') ORDER BY id;
SELECT id FROM pupils WHERE name = ANY (ARRAY['BLINDMARK-bob', 'BLINDMARK-zed']::childguard.child_data[]) ORDER BY id;
-- OR, NOT, <>: not lookups; same answers
SELECT id FROM pupils WHERE name = 'BLINDMARK-bob' OR id = 'b-9' ORDER BY id;
SELECT id FROM pupils WHERE name <> 'BLINDMARK-alice' ORDER BY id;
-- a sub-select, a join: the lookup inside them too
SELECT (SELECT id FROM pupils p WHERE p.name = 'BLINDMARK-zed') AS zed;
EXPLAIN (COSTS OFF) SELECT * FROM (SELECT id FROM pupils WHERE name = 'BLINDMARK-zed') s;
-- prepared statements: custom and generic plans
PREPARE q(childguard.child_data) AS SELECT id FROM pupils WHERE name = $1 ORDER BY id;
SET plan_cache_mode = force_generic_plan;
EXPLAIN (COSTS OFF) EXECUTE q('BLINDMARK-alice');
EXECUTE q('BLINDMARK-alice');
EXECUTE q('BLINDMARK-bob');
EXECUTE q('BLINDMARK-nobody');
-- the same prepared statement run after switching to a role that bypasses
-- row security (a pooler's connection changing roles): replanned, no lookup
RESET ROLE;
EXPLAIN (COSTS OFF) EXECUTE q('BLINDMARK-alice');
EXECUTE q('BLINDMARK-alice');
SET ROLE regress_bi_app;
EXPLAIN (COSTS OFF) EXECUTE q('BLINDMARK-alice');
RESET plan_cache_mode;
EXECUTE q('BLINDMARK-zed');
RESET enable_seqscan;
RESET childguard.purpose;
RESET ROLE;
-- the comparisons on the rows found are the audited reads: two children
SELECT childguard.audit_wait();
SELECT coalesce(max(id), 0) AS start_id FROM childguard.access_log \gset
SET ROLE regress_bi_app;
SET childguard.purpose = 'regress';
SET enable_seqscan = off;
SELECT id FROM pupils WHERE name = 'BLINDMARK-alice' ORDER BY id;
RESET enable_seqscan;
RESET childguard.purpose;
RESET ROLE;
SELECT childguard.audit_wait();
SELECT command, outcome, cardinality(children_read) AS children_read,
       children_read = (SELECT array_agg(subject_no ORDER BY subject_no) FROM childguard.child
                         WHERE child_id IN ('b-2', 'b-3')) AS the_two_alices
  FROM childguard.access_log WHERE id > :start_id ORDER BY id;

-------------------------------------------------------------------------------
-- readers who may not compare: the same outcome with and without the index,
-- whether the value is there or not
-------------------------------------------------------------------------------
CREATE FUNCTION pg_temp.outcome(tbl text, val text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE n bigint; m bigint;
BEGIN
	EXECUTE format('SELECT count(*) FROM %I WHERE name = %L', tbl, val) INTO n;
	-- the same through IN (a lookup too) must agree
	EXECUTE format('SELECT count(*) FROM %I WHERE name IN (%L, %L)', tbl, val, 'x') INTO m;
	IF m <> n THEN
		RETURN 'IN disagrees';
	END IF;
	RETURN n || ' rows';
EXCEPTION WHEN OTHERS THEN
	RETURN 'error ' || SQLSTATE;
END
$$;
CREATE FUNCTION pg_temp.outcomes(who text) RETURNS TABLE (reader text, indexed_present text,
	indexed_absent text, plain_present text, plain_absent text) LANGUAGE sql AS $$
	-- (the marker is never whole outside child_data: the file scan below looks for it)
	SELECT who, pg_temp.outcome('pupils', 'BLIND' || 'MARK-zed'), pg_temp.outcome('pupils', 'BLIND' || 'MARK-nobody'),
	       pg_temp.outcome('plain', 'BLIND' || 'MARK-zed'), pg_temp.outcome('plain', 'BLIND' || 'MARK-nobody')
$$;
GRANT EXECUTE ON FUNCTION pg_temp.outcome(text, text), pg_temp.outcomes(text) TO PUBLIC;
SET enable_seqscan = off;
SET ROLE regress_bi_app;
SELECT * FROM pg_temp.outcomes('no purpose');
SET childguard.purpose = 'regress';
SELECT * FROM pg_temp.outcomes('allowed');
RESET childguard.purpose;
SET ROLE regress_bi_narrow;
SET childguard.purpose = 'regress_school';
SELECT * FROM pg_temp.outcomes('purpose without names');
SELECT id FROM pupils WHERE name = 'BLINDMARK-zed';
RESET childguard.purpose;
RESET ROLE;
-- consent for b-9 (the only "zed") withdrawn: its row is hidden, with or without
SET ROLE regress_fixture_recorder;
SELECT childguard.withdraw_consent('b-9', 'regress', 'g-b-9') > 0 AS withdrawn;
RESET ROLE;
SET ROLE regress_bi_app;
SET childguard.purpose = 'regress';
SELECT * FROM pg_temp.outcomes('child without consent');
EXPLAIN (COSTS OFF) SELECT count(*) FROM pupils WHERE name = 'BLINDMARK-zed';
-- a DELETE sees all of its target's rows: it compares them all, no lookup
EXPLAIN (COSTS OFF) DELETE FROM pupils WHERE name = 'BLINDMARK-zed';
DELETE FROM pupils WHERE name = 'BLINDMARK-zed';
\echo :LAST_ERROR_SQLSTATE
DELETE FROM plain WHERE name = 'BLINDMARK-zed';
\echo :LAST_ERROR_SQLSTATE
DELETE FROM pupils WHERE name = 'BLINDMARK-nobody';
\echo :LAST_ERROR_SQLSTATE
RESET childguard.purpose;
RESET ROLE;
-- the superuser bypasses row security: no lookup, every row compared, as without
SET childguard.purpose = 'regress';
SELECT * FROM pg_temp.outcomes('bypassing row security');
EXPLAIN (COSTS OFF) SELECT count(*) FROM pupils WHERE name = 'BLINDMARK-zed';
RESET childguard.purpose;
RESET enable_seqscan;
SET ROLE regress_fixture_recorder;
SELECT childguard.record_consent('b-9', 'regress', 'regress-notice', 'g-b-9', guardian_informed => 'g-b-9') > 0
       AS consented_again;
RESET ROLE;

-------------------------------------------------------------------------------
-- every write route fills the hash; UPDATE recomputes it
-------------------------------------------------------------------------------
CREATE FUNCTION pg_temp.hash_ok() RETURNS TABLE (id text, has_value boolean, hash_matches_twin boolean)
LANGUAGE sql AS $$
	-- each row's hash equals that of a row of the same value (b-2, alice; b-1, bob)
	SELECT p.id, p.name_blind IS NOT NULL,
	       p.name_blind = ANY (SELECT q.name_blind FROM pupils q WHERE q.id IN ('b-1', 'b-2'))
	  FROM pupils p ORDER BY 1, 3
$$;
SET childguard.purpose = 'regress';
INSERT INTO pupils VALUES ('b-5', 'BLINDMARK-bob', NULL);                        -- INSERT
COPY pupils (id, name) FROM STDIN;
b-5	BLINDMARK-alice
\.
INSERT INTO pupils (id, name) SELECT id, name FROM pupils WHERE id = 'b-1';      -- a sealed value
UPDATE pupils SET name = 'BLINDMARK-carl' WHERE id = 'b-3';                      -- UPDATE
UPDATE pupils SET name = NULL WHERE id = 'b-4';
UPDATE pupils SET name = 'BLINDMARK-alice' WHERE id = 'b-4';
SELECT * FROM pg_temp.hash_ok();
SET enable_seqscan = off;
SELECT id FROM pupils WHERE name = 'BLINDMARK-carl';
SELECT id FROM pupils WHERE name = 'BLINDMARK-alice' ORDER BY id;
RESET enable_seqscan;
RESET childguard.purpose;
-- load_rows() (the application's bulk load) goes through the trigger too
GRANT INSERT ON pupils TO regress_bi_app;
SET ROLE regress_bi_app;
CREATE TEMP TABLE s_pupils (row_no bigint, id text, name text, school text);
INSERT INTO s_pupils VALUES (1, 'b-9', 'BLIND' || 'MARK-bob', NULL);
SET childguard.purpose = 'regress';
SELECT loaded, rejected FROM childguard.load_rows('pupils', 's_pupils');
SET enable_seqscan = off;
SELECT id FROM pupils WHERE name = 'BLINDMARK-bob' ORDER BY id;
RESET enable_seqscan;
RESET childguard.purpose;
RESET ROLE;

-------------------------------------------------------------------------------
-- a hostile owner writing the hidden column: the trigger writes it again
-------------------------------------------------------------------------------
SET childguard.purpose = 'regress';
-- make b-3 ("carl") match a lookup for bob, forge a hash, drop one: each
-- write is replaced by the hash of the row's value
UPDATE pupils SET name_blind = (SELECT name_blind FROM pupils WHERE id = 'b-1' LIMIT 1) WHERE id = 'b-3';
SELECT count(*) AS carl_looks_like_bob FROM pupils
 WHERE id = 'b-3' AND name_blind = (SELECT name_blind FROM pupils WHERE id = 'b-1' LIMIT 1);
INSERT INTO pupils (id, name, name_blind) VALUES ('b-2', 'BLINDMARK-dora', '\x00112233445566778899aabbccddeeff');
UPDATE pupils SET name_blind = NULL WHERE id = 'b-1';
SELECT * FROM pg_temp.hash_ok();
SELECT count(*) AS forged FROM pupils WHERE name_blind = '\x00112233445566778899aabbccddeeff';
SET enable_seqscan = off;
SELECT id FROM pupils WHERE name = 'BLINDMARK-bob' ORDER BY id;
SELECT id FROM pupils WHERE name = 'BLINDMARK-dora';
RESET enable_seqscan;
RESET childguard.purpose;

-------------------------------------------------------------------------------
-- rotation of the master key's wrapping: the key is rewrapped, the hashes stay
-------------------------------------------------------------------------------
SELECT wrapped_key AS wrapped_before FROM childguard.blind_index \gset
SELECT childguard.rotate_master_key() >= 0 AS rotated;
SELECT wrapped_key = :'wrapped_before' AS same_wrapping FROM childguard.blind_index;

-------------------------------------------------------------------------------
-- erasure: a shredded child's hashes are cleared
-------------------------------------------------------------------------------
-- by the table's "null" action: the value and its hash go
SELECT childguard.set_erasure_action('pupils', 'null');
SET ROLE regress_fixture_dpo;
SELECT childguard.erase('b-4', 'pupils', 'request') AS erased_rows;
RESET ROLE;
-- by "shred" (the data key destroyed, the rows kept): the hashes go too
SELECT childguard.set_erasure_action('pupils', 'shred');
SET ROLE regress_fixture_dpo;
SELECT childguard.erase('b-5', NULL, 'request') > 0 AS erased;
RESET ROLE;
SELECT id, name IS NULL AS value_null, name_blind IS NULL AS hash_cleared FROM pupils
 WHERE id IN ('b-1', 'b-4', 'b-5') ORDER BY id, hash_cleared;

-------------------------------------------------------------------------------
-- no plaintext of the indexed values in the database's files (heap, index,
-- statistics) or the WAL
-------------------------------------------------------------------------------
ANALYZE pupils;
CHECKPOINT;
SELECT count(*) > 10 AS scanned_many_files, count(*) FILTER (WHERE position(convert_to('BLIND' || 'MARK', 'UTF8') IN content) > 0)
       AS files_with_plaintext
  FROM (SELECT f, pg_read_binary_file(f) AS content
          FROM (SELECT 'base/' || d.oid || '/' || x AS f
                  FROM pg_database d, pg_ls_dir('base/' || d.oid) x
                 WHERE d.datname = current_database()
                UNION ALL
                SELECT 'pg_wal/' || x FROM pg_ls_dir('pg_wal') x WHERE x ~ '^[0-9A-F]{24}$') fs) files
;

-------------------------------------------------------------------------------
-- disable: the hidden column and its index go, lookups compare every row again
-------------------------------------------------------------------------------
SET ROLE regress_bi_app;
SELECT childguard.disable_blind_index('pupils', 'name');           -- not the owner
RESET ROLE;
SELECT childguard.disable_blind_index('pupils', 'school');         -- none there
SELECT childguard.disable_blind_index('pupils', 'name');
SELECT count(*) AS hidden_columns FROM pg_attribute WHERE attrelid = 'pupils'::regclass AND attname = 'name_blind' AND NOT attisdropped;
SELECT count(*) AS blind_indexes FROM childguard.blind_indexes;
SET ROLE regress_bi_app;
SET childguard.purpose = 'regress';
SET enable_seqscan = off;
EXPLAIN (COSTS OFF) SELECT id FROM pupils WHERE name = 'BLINDMARK-carl';
SELECT id FROM pupils WHERE name = 'BLINDMARK-carl';
RESET enable_seqscan;
RESET childguard.purpose;
RESET ROLE;

\c contrib_regression
SET client_min_messages = warning;
DROP DATABASE regress_blind;
DROP ROLE IF EXISTS regress_bi_app;
DROP ROLE IF EXISTS regress_bi_narrow;
