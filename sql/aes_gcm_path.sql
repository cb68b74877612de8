-- The two AES-256-GCM implementations (issue 12): childguard.aes_gcm_path
-- "auto" seals and opens on the CPU's AES and carry-less multiply
-- instructions where available (after a known-answer test against EVP), "openssl"
-- always through EVP.  Both must read and write the same format: values
-- of every length around the block and size-bucket boundaries, written
-- under one path, read under the other, for children interleaved so that
-- every value re-keys; switching paths between statements keeps working
-- with the keys each path holds; an altered byte (ciphertext, tag, header)
-- fails authentication under both paths; only a superuser sets it.
SET client_min_messages = warning;
DROP DATABASE IF EXISTS regress_aes_path;
CREATE DATABASE regress_aes_path;
\c regress_aes_path
SET client_min_messages = warning;
CREATE EXTENSION childguard CASCADE;
CREATE ROLE regress_ap_user;
RESET client_min_messages;
\set VERBOSITY terse
SHOW childguard.aes_gcm_path;
SELECT count(childguard.register_child('ap' || i, '2012-01-01')) FROM generate_series(1, 7) i;
\i test/fixtures/regress_purpose.psql
SELECT pg_temp.consent_all() > 0 AS consented;
CREATE TABLE ap (id int PRIMARY KEY, child text NOT NULL, path text NOT NULL, plain text NOT NULL,
                 v childguard.child_data(name));
SELECT childguard.protect('ap', 'child');
-- byte lengths 0..80, then longer ones (multibyte: 3 bytes a character)
CREATE TEMP TABLE src AS
  SELECT row_number() OVER (ORDER BY n) AS k, repeat('学', n / 3) || repeat('x', n % 3) AS s
  FROM (SELECT generate_series(0, 80) AS n
        UNION ALL SELECT unnest(ARRAY[95, 96, 97, 127, 128, 129, 255, 256, 1000, 4096, 4097, 70000])) l;
SELECT count(*) AS lengths, count(DISTINCT octet_length(s)) AS distinct_lengths FROM src;
SET childguard.purpose = 'regress';
SET childguard.aes_gcm_path = 'openssl';
INSERT INTO ap SELECT k, 'ap' || (k % 7 + 1), 'openssl', s, s FROM src;
SET childguard.aes_gcm_path = 'auto';
INSERT INTO ap SELECT 1000 + k, 'ap' || (k % 7 + 1), 'auto', s, s FROM src;
-- every value read under each path, in id order (a new child every row)
SELECT path, count(*) FILTER (WHERE v::text = plain) AS right, count(*) AS total
  FROM ap GROUP BY path ORDER BY path;
SET childguard.aes_gcm_path = 'openssl';
SELECT path, count(*) FILTER (WHERE v::text = plain) AS right, count(*) AS total
  FROM ap GROUP BY path ORDER BY path;
-- one child's values, switching path at every statement (each path keyed apart)
SELECT count(*) FILTER (WHERE v::text = plain) AS right FROM ap WHERE child = 'ap3';
SET childguard.aes_gcm_path = 'auto';
SELECT count(*) FILTER (WHERE v::text = plain) AS right FROM ap WHERE child = 'ap3';
SET childguard.aes_gcm_path = 'openssl';
SELECT count(*) FILTER (WHERE v::text = plain) AS right FROM ap WHERE child = 'ap3';
SET childguard.aes_gcm_path = 'auto';
-- an update re-seals under the current path; read back under the other
UPDATE ap SET v = plain || '!' WHERE id % 5 = 0;
SET childguard.aes_gcm_path = 'openssl';
SELECT count(*) FILTER (WHERE v::text = plain || CASE WHEN id % 5 = 0 THEN '!' ELSE '' END) AS right,
       count(*) AS total FROM ap;
-- altered bytes: the last ciphertext byte before the tag, the tag's last
-- byte, a header byte (the category): refused under both paths
SELECT childguard.envelope(v) AS good FROM ap WHERE id = 1000 + 21 \gset
SELECT ('cg1:' || translate(encode(set_byte(decode(substr(:'good', 5), 'base64'),
        length(decode(substr(:'good', 5), 'base64')) - 17,
        get_byte(decode(substr(:'good', 5), 'base64'),
                 length(decode(substr(:'good', 5), 'base64')) - 17) # 1), 'base64'), E'\n', '')) AS bad_cipher \gset
SELECT ('cg1:' || translate(encode(set_byte(decode(substr(:'good', 5), 'base64'),
        length(decode(substr(:'good', 5), 'base64')) - 1,
        get_byte(decode(substr(:'good', 5), 'base64'),
                 length(decode(substr(:'good', 5), 'base64')) - 1) # 128), 'base64'), E'\n', '')) AS bad_tag \gset
SELECT ('cg1:' || translate(encode(set_byte(decode(substr(:'good', 5), 'base64'), 1,
        get_byte(decode(substr(:'good', 5), 'base64'), 1) # 2), 'base64'), E'\n', '')) AS bad_header \gset
SELECT :'good'::childguard.child_data::text = (SELECT plain FROM ap WHERE id = 1000 + 21) AS good_reads;
SELECT :'bad_cipher'::childguard.child_data::text;
SELECT :'bad_tag'::childguard.child_data::text;
SELECT :'bad_header'::childguard.child_data::text;
SET childguard.aes_gcm_path = 'auto';
SELECT :'good'::childguard.child_data::text = (SELECT plain FROM ap WHERE id = 1000 + 21) AS good_reads;
SELECT :'bad_cipher'::childguard.child_data::text;
SELECT :'bad_tag'::childguard.child_data::text;
SELECT :'bad_header'::childguard.child_data::text;
-- superuser only
SET ROLE regress_ap_user;
SET childguard.aes_gcm_path = 'openssl';
RESET ROLE;
SET childguard.aes_gcm_path = 'fastest';
\c contrib_regression
SET client_min_messages = warning;
DROP DATABASE regress_aes_path;
DROP ROLE regress_ap_user;
