-- ---------------------------------------------------------------------------
-- 19 (1.5 -> 1.6): set-based registration, the referenced rows locked as
-- the fault checks read them (issue 12).
--
-- register_guardians() and record_consents() checked each row's faults in
-- one join and then, for the foreign keys they skip (1.5, part 18 of
-- 1.4--1.5), locked the referenced rows FOR KEY SHARE in a second pass per
-- referenced table (_references_held: a DISTINCT, a count and a semi-join
-- over the registry).  Now the fault query reads each referenced table once,
-- restricted to the keys the load names (a semi-join, hash or index as the
-- planner finds cheaper) and locks what it reads in
-- the same statement; record_consents opens each child's sealed registry
-- facts once instead of once per row and picks each notice's latest version
-- once instead of once per row.  The guarantee is the foreign key's, as
-- before: every row a registration refers to is locked before it inserts,
-- so a concurrent DELETE (or key UPDATE) of it waits and is then refused by
-- the foreign key's own check; a referenced row deleted before it could be
-- locked makes its rows fail as not registered / unknown, or, for a
-- guardian still seen linked to the child, fails the call with 23503, as
-- before (isolation registration_references).  Guardians that
-- register_guardians() inserts itself need no lock (nobody else can delete
-- an uncommitted row); those already registered are locked.
-- No JIT inside the two functions (their own SET: the caller's setting is
-- back when they return): their statements run once per call, and an
-- estimate inflated by a table without statistics (1,300,000 rows for
-- 2,000) had the consents' fault query spend 1.8 s compiling with LLVM for
-- a load of 1,000 children into a registry of 200,000.  Replaced whole
-- (CREATE OR REPLACE keeps their grants and comments).
-- ---------------------------------------------------------------------------

CREATE OR REPLACE FUNCTION childguard.register_guardians(guardians regclass)
 RETURNS TABLE(row_no bigint, guardian_id text, child_id text, sqlstate text, message text)
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO 'pg_catalog', 'pg_temp'
 SET jit TO 'off'
