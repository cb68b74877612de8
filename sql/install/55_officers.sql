-------------------------------------------------------------------------------
-- The protection officer (Art 8, 15) and the roles that may use childguard.
--
-- Registry functions are SECURITY DEFINER, so they act with the extension
-- owner's rights; each checks who called it with childguard._caller(): the
-- session's role (after SET ROLE), never the owner of some SECURITY DEFINER
-- function or view in between.
-------------------------------------------------------------------------------

CREATE FUNCTION childguard._caller() RETURNS name
	LANGUAGE C STABLE STRICT PARALLEL SAFE AS 'MODULE_PATHNAME', 'cg_caller';
COMMENT ON FUNCTION childguard._caller() IS
	'The role the session acts as (SET ROLE), outside any SECURITY DEFINER function: who is asking.';

CREATE TABLE childguard.officer (
	role_name		name PRIMARY KEY,
	appointed_at	timestamptz NOT NULL DEFAULT pg_catalog.now(),
	appointed_by	name NOT NULL
);
COMMENT ON TABLE childguard.officer IS
	'Roles appointed as personal-information protection officer (儿童个人信息保护负责人, Art 8); they publish notices, define purposes and approve staff access.';
SELECT pg_catalog.pg_extension_config_dump('childguard.officer', '');
CREATE TRIGGER officer_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE
	ON childguard.officer FOR EACH STATEMENT EXECUTE FUNCTION childguard._catalog_changed();

-- Is the caller the extension's owner (or a member of it)?
CREATE FUNCTION childguard._caller_is_owner() RETURNS boolean
	LANGUAGE sql STABLE
	SET search_path = pg_catalog, pg_temp
AS $$
	SELECT pg_catalog.pg_has_role(childguard._caller(), n.nspowner, 'MEMBER')
	  FROM pg_catalog.pg_namespace n WHERE n.nspname = 'childguard'
$$;

-- Is the caller an appointed officer (or a member of an officer role)?
CREATE FUNCTION childguard._caller_is_officer() RETURNS boolean
	LANGUAGE sql STABLE
	SET search_path = pg_catalog, pg_temp
AS $$
	SELECT EXISTS (SELECT 1 FROM childguard.officer o
	                 JOIN pg_catalog.pg_roles r ON r.rolname = o.role_name
	                WHERE pg_catalog.pg_has_role(childguard._caller(), r.oid, 'MEMBER'))
$$;

CREATE FUNCTION childguard._require_officer(action text) RETURNS void
	LANGUAGE plpgsql STABLE
	SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	IF NOT childguard._caller_is_officer() THEN
		RAISE EXCEPTION 'permission denied to %', action
			USING ERRCODE = '42501',
			      DETAIL = pg_catalog.format('Role "%s" is not a protection officer.', childguard._caller()),
			      HINT = 'Only a role appointed with childguard.appoint_officer() can do this.';
	END IF;
END
$$;

CREATE FUNCTION childguard._require_owner(action text) RETURNS void
	LANGUAGE plpgsql STABLE
	SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	IF NOT childguard._caller_is_owner() THEN
		RAISE EXCEPTION 'permission denied to %', action
			USING ERRCODE = '42501',
			      HINT = 'Only the owner of the childguard extension can do this.';
	END IF;
END
$$;

CREATE FUNCTION childguard.appoint_officer(officer regrole) RETURNS void
	LANGUAGE plpgsql SECURITY DEFINER
	SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	PERFORM childguard._require_owner('appoint a protection officer');
	IF officer IS NULL THEN
		RAISE EXCEPTION 'officer role must not be null' USING ERRCODE = '22004';
	END IF;
	INSERT INTO childguard.officer (role_name, appointed_by)
	VALUES (officer::text::name, childguard._caller())
	ON CONFLICT (role_name) DO NOTHING;
	EXECUTE pg_catalog.format('GRANT USAGE ON SCHEMA childguard TO %s', officer);
	EXECUTE pg_catalog.format('GRANT EXECUTE ON FUNCTION %s TO %s',
	        pg_catalog.string_agg(f::text, ', '), officer)
	  FROM pg_catalog.unnest(childguard._officer_functions()) f;
	EXECUTE pg_catalog.format('GRANT SELECT ON %s TO %s',
	        pg_catalog.string_agg(v::text, ', '), officer)
	  FROM pg_catalog.unnest(childguard._officer_views()) v;
END
$$;
COMMENT ON FUNCTION childguard.appoint_officer(regrole) IS
	'Art 8: appoint a role as protection officer (extension owner only); grants it the officer functions and views.';

CREATE FUNCTION childguard.dismiss_officer(officer regrole) RETURNS void
	LANGUAGE plpgsql SECURITY DEFINER
	SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	PERFORM childguard._require_owner('dismiss a protection officer');
	DELETE FROM childguard.officer o WHERE o.role_name = officer::text::name;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'role "%" is not a protection officer', officer
			USING ERRCODE = '22023';
	END IF;
END
$$;
COMMENT ON FUNCTION childguard.dismiss_officer(regrole) IS
	'Remove a role from the protection officers (extension owner only).';

CREATE FUNCTION childguard.enroll_application(app regrole) RETURNS void
	LANGUAGE plpgsql SECURITY DEFINER
	SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	IF NOT (childguard._caller_is_owner() OR childguard._caller_is_officer()) THEN
		RAISE EXCEPTION 'permission denied to enroll an application role'
			USING ERRCODE = '42501',
			      HINT = 'Only the extension owner or a protection officer can do this.';
	END IF;
	EXECUTE pg_catalog.format('GRANT USAGE ON SCHEMA childguard TO %s', app);
	EXECUTE pg_catalog.format('GRANT EXECUTE ON FUNCTION %s TO %s',
	        pg_catalog.string_agg(f::text, ', '), app)
	  FROM pg_catalog.unnest(childguard._application_functions()) f;
END
$$;
COMMENT ON FUNCTION childguard.enroll_application(regrole) IS
	'Let a role (an application or staff member) register children and guardians, record consents and request access. Reading child data still needs an approved grant.';
