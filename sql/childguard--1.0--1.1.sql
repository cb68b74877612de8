/* childguard 1.0 -> 1.1 — the upgrade script, one concern per part */
\echo Use "ALTER EXTENSION childguard UPDATE TO '1.1'" to load this file. \quit
-- Part 10: the decision context fixed per statement; padded envelopes
-- (issue 8, items 1, 3 and 8).  Only comments change: the behaviour is in
-- the module (decision.c, function_settings.c, envelope.c).
COMMENT ON FUNCTION childguard.set_purpose(text, boolean) IS
	'Declare the purpose of this session (or, with is_local, of this transaction); the same as SET childguard.purpose. It takes effect from the next statement: a statement decides under the purpose in force when it started. An unknown purpose, or one the role has no grant for, is an error.';
COMMENT ON FUNCTION childguard.envelope_info(childguard.child_data) IS
	'The public header of a value: format, category, subject number, key version, pending flag, and its size bucket (ciphertext_bytes: the padded size, never the exact length); decrypts nothing.';
-------------------------------------------------------------------------------
-- Honest protection status (docs/security.md, section 2)
-------------------------------------------------------------------------------

CREATE FUNCTION childguard.protection_problem(tbl regclass) RETURNS text
	LANGUAGE C STABLE STRICT AS 'MODULE_PATHNAME', 'cg_protection_problem';
COMMENT ON FUNCTION childguard.protection_problem(regclass) IS
	'Why a table holding child data is not protected (no seal trigger, disabled or renamed, row-level security off, row policies not exactly childguard''s, code attached that could read child data), or why a view is refused to queries (its definition runs its owner''s code on child data); NULL when neither.';
GRANT EXECUTE ON FUNCTION childguard.protection_problem(regclass) TO PUBLIC;

-- is_protected now asks the same code that decides whether the table
-- takes child data, instead of looking for a trigger by its function
CREATE OR REPLACE VIEW childguard.protected_columns AS
	SELECT c.oid::regclass AS table_name,
	       a.attname AS column_name,
	       pg_catalog.format_type(a.atttypid, a.atttypmod) AS column_type,
	       pg_catalog.substring(pg_catalog.format_type(a.atttypid, a.atttypmod),
	                            '\((.*)\)$') AS category,
	       t.tgargs IS NOT NULL AND childguard.protection_problem(c.oid) IS NULL AS is_protected,
	       pg_catalog.convert_from(pg_catalog.substr(t.tgargs, 1,
	                   pg_catalog.position(t.tgargs, '\x00'::bytea) - 1), 'UTF8') AS subject_column
	  FROM pg_catalog.pg_attribute a
	  JOIN pg_catalog.pg_class c ON c.oid = a.attrelid
	  LEFT JOIN pg_catalog.pg_trigger t
	    ON t.tgrelid = c.oid AND t.tgfoid = 'childguard.seal_row()'::pg_catalog.regprocedure
	   AND t.tgenabled = 'A' AND t.tgname = 'zz_childguard_seal'
	 WHERE a.atttypid = 'childguard.child_data'::pg_catalog.regtype
	   AND a.attnum > 0 AND NOT a.attisdropped
	   AND c.relkind IN ('r', 'p');
COMMENT ON VIEW childguard.protected_columns IS
	'Every child_data column in the database, its category, and whether its table is protected (childguard.protection_problem() says why not).';
-------------------------------------------------------------------------------
-- Part 40: identities are role OIDs, key material stays out of SQL, and
-- consents come from a role that does not read (issue 8, items 5, 6, 7).
--
-- 1.0 kept officers and grants by role *name*: renaming a role and creating
-- another under the old name handed the new role the old one's standing,
-- and a dismissed officer kept SELECT on the registries.  From 1.1 every
-- registry that names a duty holder stores the role's OID (regrole, which
-- pg_dump writes as the name and restore reads back as the new cluster's
-- OID), and a recorded OID counts only while the role still holds EXECUTE
-- on childguard._role_anchor(), granted when the role is first tied to a
-- duty.  That privilege is a pg_shdepend entry in this database, so DROP
-- ROLE fails in every database until someone revokes it here (DROP OWNED
-- BY); an OID reused later (wrap-around) never inherits.  See
-- src/identity.c and docs/security.md, section 5.
--
-- Existing 1.0 rows are converted by name.  Rows whose role no longer
-- exists are not re-bound: such grants are revoked, such officers removed,
-- each reported with a WARNING and kept in childguard.role_event.
-------------------------------------------------------------------------------

-- ---------------------------------------------------------------------------
-- Roles by OID
-- ---------------------------------------------------------------------------

CREATE FUNCTION childguard._caller_oid() RETURNS oid
	LANGUAGE C STABLE PARALLEL SAFE AS 'MODULE_PATHNAME', 'cg_caller_oid';
COMMENT ON FUNCTION childguard._caller_oid() IS
	'The OID of the role the session acts as (SET ROLE), outside any SECURITY DEFINER function.';

CREATE FUNCTION childguard._session_oid() RETURNS oid
	LANGUAGE C STABLE PARALLEL SAFE AS 'MODULE_PATHNAME', 'cg_session_oid';
COMMENT ON FUNCTION childguard._session_oid() IS 'The OID of the role that logged in.';

CREATE FUNCTION childguard._roles_related(a oid, b oid) RETURNS boolean
	LANGUAGE C STABLE STRICT PARALLEL SAFE AS 'MODULE_PATHNAME', 'cg_roles_related_sql';
COMMENT ON FUNCTION childguard._roles_related(oid, oid) IS
	'Whether two roles count as one person for separation of duties: the same role, or one a member of the other at any depth (INHERIT or not; superuser status does not count).';

CREATE FUNCTION childguard._role_anchor() RETURNS boolean
	LANGUAGE sql IMMUTABLE AS 'SELECT true';
REVOKE ALL ON FUNCTION childguard._role_anchor() FROM PUBLIC;
COMMENT ON FUNCTION childguard._role_anchor() IS
	'Does nothing. EXECUTE on it, granted to each role childguard ties to a duty, is what makes the recorded role OID count: DROP ROLE cannot succeed anywhere while it is held, and removing it (REVOKE, DROP OWNED BY) ends every tie of that OID.';

CREATE FUNCTION childguard._role_alive(r oid) RETURNS boolean
	LANGUAGE C STABLE STRICT PARALLEL SAFE AS 'MODULE_PATHNAME', 'cg_role_alive';
COMMENT ON FUNCTION childguard._role_alive(oid) IS
	'Whether a recorded role OID still stands for the role childguard tied: it exists and holds its anchor.';

CREATE FUNCTION childguard._role_xmin(r oid) RETURNS xid
	LANGUAGE C STABLE STRICT AS 'MODULE_PATHNAME', 'cg_role_xmin';
REVOKE ALL ON FUNCTION childguard._role_xmin(oid) FROM PUBLIC;
COMMENT ON FUNCTION childguard._role_xmin(oid) IS
	'The transaction that last wrote the role''s catalog row (created, renamed or altered it); the 1.1 upgrade binds a 1.0 entry by name only to a role not written after the entry.';

-- The role a 1.0 entry written by transaction entry_xmin meant by name:
-- the role of that name, unless its catalog row was written after the
-- entry (created, renamed or altered since): then it may be another role
-- under the old name, and nothing is bound.
CREATE FUNCTION childguard._upgrade_bind(role_name name, entry_xmin xid) RETURNS oid
	LANGUAGE sql STABLE
	SET search_path = pg_catalog, pg_temp
AS $$
	SELECT r.oid FROM pg_catalog.pg_roles r
	 WHERE r.rolname = role_name
	   AND pg_catalog.age(childguard._role_xmin(r.oid)) >= pg_catalog.age(entry_xmin)
$$;
REVOKE ALL ON FUNCTION childguard._upgrade_bind(name, xid) FROM PUBLIC;

CREATE FUNCTION childguard._anchor_role(r oid) RETURNS void
	LANGUAGE plpgsql
	SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	IF r IS NULL OR NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles x WHERE x.oid = r) THEN
		RAISE EXCEPTION 'role with OID % does not exist', r USING ERRCODE = 'ZC122';
	END IF;
	IF NOT childguard._role_alive(r) THEN
		EXECUTE pg_catalog.format('GRANT EXECUTE ON FUNCTION childguard._role_anchor() TO %s',
		                          r::regrole);
	END IF;
END
$$;
REVOKE ALL ON FUNCTION childguard._anchor_role(oid) FROM PUBLIC;

CREATE FUNCTION childguard._role_name(r oid) RETURNS name
	LANGUAGE sql STABLE
	SET search_path = pg_catalog, pg_temp
AS $$
	SELECT x.rolname FROM pg_catalog.pg_roles x WHERE x.oid = r
$$;

-- Identity events: appointments, dismissals, enrollments, and what the 1.1
-- upgrade could not bind.
CREATE TABLE childguard.role_event (
	event_id		bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	at				timestamptz NOT NULL DEFAULT pg_catalog.now(),
	event			text NOT NULL,
	role			regrole,		-- NULL: the role no longer existed
	role_name		name NOT NULL,	-- its name at the time
	by_role			regrole,
	detail			text NOT NULL DEFAULT ''
);
COMMENT ON TABLE childguard.role_event IS
	'Who was appointed, dismissed or enrolled, when and by whom (by role OID and the name at the time), and which 1.0 entries the upgrade to 1.1 could not bind to an existing role.';
SELECT pg_catalog.pg_extension_config_dump('childguard.role_event', '');
SELECT pg_catalog.pg_extension_config_dump('childguard.role_event_event_id_seq', '');

CREATE FUNCTION childguard._role_event(event text, r oid, r_name name, detail text DEFAULT '')
	RETURNS void
	LANGUAGE sql
	SET search_path = pg_catalog, pg_temp
AS $$
	INSERT INTO childguard.role_event (event, role, role_name, by_role, detail)
	VALUES (event, r, coalesce(r_name, childguard._role_name(r), '?'),
	        childguard._caller_oid(), coalesce(detail, ''))
