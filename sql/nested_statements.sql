-- Nested statements (issue 10, item 2): statements run inside the
-- client's statement -- a COPY inside a function called by a COPY, a
-- FETCH inside a function, an error inside a function, a procedure that
-- commits, a trigger that writes child data -- leave the outer statement's
-- decision context and per-statement state as they were, and the outer
-- statement gets exactly one record, naming what it touched.  On the code
-- before issue 10 (the COPY flags reset, not restored, by a nested COPY),
-- the five refused COPY TO routes below print plaintext, the two COPY FROM
-- routes load plaintext into the unprotected table, and the three records
-- of statements reading a cursor inside a function name no table.
-- A database of its own, so log ids and subject numbers are stable.
SET client_min_messages = warning;
DROP DATABASE IF EXISTS regress_nested;
CREATE DATABASE regress_nested;
\c regress_nested
SET client_min_messages = warning;
CREATE EXTENSION childguard CASCADE;
RESET client_min_messages;
\set VERBOSITY terse
\set SHOW_CONTEXT never

SELECT childguard.register_child('n-1', '2015-05-01') AS n1,
       childguard.register_child('n-2', '2016-06-01') AS n2;
\i test/fixtures/regress_purpose.psql
SELECT pg_temp.consent_all() AS consents;

CREATE TABLE kids (id text PRIMARY KEY, name childguard.child_data(name),
                   school childguard.child_data(school));
SELECT childguard.protect('kids', 'id');
CREATE TABLE marks (id text PRIMARY KEY, mark childguard.child_data(school));
SELECT childguard.protect('marks', 'id');
-- a table holding child data that is not protected: COPY FROM takes
-- sealed values (envelopes) only
CREATE TABLE loose (id text, name childguard.child_data(name));
CREATE TABLE plain (n int);

SET childguard.purpose = 'regress';
INSERT INTO kids VALUES ('n-1', '小明', '第一小学'), ('n-2', '小红', '第二小学');
RESET childguard.purpose;

SELECT childguard.audit_wait();
SELECT coalesce(max(id), 0) AS start_id FROM childguard.access_log \gset

-------------------------------------------------------------------------------
-- 1. A COPY inside a function called by a COPY
-------------------------------------------------------------------------------
-- the inner COPY touches no child data; it ends before the outer COPY
-- formats its first value.  (A function cannot COPY to or from the client:
-- PL/pgSQL and SQL functions refuse it; the inner COPY writes a file.)
CREATE FUNCTION inner_copy_out() RETURNS int LANGUAGE plpgsql AS $$
BEGIN
	COPY (SELECT 1) TO '/dev/null';
	RETURN 1;
END $$;
CREATE FUNCTION inner_copy_in() RETURNS int LANGUAGE plpgsql AS $$
BEGIN
	COPY plain FROM '/dev/null';
	RETURN 1;
END $$;
-- an inner COPY that fails, caught inside the function
CREATE FUNCTION inner_copy_caught() RETURNS int LANGUAGE plpgsql AS $$
BEGIN
	BEGIN
		COPY (SELECT 1 / 0) TO '/dev/null';
	EXCEPTION WHEN division_by_zero THEN
		NULL;
	END;
	RETURN 1;
END $$;

SET childguard.purpose = 'regress';           -- a use purpose: no plaintext COPY TO
-- the outer COPY TO is still a COPY TO after the inner COPY ended: refused
COPY (SELECT inner_copy_out(), id, name FROM kids ORDER BY id) TO STDOUT;
COPY (SELECT inner_copy_in(), id, name FROM kids ORDER BY id) TO STDOUT;
COPY (SELECT inner_copy_caught(), id, name FROM kids ORDER BY id) TO STDOUT;
-- the inner COPY run by EXECUTE, and by a procedure the function calls
CREATE FUNCTION inner_copy_dynamic() RETURNS int LANGUAGE plpgsql AS $$
BEGIN
	EXECUTE 'COPY (SELECT 1) TO ''/dev/null''';
	RETURN 1;
END $$;
CREATE PROCEDURE copy_proc() LANGUAGE plpgsql AS $$
BEGIN
	COPY (SELECT 1) TO '/dev/null';
END $$;
CREATE FUNCTION inner_copy_call() RETURNS int LANGUAGE plpgsql AS $$
BEGIN
	CALL copy_proc();
	RETURN 1;
