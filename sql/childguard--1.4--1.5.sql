/* childguard 1.4 -> 1.5 — the upgrade script, one concern per part */
\echo Use "ALTER EXTENSION childguard UPDATE TO '1.5'" to load this file. \quit
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
	   -- data_key is only inserted into: a trigger of its on no INSERT
	   -- (blind_on_shred, AFTER UPDATE, part 40) is not skipped by it
	   AND NOT (t.tgrelid = 'childguard.data_key'::regclass AND (t.tgtype::integer & 4) = 0)
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
-- ---------------------------------------------------------------------------
-- The consent log's hash chain step and event text in C (issue 12,
-- set-based registration).  The step:
-- the same value as the SQL function it replaces, SHA-256(previous hash ||
-- the event's text in UTF-8), so every hash written stays valid and
-- verify_consent_log() unchanged; as SQL it cost an SQL function call per
-- event inside record_consents' statement trigger
-- (src/consent/consent_log_chain.c).
-- ---------------------------------------------------------------------------
CREATE OR REPLACE FUNCTION childguard._hash_chain_step(state bytea, seed bytea, t text) RETURNS bytea
	LANGUAGE c IMMUTABLE PARALLEL SAFE
	AS 'MODULE_PATHNAME', 'cg_hash_chain_step';

-- An event's canonical text, as _consent_event_text() makes it with
-- jsonb_build_array(...)::text, built directly (about 13 µs an event less);
-- the statement trigger that appends a statement's events uses it (replaced
-- whole below, its one change that call).
CREATE FUNCTION childguard._consent_event_json(event_id bigint, at_us bigint, consent_id bigint,
		subject_no bigint, purpose_id integer, event text, giver_kind text, guardian_id text,
		notice_id text, notice_version integer, by_role oid, by_role_name text,
		session_role_name text)
	RETURNS text
	LANGUAGE c IMMUTABLE PARALLEL SAFE
	AS 'MODULE_PATHNAME', 'cg_consent_event_json';
REVOKE ALL ON FUNCTION childguard._consent_event_json(bigint, bigint, bigint, bigint, integer, text, text,
	text, text, integer, oid, text, text) FROM PUBLIC;
COMMENT ON FUNCTION childguard._consent_event_json(bigint, bigint, bigint, bigint, integer, text, text,
	text, text, integer, oid, text, text) IS
	'Internal: a consent event''s canonical text for the consent log''s hash chain, the same as _consent_event_text() (jsonb_build_array(...)::text), built in C.';

CREATE OR REPLACE FUNCTION childguard._consent_events_inserted()
 RETURNS trigger
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO 'pg_catalog', 'pg_temp'
AS $function$
DECLARE
	h childguard.consent_log_head;
	n bigint;
	caller oid := childguard._caller_oid();
	sess oid := childguard._session_oid();
	caller_name name := childguard._role_name(childguard._caller_oid());
	sess_name name := childguard._role_name(childguard._session_oid());
