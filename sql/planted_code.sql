-- Code planted on a table holding child data (issue 8, item 2).  The table
-- owner holds no grant; a reader does.  Every object below would run the
-- owner's code inside the reader's statements, with the reader's right to
-- see child data, and copy plaintext into the owner's table "loot".  The
-- DDL guard refuses each one (ZC020), for the owner and a superuser alike;
-- at the end the reader reads and writes, and "loot" must still be empty.
-- a database of its own, so identities do not depend on other tests
SET client_min_messages = warning;
DROP DATABASE IF EXISTS regress_planted;
CREATE DATABASE regress_planted;
\c regress_planted
SET client_min_messages = warning;
CREATE EXTENSION childguard CASCADE;
CREATE ROLE regress_pc_dpo;
CREATE ROLE regress_pc_owner;     -- owns the table, holds no grant
CREATE ROLE regress_pc_reader;    -- holds a grant for "homework"
RESET client_min_messages;
\set VERBOSITY terse
SELECT childguard.appoint_officer('regress_pc_dpo');
SELECT childguard.enroll_application('regress_pc_owner');
SELECT childguard.enroll_application('regress_pc_reader');
GRANT CREATE ON SCHEMA public TO regress_pc_owner;
SET ROLE regress_pc_dpo;
SELECT childguard.define_purpose('homework', '{name,school}', '1 year') > 0 AS ok;
SELECT childguard.publish_notice('n', '{homework}', 'a', 'b', 'c', 'd', 'e', 'f', 'g') AS v;
RESET ROLE;
SET ROLE regress_pc_owner;
SELECT childguard.register_child('k-1', '2016-01-01') > 0 AS ok;
SELECT childguard.register_guardian('gk-1', 'k-1');
RESET ROLE;                       -- consents are entered by a recorder (here the superuser, who reads nothing)
SELECT childguard.record_consent('k-1', 'homework', 'n', 'gk-1') > 0 AS ok;
SET ROLE regress_pc_reader;
SELECT childguard.request_access('regress_pc_reader', '{homework}', now() + interval '1 day') AS g \gset
SET ROLE regress_pc_dpo;
SELECT childguard.approve_access(:g);

-- the owner's table, protected, and the owner's tools
SET ROLE regress_pc_owner;
CREATE TABLE kids (id text PRIMARY KEY, name childguard.child_data,
                   school childguard.child_data, grade int, note text);
SELECT childguard.protect('kids', 'id', '{"name": "name", "school": "school"}');
GRANT SELECT, INSERT, UPDATE ON kids TO regress_pc_reader;
CREATE TABLE loot (v text);
GRANT INSERT, SELECT ON loot TO PUBLIC;
CREATE FUNCTION leak(v text) RETURNS boolean LANGUAGE plpgsql AS
  $$ BEGIN INSERT INTO public.loot VALUES (v); RETURN true; END $$;
CREATE FUNCTION leak_row(k kids) RETURNS boolean LANGUAGE plpgsql AS
  $$ BEGIN INSERT INTO public.loot VALUES (k.name::text); RETURN true; END $$;
CREATE FUNCTION leak_trg() RETURNS trigger LANGUAGE plpgsql AS
  $$ BEGIN INSERT INTO public.loot VALUES (NEW.name::text); RETURN NEW; END $$;
CREATE FUNCTION leak_stmt() RETURNS trigger LANGUAGE plpgsql AS
  $$ BEGIN INSERT INTO public.loot SELECT name::text FROM public.kids; RETURN NULL; END $$;
CREATE FUNCTION leak_new_table() RETURNS trigger LANGUAGE plpgsql AS
  $$ BEGIN INSERT INTO public.loot SELECT name::text FROM new_rows; RETURN NULL; END $$;
-- claims to be immutable, so PostgreSQL lets it into indexes and generated columns
CREATE FUNCTION imm_leak(v childguard.child_data) RETURNS text IMMUTABLE LANGUAGE plpgsql AS
  $$ BEGIN INSERT INTO public.loot VALUES (v::text); RETURN v::text; END $$;

