-- Who may call what compldata's parts (60-67) added: officers get the
-- opener of the registry's sealed facts (childguard.children, their view,
-- calls it, and a view's functions are checked against its reader), the
-- recipient-naming assessment, the processors' deletion register and its
-- view; applications (and officers) name the recipient of the grants they
-- request.  Each list grows from its current value, whatever other parts of
-- this version added to it; roles already appointed or enrolled get the new
-- functions too, in the order they were appointed or enrolled (as on a
-- fresh install).
DO $lists$
DECLARE
	fs text;
BEGIN
	-- names qualified whatever the search_path
	SELECT pg_catalog.string_agg(pg_catalog.quote_literal(
	           pg_catalog.format('%I.%I(%s)', ns.nspname, p.proname,
	                             pg_catalog.oidvectortypes(p.proargtypes))), ', ' ORDER BY u.n) INTO fs
	  FROM pg_catalog.unnest(childguard._application_functions()
	                         || 'childguard.name_recipient(bigint, text)'::regprocedure)
	       WITH ORDINALITY AS u(f, n)
	  JOIN pg_catalog.pg_proc p ON p.oid = u.f
	  JOIN pg_catalog.pg_namespace ns ON ns.oid = p.pronamespace;
	EXECUTE pg_catalog.format($f$CREATE OR REPLACE FUNCTION childguard._application_functions() RETURNS regprocedure[]
	LANGUAGE sql IMMUTABLE
AS $body$
	SELECT ARRAY[%s]::regprocedure[]
$body$$f$, fs);

	SELECT pg_catalog.string_agg(pg_catalog.quote_literal(
	           pg_catalog.format('%I.%I(%s)', ns.nspname, p.proname,
	                             pg_catalog.oidvectortypes(p.proargtypes))), ', ' ORDER BY u.n) INTO fs
	  FROM pg_catalog.unnest(childguard._officer_functions()
	                         || ARRAY['childguard.record_assessment(text, text, text, text)',
	                                  'childguard.record_processor_deletion(bigint, text)',
	                                  'childguard._open_registry(bigint, bytea)',
	                                  'childguard.name_recipient(bigint, text)']::regprocedure[])
	       WITH ORDINALITY AS u(f, n)
	  JOIN pg_catalog.pg_proc p ON p.oid = u.f
	  JOIN pg_catalog.pg_namespace ns ON ns.oid = p.pronamespace;
	EXECUTE pg_catalog.format($f$CREATE OR REPLACE FUNCTION childguard._officer_functions() RETURNS regprocedure[]
	LANGUAGE sql IMMUTABLE
AS $body$
	SELECT ARRAY[%s]::regprocedure[]
$body$$f$, fs);

	SELECT pg_catalog.string_agg(pg_catalog.quote_literal(
	           pg_catalog.format('%I.%I', ns.nspname, c.relname)), ', ' ORDER BY u.n) INTO fs
	  FROM pg_catalog.unnest(childguard._officer_views()
	                         || 'childguard.processor_deletion_due'::regclass)
	       WITH ORDINALITY AS u(v, n)
	  JOIN pg_catalog.pg_class c ON c.oid = u.v
	  JOIN pg_catalog.pg_namespace ns ON ns.oid = c.relnamespace;
	EXECUTE pg_catalog.format($f$CREATE OR REPLACE FUNCTION childguard._officer_views() RETURNS regclass[]
	LANGUAGE sql IMMUTABLE
AS $body$
	SELECT ARRAY[%s]::regclass[]
$body$$f$, fs);
END
$lists$;

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
