-------------------------------------------------------------------------------
-- Part 70: the request register (issue 14, item 4; Provisions Art 19, 20,
-- Measures Art 17).  A child or a guardian asks to see (query), correct,
-- delete, or objects to the processing of the child's data; the request is
-- recorded with the deadline the operator set for its kind, who handled it
-- and how it ended.  An open objection restricts every read and write of
-- that child's data (the read decision, src/consent/objections.c) until it
-- is closed; a correction can be written by an officer under an open
-- correction request even when no consent is in force
-- (correct_child_data(), src/consent/correction_permit.c).
--
-- Deadlines.  Neither text fixes a number of days: Art 19 and 20 say
-- "promptly" (及时), Measures Art 17 "promptly investigate and verify".
-- childguard.deadline shows the period per kind, 15 days by default
-- (changed by an officer with set_deadline()); a request's due_at is fixed
-- when it is opened, so a later change does not move it.
-------------------------------------------------------------------------------

-- The default periods, and the law each reads.
CREATE FUNCTION childguard._default_deadlines()
	RETURNS TABLE (duty text, period interval, basis text)
	LANGUAGE sql IMMUTABLE
AS $$
	VALUES
	('request_query',      '15 days'::interval, 'Measures Art 17: a query is answered promptly (及时)'),
	('request_correction', '15 days', 'Provisions Art 19: errors are corrected promptly (及时)'),
	('request_deletion',   '15 days', 'Provisions Art 20: data is deleted promptly (及时)'),
	('request_objection',  '15 days', 'Measures Art 17: an objection is investigated and verified promptly (及时)'),
	('incident_report',    '1 day',   'Provisions Art 21: serious incidents are reported to the authority immediately (立即)'),
	('incident_notice',    '3 days',  'Provisions Art 21: affected children and guardians are told (or a public notice issued)')
$$;
COMMENT ON FUNCTION childguard._default_deadlines() IS
	'The default period for each kind of request and incident duty, and the provision it reads.';

-- An officer's own periods, where they differ from the defaults (dumped
-- with the database; the defaults are not rows, so a restore never meets
-- them twice).
CREATE TABLE childguard.deadline_setting (
	duty			text PRIMARY KEY,
	period			interval NOT NULL CHECK (period > '0'::interval),
	set_at			timestamptz NOT NULL DEFAULT pg_catalog.now(),
	set_by			regrole NOT NULL
);
COMMENT ON TABLE childguard.deadline_setting IS
	'The periods an officer set (set_deadline()) in place of the defaults of childguard._default_deadlines().';
SELECT pg_catalog.pg_extension_config_dump('childguard.deadline_setting', '');
REVOKE ALL ON childguard.deadline_setting FROM PUBLIC;

CREATE VIEW childguard.deadline AS
	SELECT d.duty, coalesce(s.period, d.period) AS period, d.period AS default_period, d.basis,
	       s.set_at, s.set_by
	  FROM childguard._default_deadlines() d
	  LEFT JOIN childguard.deadline_setting s ON s.duty = d.duty;
COMMENT ON VIEW childguard.deadline IS
	'How long the operator allows itself for each kind of request and for incident duties: the law says "promptly" (及时) or "immediately" (立即); these periods are the operator''s reading of it, 15 days for requests by default, set by an officer (set_deadline()).';
REVOKE ALL ON childguard.deadline FROM PUBLIC;

-- The period in force for duty.
CREATE FUNCTION childguard._deadline_period(duty text) RETURNS interval
	LANGUAGE sql STABLE
	SET search_path = pg_catalog, pg_temp
AS $$
	SELECT coalesce(s.period, d.period)
	  FROM childguard._default_deadlines() d
	  LEFT JOIN childguard.deadline_setting s ON s.duty = d.duty
	 WHERE d.duty = _deadline_period.duty
$$;
REVOKE ALL ON FUNCTION childguard._deadline_period(text) FROM PUBLIC;
COMMENT ON FUNCTION childguard._deadline_period(text) IS
	'Internal: the period of a statutory deadline (request kinds, incident report and notice): the officer''s setting, else the default.';

