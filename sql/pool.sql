-- Applications behind a pool (docs/security.md, "Pools"), and the grant
-- windows' settings: childguard.session_purpose, childguard.end_user,
-- childguard.no_purpose, set_grant_limits(); each bad input refused with
-- its SQLSTATE and nothing changed.  A database of its own.
SET client_min_messages = warning;
DROP DATABASE IF EXISTS regress_pool;
CREATE DATABASE regress_pool;
\c regress_pool
SET client_min_messages = warning;
CREATE EXTENSION childguard CASCADE;
CREATE ROLE regress_p_dpo;
CREATE ROLE regress_p_dpo2;
CREATE ROLE regress_p_app;
CREATE ROLE regress_p_app_member IN ROLE regress_p_app;
RESET client_min_messages;
\set VERBOSITY default
\set SHOW_CONTEXT never
SELECT childguard.appoint_officer('regress_p_dpo');
SELECT childguard.appoint_officer('regress_p_dpo2');
SELECT childguard.enroll_application('regress_p_app');
SET ROLE regress_p_dpo;
SELECT childguard.define_purpose('lessons', '{name}', '1 year') > 0 AS ok;
SELECT childguard.publish_notice('n', '{lessons}', 'a', 'b', 'c', 'd', 'e', 'f', 'g') AS v;
RESET ROLE;
SELECT childguard.register_child('p-' || i, '2015-01-01') > 0 AS ok FROM generate_series(1, 3) i;
SELECT childguard.register_guardian('gp-' || i, 'p-' || i) FROM generate_series(1, 3) i;
SELECT count(childguard.record_consent('p-' || i, 'lessons', 'n', 'gp-' || i)) FROM generate_series(1, 3) i;
CREATE TABLE pupils (id text PRIMARY KEY, name childguard.child_data);
SELECT childguard.protect('pupils', 'id', '{"name": "name"}');
GRANT SELECT, INSERT ON pupils TO regress_p_app;
SET ROLE regress_p_app;
SELECT childguard.request_access('regress_p_app', '{lessons}', now() + interval '1 day') AS app_grant \gset
SET ROLE regress_p_dpo;
SELECT childguard.approve_access(:app_grant);
SET ROLE regress_p_app;
SET childguard.purpose = 'lessons';
INSERT INTO pupils SELECT 'p-' || i, 'pupil ' || i FROM generate_series(1, 3) i;
RESET childguard.purpose;
RESET ROLE;

-------------------------------------------------------------------------------
-- set_grant_limits(): officers only, never the grantee; bad limits refused
-------------------------------------------------------------------------------
SELECT max_children_per_hour, max_children_per_day FROM childguard.access_grants WHERE grant_id = :app_grant;
SET ROLE regress_p_app;
SELECT childguard.set_grant_limits(:app_grant, 1000, 1000);          -- not an officer
\echo :LAST_ERROR_SQLSTATE
SET ROLE regress_p_dpo;
SELECT childguard.set_grant_limits(:app_grant, 0, 10);               -- not positive
\echo :LAST_ERROR_SQLSTATE
SELECT childguard.set_grant_limits(:app_grant, 10, -1);
\echo :LAST_ERROR_SQLSTATE
SELECT childguard.set_grant_limits(:app_grant, 10, 5);               -- a day below an hour
\echo :LAST_ERROR_SQLSTATE
SELECT childguard.set_grant_limits(999999, 10, 10);                  -- no such grant
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;
GRANT regress_p_app TO regress_p_dpo2;
SET ROLE regress_p_dpo2;
SELECT childguard.set_grant_limits(:app_grant, 10, 10);              -- a member of the grantee
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;
REVOKE regress_p_app FROM regress_p_dpo2;
SELECT max_children_per_hour, max_children_per_day FROM childguard.access_grants WHERE grant_id = :app_grant;
SET ROLE regress_p_dpo;
SELECT childguard.set_grant_limits(:app_grant, 2, NULL);
SELECT max_children_per_hour, max_children_per_day FROM childguard.access_grants WHERE grant_id = :app_grant;
-- a direct UPDATE is refused like any change to the registry
UPDATE childguard.access_grant SET max_children_per_hour = 100000 WHERE grant_id = :app_grant;
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;
-- the limit holds: two children this hour, the third is refused, the first two stay readable
SET ROLE regress_p_app;
SET childguard.purpose = 'lessons';
SELECT name FROM pupils WHERE id = 'p-1';
SELECT name FROM pupils WHERE id = 'p-2';
SELECT name FROM pupils WHERE id = 'p-3';
\echo :LAST_ERROR_SQLSTATE
SELECT count(name::text) FROM pupils WHERE id IN ('p-1', 'p-2');
-- lifting the limit (NULL) lets the third child through
SET ROLE regress_p_dpo;
SELECT childguard.set_grant_limits(:app_grant, NULL, NULL);
SET ROLE regress_p_app;
SELECT name FROM pupils WHERE id = 'p-3';
RESET childguard.purpose;
RESET ROLE;
SELECT childguard.audit_wait();
SELECT outcome, sqlstate, cardinality(children_read) AS read, cardinality(children_denied) AS refused
  FROM childguard.access_log WHERE sqlstate = 'ZC420' ORDER BY id;
