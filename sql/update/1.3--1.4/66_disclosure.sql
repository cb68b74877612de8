-- Disclosure (issue 14, item 3; Provisions Art 18, D-Art 13, 14).
--
-- A purpose of kind 'disclose' makes child data known to others; the new
-- kind 'publicize' makes it public (news, publications, web pages).  For a
-- child in difficult circumstances (D-Art 13, 14), enforced at read time
-- in C (src/consent/decision.c, consent.c):
--   * the consent of the child AND of a guardian: a guardian's, and the
--     child's own where the child can express their will, at any age (so a
--     child under 14 in difficulty may now record consent to a disclosure,
--     beside the guardian's, and a guardian may beside a child of 14 or
--     over);
--   * de-identification: the identifying categories of D-Art 14 (name,
--     address, location, image, voice, school) are withheld from every
--     disclosure concerning such a child -- it carries the other categories
--     only -- and under 'publicize' reading them is refused outright
--     (ZC533), as is consent to a publicize purpose that needs them (ZC533);
--   * a statement that read child data under a disclose or publicize
--     purpose is recorded with its own outcome, 'disclosed'.

ALTER TABLE childguard.purpose DROP CONSTRAINT purpose_kind_check;
ALTER TABLE childguard.purpose ADD CONSTRAINT purpose_kind_check
	CHECK (kind IN ('use', 'transfer', 'disclose', 'publicize'));
COMMENT ON COLUMN childguard.purpose.kind IS
	'use; transfer (to a third party, Art 17); disclose (Art 18); publicize (disclosure to the public: D-Art 14 categories of children in difficulty refused).';

-- the audit outcome of a disclosure (the chain hashes the outcome as text:
-- records of other outcomes are unchanged)
ALTER TABLE childguard.access_log DROP CONSTRAINT access_log_outcome_check;
ALTER TABLE childguard.access_log ADD CONSTRAINT access_log_outcome_check
	CHECK (outcome IN ('allowed', 'denied', 'error', 'disclosed'));
COMMENT ON COLUMN childguard.access_log.outcome IS 'allowed: child data was used (some children may still be listed as denied); disclosed: the same, under a disclose or publicize purpose (Art 18); denied: all of it was refused; error: the statement failed (see sqlstate)';

CREATE OR REPLACE VIEW childguard.access_summary AS
	SELECT (l.statement_at AT TIME ZONE 'UTC')::date AS day,
	       l.acting_role AS role_name,
	       l.purpose,
	       pg_catalog.count(*) AS statements,
	       pg_catalog.count(*) FILTER (WHERE l.outcome = 'allowed') AS allowed,
	       pg_catalog.count(*) FILTER (WHERE l.outcome = 'denied') AS denied,
	       pg_catalog.count(*) FILTER (WHERE l.outcome = 'error') AS errors,
	       pg_catalog.sum(pg_catalog.cardinality(l.children_read)) AS children_read,
	       pg_catalog.sum(pg_catalog.cardinality(l.children_denied)) AS children_denied,
	       pg_catalog.sum(pg_catalog.cardinality(l.children_written)) AS children_written,
	       pg_catalog.sum(l.rows) AS rows,
	       pg_catalog.count(*) FILTER (WHERE l.outcome = 'disclosed') AS disclosed
	  FROM childguard.access_log l
	 GROUP BY 1, 2, 3;
COMMENT ON VIEW childguard.access_summary IS
	'Access to child data per day (UTC), acting role and purpose: statements by outcome (disclosed: reads under a disclosure purpose), and children read, denied and written (summed per statement).';

-- The D-Art 14 categories, for the SQL checks (the C has the same list).
CREATE FUNCTION childguard.identifying_categories() RETURNS text[]
	LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$ SELECT '{address,image,location,name,school,voice}'::text[] $$;
COMMENT ON FUNCTION childguard.identifying_categories() IS
	'D-Art 14: the categories never made public for a child in difficult circumstances, and withheld from any disclosure concerning one (name, address, location, image, voice, school).';
GRANT EXECUTE ON FUNCTION childguard.identifying_categories() TO PUBLIC;