CREATE FUNCTION childguard.set_deadline(duty text, period interval) RETURNS void
	LANGUAGE plpgsql SECURITY DEFINER
	SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	PERFORM childguard._require_officer('set a deadline');
	IF period IS NULL OR period <= '0'::interval THEN
		RAISE EXCEPTION 'a deadline must be a positive period' USING ERRCODE = '22023';
	END IF;
	IF NOT EXISTS (SELECT 1 FROM childguard._default_deadlines() d WHERE d.duty = set_deadline.duty) THEN
		RAISE EXCEPTION 'unknown deadline "%"', duty USING ERRCODE = '22023',
			HINT = 'The deadlines are listed in childguard.deadline.';
	END IF;
	INSERT INTO childguard.deadline_setting (duty, period, set_by)
	VALUES (set_deadline.duty, set_deadline.period, childguard._caller_oid()::regrole)
	ON CONFLICT ON CONSTRAINT deadline_setting_pkey
	DO UPDATE SET period = EXCLUDED.period, set_at = EXCLUDED.set_at, set_by = EXCLUDED.set_by;
END
$$;
COMMENT ON FUNCTION childguard.set_deadline(text, interval) IS
	'Set how long the operator allows for a kind of request or an incident duty (childguard.deadline); requests and incidents already open keep their deadline.';

CREATE TABLE childguard.request (
	request_id		bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	subject_no		bigint NOT NULL REFERENCES childguard.child (subject_no),
	kind			text NOT NULL CHECK (kind IN ('query', 'correction', 'deletion', 'objection')),
	received_at		timestamptz NOT NULL,
	requested_by	text NOT NULL CHECK (requested_by <> ''),
	requester_kind	text NOT NULL CHECK (requester_kind IN ('child', 'guardian')),
	detail			text NOT NULL DEFAULT '',
	due_at			timestamptz NOT NULL,
	status			text NOT NULL DEFAULT 'open'
		CHECK (status IN ('open', 'in_progress', 'done', 'refused')),
	opened_at		timestamptz NOT NULL DEFAULT pg_catalog.now(),
	opened_by		regrole NOT NULL,
	handled_by		regrole,
	closed_at		timestamptz,
	outcome			text,
	CONSTRAINT request_closed_check
		CHECK ((status IN ('done', 'refused')) = (closed_at IS NOT NULL)),
	CONSTRAINT request_refusal_check
		CHECK (status <> 'refused' OR coalesce(outcome, '') <> '')
);
COMMENT ON TABLE childguard.request IS
	'Provisions Art 19/20, Measures Art 17: requests by a child or guardian to see, correct or delete the child''s data, or objections to its processing; the deadline, who handled each, and how it ended.';
-- the read decision looks up open objections by this index (C, catalog.c)
CREATE INDEX request_open_objection_idx ON childguard.request (subject_no)
	WHERE kind = 'objection' AND status IN ('open', 'in_progress');
CREATE INDEX request_subject_idx ON childguard.request (subject_no);
SELECT pg_catalog.pg_extension_config_dump('childguard.request', '');
SELECT pg_catalog.pg_extension_config_dump('childguard.request_request_id_seq', '');
-- an objection opened or closed changes the read decision in every backend
CREATE TRIGGER request_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE
	ON childguard.request FOR EACH STATEMENT EXECUTE FUNCTION childguard._catalog_changed();
REVOKE ALL ON childguard.request FROM PUBLIC;

-- What was done under a request: corrections written, each with its column.
CREATE TABLE childguard.request_action (
	action_id		bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	request_id		bigint NOT NULL REFERENCES childguard.request (request_id),
	action			text NOT NULL CHECK (action IN ('correction')),
	relation		text NOT NULL,
	column_name		name NOT NULL,
	row_count		bigint NOT NULL,
	acted_at		timestamptz NOT NULL DEFAULT pg_catalog.now(),
	acted_by		regrole NOT NULL
);
COMMENT ON TABLE childguard.request_action IS
	'Provisions Art 19: each correction an officer wrote under a correction request (table, column, rows; never the value), beside the access log''s record of the write.';
SELECT pg_catalog.pg_extension_config_dump('childguard.request_action', '');
SELECT pg_catalog.pg_extension_config_dump('childguard.request_action_action_id_seq', '');
REVOKE ALL ON childguard.request_action FROM PUBLIC;

