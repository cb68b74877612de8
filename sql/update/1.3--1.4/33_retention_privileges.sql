-- ---------------------------------------------------------------------------
-- Who may use the retention functions and views: close_account() for
-- enrolled applications (and officers, who have every application
-- function); run_retention() and the retention views (with the functions
-- they call, which read as the extension's owner) for officers.
--
-- The lists are extended, not rewritten: each list function is recreated
-- with what it held before this part plus ours, so parts of other
-- capabilities that extend the same lists compose in any order.
-- ---------------------------------------------------------------------------

DO $lists$
DECLARE
	app text;
	off text;
	views text;
BEGIN
	SELECT pg_catalog.string_agg(pg_catalog.quote_literal(pg_catalog.format('%I.%I(%s)', n.nspname, p.proname,
	                             pg_catalog.oidvectortypes(p.proargtypes))), ', ' ORDER BY x.ord)
	  INTO app
	  FROM pg_catalog.unnest(childguard._application_functions()
	                         || 'childguard.close_account(text, text)'::pg_catalog.regprocedure)
	       WITH ORDINALITY x(f, ord)
	  JOIN pg_catalog.pg_proc p ON p.oid = x.f
	  JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace;
	EXECUTE pg_catalog.format($f$CREATE OR REPLACE FUNCTION childguard._application_functions()
		RETURNS regprocedure[] LANGUAGE sql IMMUTABLE
		AS 'SELECT ARRAY[%s]::pg_catalog.regprocedure[]'$f$, pg_catalog.replace(app, '''', ''''''));

	-- the officer list ends with "|| _application_functions()": keep that,
	-- add run_retention() to its own part
	SELECT pg_catalog.string_agg(pg_catalog.quote_literal(pg_catalog.format('%I.%I(%s)', n.nspname, p.proname,
	                             pg_catalog.oidvectortypes(p.proargtypes))), ', ' ORDER BY x.ord)
	  INTO off
	  FROM pg_catalog.unnest(ARRAY(SELECT f FROM pg_catalog.unnest(childguard._officer_functions()) f
	                                WHERE f <> ALL (childguard._application_functions()))
	                         || ARRAY['childguard.run_retention()',
	                                  -- what the officers' retention views call
	                                  'childguard._retention_due_rows(regclass, text[])',
	                                  'childguard._retention_clocks(bigint[])',
	                                  'childguard._retention_progress()']::pg_catalog.regprocedure[])
	       WITH ORDINALITY x(f, ord)
	  JOIN pg_catalog.pg_proc p ON p.oid = x.f
	  JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace;
	EXECUTE pg_catalog.format($f$CREATE OR REPLACE FUNCTION childguard._officer_functions()
		RETURNS regprocedure[] LANGUAGE sql IMMUTABLE
		AS 'SELECT ARRAY[%s]::pg_catalog.regprocedure[] || childguard._application_functions()'$f$,
		pg_catalog.replace(off, '''', ''''''));

	SELECT pg_catalog.string_agg(pg_catalog.quote_literal(pg_catalog.format('%I.%I', n.nspname, c.relname)),
	                             ', ' ORDER BY x.ord)
	  INTO views
	  FROM pg_catalog.unnest(childguard._officer_views()
	                         || ARRAY['childguard.retention_due', 'childguard.retention_clocks',
	                                  'childguard.retention_progress', 'childguard.retention_sweeps',
	                                  'childguard.retention_failures']::pg_catalog.regclass[])
	       WITH ORDINALITY x(v, ord)
	  JOIN pg_catalog.pg_class c ON c.oid = x.v
	  JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace;
	EXECUTE pg_catalog.format($f$CREATE OR REPLACE FUNCTION childguard._officer_views()
		RETURNS regclass[] LANGUAGE sql IMMUTABLE
		AS 'SELECT ARRAY[%s]::pg_catalog.regclass[]'$f$, pg_catalog.replace(views, '''', ''''''));
END
$lists$;

-- the roles already appointed or enrolled get them, in the order they were
-- appointed or enrolled (as on a fresh install where the same calls were made)
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
