-------------------------------------------------------------------------------
-- Part 79: who may call the request, incident and report functions (parts
-- 70-76).  Officers handle requests and incidents and read the report;
-- applications, which receive a guardian's request through their own
-- service, may open one.  The lists of 1.3 (sql/childguard--1.2--1.3.sql)
-- with this version's additions; roles appointed or enrolled before the
-- update get them, in the order they were appointed or enrolled.
-------------------------------------------------------------------------------

CREATE OR REPLACE FUNCTION childguard._application_functions() RETURNS regprocedure[]
	LANGUAGE sql IMMUTABLE
AS $$
	SELECT ARRAY[
		'childguard.register_child(text, date, boolean, boolean)',
		'childguard.register_guardian(text, text, text)',
		'childguard.request_access(regrole, text[], timestamptz, text[], integer, text, boolean, text)',
		'childguard.revoke_access(bigint)',
		'childguard.register_children(regclass)',
		'childguard.register_guardians(regclass)',
		-- 1.4: the request register
		'childguard.open_request(text, text, timestamptz, text, text)'
	]::regprocedure[]
$$;

CREATE OR REPLACE FUNCTION childguard._officer_functions() RETURNS regprocedure[]
	LANGUAGE sql IMMUTABLE
AS $$
	SELECT ARRAY[
		'childguard.publish_notice(text, text[], text, text, text, text, text, text, text, boolean)',
		'childguard.define_purpose(text, text[], interval, text, boolean, text)',
		'childguard.record_assessment(text, text, text)',
		'childguard.set_child_circumstances(text, boolean, boolean)',
		'childguard.approve_access(bigint)',
		'childguard.revoke_access(bigint)',
		'childguard.enroll_application(regrole)',
		'childguard.enroll_consent_recorder(regrole)',
		'childguard.unenroll(regrole, text)',
		'childguard.consent_in_force(text, text, date)',
		'childguard.verify_consent_log()',
		-- 1.4: requests, incidents, the compliance report
		'childguard.set_deadline(text, interval)',
		'childguard.start_request(bigint)',
		'childguard.close_request(bigint, text, text)',
		'childguard.correct_child_data(regclass, text, name, text, bigint)',
		'childguard.open_incident(timestamptz, text, text[], timestamptz, timestamptz)',
		'childguard.record_authority_report(bigint, timestamptz, text, text)',
		'childguard.record_notification(bigint, text, text, timestamptz)',
		'childguard.record_public_notice(bigint, timestamptz, text)',
		'childguard.close_incident(bigint)',
		'childguard.compliance_check()'
	]::regprocedure[] || childguard._application_functions()
$$;

CREATE OR REPLACE FUNCTION childguard._officer_views() RETURNS regclass[]
	LANGUAGE sql IMMUTABLE
AS $$
	SELECT ARRAY['childguard.children', 'childguard.guardians', 'childguard.notices',
	             'childguard.purposes', 'childguard.consents', 'childguard.access_grants',
	             'childguard.officers', 'childguard.consent_log', 'childguard.role_events',
	             'childguard.enrollments',
	             -- 1.4
	             'childguard.deadline', 'childguard.deadline_setting', 'childguard.requests', 'childguard.request_action',
	             'childguard.incidents', 'childguard.incident_child', 'childguard.incident_guardian',
	             'childguard.incident_event', 'childguard.compliance_duty',
	             'childguard.compliance_report']::regclass[]
$$;

DO $grant$
DECLARE
	f regprocedure;
	x record;
BEGIN
	FOREACH f IN ARRAY ARRAY[
			'childguard.set_deadline(text, interval)', 'childguard.open_request(text, text, timestamptz, text, text)',
			'childguard.start_request(bigint)', 'childguard.close_request(bigint, text, text)',
			'childguard.open_incident(timestamptz, text, text[], timestamptz, timestamptz)',
			'childguard.record_authority_report(bigint, timestamptz, text, text)',
			'childguard.record_notification(bigint, text, text, timestamptz)',
			'childguard.record_public_notice(bigint, timestamptz, text)',
			'childguard.close_incident(bigint)']::regprocedure[] LOOP
		EXECUTE pg_catalog.format('REVOKE ALL ON FUNCTION %s FROM PUBLIC', f);
	END LOOP;
	FOR x IN SELECT s.r, s.officer FROM (
	             SELECT o.role::oid AS r, true AS officer, o.appointed_at AS at, o.ctid AS c
	               FROM childguard.officer o WHERE o.role IS NOT NULL
	             UNION ALL
	             SELECT e.role::oid, false, e.enrolled_at, e.ctid FROM childguard.enrollment e) s
	          ORDER BY s.at, s.officer DESC, s.c LOOP
		IF x.officer THEN
			PERFORM childguard._grant_officer_privileges(x.r);
		ELSE
			PERFORM childguard._grant_duties(x.r);
		END IF;
	END LOOP;
END
$grant$;
