-- No lock on the access log may stall the audit writer (issue 9, item 4):
-- LOCK TABLE (every mode, through a view, in a function), row locks
-- (FOR UPDATE / NO KEY UPDATE / SHARE / KEY SHARE, in CTEs, subqueries,
-- functions, through views), statements that keep a lock blocking inserts
-- until their transaction ends (CREATE INDEX, REINDEX, CLUSTER, VACUUM
-- FULL, ALTER/DROP of the log's indexes), and a table inheriting from the
-- log -- refused (ZC204, ZC203) for every role, superusers included.
-- Reading the log, VACUUM and ANALYZE stay allowed; the writer still
-- writes after all of it.
SET client_min_messages = warning;
DROP DATABASE IF EXISTS regress_audit_locks;
CREATE DATABASE regress_audit_locks;
\c regress_audit_locks
SET client_min_messages = warning;
CREATE EXTENSION childguard CASCADE;
RESET client_min_messages;
\set VERBOSITY terse
\set SHOW_CONTEXT never

SELECT childguard.register_child('l-1', '2015-05-01') IS NOT NULL AS registered;
\i test/fixtures/regress_purpose.psql
SELECT pg_temp.consent_all() AS consents;
CREATE TABLE pupils (id text PRIMARY KEY, name childguard.child_data(name));
SELECT childguard.protect('pupils', 'id');
SET childguard.purpose = 'regress';
INSERT INTO pupils VALUES ('l-1', '小明');
SELECT childguard.audit_wait();
SELECT count(*) AS records_before FROM childguard.access_log \gset

-- LOCK TABLE, every mode, both tables (the superuser here); each in a
-- transaction block, where LOCK would otherwise hold the lock until COMMIT
BEGIN; LOCK TABLE childguard.access_log; ROLLBACK;
\echo :LAST_ERROR_SQLSTATE
BEGIN; LOCK TABLE childguard.access_log IN ACCESS EXCLUSIVE MODE; ROLLBACK;
BEGIN; LOCK TABLE childguard.access_log IN EXCLUSIVE MODE; ROLLBACK;
BEGIN; LOCK TABLE childguard.access_log IN SHARE ROW EXCLUSIVE MODE; ROLLBACK;
BEGIN; LOCK TABLE childguard.access_log IN SHARE MODE; ROLLBACK;
BEGIN; LOCK TABLE childguard.access_log IN SHARE UPDATE EXCLUSIVE MODE; ROLLBACK;
BEGIN; LOCK TABLE childguard.access_log IN ROW EXCLUSIVE MODE; ROLLBACK;
BEGIN; LOCK TABLE childguard.access_log IN ROW SHARE MODE; ROLLBACK;
BEGIN; LOCK TABLE childguard.access_log IN ACCESS SHARE MODE; ROLLBACK;
BEGIN; LOCK TABLE ONLY childguard.access_log_head IN ACCESS EXCLUSIVE MODE; ROLLBACK;
BEGIN; LOCK childguard.access_log_head NOWAIT; ROLLBACK;
-- one of several tables, search_path instead of the schema
BEGIN; LOCK TABLE pupils, childguard.access_log_head IN SHARE MODE; ROLLBACK;
SET search_path = childguard, public;
BEGIN; LOCK access_log; ROLLBACK;
RESET search_path;
-- through a view (LOCK locks the tables of a view), nested views, a subquery
CREATE VIEW log_view AS SELECT id FROM childguard.access_log;
CREATE VIEW log_view2 AS SELECT * FROM log_view;
CREATE VIEW head_view AS SELECT 1 AS x FROM pupils WHERE EXISTS (SELECT 1 FROM childguard.access_log_head);
BEGIN; LOCK TABLE log_view; ROLLBACK;
BEGIN; LOCK TABLE log_view2 IN SHARE MODE; ROLLBACK;
BEGIN; LOCK TABLE head_view; ROLLBACK;
-- in a function, in a DO block, in a savepoint
CREATE FUNCTION lock_log() RETURNS void LANGUAGE plpgsql AS
$$BEGIN LOCK TABLE childguard.access_log IN SHARE MODE; END$$;
SELECT lock_log();
DO $$BEGIN EXECUTE 'LOCK TABLE childguard.access_log_head'; END$$;
BEGIN;
SAVEPOINT s;
LOCK TABLE childguard.access_log IN SHARE MODE;
ROLLBACK;

-- row locks on the chain head and the log, every strength, every route
SELECT last_id >= 0 FROM childguard.access_log_head FOR UPDATE;
\echo :LAST_ERROR_SQLSTATE
SELECT last_id >= 0 FROM childguard.access_log_head FOR NO KEY UPDATE;
SELECT last_id >= 0 FROM childguard.access_log_head FOR SHARE;
SELECT last_id >= 0 FROM childguard.access_log_head FOR KEY SHARE;
SELECT last_id >= 0 FROM childguard.access_log_head FOR UPDATE NOWAIT;
SELECT last_id >= 0 FROM childguard.access_log_head FOR UPDATE SKIP LOCKED;
SELECT count(*) >= 0 FROM (SELECT id FROM childguard.access_log FOR SHARE) s;
-- (1.8: access_log is a view over a UNION ALL, into which PostgreSQL does
-- not push row locks; a locking clause that reads it is refused all the
-- same, and so are row locks on its tables)
SELECT count(*) >= 0 FROM (SELECT first_id FROM childguard.access_log_batch FOR SHARE) s;
\echo :LAST_ERROR_SQLSTATE
SELECT count(*) >= 0 FROM (SELECT first_id FROM childguard.access_log_batch FOR UPDATE) s;
SELECT count(*) >= 0 FROM (SELECT id FROM childguard.access_log_rows FOR KEY SHARE) s;
\echo :LAST_ERROR_SQLSTATE
LOCK TABLE childguard.access_log_batch IN ACCESS SHARE MODE;
\echo :LAST_ERROR_SQLSTATE
SELECT count(*) >= 0 FROM (SELECT 1 FROM pupils p, childguard.access_log_head h FOR UPDATE OF h) s;
WITH h AS (SELECT * FROM childguard.access_log_head FOR UPDATE) SELECT count(*) FROM h;
SELECT count(*) >= 0 FROM (SELECT id FROM log_view FOR UPDATE) s;
CREATE FUNCTION lock_head() RETURNS bigint LANGUAGE sql AS
$$SELECT last_id FROM childguard.access_log_head FOR UPDATE$$;
SELECT lock_head() >= 0;
CREATE FUNCTION lock_head_plpgsql() RETURNS bigint LANGUAGE plpgsql AS
$$DECLARE x bigint; BEGIN SELECT last_id INTO x FROM childguard.access_log_head FOR KEY SHARE; RETURN x; END$$;
SELECT lock_head_plpgsql() >= 0;
PREPARE lock_it AS SELECT last_id FROM childguard.access_log_head FOR UPDATE;
EXECUTE lock_it;
DEALLOCATE lock_it;
BEGIN;
DECLARE c CURSOR FOR SELECT last_id FROM childguard.access_log_head FOR UPDATE;
ROLLBACK;
-- FOR UPDATE of another table in the same query is not refused
SELECT count(*) AS other_locked FROM (SELECT 1 FROM pupils p, childguard.access_log_head h FOR UPDATE OF p) s;

-- statements that keep a lock blocking inserts until their transaction ends
CREATE INDEX ON childguard.access_log (session_role);
\echo :LAST_ERROR_SQLSTATE
CREATE INDEX ON childguard.access_log_head (last_id);
REINDEX TABLE childguard.access_log;
REINDEX INDEX childguard.access_log_pkey;
CLUSTER childguard.access_log USING access_log_pkey;
VACUUM FULL childguard.access_log;
VACUUM (FULL) childguard.access_log_head;
ALTER INDEX childguard.access_log_pkey RENAME TO x;
ALTER INDEX childguard.access_log_statement_at_idx SET (pages_per_range = 16);
DROP INDEX childguard.access_log_statement_at_idx;
-- a table whose rows would show in the log
CREATE TABLE fake_log () INHERITS (childguard.access_log);
\echo :LAST_ERROR_SQLSTATE
CREATE TABLE fake_log (LIKE childguard.access_log);
ALTER TABLE fake_log INHERIT childguard.access_log;
DROP TABLE fake_log;

-- the same as the extension's owner and as an officer
CREATE ROLE regress_lock_officer;
SELECT childguard.appoint_officer('regress_lock_officer');
SET ROLE regress_lock_officer;
SELECT count(*) >= 0 AS officer_reads FROM childguard.access_log;
BEGIN; LOCK TABLE childguard.access_log IN ACCESS SHARE MODE; ROLLBACK;
\echo :LAST_ERROR_SQLSTATE
SELECT count(*) >= 0 FROM (SELECT id FROM childguard.access_log FOR KEY SHARE) s;
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;

-- still allowed: reading, VACUUM, ANALYZE, LOCK of other tables, row locks elsewhere
SELECT count(*) >= 1 AS reads FROM childguard.access_log;
VACUUM childguard.access_log_batch, childguard.access_log_rows;
ANALYZE childguard.access_log_batch, childguard.access_log_rows;
BEGIN;
LOCK TABLE pupils IN SHARE MODE;
ROLLBACK;
SELECT count(*) AS pupils_locked FROM (SELECT id FROM pupils FOR UPDATE) s;

-- the writer is not held up: a read and its record
SELECT name FROM pupils;
SELECT childguard.audit_wait();
SELECT count(*) - :records_before AS new_records FROM childguard.access_log;
SELECT valid FROM childguard.verify_access_log();

\c contrib_regression
DROP DATABASE regress_audit_locks;
DROP ROLE regress_lock_officer;