$$;
REVOKE ALL ON FUNCTION childguard._role_event(text, oid, name, text) FROM PUBLIC;

-- ---------------------------------------------------------------------------
-- Enrollments: which role carries which duty
-- ---------------------------------------------------------------------------

CREATE TABLE childguard.enrollment (
	role			regrole NOT NULL,
	duty			text NOT NULL CHECK (duty IN ('application', 'consent_recorder')),
	role_name		name NOT NULL,	-- at enrollment
	enrolled_at		timestamptz NOT NULL DEFAULT pg_catalog.now(),
	enrolled_by		regrole,
	CONSTRAINT enrollment_pkey PRIMARY KEY (role, duty)
);
COMMENT ON TABLE childguard.enrollment IS
	'Roles enrolled as an application (registers children, requests access) or as a consent recorder (records, refuses and withdraws consents, registers guardians), by OID.';
SELECT pg_catalog.pg_extension_config_dump('childguard.enrollment', '');

-- 1.0 enrolled applications by GRANT only: those holding EXECUTE on
-- register_child() directly (not the owner, not officers) were enrolled.
INSERT INTO childguard.enrollment (role, duty, role_name)
SELECT DISTINCT a.grantee::regrole, 'application', r.rolname
  FROM pg_catalog.pg_proc p
 CROSS JOIN LATERAL pg_catalog.aclexplode(p.proacl) a
  JOIN pg_catalog.pg_roles r ON r.oid = a.grantee
 WHERE p.oid = 'childguard.register_child(text, date, boolean, boolean)'::regprocedure
   AND a.privilege_type = 'EXECUTE' AND a.grantee <> p.proowner
   AND NOT EXISTS (SELECT 1 FROM childguard.officer o WHERE o.role_name = r.rolname);

-- ---------------------------------------------------------------------------
-- Officers by OID
-- ---------------------------------------------------------------------------

ALTER TABLE childguard.officer
	ADD COLUMN role regrole,
	ADD COLUMN appointed_by_role regrole;
COMMENT ON COLUMN childguard.officer.role IS 'the appointed role (by OID)';
COMMENT ON COLUMN childguard.officer.role_name IS 'the role''s name when it was appointed';

-- the audit privileges follow the OID, not the name (a renamed officer
-- keeps them; dismissal takes them from the role that had them)
CREATE OR REPLACE FUNCTION childguard._officer_audit_privileges() RETURNS trigger
	LANGUAGE plpgsql
	SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	r oid := CASE WHEN TG_OP = 'DELETE' THEN OLD.role ELSE NEW.role END;
	verb text := CASE WHEN TG_OP = 'DELETE' THEN 'REVOKE' ELSE 'GRANT' END;
	dir text := CASE WHEN TG_OP = 'DELETE' THEN 'FROM' ELSE 'TO' END;
BEGIN
	IF r IS NULL OR NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles x WHERE x.oid = r) THEN
		RETURN NULL;
	END IF;
	EXECUTE pg_catalog.format('%s SELECT ON childguard.access_log, childguard.access_log_children, '
	                          'childguard.access_summary %s %s', verb, dir, r::regrole);
	EXECUTE pg_catalog.format('%s EXECUTE ON FUNCTION childguard.verify_access_log(), '
	                          'childguard.child_report(text), '
	                          'childguard.breach_impact(text[], timestamptz, timestamptz) %s %s',
	                          verb, dir, r::regrole);
	RETURN NULL;
END
$$;

UPDATE childguard.officer o
   SET role = childguard._upgrade_bind(o.role_name, o.xmin),
       appointed_by_role = childguard._upgrade_bind(o.appointed_by, o.xmin);
DO $upgrade$
DECLARE
	o record;
	why text;
BEGIN
	FOR o IN SELECT * FROM childguard.officer x WHERE x.role IS NULL LOOP
		why := CASE WHEN EXISTS (SELECT 1 FROM pg_catalog.pg_roles r WHERE r.rolname = o.role_name)
		            THEN 'the role of that name was created, renamed or altered after the appointment, so it may be another role'
		            ELSE 'the role no longer exists' END;
		RAISE WARNING 'protection officer "%" is not bound to a role: the appointment is removed', o.role_name
			USING DETAIL = pg_catalog.format('From childguard 1.1 appointments are tied to role OIDs; %s.', why),
			      HINT = 'Appoint the right role again with childguard.appoint_officer() if needed.';
		PERFORM childguard._role_event('officer removed at upgrade', NULL, o.role_name, why);
	END LOOP;
END
$upgrade$;
DELETE FROM childguard.officer o WHERE o.role IS NULL;
-- anchors: officers (in the order appointed), then enrolled roles
SELECT childguard._anchor_role(o.role) FROM childguard.officer o ORDER BY o.appointed_at;
SELECT childguard._anchor_role(e.role) FROM childguard.enrollment e ORDER BY e.role::oid;
ALTER TABLE childguard.officer DROP CONSTRAINT officer_pkey;
ALTER TABLE childguard.officer ALTER COLUMN role SET NOT NULL;
ALTER TABLE childguard.officer ADD CONSTRAINT officer_pkey PRIMARY KEY (role);

CREATE OR REPLACE FUNCTION childguard._caller_is_officer() RETURNS boolean
	LANGUAGE sql STABLE
	SET search_path = pg_catalog, pg_temp
AS $$
	SELECT EXISTS (SELECT 1 FROM childguard.officer o
	                WHERE childguard._role_alive(o.role)
	                  AND pg_catalog.pg_has_role(childguard._caller_oid(), o.role::oid, 'MEMBER'))
$$;

CREATE OR REPLACE VIEW childguard.officers AS
	SELECT coalesce(childguard._role_name(o.role), o.role_name) AS role_name,
	       o.appointed_at, o.appointed_by, o.role, o.role_name AS appointed_as
	  FROM childguard.officer o;
COMMENT ON VIEW childguard.officers IS
	'Appointed protection officers (Art 8): the role (by OID) under its current name, and the name it had when appointed.';

-- ---------------------------------------------------------------------------
-- Who may call what
-- ---------------------------------------------------------------------------

CREATE OR REPLACE FUNCTION childguard._application_functions() RETURNS regprocedure[]
	LANGUAGE sql IMMUTABLE
AS $$
	SELECT ARRAY[
		'childguard.register_child(text, date, boolean, boolean)',
		'childguard.register_guardian(text, text, text)',
		'childguard.request_access(regrole, text[], timestamptz, text[], integer, text, boolean, text)',
		'childguard.revoke_access(bigint)'
	]::regprocedure[]
$$;

CREATE FUNCTION childguard._recorder_functions() RETURNS regprocedure[]
	LANGUAGE sql IMMUTABLE
AS $$
	SELECT ARRAY[
		'childguard.register_guardian(text, text, text)',
		'childguard.record_consent(text, text, text, text, text, integer, text)',
		'childguard.refuse_consent(text, text, text, text)',
		'childguard.withdraw_consent(text, text, text)',
		'childguard.consent_in_force(text, text, date)'
	]::regprocedure[]
$$;

-- Grant a role the functions of each duty it is enrolled in.
CREATE FUNCTION childguard._grant_duties(r oid) RETURNS void
	LANGUAGE plpgsql
	SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	fs regprocedure[];
BEGIN
	SELECT ARRAY(SELECT DISTINCT f FROM childguard.enrollment e,
	             pg_catalog.unnest(CASE e.duty WHEN 'application' THEN childguard._application_functions()
	                                           ELSE childguard._recorder_functions() END) f
	             WHERE e.role = r) INTO fs;
	IF pg_catalog.cardinality(fs) > 0 THEN
		EXECUTE pg_catalog.format('GRANT USAGE ON SCHEMA childguard TO %s', r::regrole);
		EXECUTE pg_catalog.format('GRANT EXECUTE ON FUNCTION %s TO %s',
		        (SELECT pg_catalog.string_agg(f::text, ', ') FROM pg_catalog.unnest(fs) f), r::regrole);
	END IF;
END
$$;

