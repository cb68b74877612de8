-- Red team (round 19): a cursor WITH HOLD keeps what its query computed
-- past the transaction.  A child_data column kept as it is stays an
-- envelope and is decided by each FETCH; but a value converted inside the
-- query (name::text, upper(), a condition or an order on it) was opened
-- under the committing transaction's context and, on the old code, handed
-- to every later FETCH: after the consent was withdrawn, to another role
-- without a grant, to a session without a purpose (the next client of a
-- transaction pool), with no decision.  Now such a cursor cannot be kept
-- (ZC580 at the commit that would keep it).  Plaintext used below:
-- 秘密一号 / 秘密学校; it must not appear in any FETCH's output.
SET client_min_messages = warning;
DROP DATABASE IF EXISTS regress_redteam_cursor;
CREATE DATABASE regress_redteam_cursor;
\c regress_redteam_cursor
SET client_min_messages = warning;
CREATE EXTENSION childguard CASCADE;
CREATE ROLE regress_rt_outsider;
RESET client_min_messages;
\set VERBOSITY terse
SELECT childguard.register_child('h-1', '2015-05-01') > 0 AS registered;
\i test/fixtures/regress_purpose.psql
SELECT pg_temp.consent_all() > 0 AS consents;
CREATE TABLE pupils (id text PRIMARY KEY, name childguard.child_data(name),
                     school childguard.child_data(school));
SELECT childguard.protect('pupils', 'id');
GRANT SELECT ON pupils TO regress_rt_outsider;
SET childguard.purpose = 'regress';
INSERT INTO pupils VALUES ('h-1', '秘密一号', '秘密学校');
RESET childguard.purpose;

-- 1. a transaction-scoped purpose (the pool's pattern), a conversion kept
BEGIN;
SET LOCAL childguard.purpose = 'regress';
DECLARE c1 CURSOR WITH HOLD FOR SELECT id, name::text AS n, upper(school::text) AS s FROM pupils;
COMMIT;
\echo :LAST_ERROR_SQLSTATE
SHOW childguard.purpose;
FETCH ALL FROM c1;                          -- no purpose now: nothing kept to fetch
-- 2. the same, fetched after a SET ROLE to a role without a grant
BEGIN;
SET LOCAL childguard.purpose = 'regress';
DECLARE c2 CURSOR WITH HOLD FOR SELECT id, name::text FROM pupils;
COMMIT;
SET ROLE regress_rt_outsider;
FETCH ALL FROM c2;
RESET ROLE;
-- 3. a condition and an order on the value, outside a transaction block
SET childguard.purpose = 'regress';
DECLARE c3 CURSOR WITH HOLD FOR SELECT id FROM pupils WHERE name LIKE '秘密%';
\echo :LAST_ERROR_SQLSTATE
DECLARE c4 CURSOR WITH HOLD FOR SELECT id, length(name::text) FROM pupils ORDER BY name;
\echo :LAST_ERROR_SQLSTATE
-- 4. rows already fetched inside the transaction: the rest is still kept
BEGIN;
DECLARE c5 CURSOR WITH HOLD FOR SELECT id, name::text FROM pupils;
FETCH 0 FROM c5;
COMMIT;
\echo :LAST_ERROR_SQLSTATE
-- 5. the allowed shape: the column itself, decided by each FETCH
BEGIN;
DECLARE c6 CURSOR WITH HOLD FOR SELECT id, name, school FROM pupils;
COMMIT;
FETCH 1 FROM c6;                             -- this session's purpose: plaintext
MOVE BACKWARD ALL IN c6;
RESET childguard.purpose;
FETCH 1 FROM c6 \gset nopurpose_
SELECT :'nopurpose_name' LIKE 'cg1:%' AS envelope, :'nopurpose_school' LIKE 'cg1:%' AS envelope;
MOVE BACKWARD ALL IN c6;
SET ROLE regress_rt_outsider;
FETCH 1 FROM c6 \gset outsider_
SELECT :'outsider_name' LIKE 'cg1:%' AS envelope, :'outsider_school' LIKE 'cg1:%' AS envelope;
RESET ROLE;
CLOSE c6;
-- a cursor without HOLD converts as before, within its transaction
SET childguard.purpose = 'regress';
BEGIN;
DECLARE c7 CURSOR FOR SELECT id, name::text FROM pupils;
FETCH ALL FROM c7;
COMMIT;
RESET childguard.purpose;
\c contrib_regression
DROP DATABASE regress_redteam_cursor;
DROP ROLE regress_rt_outsider;
