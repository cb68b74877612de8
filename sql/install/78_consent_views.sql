-------------------------------------------------------------------------------
-- Declaring a purpose, and the registries as views (C6 inspection)
-------------------------------------------------------------------------------

CREATE FUNCTION childguard.set_purpose(purpose text, is_local boolean DEFAULT false)
	RETURNS text
	LANGUAGE sql
	SET search_path = pg_catalog, pg_temp
AS $$
	SELECT pg_catalog.set_config('childguard.purpose', coalesce(purpose, ''), is_local)
$$;
COMMENT ON FUNCTION childguard.set_purpose(text, boolean) IS
	'Declare the purpose of this session (or, with is_local, of this transaction); the same as SET childguard.purpose. An unknown purpose, or one the role has no grant for, is an error.';

CREATE FUNCTION childguard.current_purpose() RETURNS text
	LANGUAGE sql STABLE
	SET search_path = pg_catalog, pg_temp
AS $$
	SELECT NULLIF(pg_catalog.current_setting('childguard.purpose', true), '')
$$;
COMMENT ON FUNCTION childguard.current_purpose() IS 'The session''s declared purpose, or NULL.';

CREATE FUNCTION childguard.consent_in_force(child text, purpose text, on_date date DEFAULT CURRENT_DATE)
	RETURNS boolean
	LANGUAGE sql STABLE SECURITY DEFINER
	SET search_path = pg_catalog, pg_temp
AS $$
	WITH c AS (SELECT * FROM childguard.child x WHERE x.child_id = child),
	     p AS (SELECT * FROM childguard.purpose x WHERE x.purpose = consent_in_force.purpose),
	     w AS (  -- the last word of each kind of giver (see src/consent.c)
	        SELECT DISTINCT ON (k.giver_kind) k.giver_kind,
	               CASE WHEN k.withdrawn_at IS NOT NULL OR k.lapsed_at IS NOT NULL THEN 'none'
	                    ELSE k.decision END AS word,
	               k.given_at, k.informed_guardian_id IS NOT NULL AS informed
	          FROM childguard.consent k, c, p
	         WHERE k.subject_no = c.subject_no AND k.purpose_id = p.purpose_id
	         ORDER BY k.giver_kind,
	                  GREATEST(k.given_at, k.withdrawn_at, k.lapsed_at) DESC,
	                  (k.withdrawn_at IS NOT NULL OR k.lapsed_at IS NOT NULL) DESC,
	                  k.consent_id DESC)
	SELECT c.erased_at IS NULL
	   AND NOT (c.in_difficulty AND p.forbidden_in_difficulty)
	   AND CASE
	       WHEN childguard.child_age(c.birth_date, on_date) < 14 OR (c.in_difficulty AND NOT c.can_express)
	       THEN EXISTS (SELECT 1 FROM w WHERE w.giver_kind = 'guardian' AND w.word = 'granted'
	                    AND w.given_at + p.retention > pg_catalog.now())
	            AND NOT (childguard.child_age(c.birth_date, on_date) >= 14 AND
	                     EXISTS (SELECT 1 FROM w WHERE w.giver_kind = 'child' AND w.word = 'refused'))
	       ELSE EXISTS (SELECT 1 FROM w WHERE w.giver_kind = 'child' AND w.word = 'granted'
	                    AND (w.informed OR NOT c.in_difficulty)
	                    AND w.given_at + p.retention > pg_catalog.now())
	       END
	  FROM c, p
$$;
COMMENT ON FUNCTION childguard.consent_in_force(text, text, date) IS
	'Whether a consent that counts is in force for the child and purpose on a date (for inspection; reads decide in C with the same rule). NULL if the child or purpose is unknown.';

CREATE VIEW childguard.children AS
	SELECT c.child_id, c.birth_date, childguard.child_age(c.birth_date) AS age,
	       c.in_difficulty, c.can_express, c.registered_at, c.erased_at,
	       ARRAY(SELECT g.guardian_id FROM childguard.child_guardian g
	              WHERE g.subject_no = c.subject_no ORDER BY 1) AS guardians,
	       c.subject_no
	  FROM childguard.child c;
COMMENT ON VIEW childguard.children IS 'Registered children, their age today, circumstances and guardians.';

CREATE VIEW childguard.guardians AS
	SELECT g.guardian_id, c.child_id, g.relation, g.since
	  FROM childguard.child_guardian g JOIN childguard.child c USING (subject_no);
COMMENT ON VIEW childguard.guardians IS 'Guardians and the children they are responsible for.';

CREATE VIEW childguard.notices AS
	SELECT n.*, n.version = max(n.version) OVER (PARTITION BY n.notice_id) AS is_current
	  FROM childguard.notice n;
COMMENT ON VIEW childguard.notices IS 'Every version of every notice, with its seven Art 10 items.';

CREATE VIEW childguard.purposes AS
	SELECT p.purpose, p.kind, p.categories, p.retention, p.forbidden_in_difficulty,
	       p.description, p.defined_at, p.defined_by,
	       EXISTS (SELECT 1 FROM childguard.security_assessment a
	                WHERE a.purpose_id = p.purpose_id) AS assessed
	  FROM childguard.purpose p;
COMMENT ON VIEW childguard.purposes IS 'Defined purposes: categories needed, retention, kind, exclusions, assessment.';

CREATE VIEW childguard.consents AS
	SELECT k.consent_id, c.child_id, p.purpose, k.decision, k.giver_kind,
	       coalesce(k.guardian_id, c.child_id) AS given_by, k.informed_guardian_id,
	       k.notice_id, k.notice_version, k.given_at, k.recorded_by,
	       k.withdrawn_at, k.lapsed_at,
	       CASE WHEN k.withdrawn_at IS NOT NULL THEN 'withdrawn'
	            WHEN k.lapsed_at IS NOT NULL THEN 'lapsed'
	            ELSE k.decision END AS state
	  FROM childguard.consent k
	  JOIN childguard.child c USING (subject_no)
	  JOIN childguard.purpose p USING (purpose_id);
COMMENT ON VIEW childguard.consents IS 'Every consent decision with its state: granted, refused, withdrawn or lapsed.';

CREATE VIEW childguard.access_grants AS
	SELECT g.*,
	       CASE WHEN g.revoked_at IS NOT NULL THEN 'revoked'
	            WHEN g.approved_at IS NULL THEN 'requested'
	            WHEN g.valid_until <= pg_catalog.now() THEN 'expired'
	            WHEN g.valid_from > pg_catalog.now() THEN 'approved, not yet valid'
	            ELSE 'in force' END AS status
	  FROM childguard.access_grant g;
COMMENT ON VIEW childguard.access_grants IS 'Staff and processor grants and their status.';

CREATE VIEW childguard.officers AS SELECT * FROM childguard.officer;
COMMENT ON VIEW childguard.officers IS 'Appointed protection officers (Art 8).';
