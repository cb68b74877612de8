-- Denied attempts are recorded (SPEC, invariant 4): every refusal of a
-- read or a write of child data leaves its audit record -- outcome
-- "error" with the refusal's SQLSTATE, naming the child refused where the
-- refusal concerns one -- also when the refusal comes before any value
-- was decided (the statement's purpose, grant or transfer recipient), and
-- whichever route the read takes: SELECT, COPY TO, a cursor's FETCH, a
-- function.  A database of its own, so subject numbers do not depend on
-- other tests.  Each refusal runs once; the records are listed at the end.
SET client_min_messages = warning;
DROP DATABASE IF EXISTS regress_denied;
CREATE DATABASE regress_denied;
\c regress_denied
SET client_min_messages = warning;
CREATE EXTENSION childguard CASCADE;
DROP ROLE IF EXISTS regress_d_nogrant;
DROP ROLE IF EXISTS regress_d_app;
CREATE ROLE regress_d_nogrant;
CREATE ROLE regress_d_app;
RESET client_min_messages;
\set VERBOSITY terse
\set SHOW_CONTEXT never

SELECT childguard.register_child('d-1', '2015-05-01') AS d1,
       childguard.register_child('d-2', '2016-06-01') AS d2,
       childguard.register_child('d-3', '2016-07-01') AS d3;
\i test/fixtures/regress_purpose.psql
SELECT pg_temp.consent_all() AS consents;
-- two transfer purposes whose grants are not covered: one names a
-- recipient with no assessment (ZC531), one names none (ZC532)
SET ROLE regress_fixture_dpo;
SELECT childguard.define_purpose('export_unassessed', '{name}', '1 year', kind => 'transfer') > 0 AS ok;
SELECT childguard.define_purpose('export_unnamed', '{name}', '1 year', kind => 'transfer') > 0 AS ok;
RESET ROLE;
SELECT childguard.request_access(current_user::regrole, '{export_unassessed}', now() + interval '1 day') AS g_unassessed \gset
SELECT childguard.name_recipient(:g_unassessed, 'vendor-x');
SELECT childguard.request_access(current_user::regrole, '{export_unnamed}', now() + interval '1 day') AS g_unnamed \gset
-- a grant for one child per statement
SELECT childguard.request_access('regress_d_app', '{regress}', now() + interval '1 day',
                                 max_children => 1) AS g_one \gset
SET ROLE regress_fixture_dpo;
SELECT childguard.approve_access(:g_unassessed), childguard.approve_access(:g_unnamed),
       childguard.approve_access(:g_one);
RESET ROLE;

CREATE TABLE pupils (id text PRIMARY KEY, name childguard.child_data(name));
SELECT childguard.protect('pupils', 'id');
GRANT SELECT ON pupils TO PUBLIC;
SET childguard.purpose = 'regress';
INSERT INTO pupils VALUES ('d-1', '小明'), ('d-2', '小红');
RESET childguard.purpose;
CREATE FUNCTION pupil_names() RETURNS SETOF text LANGUAGE sql AS $$ SELECT name::text FROM pupils ORDER BY id $$;
-- a table holding child data that is not protected
CREATE TABLE loose (id text, name childguard.child_data(name));

SELECT childguard.audit_wait();
SELECT coalesce(max(id), 0) AS start_id FROM childguard.access_log \gset
-- the statements below fail; their records are listed at the end
BEGIN;
SET LOCAL childguard.purpose = 'export_unassessed';
-- 1. ZC531 through COPY table TO, COPY (query) TO, SELECT, a function
-- (psql's LAST_ERROR_SQLSTATE misses a COPY's error: see the listing)
COPY pupils TO STDOUT;
ROLLBACK;
BEGIN;
SET LOCAL childguard.purpose = 'export_unassessed';
COPY (SELECT name FROM pupils) TO STDOUT;
ROLLBACK;
BEGIN;
SET LOCAL childguard.purpose = 'export_unassessed';
SELECT name FROM pupils WHERE id = 'd-1';
\echo :LAST_ERROR_SQLSTATE
ROLLBACK;
BEGIN;
SET LOCAL childguard.purpose = 'export_unassessed';
SELECT pupil_names();
\echo :LAST_ERROR_SQLSTATE
ROLLBACK;
-- 2. ZC532 through COPY TO
BEGIN;
SET LOCAL childguard.purpose = 'export_unnamed';
COPY pupils TO STDOUT;
ROLLBACK;
-- 3. a cursor opened under a covered purpose, fetched under ZC531
BEGIN;
SET LOCAL childguard.purpose = 'regress';
DECLARE c CURSOR FOR SELECT name FROM pupils ORDER BY id;
SET LOCAL childguard.purpose = 'export_unassessed';
FETCH 1 FROM c;
\echo :LAST_ERROR_SQLSTATE
ROLLBACK;
-- 4. ZC111: COPY TO in plaintext under a purpose that is not a transfer
BEGIN;
SET LOCAL childguard.purpose = 'regress';
COPY pupils TO STDOUT;
COMMIT;
-- 5. ZC102: the statement's role holds no grant for the purpose
BEGIN;
SET LOCAL childguard.purpose = 'regress';
SET LOCAL ROLE regress_d_nogrant;
SELECT name FROM pupils;
\echo :LAST_ERROR_SQLSTATE
ROLLBACK;
-- 6. ZC110: more children than the statement may read (its grant: one)
BEGIN;
SET LOCAL ROLE regress_d_app;
SET LOCAL childguard.purpose = 'regress';
SELECT name FROM pupils ORDER BY id;
\echo :LAST_ERROR_SQLSTATE
ROLLBACK;
-- 7. ZC422: a session-level purpose under session_purpose = refuse
-- (set before the refusal was switched on)
SET childguard.purpose = 'regress';
SET childguard.session_purpose = refuse;
SELECT name FROM pupils WHERE id = 'd-1';
\echo :LAST_ERROR_SQLSTATE
RESET childguard.session_purpose;
RESET childguard.purpose;
-- 8. ZC100: comparing child data without a purpose (the superuser
-- bypasses row security, so the value's decision answers)
SELECT id FROM pupils WHERE name = '小明';
\echo :LAST_ERROR_SQLSTATE
-- 9. ZC423: rows of a protected table read without a purpose, refused
BEGIN;
SET LOCAL childguard.no_purpose = error;
SET LOCAL ROLE regress_d_app;
SELECT id FROM pupils;
\echo :LAST_ERROR_SQLSTATE
ROLLBACK;
-- writes: 10. ZC011 an unknown child, 11. ZC012 an erased child,
-- 12. ZC010 plaintext copied into a table that is not protected
BEGIN;
SET LOCAL childguard.purpose = 'regress';
INSERT INTO pupils VALUES ('d-9', '小刚');
\echo :LAST_ERROR_SQLSTATE
ROLLBACK;
SELECT childguard.erase_child('d-3', 'request') >= 0 AS erased;
BEGIN;
SET LOCAL childguard.purpose = 'regress';
INSERT INTO pupils VALUES ('d-3', '小刚');
\echo :LAST_ERROR_SQLSTATE
ROLLBACK;
BEGIN;
SET LOCAL childguard.purpose = 'regress';
COPY loose FROM STDIN;
d-1	小明
\.
ROLLBACK;
-- 13. ZC326: operations ceased (erases everyone: last), then a child
-- registered anyway
SELECT count(*) >= 0 AS ceased FROM childguard.cease_operations('CEASE-T');
SELECT childguard.register_child('d-4', '2016-08-01') > 0 AS registered;
SELECT pg_temp.consent_all() AS consents;
BEGIN;
SET LOCAL childguard.purpose = 'regress';
INSERT INTO pupils VALUES ('d-4', '小刚');
\echo :LAST_ERROR_SQLSTATE
ROLLBACK;
SELECT childguard.resume_operations();

-- every refusal above left one record: outcome error, its SQLSTATE, the
-- children refused where the refusal concerned one
SELECT childguard.audit_wait();
SELECT id - :start_id AS n, command, outcome, sqlstate, purpose,
       ARRAY(SELECT child_id FROM childguard.access_log_children c
              WHERE c.id = l.id AND c.access = 'denied' ORDER BY 1) AS denied,
       ARRAY(SELECT child_id FROM childguard.access_log_children c
              WHERE c.id = l.id AND c.access = 'read' ORDER BY 1) AS read
  FROM childguard.access_log l WHERE id > :start_id AND outcome IN ('error', 'denied')
 ORDER BY id;
-- and each SQLSTATE refused above has its record
SELECT s AS refusal, count(l.id) AS records
  FROM unnest('{ZC531,ZC532,ZC111,ZC102,ZC110,ZC422,ZC100,ZC423,ZC011,ZC012,ZC010,ZC326}'::text[]) s
  LEFT JOIN childguard.access_log l ON l.sqlstate = s AND l.id > :start_id AND l.outcome = 'error'
 GROUP BY s ORDER BY s;
SELECT valid FROM childguard.verify_access_log();

\c contrib_regression
SET client_min_messages = warning;
DROP DATABASE regress_denied;
DROP ROLE regress_d_nogrant;
DROP ROLE regress_d_app;