-- Officer privileges (functions, registry views, the audit trail's).
CREATE FUNCTION childguard._grant_officer_privileges(r oid) RETURNS void
	LANGUAGE plpgsql
	SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	EXECUTE pg_catalog.format('GRANT USAGE ON SCHEMA childguard TO %s', r::regrole);
	EXECUTE pg_catalog.format('GRANT EXECUTE ON FUNCTION %s TO %s',
	        (SELECT pg_catalog.string_agg(f::text, ', ')
	           FROM pg_catalog.unnest(childguard._officer_functions()) f), r::regrole);
	EXECUTE pg_catalog.format('GRANT SELECT ON %s TO %s',
	        (SELECT pg_catalog.string_agg(v::text, ', ')
	           FROM pg_catalog.unnest(childguard._officer_views()) v), r::regrole);
END
$$;

-- the 1.0 application grant included the consent functions; consents now
-- come from enrolled consent recorders only
DO $upgrade$
DECLARE
	a record;
BEGIN
	FOR a IN SELECT DISTINCT p.oid::regprocedure AS f, x.grantee::regrole AS r
	           FROM pg_catalog.pg_proc p
	          CROSS JOIN LATERAL pg_catalog.aclexplode(p.proacl) x
	          WHERE p.oid IN ('childguard.record_consent(text, text, text, text, text, integer, text)'::regprocedure,
	                          'childguard.refuse_consent(text, text, text, text)'::regprocedure,
	                          'childguard.withdraw_consent(text, text, text)'::regprocedure)
	            AND x.grantee <> p.proowner AND x.grantee <> 0 LOOP
		EXECUTE pg_catalog.format('REVOKE EXECUTE ON FUNCTION %s FROM %s', a.f, a.r);
	END LOOP;
END
$upgrade$;

-- ---------------------------------------------------------------------------
-- Appointing and dismissing officers, enrolling roles
-- ---------------------------------------------------------------------------

CREATE OR REPLACE FUNCTION childguard.appoint_officer(officer regrole) RETURNS void
	LANGUAGE plpgsql SECURITY DEFINER
	SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	PERFORM childguard._require_owner('appoint a protection officer');
	IF officer IS NULL THEN
		RAISE EXCEPTION 'officer role must not be null' USING ERRCODE = '22004';
	END IF;
	PERFORM childguard._anchor_role(officer);
	INSERT INTO childguard.officer (role_name, appointed_by, role, appointed_by_role)
	VALUES (childguard._role_name(officer), childguard._caller(), officer, childguard._caller_oid())
	ON CONFLICT (role) DO NOTHING;
	IF FOUND THEN
		PERFORM childguard._role_event('officer appointed', officer, NULL);
	END IF;
	PERFORM childguard._grant_officer_privileges(officer);
END
$$;

CREATE OR REPLACE FUNCTION childguard.dismiss_officer(officer regrole) RETURNS void
	LANGUAGE plpgsql SECURITY DEFINER
	SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	PERFORM childguard._require_owner('dismiss a protection officer');
	DELETE FROM childguard.officer o WHERE o.role = officer;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'role "%" is not a protection officer', officer
			USING ERRCODE = '22023';
	END IF;
	-- every privilege on childguard's objects goes, whoever it came from ...
	EXECUTE pg_catalog.format('REVOKE ALL ON ALL FUNCTIONS IN SCHEMA childguard FROM %s', officer);
	EXECUTE pg_catalog.format('REVOKE ALL ON ALL TABLES IN SCHEMA childguard FROM %s', officer);
	EXECUTE pg_catalog.format('REVOKE ALL ON ALL SEQUENCES IN SCHEMA childguard FROM %s', officer);
	EXECUTE pg_catalog.format('REVOKE ALL ON SCHEMA childguard FROM %s', officer);
	-- ... except what its remaining enrollments give, and its anchor (its
	-- grants and history stay tied to this role)
	PERFORM childguard._anchor_role(officer);
	PERFORM childguard._grant_duties(officer);
	PERFORM childguard._role_event('officer dismissed', officer, NULL);
END
$$;
COMMENT ON FUNCTION childguard.dismiss_officer(regrole) IS
	'Remove a role from the protection officers (extension owner only): it loses every privilege on childguard''s objects except what its enrollments as an application or consent recorder give.';

CREATE OR REPLACE FUNCTION childguard.enroll_application(app regrole) RETURNS void
	LANGUAGE plpgsql SECURITY DEFINER
	SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	IF NOT (childguard._caller_is_owner() OR childguard._caller_is_officer()) THEN
		RAISE EXCEPTION 'permission denied to enroll an application role'
			USING ERRCODE = '42501',
			      HINT = 'Only the extension owner or a protection officer can do this.';
	END IF;
	IF app IS NULL THEN
		RAISE EXCEPTION 'application role must not be null' USING ERRCODE = '22004';
	END IF;
	PERFORM childguard._anchor_role(app);
	INSERT INTO childguard.enrollment (role, duty, role_name, enrolled_by)
	VALUES (app, 'application', childguard._role_name(app), childguard._caller_oid())
	ON CONFLICT (role, duty) DO NOTHING;
	IF FOUND THEN
		PERFORM childguard._role_event('enrolled as application', app, NULL);
	END IF;
	PERFORM childguard._grant_duties(app);
END
$$;
COMMENT ON FUNCTION childguard.enroll_application(regrole) IS
	'Let a role (an application or staff member) register children and guardians and request access. Reading child data still needs an approved grant; consents are recorded by a consent recorder (enroll_consent_recorder()).';

-- Is r (or a role related to it) the grantee of a grant not revoked and not
-- expired, for the purpose (NULL: any purpose)?  Returns the grant id.
CREATE FUNCTION childguard._reading_grant(r oid, purpose text) RETURNS bigint
	LANGUAGE sql STABLE
	SET search_path = pg_catalog, pg_temp
AS $$
	SELECT g.grant_id FROM childguard.access_grant g
	 WHERE g.revoked_at IS NULL AND g.valid_until > pg_catalog.now()
	   AND (_reading_grant.purpose IS NULL OR _reading_grant.purpose = ANY (g.purposes))
	   AND g.grantee_role IS NOT NULL
	   AND childguard._roles_related(r, g.grantee_role)
	 ORDER BY g.grant_id LIMIT 1
$$;

-- Is r (or a role related to it) an enrolled consent recorder?
CREATE FUNCTION childguard._recorder_related(r oid) RETURNS regrole
	LANGUAGE sql STABLE
	SET search_path = pg_catalog, pg_temp
AS $$
	SELECT e.role FROM childguard.enrollment e
	 WHERE e.duty = 'consent_recorder' AND childguard._role_alive(e.role)
	   AND childguard._roles_related(r, e.role)
	 ORDER BY e.role::oid LIMIT 1
$$;

CREATE FUNCTION childguard.enroll_consent_recorder(recorder regrole) RETURNS void
	LANGUAGE plpgsql SECURITY DEFINER
	SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	g bigint;
BEGIN
	IF NOT (childguard._caller_is_owner() OR childguard._caller_is_officer()) THEN
		RAISE EXCEPTION 'permission denied to enroll a consent recorder'
			USING ERRCODE = '42501',
			      HINT = 'Only a protection officer (or the extension owner) can do this.';
	END IF;
	IF recorder IS NULL THEN
		RAISE EXCEPTION 'consent recorder role must not be null' USING ERRCODE = '22004';
	END IF;
	g := childguard._reading_grant(recorder, NULL);
	IF g IS NOT NULL THEN
		RAISE EXCEPTION 'role "%" reads child data and cannot record consents', recorder
			USING ERRCODE = 'ZC121',
			      DETAIL = pg_catalog.format('Access grant %s holds for it, directly or through role membership.', g),
			      HINT = 'Enroll a role that reads no child data, and no member of a reading role.';
	END IF;
	PERFORM childguard._anchor_role(recorder);
	INSERT INTO childguard.enrollment (role, duty, role_name, enrolled_by)
	VALUES (recorder, 'consent_recorder', childguard._role_name(recorder), childguard._caller_oid())
	ON CONFLICT (role, duty) DO NOTHING;
	IF FOUND THEN
		PERFORM childguard._role_event('enrolled as consent recorder', recorder, NULL);
	END IF;
	PERFORM childguard._grant_duties(recorder);
END
$$;
COMMENT ON FUNCTION childguard.enroll_consent_recorder(regrole) IS
	'Separation of duties: enroll the role that records guardians'' and children''s consent decisions (record_consent, refuse_consent, withdraw_consent, register_guardian). It may not read child data: no grant may hold for it, or for a role it is a member of or that is a member of it.';

CREATE FUNCTION childguard.unenroll(role regrole, duty text) RETURNS void
	LANGUAGE plpgsql SECURITY DEFINER
	SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	fs regprocedure[];
BEGIN
	IF NOT (childguard._caller_is_owner() OR childguard._caller_is_officer()) THEN
		RAISE EXCEPTION 'permission denied to unenroll a role'
			USING ERRCODE = '42501',
			      HINT = 'Only a protection officer (or the extension owner) can do this.';
	END IF;
	DELETE FROM childguard.enrollment e WHERE e.role = unenroll.role AND e.duty = unenroll.duty;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'role "%" is not enrolled as %', role, coalesce(duty, 'NULL')
			USING ERRCODE = '22023';
	END IF;
	fs := CASE duty WHEN 'application' THEN childguard._application_functions()
	                ELSE childguard._recorder_functions() END;
	EXECUTE pg_catalog.format('REVOKE EXECUTE ON FUNCTION %s FROM %s',
	        (SELECT pg_catalog.string_agg(f::text, ', ') FROM pg_catalog.unnest(fs) f), role);
	PERFORM childguard._grant_duties(role);
	IF EXISTS (SELECT 1 FROM childguard.officer o WHERE o.role = unenroll.role) THEN
		PERFORM childguard._grant_officer_privileges(role);
	END IF;
	PERFORM childguard._role_event('unenrolled as ' || duty, role, NULL);
END
$$;
COMMENT ON FUNCTION childguard.unenroll(regrole, text) IS
	'End a role''s enrollment as an application or consent recorder (officer or extension owner); the functions of that duty are revoked from it.';

-- ---------------------------------------------------------------------------
-- Grants by OID; the two-person rule over role membership
-- ---------------------------------------------------------------------------

ALTER TABLE childguard.access_grant
	ADD COLUMN grantee_role regrole,
	ADD COLUMN requester_role regrole,
	ADD COLUMN requester_session regrole,
	ADD COLUMN approver_role regrole,
	ADD COLUMN approver_session regrole,
	ADD COLUMN revoker_role regrole;
COMMENT ON COLUMN childguard.access_grant.grantee_role IS 'the role the grant holds for (by OID; grantee is its name at the request)';
COMMENT ON COLUMN childguard.access_grant.requester_session IS 'the role that was logged in when the request was made';

UPDATE childguard.access_grant g
   SET grantee_role = childguard._upgrade_bind(g.grantee, g.xmin),
       requester_role = childguard._upgrade_bind(g.requested_by, g.xmin),
       approver_role = childguard._upgrade_bind(g.approved_by, g.xmin),
       revoker_role = childguard._upgrade_bind(g.revoked_by, g.xmin);
DO $upgrade$
DECLARE
	g record;
	why text;
BEGIN
	FOR g IN SELECT * FROM childguard.access_grant x
	          WHERE x.grantee_role IS NULL AND x.revoked_at IS NULL ORDER BY x.grant_id LOOP
		why := CASE WHEN EXISTS (SELECT 1 FROM pg_catalog.pg_roles r WHERE r.rolname = g.grantee)
		            THEN 'the role of that name was created, renamed or altered after the grant was last written, so it may be another role'
		            ELSE 'the role no longer exists' END;
		RAISE WARNING 'access grant % for role "%" is not bound to a role: the grant is revoked', g.grant_id, g.grantee
			USING DETAIL = pg_catalog.format('From childguard 1.1 grants are tied to role OIDs; %s.', why),
			      HINT = 'Request and approve a new grant for the right role if needed.';
		PERFORM childguard._role_event('grant revoked at upgrade', NULL, g.grantee,
		        pg_catalog.format('access grant %s: %s', g.grant_id, why));
	END LOOP;
END
$upgrade$;
UPDATE childguard.access_grant g
   SET revoked_at = pg_catalog.now(), revoked_by = 'childguard 1.1 upgrade'
 WHERE g.grantee_role IS NULL AND g.revoked_at IS NULL;
SELECT childguard._anchor_role(r)
  FROM (SELECT DISTINCT g.grantee_role::oid AS r FROM childguard.access_grant g
         WHERE g.grantee_role IS NOT NULL) x;
ALTER TABLE childguard.access_grant
	ADD CONSTRAINT access_grant_two_person_role_check
	CHECK (approver_role IS NULL OR approver_role::oid <> requester_role::oid);

CREATE OR REPLACE FUNCTION childguard.request_access(grantee regrole, purposes text[], valid_until timestamptz,
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
	caller_oid oid := childguard._caller_oid();
	recorder regrole;
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
	IF NOT pg_catalog.pg_has_role(caller_oid, grantee::oid, 'MEMBER')
	   AND NOT childguard._caller_is_officer() THEN
		RAISE EXCEPTION 'permission denied to request access for role "%"', grantee
			USING ERRCODE = '42501',
			      HINT = 'Request access for your own role, or ask a protection officer.';
	END IF;
	-- a processor works for us and cannot hand the work on (Art 16)
	IF EXISTS (SELECT 1 FROM childguard.access_grant g
	            WHERE g.processor AND g.grantee_role::oid = caller_oid AND g.revoked_at IS NULL)
	   AND grantee::oid <> caller_oid THEN
		RAISE EXCEPTION 'a processor cannot delegate access to another role'
			USING ERRCODE = '42501',
			      DETAIL = 'Art 16: entrusted processing may not exceed the entrusted scope.';
	END IF;
	-- whoever records consents does not read under them
	recorder := childguard._recorder_related(grantee);
	IF recorder IS NOT NULL THEN
		RAISE EXCEPTION 'role "%" records consents and cannot be granted access to child data', grantee
			USING ERRCODE = 'ZC121',
			      DETAIL = pg_catalog.format('It is, or is a member of or has as member, the consent recorder "%s".', recorder),
			      HINT = 'Grant access to a role that records no consents; consents and reads are separate duties.';
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
	PERFORM childguard._anchor_role(grantee);
	INSERT INTO childguard.access_grant (grantee, purposes, categories, max_children, valid_until,
	                                     processor, agreement, reason, requested_by,
	                                     grantee_role, requester_role, requester_session)
	VALUES (childguard._role_name(grantee),
	        ARRAY(SELECT DISTINCT x FROM pg_catalog.unnest(purposes) x ORDER BY 1),
	        categories, max_children, valid_until, coalesce(processor, false), agreement,
	        coalesce(reason, ''), caller, grantee, caller_oid, childguard._session_oid())
	RETURNING grant_id INTO id;
	RETURN id;
END
$$;

-- Does the approving session count as the same person as the grant's
-- requester or grantee?  See docs/security.md, section 5: the approver's
-- role (SET ROLE) and, unless a superuser, its login role, against the
-- grantee, the requester and the requester's login role (unless a
-- superuser): the same role, or one a member of the other at any depth.
CREATE FUNCTION childguard._approval_conflict(g childguard.access_grant) RETURNS boolean
	LANGUAGE sql STABLE
	SET search_path = pg_catalog, pg_temp
AS $$
	WITH a(r) AS (
	        SELECT childguard._caller_oid()
	        UNION
	        SELECT childguard._session_oid()
	         WHERE NOT (SELECT x.rolsuper FROM pg_catalog.pg_roles x WHERE x.oid = childguard._session_oid())),
	     q(r) AS (
	        SELECT g.grantee_role::oid
	        UNION
	        SELECT g.requester_role::oid
	        UNION
	        SELECT g.requester_session::oid
	         WHERE NOT coalesce((SELECT x.rolsuper FROM pg_catalog.pg_roles x
	                              WHERE x.oid = g.requester_session), true))
	SELECT g.requested_by = childguard._caller()
	    OR EXISTS (SELECT 1 FROM a, q WHERE q.r IS NOT NULL AND childguard._roles_related(a.r, q.r))
$$;

CREATE OR REPLACE FUNCTION childguard.approve_access(grant_id bigint) RETURNS void
	LANGUAGE plpgsql SECURITY DEFINER
	SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	caller name := childguard._caller();
	caller_oid oid := childguard._caller_oid();
	g childguard.access_grant;
	recorder regrole;
	p text;
BEGIN
	PERFORM childguard._require_officer('approve access');
	g := childguard._grant_for_update(approve_access.grant_id);
	IF g.grantee_role IS NULL OR NOT childguard._role_alive(g.grantee_role) THEN
		RAISE EXCEPTION 'the grantee of access grant % no longer exists', grant_id
			USING ERRCODE = 'ZC122',
			      DETAIL = pg_catalog.format('The grant was requested for role "%s", which has been dropped or lost its childguard anchor.', g.grantee),
			      HINT = 'Request a new grant for the role that needs it.';
	END IF;
	IF childguard._approval_conflict(g)
	   OR pg_catalog.pg_has_role(caller_oid, g.grantee_role::oid, 'MEMBER') THEN
		RAISE EXCEPTION 'access grant % cannot be approved by its requester or grantee', grant_id
			USING ERRCODE = 'ZC112',
			      DETAIL = pg_catalog.format('Role "%s" requested it for role "%s".', g.requested_by, g.grantee) ||
			               CASE WHEN g.requested_by = caller OR g.grantee_role::oid = caller_oid THEN ''
			                    ELSE ' The approving role, or the role logged in, shares role membership with one of them.' END,
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
	recorder := childguard._recorder_related(g.grantee_role);
	IF recorder IS NOT NULL THEN
		RAISE EXCEPTION 'role "%" records consents and cannot be granted access to child data', g.grantee_role
			USING ERRCODE = 'ZC121',
			      DETAIL = pg_catalog.format('It is, or is a member of or has as member, the consent recorder "%s".', recorder),
			      HINT = 'Grant access to a role that records no consents; consents and reads are separate duties.';
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
	   SET approved_by = caller, approved_at = pg_catalog.now(),
	       approver_role = caller_oid, approver_session = childguard._session_oid()
	 WHERE x.grant_id = approve_access.grant_id;
END
$$;
COMMENT ON FUNCTION childguard.approve_access(bigint) IS
	'Art 15: approve a requested grant (officer; never the requester or the grantee, nor a role that is a member of either or has either as member, nor from a session logged in as one of them).';

CREATE OR REPLACE FUNCTION childguard.revoke_access(grant_id bigint) RETURNS void
	LANGUAGE plpgsql SECURITY DEFINER
	SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	caller name := childguard._caller();
	caller_oid oid := childguard._caller_oid();
	g childguard.access_grant;
BEGIN
	g := childguard._grant_for_update(revoke_access.grant_id);
	IF NOT childguard._caller_is_officer() AND g.grantee_role::oid IS DISTINCT FROM caller_oid THEN
		RAISE EXCEPTION 'permission denied to revoke access grant %', grant_id
			USING ERRCODE = '42501',
			      HINT = 'A protection officer, or the grantee giving it up, can revoke a grant.';
	END IF;
	IF g.revoked_at IS NOT NULL THEN
		RAISE EXCEPTION 'access grant % is already revoked', grant_id USING ERRCODE = 'ZC113';
	END IF;
	UPDATE childguard.access_grant x
	   SET revoked_by = caller, revoked_at = pg_catalog.now(), revoker_role = caller_oid
	 WHERE x.grant_id = revoke_access.grant_id;
END
$$;

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
	       g.approver_session, g.revoker_role
	  FROM childguard.access_grant g;
COMMENT ON VIEW childguard.access_grants IS
	'Staff and processor grants and their status; grantee and the *_by columns are the names at the time, the *_role columns the roles by OID (shown under their current names).';

-- A role's ties ended (src/role_release.c calls this after DROP OWNED BY or
-- DROP ROLE succeeds in this database): say so in the registries.  Nothing
-- happens while the role still holds its anchor, so anyone may call it.
CREATE FUNCTION childguard._role_released(r oid) RETURNS void
	LANGUAGE plpgsql SECURITY DEFINER
	SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	how text := CASE WHEN EXISTS (SELECT 1 FROM pg_catalog.pg_roles x WHERE x.oid = r)
	                 THEN 'DROP OWNED BY' ELSE 'DROP ROLE' END;
	x record;
