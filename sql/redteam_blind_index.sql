-- Red team, round 20: a blind index's hidden column and its hash function
-- (docs/security.md, "Red team, round 20").  childguard._blind(table,
-- column, value) is the function the planner rewrite calls for a lookup
-- (col = value); it is executable by PUBLIC, since the rewritten query
-- runs as the reader.  Called directly by a reader with a purpose, it gave
-- the hash of any value the reader chose, and `hidden = hash` then
-- compared that guess with every visible row without a decision, an audit
-- record or a grant's per-statement limit: a dictionary probe at no cost
-- (`WHERE name = guess` decides and records each row it compares).  Now
-- (ZC564) only the rewrite's own call runs.  Routes: the select list, a
-- WHERE on the hidden column, a SQL function (inlined), a view, a prepared
-- statement (custom and generic plans), PL/pgSQL's EXECUTE, a grant for
-- one child per statement; the lookup itself keeps working (and its
-- comparisons are decided and recorded), also in a generic plan.  And
-- the hidden column keeps no statistics (part 71): the planner's estimate
-- of a lookup told EXPLAIN how many rows in all hold a value.  On the old
-- code each probe returns the hashes and finds b-2 and b-3 (also past the
-- one-child grant), and the estimates differ.
SET client_min_messages = warning;
DROP DATABASE IF EXISTS regress_rt_blind;
CREATE DATABASE regress_rt_blind;
\c regress_rt_blind
SET client_min_messages = warning;
CREATE EXTENSION childguard CASCADE;
DROP ROLE IF EXISTS regress_rtb_app;
DROP ROLE IF EXISTS regress_rtb_one;
CREATE ROLE regress_rtb_app;
CREATE ROLE regress_rtb_one;
RESET client_min_messages;
\set VERBOSITY terse
\set SHOW_CONTEXT never

SELECT count(*) AS registered FROM (
  SELECT childguard.register_child(c, '2015-05-01')
    FROM unnest(ARRAY['b-1', 'b-2', 'b-3']) c) r;
\i test/fixtures/regress_purpose.psql
SELECT pg_temp.consent_all() > 0 AS consents;
CREATE TABLE pupils (id text, name childguard.child_data(name));
SELECT childguard.protect('pupils', 'id');
SET childguard.purpose = 'regress';
INSERT INTO pupils VALUES ('b-1', 'RTBMARK-bob'), ('b-2', 'RTBMARK-alice'), ('b-3', 'RTBMARK-alice');
RESET childguard.purpose;
SELECT childguard.enable_blind_index('pupils', 'name');
SELECT childguard.enroll_application('regress_rtb_app');
SELECT childguard.enroll_application('regress_rtb_one');
GRANT SELECT ON pupils TO regress_rtb_app, regress_rtb_one;
SELECT childguard.request_access('regress_rtb_app', '{regress}', now() + interval '1 day') AS g1 \gset
SELECT childguard.request_access('regress_rtb_one', '{regress}', now() + interval '1 day',
                                 max_children => 1) AS g2 \gset
SET ROLE regress_fixture_dpo;
SELECT childguard.approve_access(:g1), childguard.approve_access(:g2);
RESET ROLE;
SELECT attnum AS name_attnum FROM pg_attribute WHERE attrelid = 'pupils'::regclass AND attname = 'name' \gset
-- a view and a SQL function that compute the hash of a guess
CREATE VIEW guess_hash AS
  SELECT childguard._blind('pupils', :name_attnum::int2, 'RTBMARK-alice'::childguard.child_data) AS h;
CREATE FUNCTION hash_of(v text) RETURNS bytea LANGUAGE sql STABLE
  AS $$ SELECT childguard._blind('pupils', 2::int2, v::childguard.child_data) $$;
GRANT SELECT ON guess_hash TO PUBLIC;

SELECT childguard.audit_wait();
SELECT coalesce(max(id), 0) AS start_id FROM childguard.access_log \gset
SET ROLE regress_rtb_app;
SET childguard.purpose = 'regress';
-- 1. the select list
SELECT length(childguard._blind('pupils', :name_attnum::int2, 'RTBMARK-alice')) AS hash_bytes;
\echo :LAST_ERROR_SQLSTATE
-- 2. the probe: which children are called alice, no value compared
SELECT id FROM pupils WHERE name_blind = childguard._blind('pupils', :name_attnum::int2, 'RTBMARK-alice') ORDER BY id;
\echo :LAST_ERROR_SQLSTATE
-- 3. through a SQL function (inlined) and a view
SELECT id FROM pupils WHERE name_blind = hash_of('RTBMARK-alice') ORDER BY id;
\echo :LAST_ERROR_SQLSTATE
SELECT p.id FROM pupils p, guess_hash g WHERE p.name_blind = g.h ORDER BY p.id;
\echo :LAST_ERROR_SQLSTATE
-- 4. a prepared statement, custom and generic plans
PREPARE probe(childguard.child_data) AS
  SELECT id FROM pupils WHERE name_blind = childguard._blind('pupils', 2::int2, $1) ORDER BY id;
