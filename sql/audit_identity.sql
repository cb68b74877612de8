-- Who is asking (issue 12): an audit record's session role, acting role
-- and application name come from a per-session snapshot, taken again only
-- when one of them can have changed.  Every record below must name the
-- roles and the application of its own statement, in one session: after
-- SET ROLE / RESET ROLE, SET application_name, SET SESSION AUTHORIZATION,
-- inside a SECURITY DEFINER function, after a pooler's DISCARD ALL or
-- RESET ALL, after a role's rename, also through a prepared statement and
-- a cursor.  A stale snapshot shows as a wrong name.  A database of its own.
SET client_min_messages = warning;
DROP DATABASE IF EXISTS regress_audit_identity;
CREATE DATABASE regress_audit_identity;
\c regress_audit_identity
SET client_min_messages = warning;
CREATE EXTENSION childguard CASCADE;
DROP ROLE IF EXISTS regress_ai_app;
DROP ROLE IF EXISTS regress_ai_staff;
DROP ROLE IF EXISTS regress_ai_staff_renamed;
DROP ROLE IF EXISTS regress_ai_owner;
CREATE ROLE regress_ai_app;
CREATE ROLE regress_ai_staff;
CREATE ROLE regress_ai_owner;
RESET client_min_messages;
\set VERBOSITY terse
SELECT count(childguard.register_child('ai-' || i, '2015-05-01')) AS registered
  FROM generate_series(1, 12) i;
\i test/fixtures/regress_purpose.psql
SELECT pg_temp.consent_all() > 0 AS consented;
CREATE TABLE pupils (id text PRIMARY KEY, nm childguard.child_data(name));
SELECT childguard.protect('pupils', 'id');
SET childguard.purpose = 'regress';
INSERT INTO pupils VALUES ('ai-1', '小明');
RESET childguard.purpose;
-- each role reads under a grant of its own
SELECT childguard.enroll_application(r) IS NULL AS enrolled
  FROM unnest('{regress_ai_app,regress_ai_staff,regress_ai_owner}'::regrole[]) r;
GRANT SELECT ON pupils TO regress_ai_app, regress_ai_staff, regress_ai_owner;
SELECT count(childguard.request_access(r, '{regress}', now() + interval '1 day')) AS requested
  FROM unnest('{regress_ai_app,regress_ai_staff,regress_ai_owner}'::regrole[]) r;
SET ROLE regress_fixture_dpo;
SELECT count(childguard.approve_access(grant_id)) AS approved
  FROM childguard.access_grants
 WHERE grantee IN ('regress_ai_app', 'regress_ai_staff', 'regress_ai_owner');
RESET ROLE;
-- a SECURITY DEFINER function owned by regress_ai_owner
CREATE FUNCTION definer_read() RETURNS text LANGUAGE sql SECURITY DEFINER
  AS $$ SELECT nm::text FROM public.pupils WHERE id = 'ai-1' $$;
ALTER FUNCTION definer_read() OWNER TO regress_ai_owner;
GRANT EXECUTE ON FUNCTION definer_read() TO regress_ai_staff;

SELECT current_user AS me \gset
SELECT childguard.audit_wait();
SELECT coalesce(max(id), 0) AS start_id FROM childguard.access_log \gset

