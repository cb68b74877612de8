-- The per-statement fast paths (1.7, docs/performance.md "1.7: per-statement
-- cost") open no route to child data: the protection memo (protection.c: the
-- relation looked up last), ExecutorFinish without a nesting level for a
-- SELECT that queued nothing (childguard.c), the Citus hooks skipped off a
-- coordinator, the server-files bitmap tested inline, the statement's state
-- cleared in one go (statement.c), the statement text's memo per value.
-- Each statement below looks plain -- or follows one that did -- and
-- reaches child data by another route; each must still be decided (purpose
-- 'tutoring' reads, 'art', to which nobody consented, reads nothing) or
-- refused.
SET client_min_messages = warning;
DROP DATABASE IF EXISTS regress_stmt_gate;
CREATE DATABASE regress_stmt_gate;
\c regress_stmt_gate
SET client_min_messages = warning;
CREATE EXTENSION childguard CASCADE;
CREATE ROLE regress_sg_dpo;
CREATE ROLE regress_sg_a;
CREATE ROLE regress_sg_b;
RESET client_min_messages;
\set VERBOSITY terse
SELECT childguard.appoint_officer('regress_sg_dpo');
SELECT childguard.enroll_application('regress_sg_a');
SET ROLE regress_sg_dpo;
SELECT childguard.define_purpose('tutoring', '{name}', '1 year') > 0 AS ok;
SELECT childguard.define_purpose('art', '{name}', '1 year') > 0 AS ok;
SELECT childguard.publish_notice('n', '{tutoring,art}', 'a', 'b', 'c', 'd', 'e', 'f', 'g') AS v;
RESET ROLE;
SELECT count(childguard.register_child('r-' || i, '2015-01-01')) FROM generate_series(1, 2) i;
SELECT count(childguard.register_guardian('gr-' || i, 'r-' || i)) FROM generate_series(1, 2) i;
SELECT count(childguard.record_consent('r-' || i, 'tutoring', 'n', 'gr-' || i))
  FROM generate_series(1, 2) i;
CREATE TABLE pupils (id text PRIMARY KEY, name childguard.child_data);
SELECT childguard.protect('pupils', 'id', '{"name": "name"}');
CREATE TABLE plain_t (id text, note text);
INSERT INTO plain_t VALUES ('r-1', 'plain');
CREATE VIEW pupil_names AS SELECT id, name FROM pupils;
CREATE FUNCTION name_of(k text) RETURNS text LANGUAGE plpgsql STABLE
  AS $$ DECLARE v text; BEGIN SELECT name::text INTO v FROM pupils WHERE id = k; RETURN v; END $$;
CREATE FUNCTION name_dyn(k text) RETURNS text LANGUAGE plpgsql STABLE
  AS $$ DECLARE v text; BEGIN EXECUTE 'SELECT name::text FROM pupils WHERE id = $1' INTO v USING k; RETURN v; END $$;
CREATE FUNCTION all_pupils() RETURNS SETOF pupils LANGUAGE sql STABLE
  AS $$ SELECT * FROM pupils $$;
CREATE TABLE pokes (id text);
CREATE FUNCTION poke_reads() RETURNS trigger LANGUAGE plpgsql
  AS $$ BEGIN RAISE NOTICE 'trigger read: %', (SELECT name::text FROM pupils WHERE id = NEW.id); RETURN NEW; END $$;
CREATE TRIGGER poke_reads AFTER INSERT ON pokes FOR EACH ROW EXECUTE FUNCTION poke_reads();
CREATE RULE plain_reads AS ON UPDATE TO plain_t DO ALSO
  SELECT name::text AS via_rule FROM pupils WHERE id = NEW.id;         -- a rule: refused
CREATE FUNCTION insert_poke(k text) RETURNS void LANGUAGE sql
  AS $$ INSERT INTO pokes VALUES (k) $$;
GRANT SELECT, INSERT ON pupils, pupil_names, pokes TO regress_sg_a;
GRANT SELECT, UPDATE, INSERT ON plain_t TO regress_sg_a;
GRANT ALL ON SCHEMA public TO regress_sg_a;
SET ROLE regress_sg_a;
SELECT childguard.request_access('regress_sg_a', '{tutoring,art}', now() + interval '1 day') AS g \gset
SET ROLE regress_sg_dpo;
SELECT childguard.approve_access(:g);
SET ROLE regress_sg_a;
SET childguard.purpose = 'tutoring';
INSERT INTO pupils VALUES ('r-1', '名1'), ('r-2', '名2');

