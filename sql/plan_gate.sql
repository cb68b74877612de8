-- The per-statement gate of 1.9 (docs/performance.md "1.9: per-statement
-- cost") opens no route to child data and loses no check:
--  1. the executor-start gate (plan_gate.c) lets a plan skip the write
--     guard, planted code, the access log's guard and the audit capture
--     only when it is a SELECT without result relations or row marks whose
--     range table holds no table with child data: plans that mix a plain
--     table with a protected one, by a join, a sublink, a semi-join, a view,
--     a data-modifying WITH or a locking clause, are still decided or
--     refused, their audit records name what they read (a gate that
--     ignored the range table fails here, and in planted_code, audit and
--     audit_names), and a cached plan is judged again at every execution;
--  2. the transaction callbacks of the shared cache, the data-key cache
--     and the protection guard are registered by each process's first use,
--     not at start: a backend whose very first transaction withdraws a
--     consent still moves the shared cache's floor (a third backend is
--     refused, not served the verdict from before: on a build that did not
--     register the callback it read the withdrawn child), and one whose
--     first transaction makes a data key and aborts still flushes it.
SET client_min_messages = warning;
DROP DATABASE IF EXISTS regress_plan_gate;
CREATE DATABASE regress_plan_gate;
\c regress_plan_gate
SET client_min_messages = warning;
CREATE EXTENSION childguard CASCADE;
RESET client_min_messages;
\set VERBOSITY terse
SELECT count(childguard.register_child('pg-' || i, '2015-05-01')) AS registered FROM generate_series(1, 4) i;
\i test/fixtures/regress_purpose.psql
SELECT pg_temp.consent_all() > 0 AS consents;
CREATE TABLE pupils (id text PRIMARY KEY, name childguard.child_data(name));
SELECT childguard.protect('pupils', 'id');
CREATE TABLE plain_t (id text PRIMARY KEY, note text);
INSERT INTO plain_t SELECT 'pg-' || i, 'note ' || i FROM generate_series(1, 4) i;
CREATE VIEW pupil_names AS SELECT id, name FROM pupils;
CREATE TABLE loose (id text, name childguard.child_data(name));       -- not protected
SET childguard.purpose = 'regress';
INSERT INTO pupils SELECT 'pg-' || i, 'PGMARK' || i FROM generate_series(1, 4) i;

-- 1. plans with a plain table and a protected one: decided under
-- 'regress', and without a purpose envelopes only, each right after a
-- plain statement that took the gate
SELECT childguard.audit_wait();
SELECT coalesce(max(id), 0) AS start_id FROM childguard.access_log \gset
SELECT note FROM plain_t WHERE id = 'pg-1';                             -- plain
SELECT p.note, v.name FROM plain_t p JOIN pupil_names v USING (id) WHERE id = 'pg-1';     -- a view, joined
SELECT note FROM plain_t WHERE id = 'pg-1';
SELECT p.note, (SELECT name FROM pupils q WHERE q.id = p.id) AS name FROM plain_t p WHERE id = 'pg-2';  -- a sublink
SELECT note FROM plain_t WHERE id IN (SELECT id FROM pupils WHERE name::text LIKE 'PGMARK%') ORDER BY 1;  -- a semi-join
PREPARE mixed(text) AS SELECT p.note, q.name FROM plain_t p, pupils q WHERE p.id = q.id AND p.id = $1;
EXECUTE mixed('pg-1');                                                  -- a prepared plan
-- the audit records: the four mixed statements, each naming the protected
-- table and column it read (the capture was not skipped), and none for
-- the plain statements between them
SELECT childguard.audit_wait();
SELECT id - :start_id AS n, command, relations, columns
  FROM childguard.access_log WHERE id > :start_id ORDER BY id;
RESET childguard.purpose;
SELECT note FROM plain_t WHERE id = 'pg-1';                             -- plain: no purpose needed
SELECT p.note, v.name::text LIKE 'cg1:%' AS envelope FROM plain_t p JOIN pupil_names v USING (id) WHERE id = 'pg-1';
SELECT p.note, (SELECT name FROM pupils q WHERE q.id = p.id)::text LIKE 'cg1:%' AS envelope FROM plain_t p WHERE id = 'pg-2';
PREPARE mixed_shown(text) AS SELECT p.note, q.name::text LIKE 'cg1:%' AS envelope FROM plain_t p, pupils q
  WHERE p.id = q.id AND p.id = $1;
EXECUTE mixed_shown('pg-1');
SET childguard.purpose = 'regress';

-- writes hidden in a SELECT: a data-modifying WITH into an unprotected
-- table holding child data (the write guard), from a statement that reads
-- only a plain table otherwise
WITH w AS (INSERT INTO loose VALUES ('pg-1', NULL) RETURNING 1)
  SELECT note FROM plain_t, w WHERE id = 'pg-1';                        -- refused: not protected
SELECT count(*) FROM loose;

-- the access log's view in a plain query's locking clause, and written
-- through from a plain query's WITH (the log's guard)
SELECT note FROM plain_t, (SELECT id FROM childguard.access_log LIMIT 1) l
  WHERE plain_t.id = 'pg-1' FOR UPDATE OF plain_t;                      -- refused