BEGIN
	IF r IS NULL OR childguard._role_alive(r) THEN
		RETURN;
	END IF;
	FOR x IN UPDATE childguard.access_grant g
	            SET revoked_at = pg_catalog.now(), revoked_by = how, revoker_role = childguard._caller_oid()
	          WHERE g.grantee_role::oid = r AND g.revoked_at IS NULL
	         RETURNING g.grant_id, g.grantee LOOP
		PERFORM childguard._role_event('grant revoked: role released', r, x.grantee,
		        pg_catalog.format('access grant %s, by %s', x.grant_id, how));
	END LOOP;
	FOR x IN DELETE FROM childguard.officer o WHERE o.role::oid = r RETURNING o.role_name LOOP
		PERFORM childguard._role_event('officer removed: role released', r, x.role_name, how);
	END LOOP;
	FOR x IN DELETE FROM childguard.enrollment e WHERE e.role::oid = r RETURNING e.duty, e.role_name LOOP
		PERFORM childguard._role_event('unenrolled: role released', r, x.role_name, x.duty || ', by ' || how);
	END LOOP;
END
$$;
COMMENT ON FUNCTION childguard._role_released(oid) IS
	'Called after DROP OWNED BY / DROP ROLE: a role that no longer holds its anchor loses its appointment, enrollments and grants in the registries, each recorded in role_event. No effect on a role that still holds its anchor.';

