-- Red team, round 20: the cache shared by the backends (shared memory)
-- as a way to learn which children other sessions read.  Its contents are
-- in shared memory only (pg_shmem_allocations shows its name and size, to
-- pg_read_all_stats and superusers); but backend_cache_stats() showed any
-- role this backend's hits and misses in it, and a hit says another
-- backend looked that child up since the registry last changed: an
-- application with a purpose, in a fresh session, made its row policy
-- look up one child id (an index scan) and read whether anybody had just
-- read that child -- also a child whose data it may not read.  Now the
-- "shared" row's counters are NULL for roles other than a superuser.
-- On the old code the probe shows hits 1 after the victim's read and 0
-- without it.
SET client_min_messages = warning;
DROP DATABASE IF EXISTS regress_rt_shared;
CREATE DATABASE regress_rt_shared;
\c regress_rt_shared
SET client_min_messages = warning;
CREATE EXTENSION childguard CASCADE;
DROP ROLE IF EXISTS regress_rts_app;
DROP ROLE IF EXISTS regress_rts_mon;
CREATE ROLE regress_rts_app;
CREATE ROLE regress_rts_mon IN ROLE pg_read_all_stats, pg_read_all_data, pg_monitor;
RESET client_min_messages;
\set VERBOSITY terse
SELECT count(childguard.register_child('s-' || i, '2015-05-01')) AS registered FROM generate_series(1, 4) i;
\i test/fixtures/regress_purpose.psql
SELECT pg_temp.consent_all() > 0 AS consents;
CREATE TABLE pupils (id text PRIMARY KEY, name childguard.child_data(name));
SELECT childguard.protect('pupils', 'id');
SET childguard.purpose = 'regress';
INSERT INTO pupils SELECT 's-' || i, 'RTSMARK' FROM generate_series(1, 4) i;
RESET childguard.purpose;
SELECT childguard.enroll_application('regress_rts_app');
GRANT SELECT ON pupils TO regress_rts_app, regress_rts_mon;
SELECT childguard.request_access('regress_rts_app', '{regress}', now() + interval '1 day') AS g \gset
SET ROLE regress_fixture_dpo;
SELECT childguard.approve_access(:g);
RESET ROLE;
-- the victim (a session of its own) reads s-1
\c regress_rt_shared
SET childguard.purpose = 'regress';
SELECT name FROM pupils WHERE id = 's-1';
-- the prober: a fresh session, one child id looked up through the index
\c regress_rt_shared
SET ROLE regress_rts_app;
SET childguard.purpose = 'regress';
SET enable_seqscan = off;
SELECT count(*) FROM pupils WHERE id = 's-1';
SELECT cache, capacity > 0 AS has_capacity, entries, hits, misses, hit_rate
  FROM childguard.backend_cache_stats() WHERE cache = 'shared';
RESET ROLE;
-- a monitoring role: the same, and pg_shmem_allocations gives sizes only
\c regress_rt_shared
SET ROLE regress_rts_mon;
SELECT cache, hits, misses FROM childguard.backend_cache_stats() WHERE cache = 'shared';
SELECT array_agg(DISTINCT c.column_name::text ORDER BY c.column_name::text) AS shmem_columns
  FROM information_schema.columns c WHERE c.table_name = 'pg_shmem_allocations';
SELECT count(*) > 0 AS childguard_segments FROM pg_shmem_allocations WHERE name LIKE 'childguard%';
RESET ROLE;
SET ROLE regress_rts_app;
SELECT count(*) FROM pg_shmem_allocations;
RESET ROLE;
-- the other caches (this backend's own reads) keep their counters
SET ROLE regress_rts_app;
SET childguard.purpose = 'regress';
SELECT name FROM pupils WHERE id = 's-2';
SELECT cache, hits IS NOT NULL AND misses IS NOT NULL AS counted
  FROM childguard.backend_cache_stats() ORDER BY cache;
RESET ROLE;
-- a superuser sees the shared counters
SELECT hits IS NOT NULL AND misses IS NOT NULL AS superuser_counted
  FROM childguard.backend_cache_stats() WHERE cache = 'shared';

\c contrib_regression
SET client_min_messages = warning;
DROP DATABASE regress_rt_shared;
DROP ROLE regress_rts_app;
DROP ROLE regress_rts_mon;
