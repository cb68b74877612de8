-------------------------------------------------------------------------------
-- Keys
-------------------------------------------------------------------------------

CREATE FUNCTION childguard._new_data_key(subject_no bigint, key_version integer,
		OUT wrapped_key bytea, OUT master_key_id bytea)
	RETURNS record
	LANGUAGE C VOLATILE STRICT AS 'MODULE_PATHNAME', 'cg_new_data_key';
CREATE FUNCTION childguard._rewrap_data_key(subject_no bigint, key_version integer,
		wrapped_key bytea, master_key_id bytea)
	RETURNS bytea
	LANGUAGE C VOLATILE STRICT AS 'MODULE_PATHNAME', 'cg_rewrap_data_key';
CREATE FUNCTION childguard.master_key_id(previous boolean DEFAULT false)
	RETURNS bytea
	LANGUAGE C VOLATILE STRICT AS 'MODULE_PATHNAME', 'cg_master_key_id';
REVOKE ALL ON FUNCTION childguard._new_data_key(bigint, integer) FROM PUBLIC;
REVOKE ALL ON FUNCTION childguard._rewrap_data_key(bigint, integer, bytea, bytea) FROM PUBLIC;
COMMENT ON FUNCTION childguard.master_key_id(boolean) IS
	'Fingerprint of the configured master key (or of the previous one, during rotation); not secret.';

CREATE FUNCTION childguard.rotate_master_key() RETURNS bigint
	LANGUAGE plpgsql SECURITY DEFINER
	SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	current_id bytea := childguard.master_key_id(false);
	n bigint;
BEGIN
	IF NOT pg_catalog.pg_has_role(session_user, (SELECT nspowner FROM pg_catalog.pg_namespace
	                                             WHERE nspname = 'childguard'), 'MEMBER') THEN
		RAISE EXCEPTION 'permission denied to rotate the master key'
			USING ERRCODE = '42501',
			      HINT = 'Only the owner of the childguard schema can rotate keys.';
	END IF;
	UPDATE childguard.data_key k
	   SET wrapped_key = childguard._rewrap_data_key(k.subject_no, k.key_version,
	                                                 k.wrapped_key, k.master_key_id),
	       master_key_id = current_id
	 WHERE k.wrapped_key IS NOT NULL
	   AND k.master_key_id OPERATOR(pg_catalog.<>) current_id;
	GET DIAGNOSTICS n = ROW_COUNT;
	RETURN n;
END
$$;
REVOKE ALL ON FUNCTION childguard.rotate_master_key() FROM PUBLIC;
COMMENT ON FUNCTION childguard.rotate_master_key() IS
	'Rewrap every data key under the current master key (online; the previous key must be configured as childguard.previous_master_key_file/command). Returns the number of keys rewrapped.';

CREATE VIEW childguard.master_key_status AS
	SELECT k.master_key_id,
	       k.master_key_id = childguard.master_key_id(false) AS is_current,
	       count(*) FILTER (WHERE k.wrapped_key IS NOT NULL) AS live_keys,
	       count(*) FILTER (WHERE k.wrapped_key IS NULL) AS destroyed_keys
	  FROM childguard.data_key k
	 GROUP BY k.master_key_id;
REVOKE ALL ON childguard.master_key_status FROM PUBLIC;
COMMENT ON VIEW childguard.master_key_status IS
	'Data keys per wrapping master key; after a rotation every live key should be is_current.';