WITH d AS (DELETE FROM childguard.access_log RETURNING 1)
  SELECT note FROM plain_t WHERE id = 'pg-1';                           -- refused

-- cached plans of a plain table that later holds child data: judged
-- again at their next execution (the gate asks the protection cache each
-- time): a plain query's write into it is refused while it is not
-- protected, and accepted once it is
CREATE TABLE later (id text PRIMARY KEY, note text);
INSERT INTO later VALUES ('pg-1', 'before');
PREPARE later_q AS SELECT id, note FROM later WHERE id = 'pg-1';
PREPARE later_w AS WITH w AS (INSERT INTO later (id, note) VALUES ('pg-2', 'x') RETURNING 1)
  SELECT count(*) FROM w;
EXECUTE later_q;
EXECUTE later_q;
ALTER TABLE later ADD COLUMN secret childguard.child_data(name);
EXECUTE later_w;                                                        -- refused: not protected
SELECT childguard.protect('later', 'id');
EXECUTE later_w;                                                        -- protected now: written
EXECUTE later_q;

-- 2. a backend reads pg-3: the cache shared by the backends holds its
-- registry row and consents
\c regress_plan_gate
SET childguard.purpose = 'regress';
SELECT name FROM pupils WHERE id = 'pg-3';
-- a fresh backend whose first transaction withdraws pg-3's consent: its
-- commit moves the shared cache's floor (the callback registered now)
\c regress_plan_gate
SET ROLE regress_fixture_recorder;
SELECT childguard.withdraw_consent('pg-3', 'regress', 'g-pg-3') > 0 AS withdrawn;
RESET ROLE;
-- a third backend reads pg-3: refused (on a build that did not register
-- the callback it read PGMARK3 from the shared cache); pg-4 still read
\c regress_plan_gate
SET childguard.purpose = 'regress';
SELECT name FROM pupils WHERE id = 'pg-3';
SELECT name FROM pupils WHERE id = 'pg-4';
-- the same within one fresh backend whose first transaction is the
-- withdrawal, for a child another backend read: pg-4
\c regress_plan_gate
SET ROLE regress_fixture_recorder;
BEGIN;
SELECT childguard.withdraw_consent('pg-4', 'regress', 'g-pg-4') > 0 AS withdrawn;
COMMIT;
RESET ROLE;
\c regress_plan_gate
SET childguard.purpose = 'regress';
SELECT name FROM pupils WHERE id = 'pg-4';
SELECT name FROM pupils WHERE id = 'pg-1';

-- a fresh backend that reads (its data-key cache made), then makes data
-- keys in a transaction that aborts: what it cached is flushed (the
-- callback registered by the first key made)
\c regress_plan_gate
SET childguard.purpose = 'regress';
SELECT name FROM pupils WHERE id = 'pg-1';
RESET childguard.purpose;
SELECT flushes AS f0 FROM childguard.backend_cache_stats() WHERE cache = 'data_key' \gset
BEGIN;
SELECT count(childguard.register_child('pg-gone' || i, '2012-01-01')) FROM generate_series(1, 2) i;
ROLLBACK;
SELECT flushes - :f0 AS new_flushes FROM childguard.backend_cache_stats() WHERE cache = 'data_key';
-- and in a subtransaction that rolls back
\c regress_plan_gate
SET childguard.purpose = 'regress';
SELECT name FROM pupils WHERE id = 'pg-1';
RESET childguard.purpose;
SELECT flushes AS f0 FROM childguard.backend_cache_stats() WHERE cache = 'data_key' \gset
BEGIN;
SAVEPOINT s;
SELECT childguard.register_child('pg-gone3', '2012-01-01') > 0 AS registered;
ROLLBACK TO s;
COMMIT;
SELECT flushes - :f0 AS new_flushes FROM childguard.backend_cache_stats() WHERE cache = 'data_key';

-- a fresh backend whose first statement is a plain SELECT calling a
-- function that drops the seal trigger: refused (the protection guard's
-- lists, and its callbacks, begin with it); then inside a transaction
-- block, under a savepoint
CREATE FUNCTION strip_seal() RETURNS void LANGUAGE plpgsql AS $$
DECLARE t text;
BEGIN
	SELECT tgname INTO t FROM pg_trigger WHERE tgrelid = 'pupils'::regclass AND NOT tgisinternal LIMIT 1;
	EXECUTE format('DROP TRIGGER %I ON pupils', t);
END $$;
\c regress_plan_gate
SELECT strip_seal();                                                    -- refused (ZC400)
BEGIN;
SAVEPOINT s;
SELECT strip_seal();                                                    -- refused (ZC400)
ROLLBACK TO s;
SELECT strip_seal();                                                    -- refused (ZC400)
ROLLBACK;
SELECT childguard.protection_problem('pupils') IS NULL AS still_protected;
SET childguard.purpose = 'regress';
SELECT name FROM pupils WHERE id = 'pg-1';

\c contrib_regression
SET client_min_messages = warning;
DROP DATABASE regress_plan_gate;
