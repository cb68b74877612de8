-- Code owned by another role, running inside the reader's statement, reads
-- no plaintext (issue 8, item 2: "the only code that sees a protected
-- table's plaintext is the statement the reader wrote, and childguard").
-- regress_f_owner owns a table without child data and plants code around
-- it: triggers, a default, a row policy, a view, functions of every kind.
-- regress_f_app reads the protected table under its grant and consent.
-- The marker 秘密名字 must never reach the owner's table "loot".
SET client_min_messages = warning;
DROP DATABASE IF EXISTS regress_foreign;
CREATE DATABASE regress_foreign;
\c regress_foreign
SET client_min_messages = warning;
CREATE EXTENSION childguard CASCADE;
CREATE ROLE regress_f_dpo;
CREATE ROLE regress_f_app;        -- the reader: grant, purpose, consent
CREATE ROLE regress_f_owner;      -- plants code; holds no grant
CREATE ROLE regress_f_rec;        -- records consents
RESET client_min_messages;
\set VERBOSITY terse
SELECT childguard.appoint_officer('regress_f_dpo');
SELECT childguard.enroll_application('regress_f_app');
SELECT childguard.enroll_consent_recorder('regress_f_rec');
GRANT CREATE ON SCHEMA public TO regress_f_app, regress_f_owner;
SET ROLE regress_f_dpo;
SELECT childguard.define_purpose('homework', '{name}', '1 year') > 0 AS ok;
SELECT childguard.publish_notice('n', '{homework}', 'a', 'b', 'c', 'd', 'e', 'f', 'g') AS v;
SET ROLE regress_f_app;
SELECT childguard.register_child('k-1', '2016-01-01') > 0 AS ok;
SET ROLE regress_f_rec;
SELECT childguard.register_guardian('gk-1', 'k-1');
SELECT childguard.record_consent('k-1', 'homework', 'n', 'gk-1') > 0 AS ok;
SET ROLE regress_f_app;
SELECT childguard.request_access('regress_f_app', '{homework}', now() + interval '1 day') AS g \gset
SET ROLE regress_f_dpo;
SELECT childguard.approve_access(:g);
SET ROLE regress_f_app;
CREATE TABLE students (id text PRIMARY KEY, name childguard.child_data(name));
SELECT childguard.protect('students', 'id');
GRANT SELECT ON students TO regress_f_owner;
SET childguard.purpose = 'homework';
INSERT INTO students VALUES ('k-1', '秘密名字');
SELECT name FROM students;                       -- the reader reads
-- the reader's own function reads too
CREATE FUNCTION app_name(k text) RETURNS text LANGUAGE plpgsql STABLE
	AS $$ BEGIN RETURN (SELECT name::text FROM students WHERE id = k); END $$;
SELECT app_name('k-1');
RESET childguard.purpose;

-- the owner's loot, and the code it plants
SET ROLE regress_f_owner;
CREATE TABLE loot (v text);
GRANT INSERT ON loot TO PUBLIC;
CREATE FUNCTION grab() RETURNS text LANGUAGE plpgsql
	AS $$ DECLARE v text; BEGIN
	  SELECT string_agg(name::text, ',') INTO v FROM students;
	  INSERT INTO loot VALUES (v); RETURN v; END $$;
CREATE FUNCTION grab_trigger() RETURNS trigger LANGUAGE plpgsql
	AS $$ BEGIN PERFORM grab(); RETURN NEW; END $$;
CREATE FUNCTION grab_sql(k text) RETURNS text LANGUAGE sql STABLE   -- inlinable
	AS $$ SELECT name::text FROM students WHERE id = k $$;
CREATE FUNCTION grab_definer(k text) RETURNS text LANGUAGE sql SECURITY DEFINER
	AS $$ SELECT name::text FROM students WHERE id = k $$;
CREATE FUNCTION grab_bool() RETURNS boolean LANGUAGE plpgsql
	AS $$ BEGIN PERFORM grab(); RETURN true; END $$;
CREATE FUNCTION calls_app(k text) RETURNS text LANGUAGE plpgsql
	AS $$ BEGIN RETURN app_name(k); END $$;
CREATE PROCEDURE grab_proc() LANGUAGE plpgsql
	AS $$ BEGIN COMMIT; PERFORM grab(); END $$;
CREATE TABLE visits (id int, note text);                 -- no child data
CREATE TRIGGER t_before BEFORE INSERT ON visits FOR EACH ROW EXECUTE FUNCTION grab_trigger();
CREATE TABLE notes (id int, x text DEFAULT grab());      -- a default
CREATE TABLE board (id int);                             -- a row policy
INSERT INTO board VALUES (1);
ALTER TABLE board ENABLE ROW LEVEL SECURITY;
CREATE POLICY peek ON board USING (grab_bool());
CREATE VIEW v_board AS SELECT id, grab() AS g FROM (VALUES (1)) AS x(id);   -- a view
GRANT INSERT ON visits, notes TO regress_f_app;
GRANT SELECT ON board, v_board TO regress_f_app;
GRANT EXECUTE ON FUNCTION grab(), grab_sql(text), grab_definer(text), calls_app(text) TO regress_f_app;
GRANT EXECUTE ON PROCEDURE grab_proc() TO regress_f_app;

-- the reader walks into each of them (denied_read = error: ZC105)
SET ROLE regress_f_app;
SET childguard.purpose = 'homework';
INSERT INTO visits VALUES (1, 'hello');                  -- trigger on another table
INSERT INTO notes (id) VALUES (1);                       -- default
SELECT * FROM board;                                     -- row policy
SELECT * FROM v_board;                                   -- view calling the owner's function
SELECT grab();                                           -- the owner's function, called
SELECT grab_sql('k-1');                                  -- an inlinable SQL function
SELECT grab_definer('k-1');                              -- SECURITY DEFINER
SELECT calls_app('k-1');                                 -- the owner's code calling the reader's
CALL grab_proc();                                        -- a procedure that commits first
SELECT left(x, 4) FROM (SELECT grab_sql(id) AS x FROM students) s;   -- in a subquery
-- with denied_read = null the statement goes on; the owner's code gets no name
SET childguard.denied_read = 'null';
INSERT INTO visits VALUES (2, 'hello');
SELECT left(grab_sql('k-1'), 4) AS sealed_form_only;
RESET childguard.denied_read;
-- the reader still reads directly, and through its own function
SELECT name FROM students;
SELECT app_name('k-1');
RESET childguard.purpose;
RESET ROLE;

-- nothing reached the owner's table
SELECT count(*) AS rows_in_loot, count(*) FILTER (WHERE v LIKE '%秘密%') AS with_plaintext FROM loot;
SELECT count(*) AS notes_with_plaintext FROM notes WHERE x LIKE '%秘密%';

-- a superuser's function is trusted: it reads with the caller's context
CREATE FUNCTION su_name(k text) RETURNS text LANGUAGE plpgsql
	AS $$ BEGIN RETURN (SELECT name::text FROM students WHERE id = k); END $$;
GRANT EXECUTE ON FUNCTION su_name(text) TO regress_f_app;
SET ROLE regress_f_app;
SET childguard.purpose = 'homework';
SELECT su_name('k-1');
RESET childguard.purpose;
RESET ROLE;

\c contrib_regression
DROP DATABASE regress_foreign;
DROP ROLE regress_f_dpo, regress_f_app, regress_f_owner, regress_f_rec;
