-- The decision context (role, purpose, grant, time) is fixed when the
-- top-level statement starts (issue 8, item 1).  Child k-1 has consent for
-- "homework" (needs name, school) but none for "marketing" (needs name,
-- contact); the role holds grants for both.  k-1's phone, 电话秘密, must
-- never appear below: no single context allows it.  Audit lines are shown
-- as NOTICEs and must name the context actually used.
SET client_min_messages = warning;
DROP DATABASE IF EXISTS regress_ctx;
CREATE DATABASE regress_ctx;
\c regress_ctx
SET client_min_messages = warning;
CREATE EXTENSION childguard CASCADE;
CREATE ROLE regress_c_dpo;
CREATE ROLE regress_c_app;        -- grants for homework and marketing
CREATE ROLE regress_c_narrow;     -- a grant for homework, name only
CREATE ROLE regress_c_owner;      -- owns SECURITY DEFINER functions; grants for both
CREATE ROLE regress_c_rec;        -- records consents, reads nothing
RESET client_min_messages;
\set VERBOSITY default
\set SHOW_CONTEXT never
SELECT childguard.appoint_officer('regress_c_dpo');
SELECT childguard.enroll_application('regress_c_app');
SELECT childguard.enroll_application('regress_c_narrow');
SELECT childguard.enroll_application('regress_c_owner');
SELECT childguard.enroll_consent_recorder('regress_c_rec');
GRANT CREATE ON SCHEMA public TO regress_c_app, regress_c_owner;
SET ROLE regress_c_dpo;
SELECT childguard.define_purpose('homework', '{name,school}', '1 year') > 0 AS ok;
SELECT childguard.define_purpose('marketing', '{name,contact}', '1 year') > 0 AS ok;
SELECT childguard.publish_notice('n', '{homework,marketing}', 'a', 'b', 'c', 'd', 'e', 'f', 'g') AS v;
RESET ROLE;
SET ROLE regress_c_app;
SELECT childguard.register_child('k-1', '2016-01-01') > 0 AS ok;
SET ROLE regress_c_rec;
SELECT childguard.register_guardian('gk-1', 'k-1');
SELECT childguard.record_consent('k-1', 'homework', 'n', 'gk-1') > 0 AS ok;
SET ROLE regress_c_app;
SELECT childguard.request_access('regress_c_app', '{homework,marketing}', now() + interval '1 day') AS g1 \gset
SET ROLE regress_c_narrow;
SELECT childguard.request_access('regress_c_narrow', '{homework}', now() + interval '1 day',
                                 categories => '{name}') AS g2 \gset
SET ROLE regress_c_owner;
SELECT childguard.request_access('regress_c_owner', '{homework,marketing}', now() + interval '1 day') AS g3 \gset
SET ROLE regress_c_dpo;
SELECT childguard.approve_access(:g1);
SELECT childguard.approve_access(:g2);
SELECT childguard.approve_access(:g3);
SET ROLE regress_c_app;
CREATE TABLE students (id text PRIMARY KEY, name childguard.child_data(name),
                       school childguard.child_data(school));
CREATE TABLE contacts (id text PRIMARY KEY, phone childguard.child_data(contact));
SELECT childguard.protect('students', 'id');
SELECT childguard.protect('contacts', 'id');
GRANT SELECT ON students, contacts TO regress_c_narrow, regress_c_owner;
-- the phone is written under marketing before the consent for it is withdrawn
SET ROLE regress_c_rec;
SELECT childguard.record_consent('k-1', 'marketing', 'n', 'gk-1') > 0 AS ok;
SET ROLE regress_c_app;
SET childguard.purpose = 'homework';
INSERT INTO students VALUES ('k-1', '小一', '一小');
SET childguard.purpose = 'marketing';
INSERT INTO contacts VALUES ('k-1', '电话秘密');
RESET childguard.purpose;
SET ROLE regress_c_rec;
SELECT childguard.withdraw_consent('k-1', 'marketing', 'gk-1') > 0 AS withdrawn;
SET ROLE regress_c_app;
-- a read through a plain function, for the routes below
CREATE FUNCTION phone_of(k text) RETURNS text LANGUAGE sql
	AS $$ SELECT phone::text FROM contacts WHERE id = k $$;
