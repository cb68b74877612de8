-- The data-key cache's memory (1.9): locked by 16 kB chunks as keys are
-- written into them, wiped by the same chunks.  A backend that reads one
-- child locks the arena and the chunk its key went to -- not the whole
-- cache childguard.data_key_cache_size allows (100,000 keys: 4.8 MB, all
-- locked and faulted in at the first read before 1.9) -- and a cache
-- larger than RLIMIT_MEMLOCK (1,000,000 keys: 48 MB) still has the chunks
-- holding keys locked (before 1.9 its one mlock failed as a whole: no key
-- was locked).  Read from the backend's own /proc/self/status (VmLck).
-- Every value still decrypts right, after a remap and after a flush.
SET client_min_messages = warning;
DROP DATABASE IF EXISTS regress_key_lock;
CREATE DATABASE regress_key_lock;
\c regress_key_lock
SET client_min_messages = warning;
CREATE EXTENSION childguard CASCADE;
RESET client_min_messages;
\set VERBOSITY terse
SELECT count(childguard.register_child('kl' || i, '2012-01-01')) FROM generate_series(1, 30) i;
\i test/fixtures/regress_purpose.psql
SELECT pg_temp.consent_all() > 0 AS consented;
CREATE TABLE kl (id int PRIMARY KEY, child text NOT NULL, name childguard.child_data(name));
SELECT childguard.protect('kl', 'child');
SET childguard.purpose = 'regress';
INSERT INTO kl SELECT i, 'kl' || i, '名' || i FROM generate_series(1, 30) i;
-- a new backend: nothing of the cache locked yet
\c regress_key_lock
CREATE FUNCTION pg_temp.locked_kb() RETURNS bigint LANGUAGE sql AS
$$ SELECT substring(pg_read_file('/proc/self/status') FROM 'VmLck:\s+(\d+) kB')::bigint $$;
-- the soft limit on locked memory, in kB (unlimited: a large number)
SELECT coalesce(substring(pg_read_file('/proc/self/limits') FROM 'Max locked memory\s+(\d+)')::bigint / 1024,
                1000000000) AS limit_kb \gset
-- AddressSanitizer (make check-long's sanitize) turns mlock into a no-op
-- by design: there the locking cannot be observed, only the values
SELECT pg_read_file('/proc/self/maps') ~ 'libasan' AS mlock_ignored \gset
SET childguard.data_key_cache_size = 100000;
SET childguard.purpose = 'regress';
SELECT pg_temp.locked_kb() AS before_kb \gset
SELECT name::text FROM kl WHERE id = 1;
SELECT pg_temp.locked_kb() - :before_kb AS grew_kb \gset
-- locked: at least the key's chunk (where the limit allows any locking);
-- not the 4.8 MB of the whole cache
SELECT :limit_kb < 1024 OR :'mlock_ignored'::boolean OR :grew_kb >= 16 AS key_chunk_locked,
       :grew_kb < 1024 AS not_the_whole_cache;
-- more children: a few chunks more, each key still right
SELECT count(*) FILTER (WHERE name::text = '名' || id) AS right, count(*) AS total FROM kl;
SELECT pg_temp.locked_kb() - :before_kb < 30 * 16 + 1024 AS bounded_by_keys_written;
-- no cache: the mapping wiped and given back, its chunks unlocked
SELECT pg_temp.locked_kb() AS held_kb \gset
SET childguard.data_key_cache_size = 0;
SELECT name::text FROM kl WHERE id = 2;
SELECT :limit_kb < 1024 OR :'mlock_ignored'::boolean OR pg_temp.locked_kb() <= :held_kb - 16 AS given_back;
-- a cache larger than the limit (48 MB): the chunks holding keys are
-- locked all the same
SELECT pg_temp.locked_kb() AS before_kb \gset
SET childguard.data_key_cache_size = 1000000;
SELECT name::text FROM kl WHERE id = 2;
SELECT pg_temp.locked_kb() - :before_kb AS grew_kb \gset
SELECT :limit_kb < 1024 OR :'mlock_ignored'::boolean OR :grew_kb >= 16 AS key_chunk_locked_beyond_limit,
       :grew_kb < 1024 AS not_the_whole_cache;
SELECT count(*) FILTER (WHERE name::text = '名' || id) AS right FROM kl;
SELECT entries >= 30 AS held, capacity FROM childguard.backend_cache_stats() WHERE cache = 'data_key';
-- a flush (a key destroyed) wipes the chunks; reading goes on, the
-- destroyed key's value shows its sealed form
UPDATE childguard.data_key SET wrapped_key = NULL, destroyed_at = now()
 WHERE subject_no = childguard._subject_of('kl3');
SELECT name::text LIKE 'cg%' AS sealed_form_shown FROM kl WHERE id = 3;
SELECT count(*) FILTER (WHERE name::text = '名' || id) AS right FROM kl WHERE id <> 3;
SELECT flushes >= 1 AS flushed FROM childguard.backend_cache_stats() WHERE cache = 'data_key';
-- no cache again: values still right
SET childguard.data_key_cache_size = 0;
SELECT count(*) FILTER (WHERE name::text = '名' || id) AS right FROM kl WHERE id <> 3;
\c contrib_regression
SET client_min_messages = warning;
DROP DATABASE regress_key_lock;