-- A request row for update, or ZC500.
CREATE FUNCTION childguard._request_for_update(request_id bigint) RETURNS childguard.request
	LANGUAGE plpgsql
	SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	r childguard.request;
BEGIN
	SELECT * INTO r FROM childguard.request x WHERE x.request_id = _request_for_update.request_id FOR UPDATE;
	IF r.request_id IS NULL THEN
		RAISE EXCEPTION 'request % does not exist', request_id USING ERRCODE = 'ZC500',
			HINT = 'Requests are listed in childguard.requests.';
	END IF;
	RETURN r;
END
$$;
REVOKE ALL ON FUNCTION childguard._request_for_update(bigint) FROM PUBLIC;
COMMENT ON FUNCTION childguard._request_for_update(bigint) IS
	'Internal: a request, locked for its change (ZC500 if unknown).';

CREATE FUNCTION childguard.open_request(child text, kind text, received_at timestamptz,
										requested_by text, detail text DEFAULT '')
	RETURNS bigint
	LANGUAGE plpgsql SECURITY DEFINER
	SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	s bigint;
	who text;
	due interval;
	id bigint;
BEGIN
	IF child IS NULL OR kind IS NULL OR received_at IS NULL OR requested_by IS NULL THEN
		RAISE EXCEPTION 'child, kind, received_at and requested_by are required' USING ERRCODE = '22004';
	END IF;
	IF kind NOT IN ('query', 'correction', 'deletion', 'objection') THEN
		RAISE EXCEPTION 'unknown request kind "%"', kind USING ERRCODE = '22023',
			HINT = 'A request is a query, correction, deletion or objection.';
	END IF;
	IF received_at > pg_catalog.now() THEN
		RAISE EXCEPTION 'a request cannot be received in the future' USING ERRCODE = '22023',
			DETAIL = 'received_at is after the current time.';
	END IF;
	s := childguard._subject_of(child);
	IF requested_by = child THEN
		who := 'child';
	ELSIF EXISTS (SELECT 1 FROM childguard.child_guardian g
	               WHERE g.subject_no = s AND g.guardian_id = open_request.requested_by) THEN
		who := 'guardian';
	ELSE
		RAISE EXCEPTION '"%" may not make a request about child "%"', requested_by, child
			USING ERRCODE = 'ZC501',
			      DETAIL = 'Provisions Art 19/20 and Measures Art 17 give these rights to the child and the child''s guardians only; the requester is neither the child''s id nor a registered guardian of the child.',
			      HINT = 'Give the child''s id or a guardian id registered with register_guardian().';
	END IF;
	due := childguard._deadline_period('request_' || kind);
	INSERT INTO childguard.request (subject_no, kind, received_at, requested_by, requester_kind,
	                                detail, due_at, opened_by)
	VALUES (s, kind, received_at, requested_by, who, coalesce(detail, ''), received_at + due,
	        childguard._caller_oid()::regrole)
	RETURNING request.request_id INTO id;
	RETURN id;
END
$$;
COMMENT ON FUNCTION childguard.open_request(text, text, timestamptz, text, text) IS
	'Provisions Art 19/20, Measures Art 17: record a request (query, correction, deletion, objection) about a child by the child or one of its guardians, received at received_at; its deadline is received_at plus the kind''s period in childguard.deadline. An open objection stops every read and write of the child''s data but an officer''s.';

CREATE FUNCTION childguard.start_request(request_id bigint) RETURNS void
	LANGUAGE plpgsql SECURITY DEFINER
	SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	r childguard.request;
BEGIN
	PERFORM childguard._require_officer('handle a request');
	r := childguard._request_for_update(request_id);
	IF r.status NOT IN ('open', 'in_progress') THEN
		RAISE EXCEPTION 'request % is already closed', request_id USING ERRCODE = 'ZC502',
			DETAIL = pg_catalog.format('It was closed as %s.', r.status);
	END IF;
	UPDATE childguard.request x SET status = 'in_progress', handled_by = childguard._caller_oid()::regrole
	 WHERE x.request_id = r.request_id;
END
$$;
COMMENT ON FUNCTION childguard.start_request(bigint) IS
	'An officer takes a request in hand: status in_progress, handled by the caller.';

