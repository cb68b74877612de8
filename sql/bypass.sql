-- Bypass attempts (issue: consent and purpose).  Child k-2's data has no
-- consent: its plaintext, 秘密二号 / 秘密学校, must never appear below, by
-- any route.  k-1 has consent: an approved reader sees it.
-- a database of its own, so identities and versions below do not depend on other tests
SET client_min_messages = warning;
DROP DATABASE IF EXISTS regress_bypass;
CREATE DATABASE regress_bypass;
\c regress_bypass
SET client_min_messages = warning;
CREATE EXTENSION childguard CASCADE;
RESET client_min_messages;
\set VERBOSITY default
\set SHOW_CONTEXT never
SET client_min_messages = warning;
CREATE ROLE regress_b_dpo;
CREATE ROLE regress_b_app;                 -- owns the table, holds a grant
CREATE ROLE regress_b_bypass BYPASSRLS;    -- skips row security, holds a grant
CREATE ROLE regress_b_outsider;            -- no grant
CREATE ROLE regress_b_recorder;            -- records consents, reads nothing
RESET client_min_messages;
SELECT childguard.appoint_officer('regress_b_dpo');
SELECT childguard.enroll_application('regress_b_app');
SELECT childguard.enroll_application('regress_b_bypass');
SELECT childguard.enroll_application('regress_b_outsider');
SELECT childguard.enroll_consent_recorder('regress_b_recorder');
GRANT CREATE ON SCHEMA public TO regress_b_app;
SET ROLE regress_b_dpo;
SELECT childguard.define_purpose('homework', '{name,school}', '1 year') > 0 AS ok;
SELECT childguard.define_purpose('export', '{name,school}', '1 year', kind => 'transfer') > 0 AS ok;
SELECT childguard.publish_notice('n', '{homework,export}', 'a', 'b', 'c', 'd', 'e', 'f', 'g') AS v;
RESET ROLE;
SET ROLE regress_b_app;
SELECT childguard.register_child('k-1', '2016-01-01') > 0 AS ok;
SELECT childguard.register_child('k-2', '2016-02-02') > 0 AS ok;
SELECT childguard.register_guardian('gk-1', 'k-1');
SELECT childguard.register_guardian('gk-2', 'k-2');
SET ROLE regress_b_recorder;
SELECT childguard.record_consent('k-1', 'homework', 'n', 'gk-1') > 0 AS ok;
SELECT childguard.record_consent('k-2', 'homework', 'n', 'gk-2') > 0 AS ok;
SET ROLE regress_b_app;
SELECT childguard.request_access('regress_b_app', '{homework,export}', now() + interval '1 day') AS g1 \gset
SELECT childguard.name_recipient(:g1, 'regress exporter');   -- who receives what it transfers (1.4)
RESET ROLE;
SET ROLE regress_b_bypass;
SELECT childguard.request_access('regress_b_bypass', '{homework}', now() + interval '1 day') AS g2 \gset
SET ROLE regress_b_dpo;
SELECT childguard.approve_access(:g1);
SELECT childguard.approve_access(:g2);
SET ROLE regress_b_app;
CREATE TABLE pupils (id text PRIMARY KEY, name childguard.child_data, school childguard.child_data,
                     grade int CHECK (grade < 100));
SELECT childguard.protect('pupils', 'id', '{"name": "name", "school": "school"}');
GRANT SELECT, UPDATE ON pupils TO regress_b_bypass, regress_b_outsider;
SET childguard.purpose = 'homework';
INSERT INTO pupils VALUES ('k-1', '小一', '一小', 1), ('k-2', '秘密二号', '秘密学校', 2);
-- a statement prepared (and run) before the withdrawal
PREPARE by_id(text) AS SELECT id, length(name::text) AS name_length FROM pupils WHERE id = $1;
EXECUTE by_id('k-2');
-- k-2's guardian withdraws
SET ROLE regress_b_recorder;
SELECT childguard.withdraw_consent('k-2', 'homework', 'gk-2') > 0 AS withdrawn;
SET ROLE regress_b_app;
RESET ROLE;

