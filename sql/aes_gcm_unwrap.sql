-- Wrapped data keys under both AES-256-GCM implementations (1.8: the
-- AES-NI path's GCM is childguard's own, GHASH by carry-less
-- multiplication): keys wrapped under one path are unwrapped under the
-- other, in a new session each time (an empty data-key cache: every
-- child's key is unwrapped, not found); a wrapped key with one byte
-- changed (ciphertext, tag, nonce), or moved to another subject, fails
-- authentication under both paths and no value of that child is shown.
SET client_min_messages = warning;
DROP DATABASE IF EXISTS regress_aes_unwrap;
CREATE DATABASE regress_aes_unwrap;
\c regress_aes_unwrap
SET client_min_messages = warning;
CREATE EXTENSION childguard CASCADE;
RESET client_min_messages;
\set VERBOSITY terse
-- keys wrapped under EVP (uw1..uw6) and under the AES-NI path (uw7..uw12)
SET childguard.aes_gcm_path = 'openssl';
SELECT count(childguard.register_child('uw' || i, '2012-01-01')) FROM generate_series(1, 6) i;
SET childguard.aes_gcm_path = 'auto';
SELECT count(childguard.register_child('uw' || i, '2012-01-01')) FROM generate_series(7, 12) i;
\i test/fixtures/regress_purpose.psql
SELECT pg_temp.consent_all() > 0 AS consented;
CREATE TABLE uw (id int PRIMARY KEY, child text NOT NULL, plain text NOT NULL,
                 v childguard.child_data(name));
SELECT childguard.protect('uw', 'child');
SET childguard.purpose = 'regress';
-- values of several lengths, sealed under both paths
SET childguard.aes_gcm_path = 'openssl';
INSERT INTO uw SELECT i, 'uw' || (i % 12 + 1), repeat('名', i % 9) || i, repeat('名', i % 9) || i
  FROM generate_series(1, 36) i;
SET childguard.aes_gcm_path = 'auto';
INSERT INTO uw SELECT i, 'uw' || (i % 12 + 1), repeat('校', i % 17) || i, repeat('校', i % 17) || i
  FROM generate_series(37, 72) i;
-- a new session per path: every key unwrapped under that path
\c regress_aes_unwrap
SET childguard.purpose = 'regress';
SET childguard.aes_gcm_path = 'auto';
SELECT count(*) FILTER (WHERE v::text = plain) AS right, count(*) AS total FROM uw;
SELECT misses >= 12 AS every_key_unwrapped FROM childguard.backend_cache_stats() WHERE cache = 'data_key';
\c regress_aes_unwrap
SET childguard.purpose = 'regress';
SET childguard.aes_gcm_path = 'openssl';
SELECT count(*) FILTER (WHERE v::text = plain) AS right, count(*) AS total FROM uw;
-- altered wrapped keys: uw2 (EVP-wrapped) and uw8 (AES-NI-wrapped), a byte
-- of the key's ciphertext, of its tag, of its nonce; uw3's key moved to uw4
CREATE TEMP TABLE orig AS SELECT subject_no, key_version, wrapped_key FROM childguard.data_key;
CREATE FUNCTION pg_temp.flip(child text, pos int) RETURNS void LANGUAGE sql AS $$
  UPDATE childguard.data_key k SET wrapped_key = set_byte(o.wrapped_key, pos, get_byte(o.wrapped_key, pos) # 16)
    FROM orig o
   WHERE o.subject_no = k.subject_no AND o.key_version = k.key_version
     AND k.subject_no = childguard._subject_of(child)
$$;
CREATE FUNCTION pg_temp.restore() RETURNS void LANGUAGE sql AS $$
  UPDATE childguard.data_key k SET wrapped_key = o.wrapped_key
    FROM orig o WHERE o.subject_no = k.subject_no AND o.key_version = k.key_version
     AND k.wrapped_key IS DISTINCT FROM o.wrapped_key
$$;
-- nonce is bytes 0..11, the key's ciphertext 12..43, the tag 44..59
SELECT length(wrapped_key) AS wrapped_length FROM childguard.data_key LIMIT 1;
SELECT pg_temp.flip('uw2', 20);
SELECT pg_temp.flip('uw8', 59);
SET childguard.aes_gcm_path = 'auto';
SELECT v::text FROM uw WHERE child = 'uw2' LIMIT 1;
SELECT v::text FROM uw WHERE child = 'uw8' LIMIT 1;
SET childguard.aes_gcm_path = 'openssl';
SELECT v::text FROM uw WHERE child = 'uw2' LIMIT 1;
SELECT v::text FROM uw WHERE child = 'uw8' LIMIT 1;
SELECT pg_temp.restore();
SELECT pg_temp.flip('uw8', 3);
SELECT pg_temp.flip('uw2', 44);
SET childguard.aes_gcm_path = 'auto';
SELECT v::text FROM uw WHERE child = 'uw8' LIMIT 1;
SELECT v::text FROM uw WHERE child = 'uw2' LIMIT 1;
SET childguard.aes_gcm_path = 'openssl';
SELECT v::text FROM uw WHERE child = 'uw8' LIMIT 1;
SELECT v::text FROM uw WHERE child = 'uw2' LIMIT 1;
SELECT pg_temp.restore();
-- uw3's wrapped key under uw4's row (bound to its subject: refused)
UPDATE childguard.data_key k SET wrapped_key = (SELECT wrapped_key FROM orig
                                                 WHERE subject_no = childguard._subject_of('uw3'))
 WHERE k.subject_no = childguard._subject_of('uw4');
SET childguard.aes_gcm_path = 'auto';
SELECT v::text FROM uw WHERE child = 'uw4' LIMIT 1;
SET childguard.aes_gcm_path = 'openssl';
SELECT v::text FROM uw WHERE child = 'uw4' LIMIT 1;
SELECT pg_temp.restore();
-- restored: every value right again, under both paths
SET childguard.aes_gcm_path = 'auto';
SELECT count(*) FILTER (WHERE v::text = plain) AS right, count(*) AS total FROM uw;
SET childguard.aes_gcm_path = 'openssl';
SELECT count(*) FILTER (WHERE v::text = plain) AS right, count(*) AS total FROM uw;
\c contrib_regression
SET client_min_messages = warning;
DROP DATABASE regress_aes_unwrap;
