-------------------------------------------------------------------------------
-- Part 75: the compliance report (issue 14, item 6; Provisions Art 22: the
-- operator co-operates with inspections).  One row per duty registered in
-- childguard.compliance_duty (part 05), computed live when it is read:
-- each duty's check function is called in turn, in a subtransaction of its
-- own, so a check that raises reports status 'error' with its SQLSTATE and
-- message instead of aborting the report; a check that returns no row or
-- several, or no verdict, is an 'error' too.
--
-- For officers and the extension's owner (an inspector is given an officer
-- appointment or the owner's membership); the checks run as the
-- extension's owner, since they read registries and catalogs no officer
-- reads directly (data keys, the logs' chains).
-------------------------------------------------------------------------------

CREATE FUNCTION childguard.compliance_check()
	RETURNS TABLE (duty text, article text, what_is_checked text, status text, pass boolean,
	               reason text, objects text[], error_sqlstate text, test text, checked_at timestamptz)
	LANGUAGE plpgsql VOLATILE SECURITY DEFINER
	SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	d record;
	r record;
	n integer;
BEGIN
	PERFORM childguard._require_auditor('read the compliance report');
	FOR d IN SELECT x.* FROM childguard.compliance_duty x
	          ORDER BY CASE WHEN x.article LIKE 'Provisions%' THEN 0
	                        WHEN x.article LIKE 'Measures%' THEN 1 ELSE 2 END,
	                   (pg_catalog.regexp_match(x.article, '\d+'))[1]::integer NULLS LAST,
	                   x.article, x.duty LOOP
		duty := d.duty;
		article := d.article;
		what_is_checked := d.what_is_checked;
		test := d.test;
		error_sqlstate := NULL;
		pass := NULL;
		objects := '{}';
		checked_at := pg_catalog.clock_timestamp();
		BEGIN
			n := 0;
			FOR r IN EXECUTE pg_catalog.format('SELECT c.pass, c.reason, c.objects FROM %s() AS c',
			                                   d.check_function::oid::regproc) LOOP
				n := n + 1;
				pass := r.pass;
				reason := r.reason;
				objects := coalesce(r.objects, '{}');
			END LOOP;
			IF n <> 1 THEN
				status := 'error';
				pass := NULL;
				objects := '{}';
				reason := pg_catalog.format('the check %s returned %s rows instead of one',
				                            d.check_function, n);
			ELSIF pass IS NULL THEN
				status := 'error';
				reason := pg_catalog.format('the check %s returned no verdict: %s',
				                            d.check_function, coalesce(reason, 'no reason given'));
			ELSE
				status := CASE WHEN pass THEN 'pass' ELSE 'fail' END;
			END IF;
		EXCEPTION WHEN OTHERS THEN
			GET STACKED DIAGNOSTICS error_sqlstate = RETURNED_SQLSTATE, reason = MESSAGE_TEXT;
			status := 'error';
			pass := NULL;
			objects := '{}';
		END;
		RETURN NEXT;
	END LOOP;
END
$$;
COMMENT ON FUNCTION childguard.compliance_check() IS
	'Provisions Art 22: run every duty''s check (childguard.compliance_duty) now: pass, fail or error (a check that raised: its SQLSTATE and message), why, and the objects at fault.';
REVOKE ALL ON FUNCTION childguard.compliance_check() FROM PUBLIC;

CREATE VIEW childguard.compliance_report AS
	SELECT c.duty, c.article, c.what_is_checked, c.status, c.reason, c.objects, c.error_sqlstate AS sqlstate,
	       c.test, c.checked_at
	  FROM childguard.compliance_check() c;
COMMENT ON VIEW childguard.compliance_report IS
	'Provisions Art 22: one row per duty the database checks (article, what is checked, pass/fail/error, why, the objects at fault, the test that breaks and repairs it), computed live when read.';
REVOKE ALL ON childguard.compliance_report FROM PUBLIC;
