-- Schema tools and protection (issue 13, item 4): DDL that would leave a
-- protected table unprotected -- an ORM's ALTER COLUMN ... TYPE
-- childguard.child_data without a category, a child_data column added
-- without one, the seal trigger or row policies dropped, altered or
-- disabled, row security off, the subject column renamed or dropped -- is
-- refused (ZC400) for every role, by any route, and changes nothing;
-- childguard's own objects change only through its scripts (ZC401); catalog
-- edits by a superuser are caught at write time and in the status.
-- (a database of its own: the children it registers must not change the
-- subject numbers other tests expect)
SET client_min_messages = warning;
DROP DATABASE IF EXISTS regress_orm_ddl;
CREATE DATABASE regress_orm_ddl;
\c regress_orm_ddl
SET client_min_messages = warning;
CREATE EXTENSION childguard CASCADE;
RESET client_min_messages;
\set VERBOSITY terse
\set SHOW_CONTEXT never

SELECT childguard.register_child('o-1', '2015-05-01') > 0 AS registered;
\i test/fixtures/regress_purpose.psql
SELECT pg_temp.consent_all() > 0 AS consents;
CREATE TABLE kids (id text PRIMARY KEY,
                   name childguard.child_data(name),
                   school childguard.child_data(school),
                   note text,
                   grade int);
SELECT childguard.protect('kids', 'id');
SET childguard.purpose = 'regress';
INSERT INTO kids VALUES ('o-1', '小明', '第一小学', NULL, 3);
RESET childguard.purpose;
CREATE FUNCTION pg_temp.status() RETURNS TABLE (protected boolean, problem text) LANGUAGE sql AS $$
  SELECT bool_and(is_protected), childguard.protection_problem('kids')
    FROM childguard.protected_columns WHERE table_name = 'kids'::regclass $$;
SELECT * FROM pg_temp.status();

-- the ORM's forms, with the whole message once
\set VERBOSITY default
ALTER TABLE kids ALTER COLUMN name TYPE childguard.child_data;
\set VERBOSITY terse
\echo :LAST_ERROR_SQLSTATE
ALTER TABLE kids ALTER COLUMN name TYPE childguard.child_data USING name;
ALTER TABLE kids ALTER COLUMN note TYPE childguard.child_data;
ALTER TABLE kids ADD COLUMN nick childguard.child_data;
ALTER TABLE kids ADD COLUMN nick childguard.child_data DEFAULT NULL, ADD COLUMN age int;
-- a category given: fine, the table stays protected
ALTER TABLE kids ADD COLUMN nick childguard.child_data(name);
ALTER TABLE kids ALTER COLUMN name TYPE childguard.child_data(name);
ALTER TABLE kids DROP COLUMN nick;
SELECT * FROM pg_temp.status();

-- the seal trigger
DROP TRIGGER zz_childguard_seal ON kids;
ALTER TABLE kids DISABLE TRIGGER zz_childguard_seal;
ALTER TABLE kids DISABLE TRIGGER ALL;
ALTER TABLE kids ENABLE TRIGGER zz_childguard_seal;
ALTER TABLE kids ENABLE REPLICA TRIGGER zz_childguard_seal;
ALTER TRIGGER zz_childguard_seal ON kids RENAME TO seal;
CREATE OR REPLACE TRIGGER zz_childguard_seal BEFORE INSERT OR UPDATE ON kids
  FOR EACH ROW EXECUTE FUNCTION childguard.seal_row('id');
DROP FUNCTION childguard.seal_row() CASCADE;
-- row security and the row policies
ALTER TABLE kids DISABLE ROW LEVEL SECURITY;
ALTER TABLE kids NO FORCE ROW LEVEL SECURITY;
ALTER TABLE kids ADD COLUMN age int, NO FORCE ROW LEVEL SECURITY;
DROP POLICY childguard_consent ON kids;
DROP POLICY childguard_consent_update ON kids;
ALTER POLICY childguard_consent ON kids USING (true);
ALTER POLICY childguard_consent ON kids TO regress_fixture_dpo;
DROP FUNCTION childguard.row_visible(text) CASCADE;
-- the subject column
ALTER TABLE kids RENAME COLUMN id TO child_id;
ALTER TABLE kids DROP COLUMN id CASCADE;
-- nothing of it happened
SELECT * FROM pg_temp.status();
SELECT count(*) AS columns FROM pg_attribute WHERE attrelid = 'kids'::regclass AND attnum > 0 AND NOT attisdropped;

