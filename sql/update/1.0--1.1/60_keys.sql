-------------------------------------------------------------------------------
-- Keys: master-key rotation that no reader or writer can slip past
-- (docs/keys.md, docs/reliability.md "Master-key rotation under load").
-------------------------------------------------------------------------------

-- Called by rotate_master_key(): when its transaction commits, backends
-- whose settings predate the rotation wrap new data keys under its key too.
CREATE FUNCTION childguard._master_key_rotating() RETURNS void
	LANGUAGE C VOLATILE STRICT AS 'MODULE_PATHNAME', 'cg_master_key_rotating';
REVOKE ALL ON FUNCTION childguard._master_key_rotating() FROM PUBLIC;
COMMENT ON FUNCTION childguard._master_key_rotating() IS
	'Internal to rotate_master_key(): publish, at commit, the key new data keys are to be wrapped with.';

-- One transaction, as before (a crash or kill -9 leaves every data key as it
-- was), now also:
--  * SHARE ROW EXCLUSIVE on childguard.data_key: waits for transactions that
--    are adding or changing data keys to finish, keeps new ones out until the
--    rotation commits, and keeps two rotations apart; readers are not blocked;
--  * READ COMMITTED only: the rewrap must see every key committed before the
--    lock, which a snapshot taken earlier in the transaction would not;
--  * on commit, statements that began before the reload wrap the data keys
--    they still create under the new key (_master_key_rotating).
CREATE OR REPLACE FUNCTION childguard.rotate_master_key() RETURNS bigint
	LANGUAGE plpgsql SECURITY DEFINER
	SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	current_id bytea;
	n bigint;
BEGIN
	IF NOT pg_catalog.pg_has_role(session_user, (SELECT nspowner FROM pg_catalog.pg_namespace
	                                             WHERE nspname = 'childguard'), 'MEMBER') THEN
		RAISE EXCEPTION 'permission denied to rotate the master key'
			USING ERRCODE = '42501',
			      HINT = 'Only the owner of the childguard schema can rotate keys.';
	END IF;
	IF pg_catalog.current_setting('transaction_isolation') OPERATOR(pg_catalog.<>) 'read committed' THEN
		RAISE EXCEPTION 'cannot rotate the master key in a % transaction',
		                pg_catalog.upper(pg_catalog.current_setting('transaction_isolation'))
			USING ERRCODE = 'ZC046',
			      DETAIL = 'The rotation must see every data key committed before it starts; an older snapshot would miss some.',
			      HINT = 'Run SELECT childguard.rotate_master_key() in its own READ COMMITTED transaction.';
	END IF;
	LOCK TABLE childguard.data_key IN SHARE ROW EXCLUSIVE MODE;
	current_id := childguard.master_key_id(false);
	PERFORM childguard._master_key_rotating();
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
	'Rewrap every data key under the current master key, in one READ COMMITTED transaction that keeps concurrent data-key writes out (online: readers continue; the previous key must be configured as childguard.previous_master_key_file/command). Returns the number of keys rewrapped.';