-- ---------------------------------------------------------------------------
-- Separation of duties for consent
-- ---------------------------------------------------------------------------

ALTER TABLE childguard.consent
	ADD COLUMN recorded_by_role regrole,
	ADD COLUMN recorded_session regrole,
	ADD COLUMN withdrawn_by regrole;
COMMENT ON COLUMN childguard.consent.recorded_by_role IS 'the consent recorder that entered the decision (by OID; recorded_by is its name then)';
COMMENT ON COLUMN childguard.consent.withdrawn_by IS 'the consent recorder that entered the withdrawal';
UPDATE childguard.consent k
   SET recorded_by_role = childguard._upgrade_bind(k.recorded_by, k.xmin);

-- The caller records consents: an enrolled consent recorder (or a member
-- of one), or a superuser.
CREATE FUNCTION childguard._require_consent_recorder(action text) RETURNS void
	LANGUAGE plpgsql STABLE
	SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	IF NOT coalesce((SELECT x.rolsuper FROM pg_catalog.pg_roles x WHERE x.oid = childguard._caller_oid()), false)
	   AND NOT EXISTS (SELECT 1 FROM childguard.enrollment e
	                    WHERE e.duty = 'consent_recorder' AND childguard._role_alive(e.role)
	                      AND pg_catalog.pg_has_role(childguard._caller_oid(), e.role::oid, 'MEMBER')) THEN
		RAISE EXCEPTION 'permission denied to %', action
			USING ERRCODE = 'ZC120',
			      DETAIL = pg_catalog.format('Role "%s" is not an enrolled consent recorder.', childguard._caller()),
			      HINT = 'Consents are recorded by a role a protection officer enrolled with childguard.enroll_consent_recorder().';
	END IF;
END
$$;

-- The caller does not read child data for the purpose (NULL: for any):
-- neither the role it acts as nor, unless a superuser, the role it logged
-- in as (one login that can SET ROLE to a reader and to a recorder is one
-- person doing both duties).
CREATE FUNCTION childguard._refuse_reader(purpose text, action text) RETURNS void
	LANGUAGE plpgsql STABLE
	SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	who oid := childguard._caller_oid();
	g bigint := childguard._reading_grant(who, purpose);
BEGIN
	IF g IS NULL AND NOT coalesce((SELECT x.rolsuper FROM pg_catalog.pg_roles x
	                                WHERE x.oid = childguard._session_oid()), true) THEN
		who := childguard._session_oid();
		g := childguard._reading_grant(who, purpose);
	END IF;
	IF g IS NOT NULL THEN
		RAISE EXCEPTION 'role "%" reads child data % and cannot %', childguard._role_name(who),
			CASE WHEN purpose IS NULL THEN 'under a grant'
			     ELSE pg_catalog.format('for purpose "%s"', purpose) END, action
			USING ERRCODE = 'ZC121',
			      DETAIL = pg_catalog.format('Access grant %s holds for it, directly or through role membership; a role that reads under consents cannot record them%s.', g,
			                                 CASE WHEN who <> childguard._caller_oid()
			                                      THEN pg_catalog.format(', and role "%s" is logged in as it', childguard._caller())
			                                      ELSE '' END),
			      HINT = 'Consents are recorded by an enrolled consent recorder that reads no child data.';
	END IF;
END
$$;

CREATE OR REPLACE FUNCTION childguard.register_guardian(guardian_id text, child text,
											 relation text DEFAULT 'guardian')
	RETURNS void
	LANGUAGE plpgsql SECURITY DEFINER
	SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	s bigint;
BEGIN
	PERFORM childguard._refuse_reader(NULL, 'register guardians');
	IF guardian_id IS NULL OR guardian_id = '' THEN
		RAISE EXCEPTION 'guardian id must not be empty' USING ERRCODE = '22023';
	END IF;
	IF relation IS NULL OR relation = '' THEN
		RAISE EXCEPTION 'relation must not be empty' USING ERRCODE = '22023';
	END IF;
	s := childguard._subject_of(child);
	IF EXISTS (SELECT 1 FROM childguard.child c WHERE c.child_id = register_guardian.guardian_id) THEN
		RAISE EXCEPTION 'guardian id "%" is already a child''s id', guardian_id
			USING ERRCODE = '22023',
			      DETAIL = 'Consent records tell a child from a guardian by their ids, so the two must differ.';
	END IF;
	INSERT INTO childguard.guardian (guardian_id) VALUES (register_guardian.guardian_id)
	ON CONFLICT DO NOTHING;
	INSERT INTO childguard.child_guardian (subject_no, guardian_id, relation)
	VALUES (s, register_guardian.guardian_id, register_guardian.relation)
	ON CONFLICT ON CONSTRAINT child_guardian_pkey
	DO UPDATE SET relation = EXCLUDED.relation;
END
$$;
COMMENT ON FUNCTION childguard.register_guardian(text, text, text) IS
	'Register a guardian (parent or other legal guardian) of a registered child (an application or consent recorder; never a role that reads child data under a grant).';

CREATE OR REPLACE FUNCTION childguard.record_consent(child text, purpose text, notice text, given_by text,
										  decision text DEFAULT 'granted',
										  notice_version integer DEFAULT NULL,
										  guardian_informed text DEFAULT NULL)
	RETURNS bigint
	LANGUAGE plpgsql SECURITY DEFINER
	SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	c childguard.child;
	p childguard.purpose;
	n childguard.notice;
	kind text;
	age integer;
	id bigint;
BEGIN
	PERFORM childguard._require_consent_recorder('record consent');
	PERFORM childguard._refuse_reader(purpose, 'record consent for it');
	IF decision IS NULL OR decision NOT IN ('granted', 'refused') THEN
		RAISE EXCEPTION 'invalid consent decision "%"', decision
			USING ERRCODE = '22023', HINT = 'The decision is granted or refused.';
	END IF;
	IF given_by IS NULL OR given_by = '' THEN
		RAISE EXCEPTION 'who gave the consent must be named' USING ERRCODE = '22023';
	END IF;
	SELECT * INTO c FROM childguard.child x WHERE x.subject_no = childguard._subject_of(child);
	SELECT * INTO p FROM childguard.purpose x WHERE x.purpose_id = childguard._purpose_of(record_consent.purpose);
	IF c.erased_at IS NOT NULL THEN
		RAISE EXCEPTION 'child "%" has been erased', child USING ERRCODE = 'ZC012';
	END IF;

	-- the notice: the current version, covering the purpose
	SELECT * INTO n FROM childguard.notice x
	 WHERE x.notice_id = notice ORDER BY x.version DESC LIMIT 1;
	IF n.notice_id IS NULL THEN
		RAISE EXCEPTION 'unknown notice "%"', notice USING ERRCODE = '22023';
	END IF;
	IF notice_version IS NOT NULL AND notice_version <> n.version THEN
		RAISE EXCEPTION 'notice "%" version % has been superseded', notice, notice_version
			USING ERRCODE = 'ZC108',
			      DETAIL = pg_catalog.format('The current version is %s.', n.version),
			      HINT = 'Consent must be given on the notice the guardian is shown now.';
	END IF;
	IF NOT p.purpose = ANY (n.purposes) THEN
		RAISE EXCEPTION 'notice "%" does not cover purpose "%"', notice, purpose
			USING ERRCODE = 'ZC108',
			      HINT = 'Publish a notice version that tells the guardian about this purpose.';
	END IF;

	-- who is giving it, and may they?
	IF given_by = c.child_id THEN
		kind := 'child';
	ELSIF EXISTS (SELECT 1 FROM childguard.child_guardian g
	              WHERE g.subject_no = c.subject_no AND g.guardian_id = given_by) THEN
		kind := 'guardian';
	ELSE
		RAISE EXCEPTION 'consent for child "%" cannot be given by "%"', child, given_by
			USING ERRCODE = 'ZC106',
			      DETAIL = 'Only a registered guardian of the child, or the child when old enough, can decide.';
	END IF;
	age := childguard.child_age(c.birth_date);
	IF kind = 'child' AND age < 14 THEN
		RAISE EXCEPTION 'child "%" is under 14 and cannot consent alone', child
			USING ERRCODE = 'ZC106',
			      DETAIL = 'Art 9: a guardian''s consent is required for a child under 14.',
			      HINT = 'Record the consent of a registered guardian.';
	END IF;
	IF kind = 'guardian' AND age >= 14 AND NOT (c.in_difficulty AND NOT c.can_express) THEN
		RAISE EXCEPTION 'child "%" is 14 or over and decides for themselves', child
			USING ERRCODE = 'ZC106',
			      DETAIL = 'D-Art 12: from 14 the child''s own consent is required; a guardian consents only for a child who cannot express their will.',
			      HINT = 'Record the child''s own consent.';
	END IF;
	IF kind = 'child' AND c.in_difficulty AND decision = 'granted' THEN
		IF guardian_informed IS NULL OR NOT EXISTS (
				SELECT 1 FROM childguard.child_guardian g
				 WHERE g.subject_no = c.subject_no AND g.guardian_id = guardian_informed) THEN
			RAISE EXCEPTION 'a guardian of child "%" must be informed of this consent', child
				USING ERRCODE = 'ZC106',
				      DETAIL = 'D-Art 12: for a child 14 or over in difficult circumstances, a parent or guardian is informed explicitly.',
				      HINT = 'Pass guardian_informed => the id of the guardian who was told.';
		END IF;
	ELSIF guardian_informed IS NOT NULL AND NOT EXISTS (
			SELECT 1 FROM childguard.child_guardian g
			 WHERE g.subject_no = c.subject_no AND g.guardian_id = guardian_informed) THEN
		RAISE EXCEPTION '"%" is not a guardian of child "%"', guardian_informed, child
			USING ERRCODE = 'ZC106';
	END IF;
	IF decision = 'granted' AND c.in_difficulty AND p.forbidden_in_difficulty THEN
		RAISE EXCEPTION 'purpose "%" is forbidden for children in difficult circumstances', purpose
			USING ERRCODE = 'ZC109',
			      DETAIL = 'D-Art 15: their data cannot be used for fundraising, livestream sales, publicity and the like, whoever consents.';
	END IF;

	INSERT INTO childguard.consent (subject_no, purpose_id, decision, giver_kind, guardian_id,
	                                informed_guardian_id, notice_id, notice_version, recorded_by,
	                                recorded_by_role, recorded_session)
	VALUES (c.subject_no, p.purpose_id, decision, kind,
	        CASE WHEN kind = 'guardian' THEN given_by END,
	        guardian_informed, n.notice_id, n.version, childguard._caller(),
	        childguard._caller_oid(), childguard._session_oid())
	RETURNING consent_id INTO id;
	RETURN id;