CREATE TABLE other_kids (id text, name childguard.child_data);
SELECT childguard.protect('other_kids', 'id', '{"name": "name"}');

-- the attack as reported: the owner plants a trigger and a row policy; the
-- reader writes and reads with its purpose; plaintext would show in loot
CREATE TRIGGER proof_trg AFTER INSERT ON kids FOR EACH ROW EXECUTE FUNCTION leak_trg();
CREATE POLICY proof_pol ON kids AS RESTRICTIVE USING (leak(school::text));
SET ROLE regress_pc_reader;
SET childguard.purpose = 'homework';
INSERT INTO kids VALUES ('k-1', '小一', '一小', 1, 'n');
SELECT id, name, school FROM kids;
RESET childguard.purpose;
SET ROLE regress_pc_owner;
SELECT v AS leaked FROM loot;

-- the refusal in full once
\set VERBOSITY default
CREATE TRIGGER a_leak BEFORE INSERT OR UPDATE ON kids FOR EACH ROW EXECUTE FUNCTION leak_trg();
\echo :LAST_ERROR_SQLSTATE
\set VERBOSITY terse

-- triggers: every kind, timing and route
CREATE TRIGGER b_leak AFTER UPDATE ON kids FOR EACH ROW EXECUTE FUNCTION leak_trg();
CREATE TRIGGER zz_childguard_seam BEFORE INSERT ON kids FOR EACH ROW EXECUTE FUNCTION leak_trg();
CREATE OR REPLACE TRIGGER zz_childguard_seal BEFORE INSERT OR UPDATE ON kids
  FOR EACH ROW EXECUTE FUNCTION leak_trg();
CREATE TRIGGER c_leak AFTER INSERT ON kids REFERENCING NEW TABLE AS new_rows
  FOR EACH STATEMENT EXECUTE FUNCTION leak_new_table();
CREATE TRIGGER d_leak AFTER INSERT ON kids FOR EACH STATEMENT EXECUTE FUNCTION leak_stmt();
CREATE CONSTRAINT TRIGGER e_leak AFTER INSERT ON kids DEFERRABLE INITIALLY DEFERRED
  FOR EACH ROW EXECUTE FUNCTION leak_trg();
CREATE TRIGGER f_builtin BEFORE UPDATE ON kids FOR EACH ROW
  EXECUTE FUNCTION suppress_redundant_updates_trigger();
-- childguard's own function, with the owner's WHEN clause
CREATE TRIGGER g_seal BEFORE INSERT OR UPDATE ON kids FOR EACH ROW
  WHEN (leak(NEW.name::text)) EXECUTE FUNCTION childguard.seal_row('id');
-- inside a function (SPI) and a DO block
DO $$ BEGIN EXECUTE 'CREATE TRIGGER h_leak BEFORE INSERT ON kids FOR EACH ROW EXECUTE FUNCTION leak_trg()'; END $$;
SELECT count(*) AS foreign_triggers FROM pg_trigger
 WHERE tgrelid = 'kids'::regclass AND NOT tgisinternal
   AND tgname NOT IN ('zz_childguard_seal', 'zz_childguard_deleted', 'zz_childguard_truncate');

-- rules
CREATE RULE r_leak AS ON INSERT TO kids DO ALSO INSERT INTO loot VALUES (NEW.name::text);
CREATE OR REPLACE RULE r_leak AS ON UPDATE TO kids DO ALSO INSERT INTO loot VALUES (OLD.name::text);
CREATE RULE r_nothing AS ON DELETE TO kids DO INSTEAD NOTHING;
-- an empty table holding child data turned into a view by an ON SELECT rule
CREATE TABLE empty_kids (id text, name childguard.child_data);
CREATE RULE "_RETURN" AS ON SELECT TO empty_kids DO INSTEAD SELECT id, name FROM kids;
SELECT count(*) AS rules FROM pg_rewrite WHERE ev_class IN ('kids'::regclass, 'empty_kids'::regclass);