BEGIN
	-- a row inserted whole (restore, or a superuser's INSERT) brings its
	-- history: its decision and, if so, its withdrawal and lapse
	SELECT pg_catalog.count(*) + pg_catalog.count(k.withdrawn_at) + pg_catalog.count(k.lapsed_at)
	  INTO n FROM inserted_consents k;
	IF n = 0 THEN
		RETURN NULL;
	END IF;
	-- the head's row lock serialises appenders, as one row at a time did
	UPDATE childguard.consent_log_head x SET last_id = x.last_id + n
	 RETURNING * INTO h;
	INSERT INTO childguard.consent_log
	WITH ev AS (
		SELECT (h.last_id - n + pg_catalog.row_number() OVER (ORDER BY k.consent_id, e.ord))::bigint AS event_id,
		       e.at, k.consent_id, k.subject_no, k.purpose_id, e.event, k.giver_kind, k.guardian_id,
		       k.notice_id, k.notice_version, e.by_role::regrole AS by_role,
		       CASE WHEN e.by_role = caller THEN caller_name
		            ELSE childguard._role_name(e.by_role) END AS by_role_name,
		       sess_name AS session_role_name
		  FROM inserted_consents k
		 CROSS JOIN LATERAL (VALUES (k.decision, k.given_at, coalesce(k.recorded_by_role::oid, caller), 1),
		                            ('withdrawn', k.withdrawn_at, k.withdrawn_by::oid, 2),
		                            ('lapsed', k.lapsed_at, NULL::oid, 3)) AS e(event, at, by_role, ord)
		 WHERE e.ord = 1 OR e.at IS NOT NULL
	), hashed AS (
		-- the text is _consent_event_text()'s, built in C
		-- (_consent_event_json: jsonb_build_array(...)::text cost more than
		-- the rest of the event); verify_consent_log() checks the two agree
		SELECT ev.*,
		       childguard._hash_chain(h.last_hash,
		           childguard._consent_event_json(
		               ev.event_id, (EXTRACT(epoch FROM ev.at) * 1000000)::bigint,
		               ev.consent_id, ev.subject_no, ev.purpose_id, ev.event, ev.giver_kind, ev.guardian_id,
		               ev.notice_id, ev.notice_version, ev.by_role::oid, ev.by_role_name::text,
		               ev.session_role_name::text))
		           OVER (ORDER BY ev.event_id) AS hash
		  FROM ev
	)
	SELECT x.event_id, x.at, x.consent_id, x.subject_no, x.purpose_id, x.event, x.giver_kind,
	       x.guardian_id, x.notice_id, x.notice_version, x.by_role, x.by_role_name,
	       x.session_role_name,
	       coalesce(pg_catalog.lag(x.hash) OVER (ORDER BY x.event_id), h.last_hash),
	       x.hash
	  FROM hashed x
	 ORDER BY x.event_id;
	UPDATE childguard.consent_log_head x
	   SET last_hash = (SELECT l.hash FROM childguard.consent_log l WHERE l.event_id = h.last_id);
	RETURN NULL;
END
$function$;
-------------------------------------------------------------------------------
-- Blind indexes (issue 13, item 1): equality lookups on a child_data column
-- at index speed, opt-in per column (docs/security.md "Blind indexes",
-- src/enforce/blind_index.c, src/keys/blind_keys.c).
-------------------------------------------------------------------------------

CREATE TABLE childguard.blind_index (
	tbl				regclass NOT NULL,
	column_name		name NOT NULL,
	blind_column	name NOT NULL,
	index_id		bytea NOT NULL,
	wrapped_key		bytea NOT NULL,
	created_at		timestamptz NOT NULL DEFAULT pg_catalog.now(),
	created_by		name NOT NULL DEFAULT CURRENT_USER,
	CONSTRAINT blind_index_pkey PRIMARY KEY (tbl, column_name),
	CONSTRAINT blind_index_index_id_check CHECK (pg_catalog.length(index_id) = 16)
);
COMMENT ON TABLE childguard.blind_index IS
	'The blind indexes enable_blind_index() made: the child_data column, its hidden hash column, the index''s random identity and its random key wrapped by the master key (master key id || nonce || ciphertext || tag).';
REVOKE ALL ON childguard.blind_index FROM PUBLIC;
SELECT pg_catalog.pg_extension_config_dump('childguard.blind_index', '');

CREATE FUNCTION childguard._new_blind_key(index_id bytea) RETURNS bytea
	LANGUAGE C VOLATILE STRICT AS 'MODULE_PATHNAME', 'cg_new_blind_key';
REVOKE ALL ON FUNCTION childguard._new_blind_key(bytea) FROM PUBLIC;
COMMENT ON FUNCTION childguard._new_blind_key(bytea) IS
	'Internal (enable_blind_index()): a fresh random blind-index key for the index, wrapped by the master key.';

CREATE FUNCTION childguard._rewrap_blind_key(index_id bytea, wrapped bytea) RETURNS bytea
	LANGUAGE C VOLATILE STRICT AS 'MODULE_PATHNAME', 'cg_rewrap_blind_key';
REVOKE ALL ON FUNCTION childguard._rewrap_blind_key(bytea, bytea) FROM PUBLIC;
COMMENT ON FUNCTION childguard._rewrap_blind_key(bytea, bytea) IS
	'Internal (rotate_master_key()): the same blind-index key wrapped by the current master key.';

-- Called by the lookups the planner adds (blind_index.c); it decides as a
-- comparison of the column would, so it is PUBLIC like the = operator.
CREATE FUNCTION childguard._blind(tbl regclass, attnum smallint, value childguard.child_data)
	RETURNS bytea
	LANGUAGE C STABLE STRICT PARALLEL RESTRICTED AS 'MODULE_PATHNAME', 'cg_blind';
GRANT EXECUTE ON FUNCTION childguard._blind(regclass, smallint, childguard.child_data) TO PUBLIC;
COMMENT ON FUNCTION childguard._blind(regclass, smallint, childguard.child_data) IS
	'Internal (the planner''s blind-index lookup): the hash a blind index holds for value in the column, for a reader whose purpose and grant may compare the column (else the comparison''s error, ZC105; NULL with no purpose).';

CREATE FUNCTION childguard._blind_clear(tbl regclass, subject_column name, child_id text)
	RETURNS bigint
	LANGUAGE C VOLATILE STRICT AS 'MODULE_PATHNAME', 'cg_blind_clear';
REVOKE ALL ON FUNCTION childguard._blind_clear(regclass, name, text) FROM PUBLIC;
COMMENT ON FUNCTION childguard._blind_clear(regclass, name, text) IS
	'Internal (a shredded data key): null the blind-index hashes of the child''s rows in the table.';

CREATE FUNCTION childguard.enable_blind_index(tbl regclass, column_name name,
											  batch_size integer DEFAULT 10000)
	RETURNS bigint
	LANGUAGE plpgsql SECURITY DEFINER
	SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	subj name := childguard._seal_subject_column(tbl);
	hidden name;
	dist boolean;
	a pg_catalog.pg_attribute;
	n bigint := 0;
	done bigint;
	total bigint;
	last_ctid tid := '(0,0)';
	ids tid[];
BEGIN
	IF tbl IS NULL OR column_name IS NULL THEN
		RAISE EXCEPTION 'table and column are required' USING ERRCODE = '22004';
	END IF;
	IF batch_size IS NULL OR batch_size < 1 THEN
		RAISE EXCEPTION 'batch size must be positive' USING ERRCODE = '22023';
	END IF;
	IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_class c
	               WHERE c.oid = tbl
	                 AND pg_catalog.pg_has_role(childguard._caller_oid(), c.relowner, 'USAGE')) THEN
		RAISE EXCEPTION 'must be owner of table %', tbl
			USING ERRCODE = '42501',
			      HINT = 'A blind index changes the table (a hidden column and an index): its owner makes it.';
	END IF;
	SELECT * INTO a FROM pg_catalog.pg_attribute x
	 WHERE x.attrelid = tbl AND x.attname = column_name AND x.attnum > 0 AND NOT x.attisdropped;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'column "%" of relation "%" does not exist', column_name, tbl USING ERRCODE = '42703';
	END IF;
	IF a.atttypid OPERATOR(pg_catalog.<>) 'childguard.child_data'::pg_catalog.regtype OR subj IS NULL
	   OR childguard.protection_problem(tbl) IS NOT NULL THEN
		RAISE EXCEPTION 'cannot make a blind index on column "%" of table %', column_name, tbl
			USING ERRCODE = 'ZC403',
			      DETAIL = 'A blind index is made on a child_data column of a table childguard.protect() protects.',
			      HINT = 'Protect the table first (childguard.protect()); the column must be of type childguard.child_data(category).';
	END IF;
	-- a Citus worker stores what the coordinator sends and computes no hash
	-- (docs/scale-out.md): no blind index on a distributed table
	IF pg_catalog.to_regclass('pg_catalog.pg_dist_partition') IS NOT NULL THEN
		EXECUTE 'SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_dist_partition WHERE logicalrelid = $1)'
		   INTO dist USING tbl;
		IF dist THEN
			RAISE EXCEPTION 'cannot make a blind index on column "%" of table %', column_name, tbl
				USING ERRCODE = 'ZC403',
				      DETAIL = 'The table is distributed by Citus; its shards would not compute the hashes.',
				      HINT = 'Blind indexes are for tables on one node (docs/scale-out.md).';
		END IF;
	END IF;
	IF EXISTS (SELECT 1 FROM childguard.blind_index b WHERE b.tbl = enable_blind_index.tbl
	             AND b.column_name = enable_blind_index.column_name) THEN
		RAISE EXCEPTION 'column "%" of table % already has a blind index', column_name, tbl
			USING ERRCODE = 'ZC403',
			      HINT = 'childguard.blind_indexes lists them; disable_blind_index() removes one.';
	END IF;
	hidden := column_name OPERATOR(pg_catalog.||) '_blind';
	IF pg_catalog.octet_length(column_name::text) > 57 OR EXISTS (
	     SELECT 1 FROM pg_catalog.pg_attribute x
	      WHERE x.attrelid = tbl AND x.attname = hidden AND NOT x.attisdropped) THEN
		RAISE EXCEPTION 'cannot add hidden column "%" to table %', hidden, tbl
			USING ERRCODE = 'ZC403',
			      DETAIL = 'The blind index''s hidden column is named after the column with the suffix _blind; that name is taken or too long.',
			      HINT = 'Rename the column that holds the name, or the child_data column.';
	END IF;

	-- the registrations of tables dropped since go
	DELETE FROM childguard.blind_index x
	 WHERE NOT EXISTS (SELECT 1 FROM pg_catalog.pg_class c WHERE c.oid = x.tbl);
	INSERT INTO childguard.blind_index (tbl, column_name, blind_column, index_id, wrapped_key, created_by)
	SELECT tbl, column_name, hidden, i.id, childguard._new_blind_key(i.id), childguard._caller()
	  FROM (SELECT pg_catalog.uuid_send(pg_catalog.gen_random_uuid()) AS id) i;
	EXECUTE pg_catalog.format('ALTER TABLE %s ADD COLUMN %I bytea', tbl, hidden);
	EXECUTE pg_catalog.format(
		'COMMENT ON COLUMN %s.%I IS %L', tbl, hidden,
		pg_catalog.format('childguard blind index of column %I: HMAC-SHA-256 (16 bytes) of its plaintext under the column''s blind key, written by the seal trigger on every INSERT and UPDATE (what a statement writes here is replaced). Equal values of the column have equal hashes. Do not write; childguard.disable_blind_index() removes it.',
		                  column_name));

	-- backfill in batches, in ctid order; the new row versions this
	-- transaction writes are skipped (xmin), so each row is hashed once
	EXECUTE pg_catalog.format('SELECT count(*) FROM %s WHERE %I IS NOT NULL', tbl, column_name) INTO total;
	LOOP
		EXECUTE pg_catalog.format(
			'SELECT pg_catalog.array_agg(ctid) FROM (SELECT ctid FROM %s WHERE %I IS NOT NULL AND %I IS NULL '
			'AND ctid OPERATOR(pg_catalog.>) $1 AND xmin OPERATOR(pg_catalog.<>) pg_catalog.xid(pg_catalog.pg_current_xact_id()) '
			'ORDER BY ctid LIMIT $2) s', tbl, column_name, hidden)
			INTO ids USING last_ctid, batch_size;
		EXIT WHEN ids IS NULL;
		EXECUTE pg_catalog.format('UPDATE %s SET %I = NULL WHERE ctid OPERATOR(pg_catalog.=) ANY ($1)', tbl, hidden)
			USING ids;
		GET DIAGNOSTICS done = ROW_COUNT;
		n := n + done;
		last_ctid := ids[pg_catalog.array_upper(ids, 1)];
		RAISE NOTICE 'blind index of column "%" of table %: % of % rows', column_name, tbl, n, total;
	END LOOP;
	EXECUTE pg_catalog.format('CREATE INDEX ON %s (%I)', tbl, hidden);
	RETURN n;