CREATE OR REPLACE FUNCTION childguard.define_purpose(purpose text, categories text[], retention interval,
										  kind text DEFAULT 'use',
										  forbidden_in_difficulty boolean DEFAULT false,
										  description text DEFAULT '')
	RETURNS integer
	LANGUAGE plpgsql SECURITY DEFINER
	SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	p integer;
BEGIN
	PERFORM childguard._require_officer('define a purpose');
	IF purpose IS NULL OR purpose !~ '^[a-z][a-z0-9_]{0,62}$' THEN
		RAISE EXCEPTION 'invalid purpose name "%"', purpose
			USING ERRCODE = '22023',
			      DETAIL = 'A purpose name is 1 to 63 lower-case letters, digits or underscores, starting with a letter.';
	END IF;
	IF kind IS NULL OR kind NOT IN ('use', 'transfer', 'disclose', 'publicize') THEN
		RAISE EXCEPTION 'invalid purpose kind "%"', kind
			USING ERRCODE = '22023', HINT = 'The kind is use, transfer, disclose or publicize.';
	END IF;
	IF retention IS NULL OR retention <= '0'::interval THEN
		RAISE EXCEPTION 'a purpose needs a positive retention period'
			USING ERRCODE = '22023', DETAIL = 'Art 12: data may not be kept longer than its purpose needs.';
	END IF;
	IF EXISTS (SELECT 1 FROM childguard.purpose x WHERE x.purpose = define_purpose.purpose) THEN
		RAISE EXCEPTION 'purpose "%" is already defined', purpose
			USING ERRCODE = '23505',
			      HINT = 'A purpose cannot be widened once defined (Art 14); define a new purpose and ask for consent to it.';
	END IF;
	INSERT INTO childguard.purpose (purpose, kind, categories, retention,
	                                forbidden_in_difficulty, description, defined_by)
	VALUES (define_purpose.purpose, define_purpose.kind, childguard._categories(categories),
	        define_purpose.retention, coalesce(define_purpose.forbidden_in_difficulty, false),
	        coalesce(define_purpose.description, ''), childguard._caller())
	RETURNING purpose_id INTO p;
	RETURN p;
END
$$;

COMMENT ON FUNCTION childguard.define_purpose(text, text[], interval, text, boolean, text) IS
	'Define a purpose (officer): the categories it needs, its retention, kind (use/transfer/disclose/publicize) and whether children in difficulty are excluded from it (fundraising, livestream sales, publicity: D-Art 15).';

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
	disclosure boolean;
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
	SELECT * INTO c FROM childguard._child_open x WHERE x.subject_no = childguard._subject_of(child);
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
	-- D-Art 13: a disclosure concerning a child in difficulty needs the
	-- child's consent and a guardian's, whatever the age
	disclosure := p.kind IN ('disclose', 'publicize') AND c.in_difficulty;
	IF kind = 'child' AND age < 14 AND NOT (disclosure AND c.can_express) THEN
		RAISE EXCEPTION 'child "%" is under 14 and cannot consent alone', child
			USING ERRCODE = 'ZC106',
			      DETAIL = 'Art 9: a guardian''s consent is required for a child under 14.',
			      HINT = 'Record the consent of a registered guardian.';
	END IF;
	IF kind = 'guardian' AND age >= 14 AND NOT (c.in_difficulty AND NOT c.can_express)
	   AND NOT disclosure THEN
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
	IF decision = 'granted' AND c.in_difficulty AND p.kind = 'publicize'
	   AND p.categories && childguard.identifying_categories() THEN
		RAISE EXCEPTION 'purpose "%" would make identifying data of a child in difficult circumstances public', purpose
			USING ERRCODE = 'ZC533',
			      DETAIL = pg_catalog.format('D-Art 14: the name, home address, image, voice and video, and school of a child in difficult circumstances are not made public; the purpose needs %s.',
			                                 pg_catalog.array_to_string(ARRAY(SELECT pg_catalog.unnest(p.categories)
			                                     INTERSECT SELECT pg_catalog.unnest(childguard.identifying_categories()) ORDER BY 1), ', ')),
			      HINT = 'Publicize under a purpose that needs none of these categories.';
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