-- the compliance duty (Art 15): a grant in force without a daily limit
-- fails it, naming the grant; setting one repairs it
SELECT pass, reason, objects = ARRAY['access grant ' || :app_grant || ' (regress_p_app)'] AS names_the_grant
  FROM childguard.duty_copy_limits();
SELECT article, check_function FROM childguard.compliance_duty WHERE duty = 'copy_limits';
SET ROLE regress_p_dpo;
SELECT childguard.set_grant_limits(:app_grant, 1000, 5000);
RESET ROLE;
SELECT pass, reason, objects FROM childguard.duty_copy_limits();
SET ROLE regress_p_dpo;
SELECT childguard.set_grant_limits(:app_grant, NULL, NULL);
RESET ROLE;
SELECT pass FROM childguard.duty_copy_limits();
-- the per-statement default no longer limits anything
SHOW childguard.max_children_per_statement;
-- the table of windows is sized at start only
SET childguard.window_children = 10;
\echo :LAST_ERROR_SQLSTATE

-------------------------------------------------------------------------------
-- childguard.end_user: recorded in each audit record; bad values refused
-------------------------------------------------------------------------------
SET childguard.end_user = 'this-end-user-name-is-far-too-long-xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx';
\echo :LAST_ERROR_SQLSTATE
SET childguard.end_user = E'alice\nbob';
\echo :LAST_ERROR_SQLSTATE
SHOW childguard.end_user;
SET ROLE regress_p_app;
BEGIN;
SET LOCAL childguard.purpose = 'lessons';
SET LOCAL childguard.end_user = 'teacher-17';
SELECT name FROM pupils WHERE id = 'p-1';
COMMIT;
SHOW childguard.end_user;
SHOW childguard.purpose;
-- a SET inside the statement does not change the end user it is recorded under
BEGIN;
SET LOCAL childguard.purpose = 'lessons';
SET LOCAL childguard.end_user = 'teacher-18';
SELECT name, set_config('childguard.end_user', 'someone-else', true) FROM pupils WHERE id = 'p-2';
COMMIT;
RESET ROLE;
SELECT childguard.audit_wait();
SELECT end_user, outcome, purpose, format_version FROM childguard.access_log
 WHERE end_user IS NOT NULL ORDER BY id;