END
$$;
REVOKE ALL ON FUNCTION childguard.enable_blind_index(regclass, name, integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION childguard.enable_blind_index(regclass, name, integer) TO PUBLIC;
COMMENT ON FUNCTION childguard.enable_blind_index(regclass, name, integer) IS
	'Opt in to a blind index on a child_data column of a protected table: adds the hidden column <column>_blind (HMAC of the plaintext under a per-column key; equal values look equal), fills it for the existing rows in batches of batch_size (a NOTICE per batch), and indexes it, so col = value and col = $1 are answered through the index while each row found is still compared under the read decision. Run as the table''s owner. Returns the rows hashed.';

CREATE FUNCTION childguard.disable_blind_index(tbl regclass, column_name name)
	RETURNS void
	LANGUAGE plpgsql SECURITY DEFINER
	SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	b childguard.blind_index;
BEGIN
	IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_class c
	               WHERE c.oid = tbl
	                 AND pg_catalog.pg_has_role(childguard._caller_oid(), c.relowner, 'USAGE')) THEN
		RAISE EXCEPTION 'must be owner of table %', tbl USING ERRCODE = '42501';
	END IF;
	DELETE FROM childguard.blind_index x
	 WHERE x.tbl = disable_blind_index.tbl AND x.column_name = disable_blind_index.column_name
	RETURNING * INTO b;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'column "%" of table % has no blind index', column_name, tbl
			USING ERRCODE = 'ZC403',
			      HINT = 'childguard.blind_indexes lists them.';
	END IF;
	EXECUTE pg_catalog.format('ALTER TABLE %s DROP COLUMN IF EXISTS %I', tbl, b.blind_column);
END
$$;
REVOKE ALL ON FUNCTION childguard.disable_blind_index(regclass, name) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION childguard.disable_blind_index(regclass, name) TO PUBLIC;
COMMENT ON FUNCTION childguard.disable_blind_index(regclass, name) IS
	'Remove a blind index: its hidden column (with its hashes and index) and its key. Run as the table''s owner.';

CREATE VIEW childguard.blind_indexes WITH (security_barrier) AS
	SELECT b.tbl AS table_name, b.column_name, b.blind_column, b.created_at, b.created_by,
	       pg_catalog.substr(b.wrapped_key, 1, 8) AS master_key_id
	  FROM childguard.blind_index b
	  JOIN pg_catalog.pg_class c ON c.oid = b.tbl
	 WHERE pg_catalog.pg_has_role(CURRENT_USER, c.relowner, 'USAGE') OR childguard._caller_is_officer();
GRANT SELECT ON childguard.blind_indexes TO PUBLIC;
COMMENT ON VIEW childguard.blind_indexes IS
	'The blind indexes on the tables the caller owns (officers: all): which child_data column, its hidden column, when and by whom, and the master key its key is wrapped by. Never the key.';

-- A shredded data key: the child's hashes go too (they would outlive the data).
CREATE FUNCTION childguard._blind_on_shred() RETURNS trigger
	LANGUAGE plpgsql SECURITY DEFINER
	SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	b record;
	cid text;
BEGIN
	SELECT c.child_id INTO cid FROM childguard.child c WHERE c.subject_no = NEW.subject_no;
	IF cid IS NULL THEN
		RETURN NULL;
	END IF;
	FOR b IN SELECT DISTINCT x.tbl FROM childguard.blind_index x LOOP
		PERFORM childguard._blind_clear(b.tbl, childguard._seal_subject_column(b.tbl), cid)
		  WHERE childguard._seal_subject_column(b.tbl) IS NOT NULL;
	END LOOP;
	RETURN NULL;
