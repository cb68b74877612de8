-------------------------------------------------------------------------------
-- Who may call what.  Nothing is granted to PUBLIC except reading the
-- category list and the protected-columns view and declaring a purpose;
-- appoint_officer() and enroll_application() grant the rest.
-------------------------------------------------------------------------------

CREATE FUNCTION childguard._officer_functions() RETURNS regprocedure[]
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
		'childguard.consent_in_force(text, text, date)'
	]::regprocedure[] || childguard._application_functions()
$$;

CREATE FUNCTION childguard._officer_views() RETURNS regclass[]
	LANGUAGE sql IMMUTABLE
AS $$
	SELECT ARRAY['childguard.children', 'childguard.guardians', 'childguard.notices',
	             'childguard.purposes', 'childguard.consents', 'childguard.access_grants',
	             'childguard.officers']::regclass[]
$$;

CREATE FUNCTION childguard._application_functions() RETURNS regprocedure[]
	LANGUAGE sql IMMUTABLE
AS $$
	SELECT ARRAY[
		'childguard.register_child(text, date, boolean, boolean)',
		'childguard.register_guardian(text, text, text)',
		'childguard.record_consent(text, text, text, text, text, integer, text)',
		'childguard.refuse_consent(text, text, text, text)',
		'childguard.withdraw_consent(text, text, text)',
		'childguard.request_access(regrole, text[], timestamptz, text[], integer, text, boolean, text)',
		'childguard.revoke_access(bigint)'
	]::regprocedure[]
$$;

DO $$
DECLARE
	f regprocedure;
BEGIN
	FOREACH f IN ARRAY childguard._officer_functions() || ARRAY[
			'childguard.appoint_officer(regrole)', 'childguard.dismiss_officer(regrole)',
			'childguard._subject_of(text)', 'childguard._purpose_of(text)',
			'childguard._categories(text[])', 'childguard._require_officer(text)',
			'childguard._require_owner(text)', 'childguard._caller_is_officer()',
			'childguard._caller_is_owner()']::regprocedure[] LOOP
		EXECUTE pg_catalog.format('REVOKE ALL ON FUNCTION %s FROM PUBLIC', f);
	END LOOP;
END
$$;
REVOKE ALL ON ALL TABLES IN SCHEMA childguard FROM PUBLIC;
GRANT SELECT ON childguard.category, childguard.protected_columns TO PUBLIC;
