-------------------------------------------------------------------------------
-- Part 40: queries on child_data (issue 13, item 1): ordering, hashing and
-- LIKE/ILIKE, each compared value a decided, audited read
-- (src/enforce/child_data_compare.c, docs/security.md "Queries on child
-- data").  A value the reader may not see is an error, never an operand.
-------------------------------------------------------------------------------

CREATE FUNCTION childguard.child_data_cmp(childguard.child_data, childguard.child_data)
	RETURNS integer
	LANGUAGE C STABLE STRICT PARALLEL RESTRICTED AS 'MODULE_PATHNAME';
COMMENT ON FUNCTION childguard.child_data_cmp(childguard.child_data, childguard.child_data) IS
	'btree comparison of two values by plaintext (byte order, as COLLATE "C"); reads both, so both must be readable by the statement, else an error';
CREATE FUNCTION childguard.child_data_sortsupport(internal)
	RETURNS void
	LANGUAGE C STRICT PARALLEL RESTRICTED AS 'MODULE_PATHNAME';
COMMENT ON FUNCTION childguard.child_data_sortsupport(internal) IS
	'sort support for child_data: each value decrypted once (a decided, audited read) into an abbreviated key kept in the sort''s memory; ties decrypted again';
CREATE FUNCTION childguard.child_data_lt(childguard.child_data, childguard.child_data)
	RETURNS boolean
	LANGUAGE C STABLE STRICT PARALLEL RESTRICTED AS 'MODULE_PATHNAME';
COMMENT ON FUNCTION childguard.child_data_lt(childguard.child_data, childguard.child_data) IS
	'implementation of < on child_data (reads both values)';
CREATE FUNCTION childguard.child_data_le(childguard.child_data, childguard.child_data)
	RETURNS boolean
	LANGUAGE C STABLE STRICT PARALLEL RESTRICTED AS 'MODULE_PATHNAME';
COMMENT ON FUNCTION childguard.child_data_le(childguard.child_data, childguard.child_data) IS
	'implementation of <= on child_data (reads both values)';
CREATE FUNCTION childguard.child_data_gt(childguard.child_data, childguard.child_data)
	RETURNS boolean
	LANGUAGE C STABLE STRICT PARALLEL RESTRICTED AS 'MODULE_PATHNAME';
COMMENT ON FUNCTION childguard.child_data_gt(childguard.child_data, childguard.child_data) IS
	'implementation of > on child_data (reads both values)';
CREATE FUNCTION childguard.child_data_ge(childguard.child_data, childguard.child_data)
	RETURNS boolean
	LANGUAGE C STABLE STRICT PARALLEL RESTRICTED AS 'MODULE_PATHNAME';
COMMENT ON FUNCTION childguard.child_data_ge(childguard.child_data, childguard.child_data) IS
	'implementation of >= on child_data (reads both values)';
CREATE FUNCTION childguard.child_data_smaller(childguard.child_data, childguard.child_data)
	RETURNS childguard.child_data
	LANGUAGE C STABLE STRICT PARALLEL RESTRICTED AS 'MODULE_PATHNAME';
COMMENT ON FUNCTION childguard.child_data_smaller(childguard.child_data, childguard.child_data) IS
	'the smaller of two values, for min() (reads both values)';
CREATE FUNCTION childguard.child_data_larger(childguard.child_data, childguard.child_data)
	RETURNS childguard.child_data
	LANGUAGE C STABLE STRICT PARALLEL RESTRICTED AS 'MODULE_PATHNAME';
COMMENT ON FUNCTION childguard.child_data_larger(childguard.child_data, childguard.child_data) IS
	'the larger of two values, for max() (reads both values)';
CREATE FUNCTION childguard.child_data_hash(childguard.child_data)
	RETURNS integer
	LANGUAGE C STABLE STRICT PARALLEL RESTRICTED AS 'MODULE_PATHNAME';
COMMENT ON FUNCTION childguard.child_data_hash(childguard.child_data) IS
	'hash of the plaintext under a random key of this backend (for hash aggregation and hash joins; never stored); reads the value';
CREATE FUNCTION childguard.child_data_hash_extended(childguard.child_data, bigint)
	RETURNS bigint
	LANGUAGE C STABLE STRICT PARALLEL RESTRICTED AS 'MODULE_PATHNAME';
COMMENT ON FUNCTION childguard.child_data_hash_extended(childguard.child_data, bigint) IS
	'seeded 64-bit hash of the plaintext under a random key of this backend; reads the value';
CREATE FUNCTION childguard.child_data_like(childguard.child_data, text)
	RETURNS boolean
	LANGUAGE C STABLE STRICT PARALLEL RESTRICTED AS 'MODULE_PATHNAME';
COMMENT ON FUNCTION childguard.child_data_like(childguard.child_data, text) IS
	'implementation of LIKE on child_data (reads the value)';
CREATE FUNCTION childguard.child_data_notlike(childguard.child_data, text)
	RETURNS boolean
	LANGUAGE C STABLE STRICT PARALLEL RESTRICTED AS 'MODULE_PATHNAME';
COMMENT ON FUNCTION childguard.child_data_notlike(childguard.child_data, text) IS
	'implementation of NOT LIKE on child_data (reads the value)';
CREATE FUNCTION childguard.child_data_ilike(childguard.child_data, text)
	RETURNS boolean
	LANGUAGE C STABLE STRICT PARALLEL RESTRICTED AS 'MODULE_PATHNAME';
COMMENT ON FUNCTION childguard.child_data_ilike(childguard.child_data, text) IS
	'implementation of ILIKE on child_data (reads the value)';
CREATE FUNCTION childguard.child_data_notilike(childguard.child_data, text)
	RETURNS boolean
	LANGUAGE C STABLE STRICT PARALLEL RESTRICTED AS 'MODULE_PATHNAME';
COMMENT ON FUNCTION childguard.child_data_notilike(childguard.child_data, text) IS
	'implementation of NOT ILIKE on child_data (reads the value)';
CREATE FUNCTION childguard.child_data_analyze(internal)
	RETURNS boolean
	LANGUAGE C STRICT AS 'MODULE_PATHNAME';
COMMENT ON FUNCTION childguard.child_data_analyze(internal) IS
	'ANALYZE of a child_data column: null fraction and width only, so pg_statistic holds no value, order or frequency of child data';

-- In pg_catalog, as = and <> are, so they resolve whatever the search_path.
CREATE OPERATOR pg_catalog.< (
	LEFTARG = childguard.child_data, RIGHTARG = childguard.child_data,
	FUNCTION = childguard.child_data_lt,
	COMMUTATOR = OPERATOR(pg_catalog.>), NEGATOR = OPERATOR(pg_catalog.>=),
	RESTRICT = scalarltsel, JOIN = scalarltjoinsel
);
CREATE OPERATOR pg_catalog.<= (
	LEFTARG = childguard.child_data, RIGHTARG = childguard.child_data,
	FUNCTION = childguard.child_data_le,
	COMMUTATOR = OPERATOR(pg_catalog.>=), NEGATOR = OPERATOR(pg_catalog.>),
	RESTRICT = scalarlesel, JOIN = scalarlejoinsel
);
CREATE OPERATOR pg_catalog.> (
	LEFTARG = childguard.child_data, RIGHTARG = childguard.child_data,
	FUNCTION = childguard.child_data_gt,
	COMMUTATOR = OPERATOR(pg_catalog.<), NEGATOR = OPERATOR(pg_catalog.<=),
	RESTRICT = scalargtsel, JOIN = scalargtjoinsel
);
CREATE OPERATOR pg_catalog.>= (
	LEFTARG = childguard.child_data, RIGHTARG = childguard.child_data,
	FUNCTION = childguard.child_data_ge,
	COMMUTATOR = OPERATOR(pg_catalog.<=), NEGATOR = OPERATOR(pg_catalog.<),
	RESTRICT = scalargesel, JOIN = scalargejoinsel
);
COMMENT ON OPERATOR pg_catalog.< (childguard.child_data, childguard.child_data) IS
	'less than, by plaintext; reads both values, so both must be readable by the statement';
COMMENT ON OPERATOR pg_catalog.<= (childguard.child_data, childguard.child_data) IS
	'less than or equal, by plaintext; reads both values, so both must be readable by the statement';
COMMENT ON OPERATOR pg_catalog.> (childguard.child_data, childguard.child_data) IS
	'greater than, by plaintext; reads both values, so both must be readable by the statement';
COMMENT ON OPERATOR pg_catalog.>= (childguard.child_data, childguard.child_data) IS
	'greater than or equal, by plaintext; reads both values, so both must be readable by the statement';
COMMENT ON OPERATOR pg_catalog.<> (childguard.child_data, childguard.child_data) IS
	'not equal plaintext; reads both values, so it needs a declared purpose';

CREATE OPERATOR pg_catalog.~~ (
	LEFTARG = childguard.child_data, RIGHTARG = text,
	FUNCTION = childguard.child_data_like, NEGATOR = OPERATOR(pg_catalog.!~~)
);
CREATE OPERATOR pg_catalog.!~~ (
	LEFTARG = childguard.child_data, RIGHTARG = text,
	FUNCTION = childguard.child_data_notlike, NEGATOR = OPERATOR(pg_catalog.~~)
);
CREATE OPERATOR pg_catalog.~~* (
	LEFTARG = childguard.child_data, RIGHTARG = text,
	FUNCTION = childguard.child_data_ilike, NEGATOR = OPERATOR(pg_catalog.!~~*)
);
CREATE OPERATOR pg_catalog.!~~* (
	LEFTARG = childguard.child_data, RIGHTARG = text,
	FUNCTION = childguard.child_data_notilike, NEGATOR = OPERATOR(pg_catalog.~~*)
);
COMMENT ON OPERATOR pg_catalog.~~ (childguard.child_data, text) IS
	'LIKE on the plaintext; reads the value, so it must be readable by the statement';
COMMENT ON OPERATOR pg_catalog.!~~ (childguard.child_data, text) IS
	'NOT LIKE on the plaintext; reads the value, so it must be readable by the statement';
COMMENT ON OPERATOR pg_catalog.~~* (childguard.child_data, text) IS
	'ILIKE on the plaintext; reads the value, so it must be readable by the statement';
COMMENT ON OPERATOR pg_catalog.!~~* (childguard.child_data, text) IS
	'NOT ILIKE on the plaintext; reads the value, so it must be readable by the statement';

-- = may drive merge and hash joins (CREATE OPERATOR in 1.0 did not say so;
-- ALTER OPERATOR cannot in PostgreSQL 15)
UPDATE pg_catalog.pg_operator SET oprcanmerge = true, oprcanhash = true
 WHERE oid = 'pg_catalog.=(childguard.child_data, childguard.child_data)'::pg_catalog.regoperator;

CREATE OPERATOR CLASS childguard.child_data_ops
	DEFAULT FOR TYPE childguard.child_data USING btree AS
	OPERATOR 1 pg_catalog.<,
	OPERATOR 2 pg_catalog.<=,
	OPERATOR 3 pg_catalog.=,
	OPERATOR 4 pg_catalog.>=,
	OPERATOR 5 pg_catalog.>,
	FUNCTION 1 childguard.child_data_cmp(childguard.child_data, childguard.child_data),
	FUNCTION 2 childguard.child_data_sortsupport(internal);
COMMENT ON OPERATOR CLASS childguard.child_data_ops USING btree IS
	'Ordering of child_data by plaintext (byte order, as COLLATE "C"), for ORDER BY, DISTINCT, GROUP BY, merge joins, min() and max(); indexes on child_data stay refused';
COMMENT ON OPERATOR FAMILY childguard.child_data_ops USING btree IS
	'Ordering of child_data by plaintext (childguard.child_data_ops)';
CREATE OPERATOR CLASS childguard.child_data_hash_ops
	DEFAULT FOR TYPE childguard.child_data USING hash AS
	OPERATOR 1 pg_catalog.=,
	FUNCTION 1 childguard.child_data_hash(childguard.child_data),
	FUNCTION 2 childguard.child_data_hash_extended(childguard.child_data, bigint);
COMMENT ON OPERATOR CLASS childguard.child_data_hash_ops USING hash IS
	'Hashing of child_data by plaintext under a per-backend key, for hash aggregation and hash joins; indexes on child_data stay refused';
COMMENT ON OPERATOR FAMILY childguard.child_data_hash_ops USING hash IS
	'Hashing of child_data by plaintext (childguard.child_data_hash_ops)';

CREATE AGGREGATE pg_catalog.min(childguard.child_data) (
	SFUNC = childguard.child_data_smaller, STYPE = childguard.child_data,
	SORTOP = OPERATOR(pg_catalog.<), PARALLEL = RESTRICTED
);
COMMENT ON AGGREGATE pg_catalog.min(childguard.child_data) IS
	'the smallest value by plaintext; reads every value, so every one must be readable by the statement';
CREATE AGGREGATE pg_catalog.max(childguard.child_data) (
	SFUNC = childguard.child_data_larger, STYPE = childguard.child_data,
	SORTOP = OPERATOR(pg_catalog.>), PARALLEL = RESTRICTED
);
COMMENT ON AGGREGATE pg_catalog.max(childguard.child_data) IS
	'the largest value by plaintext; reads every value, so every one must be readable by the statement';

-- an operator class would have ANALYZE keep values (a histogram and the most
-- common values, ordered and counted by plaintext) in pg_statistic: not ours
ALTER TYPE childguard.child_data SET (ANALYZE = childguard.child_data_analyze);