END
$$;
REVOKE ALL ON FUNCTION childguard._blind_on_shred() FROM PUBLIC;
COMMENT ON FUNCTION childguard._blind_on_shred() IS
	'Trigger on childguard.data_key: when a child''s data key is destroyed, null the child''s blind-index hashes in every table with a blind index.';
CREATE TRIGGER blind_on_shred AFTER UPDATE OF wrapped_key ON childguard.data_key
	FOR EACH ROW WHEN (OLD.wrapped_key IS NOT NULL AND NEW.wrapped_key IS NULL)
	EXECUTE FUNCTION childguard._blind_on_shred();

-- rotate_master_key() rewraps the blind-index keys too: it is redefined
-- once, with the request details, in part 73 below.
-- Part 70 (hygiene): the retention sweep finds ended processor agreements
-- through the compliance data (issue 14) -- processor_deletion_due -- and
-- records what it erased with record_processor_deletion(), so the sweep
-- and the deletion duty cannot disagree.  processor_deletion_due lists, per
-- ended processor grant, the protected tables the processor owns holding
-- the grant's categories (its copy: what the database can delete; the
-- controller's tables it read are not its to delete), and nothing while a
-- renewed processor grant of the same role is in force.
-- Replaces: the view processor_deletion_due, _retention_due_rows() and
-- _retention_finish() (from 1.4).

CREATE OR REPLACE VIEW childguard.processor_deletion_due AS
	SELECT g.grant_id, g.recipient, g.grantee_role AS grantee,
	       CASE WHEN g.revoked_at IS NOT NULL AND g.revoked_at < g.valid_until
	            THEN g.revoked_at ELSE g.valid_until END AS ended_at,
	       g.purposes,
	       coalesce(g.categories, ARRAY(SELECT DISTINCT c FROM childguard.purpose p,
	                                    pg_catalog.unnest(p.categories) c
	                                   WHERE p.purpose = ANY (g.purposes) ORDER BY 1)) AS categories,
	       ARRAY(SELECT DISTINCT t.table_name FROM childguard.protected_columns t
	                JOIN pg_catalog.pg_class rc ON rc.oid = t.table_name::oid
	              WHERE t.is_protected AND rc.relowner = g.grantee_role::oid
	                AND t.category = ANY (coalesce(g.categories, ARRAY(
	                        SELECT c FROM childguard.purpose p, pg_catalog.unnest(p.categories) c
	                         WHERE p.purpose = ANY (g.purposes))))
	              ORDER BY 1) AS tables,
	       ARRAY(SELECT DISTINCT s FROM childguard.access_log l,
	                    pg_catalog.unnest(l.children_read || l.children_written) s
	              WHERE l.grant_id = g.grant_id ORDER BY 1) AS children
	  FROM childguard.access_grant g
	 WHERE g.processor AND g.approved_at IS NOT NULL
	   AND (g.revoked_at IS NOT NULL OR g.valid_until <= pg_catalog.now())
	   AND NOT EXISTS (SELECT 1 FROM childguard.processor_deletion d WHERE d.grant_id = g.grant_id)
	   -- a renewed agreement (a processor grant of the same role in force)
	   -- carries the processing on: nothing is due while it lasts
	   AND NOT EXISTS (SELECT 1 FROM childguard.access_grant n
	                    WHERE n.processor AND n.grantee_role = g.grantee_role
	                      AND n.approved_at IS NOT NULL AND n.revoked_at IS NULL
	                      AND n.valid_from <= pg_catalog.now() AND n.valid_until > pg_catalog.now());
COMMENT ON VIEW childguard.processor_deletion_due IS
	'Art 16: processor grants that have ended (revoked or expired, and no later processor grant of the role in force) whose deletion is not yet recorded: the recipient, when it ended, the purposes and categories, the protected tables the processor owns holding those categories (what the retention sweep erases, reason processor_ended), and the children (subject numbers) read or written under the grant. The sweep records the deletion with record_processor_deletion() once those tables hold nothing due; a grant with no such table is recorded by an officer.';

CREATE OR REPLACE FUNCTION childguard._retention_due_rows(only_table regclass DEFAULT NULL,
                                               children text[] DEFAULT NULL)
	RETURNS TABLE (child_id text, subject_no bigint, table_name regclass,
	               reason text, due_at timestamptz, action text)
	LANGUAGE plpgsql STABLE SECURITY DEFINER
	SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	t record;
	processor_end timestamptz;
	processor_ended boolean;
