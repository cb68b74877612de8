-- Part 72 (hygiene): the inspector (SPEC, "Who uses it": the inspector or
-- auditor of Art 22 reads the catalog views and the compliance report and
-- verifies the audit chain).  appoint_inspector(role), by the extension's
-- owner, gives a role read-only access to: compliance_report (and the
-- function under it), compliance_duty, verify_access_log() and
-- register_counts (how many entries each register holds).  Nothing else:
-- no registry row, no access-log row, no child data, no function that
-- changes anything.  An inspector audits the controller, so it is no
-- officer, application, consent recorder or grant holder (nor related to
-- one by membership): ZC561.

CREATE TABLE childguard.inspector (
	role			regrole PRIMARY KEY,
	role_name		name NOT NULL,	-- at appointment
	appointed_at	timestamptz NOT NULL DEFAULT pg_catalog.now(),
	appointed_by	name NOT NULL
);
COMMENT ON TABLE childguard.inspector IS
	'Roles appointed as inspectors (Art 22): they read the compliance report, the duties, the registers'' counts and verify the access log; they read no child data and change nothing.';
REVOKE ALL ON childguard.inspector FROM PUBLIC;
SELECT pg_catalog.pg_extension_config_dump('childguard.inspector', '');

CREATE FUNCTION childguard._caller_is_inspector() RETURNS boolean
	LANGUAGE sql STABLE
	SET search_path = pg_catalog, pg_temp
AS $$
	SELECT EXISTS (SELECT 1 FROM childguard.inspector i
	                WHERE childguard._role_alive(i.role)
	                  AND pg_catalog.pg_has_role(childguard._caller_oid(), i.role::oid, 'MEMBER'))
$$;
REVOKE ALL ON FUNCTION childguard._caller_is_inspector() FROM PUBLIC;
COMMENT ON FUNCTION childguard._caller_is_inspector() IS
	'Whether the calling role is (a member of) an appointed inspector whose role still stands.';

-- The auditors' functions (compliance_check(), child_report(), ...) admit
-- inspectors too; which of them an inspector may call at all is decided by
-- EXECUTE, granted for _inspector_functions() only.
CREATE OR REPLACE FUNCTION childguard._require_auditor(action text) RETURNS void
	LANGUAGE plpgsql STABLE
	SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	IF NOT (childguard._caller_is_officer() OR childguard._caller_is_owner()
	        OR childguard._caller_is_inspector()) THEN
		RAISE EXCEPTION 'permission denied to %', action
			USING ERRCODE = '42501',
			      DETAIL = pg_catalog.format('Role "%s" is not a protection officer.', childguard._caller()),
			      HINT = 'Only a protection officer, an inspector or the extension owner reads the access log.';
	END IF;
END
$$;
COMMENT ON FUNCTION childguard._require_auditor(text) IS
	'Internal: raises 42501 unless the calling role is a protection officer, an inspector or the extension owner (audit reports; EXECUTE on each report decides who may call it).';

-- what each register holds, counted (no row, no name, no child)
CREATE VIEW childguard.register_counts AS
	SELECT 'children'::text AS register, pg_catalog.count(*) AS entries FROM childguard.child
	UNION ALL SELECT 'children erased', pg_catalog.count(*) FROM childguard.child WHERE erased_at IS NOT NULL
	UNION ALL SELECT 'guardians', pg_catalog.count(*) FROM childguard.guardian
	UNION ALL SELECT 'notices', pg_catalog.count(*) FROM childguard.notice
	UNION ALL SELECT 'purposes', pg_catalog.count(*) FROM childguard.purpose
	UNION ALL SELECT 'consents', pg_catalog.count(*) FROM childguard.consent
	UNION ALL SELECT 'access grants', pg_catalog.count(*) FROM childguard.access_grant
	UNION ALL SELECT 'officers', pg_catalog.count(*) FROM childguard.officer
	UNION ALL SELECT 'requests', pg_catalog.count(*) FROM childguard.request
	UNION ALL SELECT 'incidents', pg_catalog.count(*) FROM childguard.incident
	UNION ALL SELECT 'erasures', pg_catalog.count(*) FROM childguard.erasure_log
	UNION ALL SELECT 'access log records', pg_catalog.count(*) FROM childguard.access_log;
