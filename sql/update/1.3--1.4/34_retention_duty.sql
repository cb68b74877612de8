-- ---------------------------------------------------------------------------
-- The duty the retention worker enforces, for the compliance report:
-- Provisions Art 12 -- nothing is stored past its retention (or once it has
-- otherwise lost its lawful basis, Art 16, 20).  Checked live: no table
-- holding child data is outside the sweep (unprotected: by unprotect(), or
-- its row security switched off by its owner); nothing in retention_due has
-- been due for longer than the worker needs to reach it (two intervals, at
-- least a minute); with the worker off (childguard.retention_interval = 0),
-- nothing may be due at all.
-- ---------------------------------------------------------------------------

CREATE FUNCTION childguard.duty_retention_enforced()
	RETURNS TABLE (pass boolean, reason text, objects text[])
	LANGUAGE plpgsql STABLE SECURITY DEFINER
	SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	interval_s integer := pg_catalog.current_setting('childguard.retention_interval')::integer;
	grace interval;
	overdue text[];
	n bigint;
	t record;
	held boolean;
	outside text[] := '{}';
BEGIN
	grace := CASE WHEN interval_s = 0 THEN interval '0'
	              ELSE GREATEST(pg_catalog.make_interval(secs => 2 * interval_s), interval '1 minute') END;
	-- a table holding child data outside the sweep: not (or no longer) protected
	FOR t IN SELECT DISTINCT pc.table_name, pg_catalog.array_agg(pc.column_name) AS cols
	           FROM childguard.protected_columns pc
	          WHERE NOT pc.is_protected
	          GROUP BY pc.table_name
	          ORDER BY 1 LOOP
		EXECUTE pg_catalog.format('SELECT EXISTS (SELECT 1 FROM %s x WHERE %s)', t.table_name,
		        (SELECT pg_catalog.string_agg(pg_catalog.format('x.%I IS NOT NULL', c), ' OR ')
		           FROM pg_catalog.unnest(t.cols) c))
		   INTO held;
		IF held THEN
			outside := outside || t.table_name::text;
		END IF;
	END LOOP;
	IF pg_catalog.cardinality(outside) > 0 THEN
		RETURN QUERY SELECT false,
			pg_catalog.format('%s table(s) hold child data but are not protected, so the retention sweep cannot reach them: %s.',
			                  pg_catalog.cardinality(outside), pg_catalog.array_to_string(outside, ', ')),
			outside;
		RETURN;
	END IF;
	SELECT pg_catalog.count(*),
	       (pg_catalog.array_agg(pg_catalog.format('%s in %s (%s since %s)', d.child_id, d.table_name,
	                                               d.reason, d.due_at) ORDER BY d.due_at, d.child_id))[1:20]
	  INTO n, overdue
	  FROM childguard._retention_due_rows() d
	 WHERE d.due_at <= pg_catalog.now() - grace;
	IF n = 0 THEN
		RETURN QUERY SELECT true,
			CASE WHEN interval_s = 0
			     THEN 'Nothing stored has lost its lawful basis (the retention worker is off: childguard.retention_interval = 0; run childguard.run_retention() or turn it on).'
			     ELSE pg_catalog.format('Nothing stored has been past its retention, or without lawful basis, for longer than %s (the retention worker sweeps every %s seconds).', grace, interval_s) END,
			'{}'::text[];
	ELSE
		RETURN QUERY SELECT false,
			pg_catalog.format('%s child-table pair(s) hold data past its retention or lawful basis%s.', n,
			                  CASE WHEN interval_s = 0 THEN ' and the retention worker is off (childguard.retention_interval = 0)'
			                       ELSE pg_catalog.format(' for longer than %s', grace) END),
			overdue;
	END IF;
END
$$;
REVOKE ALL ON FUNCTION childguard.duty_retention_enforced() FROM PUBLIC;
COMMENT ON FUNCTION childguard.duty_retention_enforced() IS
	'Compliance duty (Provisions Art 12): no table holding child data is outside the retention sweep (unprotected), and nothing in childguard.retention_due has been due for longer than the retention worker needs (two intervals, at least a minute; with the worker off, nothing may be due). One row: pass, why, and the tables or overdue child-table pairs at fault (at most 20).';

INSERT INTO childguard.compliance_duty VALUES
	('retention_enforced', 'Provisions Art 12 (also Art 16, 20)',
	 'No child data is stored past its purpose''s retention (counted from the first collection) or after its lawful basis ended (consent withdrawn or refused, account closed, child erased, processor agreement ended): every table holding child data is within the sweep (protected), and nothing in retention_due is overdue for the retention worker.',
	 'childguard.duty_retention_enforced()'::regprocedure, 'sql/retention.sql');
