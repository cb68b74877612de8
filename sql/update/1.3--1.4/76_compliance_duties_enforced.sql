-------------------------------------------------------------------------------
-- Part 76: the duties childguard enforced before 1.4, each with its live
-- check for the compliance report (part 75).  The API refuses to create
-- most of these faults; the checks look at what the registries and
-- catalogs hold now, so they also find what was changed around the API (a
-- superuser's edit, a role membership granted later, a restore) and what
-- time alone brings about (a retention that has run out).  Every duty is
-- broken and repaired in sql/compliance_report.sql.
-------------------------------------------------------------------------------

-- Art 8: a person responsible is appointed.
CREATE FUNCTION childguard.duty_officer_appointed()
	RETURNS TABLE (pass boolean, reason text, objects text[])
	LANGUAGE sql STABLE
	SET search_path = pg_catalog, pg_temp
AS $$
	WITH o AS (SELECT coalesce(childguard._role_name(x.role), x.role_name::name)::text AS name,
	                  childguard._role_alive(x.role) AS alive
	             FROM childguard.officer x)
	SELECT (SELECT pg_catalog.count(*) FROM o WHERE o.alive) > 0,
	       CASE WHEN (SELECT pg_catalog.count(*) FROM o WHERE o.alive) > 0
	            THEN pg_catalog.format('%s protection officer(s) appointed: %s.',
	                     (SELECT pg_catalog.count(*) FROM o WHERE o.alive),
	                     (SELECT pg_catalog.string_agg(o.name, ', ' ORDER BY o.name) FROM o WHERE o.alive))
	            ELSE 'No protection officer is appointed (or every appointed role is gone): nobody is responsible for children''s data.' END,
	       coalesce((SELECT pg_catalog.array_agg(o.name ORDER BY o.name) FROM o WHERE NOT o.alive), '{}')
$$;

-- Art 7: every grant names only defined purposes; every purpose names
-- known categories.
CREATE FUNCTION childguard.duty_purposes_defined()
	RETURNS TABLE (pass boolean, reason text, objects text[])
	LANGUAGE sql STABLE
	SET search_path = pg_catalog, pg_temp
AS $$
	WITH bad AS (
		SELECT pg_catalog.format('grant %s: purpose "%s"', g.grant_id, p) AS what
		  FROM childguard.access_grant g, pg_catalog.unnest(g.purposes) p
		 WHERE g.revoked_at IS NULL
		   AND NOT EXISTS (SELECT 1 FROM childguard.purpose x WHERE x.purpose = p)
		UNION ALL
		SELECT pg_catalog.format('purpose "%s": category "%s"', x.purpose, k)
		  FROM childguard.purpose x, pg_catalog.unnest(x.categories) k
		 WHERE NOT EXISTS (SELECT 1 FROM childguard.category c WHERE c.category = k))
	SELECT NOT EXISTS (SELECT 1 FROM bad),
	       CASE WHEN NOT EXISTS (SELECT 1 FROM bad)
	            THEN 'Every grant names defined purposes, and every purpose known categories.'
	            ELSE 'Art 7: processing is for declared, defined purposes: these name a purpose or category that is not defined.' END,
	       coalesce((SELECT pg_catalog.array_agg(bad.what ORDER BY bad.what) FROM bad), '{}')
$$;

-- Art 9, Measures Art 12: a consent that counts was given by the person
-- the child's age and circumstances require.
CREATE FUNCTION childguard.duty_consent_by_entitled()
	RETURNS TABLE (pass boolean, reason text, objects text[])
	LANGUAGE sql STABLE
	SET search_path = pg_catalog, pg_temp
AS $$
	WITH bad AS (
		SELECT pg_catalog.format('consent %s (child "%s"): %s', k.consent_id, c.child_id,
		           CASE WHEN k.giver_kind = 'guardian'
		                THEN pg_catalog.format('guardian "%s" is not a registered guardian of the child', k.guardian_id)
		                ELSE 'given by the child before the age of 14' END) AS what
		  FROM childguard.consent k JOIN childguard._child_open c USING (subject_no)
		 WHERE k.decision = 'granted' AND k.withdrawn_at IS NULL AND k.lapsed_at IS NULL
		   AND c.erased_at IS NULL
		   AND CASE WHEN k.giver_kind = 'guardian'
		            THEN NOT EXISTS (SELECT 1 FROM childguard.child_guardian g
		                              WHERE g.subject_no = k.subject_no AND g.guardian_id = k.guardian_id)
		            ELSE childguard.child_age(c.birth_date, (k.given_at AT TIME ZONE 'UTC')::date) < 14 END)
	SELECT NOT EXISTS (SELECT 1 FROM bad),
	       CASE WHEN NOT EXISTS (SELECT 1 FROM bad)
	            THEN 'Every consent in force was given by a registered guardian of the child, or by the child at 14 or over.'
	            ELSE 'Art 9, Measures Art 12: consents in force given by someone not entitled to give them.' END,
	       coalesce((SELECT pg_catalog.array_agg(bad.what ORDER BY bad.what) FROM bad), '{}')
$$;

-- Measures Art 12: for a child in difficult circumstances, a consent of the
-- child's own counts only with a registered guardian informed, and a child
-- who cannot express their will needs a guardian's consent.
CREATE FUNCTION childguard.duty_difficulty_consent()
	RETURNS TABLE (pass boolean, reason text, objects text[])
	LANGUAGE sql STABLE
	SET search_path = pg_catalog, pg_temp
AS $$
	WITH k AS (
		SELECT k.*, c.child_id, c.can_express, p.purpose
		  FROM childguard.consent k JOIN childguard._child_open c USING (subject_no)
		  JOIN childguard.purpose p USING (purpose_id)
		 WHERE k.decision = 'granted' AND k.withdrawn_at IS NULL AND k.lapsed_at IS NULL
		   AND c.erased_at IS NULL AND c.in_difficulty),
	     bad AS (
		SELECT pg_catalog.format('consent %s (child "%s"): no registered guardian informed', k.consent_id, k.child_id) AS what
		  FROM k
		 WHERE k.giver_kind = 'child'
		   AND NOT EXISTS (SELECT 1 FROM childguard.child_guardian g
		                    WHERE g.subject_no = k.subject_no AND g.guardian_id = k.informed_guardian_id)
		UNION
		SELECT pg_catalog.format('child "%s", purpose "%s": the child cannot express their will and no guardian consented',
		                         k.child_id, k.purpose)
		  FROM k
		 WHERE NOT k.can_express AND k.giver_kind = 'child'
		   AND NOT EXISTS (SELECT 1 FROM k k2
		                    WHERE k2.subject_no = k.subject_no AND k2.purpose_id = k.purpose_id
		                      AND k2.giver_kind = 'guardian'))
	SELECT NOT EXISTS (SELECT 1 FROM bad),
	       CASE WHEN NOT EXISTS (SELECT 1 FROM bad)
	            THEN 'Every consent in force of a child in difficult circumstances has a registered guardian informed, or a guardian''s consent where the child cannot express their will.'
	            ELSE 'Measures Art 12: consents in force of children in difficult circumstances without the guardian the Measures require.' END,
	       coalesce((SELECT pg_catalog.array_agg(bad.what ORDER BY bad.what) FROM bad), '{}')
$$;

-- Art 10: every purpose with consents in force is covered by the current
-- version of a notice carrying the seven items.
CREATE FUNCTION childguard.duty_notices_complete()
	RETURNS TABLE (pass boolean, reason text, objects text[])
	LANGUAGE sql STABLE
	SET search_path = pg_catalog, pg_temp
AS $$
	WITH cur AS (
		SELECT DISTINCT ON (n.notice_id) n.*
		  FROM childguard.notice n ORDER BY n.notice_id, n.version DESC),
	     ok AS (
		SELECT DISTINCT p FROM cur, pg_catalog.unnest(cur.purposes) p
		 WHERE '' <> ALL (ARRAY[cur.purpose_method_scope, cur.storage_location_period,
		                        cur.security_measures, cur.refusal_consequences,
		                        cur.complaint_channels, cur.correction_deletion, cur.other_matters])),
	     bad AS (
		SELECT DISTINCT pg_catalog.format('purpose "%s"', p.purpose) AS what
		  FROM childguard.consent k JOIN childguard.purpose p USING (purpose_id)
		 WHERE k.decision = 'granted' AND k.withdrawn_at IS NULL AND k.lapsed_at IS NULL
		   AND NOT EXISTS (SELECT 1 FROM ok WHERE ok.p = p.purpose))
	SELECT NOT EXISTS (SELECT 1 FROM bad),
	       CASE WHEN NOT EXISTS (SELECT 1 FROM bad)
	            THEN 'Every purpose with consents in force is covered by the current version of a notice with all seven Art 10 items.'
	            ELSE 'Art 10: consents are in force for purposes no current, complete notice covers.' END,
	       coalesce((SELECT pg_catalog.array_agg(bad.what ORDER BY bad.what) FROM bad), '{}')
$$;

-- Art 11: a grant covers only categories its purposes need.
CREATE FUNCTION childguard.duty_collection_necessary()
	RETURNS TABLE (pass boolean, reason text, objects text[])
	LANGUAGE sql STABLE
	SET search_path = pg_catalog, pg_temp
AS $$
	WITH bad AS (
		SELECT pg_catalog.format('grant %s: category "%s"', g.grant_id, k) AS what
		  FROM childguard.access_grant g, pg_catalog.unnest(g.categories) k
		 WHERE g.revoked_at IS NULL AND g.valid_until > pg_catalog.now()
		   AND NOT EXISTS (SELECT 1 FROM childguard.purpose p
		                    WHERE p.purpose = ANY (g.purposes) AND k = ANY (p.categories)))
	SELECT NOT EXISTS (SELECT 1 FROM bad),
	       CASE WHEN NOT EXISTS (SELECT 1 FROM bad)
	            THEN 'Every grant in force covers only categories its purposes need.'
	            ELSE 'Art 11: grants in force cover categories none of their purposes needs.' END,
	       coalesce((SELECT pg_catalog.array_agg(bad.what ORDER BY bad.what) FROM bad), '{}')
$$;

-- Art 12: no consent counts past its purpose's retention.
CREATE FUNCTION childguard.duty_retention_respected()
	RETURNS TABLE (pass boolean, reason text, objects text[])
	LANGUAGE sql STABLE
	SET search_path = pg_catalog, pg_temp
AS $$
	WITH bad AS (
		SELECT pg_catalog.format('child "%s", purpose "%s": retention %s ended %s',
		           c.child_id, p.purpose, p.retention, k.given_at + p.retention) AS what
		  FROM childguard.consent k JOIN childguard.purpose p USING (purpose_id)
		  JOIN childguard.child c ON c.subject_no = k.subject_no
		 WHERE k.decision = 'granted' AND k.withdrawn_at IS NULL AND k.lapsed_at IS NULL
		   AND c.erased_at IS NULL
		   AND k.given_at + p.retention <= pg_catalog.now())
	SELECT NOT EXISTS (SELECT 1 FROM bad),
	       CASE WHEN NOT EXISTS (SELECT 1 FROM bad)
	            THEN 'No consent is still open past its purpose''s retention period.'
	            ELSE 'Art 12: these consents are past their purpose''s retention: reads of the data are refused, but it is still held (erase it, or withdraw the consent).' END,
	       coalesce((SELECT pg_catalog.array_agg(bad.what ORDER BY bad.what) FROM bad), '{}')
$$;

-- Art 13 (invariants 1, 2): every table holding child data is protected.
CREATE FUNCTION childguard.duty_tables_protected()
	RETURNS TABLE (pass boolean, reason text, objects text[])
	LANGUAGE sql STABLE
	SET search_path = pg_catalog, pg_temp
AS $$
	WITH t AS (SELECT DISTINCT p.table_name, p.is_protected FROM childguard.protected_columns p),
	     bad AS (
		SELECT pg_catalog.format('%s: %s', t.table_name,
		           coalesce(childguard.protection_problem(t.table_name),
		                    'not protected (childguard.protect() was not run)')) AS what
		  FROM t WHERE NOT t.is_protected)
	SELECT NOT EXISTS (SELECT 1 FROM bad),
	       CASE WHEN NOT EXISTS (SELECT 1 FROM bad)
	            THEN pg_catalog.format('All %s table(s) holding child data are protected.',
	                                   (SELECT pg_catalog.count(*) FROM t))
	            ELSE 'Art 13: tables with child data columns that are not protected (writes to them are refused, but the protection is missing).' END,
	       coalesce((SELECT pg_catalog.array_agg(bad.what ORDER BY bad.what) FROM bad), '{}')
$$;

-- Art 13: a master key is configured and wraps every live data key.
CREATE FUNCTION childguard.duty_keys_configured()
	RETURNS TABLE (pass boolean, reason text, objects text[])
	LANGUAGE sql VOLATILE
	SET search_path = pg_catalog, pg_temp
AS $$
	WITH m AS (SELECT childguard.master_key_id(false) AS id),
	     bad AS (
		SELECT pg_catalog.format('child "%s": data key version %s', c.child_id, k.key_version) AS what
		  FROM childguard.data_key k JOIN childguard.child c USING (subject_no), m
		 WHERE k.wrapped_key IS NOT NULL AND k.master_key_id IS DISTINCT FROM m.id)
	SELECT (SELECT m.id IS NOT NULL FROM m) AND NOT EXISTS (SELECT 1 FROM bad),
	       CASE WHEN (SELECT m.id IS NULL FROM m)
	            THEN 'Art 13: no master key is configured: child data can be neither written nor read.'
	            WHEN EXISTS (SELECT 1 FROM bad)
	            THEN 'Art 13: live data keys are wrapped by a master key that is not the one configured: their children''s data cannot be read (configure the previous key and run rotate_master_key()).'
	            ELSE pg_catalog.format('A master key is configured and wraps all %s live data key(s).',
	                     (SELECT pg_catalog.count(*) FROM childguard.data_key k WHERE k.wrapped_key IS NOT NULL)) END,
	       coalesce((SELECT pg_catalog.array_agg(bad.what ORDER BY bad.what) FROM bad), '{}')
$$;

-- Art 14: a purpose is not changed once defined.  define_purpose() never
-- redefines one; what each purpose was when it was defined is kept beside
-- it (a row trigger on insert: also a restore's rows, re-recorded as they
-- are loaded), and the check compares.
CREATE TABLE childguard.purpose_definition (
	purpose_id		integer PRIMARY KEY,
	purpose			text NOT NULL,
	kind			text NOT NULL,
	categories		text[] NOT NULL,
	retention		interval NOT NULL,
	forbidden_in_difficulty boolean NOT NULL,
	recorded_at		timestamptz NOT NULL DEFAULT pg_catalog.now()
);
COMMENT ON TABLE childguard.purpose_definition IS
	'Art 14: each purpose as it was defined (recorded when its row is inserted), against which the compliance report checks that it was not changed.';
REVOKE ALL ON childguard.purpose_definition FROM PUBLIC;
-- purposes defined before 1.4: as they are now
INSERT INTO childguard.purpose_definition (purpose_id, purpose, kind, categories, retention,
                                           forbidden_in_difficulty)
SELECT p.purpose_id, p.purpose, p.kind, p.categories, p.retention, p.forbidden_in_difficulty
  FROM childguard.purpose p;

CREATE FUNCTION childguard._purpose_defined() RETURNS trigger
	LANGUAGE plpgsql
	SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	INSERT INTO childguard.purpose_definition (purpose_id, purpose, kind, categories, retention,
	                                           forbidden_in_difficulty)
	VALUES (NEW.purpose_id, NEW.purpose, NEW.kind, NEW.categories, NEW.retention,
	        NEW.forbidden_in_difficulty)
	ON CONFLICT (purpose_id) DO UPDATE
	   SET purpose = EXCLUDED.purpose, kind = EXCLUDED.kind, categories = EXCLUDED.categories,
	       retention = EXCLUDED.retention, forbidden_in_difficulty = EXCLUDED.forbidden_in_difficulty,
	       recorded_at = EXCLUDED.recorded_at;
	RETURN NULL;
END
$$;
REVOKE ALL ON FUNCTION childguard._purpose_defined() FROM PUBLIC;
COMMENT ON FUNCTION childguard._purpose_defined() IS
	'Trigger on childguard.purpose: record a purpose as it is defined (childguard.purpose_definition).';
CREATE TRIGGER purpose_defined AFTER INSERT ON childguard.purpose
	FOR EACH ROW EXECUTE FUNCTION childguard._purpose_defined();
-- also under session_replication_role = replica (a restore may run so)
ALTER TABLE childguard.purpose ENABLE ALWAYS TRIGGER purpose_defined;

CREATE FUNCTION childguard.duty_purposes_unchanged()
	RETURNS TABLE (pass boolean, reason text, objects text[])
	LANGUAGE sql STABLE
	SET search_path = pg_catalog, pg_temp
AS $$
	WITH bad AS (
		SELECT pg_catalog.format('purpose "%s": %s', p.purpose,
		           CASE WHEN d.purpose_id IS NULL THEN 'no definition recorded'
		                ELSE pg_catalog.concat_ws(', ',
		                    CASE WHEN d.purpose IS DISTINCT FROM p.purpose THEN 'renamed' END,
		                    CASE WHEN d.kind IS DISTINCT FROM p.kind THEN pg_catalog.format('kind %s, defined %s', p.kind, d.kind) END,
		                    CASE WHEN d.categories IS DISTINCT FROM p.categories
		                         THEN pg_catalog.format('categories %s, defined %s', p.categories, d.categories) END,
		                    CASE WHEN d.retention IS DISTINCT FROM p.retention
		                         THEN pg_catalog.format('retention %s, defined %s', p.retention, d.retention) END,
		                    CASE WHEN d.forbidden_in_difficulty IS DISTINCT FROM p.forbidden_in_difficulty
		                         THEN 'forbidden_in_difficulty changed' END) END) AS what
		  FROM childguard.purpose p
		  LEFT JOIN childguard.purpose_definition d USING (purpose_id)
		 WHERE d.purpose_id IS NULL
		    OR (d.purpose, d.kind, d.categories, d.retention, d.forbidden_in_difficulty)
		       IS DISTINCT FROM (p.purpose, p.kind, p.categories, p.retention, p.forbidden_in_difficulty))
	SELECT NOT EXISTS (SELECT 1 FROM bad),
	       CASE WHEN NOT EXISTS (SELECT 1 FROM bad)
	            THEN 'Every purpose is as it was defined.'
	            ELSE 'Art 14: these purposes were changed after they were defined: consents given to them did not agree to the purpose as it is now.' END,
	       coalesce((SELECT pg_catalog.array_agg(bad.what ORDER BY bad.what) FROM bad), '{}')
$$;

-- Art 15: every grant in force was approved by an officer who is not, and
-- is not related to, its requester or grantee.
CREATE FUNCTION childguard.duty_grants_two_person()
	RETURNS TABLE (pass boolean, reason text, objects text[])
	LANGUAGE sql STABLE
	SET search_path = pg_catalog, pg_temp
AS $$
	WITH bad AS (
		SELECT pg_catalog.format('grant %s to %s: %s', g.grant_id, coalesce(g.grantee_role::text, g.grantee::text),
		           CASE WHEN g.approver_role IS NULL THEN 'no approving role recorded'
		                WHEN g.grantee_role IS NOT NULL AND childguard._roles_related(g.approver_role, g.grantee_role)
		                THEN pg_catalog.format('approver %s is related to the grantee', g.approver_role)
		                ELSE pg_catalog.format('approver %s is related to the requester', g.approver_role) END) AS what
		  FROM childguard.access_grant g
		 WHERE g.approved_at IS NOT NULL AND g.revoked_at IS NULL AND g.valid_until > pg_catalog.now()
		   AND (g.approver_role IS NULL
		        OR (g.grantee_role IS NOT NULL AND childguard._roles_related(g.approver_role, g.grantee_role))
		        OR (g.requester_role IS NOT NULL AND childguard._roles_related(g.approver_role, g.requester_role))))
	SELECT NOT EXISTS (SELECT 1 FROM bad),
	       CASE WHEN NOT EXISTS (SELECT 1 FROM bad)
	            THEN 'Every grant in force was approved by a role unrelated to its requester and grantee.'
	            ELSE 'Art 15: grants in force whose approver is (now) the same person as the requester or grantee (role membership).' END,
	       coalesce((SELECT pg_catalog.array_agg(bad.what ORDER BY bad.what) FROM bad), '{}')
$$;

-- Art 9, 15: no consent recorder reads for the purposes it records.
CREATE FUNCTION childguard.duty_consent_recorders_separate()
	RETURNS TABLE (pass boolean, reason text, objects text[])
	LANGUAGE sql STABLE
	SET search_path = pg_catalog, pg_temp
AS $$
	WITH bad AS (
		SELECT pg_catalog.format('recorder %s: grant %s', e.role, g.grant_id) AS what
		  FROM childguard.enrollment e, childguard.access_grant g
		 WHERE e.duty = 'consent_recorder' AND childguard._role_alive(e.role)
		   AND g.revoked_at IS NULL AND g.valid_until > pg_catalog.now()
		   AND g.grantee_role IS NOT NULL AND childguard._roles_related(e.role, g.grantee_role))
	SELECT NOT EXISTS (SELECT 1 FROM bad),
	       CASE WHEN NOT EXISTS (SELECT 1 FROM bad)
	            THEN 'No consent recorder holds, or is related to a role holding, a grant in force.'
	            ELSE 'Art 9, 15: consent recorders that can read child data (through a grant, or role membership): consent must not be entered by those who read.' END,
	       coalesce((SELECT pg_catalog.array_agg(bad.what ORDER BY bad.what) FROM bad), '{}')
$$;

-- Art 16: every processor grant in force has an agreement and an
-- assessment for each of its purposes.
CREATE FUNCTION childguard.duty_processors_assessed()
	RETURNS TABLE (pass boolean, reason text, objects text[])
	LANGUAGE sql STABLE
	SET search_path = pg_catalog, pg_temp
AS $$
	WITH bad AS (
		SELECT pg_catalog.format('grant %s to %s: %s', g.grant_id, coalesce(g.grantee_role::text, g.grantee::text),
		           CASE WHEN coalesce(g.agreement, '') = '' THEN 'no agreement'
		                ELSE pg_catalog.format('no assessment of purpose "%s"', p) END) AS what
		  FROM childguard.access_grant g, pg_catalog.unnest(g.purposes) p
		 WHERE g.processor AND g.revoked_at IS NULL AND g.valid_until > pg_catalog.now()
		   AND (coalesce(g.agreement, '') = ''
		        OR NOT EXISTS (SELECT 1 FROM childguard.security_assessment a
		                         JOIN childguard.purpose x USING (purpose_id) WHERE x.purpose = p)))
	SELECT NOT EXISTS (SELECT 1 FROM bad),
	       CASE WHEN NOT EXISTS (SELECT 1 FROM bad)
	            THEN 'Every processor grant in force has an agreement and a security assessment of its purposes.'
	            ELSE 'Art 16: processor grants in force without an agreement or a security assessment.' END,
	       coalesce((SELECT pg_catalog.array_agg(bad.what ORDER BY bad.what) FROM bad), '{}')
$$;

-- Art 17: every transfer purpose that a grant in force can read under has
-- a security assessment.
CREATE FUNCTION childguard.duty_transfers_assessed()
	RETURNS TABLE (pass boolean, reason text, objects text[])
	LANGUAGE sql STABLE
	SET search_path = pg_catalog, pg_temp
AS $$
	WITH bad AS (
		SELECT DISTINCT pg_catalog.format('purpose "%s"', p.purpose) AS what
		  FROM childguard.purpose p
		 WHERE p.kind = 'transfer'
		   AND EXISTS (SELECT 1 FROM childguard.access_grant g
		                WHERE p.purpose = ANY (g.purposes) AND g.approved_at IS NOT NULL
		                  AND g.revoked_at IS NULL AND g.valid_until > pg_catalog.now())
		   AND NOT EXISTS (SELECT 1 FROM childguard.security_assessment a WHERE a.purpose_id = p.purpose_id))
	SELECT NOT EXISTS (SELECT 1 FROM bad),
	       CASE WHEN NOT EXISTS (SELECT 1 FROM bad)
	            THEN 'Every transfer purpose with an approved grant in force has a security assessment.'
	            ELSE 'Art 17: transfer purposes with approved grants in force and no security assessment.' END,
	       coalesce((SELECT pg_catalog.array_agg(bad.what ORDER BY bad.what) FROM bad), '{}')
$$;

-- Measures Art 15: no consent in force of a child in difficulty to a
-- purpose forbidden for such children.
CREATE FUNCTION childguard.duty_difficulty_forbidden()
	RETURNS TABLE (pass boolean, reason text, objects text[])
	LANGUAGE sql STABLE
	SET search_path = pg_catalog, pg_temp
AS $$
	WITH bad AS (
		SELECT pg_catalog.format('child "%s", purpose "%s"', c.child_id, p.purpose) AS what
		  FROM childguard.consent k JOIN childguard.purpose p USING (purpose_id)
		  JOIN childguard._child_open c ON c.subject_no = k.subject_no
		 WHERE k.decision = 'granted' AND k.withdrawn_at IS NULL AND k.lapsed_at IS NULL
		   AND c.erased_at IS NULL AND c.in_difficulty AND p.forbidden_in_difficulty)
	SELECT NOT EXISTS (SELECT 1 FROM bad),
	       CASE WHEN NOT EXISTS (SELECT 1 FROM bad)
	            THEN 'No child in difficult circumstances has a consent in force to a purpose forbidden for them.'
	            ELSE 'Measures Art 15: children in difficult circumstances with consents in force to forbidden purposes (reads are refused; withdraw the consents and erase what was collected).' END,
	       coalesce((SELECT pg_catalog.array_agg(bad.what ORDER BY bad.what) FROM bad), '{}')
$$;

-- Art 15, 21, 22 (invariant 4): the access log's and consent log's hash
-- chains verify.
CREATE FUNCTION childguard.duty_audit_chain()
	RETURNS TABLE (pass boolean, reason text, objects text[])
	LANGUAGE sql VOLATILE
	SET search_path = pg_catalog, pg_temp
AS $$
	WITH a AS (SELECT * FROM childguard.verify_access_log()),
	     k AS (SELECT * FROM childguard.verify_consent_log())
	SELECT a.valid AND k.valid,
	       CASE WHEN a.valid AND k.valid
	            THEN pg_catalog.format('The access log (%s records) and the consent log (%s events) verify.',
	                                   a.records_checked, k.records_checked)
	            ELSE 'Invariant 4: a hash chain does not verify: records were altered, removed or forged.' END,
	       ARRAY(SELECT x FROM pg_catalog.unnest(ARRAY[
	                 CASE WHEN NOT a.valid THEN pg_catalog.format('access_log %s: %s', a.broken_id, a.reason) END,
	                 CASE WHEN NOT k.valid THEN pg_catalog.format('consent_log %s: %s', k.broken_id, k.reason) END]) x
	              WHERE x IS NOT NULL)
	  FROM a, k
$$;

DO $duties$
DECLARE
	f regprocedure;
BEGIN
	FOREACH f IN ARRAY ARRAY[
			'childguard.duty_officer_appointed()', 'childguard.duty_purposes_defined()',
			'childguard.duty_consent_by_entitled()', 'childguard.duty_difficulty_consent()',
			'childguard.duty_notices_complete()',
			'childguard.duty_collection_necessary()', 'childguard.duty_retention_respected()',
			'childguard.duty_tables_protected()', 'childguard.duty_keys_configured()',
			'childguard.duty_purposes_unchanged()', 'childguard.duty_grants_two_person()',
			'childguard.duty_consent_recorders_separate()', 'childguard.duty_processors_assessed()',
			'childguard.duty_transfers_assessed()', 'childguard.duty_difficulty_forbidden()',
			'childguard.duty_audit_chain()']::regprocedure[] LOOP
		EXECUTE pg_catalog.format('REVOKE ALL ON FUNCTION %s FROM PUBLIC', f);
		EXECUTE pg_catalog.format('COMMENT ON FUNCTION %s IS %L', f,
		        'The compliance report''s live check of one duty (childguard.compliance_duty).');
	END LOOP;
END
$duties$;

INSERT INTO childguard.compliance_duty (duty, article, what_is_checked, check_function, test) VALUES
	('officer_appointed', 'Provisions Art 8',
	 'a protection officer is appointed and its role still exists', 'childguard.duty_officer_appointed()', 'sql/compliance_report.sql'),
	('purposes_defined', 'Provisions Art 7',
	 'every grant names defined purposes, every purpose known categories', 'childguard.duty_purposes_defined()', 'sql/compliance_report.sql'),
	('consent_by_entitled', 'Provisions Art 9',
	 'every consent in force was given by a registered guardian of the child, or by the child at 14 or over (Measures Art 12)', 'childguard.duty_consent_by_entitled()', 'sql/compliance_report.sql'),
	('notices_complete', 'Provisions Art 10',
	 'every purpose with consents in force is covered by the current version of a notice with the seven items', 'childguard.duty_notices_complete()', 'sql/compliance_report.sql'),
	('collection_necessary', 'Provisions Art 11',
	 'every grant in force covers only categories its purposes need', 'childguard.duty_collection_necessary()', 'sql/compliance_report.sql'),
	('retention_respected', 'Provisions Art 12',
	 'no consent is still open past its purpose''s retention', 'childguard.duty_retention_respected()', 'sql/compliance_report.sql'),
	('tables_protected', 'Provisions Art 13',
	 'every table with a child_data column is protected (protection_problem() is empty)', 'childguard.duty_tables_protected()', 'sql/compliance_report.sql'),
	('keys_configured', 'Provisions Art 13',
	 'a master key is configured and wraps every live data key', 'childguard.duty_keys_configured()', 'sql/compliance_report.sql'),
	('purposes_unchanged', 'Provisions Art 14',
	 'no purpose was changed after it was defined (its categories, retention, kind, exclusion of children in difficulty)', 'childguard.duty_purposes_unchanged()', 'sql/compliance_report.sql'),
	('grants_two_person', 'Provisions Art 15',
	 'every grant in force was approved by a role unrelated to its requester and grantee', 'childguard.duty_grants_two_person()', 'sql/compliance_report.sql'),
	('consent_recorders_separate', 'Provisions Art 15',
	 'no consent recorder holds or is related to a role holding a grant in force (Art 9)', 'childguard.duty_consent_recorders_separate()', 'sql/compliance_report.sql'),
	('processors_assessed', 'Provisions Art 16',
	 'every processor grant in force has an agreement and an assessment of its purposes', 'childguard.duty_processors_assessed()', 'sql/compliance_report.sql'),
	('transfers_assessed', 'Provisions Art 17',
	 'every transfer purpose with an approved grant in force has a security assessment', 'childguard.duty_transfers_assessed()', 'sql/compliance_report.sql'),
	('difficulty_consent', 'Measures Art 12',
	 'for a child in difficult circumstances, the child''s own consent has a registered guardian informed, and a child who cannot express their will has a guardian''s consent', 'childguard.duty_difficulty_consent()', 'sql/compliance_report.sql'),
	('difficulty_forbidden', 'Measures Art 15',
	 'no child in difficult circumstances has a consent in force to a purpose forbidden for them', 'childguard.duty_difficulty_forbidden()', 'sql/compliance_report.sql'),
	('audit_chain', 'Provisions Art 21, 22',
	 'the access log''s and the consent log''s hash chains verify (invariant 4)', 'childguard.duty_audit_chain()', 'sql/compliance_report.sql');
