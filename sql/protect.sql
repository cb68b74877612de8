-- protect(): classification, the seal trigger, and the write guard.
\set VERBOSITY default
\set SHOW_CONTEXT never

SELECT childguard.register_child('p-42', '2015-05-01') > 0 AS registered;
SELECT childguard.register_child('p-43', '2016-02-29') > 0 AS registered;
\i test/fixtures/regress_purpose.psql
SELECT pg_temp.consent_all() AS consents;

CREATE TABLE students (id text PRIMARY KEY,
                       name   childguard.child_data,
                       school childguard.child_data,
                       grade  int);

-- an unprotected table refuses child data, and stays empty
INSERT INTO students VALUES ('p-42', '小明', '第一小学', 3);
\echo :LAST_ERROR_SQLSTATE
COPY students FROM STDIN;
p-42	小明	第一小学	3
\.
\echo :LAST_ERROR_SQLSTATE
SELECT count(*) FROM students;

-- bad arguments
SELECT childguard.protect('students', 'nope', '{"name": "name"}');
\echo :LAST_ERROR_SQLSTATE
SELECT childguard.protect('students', 'id', '{"name": "nonsense", "school": "school"}');
\echo :LAST_ERROR_SQLSTATE
SELECT childguard.protect('students', 'id', '{"grade": "other"}');
\echo :LAST_ERROR_SQLSTATE
SELECT childguard.protect('students', 'id', '{"missing": "other"}');
\echo :LAST_ERROR_SQLSTATE
SELECT childguard.protect('students', 'id', '["name"]');
\echo :LAST_ERROR_SQLSTATE
SELECT childguard.protect('students', 'id', '{"name": "name"}');
\echo :LAST_ERROR_SQLSTATE
SELECT count(*) AS triggers FROM pg_trigger WHERE tgrelid = 'students'::regclass;

SELECT childguard.protect('students', 'id', '{"name": "name", "school": "school"}');
SELECT * FROM childguard.protected_columns ORDER BY column_name;

-- INSERT, multi-row, INSERT ... SELECT, ON CONFLICT, COPY: all sealed
-- (collecting child data needs a declared purpose)
SET childguard.purpose = 'regress';
INSERT INTO students VALUES ('p-42', '小明', '第一小学', 3);
INSERT INTO students SELECT 'p-43', '小红', '第二小学', 4;
INSERT INTO students VALUES ('p-42', '小明明', '第三小学', 5)
  ON CONFLICT (id) DO UPDATE SET name = excluded.name, grade = excluded.grade;
SELECT id, e.category, e.pending FROM students, childguard.envelope_info(name) e ORDER BY id;
SELECT * FROM students ORDER BY id;

-- unknown child, null child: refused, nothing written
INSERT INTO students VALUES ('p-99', '无名', NULL, 1);
\echo :LAST_ERROR_SQLSTATE
INSERT INTO students VALUES (NULL, '无名', NULL, 1);
\echo :LAST_ERROR_SQLSTATE
INSERT INTO students (id, grade) VALUES ('p-98', 1);   -- no child data: fine
DELETE FROM students WHERE id = 'p-98';

-- ciphertext moved to another child's row or another category: refused
UPDATE students SET name = (SELECT name FROM students WHERE id = 'p-43') WHERE id = 'p-42';
\echo :LAST_ERROR_SQLSTATE
UPDATE students SET school = name WHERE id = 'p-42';
\echo :LAST_ERROR_SQLSTATE
UPDATE students SET id = 'p-43x' WHERE id = 'p-43';
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM students ORDER BY id;

