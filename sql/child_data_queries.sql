-- Queries on child_data (issue 13, item 1): ORDER BY, DISTINCT, GROUP BY,
-- joins, min/max, LIKE/ILIKE for a reader who may read every value; and for
-- a reader who may not, every such route is an error that says nothing of
-- the value, so none of them is an oracle.  (The spill of a large sort to
-- disk is test/t/400_child_data_sort_spill.pl.)
-- (a database of its own: the children it registers must not change the
-- subject numbers other tests expect)
SET client_min_messages = warning;
DROP DATABASE IF EXISTS regress_queries;
CREATE DATABASE regress_queries;
\c regress_queries
SET client_min_messages = warning;
CREATE EXTENSION childguard CASCADE;
RESET client_min_messages;
\set VERBOSITY terse
\set SHOW_CONTEXT never

SELECT count(*) AS registered FROM (
  SELECT childguard.register_child(c, '2015-05-01')
    FROM unnest(ARRAY['q-1', 'q-2', 'q-3', 'q-4', 'q-5', 'q-9']) c) r;
\i test/fixtures/regress_purpose.psql
SELECT pg_temp.consent_all() > 0 AS consents;

CREATE TABLE pupils (id text PRIMARY KEY,
                     name childguard.child_data(name),
                     school childguard.child_data(school));
SELECT childguard.protect('pupils', 'id');
CREATE TABLE friends (id text, friend childguard.child_data(name));
SELECT childguard.protect('friends', 'id');

SET childguard.purpose = 'regress';
INSERT INTO pupils VALUES
  ('q-1', 'bob', '第一小学'), ('q-2', 'Alice', '第二小学'), ('q-3', 'alice', '第一小学'),
  ('q-4', '小明', NULL), ('q-5', 'bob', '第二小学'), ('q-9', 'zed', '第一小学');
INSERT INTO friends VALUES ('q-1', 'alice'), ('q-2', 'bob'), ('q-3', 'nobody'), ('q-4', '小明');

-------------------------------------------------------------------------------
-- an allowed reader: the usual SQL works, by plaintext
-------------------------------------------------------------------------------
SELECT id, name FROM pupils ORDER BY name, id;
SELECT id, name FROM pupils ORDER BY name DESC, id;
SELECT DISTINCT name FROM pupils ORDER BY name;
SELECT DISTINCT ON (school) school, name FROM pupils ORDER BY school, name;
SELECT count(DISTINCT name) AS distinct_names FROM pupils;
SELECT min(name), max(name), min(school), max(school) FROM pupils;
SELECT name, greatest(name, 'c'::childguard.child_data) FROM pupils WHERE id IN ('q-1', 'q-2') ORDER BY 1;
SELECT id FROM pupils WHERE name < 'b' ORDER BY id;
SELECT id FROM pupils WHERE name BETWEEN 'alice' AND 'bob' ORDER BY id;
SELECT id FROM pupils WHERE name IN ('bob', 'zed') ORDER BY id;
SELECT id FROM pupils WHERE name LIKE 'a%' ORDER BY id;
SELECT id FROM pupils WHERE name ILIKE 'a%' ORDER BY id;
SELECT id FROM pupils WHERE name NOT LIKE '%e%' ORDER BY id;
SELECT id FROM pupils WHERE name NOT ILIKE 'B%' ORDER BY id;
SELECT id FROM pupils WHERE school LIKE '%一%' ORDER BY id;
SELECT id, lower(name::text), upper(name::text) FROM pupils WHERE name::text ILIKE 'ALICE' ORDER BY id;
SELECT id, row_number() OVER (PARTITION BY school ORDER BY name) FROM pupils ORDER BY id;
-- GROUP BY, by sorting and by hashing
SET enable_hashagg = off;
SELECT name, count(*) FROM pupils GROUP BY name ORDER BY name;
EXPLAIN (COSTS OFF) SELECT name, count(*) FROM pupils GROUP BY name;
RESET enable_hashagg;
SET enable_sort = off;
SELECT name, count(*) FROM pupils GROUP BY name ORDER BY count(*) DESC, 1;
EXPLAIN (COSTS OFF) SELECT name, count(*) FROM pupils GROUP BY name;
SELECT school, count(*) FROM pupils GROUP BY school ORDER BY 2, 1;
RESET enable_sort;
-- joins on child_data: hash, merge, nested loop
SET enable_mergejoin = off; SET enable_nestloop = off;
EXPLAIN (COSTS OFF) SELECT p.id, f.id FROM pupils p JOIN friends f ON f.friend = p.name;
SELECT p.id AS pupil, f.id AS friend_of FROM pupils p JOIN friends f ON f.friend = p.name ORDER BY 1, 2;
RESET enable_mergejoin; SET enable_hashjoin = off;
EXPLAIN (COSTS OFF) SELECT p.id, f.id FROM pupils p JOIN friends f ON f.friend = p.name;
SELECT p.id AS pupil, f.id AS friend_of FROM pupils p JOIN friends f ON f.friend = p.name ORDER BY 1, 2;
RESET enable_nestloop; SET enable_mergejoin = off;
SELECT p.id AS pupil, f.id AS friend_of FROM pupils p JOIN friends f ON f.friend = p.name ORDER BY 1, 2;
RESET enable_mergejoin; RESET enable_hashjoin;
SELECT name FROM pupils UNION SELECT friend FROM friends ORDER BY 1;
SELECT name FROM pupils INTERSECT SELECT friend FROM friends ORDER BY 1;