REVOKE ALL ON childguard.register_counts FROM PUBLIC;
COMMENT ON VIEW childguard.register_counts IS
	'Art 22: how many entries each register holds (children, erased children, guardians, notices, purposes, consents, grants, officers, requests, incidents, erasures, access-log records); counts only. For inspectors (appoint_inspector) and the extension owner.';

CREATE FUNCTION childguard._inspector_functions() RETURNS regprocedure[]
	LANGUAGE sql IMMUTABLE
AS $$ SELECT '{childguard.compliance_check(),childguard.verify_access_log()}'::regprocedure[] $$;
COMMENT ON FUNCTION childguard._inspector_functions() IS
	'The functions appoint_inspector() grants EXECUTE on: read-only.';
CREATE FUNCTION childguard._inspector_views() RETURNS regclass[]
	LANGUAGE sql IMMUTABLE
AS $$ SELECT '{childguard.compliance_report,childguard.compliance_duty,childguard.register_counts}'::regclass[] $$;
COMMENT ON FUNCTION childguard._inspector_views() IS
	'The views and tables appoint_inspector() grants SELECT on: the compliance report, the duties, the registers'' counts.';
REVOKE ALL ON FUNCTION childguard._inspector_functions() FROM PUBLIC;
REVOKE ALL ON FUNCTION childguard._inspector_views() FROM PUBLIC;

CREATE FUNCTION childguard._grant_inspector_privileges(r oid, revoke boolean) RETURNS void
	LANGUAGE plpgsql
	SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	IF NOT revoke THEN
		EXECUTE pg_catalog.format('GRANT USAGE ON SCHEMA childguard TO %s', r::regrole);
	END IF;
	EXECUTE pg_catalog.format(CASE WHEN revoke THEN 'REVOKE EXECUTE ON FUNCTION %s FROM %s'
	                               ELSE 'GRANT EXECUTE ON FUNCTION %s TO %s' END,
	        (SELECT pg_catalog.string_agg(f::text, ', ')
	           FROM pg_catalog.unnest(childguard._inspector_functions()) f), r::regrole);
	EXECUTE pg_catalog.format(CASE WHEN revoke THEN 'REVOKE SELECT ON %s FROM %s'
	                               ELSE 'GRANT SELECT ON %s TO %s' END,
	        (SELECT pg_catalog.string_agg(v::text, ', ')
	           FROM pg_catalog.unnest(childguard._inspector_views()) v), r::regrole);
END
$$;
REVOKE ALL ON FUNCTION childguard._grant_inspector_privileges(oid, boolean) FROM PUBLIC;
COMMENT ON FUNCTION childguard._grant_inspector_privileges(oid, boolean) IS
	'Internal to appoint_inspector() and dismiss_inspector(): grant (or revoke) the inspector''s read-only privileges.';

CREATE FUNCTION childguard.appoint_inspector(inspector regrole) RETURNS void
	LANGUAGE plpgsql SECURITY DEFINER
	SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	duty text;
BEGIN
	PERFORM childguard._require_owner('appoint an inspector');
	IF inspector IS NULL THEN
		RAISE EXCEPTION 'inspector role must not be null' USING ERRCODE = '22004';
	END IF;
	-- the inspected cannot inspect: no officer, enrolled role or grant holder
	SELECT x.what INTO duty FROM (
	        SELECT 'a protection officer' AS what, o.role::oid AS r FROM childguard.officer o
	        UNION ALL
	        SELECT CASE e.duty WHEN 'application' THEN 'an enrolled application'
	                           ELSE 'a consent recorder' END, e.role::oid FROM childguard.enrollment e
	        UNION ALL
	        SELECT 'the holder of an access grant', g.grantee_role::oid FROM childguard.access_grant g
	         WHERE g.grantee_role IS NOT NULL) x
	 WHERE childguard._roles_related(inspector::oid, x.r)
	 LIMIT 1;
	IF duty IS NOT NULL THEN
		RAISE EXCEPTION 'role "%" cannot be an inspector', childguard._role_name(inspector)
			USING ERRCODE = 'ZC561',
			      DETAIL = pg_catalog.format('It is, or is related by membership to, %s; an inspector audits the controller and holds no duty in it.', duty),
			      HINT = 'Appoint a role of its own, with no other role of the extension.';
	END IF;
	PERFORM childguard._anchor_role(inspector);
	INSERT INTO childguard.inspector (role, role_name, appointed_by)
	VALUES (inspector, childguard._role_name(inspector), childguard._caller())
	ON CONFLICT (role) DO NOTHING;
	IF FOUND THEN
		PERFORM childguard._role_event('inspector appointed', inspector, NULL);
	END IF;
	PERFORM childguard._grant_inspector_privileges(inspector, false);