END $$;
COPY (SELECT inner_copy_dynamic(), id, name FROM kids ORDER BY id) TO STDOUT;
COPY (SELECT inner_copy_call(), id, name FROM kids ORDER BY id) TO STDOUT;
-- a plain SELECT calling a COPY is no COPY TO once the COPY ended
SELECT inner_copy_out(), id, name FROM kids ORDER BY id;
-- the inner COPY of child data decides as a COPY TO: refused under a use purpose
CREATE FUNCTION inner_copy_kids() RETURNS int LANGUAGE plpgsql AS $$
BEGIN
	COPY (SELECT name FROM kids WHERE id = 'n-2') TO '/dev/null';
	RETURN 1;
END $$;
SELECT id, name, inner_copy_kids() FROM kids WHERE id = 'n-1';
\echo :LAST_ERROR_SQLSTATE
-- under an assessed transfer purpose, the outer COPY goes out, one record
SET childguard.purpose = 'regress_transfer';
COPY (SELECT inner_copy_out(), id, name FROM kids ORDER BY id) TO STDOUT;
COPY (SELECT inner_copy_kids(), id, school FROM kids WHERE id = 'n-1') TO STDOUT;
-- a nested statement that switches the purpose changes nothing for the
-- statement running: the outer COPY keeps the context it began with
CREATE FUNCTION switch_then_copy(p text) RETURNS int LANGUAGE plpgsql AS $$
BEGIN
	PERFORM set_config('childguard.purpose', p, true);
	COPY (SELECT 1) TO '/dev/null';
	RETURN 1;
END $$;
BEGIN;
COPY (SELECT switch_then_copy('regress'), id, name FROM kids WHERE id = 'n-2') TO STDOUT;
COMMIT;
SET childguard.purpose = 'regress';
BEGIN;
COPY (SELECT switch_then_copy('regress_transfer'), id, name FROM kids ORDER BY id) TO STDOUT;
ROLLBACK;
RESET childguard.purpose;

-- COPY FROM into the unprotected table: plaintext is refused on every row,
-- also after a COPY inside the previous row's WHERE clause has ended
COPY loose FROM STDIN WHERE inner_copy_in() = 1;
e-1	\N
p-1	泄露的名字
\.
CREATE FUNCTION inner_copy_loose() RETURNS int LANGUAGE plpgsql AS $$
BEGIN
	COPY loose FROM '/dev/null';
	RETURN 1;
END $$;
COPY loose FROM STDIN WHERE inner_copy_loose() = 1;
e-1	\N
p-1	泄露的名字
\.
-- another unprotected table, by EXECUTE
CREATE TABLE loose2 (id text, name childguard.child_data(name));
CREATE FUNCTION inner_copy_loose2() RETURNS int LANGUAGE plpgsql AS $$
BEGIN
	EXECUTE 'COPY loose2 FROM ''/dev/null''';
	RETURN 1;
END $$;
COPY loose FROM STDIN WHERE inner_copy_loose2() = 1;
e-1	\N
p-1	泄露的名字
\.
SELECT count(*) AS loose_rows FROM loose;         -- nothing loaded

-------------------------------------------------------------------------------
-- 2. FETCH inside a function: the cursor's query began in an earlier
-- statement; the statement that fetches is the one that reads, decides
-- under its own context, and names the cursor's tables
-------------------------------------------------------------------------------
CREATE FUNCTION fetch_name(c refcursor) RETURNS text LANGUAGE plpgsql AS $$
DECLARE r record;
BEGIN
	FETCH c INTO r;
	RETURN r.id || ':' || r.name::text;