-- 1. the table owner: row security is forced on it
SET ROLE regress_b_app;
SET childguard.purpose = 'homework';
SELECT id, name, school FROM pupils ORDER BY id;
EXECUTE by_id('k-2');                 -- prepared before the withdrawal: nothing now
-- 2. a role with BYPASSRLS: sees the row, never the value
SET ROLE regress_b_bypass;
SET childguard.purpose = 'homework';
SELECT id, grade FROM pupils ORDER BY id;
SELECT id, name FROM pupils ORDER BY id;
\echo :LAST_ERROR_SQLSTATE
SELECT id, name FROM pupils WHERE id = 'k-1';
SET childguard.denied_read = 'mask';
SELECT id, name, school FROM pupils ORDER BY id;
-- 3. CTE, subquery, cursor
WITH x AS (SELECT id, name FROM pupils) SELECT * FROM x ORDER BY id;
SELECT (SELECT name::text FROM pupils WHERE id = 'k-2') AS sub;
BEGIN;
DECLARE c CURSOR FOR SELECT id, name FROM pupils ORDER BY id;
FETCH ALL FROM c;
COMMIT;
SET childguard.denied_read = 'null';
SELECT id, name, school, grade FROM pupils ORDER BY id;
BEGIN;
DECLARE c CURSOR FOR SELECT id, name FROM pupils ORDER BY id;
FETCH ALL FROM c;
COMMIT;
SELECT id, name::text FROM pupils ORDER BY id;       -- converted inside the query: the mask
RESET childguard.denied_read;
BEGIN;
DECLARE c2 CURSOR WITH HOLD FOR SELECT id, name FROM pupils ORDER BY id;
COMMIT;
FETCH ALL FROM c2;
\echo :LAST_ERROR_SQLSTATE
CLOSE c2;
-- 4. casts: text, bytea, the binary send function, string functions
SELECT name::text FROM pupils WHERE id = 'k-2';
\echo :LAST_ERROR_SQLSTATE
SELECT convert_to(name::text, 'UTF8') FROM pupils WHERE id = 'k-2';
\echo :LAST_ERROR_SQLSTATE
SELECT childguard.child_data_send(name) FROM pupils WHERE id = 'k-2';
\echo :LAST_ERROR_SQLSTATE
SELECT length(name::text) FROM pupils WHERE id = 'k-2';
\echo :LAST_ERROR_SQLSTATE
SELECT name::bytea FROM pupils WHERE id = 'k-2';
\echo :LAST_ERROR_SQLSTATE
-- 5. comparison is not an oracle
SELECT id FROM pupils WHERE name = '秘密二号';
\echo :LAST_ERROR_SQLSTATE
SET childguard.denied_read = 'mask';
SELECT id FROM pupils WHERE name = '秘密二号';
\echo :LAST_ERROR_SQLSTATE
RESET childguard.denied_read;
-- 6. error messages: a failing CHECK shows the row, but not k-2's values
UPDATE pupils SET grade = 200 WHERE id = 'k-2';
\echo :LAST_ERROR_SQLSTATE
SET childguard.denied_read = 'mask';
UPDATE pupils SET grade = 200 WHERE id = 'k-2';
\echo :LAST_ERROR_SQLSTATE
RESET childguard.denied_read;
--    a unique index over the plaintext cannot be built (it would show in key details)
RESET ROLE;
CREATE UNIQUE INDEX ON pupils ((name::text));
\echo :LAST_ERROR_SQLSTATE
-- 7. EXPLAIN (ANALYZE, VERBOSE) runs the query and shows no values
SET ROLE regress_b_bypass;
SET childguard.purpose = 'homework';
CREATE FUNCTION pg_temp.plan_mentions(q text, needle text) RETURNS boolean LANGUAGE plpgsql AS $$
DECLARE l text; found boolean := false;
BEGIN
	FOR l IN EXECUTE 'EXPLAIN (ANALYZE, VERBOSE, COSTS OFF, TIMING OFF, SUMMARY OFF) ' || q LOOP
		found := found OR position(needle IN l) > 0;
	END LOOP;
	RETURN found;
END $$;
SELECT pg_temp.plan_mentions('SELECT id, name FROM pupils', '秘密') AS plan_shows_plaintext;
SELECT pg_temp.plan_mentions('SELECT id, name FROM pupils', 'Output: id, name') AS plan_shows_columns;
RESET ROLE;
-- 8. a SECURITY DEFINER function and a view owned by others lend nothing
SET ROLE regress_b_app;
CREATE FUNCTION names_of_all() RETURNS SETOF text LANGUAGE sql SECURITY DEFINER
	AS $$ SELECT id || ': ' || name::text FROM pupils ORDER BY id $$;
