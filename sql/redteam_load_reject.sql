-- load_rows()'s register of rejections (round 20, loose end 1):
-- _load_reject_add() is SECURITY DEFINER and was executable by PUBLIC, so
-- any role could add rows to childguard.load_reject naming any load,
-- table, child and SQLSTATE.  Now only enrolled applications and officers
-- (directly or through membership) may call it, and only as load_rows()
-- does (ZC562, nothing written).  Routes: a role that is not enrolled
-- (42501); an enrolled application calling it directly with a load it did
-- not number, without a purpose, for a table that is not protected, for a
-- protected table it may not insert into, with a SQLSTATE load_rows() does
-- not record, with lists of different lengths; after unenrollment.  And
-- load_rows() itself still records rejections for an enrolled application
-- and for a role that is a member of one.  On the old code every direct
-- call succeeds (rows written).
SET client_min_messages = warning;
DROP DATABASE IF EXISTS regress_load_reject;
CREATE DATABASE regress_load_reject;
\c regress_load_reject
SET client_min_messages = warning;
CREATE EXTENSION childguard CASCADE;
DROP ROLE IF EXISTS regress_lr_dpo;
DROP ROLE IF EXISTS regress_lr_app;
DROP ROLE IF EXISTS regress_lr_rec;
DROP ROLE IF EXISTS regress_lr_nobody;
DROP ROLE IF EXISTS regress_lr_member;
CREATE ROLE regress_lr_dpo;
CREATE ROLE regress_lr_app;
CREATE ROLE regress_lr_rec;
CREATE ROLE regress_lr_nobody;
CREATE ROLE regress_lr_member IN ROLE regress_lr_app;
RESET client_min_messages;
\set VERBOSITY terse
\set SHOW_CONTEXT never
SELECT childguard.appoint_officer('regress_lr_dpo');
SELECT childguard.enroll_application('regress_lr_app');
SELECT childguard.enroll_consent_recorder('regress_lr_rec');
GRANT CREATE ON SCHEMA public TO regress_lr_app;
SET ROLE regress_lr_dpo;
SELECT childguard.define_purpose('tutoring', '{name}', '2 years');
SELECT childguard.publish_notice('n1', '{tutoring}', 'a', 'b', 'c', 'd', 'e', 'f', 'g');
RESET ROLE;
SET ROLE regress_lr_app;
SELECT childguard.request_access('regress_lr_app', '{tutoring}', now() + interval '1 day') AS g \gset
SELECT count(childguard.register_child('k' || i, (current_date - interval '9 years')::date)) FROM generate_series(1, 3) i;
RESET ROLE;
SET ROLE regress_lr_dpo;
SELECT childguard.approve_access(:g);
RESET ROLE;
SET ROLE regress_lr_rec;
SELECT count(childguard.register_guardian('g' || i, 'k' || i)) FROM generate_series(1, 3) i;
SELECT count(childguard.record_consent('k' || i, 'tutoring', 'n1', 'g' || i)) FROM generate_series(1, 2) i;
RESET ROLE;
SET ROLE regress_lr_app;
CREATE TABLE pupils (id text PRIMARY KEY, name childguard.child_data(name));
SELECT childguard.protect('pupils', 'id');
CREATE TABLE plain (id text, name text);
CREATE TABLE other (id text PRIMARY KEY, name childguard.child_data(name));
SELECT childguard.protect('other', 'id');
REVOKE INSERT ON other FROM regress_lr_app;
GRANT SELECT, INSERT ON pupils TO regress_lr_member;
RESET ROLE;

-- who may call it
SELECT r AS role, has_function_privilege(r, 'childguard._load_reject_add(bigint,regclass,bigint[],text[],text[])', 'EXECUTE') AS may_call
  FROM unnest('{regress_lr_nobody,regress_lr_rec,regress_lr_app,regress_lr_member,regress_lr_dpo}'::text[]) r;