-- row policies: USING, WITH CHECK, whole row, sub-query, ALTER of ours
CREATE POLICY p_leak ON kids USING (leak(name::text));
CREATE POLICY p_check ON kids AS RESTRICTIVE FOR INSERT WITH CHECK (leak(school::text));
CREATE POLICY p_row ON kids AS RESTRICTIVE USING (leak_row(kids));
CREATE POLICY p_sub ON kids AS RESTRICTIVE
  USING (EXISTS (SELECT 1 FROM other_kids o WHERE leak(o.name::text)));
CREATE POLICY p_ok ON kids AS RESTRICTIVE USING (grade IS DISTINCT FROM -1);  -- no child data: allowed
DROP POLICY p_ok ON kids;
ALTER POLICY childguard_base ON kids USING (leak(name::text));
ALTER POLICY childguard_consent ON kids USING (childguard.row_visible(id) AND leak(name::text));

-- constraints, defaults, generated columns
ALTER TABLE kids ADD CONSTRAINT c_leak CHECK (leak(name::text));
ALTER TABLE kids ADD CONSTRAINT c_leak CHECK (leak(school::text)) NOT VALID;
ALTER TABLE kids ADD CONSTRAINT c_row CHECK (leak_row(kids));
ALTER TABLE kids ADD CONSTRAINT c_ok CHECK (grade < 100);     -- no child data: allowed
ALTER TABLE kids ALTER COLUMN name SET DEFAULT '默认';
ALTER TABLE kids ALTER COLUMN note SET DEFAULT 'none';        -- no child data: allowed
-- nor may it call a function its owner wrote, even on other columns: the
-- function can read the table by itself, with the reader's rights
CREATE FUNCTION all_names() RETURNS text LANGUAGE sql STABLE AS
  $$ SELECT string_agg(name::text, ',') FROM public.kids $$;
ALTER TABLE kids ALTER COLUMN note SET DEFAULT all_names();
CREATE POLICY p_tenant ON kids AS RESTRICTIVE USING (note IS DISTINCT FROM all_names());
ALTER TABLE kids ADD CONSTRAINT c_fn CHECK (note IS DISTINCT FROM all_names());
ALTER TABLE kids ALTER COLUMN note SET DEFAULT now()::text;   -- built in: allowed
ALTER TABLE kids ALTER COLUMN note SET DEFAULT encode(gen_random_bytes(4), 'hex');  -- an extension's: allowed
ALTER TABLE kids ADD COLUMN name_copy text GENERATED ALWAYS AS (imm_leak(name)) STORED;
ALTER TABLE kids ADD COLUMN name_len int DEFAULT 0;           -- no child data: allowed
ALTER TABLE kids ADD CONSTRAINT x_leak EXCLUDE USING btree ((imm_leak(name)) WITH =);
CREATE TABLE kids_too (id text, name childguard.child_data CHECK (leak(name::text)));
CREATE TABLE kids_three (id text, name childguard.child_data,
                         shadow text GENERATED ALWAYS AS (imm_leak(name)) STORED);