-- never in a parallel worker (which makes no read decision): a table
-- holding child data is scanned by the leader only, even when parallelism
-- is free or forced (the superuser here bypasses row security, whose
-- policy would rule it out anyway)
SET parallel_setup_cost = 0; SET parallel_tuple_cost = 0;
SET min_parallel_table_scan_size = 0; SET max_parallel_workers_per_gather = 2;
EXPLAIN (COSTS OFF) SELECT name FROM pupils ORDER BY name;
EXPLAIN (COSTS OFF) SELECT name, count(*) FROM pupils GROUP BY name;
EXPLAIN (COSTS OFF) SELECT count(*) FROM pupils p JOIN friends f ON f.friend = p.name;
SET force_parallel_mode = on;
SELECT name FROM pupils ORDER BY name LIMIT 2;
SELECT count(*) FROM pupils p JOIN friends f ON f.friend = p.name;
RESET force_parallel_mode; RESET parallel_setup_cost; RESET parallel_tuple_cost;
RESET min_parallel_table_scan_size; RESET max_parallel_workers_per_gather;

-- each compared value is a read: the statement's record names every child
SELECT childguard.audit_wait();
SELECT coalesce(max(id), 0) AS start_id FROM childguard.access_log \gset
SELECT id FROM pupils WHERE name < 'b' ORDER BY id;
SELECT count(*) FROM pupils GROUP BY name HAVING count(*) > 1;
SELECT childguard.audit_wait();
SELECT command, outcome, children_read = (SELECT array_agg(subject_no ORDER BY subject_no)
                                            FROM childguard.child WHERE child_id LIKE 'q-%') AS read_all_six,
       children_denied = '{}' AS none_denied
  FROM childguard.access_log WHERE id > :start_id ORDER BY id;

-------------------------------------------------------------------------------
-- no purpose: nothing is compared
-------------------------------------------------------------------------------
RESET childguard.purpose;
SELECT id FROM pupils ORDER BY name;
SELECT DISTINCT name FROM pupils;
SELECT min(name) FROM pupils;

