-------------------------------------------------------------------------------
-- Part 72: the incident register (issue 14, item 5; Provisions Art 21).
-- An incident (data leaked, damaged or lost, or possibly so) is recorded
-- when found, with its scope: the roles and time window whose accesses are
-- suspect, and the children and guardians breach_impact() finds for them,
-- stored when the incident is opened (the access log may later be trimmed
-- by its retention).  The report to the authority, each guardian's
-- notification (method and time) and any public notice are recorded; an
-- incident cannot be closed until every affected guardian is notified or a
-- public notice has been issued (ZC510).
-------------------------------------------------------------------------------

CREATE TABLE childguard.incident (
	incident_id		bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	found_at		timestamptz NOT NULL,
	description		text NOT NULL CHECK (description <> ''),
	scope_roles		text[] NOT NULL,
	scope_from		timestamptz NOT NULL,
	scope_to		timestamptz NOT NULL,
	report_due_at	timestamptz NOT NULL,
	notice_due_at	timestamptz NOT NULL,
	opened_at		timestamptz NOT NULL DEFAULT pg_catalog.now(),
	opened_by		regrole NOT NULL,
	closed_at		timestamptz,
	closed_by		regrole,
	CONSTRAINT incident_window_check CHECK (scope_to >= scope_from)
);
COMMENT ON TABLE childguard.incident IS
	'Provisions Art 21: incidents where children''s data leaked, was damaged or lost (or may have been): when found, the suspect roles and window, deadlines for the report and notices, when closed.';

CREATE TABLE childguard.incident_child (
	incident_id		bigint NOT NULL REFERENCES childguard.incident (incident_id),
	subject_no		bigint NOT NULL,
	child_id		text,
	statements		bigint NOT NULL,
	relations		text[],
	columns			text[],
	CONSTRAINT incident_child_pkey PRIMARY KEY (incident_id, subject_no)
);
COMMENT ON TABLE childguard.incident_child IS
	'Provisions Art 21: the children an incident affects, from breach_impact() when it was opened.';

CREATE TABLE childguard.incident_guardian (
	incident_id		bigint NOT NULL REFERENCES childguard.incident (incident_id),
	guardian_id		text NOT NULL,
	CONSTRAINT incident_guardian_pkey PRIMARY KEY (incident_id, guardian_id)
);
COMMENT ON TABLE childguard.incident_guardian IS
	'Provisions Art 21: the guardians to tell of an incident (those of its children).';

CREATE TABLE childguard.incident_event (
	event_id		bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	incident_id		bigint NOT NULL REFERENCES childguard.incident (incident_id),
	kind			text NOT NULL CHECK (kind IN ('authority_report', 'notification', 'public_notice')),
	at				timestamptz NOT NULL,
	authority		text,
	reference		text,
	guardian_id		text,
	method			text,
	notice_where	text,
	recorded_at		timestamptz NOT NULL DEFAULT pg_catalog.now(),
	recorded_by		regrole NOT NULL,
	CONSTRAINT incident_event_fields_check CHECK (
		(kind = 'authority_report' AND coalesce(authority, '') <> '' AND guardian_id IS NULL) OR
		(kind = 'notification' AND guardian_id IS NOT NULL AND coalesce(method, '') <> '') OR
		(kind = 'public_notice' AND coalesce(notice_where, '') <> '' AND guardian_id IS NULL))
);
COMMENT ON TABLE childguard.incident_event IS
	'Provisions Art 21: what was done about an incident: the report to the authority (who, reference), each guardian told (method, time), public notices (where).';

