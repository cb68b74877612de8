-- Part 73 (hygiene): a request's free-text detail is personal data
-- (Provisions Art 13): sealed at rest like the registry's facts
-- (src/keys/registry_seal.c: the registry key, its own format version and
-- associated data binding it to the request).  request.detail_sealed
-- holds it; a trigger seals every detail written and leaves detail empty;
-- the update seals the existing rows; the requests view opens it for the
-- officers who read the register; rotate_master_key() re-seals it.
-- Replaces: the view requests and rotate_master_key() (1.4's, and part
-- 40's, whose rewrap of the blind-index keys it keeps).

CREATE FUNCTION childguard._seal_request_detail(request_id bigint, detail text) RETURNS bytea
	LANGUAGE C VOLATILE STRICT AS 'MODULE_PATHNAME', 'cg_seal_request_detail';
REVOKE ALL ON FUNCTION childguard._seal_request_detail(bigint, text) FROM PUBLIC;
COMMENT ON FUNCTION childguard._seal_request_detail(bigint, text) IS
	'Internal (the request register''s seal trigger, rotate_master_key()): the detail sealed under the current master key''s registry key, bound to the request.';
CREATE FUNCTION childguard._open_request_detail(request_id bigint, sealed bytea) RETURNS text
	LANGUAGE C STABLE STRICT SECURITY DEFINER
	SET search_path = pg_catalog, pg_temp
	AS 'MODULE_PATHNAME', 'cg_open_request_detail';
REVOKE ALL ON FUNCTION childguard._open_request_detail(bigint, bytea) FROM PUBLIC;
COMMENT ON FUNCTION childguard._open_request_detail(bigint, bytea) IS
	'Internal (the requests view, for officers): a request''s sealed detail opened; ZC002 without its master key, ZC003 if altered or moved.';

ALTER TABLE childguard.request ADD COLUMN detail_sealed bytea;
COMMENT ON COLUMN childguard.request.detail_sealed IS
	'The request''s detail, sealed (1.5); detail itself stays empty. Read it through childguard.requests.';

CREATE FUNCTION childguard._request_detail_seal() RETURNS trigger
	LANGUAGE plpgsql SECURITY DEFINER
	SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	IF NEW.detail IS DISTINCT FROM '' THEN
		NEW.detail_sealed := childguard._seal_request_detail(NEW.request_id, NEW.detail);
		NEW.detail := '';
	END IF;
	RETURN NEW;
END
$$;
REVOKE ALL ON FUNCTION childguard._request_detail_seal() FROM PUBLIC;
COMMENT ON FUNCTION childguard._request_detail_seal() IS
	'Trigger on childguard.request: seals the detail written (detail_sealed) and leaves detail empty, so no plaintext detail reaches the heap.';
CREATE TRIGGER request_detail_seal BEFORE INSERT OR UPDATE OF detail ON childguard.request
	FOR EACH ROW EXECUTE FUNCTION childguard._request_detail_seal();
ALTER TABLE childguard.request ENABLE ALWAYS TRIGGER request_detail_seal;

-- the rows recorded before: sealed now
UPDATE childguard.request SET detail = detail WHERE detail <> '';

CREATE OR REPLACE VIEW childguard.requests AS
	SELECT r.request_id, c.child_id, r.kind, r.status, r.received_at, r.requested_by,
	       r.requester_kind,
	       CASE WHEN r.detail_sealed IS NULL THEN r.detail
	            ELSE childguard._open_request_detail(r.request_id, r.detail_sealed) END AS detail,
	       r.due_at,
	       r.status IN ('open', 'in_progress') AND r.due_at < pg_catalog.now() AS overdue,
	       r.closed_at IS NOT NULL AND r.closed_at > r.due_at AS closed_late,
	       r.kind = 'objection' AND r.status IN ('open', 'in_progress') AS restricts_processing,
	       r.opened_at, r.opened_by, r.handled_by, r.closed_at, r.outcome
	  FROM childguard.request r
	  JOIN childguard.child c ON c.subject_no = r.subject_no;

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
	-- the registry's sealed facts: re-sealed under the new master key
	LOCK TABLE childguard.child IN SHARE ROW EXCLUSIVE MODE;
	UPDATE childguard.child c
	   SET sealed = childguard._seal_registry(c.subject_no, f.birth_date, f.in_difficulty, f.can_express)
	  FROM childguard._child_open f
	 WHERE f.subject_no = c.subject_no
	   AND pg_catalog.substr(c.sealed, 2, 8) OPERATOR(pg_catalog.<>) current_id;
	-- the blind-index keys (1.5, part 40): only rewrapped, so the stored
	-- hashes stay valid
	LOCK TABLE childguard.blind_index IN SHARE ROW EXCLUSIVE MODE;
	UPDATE childguard.blind_index b
	   SET wrapped_key = childguard._rewrap_blind_key(b.index_id, b.wrapped_key)
	 WHERE pg_catalog.substr(b.wrapped_key, 1, 8) OPERATOR(pg_catalog.<>) current_id;
	-- the request register's sealed details (1.5), likewise
	LOCK TABLE childguard.request IN SHARE ROW EXCLUSIVE MODE;
	UPDATE childguard.request r
	   SET detail_sealed = childguard._seal_request_detail(r.request_id,
	                           childguard._open_request_detail(r.request_id, r.detail_sealed))
	 WHERE r.detail_sealed IS NOT NULL
	   AND pg_catalog.substr(r.detail_sealed, 2, 8) OPERATOR(pg_catalog.<>) current_id;
	RETURN n;
END
$$;

COMMENT ON FUNCTION childguard.rotate_master_key() IS
	'Rewrap every data key and blind-index key, and re-seal the registry''s birth dates and circumstances and the requests'' details, under the current master key, in one READ COMMITTED transaction that keeps concurrent data-key writes out (online: readers continue; the previous key must be configured as childguard.previous_master_key_file/command). Returns the number of keys rewrapped.';

-- officers read the register's details through the view: they call the
-- opening function (as they call _open_registry)
DO $lists$
DECLARE
	officer text[] := childguard._qualified(childguard._officer_functions())
	                  || ARRAY['childguard._open_request_detail(bigint,bytea)'];
	o record;
BEGIN
	EXECUTE pg_catalog.format(
		'CREATE OR REPLACE FUNCTION childguard._officer_functions() RETURNS regprocedure[] '
		'LANGUAGE sql IMMUTABLE AS %L',
		pg_catalog.format('SELECT %s::regprocedure[]', childguard._list_literal(officer)));
	PERFORM childguard._officer_functions();
	FOR o IN SELECT x.role FROM childguard.officer x WHERE x.role IS NOT NULL ORDER BY x.appointed_at LOOP
		EXECUTE pg_catalog.format('GRANT EXECUTE ON FUNCTION childguard._open_request_detail(bigint, bytea) TO %s',
		                          o.role);
	END LOOP;
END
$lists$;