SELECT valid, records_by_format[4] = records_checked AS all_format_4 FROM childguard.verify_access_log();
-- the log refuses the edit; with its guard switched off in the catalogs (a
-- superuser; seen by a fresh session), an edited or removed end user breaks
-- the chain
UPDATE childguard.access_log SET end_user = 'teacher-99' WHERE end_user = 'teacher-17';
\echo :LAST_ERROR_SQLSTATE
\c
\set VERBOSITY default
\set SHOW_CONTEXT never
-- (from 1.8 the records are packed in childguard.access_log_batch: the end
-- user is the last field of the record's bytes)
BEGIN;
UPDATE pg_trigger SET tgenabled = 'D' WHERE tgrelid = 'childguard.access_log_batch'::regclass;
\i test/fixtures/packed_log.psql
SELECT id AS t17 FROM childguard.access_log WHERE end_user = 'teacher-17' \gset
SELECT id AS t18 FROM childguard.access_log WHERE end_user = 'teacher-18' \gset
SELECT pg_temp.set_wire(:t17, overlay(pg_temp.wire_of(:t17) placing convert_to('teacher-99', 'UTF8')
                                      from octet_length(pg_temp.wire_of(:t17)) - 9));
SELECT end_user FROM childguard.access_log WHERE id = :t17;
SELECT valid, reason ~ 'was altered' AS altered, broken_id = :t17 AS names_it FROM childguard.verify_access_log();
ROLLBACK;
\c
\set VERBOSITY default
\set SHOW_CONTEXT never
BEGIN;
UPDATE pg_trigger SET tgenabled = 'D' WHERE tgrelid = 'childguard.access_log_batch'::regclass;
\i test/fixtures/packed_log.psql
SELECT pg_temp.set_wire(:t18, substring(pg_temp.wire_of(:t18) from 1 for octet_length(pg_temp.wire_of(:t18)) - 14)
                              || '\xffffffff'::bytea);
SELECT end_user IS NULL AS no_end_user FROM childguard.access_log WHERE id = :t18;
SELECT valid, reason ~ 'was altered' AS altered, broken_id = :t18 AS names_it FROM childguard.verify_access_log();
ROLLBACK;
\c
\set VERBOSITY default
\set SHOW_CONTEXT never
SELECT valid FROM childguard.verify_access_log();

-------------------------------------------------------------------------------
-- childguard.no_purpose: silent | notice (default) | error
-------------------------------------------------------------------------------
SHOW childguard.no_purpose;
SET childguard.no_purpose = 'loud';
\echo :LAST_ERROR_SQLSTATE
SET ROLE regress_p_app;
SELECT count(*) FROM pupils;                 -- notice, once per statement
SET childguard.no_purpose = 'silent';
SELECT count(*) FROM pupils;                 -- nothing said
SET childguard.no_purpose = 'error';
SELECT count(*) FROM pupils;                 -- ZC423
\echo :LAST_ERROR_SQLSTATE
SET childguard.purpose = 'lessons';
SELECT count(*) FROM pupils;                 -- with a purpose: no message
RESET childguard.purpose;
RESET childguard.no_purpose;
RESET ROLE;

-------------------------------------------------------------------------------
-- childguard.session_purpose = refuse: only transaction-scoped purposes
-------------------------------------------------------------------------------
SHOW childguard.session_purpose;
SET ROLE regress_p_app;
SET childguard.session_purpose = 'refuse';   -- superuser only
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;
SET childguard.session_purpose = 'nope';
\echo :LAST_ERROR_SQLSTATE
SET childguard.session_purpose = 'refuse';
SET ROLE regress_p_app;
SET childguard.purpose = 'lessons';                         -- SET: refused at once
\echo :LAST_ERROR_SQLSTATE
SET childguard.end_user = 'teacher-1';                      -- likewise
\echo :LAST_ERROR_SQLSTATE
SELECT set_config('childguard.purpose', 'lessons', false);  -- refused at commit
\echo :LAST_ERROR_SQLSTATE
SELECT childguard.set_purpose('lessons');                   -- is_local => false: likewise
\echo :LAST_ERROR_SQLSTATE
BEGIN;
SET LOCAL childguard.purpose = 'lessons';
SELECT set_config('childguard.purpose', 'lessons', false);  -- SET LOCAL then a session SET
SELECT name FROM pupils WHERE id = 'p-1';                   -- now session-level: refused
COMMIT;                                                     -- (rolled back)
\echo :LAST_ERROR_SQLSTATE
SHOW childguard.purpose;                                    -- nothing left for the session
BEGIN;
SET LOCAL childguard.purpose = 'lessons';                   -- SET LOCAL: fine
SELECT name FROM pupils WHERE id = 'p-1';
COMMIT;
BEGIN;
SELECT childguard.set_purpose('lessons', is_local => true); -- the function form of SET LOCAL
SELECT name FROM pupils WHERE id = 'p-1';
COMMIT;
SHOW childguard.purpose;
RESET ROLE;
ALTER ROLE regress_p_app SET childguard.purpose = 'lessons';          -- a role's setting
\echo :LAST_ERROR_SQLSTATE
ALTER DATABASE regress_pool SET childguard.end_user = 'teacher-1';    -- a database's
\echo :LAST_ERROR_SQLSTATE
ALTER SYSTEM SET childguard.purpose = 'lessons';                      -- the server's
\echo :LAST_ERROR_SQLSTATE
ALTER ROLE regress_p_app RESET childguard.purpose;                    -- removing one: fine
SET ROLE regress_p_app;
SET childguard.purpose = '';                                          -- clearing it: fine
SET childguard.purpose TO DEFAULT;
RESET ROLE;
-- a session-level purpose set before refuse took effect is never used
RESET childguard.session_purpose;
SET ROLE regress_p_app;
SET childguard.purpose = 'lessons';
RESET ROLE;
SET childguard.session_purpose = 'refuse';
SET ROLE regress_p_app;
SELECT name FROM pupils WHERE id = 'p-1';                             -- ZC422
\echo :LAST_ERROR_SQLSTATE
RESET childguard.purpose;
SELECT count(*) FROM pupils;                                          -- no purpose: the notice
RESET ROLE;
RESET childguard.session_purpose;

RESET childguard.purpose;
DROP TABLE pupils;
DROP OWNED BY regress_p_dpo, regress_p_dpo2, regress_p_app, regress_p_app_member CASCADE;
DROP ROLE regress_p_dpo, regress_p_dpo2, regress_p_app_member, regress_p_app;
\c contrib_regression
DROP DATABASE regress_pool;
