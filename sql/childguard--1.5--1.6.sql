/* childguard 1.5 -> 1.6 — the upgrade script, one concern per part */
\echo Use "ALTER EXTENSION childguard UPDATE TO '1.6'" to load this file. \quit
-- ---------------------------------------------------------------------------
-- The registry's change triggers fire whatever session_replication_role
-- says (issue 12, coldread).
--
-- Every registry table tells the backends' caches (their own, and the
-- cache shared by the backends) of a committed change through its
-- _catalog_changed() statement trigger.  Enabled "on origin", such a
-- trigger does not fire in a session with session_replication_role =
-- replica: a superuser writing the
-- registry that way -- a consent withdrawn, a key destroyed -- left every
-- backend reading from its caches as if nothing had changed.  ENABLE
-- ALWAYS fires them in every mode; they only note the change, so
-- replicated rows are not touched twice.  The set-based registration's
-- fast path (_registration_skips_ri) accepts an ALWAYS trigger: the
-- setting neither skips nor starts it.
-- ---------------------------------------------------------------------------

DO $$
DECLARE
	t record;
BEGIN
	FOR t IN
		SELECT tg.tgrelid::regclass AS tbl, tg.tgname
		  FROM pg_catalog.pg_trigger tg
		 WHERE tg.tgfoid = 'childguard._catalog_changed()'::regprocedure
		   AND NOT tg.tgisinternal
		   AND tg.tgenabled <> 'A'
		 ORDER BY 1, 2
	LOOP
		EXECUTE pg_catalog.format('ALTER TABLE %s ENABLE ALWAYS TRIGGER %I', t.tbl, t.tgname);
	END LOOP;
END
$$;
-- ---------------------------------------------------------------------------
-- Per-child invalidation of the cache shared by the backends (issue 12,
-- coldread).
--
-- The registry tables whose rows each concern one child (child, data_key,
-- consent, child_guardian, retention_restart, request) tell the caches of
-- a change through statement triggers with transition tables: at commit
-- the cache shared by the backends drops only the entries of the children
-- in the statement's old and new rows (shared_cache.c, docs/keys.md "The
-- cache shared by the backends"), so registering or withdrawing for one
-- child no longer empties it for every other.  Each backend's own caches
-- are flushed as before (a relcache invalidation).  TRUNCATE, and every
-- other registry table (purposes, grants, officers, assessments, ...),
-- keep _catalog_changed(), which empties the whole shared cache at commit.
-- All fire ALWAYS, whatever session_replication_role says (part 10).
-- ---------------------------------------------------------------------------

CREATE FUNCTION childguard._registry_rows_changed() RETURNS trigger
	LANGUAGE C AS 'MODULE_PATHNAME', 'cg_registry_rows_changed';
REVOKE ALL ON FUNCTION childguard._registry_rows_changed() FROM PUBLIC;
COMMENT ON FUNCTION childguard._registry_rows_changed() IS
	'Internal: statement trigger (with transition tables) on the registry tables whose rows concern one child each; its argument names the subject column. At commit, the cache shared by the backends drops the entries of the children in the old and new rows only; each backend''s own caches are flushed.';

DO $$
DECLARE
	t text;