-------------------------------------------------------------------------------
-- a denied reader.  Consent for q-9 is withdrawn; the superuser bypasses
-- row security, so its row is there and the value-level decision answers.
-------------------------------------------------------------------------------
SET ROLE regress_fixture_recorder;
SELECT childguard.withdraw_consent('q-9', 'regress', 'g-q-9') > 0 AS withdrawn;
RESET ROLE;
SET childguard.purpose = 'regress';
SELECT id, name FROM pupils WHERE id IN ('q-1', 'q-9') ORDER BY id;
SET childguard.denied_read = 'mask';
SELECT id, name FROM pupils WHERE id IN ('q-1', 'q-9') ORDER BY id;
-- every route that would compare, hash or match q-9's value is refused,
-- with the same error whatever the value and the probe
SELECT id FROM pupils ORDER BY name;
SELECT id FROM pupils ORDER BY name DESC;
SELECT id FROM pupils WHERE name < 'm';
SELECT id FROM pupils WHERE name >= 'm';
SELECT id FROM pupils WHERE name = 'zed';
SELECT id FROM pupils WHERE name <> 'zed';
SELECT id FROM pupils WHERE name IN ('a', 'zed');
SELECT id FROM pupils WHERE name LIKE 'z%';
SELECT id FROM pupils WHERE name LIKE '%';
SELECT id FROM pupils WHERE name ILIKE 'Z%';
SELECT id FROM pupils WHERE name NOT LIKE 'z%';
SELECT min(name) FROM pupils;
SELECT max(name) FROM pupils;
SELECT count(DISTINCT name) FROM pupils;
SELECT count(*) FROM (SELECT DISTINCT name FROM pupils) d;
SET enable_hashagg = off;
SELECT name IS NULL, count(*) FROM pupils GROUP BY name;
RESET enable_hashagg; SET enable_sort = off;
SELECT count(*) FROM pupils GROUP BY name;
RESET enable_sort;
SET enable_mergejoin = off; SET enable_nestloop = off;
SELECT count(*) FROM pupils p JOIN friends f ON f.friend = p.name;
RESET enable_mergejoin; SET enable_hashjoin = off; SET enable_nestloop = off;
SELECT count(*) FROM pupils p JOIN friends f ON f.friend = p.name;
RESET enable_hashjoin; RESET enable_nestloop;
SELECT count(*) FROM pupils a JOIN pupils b ON a.name = b.name WHERE a.id = 'q-9';
SELECT greatest(name, 'm'::childguard.child_data) FROM pupils WHERE id = 'q-9';
SELECT ROW(name) < ROW('m'::childguard.child_data) FROM pupils WHERE id = 'q-9';
SELECT ARRAY[name] > ARRAY['m'::childguard.child_data] FROM pupils WHERE id = 'q-9';
SELECT name FROM pupils WHERE id = 'q-9' UNION SELECT 'zed';
SELECT id, rank() OVER (ORDER BY name) FROM pupils;
SELECT CASE name WHEN 'zed' THEN 1 ELSE 0 END FROM pupils WHERE id = 'q-9';
SELECT name IS DISTINCT FROM 'zed' FROM pupils WHERE id = 'q-9';
SELECT nullif(name, 'zed') FROM pupils WHERE id = 'q-9';

-- a session that asked for masks or NULLs for denied values: comparing
-- them is still refused (a mask or NULL would order and group as if it
-- were the value)
SELECT id FROM pupils ORDER BY name;
SELECT count(DISTINCT name) FROM pupils;
SET childguard.denied_read = 'null';
SELECT id FROM pupils ORDER BY name;
SELECT id FROM pupils WHERE name LIKE 'z%';
RESET childguard.denied_read;

