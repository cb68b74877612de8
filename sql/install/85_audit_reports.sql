-------------------------------------------------------------------------------
-- Reports over the access log (C4): what is held about a child and who
-- accessed it (Measures Art 17; Provisions Art 19/20 requests), and the
-- children and guardians a role's access touched (breach notification,
-- Provisions Art 21).  For protection officers and the extension owner.
-------------------------------------------------------------------------------

CREATE FUNCTION childguard._require_auditor(action text) RETURNS void
	LANGUAGE plpgsql STABLE
	SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	IF NOT (childguard._caller_is_officer() OR childguard._caller_is_owner()) THEN
		RAISE EXCEPTION 'permission denied to %', action
			USING ERRCODE = '42501',
			      DETAIL = pg_catalog.format('Role "%s" is not a protection officer.', childguard._caller()),
			      HINT = 'Only a protection officer or the extension owner reads the access log.';
	END IF;
END
$$;
REVOKE ALL ON FUNCTION childguard._require_auditor(text) FROM PUBLIC;

CREATE FUNCTION childguard.child_report(child text) RETURNS jsonb
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
			           'lapsed_at', k.lapsed_at)
			       ORDER BY k.consent_id)
			  FROM childguard.consent k JOIN childguard.purpose p USING (purpose_id)
			 WHERE k.subject_no = c.subject_no), '[]'),
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
COMMENT ON FUNCTION childguard.child_report(text) IS
	'Measures Art 17, Provisions Art 19/20: everything held about a child (registry entry, guardians, consents, the protected tables and columns holding their data, with counts; no plaintext) and every recorded access to it, as JSON.';

CREATE FUNCTION childguard.breach_impact(roles text[], from_time timestamptz, to_time timestamptz)
	RETURNS TABLE (child_id text, subject_no bigint, guardians text[], statements bigint,
	               first_access timestamptz, last_access timestamptz,
	               relations text[], columns text[])
	LANGUAGE plpgsql STABLE SECURITY DEFINER
	SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	PERFORM childguard._require_auditor('assess a breach');
	IF roles IS NULL OR from_time IS NULL OR to_time IS NULL THEN
		RAISE EXCEPTION 'roles, from_time and to_time are required' USING ERRCODE = '22004';
	END IF;
	IF to_time < from_time THEN
		RAISE EXCEPTION 'the window ends before it begins' USING ERRCODE = '22023',
			DETAIL = 'to_time is earlier than from_time.';
	END IF;
	RETURN QUERY
	WITH touched AS (
		SELECT l.id, l.statement_at, l.relations, l.columns, s AS subject_no
		  FROM childguard.access_log l
		 CROSS JOIN LATERAL pg_catalog.unnest(l.children_read || l.children_written) s
		 WHERE (l.acting_role = ANY (roles) OR l.session_role = ANY (roles))
		   AND l.statement_at >= from_time AND l.statement_at < to_time)
	SELECT c.child_id, t.subject_no,
	       coalesce((SELECT pg_catalog.array_agg(g.guardian_id ORDER BY g.guardian_id)
	                   FROM childguard.child_guardian g WHERE g.subject_no = t.subject_no), '{}'),
	       pg_catalog.count(DISTINCT t.id),
	       pg_catalog.min(t.statement_at), pg_catalog.max(t.statement_at),
	       (SELECT pg_catalog.array_agg(DISTINCT r ORDER BY r)
	          FROM touched t2, pg_catalog.unnest(t2.relations) r WHERE t2.subject_no = t.subject_no),
	       (SELECT pg_catalog.array_agg(DISTINCT x ORDER BY x)
	          FROM touched t2, pg_catalog.unnest(t2.columns) x WHERE t2.subject_no = t.subject_no)
	  FROM touched t
	  LEFT JOIN childguard.child c ON c.subject_no = t.subject_no
	 GROUP BY c.child_id, t.subject_no
	 ORDER BY c.child_id, t.subject_no;
END
$$;
COMMENT ON FUNCTION childguard.breach_impact(text[], timestamptz, timestamptz) IS
	'Provisions Art 21: the children whose data the given roles (acting or logged in) read or wrote in [from_time, to_time), with their guardians to notify, how often, when, and which relations and columns.';

REVOKE ALL ON FUNCTION childguard.child_report(text) FROM PUBLIC;
REVOKE ALL ON FUNCTION childguard.breach_impact(text[], timestamptz, timestamptz) FROM PUBLIC;

-------------------------------------------------------------------------------
-- Officers read the log: appointing or dismissing an officer grants or
-- revokes the log, its views, verify_access_log() and the reports.
-------------------------------------------------------------------------------

CREATE FUNCTION childguard._officer_audit_privileges() RETURNS trigger
	LANGUAGE plpgsql
	SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	r name := CASE WHEN TG_OP = 'DELETE' THEN OLD.role_name ELSE NEW.role_name END;
	verb text := CASE WHEN TG_OP = 'DELETE' THEN 'REVOKE' ELSE 'GRANT' END;
	dir text := CASE WHEN TG_OP = 'DELETE' THEN 'FROM' ELSE 'TO' END;
BEGIN
	IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles x WHERE x.rolname = r) THEN
		RETURN NULL;
	END IF;
	EXECUTE pg_catalog.format('%s SELECT ON childguard.access_log, childguard.access_log_children, '
	                          'childguard.access_summary %s %I', verb, dir, r);
	EXECUTE pg_catalog.format('%s EXECUTE ON FUNCTION childguard.verify_access_log(), '
	                          'childguard.child_report(text), '
	                          'childguard.breach_impact(text[], timestamptz, timestamptz) %s %I',
	                          verb, dir, r);
	RETURN NULL;
END
$$;
REVOKE ALL ON FUNCTION childguard._officer_audit_privileges() FROM PUBLIC;
CREATE TRIGGER officer_audit_privileges AFTER INSERT OR DELETE ON childguard.officer
	FOR EACH ROW EXECUTE FUNCTION childguard._officer_audit_privileges();