-- 1: the superuser, application one
SET application_name = 'app one';
SET childguard.purpose = 'regress';
SELECT nm FROM pupils;
-- 2: SET ROLE, same application
SET ROLE regress_ai_app;
SELECT nm FROM pupils;
-- 3: another application name, same role
SET application_name = 'app two';
SELECT nm FROM pupils;
-- 4: RESET ROLE
RESET ROLE;
SELECT nm FROM pupils;
-- 5: a prepared statement, planned as the superuser, run as staff
PREPARE q AS SELECT nm FROM pupils;
SET ROLE regress_ai_staff;
EXECUTE q;
-- 6: the same, in the same session, run as the application
SET ROLE regress_ai_app;
EXECUTE q;
-- 7: a SECURITY DEFINER function called by staff, owned by another
-- role: the statement decides under the caller (the definer's body does
-- not change who is asking), and is refused here; its error record names
-- the caller, not the owner
SET ROLE regress_ai_staff;
SELECT definer_read();
\echo :LAST_ERROR_SQLSTATE
SELECT current_user;
-- 8: a cursor's FETCH, as staff
BEGIN;
DECLARE c CURSOR FOR SELECT nm FROM pupils;
FETCH c;
COMMIT;
-- 9: SET SESSION AUTHORIZATION: session and acting role both change
RESET ROLE;
SET SESSION AUTHORIZATION regress_ai_app;
SELECT nm FROM pupils;
-- 10: a pooler hands the connection on: DISCARD ALL resets the session
-- authorization, the role and application_name (to the connection's:
-- pg_regress's)
SET ROLE NONE;
RESET SESSION AUTHORIZATION;
SET ROLE regress_ai_staff;
SET application_name = 'app three';
DISCARD ALL;
SET childguard.purpose = 'regress';
SELECT nm FROM pupils;
-- 11: RESET ALL resets application_name but not the role (role and
-- session_authorization are outside RESET ALL)
SET ROLE regress_ai_app;
SET application_name = 'app four';
SELECT nm FROM pupils;
RESET ALL;
SET childguard.purpose = 'regress';
SELECT current_user, current_setting('application_name');
SELECT nm FROM pupils;
-- 12: the acting role renamed between two statements of the session
SET ROLE regress_ai_staff;
SELECT nm FROM pupils;
RESET ROLE;
ALTER ROLE regress_ai_staff RENAME TO regress_ai_staff_renamed;
SET ROLE regress_ai_staff_renamed;
SELECT nm FROM pupils;
RESET ROLE;
-- 13: a failed statement's record (built in the abort callback) names
-- the role it ran as
SET ROLE regress_ai_app;
SELECT nm::text::int FROM pupils;
RESET ROLE;
-- 14: and the next statement, as the superuser again
SET application_name = 'app five';
SELECT nm FROM pupils;
-- 15: names cached across statements are not copied per statement: a
-- rename inside the statement, after it named the column, leaves the name
-- it took valid (the record names the column as the statement first used
-- it: one column, one name); the next statement has the new name
DO $$
DECLARE v text;
BEGIN
  SELECT nm::text INTO v FROM pupils;
  ALTER TABLE pupils RENAME COLUMN nm TO full_name;
  SELECT full_name::text INTO v FROM pupils;
END
$$;
SELECT full_name FROM pupils;
-- 19: records with more children than their lists hold in place (8)
INSERT INTO pupils SELECT 'ai-' || i, '学生' || i FROM generate_series(2, 12) i;
SELECT count(full_name::text) FROM pupils;
RESET childguard.purpose;
RESET application_name;

SELECT childguard.audit_wait();
SELECT id - :start_id AS n, command, outcome,
       CASE session_role WHEN :'me' THEN 'ME' ELSE session_role END AS session_role,
       CASE acting_role WHEN :'me' THEN 'ME' ELSE acting_role END AS acting_role,
       application_name, columns
  FROM childguard.access_log WHERE id > :start_id ORDER BY id;
-- the children's lists of the last two records, in full and in order
SELECT id - :start_id AS n, command, children, cardinality(children_read) AS nread,
       cardinality(children_written) AS nwritten,
       children_read = (SELECT array_agg(x ORDER BY x) FROM unnest(children_read) x) AS read_sorted,
       children_written = (SELECT array_agg(x ORDER BY x) FROM unnest(children_written) x) AS written_sorted
  FROM childguard.access_log WHERE id > :start_id + 18 ORDER BY id;
SELECT valid FROM childguard.verify_access_log();
\c contrib_regression
SET client_min_messages = warning;
DROP DATABASE regress_audit_identity;
DROP ROLE regress_ai_app;
DROP ROLE regress_ai_staff_renamed;
DROP ROLE regress_ai_owner;
