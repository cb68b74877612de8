-- Rows that fail while they are sent (round 20, loose end 2): a FETCH or
-- an EXECUTE stores its rows in the utility and sends them after it
-- returned; the child_data output function decides each value there, and
-- a refusal raised at that point came after every hook.  The statement's
-- record said "denied" with no SQLSTATE.  Now it is a failed statement's
-- record: outcome "error" with the refusal's SQLSTATE (and the child
-- refused).  Routes: FETCH of a cursor under a transfer purpose whose
-- recipient is not assessed (ZC531), FETCH past a grant's per-statement
-- limit (ZC110), FETCH from a cursor WITH HOLD under the refused purpose
-- after the commit that kept it (ZC531), EXECUTE of a prepared statement under the refused purpose
-- (ZC531).  Control: a successful FETCH keeps "allowed", an error
-- of the next statement after a completed FETCH is not charged to it.
-- On the old code every route's record is "denied" with no SQLSTATE.
SET client_min_messages = warning;
DROP DATABASE IF EXISTS regress_fetch_send;
CREATE DATABASE regress_fetch_send;
\c regress_fetch_send
SET client_min_messages = warning;
CREATE EXTENSION childguard CASCADE;
DROP ROLE IF EXISTS regress_fs_app;
CREATE ROLE regress_fs_app;
RESET client_min_messages;
\set VERBOSITY terse
\set SHOW_CONTEXT never

SELECT childguard.register_child('f-1', '2015-05-01') AS f1,
       childguard.register_child('f-2', '2016-06-01') AS f2;
\i test/fixtures/regress_purpose.psql
SELECT pg_temp.consent_all() AS consents;
SET ROLE regress_fixture_dpo;
SELECT childguard.define_purpose('export_unassessed', '{name}', '1 year', kind => 'transfer') > 0 AS ok;
RESET ROLE;
SELECT childguard.request_access(current_user::regrole, '{export_unassessed}', now() + interval '1 day') AS g_unassessed \gset
SELECT childguard.name_recipient(:g_unassessed, 'vendor-x');
SELECT childguard.request_access('regress_fs_app', '{regress}', now() + interval '1 day',
                                 max_children => 1) AS g_one \gset
SET ROLE regress_fixture_dpo;
SELECT childguard.approve_access(:g_unassessed), childguard.approve_access(:g_one);
RESET ROLE;

CREATE TABLE pupils (id text PRIMARY KEY, name childguard.child_data(name));
SELECT childguard.protect('pupils', 'id');
GRANT SELECT ON pupils TO PUBLIC;
SET childguard.purpose = 'regress';
INSERT INTO pupils VALUES ('f-1', 'FSMARK-1'), ('f-2', 'FSMARK-2');
RESET childguard.purpose;

SELECT childguard.audit_wait();
SELECT coalesce(max(id), 0) AS start_id FROM childguard.access_log \gset
-- 1. FETCH under a transfer purpose with no assessed recipient
BEGIN;
SET LOCAL childguard.purpose = 'regress';
DECLARE c CURSOR FOR SELECT name FROM pupils ORDER BY id;
SET LOCAL childguard.purpose = 'export_unassessed';
FETCH 1 FROM c;
\echo :LAST_ERROR_SQLSTATE
ROLLBACK;
-- 2. FETCH of two children under a grant for one per statement
BEGIN;
SET LOCAL ROLE regress_fs_app;
SET LOCAL childguard.purpose = 'regress';
DECLARE c CURSOR FOR SELECT name FROM pupils ORDER BY id;
FETCH 2 FROM c;
\echo :LAST_ERROR_SQLSTATE
ROLLBACK;
-- 3. a cursor WITH HOLD of the column itself, kept under one purpose and
-- fetched under the refused one
BEGIN;
SET LOCAL childguard.purpose = 'regress';
DECLARE h CURSOR WITH HOLD FOR SELECT name FROM pupils ORDER BY id;
COMMIT;
SET childguard.purpose = 'export_unassessed';
FETCH 1 FROM h;
\echo :LAST_ERROR_SQLSTATE
RESET childguard.purpose;
CLOSE h;
-- 4. EXECUTE of a prepared statement under the refused purpose
PREPARE q AS SELECT name FROM pupils WHERE id = 'f-1';
BEGIN;
SET LOCAL childguard.purpose = 'export_unassessed';
EXECUTE q;
\echo :LAST_ERROR_SQLSTATE
ROLLBACK;
DEALLOCATE q;
-- 5. control: a FETCH that succeeds keeps its outcome, and the error of
-- the statement after it (in the same transaction) is not charged to it
BEGIN;
SET LOCAL childguard.purpose = 'regress';
DECLARE c CURSOR FOR SELECT name FROM pupils ORDER BY id;
FETCH 1 FROM c;
SELECT 1/0;
ROLLBACK;

SELECT childguard.audit_wait();
SELECT id - :start_id AS n, command, outcome, sqlstate, purpose,
       ARRAY(SELECT child_id FROM childguard.access_log_children c
              WHERE c.id = l.id AND c.access = 'denied' ORDER BY 1) AS denied,
       ARRAY(SELECT child_id FROM childguard.access_log_children c
              WHERE c.id = l.id AND c.access = 'read' ORDER BY 1) AS read
  FROM childguard.access_log l WHERE id > :start_id
 ORDER BY id;
-- the rule: no FETCH or EXECUTE record is "denied" without a SQLSTATE
SELECT count(*) AS denied_without_sqlstate
  FROM childguard.access_log WHERE id > :start_id AND outcome = 'denied' AND sqlstate IS NULL;
SELECT valid FROM childguard.verify_access_log();

\c contrib_regression
SET client_min_messages = warning;
DROP DATABASE regress_fetch_send;
DROP ROLE regress_fs_app;
