-------------------------------------------------------------------------------
-- The log's records in a time window, read through the indexes
--
-- A query on the access_log view cannot push a predicate on statement_at
-- into the packed batches: it unpacks every batch.  breach_impact()'s window
-- needs only the rows the BRIN on statement_at finds and the batches whose
-- bounds meet the window (the BRIN on first_statement_at), so it reads
-- those, and unpacks only them.  A batch's records can start before the
-- previous batch's last (records are queued in completion order), so a
-- batch is taken when [first_statement_at, last_statement_at] meets the
-- window, and its records are filtered one by one.
-------------------------------------------------------------------------------

CREATE FUNCTION childguard._access_log_between(from_time timestamptz, to_time timestamptz)
	RETURNS SETOF childguard.access_log
	LANGUAGE sql STABLE
	SET search_path = pg_catalog, pg_temp
AS $$
	SELECT r.id, r.statement_at, r.logged_at, r.session_id, r.backend_pid, r.session_role,
	       r.acting_role, r.client_addr, r.application_name, r.command, r.purpose,
	       r.grant_id, r.relations, r.columns, r.children_read, r.children_denied,
	       r.children_written, r.children, r.rows, r.outcome, r.sqlstate, r.query_id,
	       r.prev_hash, r.hash, r.format_version, r.end_user
	  FROM childguard.access_log_rows r
	 WHERE r.statement_at >= from_time AND r.statement_at < to_time
	UNION ALL
	SELECT u.id, u.statement_at, u.logged_at, u.session_id, u.backend_pid, u.session_role,
	       u.acting_role, u.client_addr, u.application_name, u.command, u.purpose,
	       u.grant_id, u.relations, u.columns, u.children_read, u.children_denied,
	       u.children_written, u.children, u.rows, u.outcome, u.sqlstate, u.query_id,
	       u.prev_hash, u.hash, u.format_version, u.end_user
	  FROM childguard.access_log_batch b
	 CROSS JOIN LATERAL childguard._access_log_unpack(b.first_id, b.logged_at, b.prev_hash,
	                                                   b.packed) u
	 WHERE b.first_statement_at < to_time AND b.last_statement_at >= from_time
	   AND u.statement_at >= from_time AND u.statement_at < to_time
$$;
REVOKE ALL ON FUNCTION childguard._access_log_between(timestamptz, timestamptz) FROM PUBLIC;
COMMENT ON FUNCTION childguard._access_log_between(timestamptz, timestamptz) IS
	'The access log''s records whose statement_at is in [from_time, to_time): the rows table through its BRIN, and only the packed batches whose bounds meet the window unpacked. For breach_impact(); readers of the log use the access_log view.';

CREATE OR REPLACE FUNCTION childguard.breach_impact(roles text[], from_time timestamptz, to_time timestamptz)
	RETURNS TABLE (child_id text, subject_no bigint, guardians text[], statements bigint,
	               first_access timestamptz, last_access timestamptz,
	               relations text[], columns text[])
	LANGUAGE plpgsql STABLE SECURITY DEFINER
	SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	PERFORM childguard._require_auditor('assess a breach');
	IF roles IS NULL OR from_time IS NULL OR to_time IS NULL THEN
		RAISE EXCEPTION 'roles, from_time and to_time are required' USING ERRCODE = '22004';
	END IF;
	IF to_time < from_time THEN
		RAISE EXCEPTION 'the window ends before it begins' USING ERRCODE = '22023',
			DETAIL = 'to_time is earlier than from_time.';
	END IF;
	RETURN QUERY
	WITH touched AS (
		SELECT l.id, l.statement_at, l.relations, l.columns, s AS subject_no
		  FROM childguard._access_log_between(from_time, to_time) l
		 CROSS JOIN LATERAL pg_catalog.unnest(l.children_read || l.children_written) s
		 WHERE (l.acting_role = ANY (roles) OR l.session_role = ANY (roles)))
	SELECT c.child_id, t.subject_no,
	       coalesce((SELECT pg_catalog.array_agg(g.guardian_id ORDER BY g.guardian_id)
	                   FROM childguard.child_guardian g WHERE g.subject_no = t.subject_no), '{}'),
	       pg_catalog.count(DISTINCT t.id),
	       pg_catalog.min(t.statement_at), pg_catalog.max(t.statement_at),
	       (SELECT pg_catalog.array_agg(DISTINCT r ORDER BY r)
	          FROM touched t2, pg_catalog.unnest(t2.relations) r WHERE t2.subject_no = t.subject_no),
	       (SELECT pg_catalog.array_agg(DISTINCT x ORDER BY x)
	          FROM touched t2, pg_catalog.unnest(t2.columns) x WHERE t2.subject_no = t.subject_no)
	  FROM touched t
	  LEFT JOIN childguard.child c ON c.subject_no = t.subject_no
	 GROUP BY c.child_id, t.subject_no
	 ORDER BY c.child_id, t.subject_no;
END
$$;