BEGIN
	FOREACH t IN ARRAY ARRAY['child', 'data_key', 'consent', 'child_guardian',
							 'retention_restart', 'request']
	LOOP
		EXECUTE pg_catalog.format('DROP TRIGGER %I ON childguard.%I', t || '_changed', t);
		EXECUTE pg_catalog.format(
			'CREATE TRIGGER %I AFTER TRUNCATE ON childguard.%I '
			'FOR EACH STATEMENT EXECUTE FUNCTION childguard._catalog_changed()',
			t || '_changed', t);
		EXECUTE pg_catalog.format(
			'CREATE TRIGGER %I AFTER INSERT ON childguard.%I REFERENCING NEW TABLE AS cg_new '
			'FOR EACH STATEMENT EXECUTE FUNCTION childguard._registry_rows_changed(%L)',
			t || '_rows_inserted', t, 'subject_no');
		EXECUTE pg_catalog.format(
			'CREATE TRIGGER %I AFTER UPDATE ON childguard.%I REFERENCING OLD TABLE AS cg_old NEW TABLE AS cg_new '
			'FOR EACH STATEMENT EXECUTE FUNCTION childguard._registry_rows_changed(%L)',
			t || '_rows_updated', t, 'subject_no');
		EXECUTE pg_catalog.format(
			'CREATE TRIGGER %I AFTER DELETE ON childguard.%I REFERENCING OLD TABLE AS cg_old '
			'FOR EACH STATEMENT EXECUTE FUNCTION childguard._registry_rows_changed(%L)',
			t || '_rows_deleted', t, 'subject_no');
		EXECUTE pg_catalog.format('ALTER TABLE childguard.%I ENABLE ALWAYS TRIGGER %I', t, t || '_changed');
		EXECUTE pg_catalog.format('ALTER TABLE childguard.%I ENABLE ALWAYS TRIGGER %I', t, t || '_rows_inserted');
		EXECUTE pg_catalog.format('ALTER TABLE childguard.%I ENABLE ALWAYS TRIGGER %I', t, t || '_rows_updated');
		EXECUTE pg_catalog.format('ALTER TABLE childguard.%I ENABLE ALWAYS TRIGGER %I', t, t || '_rows_deleted');
		EXECUTE pg_catalog.format('COMMENT ON TRIGGER %I ON childguard.%I IS %L', t || '_changed', t,
			'TRUNCATE empties every backend''s caches and the whole cache shared by the backends (_catalog_changed).');
		EXECUTE pg_catalog.format('COMMENT ON TRIGGER %I ON childguard.%I IS %L', t || '_rows_inserted', t,
			'The children of the inserted rows: their entries in the cache shared by the backends go at commit (_registry_rows_changed).');
		EXECUTE pg_catalog.format('COMMENT ON TRIGGER %I ON childguard.%I IS %L', t || '_rows_updated', t,
			'The children of the updated rows, old and new: their entries in the cache shared by the backends go at commit (_registry_rows_changed).');
		EXECUTE pg_catalog.format('COMMENT ON TRIGGER %I ON childguard.%I IS %L', t || '_rows_deleted', t,
			'The children of the deleted rows: their entries in the cache shared by the backends go at commit (_registry_rows_changed).');
	END LOOP;
END
$$;
-- ---------------------------------------------------------------------------
-- 18 (1.5 -> 1.6): the consent log's statement trigger in C (issue 12,
-- set-based registration).
--
-- _consent_events_inserted(), AFTER INSERT FOR EACH STATEMENT on
-- childguard.consent, appended a statement's events with one INSERT that
-- numbered them (a sort and a window), hashed them (a window aggregate over
-- a second sort) and took each one's previous hash (a third window): 17% of
-- a set-based registration's time.  The C function reads the transition
-- table once, numbers and hashes the events in order of consent_id in one
-- pass and inserts them in chunks (src/consent/consent_log_append.c).  The
-- rows are the same: the same numbers, texts, hashes and previous hashes,
-- so verify_consent_log() stays exact; the head's row lock still
-- serialises appenders.  Replaced in place: the trigger, its grants and its
-- comment stay.
-- ---------------------------------------------------------------------------
CREATE OR REPLACE FUNCTION childguard._consent_events_inserted()
	RETURNS trigger
	LANGUAGE c
	SECURITY DEFINER
	SET search_path TO 'pg_catalog', 'pg_temp'
	AS 'MODULE_PATHNAME', 'cg_consent_events_inserted';
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
-- ---------------------------------------------------------------------------
-- load_rows()'s rejections (round 20, loose end 1).  _load_reject_add() is
-- SECURITY DEFINER (load_reject is written by no role directly) and was
-- executable by PUBLIC, so that load_rows(), which runs as its caller,
-- could record the rows it rejected: any role could add rows to the
-- register under its own name, naming any load, table, child and
-- SQLSTATE.  Now it is granted like the other application functions (an
-- enrolled application and an officer, directly or through membership),
-- and a call must look like load_rows()'s own (ZC562, nothing written):
-- the load is the one this session numbered last, a purpose is declared,
-- the target is a protected table the caller may insert into, and each
-- SQLSTATE is one load_rows() records.
-- ---------------------------------------------------------------------------

