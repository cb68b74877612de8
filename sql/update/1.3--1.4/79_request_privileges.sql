-------------------------------------------------------------------------------
-- Part 79: who may call the request, incident and report functions (parts
-- 70-76).  Officers handle requests and incidents and read the report;
-- applications, which receive a guardian's request through their own
-- service, may open one.  Roles appointed or enrolled before the update
-- get them, in the order they were appointed or enrolled.
-------------------------------------------------------------------------------

-- The lists are single functions that several parts of 1.4 extend.  So
-- that no part drops another's entries whatever the order they land in,
-- this part adds to the lists as the parts before it left them: each is
-- re-created returning its current value (with schema-qualified names,
-- whatever the search_path) followed by this part's entries.
CREATE FUNCTION childguard._list_literal(items text[]) RETURNS text
	LANGUAGE sql IMMUTABLE
	SET search_path = pg_catalog, pg_temp
AS $$
	SELECT pg_catalog.quote_literal(ARRAY(
		SELECT x.i FROM pg_catalog.unnest(items) WITH ORDINALITY x(i, n)
		 GROUP BY x.i ORDER BY pg_catalog.min(x.n))::text)
$$;
REVOKE ALL ON FUNCTION childguard._list_literal(text[]) FROM PUBLIC;
COMMENT ON FUNCTION childguard._list_literal(text[]) IS
	'Internal to the 1.4 update: a list as a literal, duplicates dropped, first occurrences kept in order.';

-- regprocedure and regclass as schema-qualified text (names resolved
-- with an empty search_path)
CREATE FUNCTION childguard._qualified(fs regprocedure[]) RETURNS text[]
	LANGUAGE sql STABLE
	SET search_path = pg_catalog, pg_temp
AS $$
	SELECT ARRAY(SELECT f::text FROM pg_catalog.unnest(fs) WITH ORDINALITY x(f, n) ORDER BY x.n)
$$;
CREATE FUNCTION childguard._qualified(cs regclass[]) RETURNS text[]
	LANGUAGE sql STABLE
	SET search_path = pg_catalog, pg_temp
AS $$
	SELECT ARRAY(SELECT c::text FROM pg_catalog.unnest(cs) WITH ORDINALITY x(c, n) ORDER BY x.n)
$$;
REVOKE ALL ON FUNCTION childguard._qualified(regprocedure[]) FROM PUBLIC;
REVOKE ALL ON FUNCTION childguard._qualified(regclass[]) FROM PUBLIC;
COMMENT ON FUNCTION childguard._qualified(regprocedure[]) IS
	'Internal to the 1.4 update: functions as schema-qualified signatures.';
COMMENT ON FUNCTION childguard._qualified(regclass[]) IS
	'Internal to the 1.4 update: relations as schema-qualified names.';

DO $lists$
DECLARE
	app text[] := childguard._qualified(childguard._application_functions()) || ARRAY[
		-- the request register
		'childguard.open_request(text,text,timestamp with time zone,text,text)'];
	officer text[];
	views text[];
BEGIN
	EXECUTE pg_catalog.format(
		'CREATE OR REPLACE FUNCTION childguard._application_functions() RETURNS regprocedure[] '
		'LANGUAGE sql IMMUTABLE AS %L',
		pg_catalog.format('SELECT %s::regprocedure[]', childguard._list_literal(app)));
	-- officers call the applications' functions too (1.3's list ended with
	-- them; an earlier part may have written its current value out)
	officer := childguard._qualified(childguard._officer_functions()) || app || ARRAY[
		-- requests, incidents, the compliance report
		'childguard.set_deadline(text,interval)',
		'childguard.start_request(bigint)',
		'childguard.close_request(bigint,text,text)',
		'childguard.correct_child_data(regclass,text,name,text,bigint)',
		'childguard.open_incident(timestamp with time zone,text,text[],timestamp with time zone,timestamp with time zone)',
		'childguard.record_authority_report(bigint,timestamp with time zone,text,text)',
		'childguard.record_notification(bigint,text,text,timestamp with time zone)',
		'childguard.record_public_notice(bigint,timestamp with time zone,text)',
		'childguard.close_incident(bigint)',
		'childguard.compliance_check()'];
	EXECUTE pg_catalog.format(
		'CREATE OR REPLACE FUNCTION childguard._officer_functions() RETURNS regprocedure[] '
		'LANGUAGE sql IMMUTABLE AS %L',
		pg_catalog.format('SELECT %s::regprocedure[]', childguard._list_literal(officer)));
	views := childguard._qualified(childguard._officer_views()) || ARRAY[
		'childguard.deadline', 'childguard.deadline_setting', 'childguard.requests',
		'childguard.request_action', 'childguard.incidents', 'childguard.incident_child',
		'childguard.incident_guardian', 'childguard.incident_event', 'childguard.compliance_duty',
		'childguard.compliance_report'];
	EXECUTE pg_catalog.format(
		'CREATE OR REPLACE FUNCTION childguard._officer_views() RETURNS regclass[] '
		'LANGUAGE sql IMMUTABLE AS %L',
		pg_catalog.format('SELECT %s::regclass[]', childguard._list_literal(views)));
	-- every entry names an object that exists (a typo fails the update here)
	PERFORM childguard._application_functions(), childguard._officer_functions(),
	        childguard._officer_views();
END
$lists$;

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