CREATE FUNCTION childguard.close_request(request_id bigint, status text, outcome text DEFAULT NULL)
	RETURNS void
	LANGUAGE plpgsql SECURITY DEFINER
	SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	r childguard.request;
BEGIN
	PERFORM childguard._require_officer('close a request');
	IF status IS NULL OR status NOT IN ('done', 'refused') THEN
		RAISE EXCEPTION 'a request closes as done or refused' USING ERRCODE = '22023',
			DETAIL = pg_catalog.format('Status %s is not a closing status.', coalesce(pg_catalog.quote_literal(status), 'NULL'));
	END IF;
	r := childguard._request_for_update(request_id);
	IF r.status NOT IN ('open', 'in_progress') THEN
		RAISE EXCEPTION 'request % is already closed', request_id USING ERRCODE = 'ZC502',
			DETAIL = pg_catalog.format('It was closed as %s.', r.status);
	END IF;
	IF status = 'refused' AND coalesce(outcome, '') = '' THEN
		RAISE EXCEPTION 'refusing request % needs a reason', request_id USING ERRCODE = 'ZC503',
			DETAIL = 'The child or guardian is owed the reason a request is refused.',
			HINT = 'Give the reason as outcome.';
	END IF;
	UPDATE childguard.request x
	   SET status = close_request.status, outcome = close_request.outcome,
	       closed_at = pg_catalog.now(),
	       handled_by = coalesce(x.handled_by, childguard._caller_oid()::regrole)
	 WHERE x.request_id = r.request_id;
END
$$;
COMMENT ON FUNCTION childguard.close_request(bigint, text, text) IS
	'An officer closes a request as done or refused (a refusal needs its reason); closing an objection lifts its restriction on the child''s data.';

CREATE VIEW childguard.requests AS
	SELECT r.request_id, c.child_id, r.kind, r.status, r.received_at, r.requested_by,
	       r.requester_kind, r.detail, r.due_at,
	       r.status IN ('open', 'in_progress') AND r.due_at < pg_catalog.now() AS overdue,
	       r.closed_at IS NOT NULL AND r.closed_at > r.due_at AS closed_late,
	       r.kind = 'objection' AND r.status IN ('open', 'in_progress') AS restricts_processing,
	       r.opened_at, r.opened_by, r.handled_by, r.closed_at, r.outcome
	  FROM childguard.request r
	  JOIN childguard.child c ON c.subject_no = r.subject_no;
COMMENT ON VIEW childguard.requests IS
	'The request register: each request, its deadline, whether it is overdue (open past due_at) or was closed late, whether it restricts processing (an open objection), who handled it and how it ended.';
REVOKE ALL ON childguard.requests FROM PUBLIC;

-------------------------------------------------------------------------------
-- Correction after consent lapsed (Art 19): an officer writes the corrected
-- value under an open correction request for that child.  The C side
-- (correction_permit.c) lets exactly that child's values of the column's
-- category be sealed without a purpose or consent, for this one UPDATE;
-- the write is in the access log (the officer, the table, the column, the
-- child) and in request_action.
-------------------------------------------------------------------------------

CREATE FUNCTION childguard._permit_correction(subject_no bigint, category text) RETURNS void
	LANGUAGE C AS 'MODULE_PATHNAME', 'cg_permit_correction';
COMMENT ON FUNCTION childguard._permit_correction(bigint, text) IS
	'Internal to correct_child_data(): allow values of category to be sealed for subject_no without purpose or consent until the end of the statement, or until called with NULLs.';
REVOKE ALL ON FUNCTION childguard._permit_correction(bigint, text) FROM PUBLIC;

CREATE FUNCTION childguard.correct_child_data(tbl regclass, child text, col name, new_value text,
											  request_id bigint)
	RETURNS bigint
	LANGUAGE plpgsql SECURITY DEFINER
	SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	r childguard.request;
	s bigint;
	subject_col name;
	cat text;
	coltype text;
	n bigint;