END
$$;
COMMENT ON FUNCTION childguard.record_consent(text, text, text, text, text, integer, text) IS
	'Art 9/10, D-Art 12: record a guardian''s or child''s decision (granted or refused) on the current version of a notice for a purpose. Only an enrolled consent recorder that reads no child data for the purpose; refused unless given by the person the child''s age and circumstances require.';

CREATE OR REPLACE FUNCTION childguard.withdraw_consent(child text, purpose text, given_by text)
	RETURNS bigint
	LANGUAGE plpgsql SECURITY DEFINER
	SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	s bigint;
	p integer;
	id bigint;
BEGIN
	PERFORM childguard._require_consent_recorder('withdraw consent');
	PERFORM childguard._refuse_reader(purpose, 'change consent for it');
	s := childguard._subject_of(child);
	p := childguard._purpose_of(purpose);
	UPDATE childguard.consent c
	   SET withdrawn_at = pg_catalog.now(), withdrawn_by = childguard._caller_oid()
	 WHERE c.consent_id = (
	        SELECT x.consent_id FROM childguard.consent x
	         WHERE x.subject_no = s AND x.purpose_id = p
	           AND x.decision = 'granted' AND x.withdrawn_at IS NULL AND x.lapsed_at IS NULL
	           AND (x.guardian_id = given_by OR
	                (x.giver_kind = 'child' AND given_by = child))
	         ORDER BY x.consent_id DESC LIMIT 1)
	RETURNING c.consent_id INTO id;
	IF id IS NULL THEN
		RAISE EXCEPTION 'no active consent by "%" for child "%" and purpose "%"', given_by, child, purpose
			USING ERRCODE = 'ZC113';
	END IF;
	RETURN id;
END
$$;
COMMENT ON FUNCTION childguard.withdraw_consent(text, text, text) IS
	'Withdraw a consent given by given_by (a guardian, or the child), entered by an enrolled consent recorder; every session''s next read of that child''s data for the purpose is denied once this commits.';

-- ---------------------------------------------------------------------------
-- Every consent event in a hash chain: childguard.consent_log
--
-- A row trigger on childguard.consent appends one event per decision
-- (granted, refused), withdrawal, lapse or any other change, in the same
-- transaction as the change: an event exists exactly when the change
-- committed.  Appends are serialised by the single row of
-- consent_log_head (UPDATE ... RETURNING: a concurrent appender waits and
-- then sees the new head); each event's hash is SHA-256 of the previous
-- hash and the event's canonical JSON.  Nobody can UPDATE, DELETE or
-- TRUNCATE the log (ENABLE ALWAYS triggers); no role but the extension's
-- owner can INSERT.  verify_consent_log() walks the chain.
-- ---------------------------------------------------------------------------

CREATE TABLE childguard.consent_log (
	event_id		bigint PRIMARY KEY,
	at				timestamptz NOT NULL,
	consent_id		bigint NOT NULL,
	subject_no		bigint NOT NULL,
	purpose_id		integer NOT NULL,
	event			text NOT NULL CHECK (event IN ('granted', 'refused', 'withdrawn', 'lapsed', 'changed')),
	giver_kind		text NOT NULL,
	guardian_id		text,
	notice_id		text NOT NULL,
	notice_version	integer NOT NULL,
	by_role			regrole,		-- who entered it (SET ROLE); NULL: unknown (before 1.1)
	by_role_name	name,
	session_role_name name,
	prev_hash		bytea,
	hash			bytea NOT NULL
);
CREATE INDEX consent_log_subject_idx ON childguard.consent_log (subject_no);
COMMENT ON TABLE childguard.consent_log IS
	'Every consent event (granted, refused, withdrawn, lapsed, changed) with who entered it, hash-chained; appended only by a trigger on childguard.consent. verify_consent_log() checks the chain.';

CREATE TABLE childguard.consent_log_head (
	one_row			boolean PRIMARY KEY DEFAULT true CHECK (one_row),
	last_id			bigint NOT NULL DEFAULT 0,
	last_hash		bytea
);
INSERT INTO childguard.consent_log_head DEFAULT VALUES;
COMMENT ON TABLE childguard.consent_log_head IS
	'The head of the consent log''s hash chain (last event id and hash); its row lock serialises appends.';
-- Not dumped (like the access log): a restore re-creates the events from the
-- restored consent rows, which carry who recorded and who withdrew them
-- (see _consent_event()).

-- The canonical form of an event, as hashed (no settings-dependent text).
CREATE FUNCTION childguard._consent_event_text(e childguard.consent_log) RETURNS text
	LANGUAGE sql IMMUTABLE
	SET search_path = pg_catalog, pg_temp
AS $$
	SELECT pg_catalog.jsonb_build_array(
	           e.event_id, (EXTRACT(epoch FROM e.at) * 1000000)::bigint,
	           e.consent_id, e.subject_no, e.purpose_id, e.event, e.giver_kind, e.guardian_id,
	           e.notice_id, e.notice_version, e.by_role::oid, e.by_role_name::text,
	           e.session_role_name::text)::text
$$;

CREATE FUNCTION childguard._consent_log_append(k childguard.consent, event text, at timestamptz,
											   by_role oid, by_session oid)
	RETURNS void
	LANGUAGE plpgsql
	SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	e childguard.consent_log;
	h childguard.consent_log_head;
BEGIN
	UPDATE childguard.consent_log_head x SET last_id = x.last_id + 1
	 RETURNING * INTO h;
	e.event_id := h.last_id;
	e.at := at;
	e.consent_id := k.consent_id;
	e.subject_no := k.subject_no;
	e.purpose_id := k.purpose_id;
	e.event := event;
	e.giver_kind := k.giver_kind;
	e.guardian_id := k.guardian_id;
	e.notice_id := k.notice_id;
	e.notice_version := k.notice_version;
	e.by_role := by_role;
	e.by_role_name := childguard._role_name(by_role);
	e.session_role_name := childguard._role_name(by_session);
	e.prev_hash := h.last_hash;
	e.hash := pg_catalog.sha256(coalesce(h.last_hash, '\x'::bytea) ||
	                            pg_catalog.convert_to(childguard._consent_event_text(e), 'UTF8'));
	INSERT INTO childguard.consent_log VALUES (e.*);
	UPDATE childguard.consent_log_head x SET last_hash = e.hash;
END
$$;
REVOKE ALL ON FUNCTION childguard._consent_log_append(childguard.consent, text, timestamptz, oid, oid) FROM PUBLIC;

