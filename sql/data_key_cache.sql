-- The data-key cache (issue 12): bounded by childguard.data_key_cache_size
-- (superuser only), least recently used keys evicted, every value still
-- decrypted right after eviction and with no cache at all; registering
-- children (new key rows) flushes nothing; destroying a key flushes, and
-- the destroyed key stops decrypting at the next statement; a transaction
-- that made keys and aborts forgets what it cached.  Counters from
-- childguard.backend_cache_stats(); values compared with what was written.
SET client_min_messages = warning;
DROP DATABASE IF EXISTS regress_key_cache;
CREATE DATABASE regress_key_cache;
\c regress_key_cache
SET client_min_messages = warning;
CREATE EXTENSION childguard CASCADE;
CREATE ROLE regress_kc_user;
RESET client_min_messages;
\set VERBOSITY terse
SELECT count(childguard.register_child('kc' || i, '2012-01-01')) FROM generate_series(1, 40) i;
\i test/fixtures/regress_purpose.psql
SELECT pg_temp.consent_all() > 0 AS consented;
CREATE TABLE kc (id int PRIMARY KEY, child text NOT NULL, name childguard.child_data(name),
                 school childguard.child_data(school));
SELECT childguard.protect('kc', 'child');
SET childguard.purpose = 'regress';
INSERT INTO kc SELECT i, 'kc' || i, '名' || i, '校' || i FROM generate_series(1, 40) i;
-- a small cache: 8 slots (2 buckets of 4), 40 children
SET childguard.data_key_cache_size = 8;
SELECT cache, capacity, entries, flushes FROM childguard.backend_cache_stats() WHERE cache = 'data_key';
SELECT count(*) FILTER (WHERE name::text = '名' || id AND school::text = '校' || id) AS right,
       count(*) AS total FROM kc;
-- two columns per row: the second is a hit; 40 children cannot all fit
SELECT entries <= capacity AS bounded, entries = 8 AS full, misses >= 40 AS missed,
       hits >= 40 AS second_column_hit, evictions >= 32 AS evicted, flushes = 0 AS no_flush
  FROM childguard.backend_cache_stats() WHERE cache = 'data_key';
-- read again after evictions: every value still right
SELECT count(*) FILTER (WHERE name::text = '名' || id AND school::text = '校' || id) AS right FROM kc;
-- one child again and again: one miss (evicted above), then only hits
SELECT misses AS m0 FROM childguard.backend_cache_stats() WHERE cache = 'data_key' \gset
SELECT name::text FROM kc WHERE id = 7;
SELECT name::text FROM kc WHERE id = 7;
SELECT name::text FROM kc WHERE id = 7;
SELECT misses - :m0 AS new_misses FROM childguard.backend_cache_stats() WHERE cache = 'data_key';
-- no cache at all: still right, nothing held
SET childguard.data_key_cache_size = 0;
SELECT count(*) FILTER (WHERE name::text = '名' || id AND school::text = '校' || id) AS right FROM kc;
SELECT capacity, entries FROM childguard.backend_cache_stats() WHERE cache = 'data_key';
-- large enough: all 40 held after one pass, the second pass only hits
SET childguard.data_key_cache_size = 1000;
SELECT count(*) FROM kc WHERE name::text IS NOT NULL;
SELECT hits AS h0, misses AS m0 FROM childguard.backend_cache_stats() WHERE cache = 'data_key' \gset
SELECT count(*) FROM kc WHERE name::text IS NOT NULL;
SELECT entries, misses - :m0 AS new_misses, hits - :h0 AS new_hits
  FROM childguard.backend_cache_stats() WHERE cache = 'data_key';
-- registering children adds key rows: nothing is flushed, nothing re-read
SELECT count(childguard.register_child('kc-new' || i, '2012-01-01')) FROM generate_series(1, 3) i;
SELECT count(*) FROM kc WHERE name::text IS NOT NULL;
SELECT entries, misses - :m0 AS new_misses, flushes FROM childguard.backend_cache_stats() WHERE cache = 'data_key';
-- a transaction that made keys and aborts forgets what it cached
BEGIN;
SELECT count(childguard.register_child('kc-gone' || i, '2012-01-01')) FROM generate_series(1, 2) i;
ROLLBACK;
SELECT entries, flushes FROM childguard.backend_cache_stats() WHERE cache = 'data_key';
-- one that only read and aborts keeps it
SELECT count(*) FROM kc WHERE name::text IS NOT NULL;
BEGIN;
SELECT count(*) FROM kc WHERE name::text IS NOT NULL;
ROLLBACK;
SELECT entries, flushes FROM childguard.backend_cache_stats() WHERE cache = 'data_key';
-- a destroyed key stops decrypting at the next statement, cached or not
SELECT name::text FROM kc WHERE id = 5;
UPDATE childguard.data_key SET wrapped_key = NULL, destroyed_at = now()
 WHERE subject_no = childguard._subject_of('kc5');
SELECT name::text LIKE 'cg%' AS sealed_form_shown, school::text LIKE 'cg%' AS also_school
  FROM kc WHERE id = 5;
SELECT name::text FROM kc WHERE id = 6;
SELECT flushes >= 2 AS flushed FROM childguard.backend_cache_stats() WHERE cache = 'data_key';
-- the verdict cache: a child met again in a later statement costs one probe
-- (a hit), and a committed withdrawal (kc9 is 14: their own consent) is
-- decided afresh at the next read
SET childguard.denied_read = 'error';
SELECT hits AS vh0 FROM childguard.backend_cache_stats() WHERE cache = 'verdict' \gset
SELECT name::text FROM kc WHERE id = 9;
SELECT name::text FROM kc WHERE id = 9;
SELECT hits - :vh0 >= 1 AS verdict_hit, entries > 0 AS held
  FROM childguard.backend_cache_stats() WHERE cache = 'verdict';
SET ROLE regress_fixture_recorder;
SELECT childguard.withdraw_consent('kc9', 'regress', 'kc9') > 0 AS withdrawn;
RESET ROLE;
SELECT name::text FROM kc WHERE id = 9;
SELECT name::text FROM kc WHERE id = 10;
RESET childguard.denied_read;
-- the size is the superuser's to set
RESET childguard.purpose;
SET ROLE regress_kc_user;
SET childguard.data_key_cache_size = 100000;
RESET ROLE;
SET childguard.data_key_cache_size = -1;
\c contrib_regression
SET client_min_messages = warning;
DROP DATABASE regress_key_cache;
DROP ROLE regress_kc_user;