CREATE OR REPLACE FUNCTION childguard.record_consents(consents regclass)
	RETURNS TABLE (row_no bigint, child_id text, purpose text, consent_id bigint,
				   sqlstate text, message text)
	LANGUAGE plpgsql SECURITY DEFINER
	SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	pr record;
BEGIN
	PERFORM childguard._require_consent_recorder('record consent');
	PERFORM childguard._staging_load(consents, 'childguard_consents_in',
	        childguard._staging_columns(consents, 'consents',
	                                    '{child_id,purpose,notice,given_by}', '{text,text,text,text}',
	                                    '{decision,notice_version,guardian_informed}', '{text,integer,text}',
	                                    '{''granted''::text,NULL::integer,NULL::text}'),
	        '{child_id,purpose,notice,given_by,decision,notice_version,guardian_informed}');

	-- separation of duties, once per purpose: the message of the ZC121 the
	-- row-by-row function would raise for it
	CREATE TEMP TABLE childguard_consents_reader (purpose text, message text) ON COMMIT DROP;
	FOR pr IN SELECT DISTINCT i.purpose FROM pg_temp.childguard_consents_in i LOOP
		BEGIN
			PERFORM childguard._refuse_reader(pr.purpose, 'record consent for it');
		EXCEPTION WHEN SQLSTATE 'ZC121' THEN
			INSERT INTO pg_temp.childguard_consents_reader VALUES (pr.purpose, SQLERRM);
		END;
	END LOOP;

	-- record_consent()'s order of checks
	CREATE TEMP TABLE childguard_consents_out ON COMMIT DROP AS
	WITH a AS (
		SELECT i.*, c.subject_no, c.child_id AS c_child_id, c.erased_at, c.in_difficulty,
		       c.can_express, p.purpose_id, p.purpose AS p_purpose, p.forbidden_in_difficulty,
		       p.kind IN ('disclose', 'publicize') AND c.in_difficulty AS disclosure,
		       p.kind = 'publicize' AND p.categories && childguard.identifying_categories() AS identifying_publicity,
		       n.notice_id AS n_notice_id, n.version AS n_version, n.purposes AS n_purposes,
		       r.message AS reader_message,
		       childguard.child_age(c.birth_date) AS age,
		       CASE WHEN i.given_by = c.child_id THEN 'child'
		            WHEN g1.guardian_id IS NOT NULL THEN 'guardian' END AS kind,
		       g2.guardian_id IS NOT NULL AS informed_is_guardian
		  FROM pg_temp.childguard_consents_in i
		  LEFT JOIN childguard._child_open c ON c.child_id = i.child_id
		  LEFT JOIN childguard.purpose p ON p.purpose = i.purpose
		  LEFT JOIN LATERAL (SELECT x.notice_id, x.version, x.purposes FROM childguard.notice x
		                      WHERE x.notice_id = i.notice ORDER BY x.version DESC LIMIT 1) n ON true
		  LEFT JOIN pg_temp.childguard_consents_reader r ON r.purpose = i.purpose
		  LEFT JOIN childguard.child_guardian g1
		         ON g1.subject_no = c.subject_no AND g1.guardian_id = i.given_by
		  LEFT JOIN childguard.child_guardian g2
		         ON g2.subject_no = c.subject_no AND g2.guardian_id = i.guardian_informed
	)
	SELECT a.*,
	       CASE WHEN a.reader_message IS NOT NULL THEN 'ZC121'
	            WHEN a.decision IS NULL OR a.decision NOT IN ('granted', 'refused') THEN 'decision'
	            WHEN a.given_by IS NULL OR a.given_by = '' THEN 'given_by'
	            WHEN a.subject_no IS NULL THEN 'child'
	            WHEN a.purpose_id IS NULL THEN 'purpose'
	            WHEN a.erased_at IS NOT NULL THEN 'erased'
	            WHEN a.n_notice_id IS NULL THEN 'notice'
	            WHEN a.notice_version IS NOT NULL AND a.notice_version <> a.n_version THEN 'superseded'
	            WHEN NOT a.p_purpose = ANY (a.n_purposes) THEN 'not covered'
	            WHEN a.kind IS NULL THEN 'giver'
	            WHEN a.kind = 'child' AND a.age < 14 AND NOT (a.disclosure AND a.can_express) THEN 'under 14'
	            WHEN a.kind = 'guardian' AND a.age >= 14 AND NOT (a.in_difficulty AND NOT a.can_express)
		         AND NOT a.disclosure THEN '14 or over'
	            WHEN a.kind = 'child' AND a.in_difficulty AND a.decision = 'granted'
	                 AND (a.guardian_informed IS NULL OR NOT a.informed_is_guardian) THEN 'inform'
	            WHEN NOT (a.kind = 'child' AND a.in_difficulty AND a.decision = 'granted')
	                 AND a.guardian_informed IS NOT NULL AND NOT a.informed_is_guardian THEN 'informed'
	            WHEN a.decision = 'granted' AND a.in_difficulty AND a.identifying_publicity THEN 'publicity'
	            WHEN a.decision = 'granted' AND a.in_difficulty AND a.forbidden_in_difficulty THEN 'forbidden'
	       END AS fault
	  FROM a;

	RETURN QUERY
	WITH ins AS (
		INSERT INTO childguard.consent (subject_no, purpose_id, decision, giver_kind, guardian_id,
		                                informed_guardian_id, notice_id, notice_version, recorded_by,
		                                recorded_by_role, recorded_session)
		SELECT o.subject_no, o.purpose_id, o.decision, o.kind,
		       CASE WHEN o.kind = 'guardian' THEN o.given_by END,
		       o.guardian_informed, o.n_notice_id, o.n_version, childguard._caller(),
		       childguard._caller_oid(), childguard._session_oid()
		  FROM pg_temp.childguard_consents_out o
		 WHERE o.fault IS NULL
		 ORDER BY o.row_no
		RETURNING childguard.consent.consent_id
	),
	-- identities are drawn in the order the rows are inserted (row_no)
	ins_n AS (SELECT ins.consent_id, pg_catalog.row_number() OVER (ORDER BY ins.consent_id) AS k FROM ins),
	ok_n AS (SELECT o.row_no, pg_catalog.row_number() OVER (ORDER BY o.row_no) AS k
	           FROM pg_temp.childguard_consents_out o WHERE o.fault IS NULL)
	SELECT o.row_no, o.child_id, o.purpose, ins_n.consent_id,
	       CASE o.fault WHEN 'ZC121' THEN 'ZC121' WHEN 'decision' THEN '22023' WHEN 'given_by' THEN '22023'
	                    WHEN 'child' THEN 'ZC011' WHEN 'purpose' THEN 'ZC101' WHEN 'erased' THEN 'ZC012'
	                    WHEN 'notice' THEN '22023' WHEN 'superseded' THEN 'ZC108' WHEN 'not covered' THEN 'ZC108'
	                    WHEN 'forbidden' THEN 'ZC109' WHEN 'publicity' THEN 'ZC533'
	                    ELSE CASE WHEN o.fault IS NOT NULL THEN 'ZC106' END END,
	       CASE o.fault
	            WHEN 'ZC121' THEN o.reader_message
	            WHEN 'decision' THEN pg_catalog.format('invalid consent decision "%s"', coalesce(o.decision, '<NULL>'))
	            WHEN 'given_by' THEN 'who gave the consent must be named'
	            WHEN 'child' THEN pg_catalog.format('child "%s" is not registered', coalesce(o.child_id, '<NULL>'))
	            WHEN 'purpose' THEN pg_catalog.format('unknown purpose "%s"', coalesce(o.purpose, '<NULL>'))
	            WHEN 'erased' THEN pg_catalog.format('child "%s" has been erased', o.child_id)
	            WHEN 'notice' THEN pg_catalog.format('unknown notice "%s"', coalesce(o.notice, '<NULL>'))
	            WHEN 'superseded' THEN pg_catalog.format('notice "%s" version %s has been superseded', o.notice, o.notice_version)
	            WHEN 'not covered' THEN pg_catalog.format('notice "%s" does not cover purpose "%s"', o.notice, o.purpose)
	            WHEN 'giver' THEN pg_catalog.format('consent for child "%s" cannot be given by "%s"', o.child_id, o.given_by)
	            WHEN 'under 14' THEN pg_catalog.format('child "%s" is under 14 and cannot consent alone', o.child_id)
	            WHEN '14 or over' THEN pg_catalog.format('child "%s" is 14 or over and decides for themselves', o.child_id)
	            WHEN 'inform' THEN pg_catalog.format('a guardian of child "%s" must be informed of this consent', o.child_id)
	            WHEN 'informed' THEN pg_catalog.format('"%s" is not a guardian of child "%s"', o.guardian_informed, o.child_id)
	            WHEN 'forbidden' THEN pg_catalog.format('purpose "%s" is forbidden for children in difficult circumstances', o.purpose)
	            WHEN 'publicity' THEN pg_catalog.format('purpose "%s" would make identifying data of a child in difficult circumstances public', o.purpose)
	       END
	  FROM pg_temp.childguard_consents_out o
	  LEFT JOIN ok_n ON ok_n.row_no = o.row_no
	  LEFT JOIN ins_n ON ins_n.k = ok_n.k
	 ORDER BY o.row_no;

	DROP TABLE pg_temp.childguard_consents_in, pg_temp.childguard_consents_out,
	           pg_temp.childguard_consents_reader;
