-- ---------------------------------------------------------------------------
-- 30 (1.8 -> 1.9): the set-based registration's work per row: its
-- per-child C functions as plain calls, not as a function scan per row,
-- and its grouping sorts by bytes (issue 12, bulkreg).
--
-- register_children() drew each child's data key with
-- `CROSS JOIN LATERAL _new_data_key(subject_no, 1)`, and record_consents()
-- opened each child's sealed registry facts with `LEFT JOIN LATERAL
-- _open_registry(subject_no, sealed)`: a function scan re-scanned once per
-- child, which builds a tuplestore and looks up the function's result type
-- from pg_proc at each re-scan, and _open_registry (SECURITY DEFINER with its
-- own search_path) also pushes and pops a GUC level and a search path per
-- call.  Now each is one call in the target list of a subquery that is
-- never flattened (OFFSET 0: the call happens once per child, its fields are
-- read from the composite), and record_consents(), which already runs as
-- the extension's owner, opens the facts through _open_registry_inline():
-- the same C code (its own entry point, one per SQL signature) without
-- SECURITY DEFINER and without the per-call search_path (not executable
-- by PUBLIC, as _open_registry).  The values,
-- their order (a data key per inserted child, in the insert's order), the
-- checks, the locks and the triggers are 1.8's.
--
-- The sorts that only group rows -- register_children()'s duplicate ids
-- (PARTITION BY child_id), register_guardians()' distinct guardians and
-- distinct (child, guardian) pairs -- compare the ids as bytes (COLLATE
-- "C") instead of through the database's locale (C.UTF-8 here: strcoll on
-- NUL-terminated copies, no abbreviated keys): a deterministic collation
-- calls two strings equal only when their bytes are, so the groups, the
-- row each keeps and the rows inserted are the same; only the order in
-- which the rows reach the heap may differ (no identity depends on it).
-- The three functions are replaced whole (CREATE OR REPLACE keeps their
-- grants and comments).
-- ---------------------------------------------------------------------------

CREATE FUNCTION childguard._open_registry_inline(subject_no bigint, sealed bytea,
		OUT birth_date date, OUT in_difficulty boolean, OUT can_express boolean)
	RETURNS record
	LANGUAGE C STABLE STRICT
	AS 'MODULE_PATHNAME', 'cg_open_registry_inline';
REVOKE ALL ON FUNCTION childguard._open_registry_inline(bigint, bytea) FROM PUBLIC;
COMMENT ON FUNCTION childguard._open_registry_inline(bigint, bytea) IS
	'Internal: _open_registry() for a caller already running as the extension''s owner (record_consents()): the same C code (its own entry point) without SECURITY DEFINER and without a search_path set per call; not executable by PUBLIC.';

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
		-- (partitions by comparing bytes: the same partitions as the
		-- column's deterministic collation, without a locale comparison
		-- per step of the sort)
		SELECT a.*, pg_catalog.min(a.row_no) FILTER (WHERE a.fault = 0)
		                OVER (PARTITION BY a.child_id COLLATE "C") AS first_ok
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
		-- one call per inserted child, in the insert's order (OFFSET 0: the
		-- subquery is not flattened, so the call is not repeated per field)
		SELECT k.subject_no, 1, (k.dk).wrapped_key, (k.dk).master_key_id
		  FROM (SELECT ins.subject_no, childguard._new_data_key(ins.subject_no, 1) AS dk
		          FROM ins OFFSET 0) k
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
	seq regclass := pg_catalog.pg_get_serial_sequence('childguard.consent', 'consent_id')::regclass;
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
		-- one call per child (OFFSET 0: not flattened, the fields are read
		-- from the composite); NULL facts where sealed is NULL, as the
		-- lateral join of 1.8 gave
		SELECT o.subject_no, o.child_id, o.erased_at, (o.f).birth_date, (o.f).in_difficulty,
		       (o.f).can_express
		  FROM (SELECT cl.subject_no, cl.child_id, cl.erased_at,
		               childguard._open_registry_inline(cl.subject_no, cl.sealed) AS f
		          FROM cl OFFSET 0) o
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
	-- only the columns read below (the rows are sorted: narrow ones sort faster)
	SELECT f.row_no, f.child_id, f.purpose, f.notice, f.given_by, f.decision, f.notice_version,
	       f.guardian_informed, f.subject_no, f.purpose_id, f.kind, f.n_notice_id, f.n_version,
	       f.reader_message, f.guardians_held, f.fault,
	       -- the identity each accepted row gets, drawn in row order (a volatile
	       -- expression is evaluated after the sort): what the INSERT would draw
	       CASE WHEN f.fault IS NULL THEN pg_catalog.nextval(seq) END AS new_consent_id
	  FROM (SELECT a.*,
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
	          FROM a) f
	 ORDER BY f.row_no;

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
	-- each accepted row with the identity drawn for it above: the report
	-- reads it back by row_no, with no numbering of the inserted rows
	INSERT INTO childguard.consent (consent_id, subject_no, purpose_id, decision, giver_kind, guardian_id,
	                                informed_guardian_id, notice_id, notice_version, recorded_by,
	                                recorded_by_role, recorded_session)
	OVERRIDING SYSTEM VALUE
	SELECT o.new_consent_id, o.subject_no, o.purpose_id, o.decision, o.kind,
	       CASE WHEN o.kind = 'guardian' THEN o.given_by END,
	       o.guardian_informed, o.n_notice_id, o.n_version, childguard._caller(),
	       childguard._caller_oid(), childguard._session_oid()
	  FROM pg_temp.childguard_consents_out o
	 WHERE o.fault IS NULL
	 ORDER BY o.new_consent_id;

	RETURN QUERY
	SELECT o.row_no, o.child_id, o.purpose, o.new_consent_id,
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
		-- the same set as DISTINCT in the column's (deterministic) collation,
		-- found by comparing bytes
		SELECT DISTINCT o.guardian_id COLLATE "C" FROM pg_temp.childguard_guardians_out o WHERE o.fault = 0
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
	-- the same pair twice: the later row's relation, as row by row (pairs
	-- grouped by comparing bytes: the same groups as the column's
	-- deterministic collation)
	INSERT INTO childguard.child_guardian (subject_no, guardian_id, relation)
	SELECT DISTINCT ON (o.subject_no, o.guardian_id COLLATE "C") o.subject_no, o.guardian_id, o.relation
	  FROM pg_temp.childguard_guardians_out o
	 WHERE o.fault = 0
	 ORDER BY o.subject_no, o.guardian_id COLLATE "C", o.row_no DESC
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
