-- Red team, round 20: the set-based registration's fast path (1.5) runs
-- its inserts with session_replication_role = replica, which skips every
-- trigger enabled on origin only (the registry tables' foreign-key checks,
-- which it makes itself).  Can the caller make it skip a trigger it
-- should not, or run code of its own while the setting is on?  Routes
-- tried, as the enrolled application and the consent recorder that call
-- it: a staging "table" that is a view whose query calls the caller's
-- function (refused: plain tables only, exact column types, no row
-- security -- reading one runs no code of the caller's); a trigger of the
-- caller's on a registry table; a table of its own referencing the
-- registry (REFERENCES is not granted); its own change of the setting
-- (superuser only); the setting left on after the call, which returned
-- or failed (a function with a SET clause restores a transaction-local
-- setting at its exit, and an error unwinds it).  All closed; this file
-- pins them.
SET client_min_messages = warning;
DROP DATABASE IF EXISTS regress_rt_replica;
CREATE DATABASE regress_rt_replica;
\c regress_rt_replica
SET client_min_messages = warning;
CREATE EXTENSION childguard CASCADE;
DROP ROLE IF EXISTS regress_rtr_app;
DROP ROLE IF EXISTS regress_rtr_rec;
DROP ROLE IF EXISTS regress_rtr_dpo;
CREATE ROLE regress_rtr_app;
CREATE ROLE regress_rtr_rec;
CREATE ROLE regress_rtr_dpo;
RESET client_min_messages;
\set VERBOSITY terse
\set SHOW_CONTEXT never
SELECT childguard.appoint_officer('regress_rtr_dpo');
SELECT childguard.enroll_application('regress_rtr_app');
SELECT childguard.enroll_consent_recorder('regress_rtr_rec');
GRANT CREATE ON SCHEMA public TO regress_rtr_app, regress_rtr_rec;
-- the fast path is taken here (the functions' owner is a superuser)
SELECT childguard._registration_skips_ri() AS fast_path;

SET ROLE regress_rtr_app;
CREATE TABLE spy_log (srr text);
CREATE FUNCTION spy(v text) RETURNS text LANGUAGE plpgsql VOLATILE AS $$
BEGIN
	INSERT INTO spy_log VALUES (current_setting('session_replication_role'));
	RETURN v;
END
$$;
CREATE FUNCTION spy_trigger() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	INSERT INTO spy_log VALUES (current_setting('session_replication_role'));
	RETURN NULL;
END
$$;
CREATE TABLE raw_children (child_id text, birth_date date);
INSERT INTO raw_children VALUES ('r-1', '2015-01-01'), ('r-2', '2016-01-01');
-- 1. a view calling the caller's function per row
CREATE VIEW staged_children AS SELECT spy(child_id) AS child_id, birth_date FROM raw_children;
SELECT count(*) FROM childguard.register_children('staged_children');
\echo :LAST_ERROR_SQLSTATE
-- 2. a trigger of its own on a registry table
CREATE TRIGGER spy_child AFTER INSERT ON childguard.child FOR EACH ROW EXECUTE FUNCTION spy_trigger();
\echo :LAST_ERROR_SQLSTATE
-- 3. a table of its own referencing the registry
CREATE TABLE my_refs (child_id text REFERENCES childguard.child (child_id));
\echo :LAST_ERROR_SQLSTATE
-- 4. its own change of the setting
SET session_replication_role = replica;
\echo :LAST_ERROR_SQLSTATE
-- 5. the setting after a call that returns, and after one that fails
SELECT row_no, child_id, sqlstate FROM childguard.register_children('raw_children') ORDER BY row_no;
SHOW session_replication_role;
CREATE TABLE raw_dup (row_no bigint, child_id text, birth_date date);
INSERT INTO raw_dup VALUES (1, 'r-3', '2016-01-01'), (1, 'r-4', '2016-01-01');
BEGIN;
SELECT count(*) FROM childguard.register_children('raw_dup');
ROLLBACK;
SHOW session_replication_role;
CREATE TABLE raw_guardians (guardian_id text, child_id text);
INSERT INTO raw_guardians VALUES ('gr-1', 'r-1'), ('gr-2', 'r-2');
SELECT row_no, guardian_id, sqlstate FROM childguard.register_guardians('raw_guardians') ORDER BY row_no;
SHOW session_replication_role;
RESET ROLE;
SET ROLE regress_rtr_dpo;
SELECT childguard.define_purpose('rtr', '{name}', '1 year') > 0 AS defined;
SELECT childguard.publish_notice('rtr-n', '{rtr}', 'a', 'b', 'c', 'd', 'e', 'f', 'g') > 0 AS published;
RESET ROLE;
SET ROLE regress_rtr_rec;
CREATE TABLE raw_consents (child_id text, purpose text, notice text, given_by text);
INSERT INTO raw_consents VALUES ('r-1', 'rtr', 'rtr-n', 'gr-1'), ('r-2', 'rtr', 'rtr-n', 'gr-2');
SELECT row_no, child_id, sqlstate FROM childguard.record_consents('raw_consents') ORDER BY row_no;
SHOW session_replication_role;
RESET ROLE;
-- nothing of the caller's ran; the registry's foreign keys hold
SELECT count(*) AS caller_code_ran FROM spy_log;
SELECT (SELECT count(*) FROM childguard.child) AS children,
       (SELECT count(*) FROM childguard.child_guardian) AS links,
       (SELECT count(*) FROM childguard.consent) AS consents;

\c contrib_regression
SET client_min_messages = warning;
DROP DATABASE regress_rt_replica;
DROP ROLE regress_rtr_app;
DROP ROLE regress_rtr_rec;
DROP ROLE regress_rtr_dpo;
