-- Envelope nonces come from a per-process pool (1.8, crypto.c
-- cg_random_nonce: 64 drawn at once, each handed out once, a process's
-- own).  Every value written -- its pending envelope from the input
-- function and its sealed envelope -- carries a nonce no other envelope
-- has: in one statement (many pools' worth), across statements, and
-- across sessions (each its own pool).  The nonce is the 12 bytes after
-- the envelope's 16-byte header (envelope.h).
SET client_min_messages = warning;
DROP DATABASE IF EXISTS regress_nonces;
CREATE DATABASE regress_nonces;
\c regress_nonces
SET client_min_messages = warning;
CREATE EXTENSION childguard CASCADE;
\i test/fixtures/regress_purpose.psql
RESET client_min_messages;
\set VERBOSITY terse
SELECT count(childguard.register_child('nn' || i, '2015-01-01')) FROM generate_series(1, 50) i;
SELECT pg_temp.consent_all() > 0 AS consented;
CREATE TABLE nn (id int PRIMARY KEY, child text NOT NULL, phone childguard.child_data(contact));
SELECT childguard.protect('nn', 'child');
CREATE TABLE nonces (session int, what text, nonce bytea);
CREATE FUNCTION nonce_of(v childguard.child_data) RETURNS bytea LANGUAGE sql AS
	$$ SELECT substring(decode(split_part(childguard.envelope(v), ':', 2), 'base64') FROM 17 FOR 12) $$;
SET childguard.purpose = 'regress';
-- session 1: 300 sealed values in one statement, 100 more one by one, and
-- 200 pending envelopes of the input function
INSERT INTO nn SELECT i, 'nn' || (i % 50 + 1), '139' || lpad(i::text, 8, '0') FROM generate_series(1, 300) i;
DO $$ BEGIN
  FOR i IN 301..400 LOOP
    INSERT INTO nn VALUES (i, 'nn' || (i % 50 + 1), '138' || lpad(i::text, 8, '0'));
  END LOOP;
END $$;
INSERT INTO nonces SELECT 1, 'sealed', nonce_of(phone) FROM nn;
INSERT INTO nonces SELECT 1, 'pending', nonce_of(('p' || i)::childguard.child_data) FROM generate_series(1, 200) i;
-- session 2: the same again, rows 401..800
\c regress_nonces
SET childguard.purpose = 'regress';
INSERT INTO nn SELECT i, 'nn' || (i % 50 + 1), '137' || lpad(i::text, 8, '0') FROM generate_series(401, 800) i;
INSERT INTO nonces SELECT 2, 'sealed', nonce_of(phone) FROM nn WHERE id > 400;
INSERT INTO nonces SELECT 2, 'pending', nonce_of(('p' || i)::childguard.child_data) FROM generate_series(1, 200) i;
-- an UPDATE re-seals with fresh nonces
UPDATE nn SET phone = '136' || lpad(id::text, 8, '0') WHERE id <= 100;
INSERT INTO nonces SELECT 2, 'resealed', nonce_of(phone) FROM nn WHERE id <= 100;
RESET childguard.purpose;
SELECT session, what, count(*) AS nonces, count(DISTINCT nonce) AS distinct_nonces,
       bool_and(length(nonce) = 12) AS all_12_bytes
  FROM nonces GROUP BY ROLLUP (session, what) ORDER BY session, what;
SELECT count(*) - count(DISTINCT nonce) AS repeated FROM nonces;
\c contrib_regression
SET client_min_messages = warning;
DROP DATABASE regress_nonces;