-- each route twice: under tutoring (read), then under art (nothing), each
-- after a plain statement that passed every fast path
SELECT note FROM plain_t WHERE id = 'r-1';
SELECT id, name FROM pupil_names WHERE id = 'r-1';                    -- a view
SELECT name_of('r-1');                                                -- a function
SELECT name_dyn('r-1');                                               -- EXECUTE in plpgsql
SELECT id, name FROM all_pupils() WHERE id = 'r-1';                   -- a set-returning function
WITH c AS (SELECT id, name FROM pupils) SELECT name FROM c WHERE id = 'r-1';  -- a CTE
PREPARE p(text) AS SELECT name FROM pupils WHERE id = $1;
EXECUTE p('r-1');                                                     -- a prepared statement
BEGIN;
DECLARE cur CURSOR FOR SELECT name FROM pupils WHERE id = 'r-2';
SELECT note FROM plain_t WHERE id = 'r-1';
FETCH cur;                                                            -- a cursor
COMMIT;
COPY (SELECT name FROM pupils WHERE id = 'r-1') TO STDOUT;            -- COPY
INSERT INTO pokes VALUES ('r-1');                                     -- a trigger
SELECT insert_poke('r-2');                                            -- a trigger under a SELECT
SET childguard.purpose = 'art';
SELECT note FROM plain_t WHERE id = 'r-1';
SELECT id, name FROM pupil_names WHERE id = 'r-1';
SELECT name_of('r-1');
SELECT name_dyn('r-1');
SELECT id, name FROM all_pupils() WHERE id = 'r-1';
WITH c AS (SELECT id, name FROM pupils) SELECT name FROM c WHERE id = 'r-1';
EXECUTE p('r-1');
BEGIN;
DECLARE cur CURSOR FOR SELECT name FROM pupils WHERE id = 'r-2';
SELECT note FROM plain_t WHERE id = 'r-1';
FETCH cur;
COMMIT;
COPY (SELECT name FROM pupils WHERE id = 'r-1') TO STDOUT;
INSERT INTO pokes VALUES ('r-1');
SELECT insert_poke('r-2');
SET childguard.purpose = 'tutoring';

-- search_path: a plain table of the same name first in the path, then the
-- protected one; the memo goes by OID, not name
RESET ROLE;
CREATE SCHEMA shadow;
CREATE TABLE shadow.pupils (id text, name text);
INSERT INTO shadow.pupils VALUES ('r-1', 'not a child');
GRANT USAGE ON SCHEMA shadow TO regress_sg_a;
GRANT SELECT ON shadow.pupils TO regress_sg_a;
SET ROLE regress_sg_a;
SET search_path = shadow, public;
SELECT name FROM pupils WHERE id = 'r-1';                              -- the plain one
SET search_path = public;
SELECT name FROM pupils WHERE id = 'r-1';                              -- the protected one
SET search_path = shadow, public;
SELECT name FROM pupils WHERE id = 'r-1';
SET childguard.purpose = 'art';
SET search_path = public;
SELECT name FROM pupils WHERE id = 'r-1';                              -- nothing: art
SET childguard.purpose = 'tutoring';
RESET search_path;

