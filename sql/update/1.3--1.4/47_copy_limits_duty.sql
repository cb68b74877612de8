-- ---------------------------------------------------------------------------
-- The compliance duty the grant windows enforce (Art 15: technical measures
-- against copying): every access grant in force has a daily limit on the
-- distinct children it reads (set_grant_limits()).  Checked live.
-- ---------------------------------------------------------------------------

CREATE FUNCTION childguard.duty_copy_limits()
	RETURNS TABLE (pass boolean, reason text, objects text[])
	LANGUAGE sql STABLE SECURITY DEFINER
	SET search_path = pg_catalog, pg_temp
AS $$
	WITH unlimited AS (
		SELECT g.grant_id, g.grantee
		  FROM childguard.access_grant g
		 WHERE g.approved_at IS NOT NULL AND g.revoked_at IS NULL
		   AND g.valid_from <= pg_catalog.now() AND g.valid_until > pg_catalog.now()
		   AND g.max_children_per_day IS NULL)
	SELECT pg_catalog.count(*) = 0,
	       CASE WHEN pg_catalog.count(*) = 0
	            THEN 'Every access grant in force has a daily limit on the distinct children it reads (Art 15: technical measures against copying).'
	            ELSE pg_catalog.format('%s access grant(s) in force have no daily limit on the distinct children they read, so bulk copying under them is not limited; an officer sets one with childguard.set_grant_limits().',
	                                   pg_catalog.count(*)) END,
	       coalesce(pg_catalog.array_agg(pg_catalog.format('access grant %s (%s)', u.grant_id, u.grantee)
	                                     ORDER BY u.grant_id), '{}')
	  FROM unlimited u
$$;
REVOKE ALL ON FUNCTION childguard.duty_copy_limits() FROM PUBLIC;
COMMENT ON FUNCTION childguard.duty_copy_limits() IS
	'Compliance duty copy_limits (Art 15): passes when every access grant in force has a daily limit on distinct children (set_grant_limits()); otherwise names the grants without one.';

INSERT INTO childguard.compliance_duty VALUES
	('copy_limits', 'Provisions Art 15',
	 'every access grant in force limits the distinct children it reads per day (childguard.set_grant_limits), counted across statements, cursors and sessions',
	 'childguard.duty_copy_limits()'::regprocedure, 'sql/pool.sql');