-- retyping a column rebuilds the constraints and indexes that name it, and
-- they pass the guard again (here: allowed, they hold no child data)
ALTER TABLE kids ALTER COLUMN grade TYPE bigint;
-- a domain over child_data with a CHECK runs on every value written
CREATE DOMAIN leaky AS childguard.child_data CHECK (leak(VALUE::text));
CREATE DOMAIN plain_name AS childguard.child_data;
ALTER DOMAIN plain_name ADD CONSTRAINT d_leak CHECK (leak(VALUE::text));
CREATE DOMAIN named AS childguard.child_data DEFAULT all_names();
ALTER DOMAIN plain_name SET DEFAULT '默认';
-- a domain over text is no business of ours, until a table with child
-- data uses it: its default would run the owner's function on every insert
CREATE DOMAIN plain_text AS text DEFAULT all_names();
ALTER TABLE kids ADD COLUMN extra plain_text;
CREATE DOMAIN plain_text2 AS text DEFAULT 'x' CHECK (VALUE <> all_names());
ALTER TABLE kids ADD COLUMN extra plain_text2;
CREATE TABLE kids4 (id text, name childguard.child_data, extra plain_text);
CREATE DOMAIN plain_text3 AS text DEFAULT upper('x') CHECK (length(VALUE) < 100);
ALTER TABLE kids ADD COLUMN extra plain_text3;                    -- built in: allowed
ALTER TABLE kids ALTER COLUMN note SET DEFAULT 'x'::plain_text2;  -- a cast to it runs its CHECK
-- the domain given the owner's code afterwards: the table is no longer protected
ALTER DOMAIN plain_text3 ADD CONSTRAINT later_check CHECK (VALUE <> all_names()) NOT VALID;
SELECT childguard.protection_problem('kids');
ALTER DOMAIN plain_text3 DROP CONSTRAINT later_check;
SELECT childguard.protection_problem('kids') IS NULL AS protected;
ALTER TABLE kids DROP COLUMN extra;
-- foreign keys, serial and built-in defaults do not reach child data: allowed
CREATE TABLE enrolment (n serial PRIMARY KEY, kid text REFERENCES kids (id),
                        note childguard.child_data, at timestamptz DEFAULT now());
SELECT count(*) AS enrolment_triggers FROM pg_trigger WHERE tgrelid = 'enrolment'::regclass;
DROP TABLE enrolment;

-- indexes: expression, predicate, CONCURRENTLY, and statistics
CREATE INDEX i_leak ON kids ((imm_leak(name)));
CREATE INDEX i_pred ON kids (grade) WHERE imm_leak(school) IS NOT NULL;
RESET ROLE;
SET ROLE regress_pc_owner;
CREATE INDEX CONCURRENTLY i_conc ON kids ((imm_leak(name)));
CREATE INDEX i_ok ON kids (grade) WHERE note IS NOT NULL;     -- no child data: allowed
CREATE STATISTICS s_leak ON (imm_leak(name)) FROM kids;
CREATE STATISTICS s_mixed ON grade, (imm_leak(school)) FROM kids;
SELECT count(*) AS indexes FROM pg_index WHERE indrelid = 'kids'::regclass;

-- views over child data: INSTEAD OF triggers and rules see what is written
CREATE VIEW kids_view AS SELECT id, name FROM kids;
CREATE VIEW kids_upper AS SELECT id, upper(name::text) AS name FROM kids;  -- built-in, no side effect: allowed
-- a view is the statement its reader runs: reading child data, it may not
-- call its owner's functions (even "immutable" ones), nor volatile built-ins
\set VERBOSITY default
CREATE VIEW v_leak1 AS SELECT id, leak(name::text) AS x FROM kids;
\echo :LAST_ERROR_SQLSTATE
\set VERBOSITY terse
CREATE VIEW v_leak2 AS SELECT id FROM kids WHERE leak_row(kids);
CREATE VIEW v_leak3 AS SELECT id, imm_leak(school) FROM kids;
CREATE VIEW v_leak4 AS SELECT id FROM kids, LATERAL pg_notify('loot', kids.name::text) n;
CREATE VIEW v_leak5 AS SELECT (SELECT count(*) FROM kids WHERE leak(name::text)) AS n;
CREATE VIEW v_leak6 AS SELECT id, set_config('loot.v', name::text, false) FROM kids_view;
CREATE OR REPLACE VIEW kids_view AS SELECT id, name FROM kids WHERE leak(name::text);
CREATE VIEW v_leak7 AS SELECT l FROM kids, LATERAL leak(kids.name::text) l;
-- ... not even on other columns: fed only the rows a condition on child
-- data selected, the function learns it (here through a sub-query, a CTE
-- and another view)
CREATE VIEW v_oracle1 AS SELECT leak(id) FROM kids WHERE name::text = '小一';
CREATE VIEW v_oracle2 AS SELECT leak(x) FROM (SELECT name::text AS x FROM kids) s;
CREATE VIEW v_oracle3 AS WITH s AS (SELECT name::text AS x FROM kids) SELECT leak(x) FROM s;
CREATE VIEW kids_named AS SELECT id FROM kids WHERE name::text LIKE '小%';  -- no function: allowed
CREATE VIEW v_oracle4 AS SELECT leak(id) FROM kids_named;
CREATE VIEW v_oracle5 AS SELECT id, random() FROM kids;
CREATE VIEW v_ok AS SELECT leak(v) AS x FROM loot;                       -- no child data: allowed
-- a view that only filters on child data hands its triggers and rules the
-- rows it chose
CREATE FUNCTION leak_old() RETURNS trigger LANGUAGE plpgsql AS
  $$ BEGIN INSERT INTO public.loot VALUES (OLD.id); RETURN NULL; END $$;