BEGIN
	FOR t IN SELECT * FROM childguard._retention_tables() x
	          WHERE only_table IS NULL OR x.tbl = only_table LOOP
		-- Art 16: a table of a processor whose agreement ended, as the
		-- compliance data lists it (processor_deletion_due, 1.5): the same
		-- grants, the same tables, until the deletion is recorded
		SELECT pg_catalog.count(*) > 0, pg_catalog.max(d.ended_at)
		  INTO processor_ended, processor_end
		  FROM childguard.processor_deletion_due d
		 WHERE t.tbl = ANY (d.tables);
		RETURN QUERY EXECUTE pg_catalog.format($q$
			WITH present AS (
			        SELECT DISTINCT x.%1$I::text AS child_id FROM %5$s%2$s x
			         WHERE (%3$s)
			           AND ($1 IS NULL OR x.%1$I = ANY ($1::%4$s[]))),
			     kids AS (
			        SELECT c.* FROM present p JOIN childguard._child_open c /* part 60 */ ON c.child_id = p.child_id
			         WHERE EXISTS (SELECT 1 FROM childguard.data_key k
			                        WHERE k.subject_no = c.subject_no
			                          AND k.key_version = c.key_version
			                          AND k.wrapped_key IS NOT NULL)),
			     pur AS (SELECT p.* FROM childguard.purpose p WHERE p.categories OPERATOR(pg_catalog.&&) $2),
			     w AS (  -- the last word of each kind of giver (src/consent/consent.c)
			        SELECT DISTINCT ON (k.subject_no, k.purpose_id, k.giver_kind)
			               k.subject_no, k.purpose_id, k.giver_kind,
			               CASE WHEN k.withdrawn_at IS NOT NULL OR k.lapsed_at IS NOT NULL THEN 'none'
			                    ELSE k.decision END AS word,
			               GREATEST(k.given_at, k.withdrawn_at, k.lapsed_at) AS said_at,
			               k.informed_guardian_id IS NOT NULL AS informed
			          FROM childguard.consent k
			          JOIN kids ON kids.subject_no = k.subject_no
			          JOIN pur ON pur.purpose_id = k.purpose_id
			         ORDER BY k.subject_no, k.purpose_id, k.giver_kind,
			                  GREATEST(k.given_at, k.withdrawn_at, k.lapsed_at) DESC,
			                  (k.withdrawn_at IS NOT NULL OR k.lapsed_at IS NOT NULL) DESC,
			                  k.consent_id DESC),
			     st AS (
			        SELECT kids.subject_no, pur.purpose_id,
			               coalesce(NOT (kids.in_difficulty AND pur.forbidden_in_difficulty) AND
			                 CASE WHEN childguard.child_age(kids.birth_date, CURRENT_DATE) < 14
			                           OR (kids.in_difficulty AND NOT kids.can_express)
			                      THEN g.word = 'granted'
			                           AND NOT (childguard.child_age(kids.birth_date, CURRENT_DATE) >= 14
			                                    AND coalesce(ch.word, '') = 'refused')
			                      ELSE ch.word = 'granted' AND (ch.informed OR NOT kids.in_difficulty)
			                 END, false) AS in_force,
			               coalesce(g.word = 'refused' OR ch.word = 'refused', false) AS refused,
			               GREATEST(g.said_at, ch.said_at) AS said_at
			          FROM kids CROSS JOIN pur
			          LEFT JOIN w g ON g.subject_no = kids.subject_no AND g.purpose_id = pur.purpose_id
			                       AND g.giver_kind = 'guardian'
			          LEFT JOIN w ch ON ch.subject_no = kids.subject_no AND ch.purpose_id = pur.purpose_id
			                        AND ch.giver_kind = 'child'),
			     clocks AS (
			        SELECT k.subject_no, k.purpose_id, k.retention_ends
			          FROM childguard._retention_clocks(
			                   CASE WHEN $1 IS NULL THEN NULL
			                        ELSE ARRAY(SELECT kids.subject_no FROM kids) END) k),
			     basis AS (
			        SELECT st.subject_no,
			               pg_catalog.bool_or(st.in_force) AS in_force,
			               pg_catalog.max(cl.retention_ends) FILTER (WHERE st.in_force) AS ends,
			               pg_catalog.bool_or(st.refused) AS refused,
			               pg_catalog.max(st.said_at) AS said_at
			          FROM st LEFT JOIN clocks cl
			            ON cl.subject_no = st.subject_no AND cl.purpose_id = st.purpose_id
			         GROUP BY st.subject_no)
			SELECT kids.child_id, kids.subject_no, $3::regclass, r.reason, r.due_at, $4
			  FROM kids
			  LEFT JOIN basis b ON b.subject_no = kids.subject_no
			  LEFT JOIN childguard.account_closure ac ON ac.subject_no = kids.subject_no
			  CROSS JOIN LATERAL (
			        SELECT CASE
			               WHEN kids.erased_at IS NOT NULL THEN 'child_erased'
			               WHEN ac.subject_no IS NOT NULL THEN 'account_closed'
			               WHEN $5 THEN 'processor_ended'
			               WHEN b.subject_no IS NULL THEN 'consent_withdrawn'
			               WHEN NOT b.in_force AND b.refused THEN 'consent_refused'
			               WHEN NOT b.in_force THEN 'consent_withdrawn'
			               ELSE 'retention_expired' END AS reason,
			               CASE
			               WHEN kids.erased_at IS NOT NULL THEN kids.erased_at
			               WHEN ac.subject_no IS NOT NULL THEN ac.closed_at
			               WHEN $5 THEN $6
			               WHEN b.subject_no IS NULL THEN kids.registered_at
			               WHEN NOT b.in_force THEN coalesce(b.said_at, kids.registered_at)
			               ELSE coalesce(b.ends, kids.registered_at) END AS due_at) r
			$q$, t.subject_column, t.tbl,
			     (SELECT pg_catalog.string_agg(pg_catalog.format('x.%I IS NOT NULL', col), ' OR ')
			        FROM pg_catalog.unnest(t.data_columns) col),
			     t.subject_type, t.only_kw)
		USING children, t.categories, t.tbl, coalesce((SELECT e.action FROM childguard.erasure_action e WHERE e.tbl = t.tbl), 'delete'),
		      coalesce(processor_ended, false), processor_end;
	END LOOP;
END
$$;

CREATE OR REPLACE FUNCTION childguard._retention_finish(run_by text, started_at timestamptz, erased jsonb)
	RETURNS void
	LANGUAGE plpgsql SECURITY DEFINER
	SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	PERFORM childguard._retention_report('finishing', 0, 0, 0, 0);
	-- a clock whose retention ended restarts once nothing of the child is
	-- left in any protected table sharing a category with the purpose:
	-- consents granted from the instant it ended start the new one
	INSERT INTO childguard.retention_restart AS r (subject_no, purpose_id, restarted_at)
	SELECT k.subject_no, k.purpose_id, k.retention_ends
	  FROM childguard._retention_clocks() k
	  JOIN childguard.purpose p ON p.purpose_id = k.purpose_id
	 WHERE k.retention_ends <= pg_catalog.now()
	   AND (k.restarted_at IS NULL OR k.restarted_at < k.retention_ends)
	   AND NOT EXISTS (SELECT 1 FROM childguard._retention_due_rows() d
	                     JOIN childguard._retention_tables() t ON t.tbl = d.table_name
	                    WHERE d.subject_no = k.subject_no
	                      AND t.categories OPERATOR(pg_catalog.&&) p.categories)
	ON CONFLICT (subject_no, purpose_id) DO UPDATE SET restarted_at = excluded.restarted_at;
	-- Art 16: an ended processor grant whose tables hold nothing due any
	-- more has its deletion recorded (processor_deletion), by the same
	-- function an officer uses; a grant whose processor holds no table
	-- here is left to an officer (the deletion happens elsewhere)
	PERFORM childguard.record_processor_deletion(d.grant_id,
	        'retention sweep: erased from ' || pg_catalog.array_to_string(d.tables, ', '))
	  FROM childguard.processor_deletion_due d
	 WHERE pg_catalog.cardinality(d.tables) > 0
	   AND NOT EXISTS (SELECT 1 FROM childguard._retention_due_rows() r
	                    WHERE r.table_name = ANY (d.tables) AND r.reason = 'processor_ended');
	PERFORM childguard._retention_report('age hooks', 0, 0, 0, 0);
	PERFORM childguard._fire_age_hooks();
	PERFORM childguard._retention_report('retrying hooks', 0, 0, 0, 0);
	PERFORM childguard.retry_expiry_hooks();
	-- the worker's sweeps that found nothing to do are not recorded (one a minute)
	IF run_by = 'worker' AND coalesce(pg_catalog.jsonb_array_length(erased), 0) = 0 THEN
		RETURN;
	END IF;
	INSERT INTO childguard.retention_sweep (started_at, run_by, erased, children, rows_erased, failed)
	SELECT _retention_finish.started_at, run_by, coalesce(erased, '[]'),
	       coalesce((SELECT pg_catalog.sum((e->>'children')::bigint) FROM pg_catalog.jsonb_array_elements(erased) e), 0),
	       coalesce((SELECT pg_catalog.sum((e->>'rows_erased')::bigint) FROM pg_catalog.jsonb_array_elements(erased) e), 0),
	       coalesce((SELECT pg_catalog.sum((e->>'failed')::bigint) FROM pg_catalog.jsonb_array_elements(erased) e), 0);