SELECT pg_catalog.pg_extension_config_dump('childguard.incident', '');
SELECT pg_catalog.pg_extension_config_dump('childguard.incident_incident_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('childguard.incident_child', '');
SELECT pg_catalog.pg_extension_config_dump('childguard.incident_guardian', '');
SELECT pg_catalog.pg_extension_config_dump('childguard.incident_event', '');
SELECT pg_catalog.pg_extension_config_dump('childguard.incident_event_event_id_seq', '');
REVOKE ALL ON childguard.incident, childguard.incident_child, childguard.incident_guardian,
	childguard.incident_event FROM PUBLIC;

-- An incident row for update, or ZC511.
CREATE FUNCTION childguard._incident_for_update(incident_id bigint, open_only boolean)
	RETURNS childguard.incident
	LANGUAGE plpgsql
	SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	i childguard.incident;
BEGIN
	SELECT * INTO i FROM childguard.incident x
	 WHERE x.incident_id = _incident_for_update.incident_id FOR UPDATE;
	IF i.incident_id IS NULL THEN
		RAISE EXCEPTION 'incident % does not exist', incident_id USING ERRCODE = 'ZC511',
			HINT = 'Incidents are listed in childguard.incidents.';
	END IF;
	IF open_only AND i.closed_at IS NOT NULL THEN
		RAISE EXCEPTION 'incident % is closed', incident_id USING ERRCODE = 'ZC512',
			DETAIL = 'A closed incident is not changed.';
	END IF;
	RETURN i;
END
$$;
REVOKE ALL ON FUNCTION childguard._incident_for_update(bigint, boolean) FROM PUBLIC;
COMMENT ON FUNCTION childguard._incident_for_update(bigint, boolean) IS
	'Internal: an incident, locked for its change (ZC511 if unknown; ZC512 if closed and open_only).';

CREATE FUNCTION childguard.open_incident(found_at timestamptz, description text, roles text[],
										 from_time timestamptz, to_time timestamptz)
	RETURNS bigint
	LANGUAGE plpgsql SECURITY DEFINER
	SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	id bigint;
BEGIN
	PERFORM childguard._require_officer('record an incident');
	IF found_at IS NULL OR description IS NULL OR roles IS NULL OR from_time IS NULL OR to_time IS NULL THEN
		RAISE EXCEPTION 'found_at, description, roles, from_time and to_time are required'
			USING ERRCODE = '22004';
	END IF;
	IF description = '' OR pg_catalog.cardinality(roles) = 0 THEN
		RAISE EXCEPTION 'an incident needs a description and at least one role in its scope'
			USING ERRCODE = '22023';
	END IF;
	IF found_at > pg_catalog.now() THEN
		RAISE EXCEPTION 'an incident cannot be found in the future' USING ERRCODE = '22023';
	END IF;
	IF to_time < from_time THEN
		RAISE EXCEPTION 'the window ends before it begins' USING ERRCODE = '22023',
			DETAIL = 'to_time is earlier than from_time.';
	END IF;
	INSERT INTO childguard.incident (found_at, description, scope_roles, scope_from, scope_to,
	                                 report_due_at, notice_due_at, opened_by)
	VALUES (found_at, description, roles, from_time, to_time,
	        found_at + childguard._deadline_period('incident_report'),
	        found_at + childguard._deadline_period('incident_notice'),
	        childguard._caller_oid()::regrole)
	RETURNING incident.incident_id INTO id;
	INSERT INTO childguard.incident_child (incident_id, subject_no, child_id, statements, relations, columns)
	SELECT id, b.subject_no, b.child_id, b.statements, b.relations, b.columns
	  FROM childguard.breach_impact(roles, from_time, to_time) b;
	INSERT INTO childguard.incident_guardian (incident_id, guardian_id)
	SELECT DISTINCT id, g FROM childguard.breach_impact(roles, from_time, to_time) b,
	       pg_catalog.unnest(b.guardians) g;
	RETURN id;
END
$$;
COMMENT ON FUNCTION childguard.open_incident(timestamptz, text, text[], timestamptz, timestamptz) IS
	'Provisions Art 21: record an incident found at found_at; its scope is what the given roles read or wrote in [from_time, to_time) (breach_impact()), stored with the incident: the children affected and their guardians to notify.';

CREATE FUNCTION childguard.record_authority_report(incident_id bigint, at timestamptz,
												   authority text, reference text DEFAULT NULL)
	RETURNS bigint
	LANGUAGE plpgsql SECURITY DEFINER
	SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	i childguard.incident;
	id bigint;
BEGIN
	PERFORM childguard._require_officer('record an incident report');
	IF at IS NULL OR coalesce(authority, '') = '' THEN
		RAISE EXCEPTION 'the time and the authority are required' USING ERRCODE = '22023';
	END IF;
	i := childguard._incident_for_update(incident_id, true);
	IF at < i.found_at OR at > pg_catalog.now() THEN
		RAISE EXCEPTION 'a report is made between the incident''s finding and now' USING ERRCODE = '22023',
			DETAIL = 'The time given is before the incident was found, or in the future.';
	END IF;
	INSERT INTO childguard.incident_event (incident_id, kind, at, authority, reference, recorded_by)
	VALUES (i.incident_id, 'authority_report', at, authority, reference, childguard._caller_oid()::regrole)
	RETURNING event_id INTO id;
	RETURN id;
END
$$;
COMMENT ON FUNCTION childguard.record_authority_report(bigint, timestamptz, text, text) IS
	'Provisions Art 21: record the report of an incident to the competent authority (which, when, its reference).';

CREATE FUNCTION childguard.record_notification(incident_id bigint, guardian_id text, method text,
											   at timestamptz)
	RETURNS bigint
	LANGUAGE plpgsql SECURITY DEFINER
	SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	i childguard.incident;
	id bigint;
BEGIN
	PERFORM childguard._require_officer('record an incident notification');
	IF guardian_id IS NULL OR at IS NULL OR coalesce(method, '') = '' THEN
		RAISE EXCEPTION 'the guardian, the method and the time are required' USING ERRCODE = '22023',
			HINT = 'Art 21 names e-mail, letter, telephone and push notification as methods.';
	END IF;
	i := childguard._incident_for_update(incident_id, true);
	IF NOT EXISTS (SELECT 1 FROM childguard.incident_guardian g
	                WHERE g.incident_id = i.incident_id AND g.guardian_id = record_notification.guardian_id) THEN
		RAISE EXCEPTION 'guardian "%" is not affected by incident %', guardian_id, incident_id
			USING ERRCODE = 'ZC513',
			      DETAIL = 'Only the guardians of the incident''s children (childguard.incidents) are notified under it.';
	END IF;
	IF at < i.found_at OR at > pg_catalog.now() THEN
		RAISE EXCEPTION 'a notification is made between the incident''s finding and now' USING ERRCODE = '22023',
			DETAIL = 'The time given is before the incident was found, or in the future.';
	END IF;
	INSERT INTO childguard.incident_event (incident_id, kind, at, guardian_id, method, recorded_by)
	VALUES (i.incident_id, 'notification', at, guardian_id, method, childguard._caller_oid()::regrole)
	RETURNING event_id INTO id;
	RETURN id;
END
$$;
COMMENT ON FUNCTION childguard.record_notification(bigint, text, text, timestamptz) IS
	'Provisions Art 21: record that an affected guardian was told of the incident, how (e-mail, letter, telephone, push notification) and when.';

CREATE FUNCTION childguard.record_public_notice(incident_id bigint, at timestamptz, notice_where text)
	RETURNS bigint
	LANGUAGE plpgsql SECURITY DEFINER
	SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	i childguard.incident;
	id bigint;
BEGIN
	PERFORM childguard._require_officer('record a public notice');
	IF at IS NULL OR coalesce(notice_where, '') = '' THEN
		RAISE EXCEPTION 'the time and where the notice was published are required' USING ERRCODE = '22023';
	END IF;
	i := childguard._incident_for_update(incident_id, true);
	IF at < i.found_at OR at > pg_catalog.now() THEN
		RAISE EXCEPTION 'a notice is published between the incident''s finding and now' USING ERRCODE = '22023',
			DETAIL = 'The time given is before the incident was found, or in the future.';
	END IF;
	INSERT INTO childguard.incident_event (incident_id, kind, at, notice_where, recorded_by)
	VALUES (i.incident_id, 'public_notice', at, notice_where, childguard._caller_oid()::regrole)
	RETURNING event_id INTO id;
	RETURN id;
END
$$;
COMMENT ON FUNCTION childguard.record_public_notice(bigint, timestamptz, text) IS
	'Provisions Art 21: record a public warning notice, for when telling each child and guardian is impractical.';

-- The affected guardians not yet notified of an incident.
CREATE FUNCTION childguard._incident_unnotified(incident_id bigint) RETURNS text[]
	LANGUAGE sql STABLE
	SET search_path = pg_catalog, pg_temp
AS $$
	SELECT coalesce(pg_catalog.array_agg(g.guardian_id ORDER BY g.guardian_id), '{}')
	  FROM childguard.incident_guardian g
	 WHERE g.incident_id = _incident_unnotified.incident_id
	   AND NOT EXISTS (SELECT 1 FROM childguard.incident_event e
	                    WHERE e.incident_id = g.incident_id AND e.kind = 'notification'
	                      AND e.guardian_id = g.guardian_id)
$$;
REVOKE ALL ON FUNCTION childguard._incident_unnotified(bigint) FROM PUBLIC;
COMMENT ON FUNCTION childguard._incident_unnotified(bigint) IS
	'Internal: the affected guardians of an incident not yet notified.';

CREATE FUNCTION childguard.close_incident(incident_id bigint) RETURNS void
	LANGUAGE plpgsql SECURITY DEFINER
	SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	i childguard.incident;
	missing text[];
BEGIN
	PERFORM childguard._require_officer('close an incident');
	i := childguard._incident_for_update(incident_id, true);
	missing := childguard._incident_unnotified(i.incident_id);
	IF pg_catalog.cardinality(missing) > 0 AND NOT EXISTS (
			SELECT 1 FROM childguard.incident_event e
			 WHERE e.incident_id = i.incident_id AND e.kind = 'public_notice') THEN
		RAISE EXCEPTION 'incident % cannot be closed: % affected guardian(s) not notified',
			incident_id, pg_catalog.cardinality(missing)
			USING ERRCODE = 'ZC510',
			      DETAIL = pg_catalog.format('Provisions Art 21: not notified: %s.',
			                                 pg_catalog.array_to_string(missing, ', ')),
			      HINT = 'Record each notification with record_notification(), or a public notice with record_public_notice().';
	END IF;
	UPDATE childguard.incident x SET closed_at = pg_catalog.now(), closed_by = childguard._caller_oid()::regrole
	 WHERE x.incident_id = i.incident_id;
END
$$;
COMMENT ON FUNCTION childguard.close_incident(bigint) IS
	'Provisions Art 21: close an incident; refused (ZC510) until every affected guardian is notified or a public notice is recorded.';

CREATE VIEW childguard.incidents AS
	SELECT i.incident_id, i.found_at, i.description, i.scope_roles, i.scope_from, i.scope_to,
	       (SELECT pg_catalog.count(*) FROM childguard.incident_child c
	         WHERE c.incident_id = i.incident_id) AS children,
	       (SELECT pg_catalog.count(*) FROM childguard.incident_guardian g
	         WHERE g.incident_id = i.incident_id) AS guardians,
	       (SELECT pg_catalog.min(e.at) FROM childguard.incident_event e
	         WHERE e.incident_id = i.incident_id AND e.kind = 'authority_report') AS reported_at,
	       i.report_due_at,
	       (SELECT pg_catalog.count(DISTINCT e.guardian_id) FROM childguard.incident_event e
	         WHERE e.incident_id = i.incident_id AND e.kind = 'notification') AS guardians_notified,
	       (SELECT coalesce(pg_catalog.array_agg(g.guardian_id ORDER BY g.guardian_id), '{}')
	          FROM childguard.incident_guardian g
	         WHERE g.incident_id = i.incident_id
	           AND NOT EXISTS (SELECT 1 FROM childguard.incident_event e
	                            WHERE e.incident_id = g.incident_id AND e.kind = 'notification'
	                              AND e.guardian_id = g.guardian_id)) AS not_notified,
	       (SELECT pg_catalog.min(e.at) FROM childguard.incident_event e
	         WHERE e.incident_id = i.incident_id AND e.kind = 'public_notice') AS public_notice_at,
	       i.notice_due_at,
	       i.closed_at IS NULL AND pg_catalog.now() > i.report_due_at AND NOT EXISTS (
	           SELECT 1 FROM childguard.incident_event e
	            WHERE e.incident_id = i.incident_id AND e.kind = 'authority_report') AS report_overdue,
	       i.closed_at IS NULL AND pg_catalog.now() > i.notice_due_at
	           AND EXISTS (SELECT 1 FROM childguard.incident_guardian g
	                        WHERE g.incident_id = i.incident_id
	                          AND NOT EXISTS (SELECT 1 FROM childguard.incident_event e
	                                           WHERE e.incident_id = g.incident_id AND e.kind = 'notification'
	                                             AND e.guardian_id = g.guardian_id))
	           AND NOT EXISTS (SELECT 1 FROM childguard.incident_event e
	                            WHERE e.incident_id = i.incident_id AND e.kind = 'public_notice')
	           AS notice_overdue,
	       i.opened_at, i.opened_by, i.closed_at, i.closed_by
	  FROM childguard.incident i;
COMMENT ON VIEW childguard.incidents IS
	'Provisions Art 21: each incident, how many children and guardians it affects, when it was reported, which guardians are not yet notified, any public notice, whether the report or the notices are overdue, and when it was closed.';
REVOKE ALL ON childguard.incidents FROM PUBLIC;

-- Art 21: no open incident is past its deadline for the report to the
-- authority or for the notices.
CREATE FUNCTION childguard.duty_incidents_handled()
	RETURNS TABLE (pass boolean, reason text, objects text[])
	LANGUAGE sql STABLE
	SET search_path = pg_catalog, pg_temp
AS $$
	WITH bad AS (
		SELECT pg_catalog.format('incident %s: %s', i.incident_id,
		           pg_catalog.concat_ws(' and ',
		               CASE WHEN i.report_overdue THEN pg_catalog.format('not reported to the authority (due %s)', i.report_due_at) END,
		               CASE WHEN i.notice_overdue THEN pg_catalog.format('%s guardian(s) not notified and no public notice (due %s)',
		                                                                 pg_catalog.cardinality(i.not_notified), i.notice_due_at) END)) AS what
		  FROM childguard.incidents i WHERE i.report_overdue OR i.notice_overdue)
	SELECT NOT EXISTS (SELECT 1 FROM bad),
	       CASE WHEN NOT EXISTS (SELECT 1 FROM bad)
	            THEN pg_catalog.format('No incident is past its deadline for the report or the notices (%s open).',
	                     (SELECT pg_catalog.count(*) FROM childguard.incident x WHERE x.closed_at IS NULL))
	            ELSE 'Provisions Art 21: incidents not reported to the authority, or whose affected guardians were not told, in time.' END,
	       coalesce((SELECT pg_catalog.array_agg(bad.what ORDER BY bad.what) FROM bad), '{}')
$$;
REVOKE ALL ON FUNCTION childguard.duty_incidents_handled() FROM PUBLIC;
COMMENT ON FUNCTION childguard.duty_incidents_handled() IS
	'The compliance report''s live check of one duty (childguard.compliance_duty).';
INSERT INTO childguard.compliance_duty (duty, article, what_is_checked, check_function, test) VALUES
	('incidents_handled', 'Provisions Art 21',
	 'no open incident is past its deadline for the report to the authority or for notifying every affected guardian (or a public notice)',
	 'childguard.duty_incidents_handled()', 'sql/compliance_report.sql');
