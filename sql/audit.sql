-- The audit trail: one record per statement that reads, is denied or
-- writes child data, surviving ROLLBACK and errors; hash chain; no role
-- can change the log; reports.  Audit lines are shown as NOTICEs
-- (childguard.audit_log_client).  A database of its own, so subject
-- numbers, grant ids and log ids below do not depend on other tests.
SET client_min_messages = warning;
DROP DATABASE IF EXISTS regress_audit;
CREATE DATABASE regress_audit;
\c regress_audit
SET client_min_messages = warning;
CREATE EXTENSION childguard CASCADE;
RESET client_min_messages;
\set VERBOSITY default
\set SHOW_CONTEXT never

SELECT childguard.register_child('a-1', '2015-05-01') AS a1,
       childguard.register_child('a-2', '2016-06-01') AS a2;
\i test/fixtures/regress_purpose.psql
SELECT pg_temp.consent_all() AS consents;
SELECT childguard.register_child('a-3', '2014-03-01') AS a3_no_consent;

CREATE TABLE pupils (id text PRIMARY KEY,
                     name childguard.child_data(name),
                     school childguard.child_data(school),
                     grade int);
SELECT childguard.protect('pupils', 'id');

-- the log starts here for this test
SELECT childguard.audit_wait();
SELECT coalesce(max(id), 0) AS start_id FROM childguard.access_log \gset

SET childguard.audit_log_client = on;
SET childguard.purpose = 'regress';

-- writes: one record, the children written
INSERT INTO pupils VALUES ('a-1', '小明', '第一小学', 3), ('a-2', '小红', '第二小学', 4);
-- a write refused for want of consent changes nothing.  (A failed
-- statement's record is built after its error is cleaned up, so its NOTICE
-- may reach psql before or after the error: the audit lines are off for
-- failing statements; their records are in the listing below.)
SET childguard.audit_log_client = off;
INSERT INTO pupils VALUES ('a-3', '小刚', '第三小学', 5);
\echo :LAST_ERROR_SQLSTATE
SET childguard.audit_log_client = on;

-- statements that touch no child data leave no record
SELECT id, grade FROM pupils ORDER BY id;
SELECT count(*) FROM pupils;

-- a read: one record, naming the children read
SELECT id, name FROM pupils ORDER BY id;

-- a read in a transaction that rolls back still leaves its record
BEGIN;
SELECT school FROM pupils WHERE id = 'a-1';
ROLLBACK;

-- a statement that fails after decrypting: outcome error, with its SQLSTATE
SET childguard.audit_log_client = off;
SELECT name::text::int FROM pupils;
\echo :LAST_ERROR_SQLSTATE
SET childguard.audit_log_client = on;

-- a cursor: the FETCH that decrypts is the statement recorded
BEGIN;
DECLARE c CURSOR FOR SELECT id, name FROM pupils ORDER BY id;
FETCH 1 FROM c;
FETCH 1 FROM c;
CLOSE c;
COMMIT;

-- a prepared statement
PREPARE school_of(text) AS SELECT school FROM pupils WHERE id = $1;
EXECUTE school_of('a-2');
DEALLOCATE school_of;