CREATE TRIGGER kn_trg INSTEAD OF DELETE ON kids_named FOR EACH ROW EXECUTE FUNCTION leak_old();
CREATE RULE kn_rule AS ON DELETE TO kids_named DO INSTEAD INSERT INTO loot VALUES (OLD.id);
CREATE TRIGGER v_ok_trg INSTEAD OF DELETE ON v_ok FOR EACH ROW EXECUTE FUNCTION leak_old();  -- allowed
DROP VIEW v_ok, kids_upper, kids_named;
CREATE TRIGGER v_leak INSTEAD OF INSERT ON kids_view FOR EACH ROW EXECUTE FUNCTION leak_trg();
CREATE RULE v_rule AS ON INSERT TO kids_view DO INSTEAD INSERT INTO loot VALUES (NEW.name::text);

-- partitions and inheritance: a new child table gets only childguard's seal
CREATE TABLE pkids (id text, name childguard.child_data) PARTITION BY LIST (id);
SELECT childguard.protect('pkids', 'id', '{"name": "name"}');
CREATE TRIGGER pk_leak BEFORE INSERT ON pkids FOR EACH ROW EXECUTE FUNCTION leak_trg();
CREATE TABLE pkids_1 PARTITION OF pkids FOR VALUES IN ('k-1');   -- clones the seal: allowed
SELECT tgname FROM pg_trigger WHERE tgrelid = 'pkids_1'::regclass ORDER BY 1;
CREATE TABLE pkids_2 (id text, name childguard.child_data(name));
CREATE TRIGGER pk2_leak BEFORE INSERT ON pkids_2 FOR EACH ROW EXECUTE FUNCTION leak_trg();
ALTER TABLE pkids ATTACH PARTITION pkids_2 FOR VALUES IN ('k-2');  -- clones the seal: allowed
SELECT tgname FROM pg_trigger WHERE tgrelid = 'pkids_2'::regclass ORDER BY 1;
-- a partition key over child data runs on every row routed: the table is
-- not protected, and protect() refuses it
CREATE TABLE bykey (id text, name childguard.child_data(name)) PARTITION BY LIST ((imm_leak(name)));
SELECT childguard.protect('bykey', 'id');
SELECT childguard.protection_problem('bykey');
DROP TABLE bykey;
CREATE TABLE ikids () INHERITS (kids);
CREATE TRIGGER ik_leak BEFORE INSERT ON ikids FOR EACH ROW EXECUTE FUNCTION leak_trg();
CREATE POLICY ik_pol ON ikids USING (leak(name::text));
DROP TABLE ikids;

-- a column that comes to hold child data, on a table that already has code
CREATE TABLE later (id text PRIMARY KEY, grade int);
CREATE TRIGGER later_trg BEFORE INSERT ON later FOR EACH ROW EXECUTE FUNCTION leak_trg();
ALTER TABLE later ADD COLUMN name childguard.child_data;
CREATE TABLE later2 (id text PRIMARY KEY, grade int);
ALTER TABLE later2 ENABLE ROW LEVEL SECURITY;
CREATE POLICY later2_row ON later2 USING (leak(later2::text));
ALTER TABLE later2 ADD COLUMN name childguard.child_data;
\set VERBOSITY default
ALTER TABLE later2 ADD COLUMN name childguard.child_data;
\echo :LAST_ERROR_SQLSTATE
\set VERBOSITY terse
DROP TABLE later, later2;

