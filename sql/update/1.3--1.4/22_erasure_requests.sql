-- ---------------------------------------------------------------------------
-- Requests (issue 11 item 4): erase_child() (Art 20: a child, or its
-- guardian, asks for erasure; the child is erased everywhere now, whatever
-- its consent state) and cease_operations() (Art 23: the operator stops
-- collecting children's data, erases all of it and tells the guardians).
-- ---------------------------------------------------------------------------

CREATE TABLE childguard.erasure_request (
	request_id	bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	subject_no	bigint NOT NULL,
	reason		text NOT NULL,
	request_ref	text,
	received_at	timestamptz NOT NULL DEFAULT pg_catalog.now(),
	received_by	regrole,
	completed_at timestamptz,
	completed_by regrole,
	rows_erased	bigint
);
COMMENT ON TABLE childguard.erasure_request IS
	'Erasure requests (Art 20) and cease_operations() erasures: the child, reason, the requester''s reference, when received and by whom, when completed, by whom, and the rows erased.';
SELECT pg_catalog.pg_extension_config_dump('childguard.erasure_request', '');
SELECT pg_catalog.pg_extension_config_dump('childguard.erasure_request_request_id_seq', '');

-- the persistent "operations ceased" flag (Art 23): while a row is here,
-- new child data is refused (ZC326, src/enforce/seal_trigger.c)
CREATE TABLE childguard.operations_ceased (
	only_row	boolean PRIMARY KEY DEFAULT true CHECK (only_row),
	ceased_at	timestamptz NOT NULL DEFAULT pg_catalog.now(),
	ceased_by	regrole
);
COMMENT ON TABLE childguard.operations_ceased IS
	'Set by cease_operations() (Art 23): while it has a row, no child data is collected (ZC326).';
SELECT pg_catalog.pg_extension_config_dump('childguard.operations_ceased', '');
CREATE TRIGGER operations_ceased_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE
	ON childguard.operations_ceased FOR EACH STATEMENT EXECUTE FUNCTION childguard._catalog_changed();

CREATE FUNCTION childguard.erase_child(child_id text, reason text DEFAULT 'request',
                                       request_ref text DEFAULT NULL) RETURNS bigint
	LANGUAGE plpgsql SECURITY DEFINER
	SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	s bigint;
	r bigint;
	n bigint;
	caller regrole := childguard._caller_oid()::regrole;
BEGIN
	IF NOT (childguard._caller_is_officer() OR childguard._caller_is_owner()) THEN
		RAISE EXCEPTION 'permission denied to erase a child'
			USING ERRCODE = '42501',
			      HINT = 'Only a protection officer handles erasure requests (Art 20).';
	END IF;
	IF child_id IS NULL OR reason IS NULL THEN
		RAISE EXCEPTION 'child and reason are required' USING ERRCODE = '22004';
	END IF;
	IF NOT (reason OPERATOR(pg_catalog.=) ANY (childguard._erasure_reasons())) THEN
		RAISE EXCEPTION 'unknown erasure reason "%"', reason
			USING ERRCODE = 'ZC320',
			      DETAIL = pg_catalog.format('An erasure reason is one of: %s.',
			                                 pg_catalog.array_to_string(childguard._erasure_reasons(), ', ')),
			      HINT = 'A request from the child or a guardian is "request".';
	END IF;
	s := childguard._subject_of(child_id);
	INSERT INTO childguard.erasure_request (subject_no, reason, request_ref, received_by)
	VALUES (s, reason, request_ref, caller)
	RETURNING request_id INTO r;
	n := childguard._erase(child_id, NULL, reason, request_ref, true, true);
	UPDATE childguard.erasure_request q
	   SET completed_at = pg_catalog.clock_timestamp(), completed_by = caller, rows_erased = n
	 WHERE q.request_id = r;
	-- earlier requests for the same child are completed by this erasure
	UPDATE childguard.erasure_request q
	   SET completed_at = pg_catalog.clock_timestamp(), completed_by = caller, rows_erased = 0
	 WHERE q.subject_no = s AND q.completed_at IS NULL;
	RETURN n;
END
$$;
REVOKE ALL ON FUNCTION childguard.erase_child(text, text, text) FROM PUBLIC;
COMMENT ON FUNCTION childguard.erase_child(text, text, text) IS
	'Art 20: erase a child everywhere now, whatever its consent state (also after a withdrawal): every protected table by its action, then the data key destroyed (backups and replicas become unreadable), erased_at set, a line in the erasure ledger; the request recorded in erasure_request. Officers. Returns the rows erased.';

CREATE VIEW childguard.erasures AS
	SELECT q.request_id, c.child_id, q.subject_no, q.reason, q.request_ref,
	       q.received_at, q.received_by, q.completed_at, q.completed_by, q.rows_erased,
	       CASE WHEN q.completed_at IS NULL THEN 'pending' ELSE 'completed' END AS state,
	       c.erased_at AS child_erased_at
	  FROM childguard.erasure_request q
	  JOIN childguard.child c ON c.subject_no = q.subject_no;
COMMENT ON VIEW childguard.erasures IS
	'Erasure requests (Art 20, Art 23) and their completion: the child, reason, reference, received and completed (when, by whom), rows erased.';
REVOKE ALL ON childguard.erasures FROM PUBLIC;

CREATE FUNCTION childguard.cease_operations(request_ref text DEFAULT NULL)
	RETURNS TABLE (guardian_id text, child_id text, rows_erased bigint)
	LANGUAGE plpgsql SECURITY DEFINER
	SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	c record;
	n bigint;
	caller regrole := childguard._caller_oid()::regrole;
BEGIN
	IF NOT (childguard._caller_is_officer() OR childguard._caller_is_owner()) THEN
		RAISE EXCEPTION 'permission denied to cease operations'
			USING ERRCODE = '42501',
			      HINT = 'Only a protection officer can do this (Art 23).';
	END IF;
	-- first stop collection: from here on no new child data (ZC326)
	INSERT INTO childguard.operations_ceased (ceased_by) VALUES (caller)
	ON CONFLICT DO NOTHING;
	FOR c IN SELECT x.subject_no, x.child_id FROM childguard.child x
	          WHERE x.erased_at IS NULL
	             OR EXISTS (SELECT 1 FROM childguard.data_key k
	                         WHERE k.subject_no = x.subject_no AND k.wrapped_key IS NOT NULL)
	          ORDER BY x.subject_no LOOP
		INSERT INTO childguard.erasure_request (subject_no, reason, request_ref, received_by)
		VALUES (c.subject_no, 'cease_operations', request_ref, caller);
		n := childguard._erase(c.child_id, NULL, 'cease_operations', request_ref, true, true);
		UPDATE childguard.erasure_request q
		   SET completed_at = pg_catalog.clock_timestamp(), completed_by = caller, rows_erased = n
		 WHERE q.subject_no = c.subject_no AND q.completed_at IS NULL
		   AND q.reason = 'cease_operations';
		-- the guardians to notify (Art 23); a child without one is listed
		-- with a NULL guardian (notify the child, or record why not)
		RETURN QUERY
			SELECT g.guardian_id, c.child_id, n
			  FROM (SELECT NULL::text AS guardian_id WHERE NOT EXISTS
			          (SELECT 1 FROM childguard.child_guardian y WHERE y.subject_no = c.subject_no)
			        UNION ALL
			        SELECT y.guardian_id FROM childguard.child_guardian y
			         WHERE y.subject_no = c.subject_no) g
			 ORDER BY g.guardian_id;
	END LOOP;
END
$$;
REVOKE ALL ON FUNCTION childguard.cease_operations(text) FROM PUBLIC;
COMMENT ON FUNCTION childguard.cease_operations(text) IS
	'Art 23: stop collecting (a persistent flag: new child data is refused, ZC326), erase every child as a whole (every protected table by its action, data keys destroyed, ledger lines), record each in erasure_request, and return the guardians to notify, one row per guardian and child (guardian NULL for a child without one). Officers.';

CREATE FUNCTION childguard.resume_operations() RETURNS void
	LANGUAGE plpgsql SECURITY DEFINER
	SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	PERFORM childguard._require_owner('resume collecting child data');
	DELETE FROM childguard.operations_ceased;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'operations have not ceased' USING ERRCODE = '55000';
	END IF;
END
$$;
REVOKE ALL ON FUNCTION childguard.resume_operations() FROM PUBLIC;
COMMENT ON FUNCTION childguard.resume_operations() IS
	'Lift cease_operations()''s stop on collection (the extension owner only; erased children stay erased).';
