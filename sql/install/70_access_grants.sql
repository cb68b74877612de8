-------------------------------------------------------------------------------
-- Staff access (Art 15-17): least privilege through time-bounded grants,
-- approved by a protection officer who is neither the requester nor the
-- grantee.  A processor (受委托方, Art 16) is a grant with an agreement; it
-- holds for exactly its role (not for members of it) and that role cannot
-- request access for anyone else, so it cannot be delegated further.
-------------------------------------------------------------------------------

CREATE TABLE childguard.access_grant (
	grant_id		bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	grantee			name NOT NULL,
	purposes		text[] NOT NULL,
	categories		text[],			-- NULL: every category of the purposes
	max_children	integer CHECK (max_children > 0),	-- per statement; NULL: childguard.max_children_per_statement
	valid_from		timestamptz NOT NULL DEFAULT pg_catalog.now(),
	valid_until		timestamptz NOT NULL,
	processor		boolean NOT NULL DEFAULT false,
	agreement		text,
	reason			text NOT NULL DEFAULT '',
	requested_by	name NOT NULL,
	requested_at	timestamptz NOT NULL DEFAULT pg_catalog.now(),
	approved_by		name,
	approved_at		timestamptz,
	revoked_by		name,
	revoked_at		timestamptz,
	CONSTRAINT access_grant_period_check CHECK (valid_until > valid_from),
	CONSTRAINT access_grant_processor_check CHECK (NOT processor OR coalesce(agreement, '') <> ''),
	CONSTRAINT access_grant_two_person_check CHECK (approved_by IS DISTINCT FROM requested_by),
	CONSTRAINT access_grant_approval_check CHECK ((approved_by IS NULL) = (approved_at IS NULL))
);
COMMENT ON TABLE childguard.access_grant IS
	'Art 15-17: who may read child data, for which purposes and categories, until when, how many children per statement; requested, approved by an officer, revoked.';

SELECT pg_catalog.pg_extension_config_dump('childguard.access_grant', '');
SELECT pg_catalog.pg_extension_config_dump('childguard.access_grant_grant_id_seq', '');
CREATE TRIGGER access_grant_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE
	ON childguard.access_grant FOR EACH STATEMENT EXECUTE FUNCTION childguard._catalog_changed();

CREATE FUNCTION childguard.request_access(grantee regrole, purposes text[], valid_until timestamptz,
										  categories text[] DEFAULT NULL,
										  max_children integer DEFAULT NULL,
										  reason text DEFAULT '',
										  processor boolean DEFAULT false,
										  agreement text DEFAULT NULL)
	RETURNS bigint
	LANGUAGE plpgsql SECURITY DEFINER
	SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	caller name := childguard._caller();
	allowed text[];
	p text;
	id bigint;
BEGIN
	IF grantee IS NULL OR valid_until IS NULL THEN
		RAISE EXCEPTION 'grantee and valid_until are required' USING ERRCODE = '22004';
	END IF;
	IF valid_until <= pg_catalog.now() THEN
		RAISE EXCEPTION 'access must end in the future' USING ERRCODE = '22023';
	END IF;
	IF NOT pg_catalog.pg_has_role(caller, grantee, 'MEMBER')
	   AND NOT childguard._caller_is_officer() THEN
		RAISE EXCEPTION 'permission denied to request access for role "%"', grantee
			USING ERRCODE = '42501',
			      HINT = 'Request access for your own role, or ask a protection officer.';
	END IF;
	-- a processor works for us and cannot hand the work on (Art 16)
	IF EXISTS (SELECT 1 FROM childguard.access_grant g
	            WHERE g.processor AND g.grantee = caller AND g.revoked_at IS NULL)
	   AND grantee::text::name <> caller THEN
		RAISE EXCEPTION 'a processor cannot delegate access to another role'
			USING ERRCODE = '42501',
			      DETAIL = 'Art 16: entrusted processing may not exceed the entrusted scope.';
	END IF;
	IF purposes IS NULL OR pg_catalog.cardinality(purposes) = 0 THEN
		RAISE EXCEPTION 'at least one purpose is required' USING ERRCODE = '22023';
	END IF;
	FOREACH p IN ARRAY purposes LOOP
		PERFORM childguard._purpose_of(p);
	END LOOP;
	IF categories IS NOT NULL THEN
		categories := childguard._categories(categories);
		SELECT ARRAY(SELECT DISTINCT c FROM childguard.purpose x, pg_catalog.unnest(x.categories) c
		              WHERE x.purpose = ANY (purposes)) INTO allowed;
		IF NOT categories <@ allowed THEN
			RAISE EXCEPTION 'categories outside the purposes requested'
				USING ERRCODE = 'ZC104',
				      DETAIL = pg_catalog.format('The purposes need only: %s.', pg_catalog.array_to_string(allowed, ', ')),
				      HINT = 'Art 15: staff get the least access their work needs.';
		END IF;
	END IF;
	IF max_children IS NOT NULL AND max_children <= 0 THEN
		RAISE EXCEPTION 'max_children must be positive' USING ERRCODE = '22023';
	END IF;
	IF processor AND coalesce(agreement, '') = '' THEN
		RAISE EXCEPTION 'a processor grant needs its agreement' USING ERRCODE = '22023',
			DETAIL = 'Art 16: entrusted processing needs an agreement stating duties, matters, period, nature and purpose.';
	END IF;
	INSERT INTO childguard.access_grant (grantee, purposes, categories, max_children, valid_until,
	                                     processor, agreement, reason, requested_by)
	VALUES (grantee::text::name,
	        ARRAY(SELECT DISTINCT x FROM pg_catalog.unnest(purposes) x ORDER BY 1),
	        categories, max_children, valid_until, coalesce(processor, false), agreement,
	        coalesce(reason, ''), caller)
	RETURNING grant_id INTO id;
	RETURN id;
