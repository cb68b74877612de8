-- The child_data type: input, output, envelope round trip, equality,
-- NULL, empty strings, multi-byte text, large values, type modifiers.
\set VERBOSITY default
\set SHOW_CONTEXT never

SELECT childguard.register_child('t-1', '2015-05-01') > 0 AS registered;
SELECT childguard.register_child('t-2', '2012-01-31') > 0 AS registered;
\i test/fixtures/regress_purpose.psql
SELECT pg_temp.consent_all() AS consents;
CREATE TABLE kids (id text PRIMARY KEY,
                   name childguard.child_data(name),
                   note childguard.child_data(other));
SELECT childguard.protect('kids', 'id');

-- plaintext in, through INSERT and COPY; collecting needs a purpose
INSERT INTO kids VALUES ('t-1', '小明', '');
\echo :LAST_ERROR_SQLSTATE
SET childguard.purpose = 'regress';
INSERT INTO kids VALUES ('t-1', '小明', '');
COPY kids FROM STDIN;
t-2	Ольга 🎈	\N
\.
RESET childguard.purpose;

-- without a purpose: the envelope, never plaintext
SELECT id, left(name::text, 4) AS prefix, note IS NULL AS note_null FROM kids ORDER BY id;
SELECT count(*) AS plaintext_visible FROM kids WHERE name::text IN ('小明', 'Ольга 🎈');

-- what is stored: a sealed envelope bound to the child and category
SELECT id, e.format_version, e.category, e.subject_no > 0 AS has_subject,
       e.key_version, e.pending, e.ciphertext_bytes
  FROM kids, childguard.envelope_info(name) e ORDER BY id;

-- with a purpose: plaintext, including the empty string and multi-byte text
SET childguard.purpose = 'regress';
SELECT id, name, note, note = '' AS note_is_empty, octet_length(name::text) AS bytes
  FROM kids ORDER BY id;

-- equality reads both sides
SELECT id FROM kids WHERE name = '小明';
SELECT id FROM kids WHERE name <> '小明' ORDER BY id;
SELECT count(*) FROM kids WHERE name IS NULL;

-- the envelope text goes back in unchanged and still decrypts
CREATE TEMP TABLE env AS SELECT id, childguard.envelope(name) AS e FROM kids;
UPDATE kids k SET name = env.e::childguard.child_data FROM env WHERE env.id = k.id;
SELECT id, name FROM kids ORDER BY id;
SELECT count(*) AS unchanged FROM kids k JOIN env USING (id) WHERE childguard.envelope(k.name) = env.e;

-- a typed-in value that was never stored: visible to its own session only
SELECT '写在这里'::childguard.child_data AS pending_value;
SELECT e.pending, e.category IS NULL AS no_category
  FROM childguard.envelope_info('x'::childguard.child_data) e;

-- large values go through TOAST, encrypted (16 MB)
UPDATE kids SET note = repeat('大', 16 * 1024 * 1024 / 3) WHERE id = 't-2';
SELECT id, length(note::text) AS chars, note::text = repeat('大', 16 * 1024 * 1024 / 3) AS same
  FROM kids WHERE id = 't-2';
SELECT pg_column_size(note) > 16 * 1024 * 1024 - 100 AS stored_uncompressed FROM kids WHERE id = 't-2';

-- comparison needs a purpose: no oracle without one
RESET childguard.purpose;
SELECT id FROM kids WHERE name = '小明';
\echo :LAST_ERROR_SQLSTATE

-- type modifiers name categories
SELECT 'x'::childguard.child_data(health) IS NOT NULL AS ok;
CREATE TABLE bad_mod (a childguard.child_data(nonsense));
\echo :LAST_ERROR_SQLSTATE
CREATE TABLE bad_mod (a childguard.child_data(name, school));
\echo :LAST_ERROR_SQLSTATE
SELECT format_type('childguard.child_data'::regtype, 8) AS health_type;

-- ordering reads the values, so it needs a purpose (child_data_queries);
-- no index over child data (planted_code)
SELECT id FROM kids ORDER BY name;
\echo :LAST_ERROR_SQLSTATE
CREATE INDEX ON kids (name);
\echo :LAST_ERROR_SQLSTATE

DROP TABLE kids;
