-- ---------------------------------------------------------------------------
-- Bulk-copy limits that mean something (issue 13, item 2): distinct
-- children per grant per hour and per day, set on the grant by an officer,
-- counted in shared memory across statements, cursors and sessions
-- (src/consent/grant_windows.c).  NULL: no limit.  The per-statement
-- max_children stays, as a limit a grant may set; its server-wide default
-- (childguard.max_children_per_statement) is now 0, no limit.
-- ---------------------------------------------------------------------------

ALTER TABLE childguard.access_grant
	ADD COLUMN max_children_per_hour integer
		CONSTRAINT access_grant_per_hour_check CHECK (max_children_per_hour > 0),
	ADD COLUMN max_children_per_day integer
		CONSTRAINT access_grant_per_day_check CHECK (max_children_per_day > 0);
COMMENT ON COLUMN childguard.access_grant.max_children_per_hour IS
	'Art 15: distinct children the grant may read in one hour (UTC), across all its statements and sessions; NULL: no limit. Set by an officer with set_grant_limits().';
COMMENT ON COLUMN childguard.access_grant.max_children_per_day IS
	'Art 15: distinct children the grant may read in one day (UTC), across all its statements and sessions; NULL: no limit. Set by an officer with set_grant_limits().';
COMMENT ON COLUMN childguard.access_grant.max_children IS
	'Distinct children one statement may read under the grant; NULL: childguard.max_children_per_statement (default 0, no limit). The hourly and daily limits are the guard against copying.';

CREATE FUNCTION childguard.set_grant_limits(grant_id bigint, per_hour integer, per_day integer)
	RETURNS void
	LANGUAGE plpgsql SECURITY DEFINER
	SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	caller_oid oid := childguard._caller_oid();
	g childguard.access_grant;
BEGIN
	PERFORM childguard._require_officer('set the limits of an access grant');
	IF per_hour IS NOT NULL AND per_hour <= 0 OR per_day IS NOT NULL AND per_day <= 0 THEN
		RAISE EXCEPTION 'invalid limit for access grant %', grant_id
			USING ERRCODE = 'ZC425',
			      DETAIL = pg_catalog.format('per_hour is %s and per_day is %s; a limit is a positive number of children.',
			                                 coalesce(per_hour::text, 'NULL'), coalesce(per_day::text, 'NULL')),
			      HINT = 'Give NULL for no limit.';
	END IF;
	IF per_hour IS NOT NULL AND per_day IS NOT NULL AND per_day < per_hour THEN
		RAISE EXCEPTION 'invalid limit for access grant %', grant_id
			USING ERRCODE = 'ZC425',
			      DETAIL = pg_catalog.format('The daily limit (%s) is below the hourly limit (%s).', per_day, per_hour),
			      HINT = 'Give a daily limit at least as high as the hourly one.';
	END IF;
	g := childguard._grant_for_update(set_grant_limits.grant_id);
	IF g.grantee_role IS NOT NULL
	   AND (pg_catalog.pg_has_role(caller_oid, g.grantee_role::oid, 'MEMBER')
	        OR (NOT coalesce((SELECT x.rolsuper FROM pg_catalog.pg_roles x
	                          WHERE x.oid = childguard._session_oid()), true)
	            AND pg_catalog.pg_has_role(childguard._session_oid(), g.grantee_role::oid, 'MEMBER'))) THEN
		RAISE EXCEPTION 'the limits of access grant % cannot be set by its grantee', grant_id
			USING ERRCODE = 'ZC112',
			      DETAIL = pg_catalog.format('Role "%s" holds the grant, or is a member of its grantee "%s".',
			                                 childguard._caller(), g.grantee),
			      HINT = 'Another protection officer must set them (Art 15: two people).';
	END IF;
	IF g.revoked_at IS NOT NULL THEN
		RAISE EXCEPTION 'access grant % is already revoked', grant_id USING ERRCODE = 'ZC113';
	END IF;
	UPDATE childguard.access_grant x
	   SET max_children_per_hour = per_hour, max_children_per_day = per_day
	 WHERE x.grant_id = set_grant_limits.grant_id;
END
$$;
REVOKE ALL ON FUNCTION childguard.set_grant_limits(bigint, integer, integer) FROM PUBLIC;
COMMENT ON FUNCTION childguard.set_grant_limits(bigint, integer, integer) IS
	'Art 15: set how many distinct children an access grant may read per hour and per day (UTC), counted across statements, cursors and sessions; NULL: no limit (officer; never the grantee or a member of it).';

-- the officers' function list grows by this function, whatever other parts
-- of this version add to it (the list is rebuilt from its current value)
DO $officer$
DECLARE
	fs text;
	x record;
BEGIN
	-- names qualified whatever the search_path (the script runs with the
	-- extension's schema first)
	SELECT pg_catalog.string_agg(pg_catalog.quote_literal(
	           pg_catalog.format('%I.%I(%s)', ns.nspname, p.proname,
	                             pg_catalog.oidvectortypes(p.proargtypes))), ', ' ORDER BY u.n) INTO fs
	  FROM pg_catalog.unnest(childguard._officer_functions()
	                         || 'childguard.set_grant_limits(bigint, integer, integer)'::regprocedure)
	       WITH ORDINALITY AS u(f, n)
	  JOIN pg_catalog.pg_proc p ON p.oid = u.f
	  JOIN pg_catalog.pg_namespace ns ON ns.oid = p.pronamespace;
	EXECUTE pg_catalog.format($f$CREATE OR REPLACE FUNCTION childguard._officer_functions() RETURNS regprocedure[]
	LANGUAGE sql IMMUTABLE
AS $body$
	SELECT ARRAY[%s]::regprocedure[]
$body$$f$, fs);
	FOR x IN SELECT o.role::oid AS r FROM childguard.officer o
	          WHERE o.role IS NOT NULL ORDER BY o.appointed_at, o.ctid LOOP
		EXECUTE pg_catalog.format('GRANT EXECUTE ON FUNCTION childguard.set_grant_limits(bigint, integer, integer) TO %s',
		                          x.r::regrole);
	END LOOP;
END
$officer$;

CREATE OR REPLACE VIEW childguard.access_grants AS
	SELECT g.grant_id, g.grantee, g.purposes, g.categories, g.max_children, g.valid_from,
	       g.valid_until, g.processor, g.agreement, g.reason, g.requested_by, g.requested_at,
	       g.approved_by, g.approved_at, g.revoked_by, g.revoked_at,
	       CASE WHEN g.revoked_at IS NOT NULL THEN 'revoked'
	            WHEN g.grantee_role IS NULL OR NOT childguard._role_alive(g.grantee_role) THEN 'grantee gone'
	            WHEN g.approved_at IS NULL THEN 'requested'
	            WHEN g.valid_until <= pg_catalog.now() THEN 'expired'
	            WHEN g.valid_from > pg_catalog.now() THEN 'approved, not yet valid'
	            ELSE 'in force' END AS status,
	       g.grantee_role, g.requester_role, g.requester_session, g.approver_role,
	       g.approver_session, g.revoker_role,
	       g.max_children_per_hour, g.max_children_per_day
	  FROM childguard.access_grant g;
