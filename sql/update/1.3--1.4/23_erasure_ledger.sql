-- ---------------------------------------------------------------------------
-- The erasure ledger (issue 11 item 5; src/keys/erasure_ledger.c): children
-- erased as a whole are also appended to a file outside the data directory
-- (childguard.erasure_ledger_file), hash-chained with a key derived from the
-- master key.  After a restore from an older backup their keys count as
-- destroyed from server start, and _reapply_ledger() (which the retention
-- worker calls first on each sweep) erases them again in the database.
-- ---------------------------------------------------------------------------

CREATE FUNCTION childguard._ledger_lines(OUT line_no bigint, OUT seq bigint, OUT dboid oid,
                                         OUT subject_no bigint, OUT child_hash text,
                                         OUT erased_at timestamptz, OUT reason text,
                                         OUT request_ref text, OUT key_id text,
                                         OUT this_database boolean, OUT problem text)
	RETURNS SETOF record
	LANGUAGE C VOLATILE AS 'MODULE_PATHNAME', 'cg_erasure_ledger_lines';
REVOKE ALL ON FUNCTION childguard._ledger_lines() FROM PUBLIC;
COMMENT ON FUNCTION childguard._ledger_lines() IS
	'Internal: every line of the erasure ledger, the chain checked line by line (problem NULL when the line is intact).';

CREATE FUNCTION childguard._ledger_child_hash(child_id text, key_id text) RETURNS text
	LANGUAGE C STABLE STRICT AS 'MODULE_PATHNAME', 'cg_erasure_ledger_child_hash';
REVOKE ALL ON FUNCTION childguard._ledger_child_hash(text, text) FROM PUBLIC;
COMMENT ON FUNCTION childguard._ledger_child_hash(text, text) IS
	'Internal: the keyed hash of a child id a ledger line written under that master key holds (NULL if the key is not configured).';

CREATE FUNCTION childguard._ledger_status_c(OUT path text, OUT outside_data_directory boolean,
                                            OUT read_at_start boolean, OUT children_held bigint,
                                            OUT children_not_held bigint)
	LANGUAGE C VOLATILE AS 'MODULE_PATHNAME', 'cg_erasure_ledger_status';
REVOKE ALL ON FUNCTION childguard._ledger_status_c() FROM PUBLIC;
COMMENT ON FUNCTION childguard._ledger_status_c() IS
	'Internal: where the erasure ledger is, whether it was read at server start, and the children held in shared memory.';

CREATE FUNCTION childguard._ledger_status(OUT path text, OUT outside_data_directory boolean,
                                          OUT read_at_start boolean, OUT children_held bigint,
                                          OUT children_not_held bigint)
	LANGUAGE plpgsql SECURITY DEFINER
	SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	IF NOT (childguard._caller_is_officer() OR childguard._caller_is_owner()) THEN
		RAISE EXCEPTION 'permission denied to read the erasure ledger''s status'
			USING ERRCODE = '42501', HINT = 'Only a protection officer can do this.';
	END IF;
	SELECT * INTO path, outside_data_directory, read_at_start, children_held, children_not_held
	  FROM childguard._ledger_status_c();
END
$$;
REVOKE ALL ON FUNCTION childguard._ledger_status() FROM PUBLIC;
COMMENT ON FUNCTION childguard._ledger_status() IS
	'The erasure ledger''s path (a superuser-only setting, shown to officers), whether it was read at server start, and the children held in shared memory.';

CREATE FUNCTION childguard.verify_erasure_ledger(OUT valid boolean, OUT lines bigint,
                                                 OUT first_bad_line bigint, OUT problem text,
                                                 OUT erased_not_in_ledger bigint)
	LANGUAGE plpgsql SECURITY DEFINER
	SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	IF NOT (childguard._caller_is_officer() OR childguard._caller_is_owner()) THEN
		RAISE EXCEPTION 'permission denied to verify the erasure ledger'
			USING ERRCODE = '42501', HINT = 'Only a protection officer can do this.';
	END IF;
	WITH l AS MATERIALIZED (SELECT * FROM childguard._ledger_lines()),
	     bad AS (SELECT l.line_no, l.problem FROM l WHERE l.problem IS NOT NULL
	              ORDER BY l.line_no LIMIT 1)
	SELECT (SELECT pg_catalog.count(*) FROM l), bad.line_no, bad.problem,
	       -- every child this database erased as a whole must be in the ledger
	       (SELECT pg_catalog.count(DISTINCT e.subject_no) FROM childguard.erasure_log e
	         WHERE e.whole_child AND e.tbl IS NULL
	           AND NOT EXISTS (SELECT 1 FROM l WHERE l.this_database
	                             AND l.subject_no = e.subject_no AND l.problem IS NULL))
	  INTO lines, first_bad_line, problem, erased_not_in_ledger
	  FROM (SELECT 1) one LEFT JOIN bad ON true;
	IF problem IS NULL AND erased_not_in_ledger > 0 THEN
		problem := pg_catalog.format('%s children erased in this database are missing from the ledger (lines removed, or the ledger replaced)',
		                             erased_not_in_ledger);
	END IF;
	valid := problem IS NULL;