-- a binary search over the first letter, catching each error: not one
-- probe answers, so it learns nothing (counts: answered, refused)
CREATE FUNCTION pg_temp.probe(cmp text, bound text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE r boolean;
BEGIN
	EXECUTE format('SELECT name %s %L FROM pupils WHERE id = %L', cmp, bound, 'q-9') INTO r;
	RETURN CASE WHEN r THEN 'yes' ELSE 'no' END;
EXCEPTION WHEN OTHERS THEN
	RETURN SQLSTATE;
END $$;
SELECT p.cmp, count(*) FILTER (WHERE probe IN ('yes', 'no')) AS answered,
       count(*) FILTER (WHERE probe = 'ZC105') AS refused
  FROM (SELECT c.cmp, pg_temp.probe(c.cmp, chr(b)) AS probe
          FROM unnest(ARRAY['<', '<=', '=', '>', '>=', '<>', 'LIKE', 'ILIKE', 'NOT LIKE']) c(cmp),
               generate_series(97, 122) b) p
 GROUP BY p.cmp ORDER BY p.cmp;
-- the error text is the same for every probe, and names no plaintext
CREATE FUNCTION pg_temp.probe_message(q text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE m text; d text;
BEGIN
	EXECUTE q;
	RETURN 'no error';
EXCEPTION WHEN OTHERS THEN
	GET STACKED DIAGNOSTICS m = MESSAGE_TEXT, d = PG_EXCEPTION_DETAIL;
	RETURN SQLSTATE || ': ' || m || ' / ' || regexp_replace(d, 'subject \d+', 'subject N');
END $$;
SELECT DISTINCT pg_temp.probe_message(q) AS outcome
  FROM unnest(ARRAY[
    $q$SELECT 1 FROM pupils WHERE id = 'q-9' AND name < 'a'$q$,
    $q$SELECT 1 FROM pupils WHERE id = 'q-9' AND name > 'a'$q$,
    $q$SELECT 1 FROM pupils WHERE id = 'q-9' AND name LIKE 'z%'$q$,
    $q$SELECT 1 FROM pupils WHERE id = 'q-9' AND name LIKE 'q%'$q$,
    $q$SELECT min(name) FROM pupils WHERE id IN ('q-9', 'q-1')$q$,
    $q$SELECT count(DISTINCT name) FROM pupils$q$]) q;

-- a refused comparison is recorded: the statement failed, q-9 denied
SELECT childguard.audit_wait();
SELECT coalesce(max(id), 0) AS start_id FROM childguard.access_log \gset
SELECT id FROM pupils ORDER BY name;
SELECT childguard.audit_wait();
SELECT outcome, sqlstate, children_read <> '{}' AS allowed_ones_read_first,
       children_denied = (SELECT array_agg(subject_no) FROM childguard.child WHERE child_id = 'q-9') AS q9_denied
  FROM childguard.access_log WHERE id > :start_id ORDER BY id;

-- rows the reader may not see are filtered first: a query that leaves
-- q-9 out works
SELECT id, name FROM pupils WHERE id <> 'q-9' ORDER BY name, id;
SELECT name, count(*) FROM pupils WHERE id <> 'q-9' GROUP BY name ORDER BY 1;
-- and for a role without BYPASSRLS, row security hides q-9 before any comparison
CREATE ROLE regress_q_app;
GRANT SELECT ON pupils, friends TO regress_q_app;
RESET childguard.purpose;
SELECT childguard.request_access('regress_q_app', '{regress}', now() + interval '1 day') AS q_grant \gset
SET ROLE regress_fixture_dpo;
SELECT childguard.approve_access(:q_grant);
RESET ROLE;
SET ROLE regress_q_app;
SET childguard.purpose = 'regress';
SELECT name FROM pupils ORDER BY name;
SELECT count(DISTINCT name), min(name), max(name) FROM pupils;
SELECT id FROM pupils WHERE name >= 'y';
RESET childguard.purpose;
RESET ROLE;

-------------------------------------------------------------------------------
-- nothing persistent orders or hashes child data
-------------------------------------------------------------------------------
CREATE INDEX ON pupils (name);
CREATE INDEX ON pupils USING hash (name);
CREATE TABLE part_by_name (id text, name childguard.child_data(name)) PARTITION BY RANGE (name);
SELECT childguard.protection_problem('part_by_name') IS NOT NULL AS refused;
DROP TABLE part_by_name;
-- ANALYZE keeps no value, histogram or frequency of child data
ANALYZE pupils;
SELECT attname, null_frac, n_distinct, most_common_vals IS NULL AS no_mcv,
       histogram_bounds IS NULL AS no_histogram, correlation IS NULL AS no_correlation
  FROM pg_stats WHERE tablename = 'pupils' AND attname IN ('name', 'school') ORDER BY attname;

DROP TABLE pupils, friends;
DROP OWNED BY regress_q_app;
DROP ROLE regress_q_app;
\c contrib_regression
DROP DATABASE regress_queries;
