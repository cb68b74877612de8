-- The size limit of a child_data value (docs/keys.md "Limits"): refused
-- with ZC045 at the limit + 1 byte on every way in (text input of
-- plaintext, of an envelope, binary COPY), before anything is decoded or
-- encrypted, and nothing is changed.  childguard.max_value_size (at most
-- 512MB) lowers the limit so that the boundary is tested on small values;
-- test/t-long/060_value_size_limit.pl tests the 512MB limit itself.
\set VERBOSITY default
\set SHOW_CONTEXT never

SELECT childguard.register_child('vs-1', '2015-05-01') > 0 AS registered;
\i test/fixtures/regress_purpose.psql
SELECT pg_temp.consent_all() >= 0 AS consents;
CREATE TABLE vs_kids (id text, n int, note childguard.child_data(other));
SELECT childguard.protect('vs_kids', 'id');

SHOW childguard.max_value_size;
SET childguard.max_value_size = '513MB';
SET childguard.max_value_size = 1000;
SET childguard.purpose = 'regress';

-- plaintext: 1000 bytes pass, 1001 do not (bytes, not characters)
INSERT INTO vs_kids VALUES ('vs-1', 1, repeat('x', 1000));
INSERT INTO vs_kids VALUES ('vs-1', 2, repeat('x', 1001));
INSERT INTO vs_kids VALUES ('vs-1', 3, repeat('大', 333) || 'x');
INSERT INTO vs_kids VALUES ('vs-1', 4, repeat('大', 334));
\set VERBOSITY sqlstate
SELECT repeat('x', 1001)::childguard.child_data IS NULL;
UPDATE vs_kids SET note = repeat('y', 1001) WHERE n = 1;
COPY vs_kids FROM STDIN;
vs-1	5	xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx
\.
\set VERBOSITY default
SELECT n, octet_length(note::text) AS bytes FROM vs_kids ORDER BY n;

-- an envelope is checked on its (padded) ciphertext, after decoding...
SET childguard.max_value_size = 2000;
INSERT INTO vs_kids VALUES ('vs-1', 6, repeat('z', 1500));
CREATE TEMP TABLE vs_env AS SELECT childguard.envelope(note) AS e FROM vs_kids WHERE n = 6;
SET childguard.max_value_size = 1000;
SELECT (SELECT e FROM vs_env)::childguard.child_data IS NULL;
SET childguard.max_value_size = 1500;
SELECT octet_length(((SELECT e FROM vs_env)::childguard.child_data)::text) AS bytes;
-- ...and its text length is checked before decoding: 1.4 MB of text is
-- refused (ZC045), not decoded (ZC004), under a 1000-byte limit
SET childguard.max_value_size = 1000;
\set VERBOSITY sqlstate
SELECT ('cg1:' || repeat('A', 1400000))::childguard.child_data IS NULL;
\set VERBOSITY default
RESET childguard.max_value_size;
SELECT ('cg1:' || repeat('A', 1400000))::childguard.child_data IS NULL;

-- binary COPY (child_data_recv) is held to the same limit
SET childguard.purpose = 'regress_transfer';
SELECT '/tmp/cg_value_size_' || pg_backend_pid() || '.bin' AS binfile \gset
COPY (SELECT id, 7, note FROM vs_kids WHERE n = 6) TO :'binfile' (FORMAT binary);
SET childguard.purpose = 'regress';
SET childguard.max_value_size = 1499;
\set VERBOSITY sqlstate
COPY vs_kids FROM :'binfile' (FORMAT binary);
\set VERBOSITY default
SET childguard.max_value_size = 1500;
COPY vs_kids FROM :'binfile' (FORMAT binary);
-- and so is a binary envelope (no purpose: send gives the envelope text);
-- an envelope shows only its size bucket (2048 bytes for 1500 bytes of
-- plaintext), so for envelopes the limit counts in buckets: 1020 (bucket
-- 1024) refuses it
RESET childguard.purpose;
COPY (SELECT id, 8, note FROM vs_kids WHERE n = 6) TO :'binfile' (FORMAT binary);
SET childguard.max_value_size = 1020;
\set VERBOSITY sqlstate
COPY vs_kids FROM :'binfile' (FORMAT binary);
\set VERBOSITY default
RESET childguard.max_value_size;
COPY vs_kids FROM :'binfile' (FORMAT binary);
SELECT (pg_catalog.pg_stat_file(:'binfile')).size > 0 AS copied;
\set rmcmd 'rm -f ' :binfile
COPY (SELECT WHERE false) TO PROGRAM :'rmcmd';

-- nothing was changed by the refused statements
SET childguard.purpose = 'regress';
SELECT n, octet_length(note::text) AS bytes FROM vs_kids ORDER BY n;
RESET childguard.purpose;
DROP TABLE vs_kids;
