-------------------------------------------------------------------------------
-- Consents (Art 9, 10, 14; D-Art 12): each row is one decision, granted or
-- refused, by a guardian or by the child, on one notice version, for one
-- purpose.  Withdrawal and lapse (a material new notice) are stamped on the
-- row; nothing is ever deleted, so the history is the proof.
--
-- Who must consent is decided when the consent is checked, from the birth
-- date (no batch job: a birthday changes the answer):
--   under 14                          a guardian of the child
--   14 or over                        the child
--   14 or over, in difficulty         the child, with a guardian informed
--   14 or over, in difficulty,
--     unable to express their will    a guardian (and no refusal by the child)
-- The decision is in C (src/consent.c); record_consent() applies the same
-- rule to refuse consent from anyone else.
-------------------------------------------------------------------------------

CREATE FUNCTION childguard.child_age(birth_date date, on_date date DEFAULT CURRENT_DATE)
	RETURNS integer
	LANGUAGE C STABLE STRICT PARALLEL SAFE AS 'MODULE_PATHNAME', 'cg_child_age';
COMMENT ON FUNCTION childguard.child_age(date, date) IS
	'Age in whole years on a date (default: today); the rule childguard uses for the age of consent.';

CREATE TABLE childguard.consent (
	consent_id		bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	subject_no		bigint NOT NULL REFERENCES childguard.child (subject_no),
	purpose_id		integer NOT NULL REFERENCES childguard.purpose (purpose_id),
	decision		text NOT NULL CHECK (decision IN ('granted', 'refused')),
	giver_kind		text NOT NULL CHECK (giver_kind IN ('guardian', 'child')),
	guardian_id		text REFERENCES childguard.guardian (guardian_id),
	informed_guardian_id text REFERENCES childguard.guardian (guardian_id),
	notice_id		text NOT NULL,
	notice_version	integer NOT NULL,
	given_at		timestamptz NOT NULL DEFAULT pg_catalog.now(),
	recorded_by		name NOT NULL,
	withdrawn_at	timestamptz,
	lapsed_at		timestamptz,
	CONSTRAINT consent_notice_fkey FOREIGN KEY (notice_id, notice_version)
		REFERENCES childguard.notice (notice_id, version),
	CONSTRAINT consent_giver_check CHECK ((giver_kind = 'guardian') = (guardian_id IS NOT NULL)),
	CONSTRAINT consent_withdrawn_check CHECK (withdrawn_at IS NULL OR decision = 'granted')
);
CREATE INDEX consent_subject_purpose_idx ON childguard.consent (subject_no, purpose_id);
COMMENT ON TABLE childguard.consent IS
	'Every consent decision (granted or refused), who gave it, on which notice version, and when it was withdrawn or lapsed.';

SELECT pg_catalog.pg_extension_config_dump('childguard.consent', '');
SELECT pg_catalog.pg_extension_config_dump('childguard.consent_consent_id_seq', '');
CREATE TRIGGER consent_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE
	ON childguard.consent FOR EACH STATEMENT EXECUTE FUNCTION childguard._catalog_changed();

CREATE FUNCTION childguard.record_consent(child text, purpose text, notice text, given_by text,
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
	                                informed_guardian_id, notice_id, notice_version, recorded_by)
	VALUES (c.subject_no, p.purpose_id, decision, kind,
	        CASE WHEN kind = 'guardian' THEN given_by END,
	        guardian_informed, n.notice_id, n.version, childguard._caller())
	RETURNING consent_id INTO id;
	RETURN id;
END
$$;
COMMENT ON FUNCTION childguard.record_consent(text, text, text, text, text, integer, text) IS
	'Art 9/10, D-Art 12: record a guardian''s or child''s decision (granted or refused) on the current version of a notice for a purpose. Refused unless given by the person the child''s age and circumstances require.';

CREATE FUNCTION childguard.refuse_consent(child text, purpose text, notice text, given_by text)
	RETURNS bigint
	LANGUAGE sql SECURITY DEFINER
	SET search_path = pg_catalog, pg_temp
AS $$
	SELECT childguard.record_consent(child, purpose, notice, given_by, 'refused')
$$;
COMMENT ON FUNCTION childguard.refuse_consent(text, text, text, text) IS
	'Art 10: record that the guardian (or child) chose the refusal option.';

CREATE FUNCTION childguard.withdraw_consent(child text, purpose text, given_by text)
	RETURNS bigint
	LANGUAGE plpgsql SECURITY DEFINER
	SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	s bigint := childguard._subject_of(child);
	p integer := childguard._purpose_of(purpose);
	id bigint;
BEGIN
	UPDATE childguard.consent c
	   SET withdrawn_at = pg_catalog.now()
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
	'Withdraw a consent given by given_by (a guardian, or the child); every session''s next read of that child''s data for the purpose is denied once this commits.';