CREATE FUNCTION childguard._consent_event() RETURNS trigger
	LANGUAGE plpgsql SECURITY DEFINER
	SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	IF TG_OP = 'INSERT' THEN
		-- a row inserted whole (restore, or a superuser's INSERT) brings its
		-- history: who recorded it and, if so, its withdrawal or lapse
		PERFORM childguard._consent_log_append(NEW, NEW.decision, NEW.given_at,
		        coalesce(NEW.recorded_by_role::oid, childguard._caller_oid()), childguard._session_oid());
		IF NEW.withdrawn_at IS NOT NULL THEN
			PERFORM childguard._consent_log_append(NEW, 'withdrawn', NEW.withdrawn_at,
			        NEW.withdrawn_by, childguard._session_oid());
		END IF;
		IF NEW.lapsed_at IS NOT NULL THEN
			PERFORM childguard._consent_log_append(NEW, 'lapsed', NEW.lapsed_at,
			        NULL, childguard._session_oid());
		END IF;
	ELSIF OLD.withdrawn_at IS NULL AND NEW.withdrawn_at IS NOT NULL THEN
		PERFORM childguard._consent_log_append(NEW, 'withdrawn', NEW.withdrawn_at,
		        coalesce(NEW.withdrawn_by::oid, childguard._caller_oid()), childguard._session_oid());
	ELSIF OLD.lapsed_at IS NULL AND NEW.lapsed_at IS NOT NULL THEN
		PERFORM childguard._consent_log_append(NEW, 'lapsed', NEW.lapsed_at,
		        childguard._caller_oid(), childguard._session_oid());
	ELSIF ROW(OLD.*) IS DISTINCT FROM ROW(NEW.*) THEN
		PERFORM childguard._consent_log_append(NEW, 'changed', pg_catalog.now(),
		        childguard._caller_oid(), childguard._session_oid());
	END IF;
	RETURN NULL;
END
$$;
REVOKE ALL ON FUNCTION childguard._consent_event() FROM PUBLIC;

CREATE FUNCTION childguard._consent_log_guard() RETURNS trigger
	LANGUAGE plpgsql
	SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	RAISE EXCEPTION 'the consent log cannot be changed'
		USING ERRCODE = 'ZC203',
		      DETAIL = 'Consent events are appended by childguard and never updated or deleted.',
		      HINT = 'Record a new consent decision or withdrawal instead.';
END
$$;
REVOKE ALL ON FUNCTION childguard._consent_log_guard() FROM PUBLIC;

-- the history of 1.0 consents, in time order, before the trigger exists
DO $upgrade$
DECLARE
	ev record;
BEGIN
	FOR ev IN
		SELECT * FROM (
			SELECT k, k.decision AS event, k.given_at AS at, k.recorded_by_role::oid AS by_role, 1 AS ord
			  FROM childguard.consent k
			UNION ALL
			SELECT k, 'withdrawn', k.withdrawn_at, NULL, 2 FROM childguard.consent k WHERE k.withdrawn_at IS NOT NULL
			UNION ALL
			SELECT k, 'lapsed', k.lapsed_at, NULL, 3 FROM childguard.consent k WHERE k.lapsed_at IS NOT NULL
		) x ORDER BY x.at, (x.k).consent_id, x.ord LOOP
		PERFORM childguard._consent_log_append(ev.k, ev.event, ev.at, ev.by_role, NULL);
	END LOOP;
END
$upgrade$;

CREATE TRIGGER consent_event AFTER INSERT OR UPDATE ON childguard.consent
	FOR EACH ROW EXECUTE FUNCTION childguard._consent_event();
ALTER TABLE childguard.consent ENABLE ALWAYS TRIGGER consent_event;
CREATE TRIGGER consent_log_guard BEFORE UPDATE OR DELETE ON childguard.consent_log
	FOR EACH STATEMENT EXECUTE FUNCTION childguard._consent_log_guard();
CREATE TRIGGER consent_log_guard_truncate BEFORE TRUNCATE ON childguard.consent_log
	FOR EACH STATEMENT EXECUTE FUNCTION childguard._consent_log_guard();
ALTER TABLE childguard.consent_log ENABLE ALWAYS TRIGGER consent_log_guard;
ALTER TABLE childguard.consent_log ENABLE ALWAYS TRIGGER consent_log_guard_truncate;

CREATE FUNCTION childguard.verify_consent_log(OUT valid boolean, OUT records_checked bigint,
											  OUT broken_id bigint, OUT reason text)
	RETURNS record
	LANGUAGE plpgsql STABLE SECURITY DEFINER
	SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	e childguard.consent_log;
	prev bytea := NULL;
	expect_id bigint := 1;
	h childguard.consent_log_head;
BEGIN
	records_checked := 0;
	FOR e IN SELECT * FROM childguard.consent_log x ORDER BY x.event_id LOOP
		IF e.event_id <> expect_id THEN
			valid := false; broken_id := e.event_id;
			reason := pg_catalog.format('event %s is missing', expect_id);
			RETURN;
		END IF;
		IF e.prev_hash IS DISTINCT FROM prev THEN
			valid := false; broken_id := e.event_id;
			reason := 'the link to the previous event does not match';
			RETURN;
		END IF;
		IF e.hash <> pg_catalog.sha256(coalesce(prev, '\x'::bytea) ||
		                               pg_catalog.convert_to(childguard._consent_event_text(e), 'UTF8')) THEN
			valid := false; broken_id := e.event_id;
			reason := 'the event was altered';
			RETURN;
		END IF;
		prev := e.hash;
		expect_id := expect_id + 1;
		records_checked := records_checked + 1;
	END LOOP;
	SELECT * INTO h FROM childguard.consent_log_head;
	IF h.last_id <> expect_id - 1 OR h.last_hash IS DISTINCT FROM prev THEN
		valid := false; broken_id := h.last_id;
		reason := 'the newest events were removed';
		RETURN;
	END IF;
	valid := true;
END
$$;
REVOKE ALL ON FUNCTION childguard.verify_consent_log() FROM PUBLIC;
COMMENT ON FUNCTION childguard.verify_consent_log() IS
	'Walk the consent log''s hash chain: valid, or the first broken event and why (altered, missing, newest removed).';

CREATE OR REPLACE VIEW childguard.consents AS
	SELECT k.consent_id, c.child_id, p.purpose, k.decision, k.giver_kind,
	       coalesce(k.guardian_id, c.child_id) AS given_by, k.informed_guardian_id,
	       k.notice_id, k.notice_version, k.given_at, k.recorded_by,
	       k.withdrawn_at, k.lapsed_at,
	       CASE WHEN k.withdrawn_at IS NOT NULL THEN 'withdrawn'
	            WHEN k.lapsed_at IS NOT NULL THEN 'lapsed'
	            ELSE k.decision END AS state,
	       k.recorded_by_role, k.withdrawn_by
	  FROM childguard.consent k
	  JOIN childguard.child c USING (subject_no)
	  JOIN childguard.purpose p USING (purpose_id);

CREATE VIEW childguard.role_events AS SELECT * FROM childguard.role_event;
COMMENT ON VIEW childguard.role_events IS 'Appointments, dismissals and enrollments, by role OID and name at the time.';
CREATE VIEW childguard.enrollments AS
	SELECT e.role, e.duty, e.role_name AS enrolled_as, e.enrolled_at, e.enrolled_by,
	       childguard._role_alive(e.role) AS role_exists
	  FROM childguard.enrollment e;
COMMENT ON VIEW childguard.enrollments IS 'Roles enrolled as applications or consent recorders.';

-- ---------------------------------------------------------------------------
-- The child report shows who entered each consent event
-- ---------------------------------------------------------------------------

CREATE OR REPLACE FUNCTION childguard.child_report(child text) RETURNS jsonb
	LANGUAGE plpgsql STABLE SECURITY DEFINER
	SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	c childguard.child;
	t record;
	held jsonb := '[]';
	found_rows jsonb;
BEGIN
	PERFORM childguard._require_auditor('report on a child');
	IF child IS NULL THEN
		RAISE EXCEPTION 'child must not be null' USING ERRCODE = '22004';
	END IF;
	SELECT * INTO c FROM childguard.child x WHERE x.child_id = child;
	IF c.subject_no IS NULL THEN
		RAISE EXCEPTION 'child "%" is not registered', child
			USING ERRCODE = 'ZC011',
			      HINT = 'The report is by the application''s child id, as given to register_child().';
	END IF;
	-- what each protected table holds for the child: rows and non-null
	-- values per column (counting decrypts nothing)
	FOR t IN SELECT p.table_name, p.subject_column,
	                pg_catalog.array_agg(p.column_name ORDER BY p.column_name) AS cols,
	                pg_catalog.array_agg(p.category ORDER BY p.column_name) AS cats
	           FROM childguard.protected_columns p
	          WHERE p.is_protected
	          GROUP BY p.table_name, p.subject_column
	          ORDER BY p.table_name::text LOOP
		EXECUTE pg_catalog.format(
			'SELECT pg_catalog.jsonb_build_object(''rows'', pg_catalog.count(*), ''columns'', '
			'pg_catalog.jsonb_build_array(%s)) FROM %s WHERE %I::text OPERATOR(pg_catalog.=) $1',
			(SELECT pg_catalog.string_agg(pg_catalog.format(
			            'pg_catalog.jsonb_build_object(''column'', %L, ''category'', %L, ''values'', pg_catalog.count(%I))',
			            t.cols[i], t.cats[i], t.cols[i]), ', ')
			   FROM pg_catalog.generate_subscripts(t.cols, 1) i),
			t.table_name, t.subject_column)
			INTO found_rows USING child;
		IF (found_rows->>'rows')::bigint > 0 THEN
			held := held || pg_catalog.jsonb_build_array(
			            pg_catalog.jsonb_build_object('table', t.table_name::text) || found_rows);
		END IF;
	END LOOP;
	RETURN pg_catalog.jsonb_build_object(
		'child', pg_catalog.jsonb_build_object(
			'child_id', c.child_id, 'subject_no', c.subject_no, 'birth_date', c.birth_date,
			'registered_at', c.registered_at, 'erased_at', c.erased_at,
			'in_difficulty', c.in_difficulty, 'can_express', c.can_express),
		'guardians', coalesce((
			SELECT pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object(
			           'guardian_id', g.guardian_id, 'relation', g.relation, 'since', g.since)
			       ORDER BY g.guardian_id)
			  FROM childguard.child_guardian g WHERE g.subject_no = c.subject_no), '[]'),
		'consents', coalesce((
			SELECT pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object(
			           'consent_id', k.consent_id, 'purpose', p.purpose, 'decision', k.decision,
			           'given_by', k.giver_kind, 'guardian_id', k.guardian_id,
			           'notice', k.notice_id, 'notice_version', k.notice_version,
			           'given_at', k.given_at, 'withdrawn_at', k.withdrawn_at,
			           'lapsed_at', k.lapsed_at,
			           'recorded_by', coalesce(childguard._role_name(k.recorded_by_role), k.recorded_by),
			           'withdrawn_by', childguard._role_name(k.withdrawn_by))
			       ORDER BY k.consent_id)
			  FROM childguard.consent k JOIN childguard.purpose p USING (purpose_id)
			 WHERE k.subject_no = c.subject_no), '[]'),
		'consent_events', coalesce((
			SELECT pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object(
			           'event_id', e.event_id, 'at', e.at, 'consent_id', e.consent_id,
			           'purpose', p.purpose, 'event', e.event, 'given_by', e.giver_kind,
			           'guardian_id', e.guardian_id,
			           'recorded_by', coalesce(childguard._role_name(e.by_role), e.by_role_name),
			           'session_role', e.session_role_name)
			       ORDER BY e.event_id)
			  FROM childguard.consent_log e JOIN childguard.purpose p USING (purpose_id)
			 WHERE e.subject_no = c.subject_no), '[]'),
		'data_held', held,
		'accesses', coalesce((
			SELECT pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object(
			           'id', l.id, 'at', l.statement_at, 'session_role', l.session_role,
			           'acting_role', l.acting_role, 'client_addr', l.client_addr,
			           'application_name', l.application_name, 'command', l.command,
			           'purpose', l.purpose, 'grant_id', l.grant_id,
			           'relations', l.relations, 'columns', l.columns,
			           'access', (SELECT pg_catalog.jsonb_agg(k) FROM pg_catalog.unnest(ARRAY[
			                          CASE WHEN c.subject_no = ANY (l.children_read) THEN 'read' END,
			                          CASE WHEN c.subject_no = ANY (l.children_denied) THEN 'denied' END,
			                          CASE WHEN c.subject_no = ANY (l.children_written) THEN 'written' END]) k
			                       WHERE k IS NOT NULL),
			           'outcome', l.outcome, 'sqlstate', l.sqlstate)
			       ORDER BY l.id)
			  FROM childguard.access_log l
			 WHERE l.children_read @> ARRAY[c.subject_no]
			    OR l.children_denied @> ARRAY[c.subject_no]
			    OR l.children_written @> ARRAY[c.subject_no]), '[]'),
		'generated_at', pg_catalog.now());
