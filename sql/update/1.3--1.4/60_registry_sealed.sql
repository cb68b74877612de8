-- Registry personal data sealed (issue 14, item 1; Provisions Art 13).
--
-- A child's birth date and circumstances (in difficulty, able to express
-- their will) are personal data: from 1.4 childguard.child keeps them in
-- one column, `sealed` (AES-256-GCM under the registry key derived from the
-- master key, bound to the row's subject number; src/keys/registry_seal.c).
-- The plaintext columns stay, for the layout every version shares, and are
-- always NULL (a CHECK constraint): a BEFORE trigger seals whatever a
-- writer puts there before the row reaches a heap page, WAL or a dump.  The
-- C read decision opens the sealed value once per registry fetch and keeps
-- it in the per-backend caches; SQL functions that need the facts read
-- them through childguard._child_open (the registry row, opened), which
-- PUBLIC cannot read; officers read childguard.children.
--
-- What stays in the clear, and why: child_id and guardian_id are the
-- application's own keys, which the registries are looked up by; they must
-- be pseudonymous (docs/security.md, "Registry personal data"), and so
-- is which guardian ids belong to which child id (child_guardian), which
-- every consent check reads.

CREATE FUNCTION childguard._seal_registry(subject_no bigint, birth_date date,
		in_difficulty boolean, can_express boolean)
	RETURNS bytea
	LANGUAGE C VOLATILE STRICT AS 'MODULE_PATHNAME', 'cg_seal_registry';
REVOKE ALL ON FUNCTION childguard._seal_registry(bigint, date, boolean, boolean) FROM PUBLIC;
COMMENT ON FUNCTION childguard._seal_registry(bigint, date, boolean, boolean) IS
	'Internal: a child''s birth date and circumstances sealed (AES-256-GCM under the registry key, bound to the subject number).';

CREATE FUNCTION childguard._open_registry(subject_no bigint, sealed bytea,
		OUT birth_date date, OUT in_difficulty boolean, OUT can_express boolean)
	RETURNS record
	LANGUAGE C STABLE STRICT SECURITY DEFINER
	SET search_path = pg_catalog, pg_temp
	AS 'MODULE_PATHNAME', 'cg_open_registry';
REVOKE ALL ON FUNCTION childguard._open_registry(bigint, bytea) FROM PUBLIC;
COMMENT ON FUNCTION childguard._open_registry(bigint, bytea) IS
	'Internal: open a child''s sealed birth date and circumstances (ZC003 if altered or moved to another child).';

-- Seals the plaintext a writer put in the row (register_child(),
-- register_children(), set_child_circumstances(), a restore of an older
-- dump), merging it with what is already sealed, and clears it.
CREATE FUNCTION childguard._seal_child() RETURNS trigger
	LANGUAGE C AS 'MODULE_PATHNAME', 'cg_seal_child';
REVOKE ALL ON FUNCTION childguard._seal_child() FROM PUBLIC;
COMMENT ON FUNCTION childguard._seal_child() IS
	'Trigger on childguard.child: seal the birth date and circumstances a writer gave, so no plaintext reaches the table.';

ALTER TABLE childguard.child ADD COLUMN sealed bytea;
COMMENT ON COLUMN childguard.child.sealed IS
	'The birth date and circumstances (in difficulty, can express), sealed with AES-256-GCM under the registry key and bound to subject_no; read through childguard.children (officers).';
ALTER TABLE childguard.child
	ALTER COLUMN birth_date DROP NOT NULL,
	ALTER COLUMN in_difficulty DROP NOT NULL,
	ALTER COLUMN can_express DROP NOT NULL;
COMMENT ON COLUMN childguard.child.birth_date IS 'Always NULL from 1.4: sealed in the column sealed.';
COMMENT ON COLUMN childguard.child.in_difficulty IS 'Always NULL from 1.4: sealed in the column sealed.';
COMMENT ON COLUMN childguard.child.can_express IS 'Always NULL from 1.4: sealed in the column sealed.';
CREATE TRIGGER child_seal BEFORE INSERT OR UPDATE ON childguard.child
	FOR EACH ROW EXECUTE FUNCTION childguard._seal_child();
ALTER TABLE childguard.child ENABLE ALWAYS TRIGGER child_seal;
-- the rows of an older version: sealed now (needs the master key, which a
-- server running childguard has); their old versions leave the heap at the
-- next VACUUM (docs/security.md)
UPDATE childguard.child SET birth_date = birth_date;
ALTER TABLE childguard.child ADD CONSTRAINT child_sealed_check
	CHECK (sealed IS NOT NULL AND birth_date IS NULL AND in_difficulty IS NULL AND can_express IS NULL);


-- The registry row with its facts opened, for the SECURITY DEFINER
-- functions that need them.
CREATE VIEW childguard._child_open AS
	SELECT c.subject_no, c.child_id, f.birth_date, c.key_version, c.registered_at,
	       c.erased_at, f.in_difficulty, f.can_express, c.sealed
	  FROM childguard.child c
	  LEFT JOIN LATERAL childguard._open_registry(c.subject_no, c.sealed) f ON true;
REVOKE ALL ON childguard._child_open FROM PUBLIC;
COMMENT ON VIEW childguard._child_open IS
	'Internal: childguard.child with the sealed birth date and circumstances opened; for childguard''s own functions only.';

CREATE OR REPLACE VIEW childguard.children AS
	SELECT c.child_id, c.birth_date, childguard.child_age(c.birth_date) AS age,
	       c.in_difficulty, c.can_express, c.registered_at, c.erased_at,
	       ARRAY(SELECT g.guardian_id FROM childguard.child_guardian g
	              WHERE g.subject_no = c.subject_no ORDER BY 1) AS guardians,
	       c.subject_no
	  FROM childguard._child_open c;

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
	SELECT * INTO c FROM childguard._child_open x WHERE x.child_id = child;
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

CREATE OR REPLACE FUNCTION childguard.consent_in_force(child text, purpose text, on_date date DEFAULT CURRENT_DATE)
	RETURNS boolean
	LANGUAGE sql STABLE SECURITY DEFINER
	SET search_path = pg_catalog, pg_temp
AS $$
	WITH c AS (SELECT * FROM childguard._child_open x WHERE x.child_id = child),
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
	            WHEN a.kind = 'child' AND a.age < 14 THEN 'under 14'
	            WHEN a.kind = 'guardian' AND a.age >= 14 AND NOT (a.in_difficulty AND NOT a.can_express) THEN '14 or over'
	            WHEN a.kind = 'child' AND a.in_difficulty AND a.decision = 'granted'
	                 AND (a.guardian_informed IS NULL OR NOT a.informed_is_guardian) THEN 'inform'
	            WHEN NOT (a.kind = 'child' AND a.in_difficulty AND a.decision = 'granted')
	                 AND a.guardian_informed IS NOT NULL AND NOT a.informed_is_guardian THEN 'informed'
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
	                    WHEN 'forbidden' THEN 'ZC109'
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
	       END
	  FROM pg_temp.childguard_consents_out o
	  LEFT JOIN ok_n ON ok_n.row_no = o.row_no
	  LEFT JOIN ins_n ON ins_n.k = ok_n.k
	 ORDER BY o.row_no;

	DROP TABLE pg_temp.childguard_consents_in, pg_temp.childguard_consents_out,
	           pg_temp.childguard_consents_reader;
END
$$;

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
	-- the registry's sealed facts: re-sealed under the new master key
	LOCK TABLE childguard.child IN SHARE ROW EXCLUSIVE MODE;
	UPDATE childguard.child c
	   SET sealed = childguard._seal_registry(c.subject_no, f.birth_date, f.in_difficulty, f.can_express)
	  FROM childguard._child_open f
	 WHERE f.subject_no = c.subject_no
	   AND pg_catalog.substr(c.sealed, 2, 8) OPERATOR(pg_catalog.<>) current_id;
	RETURN n;
END
$$;

COMMENT ON FUNCTION childguard.rotate_master_key() IS
	'Rewrap every data key, and re-seal the registry''s birth dates and circumstances, under the current master key, in one READ COMMITTED transaction that keeps concurrent data-key writes out (online: readers continue; the previous key must be configured as childguard.previous_master_key_file/command). Returns the number of keys rewrapped.';

-- Compliance duty (Provisions Art 13): no registry personal data in the clear.
CREATE FUNCTION childguard.duty_registry_plaintext()
	RETURNS TABLE (pass boolean, reason text, objects text[])
	LANGUAGE plpgsql STABLE SECURITY DEFINER
	SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	faults text[] := '{}';
	why text[] := '{}';
	n bigint;
BEGIN
	IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_trigger t
	                WHERE t.tgrelid = 'childguard.child'::pg_catalog.regclass
	                  AND t.tgname = 'child_seal' AND t.tgenabled = 'A'
	                  AND t.tgfoid = 'childguard._seal_child()'::pg_catalog.regprocedure) THEN
		faults := faults || 'trigger child_seal on childguard.child'::text;
		why := why || 'the seal trigger of childguard.child is missing or not enabled ALWAYS, so plaintext birth dates and circumstances can be written'::text;
	END IF;
	IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_constraint k
	                WHERE k.conrelid = 'childguard.child'::pg_catalog.regclass
	                  AND k.conname = 'child_sealed_check' AND k.convalidated) THEN
		faults := faults || 'constraint child_sealed_check on childguard.child'::text;
		why := why || 'the constraint that keeps the plaintext columns empty is missing or not validated'::text;
	END IF;
	SELECT pg_catalog.count(*) INTO n FROM childguard.child c
	 WHERE c.sealed IS NULL OR c.birth_date IS NOT NULL
	    OR c.in_difficulty IS NOT NULL OR c.can_express IS NOT NULL;
	IF n > 0 THEN
		faults := faults || ARRAY(SELECT 'child ' || c.child_id FROM childguard.child c
		                           WHERE c.sealed IS NULL OR c.birth_date IS NOT NULL
		                              OR c.in_difficulty IS NOT NULL OR c.can_express IS NOT NULL
		                           ORDER BY c.subject_no LIMIT 20);
		why := why || pg_catalog.format('%s registered children have a birth date or circumstances in the clear', n);
	END IF;
	IF pg_catalog.cardinality(faults) = 0 THEN
		RETURN QUERY SELECT true, 'every registered child''s birth date and circumstances are sealed (AES-256-GCM), and the seal trigger and constraint are in place'::text, '{}'::text[];
	ELSE
		RETURN QUERY SELECT false, pg_catalog.array_to_string(why, '; '), faults;
	END IF;
END
$$;
REVOKE ALL ON FUNCTION childguard.duty_registry_plaintext() FROM PUBLIC;
COMMENT ON FUNCTION childguard.duty_registry_plaintext() IS
	'Compliance duty registry_plaintext (Provisions Art 13): the registry''s birth dates and circumstances are sealed, by a trigger and a constraint that are in place.';
INSERT INTO childguard.compliance_duty VALUES
	('registry_plaintext', 'Provisions Art 13',
	 'the registry''s personal data (birth dates, circumstances) is stored only sealed with AES-256-GCM: no row holds it in the clear, and the seal trigger and constraint are in place',
	 'childguard.duty_registry_plaintext()'::regprocedure, 'sql/registry_encryption.sql');