BEGIN
	PERFORM childguard._require_officer('correct child data');
	IF tbl IS NULL OR child IS NULL OR col IS NULL OR request_id IS NULL THEN
		RAISE EXCEPTION 'tbl, child, col and request_id are required' USING ERRCODE = '22004';
	END IF;
	r := childguard._request_for_update(request_id);
	s := childguard._subject_of(child);
	IF r.kind <> 'correction' OR r.status NOT IN ('open', 'in_progress') OR r.subject_no <> s THEN
		RAISE EXCEPTION 'request % is not an open correction request for child "%"', request_id, child
			USING ERRCODE = 'ZC504',
			      DETAIL = pg_catalog.format('Request %s is a %s request about child "%s" (%s); a correction is written only under an open correction request about the same child.',
			                                 r.request_id, r.kind,
			                                 (SELECT c.child_id FROM childguard.child c WHERE c.subject_no = r.subject_no),
			                                 r.status),
			      HINT = 'Open a correction request with open_request(child, ''correction'', ...) first.';
	END IF;
	-- two people: the officer who writes is not the one who recorded the
	-- request (nor related to it), so no one alone makes a request and
	-- writes under it
	IF childguard._roles_related(childguard._caller_oid(), r.opened_by::oid) THEN
		RAISE EXCEPTION 'a correction is written by someone other than who recorded its request'
			USING ERRCODE = 'ZC506',
			      DETAIL = pg_catalog.format('Request %s was recorded by %s, the same person as the caller (or related by role membership).',
			                                 r.request_id, r.opened_by),
			      HINT = 'Another officer writes the correction, or the application records the request.';
	END IF;
	SELECT p.subject_column INTO subject_col
	  FROM childguard.protected_columns p WHERE p.table_name = tbl AND p.is_protected LIMIT 1;
	IF subject_col IS NULL THEN
		RAISE EXCEPTION 'table % is not a protected table', tbl USING ERRCODE = '22023',
			HINT = 'Corrections are written to tables protected with childguard.protect().';
	END IF;
	SELECT pg_catalog.format_type(a.atttypid, a.atttypmod) INTO coltype
	  FROM pg_catalog.pg_attribute a
	 WHERE a.attrelid = tbl AND a.attname = col AND a.attnum > 0 AND NOT a.attisdropped;
	IF coltype IS NULL THEN
		RAISE EXCEPTION 'column "%" of table % does not exist', col, tbl USING ERRCODE = '42703';
	END IF;
	IF col = subject_col THEN
		RAISE EXCEPTION 'the subject column "%" cannot be corrected', col USING ERRCODE = '22023',
			DETAIL = 'It says whose data the row is; a child registered under a wrong id is a new registration.';
	END IF;
	SELECT p.category INTO cat FROM childguard.protected_columns p
	 WHERE p.table_name = tbl AND p.column_name = col;
	IF cat IS NOT NULL THEN
		PERFORM childguard._permit_correction(s, cat);
	END IF;
	-- a correction replaces a value held; filling an empty one is collection
	EXECUTE pg_catalog.format('UPDATE %s SET %I = $1::%s WHERE %I::text OPERATOR(pg_catalog.=) $2 AND %I IS NOT NULL',
	                          tbl, col, coltype, subject_col, col)
		USING new_value, child;
	GET DIAGNOSTICS n = ROW_COUNT;
	IF cat IS NOT NULL THEN
		PERFORM childguard._permit_correction(NULL, NULL);
	END IF;
	INSERT INTO childguard.request_action (request_id, action, relation, column_name, row_count, acted_by)
	VALUES (r.request_id, 'correction', tbl::text, col, n, childguard._caller_oid()::regrole);
	UPDATE childguard.request x
	   SET status = 'in_progress', handled_by = coalesce(x.handled_by, childguard._caller_oid()::regrole)
	 WHERE x.request_id = r.request_id AND x.status = 'open';
	RETURN n;
END
$$;
COMMENT ON FUNCTION childguard.correct_child_data(regclass, text, name, text, bigint) IS
	'Provisions Art 19: an officer writes the corrected value of one column of a child''s rows in a protected table (rows where it holds a value), under an open correction request of that child recorded by someone else, whether or not any consent is in force; recorded in request_action and the access log. Returns the number of rows changed.';
REVOKE ALL ON FUNCTION childguard.correct_child_data(regclass, text, name, text, bigint) FROM PUBLIC;

-------------------------------------------------------------------------------
-- The request register's duties in the compliance report (part 75).
-------------------------------------------------------------------------------

