-- Red team (round 19): child plaintext quoted by an error of the reader's
-- own statement.  A lawful reader's statement that converts a value
-- (name::text::int, ::date, ::jsonb, ::regclass, xmlparse) or RAISEs it
-- fails with an error that quotes the plaintext; PostgreSQL writes that
-- report to the server log too (ERROR and WARNING reach it by default),
-- where monitoring roles and log shippers read it.  On the old code each
-- statement below showed 小一号 / 秘密学校 in the message, detail or
-- context (and in the server log); now a report of a statement that
-- formatted child data keeps only its wording.
SET client_min_messages = warning;
DROP DATABASE IF EXISTS regress_redteam_errors;
CREATE DATABASE regress_redteam_errors;
\c regress_redteam_errors
SET client_min_messages = warning;
CREATE EXTENSION childguard CASCADE;
RESET client_min_messages;
\set VERBOSITY default
\set SHOW_CONTEXT always
SELECT childguard.register_child('e-1', '2015-05-01') > 0 AS registered;
\i test/fixtures/regress_purpose.psql
SELECT pg_temp.consent_all() > 0 AS consents;
CREATE TABLE pupils (id text PRIMARY KEY, name childguard.child_data(name),
                     school childguard.child_data(school));
SELECT childguard.protect('pupils', 'id');
SET childguard.purpose = 'regress';
INSERT INTO pupils VALUES ('e-1', '小一号', '秘密学校');
SELECT id, name, school FROM pupils;           -- the reader may read them
-- conversions that fail and quote the value
SELECT name::text::int FROM pupils;
SELECT school::text::date FROM pupils;
SELECT (name::text)::jsonb FROM pupils;
SELECT name::text::regclass FROM pupils;
SELECT to_timestamp(name::text, 'YYYY') FROM pupils;
SELECT xmlparse(content '<' || school::text) FROM pupils;
-- the reader's own RAISE: message, detail, hint
DO $$DECLARE n text;
BEGIN
  SELECT name::text INTO n FROM pupils;
  RAISE EXCEPTION 'bad name %', n USING DETAIL = 'detail ' || n, HINT = 'hint ' || n;
END$$;
DO $$DECLARE n text;
BEGIN
  SELECT name::text INTO n FROM pupils;
  RAISE WARNING 'warned %', n;
END$$;
-- a function converting the value: context lines of PL/pgSQL stay
CREATE FUNCTION as_int(v text) RETURNS int LANGUAGE plpgsql AS $$BEGIN RETURN v::int; END$$;
SELECT as_int(name::text) FROM pupils;
-- childguard's own errors are not touched, nor errors of statements that
-- formatted no child data
SELECT 'not child data'::int;
SELECT xmlparse(content '<open');
RESET childguard.purpose;
SELECT name::text LIKE 'cg1:%' AS envelope FROM pupils;   -- no purpose: the envelope, as before
\c contrib_regression
DROP DATABASE regress_redteam_errors;
