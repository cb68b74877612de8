-- Red team (round 19): a protected table made the child of a table that is
-- not protected.  PostgreSQL applies the row security of the table a query
-- names: a query of an inheritance parent or a partitioned table reads its
-- children's rows under the parent's policies, not theirs.  On the old
-- code the owner (no grant, no purpose) attached its protected table under
-- a parent of its own (ALTER TABLE ... INHERIT, ATTACH PARTITION) and read
-- through the parent the rows childguard's row security hides: every
-- child's id and non-child columns, withdrawn children's included.  Now a
-- table whose parent is not protected is not protected (protection_problem
-- says why), so the DDL guard refuses both statements (ZC400).
SET client_min_messages = warning;
DROP DATABASE IF EXISTS regress_redteam_inherit;
CREATE DATABASE regress_redteam_inherit;
\c regress_redteam_inherit
SET client_min_messages = warning;
CREATE EXTENSION childguard CASCADE;
CREATE ROLE regress_rt_owner;
RESET client_min_messages;
\set VERBOSITY terse
SELECT count(childguard.register_child(c, '2015-05-01')) AS registered
  FROM unnest(ARRAY['i-1', 'i-2']) c;
\i test/fixtures/regress_purpose.psql
SELECT pg_temp.consent_all() > 0 AS consents;
SELECT childguard.enroll_application('regress_rt_owner');
GRANT CREATE ON SCHEMA public TO regress_rt_owner;
SET ROLE regress_rt_owner;
CREATE TABLE kids (id text, name childguard.child_data(name), grade int);
SELECT childguard.protect('kids', 'id');
CREATE TABLE pkids (id text, name childguard.child_data(name), grade int) PARTITION BY LIST (id);
SELECT childguard.protect('pkids', 'id');
CREATE TABLE kids_p (id text, name childguard.child_data(name), grade int);
SELECT childguard.protect('kids_p', 'id');
GRANT SELECT, INSERT ON kids, kids_p TO PUBLIC;
RESET ROLE;
SET childguard.purpose = 'regress';
INSERT INTO kids VALUES ('i-1', '秘密甲', 1), ('i-2', '秘密乙', 2);
INSERT INTO kids_p VALUES ('i-1', '秘密丙', 3);
RESET childguard.purpose;

SET ROLE regress_rt_owner;
SELECT id, grade FROM kids;                   -- no purpose: no rows
-- 1. INHERIT a parent without child data
CREATE TABLE loot (id text, grade int);
ALTER TABLE kids INHERIT loot;
\echo :LAST_ERROR_SQLSTATE
SELECT id, grade FROM loot ORDER BY id;       -- the old code: i-1 and i-2
-- ... or with the same columns
CREATE TABLE loot2 (id text, name childguard.child_data(name), grade int);
ALTER TABLE kids INHERIT loot2;
\echo :LAST_ERROR_SQLSTATE
SELECT id, grade FROM loot2 ORDER BY id;
-- 2. ATTACH PARTITION under a partitioned table of its own
CREATE TABLE lootp (id text, name childguard.child_data(name), grade int) PARTITION BY LIST (id);
ALTER TABLE lootp ATTACH PARTITION kids_p FOR VALUES IN ('i-1', 'i-2');
\echo :LAST_ERROR_SQLSTATE
SELECT id, grade FROM lootp ORDER BY id;
-- 3. a table created under such a parent cannot be protected
CREATE TABLE kids3 (name childguard.child_data(name)) INHERITS (loot);
SELECT childguard.protect('kids3', 'id');
SELECT childguard.protection_problem('kids3');
CREATE TABLE kids4 PARTITION OF lootp FOR VALUES IN ('i-9');
SELECT childguard.protect('kids4', 'id');
SELECT childguard.protection_problem('kids4');
-- what stays allowed: a protected table's own inheritance children, and a
-- partition under a protected partitioned table is not refused for its parent
CREATE TABLE pkids_1 PARTITION OF pkids FOR VALUES IN ('i-1');
SELECT coalesce(childguard.protection_problem('pkids_1'), '') LIKE '%child of%' AS refused_for_parent;
CREATE TABLE kids_child () INHERITS (kids);
SELECT childguard.protect('kids_child', 'id');
SELECT childguard.protection_problem('kids_child') IS NULL AS protected;
SELECT p.relname, childguard.protection_problem(p.oid) IS NULL AS protected
  FROM pg_class p WHERE p.relname IN ('kids', 'kids_p') ORDER BY 1;
RESET ROLE;
\c contrib_regression
DROP DATABASE regress_redteam_inherit;
DROP ROLE regress_rt_owner;
