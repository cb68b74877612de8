-- 40: the read path's caches (issue 12): this backend's data-key cache counters
CREATE FUNCTION childguard.backend_cache_stats(
	OUT cache text, OUT capacity bigint, OUT entries bigint, OUT hits bigint,
	OUT misses bigint, OUT evictions bigint, OUT flushes bigint, OUT hit_rate float8)
	RETURNS record
	LANGUAGE C VOLATILE STRICT PARALLEL RESTRICTED AS 'MODULE_PATHNAME', 'cg_backend_cache_stats';
COMMENT ON FUNCTION childguard.backend_cache_stats() IS
	'This backend''s data-key cache: capacity (childguard.data_key_cache_size), keys held, hits, misses, evictions, full flushes and the hit rate. Counts only.';