-- other routes: a DO block, a function called by a query, an error caught
-- inside the same statement, a transaction, a prepared statement's EXECUTE
DO $$ BEGIN EXECUTE 'ALTER TABLE kids NO FORCE ROW LEVEL SECURITY'; END $$;
CREATE FUNCTION pg_temp.drop_policy() RETURNS int LANGUAGE plpgsql AS $$
BEGIN EXECUTE 'DROP POLICY childguard_consent ON kids'; RETURN 1; END $$;
SELECT pg_temp.drop_policy();
DO $$
BEGIN
	EXECUTE 'ALTER TABLE kids DISABLE ROW LEVEL SECURITY';
	BEGIN
		PERFORM 1 / 0;
	EXCEPTION WHEN division_by_zero THEN NULL;
	END;
END $$;
DO $$
BEGIN
	BEGIN
		EXECUTE 'ALTER TABLE kids ALTER COLUMN name TYPE childguard.child_data';
		PERFORM 1 / 0;
	EXCEPTION WHEN division_by_zero THEN NULL;
	END;
	EXECUTE 'ALTER TABLE kids ALTER COLUMN school TYPE childguard.child_data';
END $$;
BEGIN;
ALTER TABLE kids ADD COLUMN age int;
ALTER TABLE kids DISABLE ROW LEVEL SECURITY;
ROLLBACK;
BEGIN;
SAVEPOINT s;
ALTER TABLE kids DISABLE ROW LEVEL SECURITY;
ROLLBACK TO s;
COMMIT;
-- unprotect() undone by a rolled-back subtransaction lends no exemption
DO $$
BEGIN
	BEGIN
		PERFORM childguard.unprotect('kids');
		PERFORM 1 / 0;
	EXCEPTION WHEN division_by_zero THEN NULL;
	END;
	EXECUTE 'ALTER TABLE kids DISABLE ROW LEVEL SECURITY';
END $$;
-- a cursor's query that runs DDL: caught at COMMIT at the latest
BEGIN;
DECLARE c CURSOR FOR SELECT pg_temp.drop_policy();
FETCH c;
COMMIT;
SELECT * FROM pg_temp.status();

-- the table's owner, not a superuser: the same
CREATE ROLE regress_orm_owner;
GRANT USAGE ON SCHEMA childguard TO regress_orm_owner;
GRANT CREATE ON SCHEMA public TO regress_orm_owner;
ALTER TABLE kids OWNER TO regress_orm_owner;
SET ROLE regress_orm_owner;
ALTER TABLE kids ALTER COLUMN name TYPE childguard.child_data;
ALTER TABLE kids DISABLE ROW LEVEL SECURITY;
DROP TRIGGER zz_childguard_seal ON kids;
-- harmless DDL still works
ALTER TABLE kids ADD COLUMN age int;
ALTER TABLE kids ALTER COLUMN note TYPE varchar(200);
CREATE INDEX ON kids (grade);
COMMENT ON TABLE kids IS 'pupils';
ALTER TABLE kids DROP COLUMN age;
RESET ROLE;
SELECT * FROM pg_temp.status();
-- and the data still reads and writes
SET childguard.purpose = 'regress';
UPDATE kids SET name = '小明明' WHERE id = 'o-1';
SELECT id, name, school FROM kids;
RESET childguard.purpose;

-- protect() again, and unprotect() on purpose (then protect once more)
SELECT childguard.protect('kids', 'id');
SELECT * FROM pg_temp.status();
SET ROLE regress_orm_owner;
SELECT childguard.unprotect('kids');
RESET ROLE;
SELECT * FROM pg_temp.status();
-- the exemption itself: the table's owner (or a superuser) only
SET ROLE regress_fixture_dpo;
SELECT childguard._unprotect_begin('kids');
RESET ROLE;
SET ROLE regress_orm_owner;
SELECT childguard.protect('kids', 'id');
RESET ROLE;
SELECT * FROM pg_temp.status();

-- a table that is not protected yet takes any DDL, in any order (as a
-- restore does, one statement at a time)
CREATE TABLE fresh (id text, name childguard.child_data);
ALTER TABLE fresh ADD COLUMN school childguard.child_data;
ALTER TABLE fresh ENABLE ROW LEVEL SECURITY;
CREATE TRIGGER zz_childguard_seal BEFORE INSERT OR UPDATE ON fresh
  FOR EACH ROW EXECUTE FUNCTION childguard.seal_row('id');