-- a policy or a rule on a table without child data may not read it either
CREATE TABLE plain (id text, v text);
ALTER TABLE plain ENABLE ROW LEVEL SECURITY;
CREATE POLICY plain_sub ON plain USING (leak((SELECT max(name::text) FROM kids)));
CREATE POLICY plain_ok ON plain USING (leak(v));                     -- no child data: allowed
CREATE RULE plain_rule AS ON INSERT TO plain DO ALSO INSERT INTO loot SELECT name::text FROM kids;
CREATE RULE plain_rule2 AS ON INSERT TO plain DO ALSO INSERT INTO loot VALUES (NEW.v);  -- allowed
DROP TABLE plain;

-- a superuser is refused the same
RESET ROLE;
CREATE TRIGGER su_leak BEFORE INSERT ON kids FOR EACH ROW EXECUTE FUNCTION leak_trg();
CREATE RULE su_rule AS ON INSERT TO kids DO ALSO INSERT INTO loot VALUES (NEW.name::text);
CREATE POLICY su_pol ON kids USING (leak(name::text));
CREATE INDEX su_idx ON kids ((imm_leak(name)));
ALTER TABLE kids ADD CONSTRAINT su_check CHECK (leak(name::text));
CREATE STATISTICS su_stat ON (imm_leak(name)) FROM kids;
BEGIN;
SET LOCAL session_replication_role = replica;
CREATE TRIGGER su_rep BEFORE INSERT ON kids FOR EACH ROW EXECUTE FUNCTION leak_trg();
ROLLBACK;

-- the reader reads, writes and updates with a purpose: nothing reaches loot
SET ROLE regress_pc_reader;
SET childguard.purpose = 'homework';
UPDATE kids SET grade = 2, school = '二小';
INSERT INTO kids (id, grade) VALUES ('k-1', 9) ON CONFLICT (id) DO UPDATE SET name = '小二';
SELECT id, name, school, grade FROM kids;
SELECT count(*) AS leaked FROM loot;
RESET childguard.purpose;
RESET ROLE;

-- protection status is exact
SELECT table_name, column_name, is_protected FROM childguard.protected_columns
 WHERE table_name = 'kids'::regclass ORDER BY 2;
-- a restrictive policy that calls row_visible() but ORs it away does not count
ALTER POLICY childguard_consent ON kids USING (childguard.row_visible(id) OR true);
SELECT childguard.protection_problem('kids');
SELECT DISTINCT is_protected FROM childguard.protected_columns WHERE table_name = 'kids'::regclass;
SET ROLE regress_pc_reader;
SET childguard.purpose = 'homework';
UPDATE kids SET grade = 3;
RESET childguard.purpose;
RESET ROLE;
SELECT childguard.protect('kids', 'id');
SELECT childguard.protection_problem('kids') IS NULL AS protected;
-- ours dropped
DROP POLICY childguard_consent_update ON kids;
SELECT childguard.protection_problem('kids');
SELECT childguard.protect('kids', 'id');
-- ours, but only for some roles
ALTER POLICY childguard_consent_update ON kids TO regress_pc_owner;
SELECT childguard.protection_problem('kids');
SELECT childguard.protect('kids', 'id');
-- a renamed seal trigger
ALTER TRIGGER zz_childguard_seal ON kids RENAME TO seal;
SELECT childguard.protection_problem('kids');
SELECT DISTINCT is_protected FROM childguard.protected_columns WHERE table_name = 'kids'::regclass;
SET ROLE regress_pc_reader;
SET childguard.purpose = 'homework';
UPDATE kids SET grade = 3;
RESET childguard.purpose;
RESET ROLE;
ALTER TRIGGER seal ON kids RENAME TO zz_childguard_seal;
-- a seal trigger replaced (OR REPLACE leaves it enabled ORIGIN only), or
-- pointed at another subject column
CREATE OR REPLACE TRIGGER zz_childguard_seal BEFORE INSERT OR UPDATE ON kids
  FOR EACH ROW EXECUTE FUNCTION childguard.seal_row('id');