EXECUTE probe('RTBMARK-alice');
\echo :LAST_ERROR_SQLSTATE
SET plan_cache_mode = force_generic_plan;
EXECUTE probe('RTBMARK-alice');
\echo :LAST_ERROR_SQLSTATE
RESET plan_cache_mode;
DEALLOCATE probe;
-- 5. PL/pgSQL's EXECUTE
DO $$
DECLARE h bytea;
BEGIN
	EXECUTE 'SELECT childguard._blind(''pupils'', 2::int2, ''RTBMARK-alice'')' INTO h;
	RAISE NOTICE 'hash of % bytes', length(h);
END
$$;
\echo :LAST_ERROR_SQLSTATE
-- 6. the lookup itself works, through the index, in custom and generic plans
SET enable_seqscan = off;
SELECT id FROM pupils WHERE name = 'RTBMARK-alice' ORDER BY id;
PREPARE q(childguard.child_data) AS SELECT id FROM pupils WHERE name = $1 ORDER BY id;
SET plan_cache_mode = force_generic_plan;
EXPLAIN (COSTS OFF) EXECUTE q('RTBMARK-alice');
EXECUTE q('RTBMARK-alice');
RESET plan_cache_mode;
RESET enable_seqscan;
RESET childguard.purpose;
RESET ROLE;
-- 7. a grant for one child per statement: the probe would learn two
SET ROLE regress_rtb_one;
SET childguard.purpose = 'regress';
SELECT id FROM pupils WHERE name_blind = childguard._blind('pupils', :name_attnum::int2, 'RTBMARK-alice') ORDER BY id;
\echo :LAST_ERROR_SQLSTATE
SET enable_seqscan = off;
SELECT id FROM pupils WHERE name = 'RTBMARK-alice' ORDER BY id;   -- decided: the limit holds
\echo :LAST_ERROR_SQLSTATE
RESET enable_seqscan;
RESET childguard.purpose;
RESET ROLE;
-- 8. statistics: ANALYZE keeps none of the hashes, so the planner's
-- estimate of a lookup (EXPLAIN runs nothing) does not depend on how many
-- rows -- of any child, visible or not -- hold the value
SET childguard.purpose = 'regress';
INSERT INTO pupils SELECT 'b-1', 'RTBMARK-alice' FROM generate_series(1, 300);
RESET childguard.purpose;
ANALYZE pupils;
SELECT a.attstattarget AS hidden_stattarget,
       (SELECT count(*) FROM pg_statistic s WHERE s.starelid = a.attrelid AND s.staattnum = a.attnum) AS hidden_statistics
  FROM pg_attribute a WHERE a.attrelid = 'pupils'::regclass AND a.attname = 'name_blind';
CREATE FUNCTION pg_temp.estimate(q text) RETURNS numeric LANGUAGE plpgsql AS $$
DECLARE plan json;
BEGIN
	EXECUTE 'EXPLAIN (FORMAT JSON) ' || q INTO plan;
	RETURN (plan -> 0 -> 'Plan' ->> 'Plan Rows')::numeric;
END
$$;
GRANT EXECUTE ON FUNCTION pg_temp.estimate(text) TO PUBLIC;
SET ROLE regress_rtb_app;
SET childguard.purpose = 'regress';
SELECT pg_temp.estimate($$SELECT id FROM pupils WHERE name = 'RTBMARK-alice'$$)
     = pg_temp.estimate($$SELECT id FROM pupils WHERE name = 'RTBMARK-nobody'$$) AS same_estimate;
-- the hash of a row the reader sees, against every row's
SELECT name_blind AS alice_hash FROM pupils WHERE id = 'b-2' \gset
SELECT pg_temp.estimate(format('SELECT id FROM pupils WHERE name_blind = %L', :'alice_hash'))
     = pg_temp.estimate($$SELECT id FROM pupils WHERE name_blind = '\x00112233445566778899aabbccddeeff'$$)
       AS same_estimate_by_hash;
RESET childguard.purpose;
RESET ROLE;
-- the lookups' comparisons were decided and recorded; nothing else read
SELECT childguard.audit_wait();
SELECT l.acting_role AS reader, outcome, sqlstate,
       ARRAY(SELECT child_id FROM childguard.access_log_children c
              WHERE c.id = l.id AND c.access = 'read' ORDER BY 1) AS read
  FROM childguard.access_log l WHERE id > :start_id ORDER BY id;

\c contrib_regression
SET client_min_messages = warning;
DROP DATABASE regress_rt_blind;
DROP ROLE regress_rtb_app;
DROP ROLE regress_rtb_one;
