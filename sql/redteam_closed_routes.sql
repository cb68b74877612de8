-- Red team (round 19): routes tried against the landed code and found
-- closed, kept here so that they stay closed.  k-2's consent is withdrawn
-- (its plaintext, 秘密二号 / 秘密学校, must not appear); the hostile table
-- owner holds no grant; the application holds one for "homework".
SET client_min_messages = warning;
DROP DATABASE IF EXISTS regress_redteam_closed;
CREATE DATABASE regress_redteam_closed;
\c regress_redteam_closed
SET client_min_messages = warning;
CREATE EXTENSION childguard CASCADE;
CREATE ROLE regress_rc_dpo;
CREATE ROLE regress_rc_owner;
CREATE ROLE regress_rc_app;
CREATE ROLE regress_rc_rec;
RESET client_min_messages;
\set VERBOSITY terse
SELECT childguard.appoint_officer('regress_rc_dpo');
SELECT childguard.enroll_application('regress_rc_owner');
SELECT childguard.enroll_application('regress_rc_app');
SELECT childguard.enroll_consent_recorder('regress_rc_rec');
GRANT CREATE ON SCHEMA public TO regress_rc_owner, regress_rc_app;
SET ROLE regress_rc_dpo;
SELECT childguard.define_purpose('homework', '{name,school}', '1 year') > 0 AS ok;
SELECT childguard.publish_notice('n', '{homework}', 'a', 'b', 'c', 'd', 'e', 'f', 'g') AS v;
SET ROLE regress_rc_app;
SELECT childguard.register_child('k-1', '2016-01-01') > 0 AS ok;
SELECT childguard.register_child('k-2', '2016-02-02') > 0 AS ok;
SELECT childguard.register_child('k-3', '2016-03-03') > 0 AS ok;
SET ROLE regress_rc_rec;
SELECT childguard.register_guardian('gk-1', 'k-1');
SELECT childguard.register_guardian('gk-2', 'k-2');
SELECT childguard.register_guardian('gk-3', 'k-3');
SELECT childguard.record_consent('k-3', 'homework', 'n', 'gk-3') > 0 AS ok;
SELECT childguard.record_consent('k-1', 'homework', 'n', 'gk-1') > 0 AS ok;
SELECT childguard.record_consent('k-2', 'homework', 'n', 'gk-2') > 0 AS ok;
SET ROLE regress_rc_app;
SELECT childguard.request_access('regress_rc_app', '{homework}', now() + interval '1 day') AS g \gset
SET ROLE regress_rc_dpo;
SELECT childguard.approve_access(:g);
SET ROLE regress_rc_owner;
CREATE TABLE pupils (id text PRIMARY KEY, name childguard.child_data(name),
                     school childguard.child_data(school), grade int);
SELECT childguard.protect('pupils', 'id');
GRANT SELECT, INSERT, UPDATE, DELETE ON pupils TO regress_rc_app;
SET ROLE regress_rc_app;
SET childguard.purpose = 'homework';
INSERT INTO pupils VALUES ('k-1', '小一', '一小', 1), ('k-2', '秘密二号', '秘密学校', 2),
                          ('k-3', '小三', '三小', 3);
PREPARE by_id(text) AS SELECT id, name::text FROM pupils WHERE id = $1;
EXECUTE by_id('k-2');                        -- before the withdrawal: read
SET ROLE regress_rc_rec;
SELECT childguard.withdraw_consent('k-2', 'homework', 'gk-2') > 0 AS withdrawn;

-------------------------------------------------------------------------------
-- the application, after k-2's withdrawal: writes and reads through every
-- statement form
-------------------------------------------------------------------------------
SET ROLE regress_rc_app;
SET childguard.purpose = 'homework';
EXECUTE by_id('k-2');                        -- prepared before: nothing now
MERGE INTO pupils p USING (VALUES ('k-2', 'merged')) v(id, n) ON p.id = v.id
  WHEN MATCHED THEN UPDATE SET name = v.n::childguard.child_data;          -- the row is hidden
MERGE INTO pupils p USING (VALUES ('k-2')) v(id) ON p.id = v.id
  WHEN MATCHED AND p.name::text LIKE '秘%' THEN DELETE;                     -- nor an oracle