-- Art 19, 20, Measures Art 17: no request is open past its deadline.
CREATE FUNCTION childguard.duty_requests_on_time()
	RETURNS TABLE (pass boolean, reason text, objects text[])
	LANGUAGE sql STABLE
	SET search_path = pg_catalog, pg_temp
AS $$
	WITH bad AS (
		SELECT pg_catalog.format('request %s (%s, child "%s"): due %s', r.request_id, r.kind,
		                         r.child_id, r.due_at) AS what
		  FROM childguard.requests r WHERE r.overdue)
	SELECT NOT EXISTS (SELECT 1 FROM bad),
	       CASE WHEN NOT EXISTS (SELECT 1 FROM bad)
	            THEN pg_catalog.format('No request is open past its deadline (%s open).',
	                     (SELECT pg_catalog.count(*) FROM childguard.request x WHERE x.status IN ('open', 'in_progress')))
	            ELSE 'Provisions Art 19/20, Measures Art 17: requests open past their deadline (the law asks for prompt handling).' END,
	       coalesce((SELECT pg_catalog.array_agg(bad.what ORDER BY bad.what) FROM bad), '{}')
$$;

-- Measures Art 17: open objections restrict processing: the read
-- decision finds them (the index it reads and the trigger that tells
-- every backend are in place) and none is left unhandled past its
-- deadline.
CREATE FUNCTION childguard.duty_objections_restrict()
	RETURNS TABLE (pass boolean, reason text, objects text[])
	LANGUAGE sql STABLE
	SET search_path = pg_catalog, pg_temp
AS $$
	WITH bad AS (
		SELECT 'index childguard.request_open_objection_idx is missing or invalid' AS what
		 WHERE NOT EXISTS (SELECT 1 FROM pg_catalog.pg_index i
		                    WHERE i.indexrelid = pg_catalog.to_regclass('childguard.request_open_objection_idx')
		                      AND i.indisvalid AND i.indisready)
		UNION ALL
		SELECT 'trigger request_changed on childguard.request is missing or disabled'
		 WHERE NOT EXISTS (SELECT 1 FROM pg_catalog.pg_trigger t
		                    WHERE t.tgrelid = 'childguard.request'::pg_catalog.regclass
		                      AND t.tgname = 'request_changed' AND t.tgenabled <> 'D')
		UNION ALL
		SELECT pg_catalog.format('objection %s (child "%s"): due %s', r.request_id, r.child_id, r.due_at)
		  FROM childguard.requests r WHERE r.kind = 'objection' AND r.overdue)
	SELECT NOT EXISTS (SELECT 1 FROM bad),
	       CASE WHEN NOT EXISTS (SELECT 1 FROM bad)
	            THEN pg_catalog.format('%s open objection(s) restrict processing of their children''s data; none is past its deadline.',
	                     (SELECT pg_catalog.count(*) FROM childguard.request x
	                       WHERE x.kind = 'objection' AND x.status IN ('open', 'in_progress')))
	            ELSE 'Measures Art 17: objections are not restricting processing as they should, or are left unhandled past their deadline.' END,
	       coalesce((SELECT pg_catalog.array_agg(bad.what ORDER BY bad.what) FROM bad), '{}')
$$;

REVOKE ALL ON FUNCTION childguard.duty_requests_on_time() FROM PUBLIC;
REVOKE ALL ON FUNCTION childguard.duty_objections_restrict() FROM PUBLIC;
COMMENT ON FUNCTION childguard.duty_requests_on_time() IS
	'The compliance report''s live check of one duty (childguard.compliance_duty).';
COMMENT ON FUNCTION childguard.duty_objections_restrict() IS
	'The compliance report''s live check of one duty (childguard.compliance_duty).';
INSERT INTO childguard.compliance_duty (duty, article, what_is_checked, check_function, test) VALUES
	('requests_on_time', 'Provisions Art 19, 20',
	 'no request (query, correction, deletion, objection) is open past its deadline (Measures Art 17)',
	 'childguard.duty_requests_on_time()', 'sql/compliance_report.sql'),
	('objections_restrict', 'Measures Art 17',
	 'open objections restrict processing (the read decision''s index and trigger are in place) and none is past its deadline',
	 'childguard.duty_objections_restrict()', 'sql/compliance_report.sql');