SELECT childguard.protection_problem('kids');
ALTER TABLE kids ENABLE ALWAYS TRIGGER zz_childguard_seal;
SELECT childguard.protection_problem('kids') IS NULL AS protected;
CREATE OR REPLACE TRIGGER zz_childguard_seal BEFORE INSERT OR UPDATE ON kids
  FOR EACH ROW EXECUTE FUNCTION childguard.seal_row('note');
ALTER TABLE kids ENABLE ALWAYS TRIGGER zz_childguard_seal;
SELECT childguard.protection_problem('kids');
SELECT childguard.protect('kids', 'id');
-- a disabled seal trigger, row security switched off
ALTER TABLE kids DISABLE TRIGGER zz_childguard_seal;
SELECT childguard.protection_problem('kids');
ALTER TABLE kids ENABLE ALWAYS TRIGGER zz_childguard_seal;
ALTER TABLE kids DISABLE ROW LEVEL SECURITY;
SELECT childguard.protection_problem('kids');
SELECT childguard.protect('kids', 'id');
SELECT childguard.protection_problem('kids') IS NULL AS protected;

-- code attached behind the guard's back (here: by editing the catalogs, as
-- a superuser can) makes the table unprotected, and protect() refuses it
CREATE TABLE legacy (id text, name text);
CREATE TRIGGER legacy_leak BEFORE INSERT ON legacy FOR EACH ROW EXECUTE FUNCTION leak_trg();
UPDATE pg_attribute SET atttypid = 'childguard.child_data'::regtype
 WHERE attrelid = 'legacy'::regclass AND attname = 'name';
\set VERBOSITY default
SELECT childguard.protect('legacy', 'id', '{"name": "name"}');
\echo :LAST_ERROR_SQLSTATE
\set VERBOSITY terse
-- and reading it, which would run that code, is refused until it is dropped
SELECT count(*) FROM legacy;
DELETE FROM legacy;
-- nor can it join a protected partitioned table (the seal cloned onto it
-- checks the whole table)
CREATE TABLE legacy_part (id text, name text);
CREATE TRIGGER legacy_leak BEFORE INSERT ON legacy_part FOR EACH ROW EXECUTE FUNCTION leak_trg();
UPDATE pg_attribute SET atttypid = 'childguard.child_data'::regtype, atttypmod = 1, attcollation = 0
 WHERE attrelid = 'legacy_part'::regclass AND attname = 'name';
ALTER TABLE pkids ATTACH PARTITION legacy_part FOR VALUES IN ('k-3');
-- a view that got its owner's function over child data the same way
CREATE TABLE legacy_src (id text, name text);
CREATE VIEW legacy_view AS SELECT id, leak(name) AS x FROM legacy_src;
UPDATE pg_attribute SET atttypid = 'childguard.child_data'::regtype, attcollation = 0
 WHERE attrelid = 'legacy_src'::regclass AND attname = 'name';
SELECT count(*) FROM legacy_src;                                  -- the table itself: fine
SELECT count(*) FROM legacy_view;
SELECT childguard.protection_problem('legacy_view');
DROP VIEW legacy_view;
DROP TABLE legacy_src;
DROP TRIGGER legacy_leak ON legacy;
SELECT childguard.protect('legacy', 'id', '{"name": "name"}');
SELECT childguard.protection_problem('legacy') IS NULL AS protected;

SELECT count(*) AS leaked FROM loot;

\c contrib_regression
DROP DATABASE regress_planted;
DROP ROLE regress_pc_dpo, regress_pc_owner, regress_pc_reader;