GRANT EXECUTE ON FUNCTION names_of_all() TO regress_b_outsider, regress_b_bypass;
RESET ROLE;
CREATE VIEW all_pupils AS SELECT id, name FROM pupils;     -- owned by a superuser: no row security
GRANT SELECT ON all_pupils TO regress_b_outsider, regress_b_bypass;
CREATE FUNCTION su_names() RETURNS SETOF text LANGUAGE sql SECURITY DEFINER
	AS $$ SELECT id || ': ' || name::text FROM pupils ORDER BY id $$;
GRANT EXECUTE ON FUNCTION su_names() TO regress_b_outsider, regress_b_bypass;
SET ROLE regress_b_outsider;
SET childguard.purpose = 'homework';                  -- no grant: refused
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM names_of_all();                         -- the owner's grant is not lent
SELECT id, left(name::text, 4) AS name FROM all_pupils ORDER BY id;
SELECT left(n, 9) FROM su_names() n;
RESET childguard.purpose;                             -- and without a purpose:
SELECT * FROM names_of_all();                         -- no rows (row security of the owner)
SELECT id, left(name::text, 4) AS name FROM all_pupils ORDER BY id;   -- sealed form only
SELECT left(n, 9) FROM su_names() n;
SET ROLE regress_b_bypass;
SET childguard.purpose = 'homework';
SELECT * FROM names_of_all();                         -- the owner's function reads nothing for another role
SELECT id, name FROM all_pupils ORDER BY id;
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM su_names();
\echo :LAST_ERROR_SQLSTATE
-- 9. copies: CREATE TABLE AS refuses child data; copying ciphertext keeps its child
RESET ROLE;
SET ROLE regress_b_app;
SET childguard.purpose = 'homework';
CREATE TABLE copied AS SELECT * FROM pupils;
\echo :LAST_ERROR_SQLSTATE
CREATE TEMP TABLE copied_text AS SELECT id, name::text AS name FROM pupils;   -- k-1 only: k-2 is invisible
SELECT * FROM copied_text ORDER BY id;
-- 10. COPY TO: plaintext leaves only under an assessed transfer purpose
\set VERBOSITY sqlstate
COPY (SELECT id, name FROM pupils) TO STDOUT;
COPY pupils TO STDOUT;
SET ROLE regress_b_recorder;
SELECT childguard.record_consent('k-1', 'export', 'n', 'gk-1') > 0 AS ok;
SET ROLE regress_b_app;
SET childguard.purpose = 'export';                 -- a transfer, not yet assessed
COPY (SELECT id, name FROM pupils) TO STDOUT;
\set VERBOSITY default
COPY (SELECT id, name FROM pupils) TO STDOUT;
RESET ROLE;
SET ROLE regress_b_dpo;
SELECT childguard.record_assessment('export', 'DPIA 2026-11: recipient audited', 'external auditor',
                                    'regress exporter') > 0 AS ok;
SET ROLE regress_b_app;
SET childguard.purpose = 'export';
COPY (SELECT id, name FROM pupils ORDER BY id) TO STDOUT;
RESET childguard.purpose;
COPY (SELECT id, left(name::text, 4) FROM pupils ORDER BY id) TO STDOUT;   -- no rows without a purpose
RESET ROLE;
RESET childguard.purpose;
COPY (SELECT id, left(name::text, 4) FROM pupils ORDER BY id) TO STDOUT;   -- superuser, no purpose: sealed form

-- 11. a role with no rights on childguard's schema is not disturbed by it
SET client_min_messages = warning;
CREATE ROLE regress_b_nobody;
RESET client_min_messages;
SET ROLE regress_b_nobody;
SELECT 1 AS unrelated_query;
RESET ROLE;
CREATE TYPE regress_b_type AS (a int);     -- makes every backend look childguard up again
SET ROLE regress_b_nobody;
SELECT 2 AS unrelated_query;
SELECT count(*) FROM pupils;
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;
DROP TYPE regress_b_type;
DROP ROLE regress_b_nobody;

DEALLOCATE ALL;
DROP VIEW all_pupils;
DROP FUNCTION su_names();
DROP TABLE pupils CASCADE;
DROP FUNCTION names_of_all();
DROP OWNED BY regress_b_dpo, regress_b_app, regress_b_bypass, regress_b_outsider, regress_b_recorder CASCADE;
DROP ROLE regress_b_dpo, regress_b_app, regress_b_bypass, regress_b_outsider, regress_b_recorder;
\c contrib_regression
DROP DATABASE regress_bypass;