END
$$;
REVOKE ALL ON FUNCTION childguard.verify_erasure_ledger() FROM PUBLIC;
COMMENT ON FUNCTION childguard.verify_erasure_ledger() IS
	'Check the erasure ledger: every line intact (sequence and HMAC chain keyed from the master key), and every child this database erased as a whole present in it. Returns the first bad line and why.';

CREATE FUNCTION childguard._ledger_subjects() RETURNS bigint[]
	LANGUAGE C VOLATILE AS 'MODULE_PATHNAME', 'cg_erasure_ledger_subjects';
REVOKE ALL ON FUNCTION childguard._ledger_subjects() FROM PUBLIC;
COMMENT ON FUNCTION childguard._ledger_subjects() IS
	'Internal: the subject numbers of this database the erasure ledger''s shared table holds (read at server start, added at each erasure).';

CREATE FUNCTION childguard._reapply_ledger() RETURNS integer
	LANGUAGE plpgsql SECURITY DEFINER
	SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	l record;
	n integer := 0;
	h text;
BEGIN
	IF NOT (childguard._caller_is_officer() OR childguard._caller_is_owner()) THEN
		RAISE EXCEPTION 'permission denied to re-apply the erasure ledger'
			USING ERRCODE = '42501', HINT = 'The retention worker calls this; so may an officer.';
	END IF;
	-- the common case, on every sweep: every child the shared table holds
	-- for this database is erased here, and it holds them all: no file read
	IF NOT EXISTS (SELECT 1 FROM pg_catalog.unnest(childguard._ledger_subjects()) x(s)
	                 JOIN childguard.child c ON c.subject_no = x.s
	                WHERE c.erased_at IS NULL
	                   OR EXISTS (SELECT 1 FROM childguard.data_key k
	                               WHERE k.subject_no = c.subject_no AND k.wrapped_key IS NOT NULL))
	   AND coalesce((SELECT st.children_not_held FROM childguard._ledger_status_c() st), 0) = 0
	   AND coalesce((SELECT st.read_at_start FROM childguard._ledger_status_c() st), false) THEN
		RETURN 0;
	END IF;
	FOR l IN SELECT DISTINCT ON (x.subject_no) x.*, c.child_id, c.erased_at AS db_erased_at
	           FROM childguard._ledger_lines() x
	           JOIN childguard.child c ON c.subject_no = x.subject_no
	          WHERE x.this_database
	            AND (x.problem IS NULL OR x.problem NOT LIKE 'torn%' AND x.problem NOT LIKE 'malformed%')
	            AND (c.erased_at IS NULL
	                 OR EXISTS (SELECT 1 FROM childguard.data_key k
	                             WHERE k.subject_no = c.subject_no AND k.wrapped_key IS NOT NULL))
	          ORDER BY x.subject_no, x.line_no LOOP
		h := childguard._ledger_child_hash(l.child_id, l.key_id);
		IF h IS NOT NULL AND h <> l.child_hash THEN
			RAISE WARNING 'erasure ledger line % names subject % of another child: not re-applied',
				l.line_no, l.subject_no
				USING DETAIL = 'The child registered under that subject number now is not the child that was erased.';
			CONTINUE;
		END IF;
		PERFORM childguard._erase(l.child_id, NULL,
		                          CASE WHEN l.reason OPERATOR(pg_catalog.=) ANY (childguard._erasure_reasons())
		                               THEN l.reason ELSE 'child_erased' END,
		                          CASE WHEN l.request_ref = '-' THEN NULL ELSE l.request_ref END,
		                          true, false);
		n := n + 1;
	END LOOP;
	RETURN n;
END
$$;
REVOKE ALL ON FUNCTION childguard._reapply_ledger() FROM PUBLIC;
COMMENT ON FUNCTION childguard._reapply_ledger() IS
	'Erase again every child the erasure ledger names for this database that the database does not show as erased (after a restore from a backup taken before the erasure). The retention worker calls it first on each sweep. Returns how many children it erased.';

CREATE VIEW childguard.erasure_ledger_status AS
	SELECT * FROM childguard._ledger_status();
COMMENT ON VIEW childguard.erasure_ledger_status IS
	'The erasure ledger: its path, whether it is outside the data directory, whether it was read at server start, and the children whose reads are denied from it.';
REVOKE ALL ON childguard.erasure_ledger_status FROM PUBLIC;
