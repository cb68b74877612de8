-- Who may call what compldata's parts (60-67) added: officers get the
-- opener of the registry's sealed facts (childguard.children, their view,
-- calls it, and a view's functions are checked against its reader), the
-- recipient-naming assessment, the processors' deletion register and the
-- disclosure view; applications name the recipient of the grants they
-- request.  Roles already appointed or enrolled get them too, in the order
-- they were appointed or enrolled (as on a fresh install).
--
-- Merging note: other parts of 1.4 may extend these lists as well; the
-- last definition in part order wins, so it must hold every part's
-- functions (docs/reference.md, "Versions").

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
		'childguard.name_recipient(bigint, text)'
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
		'childguard.record_assessment(text, text, text, text)',
		'childguard.record_processor_deletion(bigint, text)',
		'childguard._open_registry(bigint, bytea)'
	]::regprocedure[] || childguard._application_functions()
$$;

CREATE OR REPLACE FUNCTION childguard._officer_views() RETURNS regclass[]
	LANGUAGE sql IMMUTABLE
AS $$
	SELECT ARRAY['childguard.children', 'childguard.guardians', 'childguard.notices',
	             'childguard.purposes', 'childguard.consents', 'childguard.access_grants',
	             'childguard.officers', 'childguard.consent_log', 'childguard.role_events',
	             'childguard.enrollments', 'childguard.processor_deletion_due']::regclass[]
$$;

DO $grant$
DECLARE
	x record;
BEGIN
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