ALTER TABLE fresh ALTER COLUMN name TYPE childguard.child_data(name);
ALTER TABLE fresh ALTER COLUMN school TYPE childguard.child_data(school);
ALTER TABLE fresh ENABLE ALWAYS TRIGGER zz_childguard_seal;
ALTER TABLE fresh FORCE ROW LEVEL SECURITY;
CREATE POLICY childguard_consent ON fresh AS RESTRICTIVE FOR SELECT USING (childguard.row_visible(id::text));
CREATE POLICY childguard_consent_update ON fresh AS RESTRICTIVE FOR UPDATE USING (childguard.row_visible(id::text));
CREATE POLICY childguard_base ON fresh AS PERMISSIVE FOR ALL USING (true) WITH CHECK (true);
SELECT childguard.protection_problem('fresh') IS NULL AS fresh_protected;
ALTER TABLE fresh DISABLE ROW LEVEL SECURITY;
-- a table that holds no child data any more is no longer a protected table
ALTER TABLE fresh DROP COLUMN name, DROP COLUMN school;
SELECT childguard.protection_problem('fresh') IS NULL AS no_problem;
DROP TABLE fresh;
-- dropping the table, of course
CREATE TABLE gone (id text, name childguard.child_data(name));
SELECT childguard.protect('gone', 'id');
DROP TABLE gone;

-- childguard's own objects: only its scripts change them, for every role
CREATE OR REPLACE FUNCTION childguard.row_visible(child text) RETURNS boolean
  LANGUAGE sql STABLE AS 'SELECT true';
CREATE OR REPLACE FUNCTION childguard.seal_row() RETURNS trigger
  LANGUAGE plpgsql AS 'BEGIN RETURN NEW; END';
ALTER FUNCTION childguard.row_visible(text) SECURITY DEFINER;
ALTER FUNCTION childguard.row_visible(text) RENAME TO row_visible_old;
ALTER FUNCTION childguard.child_data_cmp(childguard.child_data, childguard.child_data) OWNER TO regress_orm_owner;
ALTER TYPE childguard.child_data SET (ANALYZE = childguard.child_data_analyze);
ALTER OPERATOR pg_catalog.< (childguard.child_data, childguard.child_data) SET (RESTRICT = eqsel);
ALTER EXTENSION childguard DROP FUNCTION childguard.row_visible(text);
CREATE FUNCTION public.cd_lt_text(childguard.child_data, text) RETURNS boolean
  LANGUAGE sql AS 'SELECT false';
CREATE OPERATOR public.< (LEFTARG = childguard.child_data, RIGHTARG = text, FUNCTION = public.cd_lt_text);
ALTER OPERATOR FAMILY childguard.child_data_ops USING btree
  ADD OPERATOR 1 public.< (childguard.child_data, text);
DROP OPERATOR public.< (childguard.child_data, text);
DROP FUNCTION public.cd_lt_text(childguard.child_data, text);
-- granting and commenting are not changes of the objects' behaviour
GRANT EXECUTE ON FUNCTION childguard.protection_problem(regclass) TO regress_orm_owner;
REVOKE EXECUTE ON FUNCTION childguard.protection_problem(regclass) FROM regress_orm_owner;
SELECT prosrc FROM pg_proc WHERE oid = 'childguard.row_visible(text)'::regprocedure;

-- catalog edits by a superuser call no hook: the status says so, and the
-- table refuses child data
SELECT atttypmod AS name_typmod FROM pg_attribute WHERE attrelid = 'kids'::regclass AND attname = 'name' \gset
UPDATE pg_attribute SET atttypmod = -1 WHERE attrelid = 'kids'::regclass AND attname = 'name';
SELECT * FROM pg_temp.status();
SET childguard.purpose = 'regress';
UPDATE kids SET school = '第二小学' WHERE id = 'o-1';
RESET childguard.purpose;
UPDATE pg_attribute SET atttypmod = :name_typmod WHERE attrelid = 'kids'::regclass AND attname = 'name';
SELECT format_type(atttypid, atttypmod) FROM pg_attribute WHERE attrelid = 'kids'::regclass AND attname = 'name';
SELECT * FROM pg_temp.status();
UPDATE pg_class SET relforcerowsecurity = false WHERE oid = 'kids'::regclass;
SELECT * FROM pg_temp.status();
UPDATE pg_class SET relforcerowsecurity = true WHERE oid = 'kids'::regclass;
UPDATE pg_trigger SET tgenabled = 'D' WHERE tgrelid = 'kids'::regclass AND tgname = 'zz_childguard_seal';
SELECT * FROM pg_temp.status();
UPDATE pg_trigger SET tgenabled = 'A' WHERE tgrelid = 'kids'::regclass AND tgname = 'zz_childguard_seal';
-- (an edit of pg_trigger sends no invalidation: the status, like the
-- triggers PostgreSQL fires, follows the relation cache, rebuilt here by a
-- new session)
\c -
SELECT childguard.protection_problem('kids') IS NULL AS protected_again;

DROP TABLE kids;
REVOKE USAGE ON SCHEMA childguard FROM regress_orm_owner;
REVOKE CREATE ON SCHEMA public FROM regress_orm_owner;
DROP OWNED BY regress_orm_owner;
DROP ROLE regress_orm_owner;
\c contrib_regression
DROP DATABASE regress_orm_ddl;
