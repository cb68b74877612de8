-- ---------------------------------------------------------------------------
-- backend_cache_stats(): the shared cache's counters for a superuser only
-- (round 20, red team).  A hit in this backend's probes of the cache shared
-- by the backends says that another backend looked that child up since
-- the registry last changed; a role with a purpose could make its row
-- policy look up one child id in a fresh session and read here whether
-- anybody had just read that child.  The C function now returns the
-- "shared" row's counters as NULL (its capacity shown) to other roles.
-- ---------------------------------------------------------------------------
COMMENT ON FUNCTION childguard.backend_cache_stats() IS
	'This backend''s read-path caches, one row each: data_key (unwrapped data keys; capacity is childguard.data_key_cache_size), verdict (per child and purpose, what consent and registry decided) and shared (this backend''s probes of the cache shared by the backends; its counters for a superuser only, since its hits tell of other backends'' reads); keys held, hits, misses, evictions, full flushes and the hit rate. Counts only.';
