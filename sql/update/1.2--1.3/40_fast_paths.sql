-- 40 (1.2 -> 1.3): the read path's caches (issue 12): this backend's data-key cache and
-- per-child verdict cache, as counters
CREATE FUNCTION childguard.backend_cache_stats(
	OUT cache text, OUT capacity bigint, OUT entries bigint, OUT hits bigint,
	OUT misses bigint, OUT evictions bigint, OUT flushes bigint, OUT hit_rate float8)
	RETURNS SETOF record
	LANGUAGE C VOLATILE STRICT PARALLEL RESTRICTED AS 'MODULE_PATHNAME', 'cg_backend_cache_stats';
COMMENT ON FUNCTION childguard.backend_cache_stats() IS
	'This backend''s read-path caches, one row each: data_key (unwrapped data keys; capacity is childguard.data_key_cache_size) and verdict (per child and purpose, what consent and registry decided); keys held, hits, misses, evictions, full flushes and the hit rate. Counts only.';