-- a function reading child data (counted for the statement that called it)
CREATE FUNCTION pupil_name(pupil text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE n text;
BEGIN
	SELECT name::text INTO n FROM pupils WHERE id = pupil;
	RETURN n;
END $$;
SELECT pupil_name('a-1') AS name;
-- the function's error is caught inside: the statement succeeds, one record
CREATE FUNCTION pupil_name_or_null(pupil text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
	RETURN (SELECT name::text::int FROM pupils WHERE id = pupil);
EXCEPTION WHEN invalid_text_representation THEN
	RETURN NULL;
END $$;
SELECT pupil_name_or_null('a-2') AS name;

-- COPY out (under a transfer purpose) and COPY in
SET childguard.purpose = 'regress_transfer';
COPY pupils (id, name) TO STDOUT;
COPY (SELECT school FROM pupils WHERE id = 'a-2') TO STDOUT;
DELETE FROM pupils WHERE id = 'a-2';
COPY pupils FROM STDIN;
a-2	小红	第二小学	4
\.
SET childguard.purpose = 'regress';

-- denied: consent for a-2 withdrawn
SET ROLE regress_fixture_recorder;                -- the grant holder may not withdraw for the guardian
SELECT childguard.withdraw_consent('a-2', 'regress', 'g-a-2') > 0 AS withdrawn;
RESET ROLE;
-- (the superuser bypasses row security, so the value-level decision
-- answers) reading it is refused: an error record, the child denied
SET childguard.audit_log_client = off;
SELECT name FROM pupils WHERE id = 'a-2';
SET childguard.audit_log_client = on;
-- withheld values shown as NULL: the statement is allowed for a-1 and
-- denied for a-2; when it gets nothing but a-2, it is a denied record
SET childguard.denied_read = 'null';
SELECT id, name FROM pupils ORDER BY id;
SELECT name FROM pupils WHERE id = 'a-2';
RESET childguard.denied_read;

RESET childguard.audit_log_client;
RESET childguard.purpose;
SELECT childguard.audit_wait();

-- what the log holds, statement by statement
SELECT id - :start_id AS n, command, outcome, sqlstate, purpose, grant_id, relations, columns,
       children_read, children_denied, children_written, children, rows,
       session_role = current_user AS session_role_ok, acting_role = current_user AS acting_role_ok,
       client_addr IS NOT NULL AS has_client, query_id IS NOT NULL AS has_query_id,
       statement_at <= logged_at AS ordered, pg_catalog.length(hash) AS hash_bytes
  FROM childguard.access_log WHERE id > :start_id ORDER BY id;
-- and per child, by the application's ids
SELECT id - :start_id AS n, command, access, child_id
  FROM childguard.access_log_children WHERE id > :start_id ORDER BY id, access, child_id;

-- the chain verifies
SELECT valid, records_checked >= 15 AS checked, broken_id, reason FROM childguard.verify_access_log();
-- a fresh 1.8 install writes chain format 4 only (docs/audit.md, "Chain formats")
SELECT array_agg(DISTINCT format_version) AS format_versions FROM childguard.access_log;
SELECT records_by_format[1] AS format_1, records_by_format[2] AS format_2,
       records_by_format[3] AS format_3, records_by_format[4] = records_checked AS format_4_is_all
  FROM childguard.verify_access_log();

-------------------------------------------------------------------------------
-- Nobody changes the log: not the superuser, not the owner, not an officer,
-- not an application role
-------------------------------------------------------------------------------
UPDATE childguard.access_log SET purpose = 'forged' WHERE id = :start_id + 1;
\echo :LAST_ERROR_SQLSTATE
DELETE FROM childguard.access_log WHERE id = :start_id + 1;
\echo :LAST_ERROR_SQLSTATE
TRUNCATE childguard.access_log;
\echo :LAST_ERROR_SQLSTATE
INSERT INTO childguard.access_log SELECT * FROM childguard.access_log WHERE id = :start_id + 1;
\echo :LAST_ERROR_SQLSTATE
COPY childguard.access_log (id) FROM STDIN;
0
\.
\echo :LAST_ERROR_SQLSTATE
WITH d AS (DELETE FROM childguard.access_log RETURNING 1) SELECT count(*) FROM d;
\echo :LAST_ERROR_SQLSTATE
MERGE INTO childguard.access_log l USING (SELECT 1) s ON true WHEN MATCHED THEN DELETE;
\echo :LAST_ERROR_SQLSTATE
UPDATE childguard.access_log_head SET last_id = 0;
\echo :LAST_ERROR_SQLSTATE
DELETE FROM childguard.access_log_head;
\echo :LAST_ERROR_SQLSTATE
TRUNCATE childguard.access_log_head;
\echo :LAST_ERROR_SQLSTATE
SET session_replication_role = replica;
DELETE FROM childguard.access_log WHERE id = :start_id + 1;
\echo :LAST_ERROR_SQLSTATE
RESET session_replication_role;
-- switching the guard off, or working around it, is refused too
ALTER TABLE childguard.access_log DISABLE TRIGGER access_log_guard;
\echo :LAST_ERROR_SQLSTATE
ALTER TABLE childguard.access_log DISABLE TRIGGER ALL;
\echo :LAST_ERROR_SQLSTATE
DROP TRIGGER access_log_guard ON childguard.access_log;
\echo :LAST_ERROR_SQLSTATE
CREATE RULE no_log AS ON INSERT TO childguard.access_log DO INSTEAD NOTHING;
\echo :LAST_ERROR_SQLSTATE
CREATE TRIGGER drop_all BEFORE INSERT ON childguard.access_log
	FOR EACH ROW EXECUTE FUNCTION suppress_redundant_updates_trigger();
\echo :LAST_ERROR_SQLSTATE
ALTER TABLE childguard.access_log RENAME TO old_log;
\echo :LAST_ERROR_SQLSTATE
DROP TABLE childguard.access_log_head;
\echo :LAST_ERROR_SQLSTATE
-- nor can a session switch auditing off, or make it asynchronous, for itself
SET childguard.audit = off;
\echo :LAST_ERROR_SQLSTATE
SET childguard.audit_sync = off;
\echo :LAST_ERROR_SQLSTATE
SET childguard.audit_queue_full = 'wait';
\echo :LAST_ERROR_SQLSTATE

CREATE ROLE regress_audit_dpo;
CREATE ROLE regress_audit_app;
SELECT childguard.appoint_officer('regress_audit_dpo');
SELECT childguard.enroll_application('regress_audit_app');
SET ROLE regress_audit_dpo;
-- the officer reads the log, verifies it, and cannot change it
SELECT count(*) > 0 AS officer_reads FROM childguard.access_log WHERE id > :start_id;
SELECT valid FROM childguard.verify_access_log();
UPDATE childguard.access_log SET purpose = 'forged';
\echo :LAST_ERROR_SQLSTATE
DELETE FROM childguard.access_log;
\echo :LAST_ERROR_SQLSTATE
TRUNCATE childguard.access_log;
\echo :LAST_ERROR_SQLSTATE
INSERT INTO childguard.access_log (id) VALUES (0);
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;
SET ROLE regress_audit_app;
-- the application neither reads nor changes it
SELECT count(*) FROM childguard.access_log;
\echo :LAST_ERROR_SQLSTATE
UPDATE childguard.access_log SET purpose = 'forged';
\echo :LAST_ERROR_SQLSTATE
DELETE FROM childguard.access_log;
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM childguard.verify_access_log();
\echo :LAST_ERROR_SQLSTATE
SELECT childguard.child_report('a-1');
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;
SELECT valid, reason FROM childguard.verify_access_log();

-------------------------------------------------------------------------------
-- Tampering below SQL (a superuser editing the catalogs to switch the guard
-- off) is found by verify_access_log(): an edit, a deletion in the middle,
-- the newest records removed.  Each in a transaction that rolls back, in a
-- fresh session (the catalog edit is seen only by a session that loads the
-- table afresh).
-------------------------------------------------------------------------------
-- From 1.8 the records are packed, one row of childguard.access_log_batch
-- per writer batch (chain format 4; test/fixtures/packed_log.psql edits a
-- record's bytes inside its batch).
\c
\set VERBOSITY default
\set SHOW_CONTEXT never
BEGIN;
UPDATE pg_trigger SET tgenabled = 'D' WHERE tgrelid = 'childguard.access_log_batch'::regclass;
\i test/fixtures/packed_log.psql
-- one byte of record 3's session role
SELECT pg_temp.flip_record_byte(:start_id + 3, 24);
SELECT valid, broken_id - :start_id AS broken_n, reason ~ 'altered' AS altered FROM childguard.verify_access_log();
ROLLBACK;
\c
\set VERBOSITY default
\set SHOW_CONTEXT never
BEGIN;
UPDATE pg_trigger SET tgenabled = 'D' WHERE tgrelid = 'childguard.access_log_batch'::regclass;
\i test/fixtures/packed_log.psql
-- record 4 cut out of its batch
SELECT pg_temp.cut_record(:start_id + 4);
SELECT valid, broken_id - :start_id AS broken_n, reason ~ 'missing' AS missing FROM childguard.verify_access_log();
ROLLBACK;
\c
\set VERBOSITY default
\set SHOW_CONTEXT never
BEGIN;
UPDATE pg_trigger SET tgenabled = 'D' WHERE tgrelid = 'childguard.access_log_batch'::regclass;
SELECT max(first_id) AS last_batch FROM childguard.access_log_batch \gset
-- the newest batch deleted
DELETE FROM childguard.access_log_batch WHERE first_id = :last_batch;
SELECT valid, broken_id = :last_batch AS names_first, reason ~ 'newest' AS newest FROM childguard.verify_access_log();
ROLLBACK;
\c
\set VERBOSITY default
\set SHOW_CONTEXT never
BEGIN;
UPDATE pg_trigger SET tgenabled = 'D' WHERE tgrelid = 'childguard.access_log_batch'::regclass;
\i test/fixtures/packed_log.psql
-- a forged link with a consistent-looking hash still breaks the chain
UPDATE childguard.access_log_batch SET prev_hash = sha256('x') WHERE first_id = pg_temp.batch_of(:start_id + 2);
SELECT valid, broken_id = pg_temp.batch_of(:start_id + 2) AS names_batch, reason ~ 'link' AS link FROM childguard.verify_access_log();
ROLLBACK;
\c
\set VERBOSITY default
\set SHOW_CONTEXT never
SELECT valid, reason FROM childguard.verify_access_log();

-------------------------------------------------------------------------------
-- Reports
-------------------------------------------------------------------------------
SELECT r->'child'->>'child_id' AS child_id,
       jsonb_array_length(r->'guardians') AS guardians,
       jsonb_array_length(r->'consents') AS consents,
       r->'data_held' AS data_held
  FROM childguard.child_report('a-1') r;
SELECT a->>'command' AS command, a->'access' AS access, a->>'outcome' AS outcome
  FROM childguard.child_report('a-2') r, jsonb_array_elements(r->'accesses') a
 WHERE (a->>'id')::bigint > :start_id ORDER BY (a->>'id')::bigint;
SELECT childguard.child_report('nobody');
\echo :LAST_ERROR_SQLSTATE

SELECT child_id, guardians, statements, relations, columns, first_access <= last_access AS ordered
  FROM childguard.breach_impact(ARRAY[current_user::text], now() - interval '1 hour', now() + interval '1 hour')
 WHERE child_id LIKE 'a-%';
SELECT count(*) FROM childguard.breach_impact(ARRAY['regress_nobody'], now() - interval '1 hour', now());
SELECT count(*) FROM childguard.breach_impact(ARRAY[current_user::text], now(), now() - interval '1 hour');
\echo :LAST_ERROR_SQLSTATE

SELECT role_name = current_user AS me, purpose, statements >= 12 AS statements,
       allowed > 0 AS allowed, denied > 0 AS denied, errors > 0 AS errors,
       children_read > 0 AS read, children_written > 0 AS written
  FROM childguard.access_summary WHERE purpose = 'regress' AND day = (now() AT TIME ZONE 'UTC')::date;

-- a dismissed officer loses the log
SELECT childguard.dismiss_officer('regress_audit_dpo');
SET ROLE regress_audit_dpo;
SELECT count(*) FROM childguard.access_log;
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;

DROP FUNCTION pupil_name(text), pupil_name_or_null(text);
DROP TABLE pupils;
DROP OWNED BY regress_audit_dpo, regress_audit_app;
DROP ROLE regress_audit_dpo, regress_audit_app;
\c contrib_regression
DROP DATABASE regress_audit;