CREATE OR REPLACE FUNCTION childguard._load_reject_add(load_id bigint, target regclass, row_nos bigint[],
													 children text[], states text[])
	RETURNS void
	LANGUAGE plpgsql
	SECURITY DEFINER
	SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_variable
DECLARE
	current_load bigint;
	why text;
BEGIN
	BEGIN
		current_load := pg_catalog.currval('childguard.load_id_seq');
	EXCEPTION WHEN object_not_in_prerequisite_state THEN
		current_load := NULL;
	END;
	why := CASE
		WHEN load_id IS NULL OR current_load IS NULL OR load_id <> current_load
			THEN 'The load is not the one load_rows() numbered last in this session.'
		WHEN childguard.current_purpose() IS NULL
			THEN 'No purpose is declared: a load collects data for one.'
		WHEN target IS NULL OR childguard._seal_subject_column(target) IS NULL
		     OR childguard.protection_problem(target) IS NOT NULL
			THEN 'The target is not a protected table.'
		WHEN NOT pg_catalog.has_table_privilege(childguard._caller_oid(), target, 'INSERT')
			THEN 'The calling role may not insert into the target.'
		WHEN row_nos IS NULL OR children IS NULL OR states IS NULL
		     OR pg_catalog.cardinality(row_nos) <> pg_catalog.cardinality(states)
		     OR pg_catalog.cardinality(children) <> pg_catalog.cardinality(states)
			THEN 'The rows, children and SQLSTATEs are not lists of one length.'
		WHEN EXISTS (SELECT 1 FROM pg_catalog.unnest(states) s
		              WHERE childguard._row_sqlstate_reason(s) IS NULL)
			THEN 'A SQLSTATE is not one load_rows() records for a row.'
	END;
	IF why IS NOT NULL THEN
		RAISE EXCEPTION 'rejected rows are recorded only by load_rows()'
			USING ERRCODE = 'ZC562', DETAIL = why,
			      HINT = 'Load with childguard.load_rows(target, staging); its rejections are recorded for you.';
	END IF;
	INSERT INTO childguard.load_reject (load_id, target, row_no, child, sqlstate, reason, loaded_by)
	SELECT load_id, target, r.n, r.k, r.s, childguard._row_sqlstate_reason(r.s), childguard._caller_oid()
	  FROM ROWS FROM (pg_catalog.unnest(row_nos), pg_catalog.unnest(children), pg_catalog.unnest(states)) r(n, k, s);
END
$$;
REVOKE ALL ON FUNCTION childguard._load_reject_add(bigint, regclass, bigint[], text[], text[]) FROM PUBLIC;
COMMENT ON FUNCTION childguard._load_reject_add(bigint, regclass, bigint[], text[], text[]) IS
	'Internal (load_rows()): records rejected rows of a load as the calling role''s (each role reads only its own). Granted to enrolled applications and officers; refuses (ZC562) a call that is not load_rows()''s own: another load than the session''s last, no purpose, a target that is not protected or the caller may not insert into, a SQLSTATE load_rows() does not record.';

-- the application and officer lists name it, so enrolling and appointing
-- grant it (and unenrolling revokes it); roles enrolled or appointed
-- before get it now, in the order they were enrolled or appointed
DO $lists$
DECLARE
	fn CONSTANT text := 'childguard._load_reject_add(bigint,regclass,bigint[],text[],text[])';
	app text[] := childguard._qualified(childguard._application_functions()) || ARRAY[fn];
	officer text[] := childguard._qualified(childguard._officer_functions()) || ARRAY[fn];
	r record;
