-- ---------------------------------------------------------------------------
-- The retention clock (Art 12; issue 11, item 1)
--
-- A purpose's retention runs from when the data was collected for it: the
-- FIRST consent granted for (child, purpose).  Consent rows are never
-- deleted (a withdrawal stamps withdrawn_at, a material notice lapsed_at),
-- so that instant is already on record for every existing database and
-- needs no backfill; recording consent again does not move it, and a
-- consent recorded after the retention ended does not make the old data
-- readable again.  The read decision applies the same clock
-- (src/consent/consent.c).
--
-- A clock restarts only when the retention sweep has left nothing of the
-- child in the tables the purpose covers: retention_restart records the
-- instant the old retention ended, and from then on the clock runs from the
-- first consent granted at or after that instant (a consent recorded again
-- after the expiry); with none, the retention stays ended.  New data can be
-- collected only under a running clock (collection is refused after the
-- retention ended, ZC103), so a restarted clock never covers old data.
-- ---------------------------------------------------------------------------

CREATE TABLE childguard.retention_restart (
	subject_no		bigint NOT NULL REFERENCES childguard.child (subject_no),
	purpose_id		integer NOT NULL REFERENCES childguard.purpose (purpose_id),
	restarted_at	timestamptz NOT NULL,
	CONSTRAINT retention_restart_pkey PRIMARY KEY (subject_no, purpose_id)
);
COMMENT ON TABLE childguard.retention_restart IS
	'Art 12: retention clocks restarted by the retention sweep, once nothing of the child was left in the tables the purpose covers: restarted_at is when the old retention ended, and the clock then runs from the first consent granted at or after it.';
REVOKE ALL ON childguard.retention_restart FROM PUBLIC;
SELECT pg_catalog.pg_extension_config_dump('childguard.retention_restart', '');
CREATE TRIGGER retention_restart_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE
	ON childguard.retention_restart FOR EACH STATEMENT EXECUTE FUNCTION childguard._catalog_changed();

-- (subject_no, purpose_id) -> when its data was first collected (since the
-- last restart): the same rule as src/consent/consent.c, set-based.
CREATE FUNCTION childguard._retention_clocks(subjects bigint[] DEFAULT NULL)
	RETURNS TABLE (subject_no bigint, purpose_id integer, collected_since timestamptz,
	               retention_ends timestamptz, restarted_at timestamptz)
	LANGUAGE sql STABLE SECURITY DEFINER
	SET search_path = pg_catalog, pg_temp
AS $$
	SELECT k.subject_no, k.purpose_id,
	       pg_catalog.min(k.given_at) FILTER (
	           WHERE k.decision = 'granted' AND k.given_at >= coalesce(r.restarted_at, '-infinity')),
	       pg_catalog.min(k.given_at) FILTER (
	           WHERE k.decision = 'granted' AND k.given_at >= coalesce(r.restarted_at, '-infinity'))
	       + p.retention,
	       r.restarted_at
	  FROM childguard.consent k
	  JOIN childguard.purpose p ON p.purpose_id = k.purpose_id
	  LEFT JOIN childguard.retention_restart r
	    ON r.subject_no = k.subject_no AND r.purpose_id = k.purpose_id
	 WHERE (subjects IS NULL OR k.subject_no = ANY (subjects))
	 GROUP BY k.subject_no, k.purpose_id, p.retention, r.restarted_at
	HAVING pg_catalog.bool_or(k.decision = 'granted')
$$;
REVOKE ALL ON FUNCTION childguard._retention_clocks(bigint[]) FROM PUBLIC;
COMMENT ON FUNCTION childguard._retention_clocks(bigint[]) IS
	'The retention clock of each (child, purpose) with a granted consent (of the given children, or all): when the data was first collected for the purpose, and when its retention ends (both NULL after a restart without a consent granted since).';

CREATE VIEW childguard.retention_clocks AS
	SELECT c.child_id, p.purpose, k.collected_since, k.retention_ends, k.restarted_at
	  FROM childguard._retention_clocks() k
	  JOIN childguard.child c ON c.subject_no = k.subject_no
	  JOIN childguard.purpose p ON p.purpose_id = k.purpose_id;
REVOKE ALL ON childguard.retention_clocks FROM PUBLIC;
COMMENT ON VIEW childguard.retention_clocks IS
	'Art 12: per child and purpose, when its data was first collected (the retention clock starts there, not at the latest consent) and when its retention ends; NULL when the sweep restarted the clock and no consent was granted since.';

-- consent_in_force() counts the retention from the clock, as reads do
CREATE OR REPLACE FUNCTION childguard.consent_in_force(child text, purpose text, on_date date DEFAULT CURRENT_DATE)
	RETURNS boolean
	LANGUAGE sql STABLE SECURITY DEFINER
	SET search_path = pg_catalog, pg_temp
AS $$
	WITH c AS (SELECT * FROM childguard.child x WHERE x.child_id = child),
	     p AS (SELECT * FROM childguard.purpose x WHERE x.purpose = consent_in_force.purpose),
	     w AS (  -- the last word of each kind of giver (see src/consent/consent.c)
	        SELECT DISTINCT ON (k.giver_kind) k.giver_kind,
	               CASE WHEN k.withdrawn_at IS NOT NULL OR k.lapsed_at IS NOT NULL THEN 'none'
	                    ELSE k.decision END AS word,
	               k.given_at, k.informed_guardian_id IS NOT NULL AS informed
	          FROM childguard.consent k, c, p
	         WHERE k.subject_no = c.subject_no AND k.purpose_id = p.purpose_id
	         ORDER BY k.giver_kind,
	                  GREATEST(k.given_at, k.withdrawn_at, k.lapsed_at) DESC,
	                  (k.withdrawn_at IS NOT NULL OR k.lapsed_at IS NOT NULL) DESC,
	                  k.consent_id DESC),
	     clock AS (  -- the retention runs from the first collection (the clock)
	        SELECT k.retention_ends
	          FROM c, p, childguard._retention_clocks(ARRAY[c.subject_no]) k
	         WHERE k.purpose_id = p.purpose_id)
	SELECT c.erased_at IS NULL
	   AND NOT (c.in_difficulty AND p.forbidden_in_difficulty)
	   AND coalesce((SELECT clock.retention_ends > pg_catalog.now() FROM clock), false)
	   AND CASE
	       WHEN childguard.child_age(c.birth_date, on_date) < 14 OR (c.in_difficulty AND NOT c.can_express)
	       THEN EXISTS (SELECT 1 FROM w WHERE w.giver_kind = 'guardian' AND w.word = 'granted')
	            AND NOT (childguard.child_age(c.birth_date, on_date) >= 14 AND
	                     EXISTS (SELECT 1 FROM w WHERE w.giver_kind = 'child' AND w.word = 'refused'))
	       ELSE EXISTS (SELECT 1 FROM w WHERE w.giver_kind = 'child' AND w.word = 'granted'
	                    AND (w.informed OR NOT c.in_difficulty))
	       END
	  FROM c, p
$$;
COMMENT ON FUNCTION childguard.consent_in_force(text, text, date) IS
	'Whether a consent that counts is in force for the child and purpose on a date, within the purpose''s retention counted from the first collection (for inspection; reads decide in C with the same rule). NULL if the child or purpose is unknown.';