-- an envelope edited by hand: one byte changed, or its subject rewritten
CREATE FUNCTION flip_byte(e text, pos int) RETURNS text LANGUAGE sql AS $$
  SELECT 'cg1:' || translate(encode(set_byte(decode(substr(e, 5), 'base64'), pos,
                          get_byte(decode(substr(e, 5), 'base64'), pos) # 1), 'base64'), E'\n', '') $$;
CREATE TEMP TABLE tampered AS
  SELECT id, flip_byte(childguard.envelope(name), 40) AS ciphertext_byte,
             flip_byte(childguard.envelope(name), 20) AS nonce_byte,
             flip_byte(childguard.envelope(name), 6)  AS key_version_byte
    FROM students WHERE id = 'p-42';
-- the trigger only checks bindings; authentication happens at read time
UPDATE students SET name = (SELECT ciphertext_byte::childguard.child_data FROM tampered) WHERE id = 'p-42';
SELECT name FROM students WHERE id = 'p-42';
\echo :LAST_ERROR_SQLSTATE
SELECT name::text FROM students WHERE id = 'p-42';
\echo :LAST_ERROR_SQLSTATE
UPDATE students SET name = (SELECT nonce_byte::childguard.child_data FROM tampered) WHERE id = 'p-42';
SELECT name FROM students WHERE id = 'p-42';
\echo :LAST_ERROR_SQLSTATE
SELECT (SELECT key_version_byte FROM tampered)::childguard.child_data::text;
\echo :LAST_ERROR_SQLSTATE
-- subject field rewritten to another child's number: that child's key does not open it
CREATE FUNCTION set_subject(e text, subject bigint) RETURNS text LANGUAGE sql AS $$
  SELECT 'cg1:' || translate(encode(overlay(decode(substr(e, 5), 'base64')
                                  PLACING int8send(subject) FROM 9 FOR 8), 'base64'), E'\n', '') $$;
UPDATE students SET name = (
  SELECT set_subject(childguard.envelope(s43.name), (childguard.envelope_info(s42.name)).subject_no)
    FROM students s43, students s42 WHERE s43.id = 'p-43' AND s42.id = 'p-42')::childguard.child_data
 WHERE id = 'p-42';
SELECT name FROM students WHERE id = 'p-42';
\echo :LAST_ERROR_SQLSTATE
UPDATE students SET name = '小明' WHERE id = 'p-42';

-- malformed envelopes
SELECT 'cg1:'::childguard.child_data;
\echo :LAST_ERROR_SQLSTATE
SELECT 'cg1:!!!!'::childguard.child_data;
\echo :LAST_ERROR_SQLSTATE
SELECT 'cg1:AAAA'::childguard.child_data;
\echo :LAST_ERROR_SQLSTATE
-- a future format version, unknown flags, a pending value claiming a category
SELECT ('cg1:' || translate(encode('\x03'::bytea || decode(repeat('00', 59), 'hex'), 'base64'), E'\n', ''))::childguard.child_data;
\echo :LAST_ERROR_SQLSTATE
SELECT ('cg1:' || translate(encode('\x0101ff'::bytea || decode(repeat('00', 57), 'hex'), 'base64'), E'\n', ''))::childguard.child_data;
\echo :LAST_ERROR_SQLSTATE
SELECT ('cg1:' || translate(encode('\x010501'::bytea || decode(repeat('00', 57), 'hex'), 'base64'), E'\n', ''))::childguard.child_data;
\echo :LAST_ERROR_SQLSTATE
SELECT count(*) FROM students;

-- session_replication_role cannot switch sealing off
SET session_replication_role = replica;
INSERT INTO students VALUES ('p-43', '复制', NULL, 1) ON CONFLICT (id) DO UPDATE SET name = excluded.name;
RESET session_replication_role;
SELECT id, e.pending FROM students, childguard.envelope_info(name) e ORDER BY id;

-- disabling or dropping the seal trigger makes the table refuse writes.
-- DDL that does so is refused (ZC400, orm_ddl); done on purpose (as
-- unprotect() does), the table refuses child data
ALTER TABLE students DISABLE TRIGGER zz_childguard_seal;
\echo :LAST_ERROR_SQLSTATE
DO $$ BEGIN
  PERFORM childguard._unprotect_begin('students');
  ALTER TABLE students DISABLE TRIGGER zz_childguard_seal;
END $$;
INSERT INTO students VALUES ('p-44', 'x', NULL, 1);
\echo :LAST_ERROR_SQLSTATE
ALTER TABLE students ENABLE ALWAYS TRIGGER zz_childguard_seal;
SELECT childguard.unprotect('students');
UPDATE students SET name = 'x' WHERE id = 'p-42';
\echo :LAST_ERROR_SQLSTATE
WITH w AS (UPDATE students SET grade = 9 RETURNING 1) SELECT count(*) FROM w;
\echo :LAST_ERROR_SQLSTATE
DELETE FROM students WHERE id = 'p-43';   -- deleting is always allowed
SELECT childguard.protect('students', 'id');
SELECT id, name FROM students ORDER BY id;

-- tables created from queries cannot hold child data
CREATE TABLE copy1 AS SELECT * FROM students;
\echo :LAST_ERROR_SQLSTATE
SELECT name INTO copy2 FROM students;
\echo :LAST_ERROR_SQLSTATE
CREATE MATERIALIZED VIEW mv AS SELECT name FROM students;
\echo :LAST_ERROR_SQLSTATE
CREATE TABLE copy3 AS SELECT id, grade FROM students;   -- no child data: fine
DROP TABLE copy3;

-- child data nested in arrays or composites cannot be protected
CREATE TABLE nested (id text, names childguard.child_data[]);
INSERT INTO nested VALUES ('p-42', ARRAY['a']::childguard.child_data[]);
\echo :LAST_ERROR_SQLSTATE

-- a protected temporary table works like any other
CREATE TEMP TABLE scratch (id text, name childguard.child_data);
SELECT childguard.protect('scratch', 'id', '{"name": "name"}');
INSERT INTO scratch VALUES ('p-42', '临时');
SELECT name FROM scratch;

-- a column added later must be classified before the table takes writes
-- again: without a category it is refused (ZC400); on purpose, the table
-- then refuses writes until protect() classifies it
ALTER TABLE students ADD COLUMN phone childguard.child_data;
\echo :LAST_ERROR_SQLSTATE
DO $$ BEGIN
  PERFORM childguard._unprotect_begin('students');
  ALTER TABLE students ADD COLUMN phone childguard.child_data;
END $$;
INSERT INTO students (id, grade) VALUES ('p-45', 1);
\echo :LAST_ERROR_SQLSTATE
SELECT childguard.protect('students', 'id', '{"phone": "contact"}');
UPDATE students SET phone = '13800000000' WHERE id = 'p-42';
SELECT id, phone FROM students ORDER BY id;

-- ALTER TABLE routes that would store values without the seal trigger
ALTER TABLE students ADD COLUMN motto childguard.child_data DEFAULT '勤奋';
\echo :LAST_ERROR_SQLSTATE
ALTER TABLE students ADD COLUMN nickname text;
UPDATE students SET nickname = '明明';
ALTER TABLE students ALTER COLUMN nickname TYPE childguard.child_data USING nickname::childguard.child_data;
\echo :LAST_ERROR_SQLSTATE
SELECT nickname FROM students;
-- the supported migration: a new column, with its category, filled by UPDATE
ALTER TABLE students ADD COLUMN nickname_cd childguard.child_data(name);
SELECT childguard.protect('students', 'id', '{"nickname_cd": "name"}');
UPDATE students SET nickname_cd = nickname;
ALTER TABLE students DROP COLUMN nickname;
SELECT id, nickname_cd, (childguard.envelope_info(nickname_cd)).pending FROM students;

DROP TABLE students, nested, scratch;
DROP FUNCTION flip_byte(text, int), set_subject(text, bigint);