AS $function$
DECLARE
	skip_ri boolean := childguard._registration_skips_ri();
	srr text := pg_catalog.current_setting('session_replication_role');
	need bigint;
	have bigint;
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
	-- the load's children are locked FOR KEY SHARE as they are read (what
	-- child_guardian's foreign key on subject_no would lock): one pass, no
	-- second lookup; a child deleted meanwhile is then not registered
	CREATE TEMP TABLE childguard_guardians_out ON COMMIT DROP AS
	WITH cs AS MATERIALIZED (
		SELECT c.subject_no, c.child_id FROM childguard.child c
		 WHERE c.child_id IN (SELECT i.child_id FROM pg_temp.childguard_guardians_in i)
		   FOR KEY SHARE OF c
	)
	SELECT i.*, c.subject_no,
	       CASE WHEN i.guardian_id IS NULL OR i.guardian_id = '' THEN 1
	            WHEN i.relation IS NULL OR i.relation = '' THEN 2
	            WHEN c.subject_no IS NULL THEN 3
	            WHEN g.subject_no IS NOT NULL THEN 4
	            ELSE 0 END AS fault
	  FROM pg_temp.childguard_guardians_in i
	  LEFT JOIN cs c ON c.child_id = i.child_id
	  LEFT JOIN childguard.child g ON g.child_id = i.guardian_id;

	-- the guardians this statement inserts are its own (nobody else can
	-- delete them); those already registered are locked FOR KEY SHARE, in
	-- the same statement (child_guardian's foreign key on guardian_id);
	-- one of them gone meanwhile: 23503, as the foreign key would say
	WITH ins AS (
		INSERT INTO childguard.guardian (guardian_id)
		SELECT DISTINCT o.guardian_id FROM pg_temp.childguard_guardians_out o WHERE o.fault = 0
		ON CONFLICT DO NOTHING
		RETURNING childguard.guardian.guardian_id
	), old AS MATERIALIZED (
		SELECT o.guardian_id FROM pg_temp.childguard_guardians_out o WHERE o.fault = 0
		EXCEPT
		SELECT ins.guardian_id FROM ins
	)
	SELECT (SELECT pg_catalog.count(*) FROM old),
	       (SELECT pg_catalog.count(*) FROM (SELECT 1 FROM childguard.guardian t
	                                          WHERE t.guardian_id IN (SELECT old.guardian_id FROM old)
	                                            FOR KEY SHARE OF t) l)
	  INTO need, have;
	IF have < need THEN
		RAISE EXCEPTION 'insert or update on table "child_guardian" violates foreign key constraint "child_guardian_guardian_id_fkey"'
			USING ERRCODE = '23503',
			      DETAIL = pg_catalog.format('%s of the keys the rows refer to are not present in table "guardian" (removed while they were registered).',
			                                 need - have),
			      HINT = 'Run the registration again: the rows that now fail are reported.';
	END IF;
	IF skip_ri THEN
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
 SET jit TO 'off'
AS $function$
DECLARE
	pr record;
	skip_ri boolean := childguard._registration_skips_ri();
	srr text := pg_catalog.current_setting('session_replication_role');
	nestloop text;
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
	-- The rows consent's foreign keys refer to are read once each and
	-- locked FOR KEY SHARE as they are read (what each row's check would
	-- lock), so there is no second pass: the load's children (each opened
	-- once, not once per row; by index for a small load), its purposes, all
	-- versions of its notices, and the guardians it names.  A child, purpose
	-- or notice deleted meanwhile is then absent and its rows fail as such;
	-- a guardian deleted meanwhile while its link was still seen fails the
	-- call with 23503 below, as the foreign key would.
	CREATE TEMP TABLE childguard_consents_out ON COMMIT DROP AS
	WITH cl AS MATERIALIZED (
		SELECT c.subject_no, c.child_id, c.erased_at, c.sealed
		  FROM childguard.child c
		 WHERE c.child_id IN (SELECT i.child_id FROM pg_temp.childguard_consents_in i)
		   FOR KEY SHARE OF c
	), cs AS MATERIALIZED (
		-- opened after the load's children are found: never the whole registry
		SELECT cl.subject_no, cl.child_id, cl.erased_at, f.birth_date, f.in_difficulty, f.can_express
		  FROM cl
		  LEFT JOIN LATERAL childguard._open_registry(cl.subject_no, cl.sealed) f ON true
	), ps AS MATERIALIZED (
		SELECT p.* FROM childguard.purpose p
		 WHERE p.purpose IN (SELECT i.purpose FROM pg_temp.childguard_consents_in i)
		   FOR KEY SHARE OF p
	), nv AS MATERIALIZED (
		SELECT x.notice_id, x.version, x.purposes FROM childguard.notice x
		 WHERE x.notice_id IN (SELECT i.notice FROM pg_temp.childguard_consents_in i)
		   FOR KEY SHARE OF x
	), ns AS (
		SELECT DISTINCT ON (nv.notice_id) nv.* FROM nv ORDER BY nv.notice_id, nv.version DESC
	), gs AS MATERIALIZED (
		SELECT t.guardian_id FROM childguard.guardian t
		 WHERE t.guardian_id IN (SELECT i.given_by FROM pg_temp.childguard_consents_in i)
		    OR t.guardian_id IN (SELECT i.guardian_informed FROM pg_temp.childguard_consents_in i
		                          WHERE i.guardian_informed IS NOT NULL)
		   FOR KEY SHARE OF t
	), a AS (
		SELECT i.*, c.subject_no, c.child_id AS c_child_id, c.erased_at, c.in_difficulty,
		       c.can_express, p.purpose_id, p.purpose AS p_purpose, p.forbidden_in_difficulty,
		       p.kind IN ('disclose', 'publicize') AND c.in_difficulty AS disclosure,
		       p.kind = 'publicize' AND p.categories && childguard.identifying_categories() AS identifying_publicity,
		       n.notice_id AS n_notice_id, n.version AS n_version, n.purposes AS n_purposes,
		       r.message AS reader_message,
		       childguard.child_age(c.birth_date) AS age,
		       CASE WHEN i.given_by = c.child_id THEN 'child'
		            WHEN g1.guardian_id IS NOT NULL THEN 'guardian' END AS kind,
		       g2.guardian_id IS NOT NULL AS informed_is_guardian,
		       (g1.guardian_id IS NULL OR i.given_by = c.child_id OR hg.guardian_id IS NOT NULL)
		       AND (i.guardian_informed IS NULL OR hi.guardian_id IS NOT NULL) AS guardians_held
		  FROM pg_temp.childguard_consents_in i
		  LEFT JOIN cs c ON c.child_id = i.child_id
		  LEFT JOIN ps p ON p.purpose = i.purpose
		  LEFT JOIN ns n ON n.notice_id = i.notice
		  LEFT JOIN pg_temp.childguard_consents_reader r ON r.purpose = i.purpose
		  LEFT JOIN childguard.child_guardian g1
		         ON g1.subject_no = c.subject_no AND g1.guardian_id = i.given_by
		  LEFT JOIN childguard.child_guardian g2
		         ON g2.subject_no = c.subject_no AND g2.guardian_id = i.guardian_informed
		  -- (gs holds each guardian once: its primary key)
		  LEFT JOIN gs hg ON hg.guardian_id = i.given_by
		  LEFT JOIN gs hi ON hi.guardian_id = i.guardian_informed
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

	-- a guardian the rows name, seen linked but gone before it was locked
	IF EXISTS (SELECT 1 FROM pg_temp.childguard_consents_out o WHERE o.fault IS NULL AND NOT o.guardians_held) THEN
		RAISE EXCEPTION 'insert or update on table "consent" violates foreign key constraint "consent_guardian_id_fkey"'
			USING ERRCODE = '23503',
			      DETAIL = pg_catalog.format('%s of the keys the rows refer to are not present in table "guardian" (removed while they were registered).',
			                                 (SELECT pg_catalog.count(*) FROM pg_temp.childguard_consents_out o
			                                   WHERE o.fault IS NULL AND NOT o.guardians_held)),
			      HINT = 'Run the registration again: the rows that now fail are reported.';
	END IF;
	IF skip_ri THEN
		PERFORM pg_catalog.set_config('session_replication_role', 'replica', true);
	END IF;
	-- The table has no statistics: the planner's guess for "fault IS NULL"
	-- is a handful of rows, and with a nested loop it matched the inserted
	-- rows to the report in time quadratic in the load (a second for 4,000
	-- consents in 1.5); no nested loop for this statement (ANALYZE of the
	-- table instead gave the larger loads slower plans).
	nestloop := pg_catalog.current_setting('enable_nestloop');
	PERFORM pg_catalog.set_config('enable_nestloop', 'off', true);
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
	PERFORM pg_catalog.set_config('enable_nestloop', nestloop, true);

	IF skip_ri THEN
		PERFORM pg_catalog.set_config('session_replication_role', srr, true);
		-- consent_changed (enabled on origin) did not fire: fire it
		UPDATE childguard.consent x SET decision = x.decision WHERE false;
	END IF;

	DROP TABLE pg_temp.childguard_consents_in, pg_temp.childguard_consents_out,
	           pg_temp.childguard_consents_reader;
END
$function$;