END $$;
BEGIN;
DECLARE c1 CURSOR FOR SELECT id, name FROM kids ORDER BY id;   -- no purpose yet
SET childguard.purpose = 'regress';
SELECT fetch_name('c1') AS fetched;                            -- by a statement
DECLARE c2 CURSOR FOR SELECT fetch_name('c1') AS fetched;
FETCH c2;                                                      -- by a FETCH
COMMIT;
-- a FETCH run by EXECUTE inside a function
CREATE FUNCTION fetch_dynamic(c text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE r record;
BEGIN
	EXECUTE format('FETCH 1 FROM %I', c) INTO r;
	RETURN r.id || ':' || r.school::text;
END $$;
BEGIN;
DECLARE c4 CURSOR FOR SELECT id, school FROM kids ORDER BY id;
SET childguard.purpose = 'regress';
SELECT fetch_dynamic('c4') AS fetched;
COMMIT;
RESET childguard.purpose;
-- without a purpose, the function's FETCH shows the sealed form
BEGIN;
DECLARE c3 CURSOR FOR SELECT id, name FROM kids ORDER BY id;
SELECT fetch_name('c3') ~ '^n-1:cg1:' AS sealed;
COMMIT;

-------------------------------------------------------------------------------
-- 3. Errors inside nested statements
-------------------------------------------------------------------------------
-- caught by an EXCEPTION block: the outer statement goes on and gets its
-- normal record, naming both children read (n-2 read before the error)
CREATE FUNCTION read_caught() RETURNS text LANGUAGE plpgsql AS $$
DECLARE a text; b int;
BEGIN
	SELECT name::text INTO a FROM kids WHERE id = 'n-1';
	BEGIN
		SELECT name::text::int INTO b FROM kids WHERE id = 'n-2';
	EXCEPTION WHEN invalid_text_representation THEN
		b := -1;
	END;
	RETURN a || b;
END $$;
SET childguard.purpose = 'regress';
SELECT read_caught();
-- not caught: one error record with the SQLSTATE, naming only the child
-- actually read (n-1; n-2 was never touched)
CREATE FUNCTION read_fail() RETURNS text LANGUAGE plpgsql AS $$
DECLARE a text;
BEGIN
	SELECT name::text INTO a FROM kids WHERE id = 'n-1';
	RAISE EXCEPTION USING ERRCODE = 'P0042', MESSAGE = 'nested failure';
END $$;
CREATE FUNCTION read_then(k text) RETURNS text LANGUAGE sql AS $$
	SELECT name::text FROM kids WHERE id = k $$;
SELECT read_fail();
-- the same in a transaction block (the transaction aborts) ...
BEGIN;
SELECT read_fail();
ROLLBACK;
-- ... and in a savepoint (only the subtransaction aborts)
BEGIN;
SAVEPOINT s;
SELECT read_fail();
ROLLBACK TO SAVEPOINT s;
SELECT read_then('n-2');                      -- the next statement: its own record
COMMIT;
-- an error inside a nested COPY, not caught, in a DO block
DO $$ BEGIN COPY (SELECT name::text::int FROM kids WHERE id = 'n-2') TO '/dev/null'; END $$;
\echo :LAST_ERROR_SQLSTATE
RESET childguard.purpose;

-------------------------------------------------------------------------------
-- 4. A procedure that commits between reads: one record for the CALL
-------------------------------------------------------------------------------
CREATE PROCEDURE read_commit_read() LANGUAGE plpgsql AS $$
DECLARE a text;
BEGIN
	SELECT name::text INTO a FROM kids WHERE id = 'n-1';
	COMMIT;
	SELECT school::text INTO a FROM kids WHERE id = 'n-2';
END $$;
SET childguard.purpose = 'regress';
CALL read_commit_read();
-- and one that fails after its COMMIT: an error record for the CALL
CREATE PROCEDURE read_commit_fail() LANGUAGE plpgsql AS $$
DECLARE a text;
BEGIN
	SELECT name::text INTO a FROM kids WHERE id = 'n-2';
	COMMIT;
	RAISE EXCEPTION USING ERRCODE = 'P0043', MESSAGE = 'after commit';
END $$;
CALL read_commit_fail();

-------------------------------------------------------------------------------
-- 5. A trigger writing child data inside a statement reading it
-------------------------------------------------------------------------------
CREATE TABLE events (id text, note text);
CREATE FUNCTION events_mark() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	INSERT INTO marks VALUES (NEW.id, NEW.note);
	RETURN NEW;
END $$;
CREATE TRIGGER events_mark AFTER INSERT ON events FOR EACH ROW EXECUTE FUNCTION events_mark();
INSERT INTO events SELECT id, school::text FROM kids WHERE id = 'n-1';
SELECT id, mark FROM marks;
RESET childguard.purpose;

-------------------------------------------------------------------------------
-- The records, statement by statement
-------------------------------------------------------------------------------
SELECT childguard.audit_wait();
SELECT id - :start_id AS n, command, outcome, sqlstate, purpose, relations,
       children_read, children_denied, children_written, rows
  FROM childguard.access_log WHERE id > :start_id ORDER BY id;
SELECT id - :start_id AS n, access, child_id
  FROM childguard.access_log_children WHERE id > :start_id ORDER BY id, access, child_id;
SELECT valid FROM childguard.verify_access_log();

\c contrib_regression
DROP DATABASE regress_nested;
