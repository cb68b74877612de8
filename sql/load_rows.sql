-- load_rows() (issue 13, item 6): an application role loads a staging
-- table into a protected table -- COPY FROM is refused to it under row
-- security -- and each row that cannot be loaded is reported instead of
-- aborting the load: unknown or erased child, no consent, a bad value, a
-- duplicate key.  Runs as the caller (its privileges, purpose and grant).
-- (On the old code load_rows() does not exist.)
SET client_min_messages = warning;
DROP DATABASE IF EXISTS regress_load;
CREATE DATABASE regress_load;
\c regress_load
SET client_min_messages = warning;
CREATE EXTENSION childguard CASCADE;
CREATE ROLE regress_load_dpo;
CREATE ROLE regress_load_app;
CREATE ROLE regress_load_rec;
CREATE ROLE regress_load_other;
RESET client_min_messages;
\set VERBOSITY terse
SELECT childguard.appoint_officer('regress_load_dpo');
SELECT childguard.enroll_application('regress_load_app');
SELECT childguard.enroll_application('regress_load_other');
SELECT childguard.enroll_consent_recorder('regress_load_rec');
GRANT CREATE ON SCHEMA public TO regress_load_app, regress_load_other;
SET ROLE regress_load_dpo;
SELECT childguard.define_purpose('tutoring', '{name}', '2 years');
SELECT childguard.define_purpose('games', '{other}', '1 year');
SELECT childguard.publish_notice('n1', '{tutoring,games}', 'a', 'b', 'c', 'd', 'e', 'f', 'g');
RESET ROLE;
SET ROLE regress_load_app;
SELECT childguard.request_access('regress_load_app', '{tutoring,games}', now() + interval '1 day') AS g \gset
SELECT count(childguard.register_child('k' || i, (current_date - interval '9 years')::date)) FROM generate_series(1, 6) i;
RESET ROLE;
SET ROLE regress_load_dpo;
SELECT childguard.approve_access(:g);
RESET ROLE;
SET ROLE regress_load_rec;
SELECT count(childguard.register_guardian('g' || i, 'k' || i)) FROM generate_series(1, 6) i;
-- k1..k5 consent to tutoring; k6 does not
SELECT count(childguard.record_consent('k' || i, 'tutoring', 'n1', 'g' || i)) FROM generate_series(1, 5) i;
SELECT childguard.record_consent('k1', 'games', 'n1', 'g1') > 0 AS consented;
RESET ROLE;

SET ROLE regress_load_app;
CREATE TABLE pupils (id text PRIMARY KEY, name childguard.child_data(name), class int NOT NULL);
SELECT childguard.protect('pupils', 'id');
SET childguard.purpose = 'tutoring';
INSERT INTO pupils VALUES ('k5', 'Eve', 1);
-- COPY FROM: refused to a role under row security (PostgreSQL's rule)
COPY pupils FROM STDIN;
k1	LOADMARK-Ann	1
\.
\echo :LAST_ERROR_SQLSTATE
-- the staging table: text columns named after the target's, a row number
CREATE TEMP TABLE s_pupils (row_no bigint, id text, name text, class text);
COPY s_pupils FROM STDIN;
1	k1	LOADMARK-Ann	1
2	k2	LOADMARK-Bo	2
3	k99	LOADMARK-Unknown	2
4	k6	LOADMARK-NoConsent	3
5	k3	LOADMARK-Cy	three
6	k5	LOADMARK-Dup	1
7	\N	LOADMARK-NoChild	1
8	k4	LOADMARK-Di	\N
9	k4	LOADMARK-Di	4
\.
SELECT * FROM childguard.load_rows('pupils', 's_pupils') \gset
SELECT :loaded AS loaded, :rejected AS rejected;
SELECT row_no, child, sqlstate, reason FROM childguard.load_reject WHERE load_id = :load_id ORDER BY row_no;
-- no value in the report
SELECT count(*) AS values_in_report FROM childguard.load_reject r WHERE r::text LIKE '%LOADMARK%';
-- the good rows are in, sealed, readable under the purpose
SELECT id, name, class FROM pupils ORDER BY id;
RESET childguard.purpose;
RESET ROLE;
SELECT id, (childguard.envelope_info(name)).pending, name::text LIKE 'cg1:%' AS envelope FROM pupils ORDER BY id;
-- another role sees none of these rejects
SET ROLE regress_load_other;
SELECT count(*) AS others_see FROM childguard.load_reject;
-- ... and cannot load into a table it may not write, nor forge a reject
SET childguard.purpose = 'tutoring';
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;
SET ROLE regress_load_app;
GRANT SELECT ON s_pupils TO regress_load_other;
RESET ROLE;
SET ROLE regress_load_other;
INSERT INTO childguard.load_reject (load_id, target, row_no, sqlstate, reason, loaded_by)
VALUES (1, 'pupils', 1, 'x', 'forged', 10);
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;

-- statement-wide refusals change nothing
SET ROLE regress_load_app;
CREATE TEMP TABLE s2 (id text, name text, class int);
INSERT INTO s2 VALUES ('k1', 'LOADMARK-x', 1);
RESET childguard.purpose;
SELECT * FROM childguard.load_rows('pupils', 's2');                 -- no purpose
\echo :LAST_ERROR_SQLSTATE
SET childguard.purpose = 'games';
SELECT loaded FROM childguard.load_rows('pupils', 's2');            -- the purpose does not need names
\echo :LAST_ERROR_SQLSTATE
SET childguard.purpose = 'tutoring';
CREATE TEMP TABLE s3 (id text, nickname text);
SELECT * FROM childguard.load_rows('pupils', 's3');                 -- a column the target has not
\echo :LAST_ERROR_SQLSTATE
CREATE TEMP TABLE s4 (name text, class int);
SELECT * FROM childguard.load_rows('pupils', 's4');                 -- no subject column
\echo :LAST_ERROR_SQLSTATE
CREATE TABLE plain (id text, name text);
SELECT * FROM childguard.load_rows('plain', 's2');                  -- not protected
\echo :LAST_ERROR_SQLSTATE
SELECT count(*) AS rows_after FROM pupils;
-- without row_no, rows are numbered in their physical order
CREATE TEMP TABLE s5 (id text, name text, class int);
INSERT INTO s5 VALUES ('k6', 'LOADMARK-a', 1), ('k3', 'LOADMARK-Cy', 2);
SELECT loaded, rejected FROM childguard.load_rows('pupils', 's5');
SELECT row_no, child, sqlstate FROM childguard.load_reject
 WHERE load_id = (SELECT max(load_id) FROM childguard.load_reject);
SELECT id, name FROM pupils WHERE id = 'k3';
RESET ROLE;

DROP OWNED BY regress_load_dpo, regress_load_app, regress_load_rec, regress_load_other CASCADE;
DROP ROLE regress_load_dpo, regress_load_app, regress_load_rec, regress_load_other;
\c contrib_regression
DROP DATABASE regress_load;