END
$$;

-- Compliance duty (Provisions Art 18; D-Art 13, 14): no consent in force
-- would make identifying data of a child in difficulty public.
CREATE FUNCTION childguard.duty_disclosure_difficulty()
	RETURNS TABLE (pass boolean, reason text, objects text[])
	LANGUAGE plpgsql STABLE SECURITY DEFINER
	SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	faults text[];
BEGIN
	SELECT ARRAY(
		SELECT DISTINCT pg_catalog.format('child %s purpose %s', c.child_id, p.purpose)
		  FROM childguard.consent k
		  JOIN childguard._child_open c USING (subject_no)
		  JOIN childguard.purpose p USING (purpose_id)
		 WHERE k.decision = 'granted' AND k.withdrawn_at IS NULL AND k.lapsed_at IS NULL
		   AND c.in_difficulty AND c.erased_at IS NULL
		   AND p.kind = 'publicize' AND p.categories && childguard.identifying_categories()
		 ORDER BY 1) INTO faults;
	IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_constraint k
	                WHERE k.conrelid = 'childguard.access_log'::pg_catalog.regclass
	                  AND k.conname = 'access_log_outcome_check'
	                  AND pg_catalog.pg_get_constraintdef(k.oid) LIKE '%disclosed%') THEN
		faults := faults || 'constraint access_log_outcome_check on childguard.access_log'::text;
	END IF;
	IF pg_catalog.cardinality(faults) > 0 THEN
		RETURN QUERY SELECT false,
			'consent in force to publicize identifying data (D-Art 14) of a child in difficult circumstances, or disclosures cannot be recorded as such'::text,
			faults;
		RETURN;
	END IF;
	RETURN QUERY SELECT true,
		'no consent in force would publicize the name, address, image, voice or school of a child in difficult circumstances, and disclosures are recorded with their own outcome'::text,
		'{}'::text[];
END
$$;
REVOKE ALL ON FUNCTION childguard.duty_disclosure_difficulty() FROM PUBLIC;
COMMENT ON FUNCTION childguard.duty_disclosure_difficulty() IS
	'Compliance duty disclosure_difficulty (Provisions Art 18; D-Art 13, 14): no consent in force to a publicity purpose needing identifying categories for a child in difficulty; the audit records disclosures.';
INSERT INTO childguard.compliance_duty VALUES
	('disclosure_difficulty', 'Provisions Art 18; D-Art 13, 14',
	 'no consent in force would make the name, address, image, voice or school of a child in difficult circumstances public; reads under disclose/publicize purposes need the child''s and a guardian''s consent for such a child, withhold those categories, and are recorded as disclosed',
	 'childguard.duty_disclosure_difficulty()'::regprocedure, 'sql/disclosure.sql');
