-- ---------------------------------------------------------------------------
-- Set-based registration without a foreign-key query per row (issue 12).
--
-- register_children(), register_guardians() and record_consents() insert
-- into data_key, child_guardian and consent, whose foreign keys PostgreSQL
-- checks with one query per inserted row and key (five for a consent):
-- about half of a set-based registration's time.  These functions check
-- the referenced rows themselves, once per statement and key: they lock
-- every referenced row FOR KEY SHARE in one query (what each row's check
-- would have locked) and fail with 23503, as the foreign key would, if any
-- is missing; then they insert with session_replication_role = replica,
-- which skips the foreign keys' row triggers (and only those: every other
-- trigger on these tables is ENABLE ALWAYS, or a _catalog_changed()
-- statement trigger that the function fires itself afterwards).  The
-- constraints stay declared and enforced for every other writer: the
-- per-row API, an officer's or superuser's direct INSERT or UPDATE, and a
-- DELETE or key UPDATE of a referenced row (whose check sees the new rows,
-- or waits for the lock).
--
-- The fast path is taken only when the functions' owner may set
-- session_replication_role (a superuser) and no trigger on the tables
-- involved would be skipped or started by it (no ENABLE REPLICA trigger, no
-- other trigger enabled on origin only); otherwise the foreign keys check
-- row by row as before.  Rows inserted by a statement of the same function
-- (data_key's child, in register_children) need no lock: nobody else can
-- delete a row not yet committed.
--
-- The three functions also run with work_mem at least 128MB (a larger
-- setting of the session is kept; restored when they return, as they have
-- a SET clause): their joins, the consent log's numbering and hashing
-- sorts (its statement trigger runs inside record_consents) otherwise
-- spill to disk from a few thousand rows on; at 20,000 children that
-- halved record_consents' time.  Memory is per sort or hash node of the
-- one statement, for the caller's own staging table.
-- ---------------------------------------------------------------------------

CREATE FUNCTION childguard._registration_skips_ri()
	RETURNS boolean
	LANGUAGE sql STABLE
	SET search_path = pg_catalog, pg_temp
AS $$
SELECT coalesce((SELECT r.rolsuper FROM pg_catalog.pg_roles r WHERE r.rolname = current_user), false)
   AND NOT EXISTS (
	SELECT 1 FROM pg_catalog.pg_trigger t
	 WHERE t.tgrelid IN ('childguard.child'::regclass, 'childguard.data_key'::regclass,
	                     'childguard.guardian'::regclass, 'childguard.child_guardian'::regclass,
	                     'childguard.consent'::regclass, 'childguard.consent_log'::regclass,
	                     'childguard.consent_log_head'::regclass)
	   AND NOT t.tgisinternal
	   AND (t.tgenabled = 'R'
	        OR (t.tgenabled = 'O' AND t.tgfoid <> 'childguard._catalog_changed()'::regprocedure)))
$$;
REVOKE ALL ON FUNCTION childguard._registration_skips_ri() FROM PUBLIC;
COMMENT ON FUNCTION childguard._registration_skips_ri() IS
	'Internal: whether the set-based registration functions may check their foreign keys once per statement and insert with session_replication_role = replica (their owner is a superuser and no trigger on the registry tables they write would be skipped or started by it).';

-- Lock FOR KEY SHARE every row of target whose key (cols) one of the rows
-- of the query keys (its columns in cols' order) names, in one statement;
-- 23503 if one is missing, as the foreign key constraint_name would.
-- Keys with a NULL are not checked (MATCH SIMPLE).
CREATE FUNCTION childguard._references_held(target regclass, cols text[], keys text,
											source regclass, constraint_name text)
	RETURNS void
	LANGUAGE plpgsql
	SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	list text := (SELECT pg_catalog.string_agg(pg_catalog.quote_ident(c), ', ') FROM pg_catalog.unnest(cols) c);
	tlist text := (SELECT pg_catalog.string_agg('t.' || pg_catalog.quote_ident(c), ', ') FROM pg_catalog.unnest(cols) c);
	need bigint;
	have bigint;
BEGIN
	EXECUTE pg_catalog.format(
		'WITH k AS MATERIALIZED (SELECT DISTINCT %1$s FROM (%3$s) k0(%1$s) WHERE ROW(%1$s) IS NOT NULL) '
		'SELECT (SELECT pg_catalog.count(*) FROM k), '
		'       (SELECT pg_catalog.count(*) FROM (SELECT 1 FROM %4$s t WHERE (%2$s) IN (SELECT %1$s FROM k) '
		'                                        FOR KEY SHARE OF t) l)',
		list, tlist, keys, target)
	  INTO need, have;
	IF have < need THEN
		RAISE EXCEPTION 'insert or update on table "%" violates foreign key constraint "%"',
			(SELECT c.relname FROM pg_catalog.pg_class c WHERE c.oid = source), constraint_name
			USING ERRCODE = '23503',
			      DETAIL = pg_catalog.format('%s of the keys the rows refer to are not present in table "%s" (removed while they were registered).',
			                                 need - have, (SELECT c.relname FROM pg_catalog.pg_class c WHERE c.oid = target)),
			      HINT = 'Run the registration again: the rows that now fail are reported.';
	END IF;
END
$$;
REVOKE ALL ON FUNCTION childguard._references_held(regclass, text[], text, regclass, text) FROM PUBLIC;
COMMENT ON FUNCTION childguard._references_held(regclass, text[], text, regclass, text) IS
	'Internal: lock FOR KEY SHARE, in one statement, every row of a referenced registry table that the keys of a set-based registration name; 23503 if one is missing (the check a foreign key makes per row).';

-- The three functions, as 1.4 left them, with the statement's checks
-- (replaced whole: CREATE OR REPLACE keeps their grants and comments).

CREATE OR REPLACE FUNCTION childguard.register_children(children regclass)
 RETURNS TABLE(row_no bigint, child_id text, subject_no bigint, sqlstate text, message text)
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO 'pg_catalog', 'pg_temp'
AS $function$
DECLARE
	skip_ri boolean := childguard._registration_skips_ri();
	srr text := pg_catalog.current_setting('session_replication_role');
BEGIN
	IF pg_catalog.pg_size_bytes(pg_catalog.current_setting('work_mem')) < 134217728 THEN
		PERFORM pg_catalog.set_config('work_mem', '128MB', true);
	END IF;
	PERFORM childguard._staging_load(children, 'childguard_children_in',
	        childguard._staging_columns(children, 'children',
	                                    '{child_id,birth_date}', '{text,date}',
	                                    '{in_difficulty,can_express}', '{boolean,boolean}',
	                                    '{false,true}'),
	        '{child_id,birth_date,in_difficulty,can_express}');

	-- each row's first fault, in register_child()'s order: 1 empty id,
	-- 2 birth date, 3 already registered (before, or by an earlier row of
	-- this table that was registered), 4 circumstances
	CREATE TEMP TABLE childguard_children_out ON COMMIT DROP AS
	WITH a AS (
		SELECT i.*,
		       CASE WHEN i.child_id IS NULL OR i.child_id = '' THEN 1
		            WHEN i.birth_date IS NULL OR NOT pg_catalog.isfinite(i.birth_date)
		                 OR i.birth_date > CURRENT_DATE THEN 2
		            WHEN c.subject_no IS NOT NULL THEN 3
		            WHEN i.in_difficulty IS NULL OR i.can_express IS NULL THEN 4
		            ELSE 0 END AS fault
		  FROM pg_temp.childguard_children_in i
		  LEFT JOIN childguard.child c ON c.child_id = i.child_id
	), b AS (
		SELECT a.*, pg_catalog.min(a.row_no) FILTER (WHERE a.fault = 0)
		                OVER (PARTITION BY a.child_id) AS first_ok
		  FROM a
	)
	SELECT b.row_no, b.child_id, b.birth_date, b.in_difficulty, b.can_express,
	       CASE WHEN b.fault IN (0, 4) AND b.first_ok < b.row_no THEN 3 ELSE b.fault END AS fault
	  FROM b;

	-- data_key's foreign key names the children inserted by this very
	-- statement: no other transaction can remove them, so no row check
	IF skip_ri THEN
		PERFORM pg_catalog.set_config('session_replication_role', 'replica', true);
	END IF;
	RETURN QUERY
	WITH ins AS (
		INSERT INTO childguard.child (child_id, birth_date, in_difficulty, can_express)
		SELECT o.child_id, o.birth_date, o.in_difficulty, o.can_express
		  FROM pg_temp.childguard_children_out o
		 WHERE o.fault = 0
		 ORDER BY o.row_no
		RETURNING childguard.child.subject_no, childguard.child.child_id
	), keys AS (
		INSERT INTO childguard.data_key (subject_no, key_version, wrapped_key, master_key_id)
		SELECT ins.subject_no, 1, k.wrapped_key, k.master_key_id
		  FROM ins CROSS JOIN LATERAL childguard._new_data_key(ins.subject_no, 1) k
		RETURNING 1
	)
	SELECT o.row_no, o.child_id, ins.subject_no,
	       CASE o.fault WHEN 0 THEN NULL WHEN 1 THEN '22023' WHEN 2 THEN '22023'
	                    WHEN 3 THEN '23505' ELSE '22004' END,
	       CASE o.fault WHEN 0 THEN NULL
	                    WHEN 1 THEN 'child id must not be empty'
	                    WHEN 2 THEN pg_catalog.format('invalid birth date for child "%s"', o.child_id)
	                    WHEN 3 THEN pg_catalog.format('child "%s" is already registered', o.child_id)
	                    ELSE 'circumstances must not be null' END
	  FROM pg_temp.childguard_children_out o
	  LEFT JOIN ins ON o.fault = 0 AND ins.child_id = o.child_id
	 ORDER BY o.row_no;

	IF skip_ri THEN
		PERFORM pg_catalog.set_config('session_replication_role', srr, true);
		-- child_changed (enabled on origin) did not fire: fire it
		UPDATE childguard.child x SET child_id = x.child_id WHERE false;
	END IF;

	DROP TABLE pg_temp.childguard_children_in, pg_temp.childguard_children_out;
END
$function$;

CREATE OR REPLACE FUNCTION childguard.register_guardians(guardians regclass)
 RETURNS TABLE(row_no bigint, guardian_id text, child_id text, sqlstate text, message text)
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO 'pg_catalog', 'pg_temp'
AS $function$
DECLARE
	skip_ri boolean := childguard._registration_skips_ri();
	srr text := pg_catalog.current_setting('session_replication_role');
BEGIN
	IF pg_catalog.pg_size_bytes(pg_catalog.current_setting('work_mem')) < 134217728 THEN
		PERFORM pg_catalog.set_config('work_mem', '128MB', true);
	END IF;
	PERFORM childguard._refuse_reader(NULL, 'register guardians');
	PERFORM childguard._staging_load(guardians, 'childguard_guardians_in',
	        childguard._staging_columns(guardians, 'guardians',
	                                    '{guardian_id,child_id}', '{text,text}',
	                                    '{relation}', '{text}', '{''guardian''::text}'),
	        '{guardian_id,child_id,relation}');

	-- register_guardian()'s order: 1 empty id, 2 empty relation, 3 child
	-- not registered, 4 the guardian id is a child's
	CREATE TEMP TABLE childguard_guardians_out ON COMMIT DROP AS
	SELECT i.*, c.subject_no,
	       CASE WHEN i.guardian_id IS NULL OR i.guardian_id = '' THEN 1
	            WHEN i.relation IS NULL OR i.relation = '' THEN 2
	            WHEN c.subject_no IS NULL THEN 3
	            WHEN g.subject_no IS NOT NULL THEN 4
	            ELSE 0 END AS fault
	  FROM pg_temp.childguard_guardians_in i
	  LEFT JOIN childguard.child c ON c.child_id = i.child_id
	  LEFT JOIN childguard.child g ON g.child_id = i.guardian_id;

	INSERT INTO childguard.guardian (guardian_id)
	SELECT DISTINCT o.guardian_id FROM pg_temp.childguard_guardians_out o WHERE o.fault = 0
	ON CONFLICT DO NOTHING;
	IF skip_ri THEN
		-- child_guardian's two foreign keys, once for the statement
		PERFORM childguard._references_held('childguard.child', '{subject_no}',
		        'SELECT o.subject_no FROM pg_temp.childguard_guardians_out o WHERE o.fault = 0',
		        'childguard.child_guardian', 'child_guardian_subject_no_fkey');
		PERFORM childguard._references_held('childguard.guardian', '{guardian_id}',
		        'SELECT o.guardian_id FROM pg_temp.childguard_guardians_out o WHERE o.fault = 0',
		        'childguard.child_guardian', 'child_guardian_guardian_id_fkey');
		PERFORM pg_catalog.set_config('session_replication_role', 'replica', true);
	END IF;
	-- the same pair twice: the later row's relation, as row by row
	INSERT INTO childguard.child_guardian (subject_no, guardian_id, relation)
	SELECT DISTINCT ON (o.subject_no, o.guardian_id) o.subject_no, o.guardian_id, o.relation
	  FROM pg_temp.childguard_guardians_out o
	 WHERE o.fault = 0
	 ORDER BY o.subject_no, o.guardian_id, o.row_no DESC
	ON CONFLICT ON CONSTRAINT child_guardian_pkey
	DO UPDATE SET relation = EXCLUDED.relation;

	IF skip_ri THEN
		PERFORM pg_catalog.set_config('session_replication_role', srr, true);
		-- child_guardian_changed (enabled on origin) did not fire: fire it
		UPDATE childguard.child_guardian x SET relation = x.relation WHERE false;
	END IF;

	RETURN QUERY
	SELECT o.row_no, o.guardian_id, o.child_id,
	       CASE o.fault WHEN 0 THEN NULL WHEN 3 THEN 'ZC011' ELSE '22023' END,
	       CASE o.fault WHEN 0 THEN NULL
	                    WHEN 1 THEN 'guardian id must not be empty'
	                    WHEN 2 THEN 'relation must not be empty'
	                    WHEN 3 THEN pg_catalog.format('child "%s" is not registered', coalesce(o.child_id, '<NULL>'))
	                    ELSE pg_catalog.format('guardian id "%s" is already a child''s id', o.guardian_id) END
	  FROM pg_temp.childguard_guardians_out o
	 ORDER BY o.row_no;

	DROP TABLE pg_temp.childguard_guardians_in, pg_temp.childguard_guardians_out;
END
$function$;

CREATE OR REPLACE FUNCTION childguard.record_consents(consents regclass)
 RETURNS TABLE(row_no bigint, child_id text, purpose text, consent_id bigint, sqlstate text, message text)
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO 'pg_catalog', 'pg_temp'
AS $function$
DECLARE
	pr record;
	skip_ri boolean := childguard._registration_skips_ri();
	srr text := pg_catalog.current_setting('session_replication_role');
BEGIN
	IF pg_catalog.pg_size_bytes(pg_catalog.current_setting('work_mem')) < 134217728 THEN
		PERFORM pg_catalog.set_config('work_mem', '128MB', true);
	END IF;
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

	IF skip_ri THEN
		-- consent's five foreign keys, once for the statement
		PERFORM childguard._references_held('childguard.child', '{subject_no}',
		        'SELECT o.subject_no FROM pg_temp.childguard_consents_out o WHERE o.fault IS NULL',
		        'childguard.consent', 'consent_subject_no_fkey');
		PERFORM childguard._references_held('childguard.purpose', '{purpose_id}',
		        'SELECT o.purpose_id FROM pg_temp.childguard_consents_out o WHERE o.fault IS NULL',
		        'childguard.consent', 'consent_purpose_id_fkey');
		PERFORM childguard._references_held('childguard.notice', '{notice_id,version}',
		        'SELECT o.n_notice_id, o.n_version FROM pg_temp.childguard_consents_out o WHERE o.fault IS NULL',
		        'childguard.consent', 'consent_notice_fkey');
		-- (the guardian who gave it and the one informed: one lookup)
		PERFORM childguard._references_held('childguard.guardian', '{guardian_id}',
		        'SELECT CASE WHEN o.kind = ''guardian'' THEN o.given_by END FROM pg_temp.childguard_consents_out o WHERE o.fault IS NULL
		         UNION ALL SELECT o.guardian_informed FROM pg_temp.childguard_consents_out o WHERE o.fault IS NULL',
		        'childguard.consent', 'consent_guardian_id_fkey');
		PERFORM pg_catalog.set_config('session_replication_role', 'replica', true);
	END IF;
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

	IF skip_ri THEN
		PERFORM pg_catalog.set_config('session_replication_role', srr, true);
		-- consent_changed (enabled on origin) did not fire: fire it
		UPDATE childguard.consent x SET decision = x.decision WHERE false;
	END IF;

	DROP TABLE pg_temp.childguard_consents_in, pg_temp.childguard_consents_out,
	           pg_temp.childguard_consents_reader;
END
$function$;
