-------------------------------------------------------------------------------
-- Honest protection status (docs/security.md, section 2)
-------------------------------------------------------------------------------

CREATE FUNCTION childguard.protection_problem(tbl regclass) RETURNS text
	LANGUAGE C STABLE STRICT AS 'MODULE_PATHNAME', 'cg_protection_problem';
COMMENT ON FUNCTION childguard.protection_problem(regclass) IS
	'Why a table holding child data is not protected (no seal trigger, disabled or renamed, row-level security off, row policies not exactly childguard''s, code attached that could read child data), or why a view is refused to queries (its definition runs its owner''s code on child data); NULL when neither.';
GRANT EXECUTE ON FUNCTION childguard.protection_problem(regclass) TO PUBLIC;

-- is_protected now asks the same code that decides whether the table
-- takes child data, instead of looking for a trigger by its function
CREATE OR REPLACE VIEW childguard.protected_columns AS
	SELECT c.oid::regclass AS table_name,
	       a.attname AS column_name,
	       pg_catalog.format_type(a.atttypid, a.atttypmod) AS column_type,
	       pg_catalog.substring(pg_catalog.format_type(a.atttypid, a.atttypmod),
	                            '\((.*)\)$') AS category,
	       t.tgargs IS NOT NULL AND childguard.protection_problem(c.oid) IS NULL AS is_protected,
	       pg_catalog.convert_from(pg_catalog.substr(t.tgargs, 1,
	                   pg_catalog.position(t.tgargs, '\x00'::bytea) - 1), 'UTF8') AS subject_column
	  FROM pg_catalog.pg_attribute a
	  JOIN pg_catalog.pg_class c ON c.oid = a.attrelid
	  LEFT JOIN pg_catalog.pg_trigger t
	    ON t.tgrelid = c.oid AND t.tgfoid = 'childguard.seal_row()'::pg_catalog.regprocedure
	   AND t.tgenabled = 'A' AND t.tgname = 'zz_childguard_seal'
	 WHERE a.atttypid = 'childguard.child_data'::pg_catalog.regtype
	   AND a.attnum > 0 AND NOT a.attisdropped
	   AND c.relkind IN ('r', 'p');
COMMENT ON VIEW childguard.protected_columns IS
	'Every child_data column in the database, its category, and whether its table is protected (childguard.protection_problem() says why not).';