END
$$;
COMMENT ON FUNCTION childguard.request_access(regrole, text[], timestamptz, text[], integer, text, boolean, text) IS
	'Art 15: ask for a role to read child data for purposes (and optionally only some categories) until valid_until; max_children raises the per-statement limit on distinct children. A processor grant (Art 16) needs its agreement. Returns the grant id, to be approved by an officer.';

-- The grant, locked against a concurrent approval or revocation, or an error.
CREATE FUNCTION childguard._grant_for_update(grant_id bigint) RETURNS childguard.access_grant
	LANGUAGE plpgsql
	SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	g childguard.access_grant;
BEGIN
	SELECT * INTO g FROM childguard.access_grant x WHERE x.grant_id = _grant_for_update.grant_id FOR UPDATE;
	IF g.grant_id IS NULL THEN
		RAISE EXCEPTION 'access grant % does not exist', grant_id USING ERRCODE = '22023';
	END IF;
	RETURN g;
END
$$;
REVOKE ALL ON FUNCTION childguard._grant_for_update(bigint) FROM PUBLIC;

CREATE FUNCTION childguard.approve_access(grant_id bigint) RETURNS void
	LANGUAGE plpgsql SECURITY DEFINER
	SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	caller name := childguard._caller();
	g childguard.access_grant;
	p text;
BEGIN
	PERFORM childguard._require_officer('approve access');
	g := childguard._grant_for_update(approve_access.grant_id);
	IF g.requested_by = caller OR pg_catalog.pg_has_role(caller, g.grantee, 'MEMBER') THEN
		RAISE EXCEPTION 'access grant % cannot be approved by its requester or grantee', grant_id
			USING ERRCODE = 'ZC112',
			      DETAIL = pg_catalog.format('Role "%s" requested it for role "%s".', g.requested_by, g.grantee),
			      HINT = 'Another protection officer must approve it (Art 15: two people).';
	END IF;
	IF g.approved_at IS NOT NULL OR g.revoked_at IS NOT NULL THEN
		RAISE EXCEPTION 'access grant % is already %', grant_id,
			CASE WHEN g.revoked_at IS NOT NULL THEN 'revoked' ELSE 'approved' END
			USING ERRCODE = '22023';
	END IF;
	IF g.valid_until <= pg_catalog.now() THEN
		RAISE EXCEPTION 'access grant % has expired', grant_id USING ERRCODE = '22023';
	END IF;
	IF g.processor THEN
		FOREACH p IN ARRAY g.purposes LOOP
			IF NOT EXISTS (SELECT 1 FROM childguard.security_assessment a
			                JOIN childguard.purpose x USING (purpose_id)
			               WHERE x.purpose = p) THEN
				RAISE EXCEPTION 'processing for purpose "%" has no security assessment', p
					USING ERRCODE = 'ZC111',
					      DETAIL = 'Art 16: entrusting a third party needs a security assessment first.',
					      HINT = 'Record it with childguard.record_assessment().';
			END IF;
		END LOOP;
	END IF;
	UPDATE childguard.access_grant x
	   SET approved_by = caller, approved_at = pg_catalog.now()
	 WHERE x.grant_id = approve_access.grant_id;
END
$$;
COMMENT ON FUNCTION childguard.approve_access(bigint) IS
	'Art 15: approve a requested grant (officer; never the requester or the grantee).';

CREATE FUNCTION childguard.revoke_access(grant_id bigint) RETURNS void
	LANGUAGE plpgsql SECURITY DEFINER
	SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	caller name := childguard._caller();
	g childguard.access_grant;
BEGIN
	g := childguard._grant_for_update(revoke_access.grant_id);
	IF NOT childguard._caller_is_officer() AND g.grantee <> caller THEN
		RAISE EXCEPTION 'permission denied to revoke access grant %', grant_id
			USING ERRCODE = '42501',
			      HINT = 'A protection officer, or the grantee giving it up, can revoke a grant.';
	END IF;
	IF g.revoked_at IS NOT NULL THEN
		RAISE EXCEPTION 'access grant % is already revoked', grant_id USING ERRCODE = 'ZC113';
	END IF;
	UPDATE childguard.access_grant x
	   SET revoked_by = caller, revoked_at = pg_catalog.now()
	 WHERE x.grant_id = revoke_access.grant_id;
END
$$;
COMMENT ON FUNCTION childguard.revoke_access(bigint) IS
	'End a grant now (officer, or the grantee); reads under it stop at the next statement.';
