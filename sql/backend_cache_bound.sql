-- A backend's own read caches at their bound (1.7, docs/performance.md
-- "1.7: a child's first read"): the verdicts and the subjects by number
-- are open-addressing tables (simplehash) emptied when they reach
-- childguard.backend_cache_entries; the data keys a set-associative table
-- of childguard.data_key_cache_size slots evicting per bucket.  One backend
-- reads 3,000 children with both bounds at their minimum (1,024): every
-- value still decrypts to its own plaintext, in several passes and in two
-- orders (the tables emptied and refilled, keys evicted and unwrapped
-- again), the caches never hold more than their bound, and a committed
-- withdrawal or erasure of one child in the middle of the range stops the
-- very next read of that child -- and only of that child -- whether its
-- verdict was cached in this backend or not.
SET client_min_messages = warning;
DROP DATABASE IF EXISTS regress_cache_bound;
CREATE DATABASE regress_cache_bound;
\c regress_cache_bound
SET client_min_messages = warning;
CREATE EXTENSION childguard CASCADE;
\i test/fixtures/regress_purpose.psql
RESET client_min_messages;
\set VERBOSITY terse
CREATE TABLE stage_c AS SELECT 'cb' || i AS child_id, date '2015-01-01' AS birth_date
  FROM generate_series(1, 3000) i;
CREATE TABLE stage_g AS SELECT 'g-cb' || i AS guardian_id, 'cb' || i AS child_id
  FROM generate_series(1, 3000) i;
CREATE TABLE stage_k AS SELECT 'cb' || i AS child_id, 'regress' AS purpose, 'regress-notice'::text AS notice,
       'g-cb' || i AS given_by, 'g-cb' || i AS guardian_informed
  FROM generate_series(1, 3000) i;
GRANT SELECT ON stage_g, stage_k TO regress_fixture_recorder;
SELECT count(*) AS rejected FROM childguard.register_children('stage_c') r WHERE r.sqlstate IS NOT NULL;
SET ROLE regress_fixture_recorder;
SELECT count(*) AS rejected FROM childguard.register_guardians('stage_g') r WHERE r.sqlstate IS NOT NULL;
SELECT count(*) AS rejected FROM childguard.record_consents('stage_k') r WHERE r.sqlstate IS NOT NULL;
RESET ROLE;
CREATE TABLE cb (id int PRIMARY KEY, child text NOT NULL, name childguard.child_data(name),
                 contact childguard.child_data(contact));
SELECT childguard.protect('cb', 'child');
SET childguard.purpose = 'regress';
INSERT INTO cb SELECT i, 'cb' || i, '学生' || i, '139' || i FROM generate_series(1, 3000) i;
-- an application role holding a grant: its reads go through the row
-- policy, which looks each child up by id (the subjects-by-id table)
CREATE ROLE regress_cb_app;
SELECT childguard.request_access('regress_cb_app', '{regress}', now() + interval '1 day',
                                 max_children => 100000) AS g \gset
SET ROLE regress_fixture_dpo;
SELECT childguard.approve_access(:g);
RESET ROLE;
GRANT SELECT ON cb TO regress_cb_app;

-- a new backend, both bounds at their minimum
\c regress_cache_bound
\set VERBOSITY terse
SET childguard.backend_cache_entries = 1024;
SET childguard.data_key_cache_size = 1024;
SET childguard.purpose = 'regress';
SELECT cache, capacity FROM childguard.backend_cache_stats() WHERE cache IN ('data_key', 'verdict') ORDER BY cache;
-- three passes, ascending, descending, and by a stride: each value its own
SELECT count(*) AS rows, count(*) FILTER (WHERE name::text = '学生' || id AND contact::text = '139' || id) AS right
  FROM cb;
SELECT count(*) AS rows, count(*) FILTER (WHERE name::text = '学生' || id AND contact::text = '139' || id) AS right
  FROM (SELECT * FROM cb ORDER BY id DESC) d;
SELECT count(*) AS rows, count(*) FILTER (WHERE name::text = '学生' || id AND contact::text = '139' || id) AS right
  FROM (SELECT * FROM cb ORDER BY (id * 7919) % 3001) s;
SELECT cache, entries <= capacity AS bounded, entries > 0 AS holds, misses > 2 * capacity AS refilled
  FROM childguard.backend_cache_stats() WHERE cache IN ('data_key', 'verdict') ORDER BY cache;

-- cb1500's consent withdrawn (committed): the very next read stops it, and
-- only it, though this backend has just cached its verdict and key
SELECT name::text FROM cb WHERE id = 1500;
SET ROLE regress_fixture_recorder;
SELECT childguard.withdraw_consent('cb1500', 'regress', 'g-cb1500') > 0 AS withdrawn;
RESET ROLE;
SELECT name::text FROM cb WHERE id = 1500;
SET childguard.denied_read = 'null';
SELECT id, name FROM cb WHERE id BETWEEN 1499 AND 1501 ORDER BY id;
RESET childguard.denied_read;
SELECT count(*) AS rows, count(*) FILTER (WHERE name::text = '学生' || id) AS right FROM cb WHERE id <> 1500;
-- another backend, whose caches have never seen cb1500; then the
-- application role, through the row policy (the denied row filtered out)
\c regress_cache_bound
SET childguard.backend_cache_entries = 1024;
SET childguard.data_key_cache_size = 1024;
SET childguard.purpose = 'regress';
SELECT count(*) AS rows, count(*) FILTER (WHERE name::text = '学生' || id) AS right FROM cb WHERE id <> 1500;
SELECT name::text FROM cb WHERE id = 1500;
SET ROLE regress_cb_app;
SELECT count(*) AS rows, count(*) FILTER (WHERE name::text = '学生' || id AND contact::text = '139' || id) AS right,
       bool_or(id = 1500) AS has_1500
  FROM (SELECT * FROM cb ORDER BY id DESC) d;
SELECT count(*) AS rows, count(*) FILTER (WHERE name::text = '学生' || id) AS right FROM cb;
RESET ROLE;
-- the same backend, its tables full of verdicts read before: cb2999's
-- verdict and key are cached (the last pass ended near it); then it is erased
SELECT name::text FROM cb WHERE id = 2999;
SELECT childguard.erase_child('cb2999', 'request') >= 0 AS erased;
SELECT id, name::text FROM cb WHERE id IN (2998, 2999, 3000) ORDER BY id;
SELECT count(*) AS rows, count(*) FILTER (WHERE name::text = '学生' || id) AS right FROM cb WHERE id <> 1500;
SET ROLE regress_cb_app;
SELECT count(*) AS rows, bool_or(id = 2999) AS has_2999 FROM cb;
RESET ROLE;
-- the bound is a superuser's setting
CREATE ROLE regress_cb_user;
SET ROLE regress_cb_user;
SET childguard.backend_cache_entries = 2048;
RESET ROLE;
DROP ROLE regress_cb_user;

\c contrib_regression
SET client_min_messages = warning;
DROP DATABASE regress_cache_bound;
DROP ROLE regress_cb_app;