END
$$;
COMMENT ON FUNCTION childguard._retention_finish(text, timestamptz, jsonb) IS
	'Sweep step 4: record the deletion of ended processor grants whose tables hold nothing due (record_processor_deletion), restart the retention clocks with nothing left, fire the age hooks, retry failed expiry hooks, record the sweep.';
-- Part 71 (hygiene): closing a deletion request as done needs the child's
-- erasure recorded (ZC560); it may still be refused with its reason.
-- Replaces close_request() (from 1.4).

CREATE OR REPLACE FUNCTION childguard.close_request(request_id bigint, status text, outcome text DEFAULT NULL)
	RETURNS void
	LANGUAGE plpgsql SECURITY DEFINER
	SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	r childguard.request;
BEGIN
	PERFORM childguard._require_officer('close a request');
	IF status IS NULL OR status NOT IN ('done', 'refused') THEN
		RAISE EXCEPTION 'a request closes as done or refused' USING ERRCODE = '22023',
			DETAIL = pg_catalog.format('Status %s is not a closing status.', coalesce(pg_catalog.quote_literal(status), 'NULL'));
	END IF;
	r := childguard._request_for_update(request_id);
	IF r.status NOT IN ('open', 'in_progress') THEN
		RAISE EXCEPTION 'request % is already closed', request_id USING ERRCODE = 'ZC502',
			DETAIL = pg_catalog.format('It was closed as %s.', r.status);
	END IF;
	IF status = 'refused' AND coalesce(outcome, '') = '' THEN
		RAISE EXCEPTION 'refusing request % needs a reason', request_id USING ERRCODE = 'ZC503',
			DETAIL = 'The child or guardian is owed the reason a request is refused.',
			HINT = 'Give the reason as outcome.';
	END IF;
	-- Art 20: a deletion request is done only once the child's erasure is
	-- recorded (erase_child(): erased_at set, the erasure ledger's line)
	IF status = 'done' AND r.kind = 'deletion'
	   AND (SELECT c.erased_at IS NULL FROM childguard.child c WHERE c.subject_no = r.subject_no) THEN
		RAISE EXCEPTION 'cannot close deletion request % as done: the child''s data is not erased', request_id
			USING ERRCODE = 'ZC560',
			      DETAIL = 'Art 20: a deletion request is done when the child''s personal information has been erased; no erasure of this child is recorded.',
			      HINT = pg_catalog.format('Erase it with childguard.erase_child(child, ''request'', ''%s''), then close the request; or close it as refused, with the reason.', request_id);
	END IF;
	UPDATE childguard.request x
	   SET status = close_request.status, outcome = close_request.outcome,
	       closed_at = pg_catalog.now(),
	       handled_by = coalesce(x.handled_by, childguard._caller_oid()::regrole)
	 WHERE x.request_id = r.request_id;
END
$$;
COMMENT ON FUNCTION childguard.close_request(bigint, text, text) IS
	'An officer closes a request as done or refused (a refusal needs its reason); a deletion request is done only once the child is erased (erase_child(), else ZC560); closing an objection lifts its restriction on the child''s data.';
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
-- Part 73 (hygiene): a request's free-text detail is personal data
-- (Provisions Art 13): sealed at rest like the registry's facts
-- (src/keys/registry_seal.c: the registry key, its own format version and
-- associated data binding it to the request).  request.detail_sealed
-- holds it; a trigger seals every detail written and leaves detail empty;
-- the update seals the existing rows; the requests view opens it for the
-- officers who read the register; rotate_master_key() re-seals it.
-- Replaces: the view requests and rotate_master_key() (1.4's; it also
-- rewraps part 40's blind-index keys).

CREATE FUNCTION childguard._seal_request_detail(request_id bigint, detail text) RETURNS bytea
	LANGUAGE C VOLATILE STRICT AS 'MODULE_PATHNAME', 'cg_seal_request_detail';
REVOKE ALL ON FUNCTION childguard._seal_request_detail(bigint, text) FROM PUBLIC;
COMMENT ON FUNCTION childguard._seal_request_detail(bigint, text) IS
	'Internal (the request register''s seal trigger, rotate_master_key()): the detail sealed under the current master key''s registry key, bound to the request.';
CREATE FUNCTION childguard._open_request_detail(request_id bigint, sealed bytea) RETURNS text
	LANGUAGE C STABLE STRICT SECURITY DEFINER
	SET search_path = pg_catalog, pg_temp
	AS 'MODULE_PATHNAME', 'cg_open_request_detail';
REVOKE ALL ON FUNCTION childguard._open_request_detail(bigint, bytea) FROM PUBLIC;
COMMENT ON FUNCTION childguard._open_request_detail(bigint, bytea) IS
	'Internal (the requests view, for officers): a request''s sealed detail opened; ZC002 without its master key, ZC003 if altered or moved.';

ALTER TABLE childguard.request ADD COLUMN detail_sealed bytea;
COMMENT ON COLUMN childguard.request.detail_sealed IS
	'The request''s detail, sealed (1.5); detail itself stays empty. Read it through childguard.requests.';

CREATE FUNCTION childguard._request_detail_seal() RETURNS trigger
	LANGUAGE plpgsql SECURITY DEFINER
	SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	IF NEW.detail IS DISTINCT FROM '' THEN
		NEW.detail_sealed := childguard._seal_request_detail(NEW.request_id, NEW.detail);
		NEW.detail := '';
	END IF;
	RETURN NEW;
END
$$;
REVOKE ALL ON FUNCTION childguard._request_detail_seal() FROM PUBLIC;
COMMENT ON FUNCTION childguard._request_detail_seal() IS
	'Trigger on childguard.request: seals the detail written (detail_sealed) and leaves detail empty, so no plaintext detail reaches the heap.';
CREATE TRIGGER request_detail_seal BEFORE INSERT OR UPDATE OF detail ON childguard.request
	FOR EACH ROW EXECUTE FUNCTION childguard._request_detail_seal();
ALTER TABLE childguard.request ENABLE ALWAYS TRIGGER request_detail_seal;

-- the rows recorded before: sealed now
UPDATE childguard.request SET detail = detail WHERE detail <> '';

CREATE OR REPLACE VIEW childguard.requests AS
	SELECT r.request_id, c.child_id, r.kind, r.status, r.received_at, r.requested_by,
	       r.requester_kind,
	       CASE WHEN r.detail_sealed IS NULL THEN r.detail
	            ELSE childguard._open_request_detail(r.request_id, r.detail_sealed) END AS detail,
	       r.due_at,
	       r.status IN ('open', 'in_progress') AND r.due_at < pg_catalog.now() AS overdue,
	       r.closed_at IS NOT NULL AND r.closed_at > r.due_at AS closed_late,
	       r.kind = 'objection' AND r.status IN ('open', 'in_progress') AS restricts_processing,
	       r.opened_at, r.opened_by, r.handled_by, r.closed_at, r.outcome
	  FROM childguard.request r
	  JOIN childguard.child c ON c.subject_no = r.subject_no;

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
	-- the blind-index keys (1.5, part 40): only rewrapped, so the stored
	-- hashes stay valid
	LOCK TABLE childguard.blind_index IN SHARE ROW EXCLUSIVE MODE;
	UPDATE childguard.blind_index b
	   SET wrapped_key = childguard._rewrap_blind_key(b.index_id, b.wrapped_key)
	 WHERE pg_catalog.substr(b.wrapped_key, 1, 8) OPERATOR(pg_catalog.<>) current_id;
	-- the request register's sealed details (1.5), likewise
	LOCK TABLE childguard.request IN SHARE ROW EXCLUSIVE MODE;
	UPDATE childguard.request r
	   SET detail_sealed = childguard._seal_request_detail(r.request_id,
	                           childguard._open_request_detail(r.request_id, r.detail_sealed))
	 WHERE r.detail_sealed IS NOT NULL
	   AND pg_catalog.substr(r.detail_sealed, 2, 8) OPERATOR(pg_catalog.<>) current_id;
	RETURN n;
END
$$;

COMMENT ON FUNCTION childguard.rotate_master_key() IS
	'Rewrap every data key and blind-index key, and re-seal the registry''s birth dates and circumstances and the requests'' details, under the current master key, in one READ COMMITTED transaction that keeps concurrent data-key writes out (online: readers continue; the previous key must be configured as childguard.previous_master_key_file/command). Returns the number of keys rewrapped.';

-- officers read the register's details through the view: they call the
-- opening function (as they call _open_registry)
DO $lists$
DECLARE
	officer text[] := childguard._qualified(childguard._officer_functions())
	                  || ARRAY['childguard._open_request_detail(bigint,bytea)'];
	o record;
BEGIN
	EXECUTE pg_catalog.format(
		'CREATE OR REPLACE FUNCTION childguard._officer_functions() RETURNS regprocedure[] '
		'LANGUAGE sql IMMUTABLE AS %L',
		pg_catalog.format('SELECT %s::regprocedure[]', childguard._list_literal(officer)));
	PERFORM childguard._officer_functions();
	FOR o IN SELECT x.role FROM childguard.officer x WHERE x.role IS NOT NULL ORDER BY x.appointed_at LOOP
		EXECUTE pg_catalog.format('GRANT EXECUTE ON FUNCTION childguard._open_request_detail(bigint, bytea) TO %s',
		                          o.role);
	END LOOP;
END
$lists$;
-- Citus scale-out (docs/scale-out.md): on a coordinator, each child_data
-- value written to a distributed protected table is sealed for its child
-- by this function before Citus sends the write to a worker
-- (src/enforce/citus_seal.c).  STABLE so that Citus evaluates it once on
-- the coordinator (Citus refuses VOLATILE functions in UPDATE); it checks
-- collection like the seal trigger.  Executable by every role that may
-- write to a protected table, like the seal trigger's function.
CREATE FUNCTION childguard._seal_for(tbl oid, child text, attnum integer,
                                     value childguard.child_data)
	RETURNS childguard.child_data
	LANGUAGE C STABLE PARALLEL UNSAFE CALLED ON NULL INPUT
	AS 'MODULE_PATHNAME', 'cg_seal_for';
COMMENT ON FUNCTION childguard._seal_for(oid, text, integer, childguard.child_data) IS
	'Internal (Citus coordinator): the value for column attnum of protected table tbl, sealed for child (a typed-in value is collected: purpose, necessity and consent are checked as by the seal trigger; a sealed value must already belong to that child and category). childguard''s rewrite of writes to distributed tables calls it.';
-- redteam (round 19): close_account() is an application's only for the
-- children it serves.  Up to 1.4 any enrolled application -- one holding no
-- grant at all -- could close any child's account: every consent of the
-- child withdrawn at once (by that role, in the consent log) and its data
-- erased by the next retention sweep, for children of other applications
-- too.  Now an application must hold an approved grant in force (its own,
-- or one of a role it is a member of) for a purpose under which the child
-- has been given consent; officers (and superusers) as before.  (Replaces the function of
-- sql/update/1.3--1.4: only the permission check changes.)
CREATE OR REPLACE FUNCTION childguard.close_account(child text, reason text DEFAULT '')
RETURNS timestamptz
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	s bigint;
	at timestamptz;
BEGIN
	IF child IS NULL OR child = '' THEN
		RAISE EXCEPTION 'a child must be named' USING ERRCODE = '22023';
	END IF;
	IF NOT (childguard._caller_is_officer() OR EXISTS (
	            SELECT 1 FROM childguard.enrollment e
	             WHERE e.duty = 'application'
	               AND pg_catalog.pg_has_role(childguard._caller_oid(), e.role::oid, 'MEMBER'))) THEN
		RAISE EXCEPTION 'permission denied to close the account of child "%"', child
			USING ERRCODE = '42501',
			      DETAIL = 'Accounts are closed by an enrolled application or a protection officer.';
	END IF;
	s := childguard._subject_of(child);
	-- an application closes only the accounts of the children it serves
	IF NOT childguard._caller_is_officer()
	   AND NOT (SELECT r.rolsuper FROM pg_catalog.pg_roles r WHERE r.oid = childguard._caller_oid())
	   AND NOT EXISTS (
	        SELECT 1 FROM childguard.consent c
	          JOIN childguard.purpose p ON p.purpose_id = c.purpose_id
	          JOIN childguard.access_grant g ON p.purpose = ANY (g.purposes)
	         WHERE c.subject_no = s AND c.decision = 'granted'
	           AND g.approved_at IS NOT NULL AND g.revoked_at IS NULL
	           AND g.valid_from <= pg_catalog.now() AND g.valid_until > pg_catalog.now()
	           AND g.grantee_role IS NOT NULL
	           AND pg_catalog.pg_has_role(childguard._caller_oid(), g.grantee_role::oid, 'MEMBER')) THEN
		RAISE EXCEPTION 'permission denied to close the account of child "%"', child
			USING ERRCODE = '42501',
			      DETAIL = 'An application closes the accounts of the children it serves: it needs an approved grant in force for a purpose the child has consented to.',
			      HINT = 'Ask a protection officer to close the account.';
	END IF;
	INSERT INTO childguard.account_closure (subject_no, closed_by, closed_by_role, reason)
	VALUES (s, childguard._caller(), childguard._caller_oid(), coalesce(reason, ''))
	ON CONFLICT (subject_no) DO NOTHING
	RETURNING closed_at INTO at;
	IF at IS NOT NULL THEN
		-- reads stop now, not at the sweep: the consents in force end with
		-- the account (withdrawn by the caller, in the consent log)
		UPDATE childguard.consent c
		   SET withdrawn_at = at, withdrawn_by = childguard._caller_oid()
		 WHERE c.subject_no = s AND c.decision = 'granted'
		   AND c.withdrawn_at IS NULL AND c.lapsed_at IS NULL;
	END IF;
	IF at IS NULL THEN
		RAISE EXCEPTION 'the account of child "%" is already closed', child
			USING ERRCODE = 'ZC301',
			      DETAIL = pg_catalog.format('It was closed at %s.',
			               (SELECT a.closed_at FROM childguard.account_closure a WHERE a.subject_no = s)),
			      HINT = 'The retention sweep erases its data; see childguard.retention_due.';
	END IF;
	RETURN at;
END
$$;
-- redteam (round 19): open_request() by an application only about the
-- children it serves.  Up to 1.4 any enrolled application, one holding no
-- grant included, recorded requests about any child under the child's own
-- id as requester: an objection about every child denied every
-- application's reads until an officer closed each one (and deletion
-- requests, in the child's name, went to the officers).  Now the same rule
-- as close_account() (part 90): an approved grant in force for a purpose
-- the child has consented to; officers and superusers as before.
-- (Replaces the function of sql/update/1.3--1.4: only this check is new.)
CREATE OR REPLACE FUNCTION childguard.open_request(child text, kind text, received_at timestamptz,
										requested_by text, detail text DEFAULT '')
	RETURNS bigint
	LANGUAGE plpgsql SECURITY DEFINER
	SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	s bigint;
	who text;
	due interval;
	id bigint;
BEGIN
	IF child IS NULL OR kind IS NULL OR received_at IS NULL OR requested_by IS NULL THEN
		RAISE EXCEPTION 'child, kind, received_at and requested_by are required' USING ERRCODE = '22004';
	END IF;
	IF kind NOT IN ('query', 'correction', 'deletion', 'objection') THEN
		RAISE EXCEPTION 'unknown request kind "%"', kind USING ERRCODE = '22023',
			HINT = 'A request is a query, correction, deletion or objection.';
	END IF;
	IF received_at > pg_catalog.now() THEN
		RAISE EXCEPTION 'a request cannot be received in the future' USING ERRCODE = '22023',
			DETAIL = 'received_at is after the current time.';
	END IF;
	s := childguard._subject_of(child);
	IF requested_by = child THEN
		who := 'child';
	ELSIF EXISTS (SELECT 1 FROM childguard.child_guardian g
	               WHERE g.subject_no = s AND g.guardian_id = open_request.requested_by) THEN
		who := 'guardian';
	ELSE
		RAISE EXCEPTION '"%" may not make a request about child "%"', requested_by, child
			USING ERRCODE = 'ZC501',
			      DETAIL = 'Provisions Art 19/20 and Measures Art 17 give these rights to the child and the child''s guardians only; the requester is neither the child''s id nor a registered guardian of the child.',
			      HINT = 'Give the child''s id or a guardian id registered with register_guardian().';
	END IF;
	-- an application records requests about the children it serves only
	IF NOT childguard._caller_is_officer()
	   AND NOT (SELECT r.rolsuper FROM pg_catalog.pg_roles r WHERE r.oid = childguard._caller_oid())
	   AND NOT EXISTS (
	        SELECT 1 FROM childguard.consent c
	          JOIN childguard.purpose p ON p.purpose_id = c.purpose_id
	          JOIN childguard.access_grant g ON p.purpose = ANY (g.purposes)
	         WHERE c.subject_no = s AND c.decision = 'granted'
	           AND g.approved_at IS NOT NULL AND g.revoked_at IS NULL
	           AND g.valid_from <= pg_catalog.now() AND g.valid_until > pg_catalog.now()
	           AND g.grantee_role IS NOT NULL
	           AND pg_catalog.pg_has_role(childguard._caller_oid(), g.grantee_role::oid, 'MEMBER')) THEN
		RAISE EXCEPTION 'permission denied to record a request about child "%"', child
			USING ERRCODE = '42501',
			      DETAIL = 'An application records requests about the children it serves: it needs an approved grant in force for a purpose the child has consented to.',
			      HINT = 'Ask a protection officer to record the request.';
	END IF;
	due := childguard._deadline_period('request_' || kind);
	INSERT INTO childguard.request (subject_no, kind, received_at, requested_by, requester_kind,
	                                detail, due_at, opened_by)
	VALUES (s, kind, received_at, requested_by, who, coalesce(detail, ''), received_at + due,
	        childguard._caller_oid()::regrole)
	RETURNING request.request_id INTO id;
	RETURN id;
END
$$;