-- 1. roles that are not enrolled applications: one with the schema's
-- USAGE, and a consent recorder
GRANT USAGE ON SCHEMA childguard TO regress_lr_nobody;
SET ROLE regress_lr_nobody;
SELECT nextval('childguard.load_id_seq') AS lid \gset
SELECT childguard._load_reject_add(:lid, 'pupils', '{1}', '{k1}', '{ZC011}');
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;
SET ROLE regress_lr_rec;
SELECT nextval('childguard.load_id_seq') AS lid \gset
SELECT childguard._load_reject_add(:lid, 'pupils', '{1}', '{k1}', '{ZC011}');
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;
-- 2. an enrolled application calling it directly
SET ROLE regress_lr_app;
SELECT childguard._load_reject_add(1, 'pupils', '{1}', '{k1}', '{ZC011}');        -- no load numbered
\echo :LAST_ERROR_SQLSTATE
SELECT nextval('childguard.load_id_seq') AS lid \gset
SELECT childguard._load_reject_add(:lid - 1, 'pupils', '{1}', '{k1}', '{ZC011}'); -- not the session's last
\echo :LAST_ERROR_SQLSTATE
SELECT childguard._load_reject_add(:lid, 'pupils', '{1}', '{k1}', '{ZC011}');     -- no purpose
\echo :LAST_ERROR_SQLSTATE
SET childguard.purpose = 'tutoring';
SELECT childguard._load_reject_add(:lid, 'plain', '{1}', '{k1}', '{ZC011}');      -- not protected
\echo :LAST_ERROR_SQLSTATE
SELECT childguard._load_reject_add(:lid, 'other', '{1}', '{k1}', '{ZC011}');      -- no INSERT on it
\echo :LAST_ERROR_SQLSTATE
SELECT childguard._load_reject_add(:lid, 'pupils', '{1}', '{k1}', '{XX000}');     -- not a row's SQLSTATE
\echo :LAST_ERROR_SQLSTATE
SELECT childguard._load_reject_add(:lid, 'pupils', '{1,2}', '{k1}', '{ZC011,ZC011}'); -- lengths differ
\echo :LAST_ERROR_SQLSTATE
SELECT childguard._load_reject_add(:lid, NULL, '{1}', '{k1}', '{ZC011}');          -- no target
\echo :LAST_ERROR_SQLSTATE
-- nothing was written by any of them
SELECT count(*) AS forged_rows FROM childguard.load_reject;
RESET childguard.purpose;
RESET ROLE;
SELECT count(*) AS forged_rows_any_role FROM childguard.load_reject;

-- 3. load_rows() still records its rejections: the application, and a
-- role that is a member of it
SET ROLE regress_lr_app;
SET childguard.purpose = 'tutoring';
CREATE TEMP TABLE s1 (row_no bigint, id text, name text);
INSERT INTO s1 VALUES (1, 'k1', 'LRMARK-1'), (2, 'k3', 'LRMARK-3'), (3, 'k99', 'LRMARK-99');
SELECT loaded, rejected FROM childguard.load_rows('pupils', 's1');
SELECT row_no, child, sqlstate FROM childguard.load_reject ORDER BY row_no;
RESET childguard.purpose;
RESET ROLE;
SET ROLE regress_lr_member;
SET childguard.purpose = 'tutoring';
CREATE TEMP TABLE s2 (id text, name text);
INSERT INTO s2 VALUES ('k2', 'LRMARK-2'), ('k3', 'LRMARK-3b');
SELECT loaded, rejected FROM childguard.load_rows('pupils', 's2');
SELECT row_no, child, sqlstate FROM childguard.load_reject ORDER BY row_no;
RESET childguard.purpose;
RESET ROLE;

-- 4. unenrolled: the function goes with the other application functions
SELECT childguard.unenroll('regress_lr_app', 'application');
SELECT has_function_privilege('regress_lr_app', 'childguard._load_reject_add(bigint,regclass,bigint[],text[],text[])', 'EXECUTE') AS app_may_call;

\c contrib_regression
SET client_min_messages = warning;
DROP DATABASE regress_load_reject;
DROP ROLE regress_lr_dpo;
DROP ROLE regress_lr_app;
DROP ROLE regress_lr_rec;
DROP ROLE regress_lr_nobody;
DROP ROLE regress_lr_member;