END
$$;
REVOKE ALL ON FUNCTION childguard.appoint_inspector(regrole) FROM PUBLIC;
COMMENT ON FUNCTION childguard.appoint_inspector(regrole) IS
	'Art 22 (the extension owner): appoint an inspector -- read-only access to compliance_report, compliance_duty, register_counts and verify_access_log(); never child data, never a change. Refused (ZC561) for an officer, an enrolled role or a grant holder, or a role related to one.';

CREATE FUNCTION childguard.dismiss_inspector(inspector regrole) RETURNS void
	LANGUAGE plpgsql SECURITY DEFINER
	SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	PERFORM childguard._require_owner('dismiss an inspector');
	DELETE FROM childguard.inspector i WHERE i.role = inspector;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'role "%" is not an inspector', inspector USING ERRCODE = '22023';
	END IF;
	PERFORM childguard._role_event('inspector dismissed', inspector, NULL);
	PERFORM childguard._grant_inspector_privileges(inspector, true);
END
$$;
REVOKE ALL ON FUNCTION childguard.dismiss_inspector(regrole) FROM PUBLIC;
COMMENT ON FUNCTION childguard.dismiss_inspector(regrole) IS
	'Art 22 (the extension owner): dismiss an inspector; its read-only privileges are revoked.';

CREATE VIEW childguard.inspectors AS
	SELECT coalesce(childguard._role_name(i.role), i.role_name) AS role_name,
	       i.appointed_at, i.appointed_by, i.role, i.role_name AS appointed_as
	  FROM childguard.inspector i;
REVOKE ALL ON childguard.inspectors FROM PUBLIC;
COMMENT ON VIEW childguard.inspectors IS
	'Appointed inspectors (Art 22): the role (by OID) under its current name, and the name it had when appointed.';

-- and the other way round: an inspector (or a role related to one) is not
-- made an officer, enrolled, or given an access grant (ZC561)
CREATE FUNCTION childguard._inspector_separation() RETURNS trigger
	LANGUAGE plpgsql
	SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	r oid;
BEGIN
	IF TG_TABLE_NAME = 'access_grant' THEN
		r := NEW.grantee_role::oid;
	ELSE
		r := NEW.role::oid;
	END IF;
	IF r IS NOT NULL AND EXISTS (SELECT 1 FROM childguard.inspector i
	                              WHERE childguard._roles_related(r, i.role::oid)) THEN
		RAISE EXCEPTION 'role "%" is an inspector', childguard._role_name(r)
			USING ERRCODE = 'ZC561',
			      DETAIL = pg_catalog.format('An inspector (or a role related to one by membership) audits the controller and takes no duty in it (%s).', TG_TABLE_NAME),
			      HINT = 'Dismiss the inspector first with childguard.dismiss_inspector(), or use another role.';
	END IF;
	RETURN NEW;
END
$$;
REVOKE ALL ON FUNCTION childguard._inspector_separation() FROM PUBLIC;
COMMENT ON FUNCTION childguard._inspector_separation() IS
	'Trigger on childguard.officer, enrollment and access_grant: an inspector, or a role related to one, is not appointed, enrolled or granted access (ZC561).';
CREATE TRIGGER officer_not_inspector BEFORE INSERT OR UPDATE OF role ON childguard.officer
	FOR EACH ROW EXECUTE FUNCTION childguard._inspector_separation();
CREATE TRIGGER enrollment_not_inspector BEFORE INSERT OR UPDATE OF role ON childguard.enrollment
	FOR EACH ROW EXECUTE FUNCTION childguard._inspector_separation();
CREATE TRIGGER access_grant_not_inspector BEFORE INSERT OR UPDATE OF grantee_role ON childguard.access_grant
	FOR EACH ROW EXECUTE FUNCTION childguard._inspector_separation();
ALTER TABLE childguard.officer ENABLE ALWAYS TRIGGER officer_not_inspector;
ALTER TABLE childguard.enrollment ENABLE ALWAYS TRIGGER enrollment_not_inspector;
ALTER TABLE childguard.access_grant ENABLE ALWAYS TRIGGER access_grant_not_inspector;