-- the protection memo: a table read while it had no child_data column,
-- then given one, is unprotected at once (the write is refused); one
-- re-created under the same name, and one created in the same transaction,
-- likewise; a read between two tables leaves neither answer stale
CREATE TABLE later (id text, note text);
INSERT INTO later VALUES ('r-1', 'x');
SELECT note FROM later;
ALTER TABLE later ADD COLUMN secret childguard.child_data;
INSERT INTO later VALUES ('r-1', 'x', '秘');                           -- refused: not protected
BEGIN;
SELECT note FROM later;
ALTER TABLE later DROP COLUMN secret;
INSERT INTO later VALUES ('r-1', 'y');                                 -- fine: no child data now
ALTER TABLE later ADD COLUMN secret2 childguard.child_data;
INSERT INTO later VALUES ('r-1', 'y', '秘');                           -- refused
ROLLBACK;
CREATE TABLE again (id text, name text);
INSERT INTO again VALUES ('r-1', 'x');
SELECT name FROM again;
DROP TABLE again;
CREATE TABLE again (id text, name childguard.child_data);
INSERT INTO again VALUES ('r-1', '秘');                                -- refused
BEGIN;
CREATE TABLE fresh (id text, name childguard.child_data);
SELECT count(*) FROM fresh;
INSERT INTO fresh VALUES ('r-1', '秘');                                -- refused
ROLLBACK;
SELECT note FROM plain_t WHERE id = 'r-1';
SELECT name FROM pupils WHERE id = 'r-1';
SELECT note FROM plain_t WHERE id = 'r-1';
SELECT name FROM pupils WHERE id = 'r-2';

-- children in one statement (one, two, one again): each read, each in the
-- statement's audit record
RESET ROLE;
SELECT childguard.audit_wait();
SELECT coalesce(max(id), 0) AS start_id FROM childguard.access_log \gset
SET ROLE regress_sg_a;
SELECT name FROM pupils WHERE id = 'r-2';
SELECT id, name FROM pupils ORDER BY id;
SELECT name_of('r-1') AS one, name_of('r-2') AS two, name_of('r-1') AS again;
SELECT name_of('r-2') AS one, name_of('r-2') AS again;
RESET ROLE;
SELECT childguard.audit_wait();
SELECT id - :start_id AS n, access, child_id
  FROM childguard.access_log_children WHERE id > :start_id ORDER BY id, access, child_id;
SET ROLE regress_sg_a;

-- the statement text: a value read masks the text once per statement; the
-- next message's text lands at the same address (psql sends each statement
-- as its own message) and a literal's input runs at parse analysis, before
-- its statement begins: it is masked all the same (pg_stat_activity of this
-- backend shows the text as masked while it runs)
SELECT name FROM pupils WHERE id = 'r-1';
SELECT '秘密甲' :: childguard.child_data IS NOT NULL AS input,
       strpos((SELECT query FROM pg_stat_activity WHERE pid = pg_backend_pid()), '秘密甲') AS shown;
SELECT name FROM pupils WHERE id = 'r-2';
SELECT '秘密乙' :: childguard.child_data IS NOT NULL AS input,
       strpos((SELECT query FROM pg_stat_activity WHERE pid = pg_backend_pid()), '秘密乙') AS shown;
RESET ROLE;
SELECT name FROM pupils WHERE id = 'r-1';                              -- refused: no grant
SELECT '秘密丙' :: childguard.child_data IS NOT NULL AS input,
       strpos((SELECT query FROM pg_stat_activity WHERE pid = pg_backend_pid()), '秘密丙') AS shown;
SET ROLE regress_sg_a;

-- ExecutorFinish of a plain SELECT still ends the statement's DDL check:
-- a function that drops the seal trigger, called by a plain SELECT, fails
RESET ROLE;
CREATE FUNCTION strip_seal() RETURNS void LANGUAGE plpgsql AS $$
DECLARE t text;
BEGIN
	SELECT tgname INTO t FROM pg_trigger WHERE tgrelid = 'pupils'::regclass AND NOT tgisinternal LIMIT 1;
	EXECUTE format('DROP TRIGGER %I ON pupils', t);
END $$;
SELECT strip_seal();                                                  -- refused (ZC400)
SELECT childguard.protection_problem('pupils') IS NULL AS still_protected;
SELECT count(*) FROM pg_trigger WHERE tgrelid = 'pupils'::regclass AND NOT tgisinternal;

-- the server file functions stay refused to non-superusers while a key is held
GRANT EXECUTE ON FUNCTION pg_read_file(text) TO regress_sg_a;
SET ROLE regress_sg_a;
SELECT note FROM plain_t WHERE id = 'r-1';
SELECT length(pg_read_file('postgresql.conf')) > 0;                   -- refused
RESET ROLE;
RESET childguard.purpose;
\c contrib_regression
DROP DATABASE regress_stmt_gate;
SET client_min_messages = warning;
DROP ROLE regress_sg_dpo, regress_sg_a, regress_sg_b;