CREATE FUNCTION switch_then_phone(k text, p text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
	PERFORM set_config('childguard.purpose', p, false);
	RETURN (SELECT phone::text FROM contacts WHERE id = k);
END $$;
CREATE FUNCTION set_then_name(k text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
	SET childguard.purpose = 'homework';
	RETURN (SELECT name::text FROM students WHERE id = k);
END $$;
RESET ROLE;
SET childguard.audit_log_client = on;
SET ROLE regress_c_app;
SET childguard.denied_read = 'mask';

-- 1. the issue's statement: the whole statement decides under homework,
--    which does not need contact data; the audit names homework
SET childguard.purpose = 'homework';
SELECT (SELECT count(*) FROM students WHERE id = 'k-1') AS n,
       set_config('childguard.purpose', 'marketing', false) AS switched,
       (SELECT phone::text FROM contacts WHERE id = 'k-1') AS phone;
SHOW childguard.purpose;        -- the switch holds for the next statement
-- under marketing the consent is withdrawn: no row, no value
SELECT (SELECT phone::text FROM contacts WHERE id = 'k-1') AS phone;
-- 2. the other way round: starting under marketing, switching to homework
--    does not open homework's consent for a contact read
SELECT set_config('childguard.purpose', 'homework', false) AS switched,
       (SELECT phone::text FROM contacts WHERE id = 'k-1') AS phone,
       (SELECT name::text FROM students WHERE id = 'k-1') AS name;
-- 3. set_config in WHERE, evaluated before the read
SET childguard.purpose = 'homework';
SELECT c.phone::text FROM contacts c
 WHERE set_config('childguard.purpose', 'marketing', false) IS NOT NULL;
SET childguard.purpose = 'homework';
SELECT s.id, c.phone::text AS phone FROM students s JOIN contacts c USING (id)
 WHERE set_config('childguard.purpose', 'marketing', false) IS NOT NULL;
-- 4. a function that switches, then reads; a nested function read
SET childguard.purpose = 'homework';
SELECT (SELECT count(*) FROM students) AS n, switch_then_phone('k-1', 'marketing') AS phone;
SET childguard.purpose = 'homework';
SELECT name::text, switch_then_phone('k-1', 'marketing') AS phone, phone_of('k-1') AS again
  FROM students;
-- 5. without a purpose at the start, a SET inside the statement opens nothing
RESET childguard.purpose;
SELECT left(set_then_name('k-1'), 4) AS name;
SHOW childguard.purpose;
RESET childguard.purpose;
--    a DO block is one statement: a SET inside it applies to the next one
DO $$
DECLARE v text;
BEGIN
	SET childguard.purpose = 'homework';
	SELECT name::text INTO v FROM students WHERE id = 'k-1';
	RAISE NOTICE 'inside DO: %', coalesce(left(v, 4), 'no row');
	PERFORM set_config('childguard.purpose', 'marketing', false);
	SELECT phone::text INTO v FROM contacts WHERE id = 'k-1';
	RAISE NOTICE 'inside DO: %', coalesce(left(v, 4), 'no row');
END $$;
SET childguard.purpose = 'homework';
DO $$
DECLARE v text;
BEGIN
	PERFORM set_config('childguard.purpose', 'marketing', false);
	SELECT phone::text INTO v FROM contacts WHERE id = 'k-1';
	RAISE NOTICE 'inside DO: %', coalesce(v, 'no row');
END $$;
-- 6. a prepared statement that switches: the same on each execution
SET childguard.purpose = 'homework';
PREPARE sw AS SELECT set_config('childguard.purpose', 'marketing', false) AS switched,
                     (SELECT phone::text FROM contacts WHERE id = 'k-1') AS phone;
EXECUTE sw;
SET childguard.purpose = 'homework';
EXECUTE sw;
DEALLOCATE sw;
-- 7. SET LOCAL: the transaction's statements decide under it, and nothing
--    of it is remembered after
SET childguard.purpose = 'homework';
BEGIN;
SELECT name::text FROM students WHERE id = 'k-1';
SET LOCAL childguard.purpose = 'marketing';
SELECT phone::text FROM contacts WHERE id = 'k-1';
SELECT name::text FROM students WHERE id = 'k-1';
COMMIT;
SELECT name::text, (SELECT phone::text FROM contacts WHERE id = 'k-1') AS phone
  FROM students WHERE id = 'k-1';
-- 8. a procedure that commits and switches in between: one statement, one context
CREATE PROCEDURE switch_commit(INOUT a text DEFAULT NULL, INOUT b text DEFAULT NULL)
LANGUAGE plpgsql AS $$
BEGIN
	SELECT name::text INTO a FROM students WHERE id = 'k-1';
	COMMIT;
	PERFORM set_config('childguard.purpose', 'marketing', false);
	SELECT phone::text INTO b FROM contacts WHERE id = 'k-1';
END $$;
SET childguard.purpose = 'homework';
CALL switch_commit();
-- 9. a trigger that switches the purpose during the statement
CREATE TABLE ticks (n int);
CREATE FUNCTION tick_switch() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	PERFORM set_config('childguard.purpose', 'marketing', false);
	RETURN NEW;
END $$;
CREATE TRIGGER tick_switch BEFORE INSERT ON ticks FOR EACH ROW EXECUTE FUNCTION tick_switch();
SET childguard.purpose = 'homework';
WITH t AS (INSERT INTO ticks VALUES (1) RETURNING n)
SELECT t.n, (SELECT phone::text FROM contacts WHERE id = 'k-1') AS phone FROM t;
-- 10. switching the role within a statement: the role at the start counts
--     (regress_c_narrow's grant covers names only)
RESET ROLE;
SET ROLE regress_c_narrow;
SET childguard.purpose = 'homework';
SELECT set_config('role', 'regress_c_app', false) AS became,
       (SELECT school::text FROM students WHERE id = 'k-1') AS school;
SELECT current_user, (SELECT left(school::text, 2) FROM students WHERE id = 'k-1') AS school;
--     a function's own SET role clause changes nothing either
RESET ROLE;
CREATE FUNCTION as_app_school(k text) RETURNS text LANGUAGE sql SET role = 'regress_c_app'
	AS $$ SELECT school::text FROM students WHERE id = k $$;
GRANT EXECUTE ON FUNCTION as_app_school(text) TO regress_c_narrow;
SET ROLE regress_c_narrow;
SELECT as_app_school('k-1') AS school;
RESET ROLE;
--     the other way: the app role's statement keeps its own grant to its end
SET ROLE regress_c_app;
SET childguard.purpose = 'homework';
SELECT set_config('role', 'regress_c_narrow', false) AS became,
       (SELECT left(school::text, 2) FROM students WHERE id = 'k-1') AS school;
RESET ROLE;
-- 11. SECURITY DEFINER functions read with the caller's context: the
--     owner's grant (for marketing, here) is not lent, nor a superuser's
SET ROLE regress_c_owner;
CREATE FUNCTION owner_school(k text) RETURNS text LANGUAGE sql SECURITY DEFINER
	AS $$ SELECT school::text FROM students WHERE id = k $$;
CREATE FUNCTION owner_switch_school(k text) RETURNS text LANGUAGE plpgsql SECURITY DEFINER AS $$
BEGIN
	PERFORM set_config('childguard.purpose', 'homework', true);
	RETURN (SELECT school::text FROM students WHERE id = k);
END $$;
GRANT EXECUTE ON FUNCTION owner_school(text), owner_switch_school(text) TO regress_c_narrow;
RESET ROLE;
CREATE FUNCTION su_school(k text) RETURNS text LANGUAGE sql SECURITY DEFINER
	AS $$ SELECT school::text FROM students WHERE id = k $$;
GRANT EXECUTE ON FUNCTION su_school(text) TO regress_c_narrow;
SET ROLE regress_c_narrow;
SET childguard.purpose = 'homework';
SELECT owner_school('k-1') AS school;
SELECT su_school('k-1') AS school;
RESET childguard.purpose;
SELECT left(owner_switch_school('k-1'), 4) AS school;
RESET ROLE;
-- 12. a cursor: each FETCH is a statement and decides under the context in
--     force when it starts; the audit record of each FETCH names it
SET ROLE regress_c_app;
SET childguard.purpose = 'homework';
BEGIN;
DECLARE cur CURSOR FOR SELECT s.id, s.name::text AS name,
       (SELECT c.phone::text FROM contacts c WHERE c.id = s.id) AS phone
  FROM students s, generate_series(1, 3);
FETCH 1 FROM cur;
SELECT set_config('childguard.purpose', 'marketing', true) AS switched;
FETCH 1 FROM cur;
SELECT set_config('childguard.purpose', 'homework', true) AS switched;
FETCH 1 FROM cur;
COMMIT;
-- 13. a function's SET clause for the purpose is refused, for every role,
--     language and spelling; CREATE, ALTER, procedures, dynamic SQL
CREATE FUNCTION set_clause() RETURNS text LANGUAGE sql SET childguard.purpose = 'marketing'
	AS $$ SELECT phone::text FROM contacts $$;
\echo :LAST_ERROR_SQLSTATE
CREATE FUNCTION set_clause2() RETURNS int LANGUAGE plpgsql SET "ChildGuard.Purpose" TO 'marketing'
	AS $$ BEGIN RETURN 1; END $$;
\echo :LAST_ERROR_SQLSTATE
CREATE FUNCTION set_clause3() RETURNS int LANGUAGE sql SET childguard.purpose FROM CURRENT
	AS $$ SELECT 1 $$;
\echo :LAST_ERROR_SQLSTATE
CREATE PROCEDURE set_clause4() LANGUAGE sql SET work_mem = '1MB' SET childguard.purpose = 'marketing'
	AS $$ SELECT 1 $$;
\echo :LAST_ERROR_SQLSTATE
ALTER FUNCTION phone_of(text) SET childguard.purpose = 'marketing';
\echo :LAST_ERROR_SQLSTATE
ALTER ROUTINE phone_of(text) SET work_mem = '1MB' SET childguard.purpose TO 'marketing';
\echo :LAST_ERROR_SQLSTATE
DO $$ BEGIN EXECUTE 'ALTER FUNCTION phone_of(text) SET childguard.purpose = ''marketing'''; END $$;
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;
CREATE FUNCTION su_set_clause() RETURNS int LANGUAGE sql SET childguard.purpose = 'marketing'
	AS $$ SELECT 1 $$;
\echo :LAST_ERROR_SQLSTATE
--    other settings and RESET remain allowed
ALTER FUNCTION phone_of(text) SET work_mem = '1MB';
ALTER FUNCTION phone_of(text) RESET childguard.purpose;
ALTER FUNCTION phone_of(text) RESET ALL;
SELECT count(*) AS purpose_set_clauses FROM pg_proc
 WHERE EXISTS (SELECT 1 FROM unnest(proconfig) c WHERE c ILIKE 'childguard.purpose=%');
--    a function carrying the clause from before (childguard 1.0 allowed it)
--    is harmless: its reads decide under the caller's statement context
SET ROLE regress_c_app;
CREATE FUNCTION legacy_phone(k text) RETURNS text LANGUAGE sql
	AS $$ SELECT phone::text FROM contacts WHERE id = k $$;
RESET ROLE;
UPDATE pg_proc SET proconfig = '{childguard.purpose=marketing}' WHERE proname = 'legacy_phone';
SET ROLE regress_c_app;
SET childguard.purpose = 'homework';
SELECT legacy_phone('k-1') AS phone, current_setting('childguard.purpose') AS after;
SELECT name::text, legacy_phone(id) AS phone FROM students;
RESET childguard.purpose;
SELECT left(legacy_phone('k-1'), 4) AS phone;
RESET ROLE;

-- 14. the time is the statement's start: a grant that ends while a
--     statement runs still counts for that statement, not for the next
SET client_min_messages = warning;
CREATE ROLE regress_c_brief;
RESET client_min_messages;
SELECT childguard.enroll_application('regress_c_brief');
GRANT SELECT ON students TO regress_c_brief;
SET ROLE regress_c_brief;
SELECT set_config('regress.until', (now() + interval '4 seconds')::text, false) IS NOT NULL AS ok;
SELECT childguard.request_access('regress_c_brief', '{homework}', current_setting('regress.until')::timestamptz) AS g4 \gset
SET ROLE regress_c_dpo;
SELECT childguard.approve_access(:g4);
SET ROLE regress_c_brief;
SET childguard.purpose = 'homework';
DO $$
DECLARE v text;
BEGIN
	PERFORM pg_sleep_until(current_setting('regress.until')::timestamptz + interval '0.5 seconds');
	SELECT name::text INTO v FROM students WHERE id = 'k-1';
	RAISE NOTICE 'after the grant ended, in the statement that began before: %', v;
END $$;
-- the refusal is recorded (its NOTICE may come before or after the
-- error, so the audit lines are off for it)
RESET ROLE;
SET childguard.audit_log_client = off;
SET ROLE regress_c_brief;
SELECT name::text FROM students WHERE id = 'k-1';
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;
SET childguard.audit_log_client = on;

-- 15. parallel workers get the leader's settings at launch, possibly
--     changed within the statement: no decision is made in a worker (a
--     function mislabelled PARALLEL SAFE would show the envelope there).
--     Since 1.4 a table holding child data is never scanned in parallel
--     (parallel_guard.c: sorts and hashes of child_data would otherwise
--     run in workers), so the function runs in the leader, under the
--     statement's decision: plaintext for the purpose declared before the
--     statement, the envelope when it was set within the statement
ALTER ROLE regress_c_app BYPASSRLS;     -- so that the scan could go parallel
CREATE FUNCTION leaky_text(x childguard.child_data) RETURNS text LANGUAGE plpgsql
	IMMUTABLE PARALLEL SAFE AS $$ BEGIN RETURN x::text; END $$;
GRANT EXECUTE ON FUNCTION leaky_text(childguard.child_data) TO regress_c_app;
SET ROLE regress_c_app;
SET force_parallel_mode = on;
SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0;
SET childguard.purpose = 'homework';
EXPLAIN (COSTS OFF) SELECT left(leaky_text(name), 4) FROM students;
SELECT left(leaky_text(name), 4) AS in_leader FROM students;
RESET childguard.purpose;
DO $$
DECLARE v text;
BEGIN
	PERFORM set_config('childguard.purpose', 'homework', false);
	SELECT string_agg(left(leaky_text(name), 4), ',') INTO v FROM students;
	RAISE NOTICE 'switched within the statement: %', v;
END $$;
RESET force_parallel_mode;
RESET parallel_setup_cost;
RESET parallel_tuple_cost;
RESET ROLE;
ALTER ROLE regress_c_app NOBYPASSRLS;

-- what the log recorded for the statements above never says marketing
-- with a read of k-1 (nothing was read under it)
RESET childguard.audit_log_client;
SELECT childguard.audit_wait();
SELECT count(*) AS reads_under_marketing FROM childguard.access_log
 WHERE purpose = 'marketing' AND cardinality(children_read) > 0;

RESET childguard.purpose;
RESET childguard.denied_read;
DROP OWNED BY regress_c_dpo, regress_c_app, regress_c_narrow, regress_c_owner, regress_c_brief, regress_c_rec CASCADE;
DROP FUNCTION su_school(text), as_app_school(text), leaky_text(childguard.child_data);
DROP ROLE regress_c_dpo, regress_c_app, regress_c_narrow, regress_c_owner, regress_c_brief, regress_c_rec;
\c contrib_regression
DROP DATABASE regress_ctx;