MERGE INTO pupils p USING (VALUES ('k-2', 'merged')) v(id, n) ON p.id = v.id
  WHEN NOT MATCHED THEN INSERT VALUES (v.id, v.n, NULL, 9);                 -- no consent to collect
INSERT INTO pupils VALUES ('k-2', 'x', NULL, 3)
  ON CONFLICT (id) DO UPDATE SET grade = excluded.grade RETURNING name::text;
INSERT INTO pupils VALUES ('k-2', NULL, NULL, 3)
  ON CONFLICT (id) DO UPDATE SET grade = excluded.grade RETURNING name::text;
WITH u AS (UPDATE pupils SET grade = 5 WHERE id = 'k-2' RETURNING name::text) SELECT * FROM u;
SELECT id, name, school FROM pupils TABLESAMPLE SYSTEM (100) ORDER BY id;
SELECT id, name FROM pupils TABLESAMPLE BERNOULLI (100) REPEATABLE (1) ORDER BY id;
COPY (SELECT id, name::text FROM pupils) TO STDOUT;                         -- a use purpose
CREATE TABLE copied AS SELECT id, name FROM pupils;                         -- child data from a query
CREATE MATERIALIZED VIEW mv AS SELECT id, name FROM pupils;
SELECT id, name INTO copied2 FROM pupils;
RESET childguard.purpose;
SELECT childguard.migrate_step('pupils', 'name', 'name');                   -- not the owner
\echo :LAST_ERROR_SQLSTATE
-- a grant's hourly window: comparing, matching and ordering read each value
SET ROLE regress_rc_dpo;
SELECT childguard.set_grant_limits(:g, per_hour => 1, per_day => NULL);
SET ROLE regress_rc_app;
SET childguard.purpose = 'homework';
SELECT id, name FROM pupils WHERE id = 'k-1';                               -- the one child of this hour
SELECT id FROM pupils WHERE name LIKE '小%' ORDER BY id;
\echo :LAST_ERROR_SQLSTATE
SELECT id FROM pupils WHERE name = '小三';
\echo :LAST_ERROR_SQLSTATE
SELECT id FROM pupils ORDER BY name;
\echo :LAST_ERROR_SQLSTATE
SELECT count(DISTINCT name) FROM pupils;
\echo :LAST_ERROR_SQLSTATE
SELECT id, name FROM pupils WHERE id = 'k-1';                               -- still readable
RESET childguard.purpose;

-------------------------------------------------------------------------------
-- the hostile owner: code and statistics over child data
-------------------------------------------------------------------------------
SET ROLE regress_rc_owner;
CREATE INDEX ON pupils USING brin (grade);                                  -- no child data: allowed
CREATE INDEX ON pupils (name);                                              -- sorted plaintext
CREATE INDEX ON pupils USING hash (name);
ALTER TABLE pupils ADD UNIQUE (name);
CREATE INDEX ON pupils USING gin (to_tsvector('simple', name::text));
CREATE INDEX ON pupils USING brin ((name::text));
CREATE INDEX ON pupils (grade) WHERE name::text LIKE '秘%';
CREATE STATISTICS st ON name, grade FROM pupils;
CREATE STATISTICS st2 ON (name::text) FROM pupils;
CREATE RULE r AS ON SELECT TO pupils DO INSTEAD SELECT * FROM pupils;
ALTER TABLE pupils DISABLE ROW LEVEL SECURITY;
\echo :LAST_ERROR_SQLSTATE
ALTER TABLE pupils NO FORCE ROW LEVEL SECURITY;
\echo :LAST_ERROR_SQLSTATE
SELECT id, grade FROM pupils;                                               -- no purpose: no rows
RESET ROLE;
ANALYZE pupils;
SET ROLE regress_rc_owner;
SELECT count(*) AS stats_rows FROM pg_stats WHERE tablename = 'pupils';
RESET ROLE;
SELECT attname, most_common_vals IS NULL AND histogram_bounds IS NULL AS no_values
  FROM pg_stats WHERE tablename = 'pupils' AND attname IN ('name', 'school') ORDER BY 1;
\c contrib_regression
DROP DATABASE regress_redteam_closed;
DROP ROLE regress_rc_dpo, regress_rc_owner, regress_rc_app, regress_rc_rec;