END
$$;

-- ---------------------------------------------------------------------------
-- Officer privileges: the new functions and views, for officers appointed
-- under 1.0 too
-- ---------------------------------------------------------------------------

CREATE OR REPLACE FUNCTION childguard._officer_functions() RETURNS regprocedure[]
	LANGUAGE sql IMMUTABLE
AS $$
	SELECT ARRAY[
		'childguard.publish_notice(text, text[], text, text, text, text, text, text, text, boolean)',
		'childguard.define_purpose(text, text[], interval, text, boolean, text)',
		'childguard.record_assessment(text, text, text)',
		'childguard.set_child_circumstances(text, boolean, boolean)',
		'childguard.approve_access(bigint)',
		'childguard.revoke_access(bigint)',
		'childguard.enroll_application(regrole)',
		'childguard.enroll_consent_recorder(regrole)',
		'childguard.unenroll(regrole, text)',
		'childguard.consent_in_force(text, text, date)',
		'childguard.verify_consent_log()'
	]::regprocedure[] || childguard._application_functions()
$$;

CREATE OR REPLACE FUNCTION childguard._officer_views() RETURNS regclass[]
	LANGUAGE sql IMMUTABLE
AS $$
	SELECT ARRAY['childguard.children', 'childguard.guardians', 'childguard.notices',
	             'childguard.purposes', 'childguard.consents', 'childguard.access_grants',
	             'childguard.officers', 'childguard.consent_log', 'childguard.role_events',
	             'childguard.enrollments']::regclass[]
$$;

DO $upgrade$
DECLARE
	f regprocedure;
BEGIN
	FOREACH f IN ARRAY ARRAY[
			'childguard._anchor_role(oid)', 'childguard._role_event(text, oid, name, text)',
			'childguard._grant_duties(oid)', 'childguard._grant_officer_privileges(oid)',
			'childguard._recorder_functions()', 'childguard.enroll_consent_recorder(regrole)',
			'childguard.unenroll(regrole, text)', 'childguard._reading_grant(oid, text)',
			'childguard._recorder_related(oid)', 'childguard._approval_conflict(childguard.access_grant)',
			'childguard._require_consent_recorder(text)', 'childguard._refuse_reader(text, text)',
			'childguard._consent_event_text(childguard.consent_log)',
			'childguard.verify_consent_log()']::regprocedure[] LOOP
		EXECUTE pg_catalog.format('REVOKE ALL ON FUNCTION %s FROM PUBLIC', f);
	END LOOP;
END
$upgrade$;
REVOKE ALL ON childguard.role_event, childguard.enrollment, childguard.consent_log,
	childguard.consent_log_head, childguard.role_events, childguard.enrollments FROM PUBLIC;
SELECT childguard._grant_officer_privileges(o.role) FROM childguard.officer o;
SELECT childguard._grant_duties(e.role) FROM childguard.enrollment e;

-- ---------------------------------------------------------------------------
-- Key material (item 6): wrapped data keys are not for reading through SQL.
-- Row-level security with no policy: pg_read_all_data and any role granted
-- SELECT see no rows; the extension's owner (its SECURITY DEFINER functions)
-- and C, which reads the table directly, are unaffected.
-- ---------------------------------------------------------------------------

ALTER TABLE childguard.data_key ENABLE ROW LEVEL SECURITY;
-------------------------------------------------------------------------------
-- 1.1: the audit queue across faults (issue 9; src/audit_queue.c,
-- docs/reliability.md).  The audit queue's state: records carried over a
-- crash or shutdown, records of dropped databases settled to the server
-- log, and postmasters that ended without saving their queue.
-------------------------------------------------------------------------------

CREATE FUNCTION childguard.audit_queue_status(
	OUT epoch timestamptz,
	OUT queued_records bigint,
	OUT queued_bytes bigint,
	OUT queue_size bigint,
	OUT carried_over bigint,
	OUT not_carried_over bigint,
	OUT settled_dropped_databases bigint,
	OUT unsaved_exits bigint,
	OUT last_unsaved_exit_epoch timestamptz,
	OUT written_to_server_log bigint)
	RETURNS record
	LANGUAGE C VOLATILE STRICT
	AS 'MODULE_PATHNAME', 'cg_audit_queue_status';
COMMENT ON FUNCTION childguard.audit_queue_status() IS
	'The shared audit queue: its epoch (this initialisation of shared memory), records and bytes queued now, records carried over from before the last crash or shutdown, saved records that could not be queued again, records of dropped databases settled to the server log, how many postmasters ended without saving their queue (records then possibly lost), and records the writers could not write, written to the server log instead (since this initialisation).';

CREATE VIEW childguard.audit_queue_status AS
	SELECT * FROM childguard.audit_queue_status();
COMMENT ON VIEW childguard.audit_queue_status IS
	'One row: the audit queue now and what happened to queued records across crashes, shutdowns and dropped databases. not_carried_over, unsaved_exits, settled_dropped_databases and written_to_server_log above zero mean records that are not in childguard.access_log (see the server log).';

REVOKE ALL ON FUNCTION childguard.audit_queue_status() FROM PUBLIC;
REVOKE ALL ON childguard.audit_queue_status FROM PUBLIC;

CREATE FUNCTION childguard.audit_queue_databases(
	OUT database oid,
	OUT queued_records bigint,
	OUT awaited_records bigint,
	OUT writer_pid integer,
	OUT dropped boolean)
	RETURNS SETOF record
	LANGUAGE C VOLATILE STRICT
	AS 'MODULE_PATHNAME', 'cg_audit_queue_databases';
COMMENT ON FUNCTION childguard.audit_queue_databases() IS
	'Per database with records in the audit queue or a running writer: records queued, records a session waits for (audit_sync), the writer''s process id (NULL: none running), and whether the database was dropped (its records settled to the server log).';
REVOKE ALL ON FUNCTION childguard.audit_queue_databases() FROM PUBLIC;
-------------------------------------------------------------------------------
-- Keys: master-key rotation that no reader or writer can slip past
-- (docs/keys.md, docs/reliability.md "Master-key rotation under load").
-------------------------------------------------------------------------------

-- Called by rotate_master_key(): when its transaction commits, backends
-- whose settings predate the rotation wrap new data keys under its key too.
CREATE FUNCTION childguard._master_key_rotating() RETURNS void
	LANGUAGE C VOLATILE STRICT AS 'MODULE_PATHNAME', 'cg_master_key_rotating';
REVOKE ALL ON FUNCTION childguard._master_key_rotating() FROM PUBLIC;
COMMENT ON FUNCTION childguard._master_key_rotating() IS
	'Internal to rotate_master_key(): publish, at commit, the key new data keys are to be wrapped with.';

-- One transaction, as before (a crash or kill -9 leaves every data key as it
-- was), now also:
--  * SHARE ROW EXCLUSIVE on childguard.data_key: waits for transactions that
--    are adding or changing data keys to finish, keeps new ones out until the
--    rotation commits, and keeps two rotations apart; readers are not blocked;
--  * READ COMMITTED only: the rewrap must see every key committed before the
--    lock, which a snapshot taken earlier in the transaction would not;
--  * on commit, statements that began before the reload wrap the data keys
--    they still create under the new key (_master_key_rotating).
CREATE OR REPLACE FUNCTION childguard.rotate_master_key() RETURNS bigint
	LANGUAGE plpgsql SECURITY DEFINER
	SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	current_id bytea;
	n bigint;
BEGIN
	IF NOT pg_catalog.pg_has_role(session_user, (SELECT nspowner FROM pg_catalog.pg_namespace
	                                             WHERE nspname = 'childguard'), 'MEMBER') THEN
		RAISE EXCEPTION 'permission denied to rotate the master key'
			USING ERRCODE = '42501',
			      HINT = 'Only the owner of the childguard schema can rotate keys.';
	END IF;
	IF pg_catalog.current_setting('transaction_isolation') OPERATOR(pg_catalog.<>) 'read committed' THEN
		RAISE EXCEPTION 'cannot rotate the master key in a % transaction',
		                pg_catalog.upper(pg_catalog.current_setting('transaction_isolation'))
			USING ERRCODE = 'ZC046',
			      DETAIL = 'The rotation must see every data key committed before it starts; an older snapshot would miss some.',
			      HINT = 'Run SELECT childguard.rotate_master_key() in its own READ COMMITTED transaction.';
	END IF;
	LOCK TABLE childguard.data_key IN SHARE ROW EXCLUSIVE MODE;
	current_id := childguard.master_key_id(false);
	PERFORM childguard._master_key_rotating();
	UPDATE childguard.data_key k
	   SET wrapped_key = childguard._rewrap_data_key(k.subject_no, k.key_version,
	                                                 k.wrapped_key, k.master_key_id),
	       master_key_id = current_id
	 WHERE k.wrapped_key IS NOT NULL
	   AND k.master_key_id OPERATOR(pg_catalog.<>) current_id;
	GET DIAGNOSTICS n = ROW_COUNT;
	RETURN n;
END
$$;
REVOKE ALL ON FUNCTION childguard.rotate_master_key() FROM PUBLIC;
COMMENT ON FUNCTION childguard.rotate_master_key() IS
	'Rewrap every data key under the current master key, in one READ COMMITTED transaction that keeps concurrent data-key writes out (online: readers continue; the previous key must be configured as childguard.previous_master_key_file/command). Returns the number of keys rewrapped.';