BEGIN
	EXECUTE pg_catalog.format(
		'CREATE OR REPLACE FUNCTION childguard._application_functions() RETURNS regprocedure[] '
		'LANGUAGE sql IMMUTABLE AS %L',
		pg_catalog.format('SELECT %s::regprocedure[]', childguard._list_literal(app)));
	EXECUTE pg_catalog.format(
		'CREATE OR REPLACE FUNCTION childguard._officer_functions() RETURNS regprocedure[] '
		'LANGUAGE sql IMMUTABLE AS %L',
		pg_catalog.format('SELECT %s::regprocedure[]', childguard._list_literal(officer)));
	PERFORM childguard._application_functions(), childguard._officer_functions();
	FOR r IN SELECT x.role FROM (
	             SELECT e.role, e.enrolled_at AS at FROM childguard.enrollment e
	              WHERE e.duty = 'application' AND e.role IS NOT NULL
	             UNION ALL
	             SELECT o.role, o.appointed_at FROM childguard.officer o WHERE o.role IS NOT NULL) x
	          WHERE EXISTS (SELECT 1 FROM pg_catalog.pg_roles p WHERE p.oid = x.role::oid)
	          GROUP BY x.role ORDER BY pg_catalog.min(x.at) LOOP
		EXECUTE pg_catalog.format('GRANT EXECUTE ON FUNCTION %s TO %s', fn, r.role);
	END LOOP;
END
$lists$;
-- ---------------------------------------------------------------------------
-- A blind index's hidden column keeps no statistics (round 20, red team).
-- ANALYZE kept the most common hashes of the column and their frequencies
-- over every row of the table; the planner's estimates then told a reader
-- with a purpose -- through EXPLAIN, without running anything -- how many
-- rows in all hold a value it names (a lookup `col = guess` is estimated
-- through the hash of the guess) or the value of a row it can see:
-- counts over the rows of children it may not read (consent withdrawn, no
-- grant), which the row policy hides.  The hidden column's statistics
-- target is now 0 (ANALYZE skips it) for new blind indexes
-- (enable_blind_index(), replaced whole from 1.5 with that one statement
-- added; CREATE OR REPLACE keeps its grants and comment) and for existing
-- ones, whose statistics are removed.
-- ---------------------------------------------------------------------------

CREATE OR REPLACE FUNCTION childguard.enable_blind_index(tbl regclass, column_name name,
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
	-- no statistics of the hashes: the planner's estimates (EXPLAIN) would
	-- tell how often a value occurs among every row, hidden ones too
	EXECUTE pg_catalog.format('ALTER TABLE %s ALTER COLUMN %I SET STATISTICS 0', tbl, hidden);
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

-- existing blind indexes: the statistics target, and the statistics kept
DO $stats$
DECLARE
	b record;
BEGIN
	FOR b IN SELECT x.tbl, x.blind_column, a.attnum
	           FROM childguard.blind_index x
	           JOIN pg_catalog.pg_attribute a ON a.attrelid = x.tbl AND a.attname = x.blind_column
	                                          AND NOT a.attisdropped
	          ORDER BY x.tbl, x.blind_column LOOP
		EXECUTE pg_catalog.format('ALTER TABLE %s ALTER COLUMN %I SET STATISTICS 0', b.tbl, b.blind_column);
		DELETE FROM pg_catalog.pg_statistic s WHERE s.starelid = b.tbl AND s.staattnum = b.attnum;
	END LOOP;
END
$stats$;
-- ---------------------------------------------------------------------------
-- backend_cache_stats(): the shared cache's counters for a superuser only
-- (round 20, red team).  A hit in this backend's probes of the cache shared
-- by the backends says that another backend looked that child up since
-- the registry last changed; a role with a purpose could make its row
-- policy look up one child id in a fresh session and read here whether
-- anybody had just read that child.  The C function now returns the
-- "shared" row's counters as NULL (its capacity shown) to other roles.
-- ---------------------------------------------------------------------------
COMMENT ON FUNCTION childguard.backend_cache_stats() IS
	'This backend''s read-path caches, one row each: data_key (unwrapped data keys; capacity is childguard.data_key_cache_size), verdict (per child and purpose, what consent and registry decided) and shared (this backend''s probes of the cache shared by the backends; its counters for a superuser only, since its hits tell of other backends'' reads); keys held, hits, misses, evictions, full flushes and the hit rate. Counts only.';
