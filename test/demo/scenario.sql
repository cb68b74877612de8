-- childguard demo: a children's tutoring app.  Everything below is plain SQL
-- an application would run; the database does the protecting.
\set VERBOSITY default
\set SHOW_CONTEXT never
\pset null '(null)'

\echo '== 1. Install, and register two children (each gets its own data key) =='
CREATE EXTENSION childguard CASCADE;
SELECT childguard.register_child('42', birth_date => '2015-05-01') AS subject_no;
SELECT childguard.register_child('43', birth_date => '2011-09-10') AS subject_no;

\echo '== 2. The app''s table; protect() classifies the child-data columns =='
CREATE TABLE students (id bigint PRIMARY KEY,
                       name   childguard.child_data,
                       school childguard.child_data,
                       grade  int);
SELECT childguard.protect('students', subject_column => 'id',
                          categories => '{"name": "name", "school": "school"}');
SELECT * FROM childguard.protected_columns;

\echo '== 3. The app writes plaintext, unchanged SQL; INSERT and COPY =='
INSERT INTO students VALUES (42, '小明', '第一小学', 3);
COPY students FROM STDIN;
43	李华	实验中学	7
\.

\echo '== 4. What is stored: ciphertext bound to the child and category =='
SELECT id, left(name::text, 40) || '…' AS stored_name FROM students ORDER BY id;
SELECT id, e.* FROM students, childguard.envelope_info(name) e ORDER BY id;

\echo '== 5. With a declared purpose, the app reads plaintext =='
SET childguard.purpose = 'tutoring';
SELECT id, name, school, grade FROM students ORDER BY id;
SELECT id FROM students WHERE name = '小明';

\echo '== 6. What the database refuses =='
\echo '-- moving one child''s data into another child''s row:'
UPDATE students SET name = (SELECT name FROM students WHERE id = 43) WHERE id = 42;
\echo '-- data for a child nobody registered:'
INSERT INTO students VALUES (44, '无名', NULL, 1);
\echo '-- copying child data into a table that is not protected:'
CREATE TABLE export AS SELECT * FROM students;
CREATE TABLE loose (id bigint, name childguard.child_data);
INSERT INTO loose VALUES (42, '小明');
\echo '-- a stored value altered by one byte is detected, never returned as garbage:'
CREATE TEMP TABLE t AS SELECT childguard.envelope(name) AS e FROM students WHERE id = 42;
SELECT ('cg1:' || translate(encode(set_byte(decode(substr(e, 5), 'base64'), 40,
        get_byte(decode(substr(e, 5), 'base64'), 40) # 1), 'base64'), E'\n', ''))::childguard.child_data::text
  FROM t;

\echo '== 7. Keys: one master key (outside the data directory), one data key per child =='
SELECT * FROM childguard.master_key_status;
