-- Value sizes (issue 8, item 8): values are padded before encryption
-- (envelope format 2), so what any role can measure -- pg_column_size(),
-- envelope_info(), octet_length of the envelope -- shows only a size
-- bucket, never the exact length.  Format 1 values (childguard 1.0) still
-- read, and their text form round-trips byte for byte.  A database of its
-- own, so subject numbers do not depend on other tests.
SET client_min_messages = warning;
DROP DATABASE IF EXISTS regress_size;
CREATE DATABASE regress_size;
\c regress_size
SET client_min_messages = warning;
CREATE EXTENSION childguard CASCADE;
CREATE ROLE regress_s_reader BYPASSRLS;   -- sees the rows, holds no grant
RESET client_min_messages;
\set VERBOSITY default
\set SHOW_CONTEXT never
SELECT childguard.register_child('s-1', '2015-05-01') > 0 AS registered;
\i test/fixtures/regress_purpose.psql
SELECT pg_temp.consent_all() AS consents;
CREATE TABLE vals (id text, k serial, n int, v childguard.child_data(other));
SELECT childguard.protect('vals', 'id');
SELECT childguard.enroll_application('regress_s_reader');
GRANT SELECT ON vals TO regress_s_reader;
-- the bucket of a plaintext of n bytes: 4 + n rounded up to a power of
-- two from 16 to 64 KiB, then to a multiple of 64 KiB
CREATE FUNCTION pg_temp.bucket(n bigint) RETURNS bigint LANGUAGE sql IMMUTABLE AS $$
	SELECT CASE WHEN n + 4 <= 16 THEN 16
	            WHEN n + 4 <= 65536 THEN (2 ^ ceil(log(2, (n + 4)::numeric)))::bigint
	            ELSE ((n + 4 + 65535) / 65536) * 65536 END $$;

SET childguard.purpose = 'regress';
-- every length from 0 to 300 bytes, some multi-byte, and lengths around
-- the larger buckets
INSERT INTO vals (id, n, v) SELECT 's-1', n, repeat('x', n) FROM generate_series(0, 300) n;
INSERT INTO vals (id, n, v) SELECT 's-1', n, repeat('x', n) FROM unnest('{1019,1020,1021,4092,4093,65531,65532,65533,131068,131069,200000}'::int[]) n;
INSERT INTO vals (id, n, v) SELECT 's-1', octet_length(t), t FROM unnest('{小,小明,小明明,小明小明小,电话 13800138000}'::text[]) t;
-- the plaintexts read back exactly
SELECT count(*) AS rows, count(*) FILTER (WHERE octet_length(v::text) = n) AS exact
  FROM vals;
SELECT v FROM vals WHERE n IN (6, 9) AND v::text LIKE '小%' ORDER BY n;
RESET childguard.purpose;

-- envelope_info reports the bucket, never the exact length
SELECT count(*) AS values_checked,
       count(*) FILTER (WHERE e.ciphertext_bytes = pg_temp.bucket(n)) AS report_bucket,
       count(*) FILTER (WHERE e.ciphertext_bytes = n) AS report_exact_length,
       count(*) FILTER (WHERE e.format_version = 2) AS format_2
  FROM vals, childguard.envelope_info(v) e WHERE n + 4 NOT IN (16, 32, 64, 128, 256);
-- pg_column_size and the envelope's size take one value per bucket:
-- within a bucket, every length has the same stored size
SELECT pg_temp.bucket(n) AS bucket, count(*) AS lengths,
       count(DISTINCT pg_column_size(v)) AS stored_sizes,
       count(DISTINCT octet_length(childguard.envelope(v))) AS envelope_sizes,
       min(pg_column_size(v)) AS stored_size
  FROM vals GROUP BY 1 ORDER BY 1;
-- the same for a role that sees the rows but may not read the values
SET ROLE regress_s_reader;
SELECT count(DISTINCT pg_column_size(v)) AS distinct_sizes,
       count(DISTINCT e.ciphertext_bytes) AS distinct_reported
  FROM vals, childguard.envelope_info(v) e WHERE n <= 300;
RESET ROLE;
-- a value typed in but not yet sealed for a child is padded too
SET childguard.purpose = 'regress';
SELECT octet_length(x::text) AS bytes, (childguard.envelope_info(x)).pending,
       (childguard.envelope_info(x)).ciphertext_bytes, pg_column_size(x) AS stored_size
  FROM (VALUES ('a'::childguard.child_data), ('abcdefghijkl'), ('abcdefghijklm')) v(x);
RESET childguard.purpose;

-- format 1 (childguard 1.0) values: still read, and what a dump holds
-- comes back byte for byte; they report their bucket too
SET childguard.envelope_format_version = 1;
SET childguard.purpose = 'regress';
INSERT INTO vals (id, n, v) VALUES ('s-1', -1, '旧格式'), ('s-1', -2, 'old format value');
SET childguard.envelope_format_version = 2;
SELECT n, v, e.format_version, e.ciphertext_bytes,
       pg_column_size(v) - 44 - 1 AS stored_plaintext_bytes
  FROM vals, childguard.envelope_info(v) e WHERE n < 0 ORDER BY n;
RESET childguard.purpose;
CREATE TEMP TABLE dumped AS SELECT k, n, childguard.envelope(v) AS env FROM vals;
TRUNCATE vals;
SET childguard.purpose = 'regress';
INSERT INTO vals SELECT 's-1', k, n, env::childguard.child_data FROM dumped;   -- as a restore does
RESET childguard.purpose;
SELECT count(*) AS restored,
       count(*) FILTER (WHERE childguard.envelope(v) = d.env) AS byte_identical,
       count(*) FILTER (WHERE (childguard.envelope_info(v)).format_version = 1) AS format_1
  FROM vals JOIN dumped d USING (k);
SET childguard.purpose = 'regress';
SELECT n, v FROM vals WHERE n < 0 ORDER BY n;
RESET childguard.purpose;

-- only a superuser may write format 1
SET ROLE regress_s_reader;
SET childguard.envelope_format_version = 1;
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;

-- a format 2 envelope whose padded length is not a bucket is malformed;
-- one whose bytes were altered fails authentication
SELECT childguard.envelope(v) AS good FROM vals WHERE n = 5 \gset
SELECT ('cg1:' || translate(encode(substr(decode(substr(:'good', 5), 'base64'), 1, 28)
        || '\x00'::bytea || substr(decode(substr(:'good', 5), 'base64'), 29), 'base64'), E'\n', ''))::childguard.child_data;
\echo :LAST_ERROR_SQLSTATE
-- (byte 30 flipped, never overwritten: an overwrite is a no-op 1 time in 256)
SELECT ('cg1:' || translate(encode(set_byte(decode(substr(:'good', 5), 'base64'), 29,
        get_byte(decode(substr(:'good', 5), 'base64'), 29) # 255), 'base64'), E'\n', '')) AS altered \gset
SET childguard.purpose = 'regress';
SELECT :'altered'::childguard.child_data::text;
\echo :LAST_ERROR_SQLSTATE
RESET childguard.purpose;

DROP TABLE vals;
DROP OWNED BY regress_s_reader;
DROP ROLE regress_s_reader;
\c contrib_regression
DROP DATABASE regress_size;
