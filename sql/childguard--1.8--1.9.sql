/* childguard 1.8 -> 1.9 — the upgrade script, one concern per part */
\echo Use "ALTER EXTENSION childguard UPDATE TO '1.9'" to load this file. \quit
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
-------------------------------------------------------------------------------
-- Per-child reads of the packed access log (issue 12, flat latency;
-- docs/audit.md "The per-child route (1.9)").  A query on the access_log
-- view that filters by child unpacks every batch: a guardian's request
-- (child_report()) cost what the whole log costs.  Now each batch lists
-- the children its records name (subjects: the sorted, distinct subject
-- numbers read, denied or written), written by the audit writer in the
-- batch's own row and indexed with GIN; the rows of 1.0-1.7 get a GIN
-- index on the same three lists.  _access_log_for_child() reads the
-- child's rows through that index and unpacks only the batches that name
-- the child, forming only the child's records.  The subjects are not in
-- the chain's hashes: verify_access_log() recomputes each batch's list
-- from its verified records and reports a batch whose list differs.
-------------------------------------------------------------------------------

ALTER TABLE childguard.access_log_batch ADD COLUMN subjects bigint[];
-- the batches written before 1.9: their lists from their records
UPDATE childguard.access_log_batch b
   SET subjects = ARRAY(SELECT DISTINCT s
                          FROM childguard._access_log_unpack(b.first_id, b.logged_at,
                                                             b.prev_hash, b.packed) u,
                               pg_catalog.unnest(u.children_read || u.children_denied
                                                 || u.children_written) s
                         ORDER BY s);
ALTER TABLE childguard.access_log_batch ALTER COLUMN subjects SET NOT NULL;
-- kept in the batch's row (MAIN: out of line only if the row would not fit
-- a page), compressed, if at all, with lz4: a batch of a few hundred
-- children is just over the TOAST threshold, and pglz cost the writer more
-- per batch than the list's GIN entries (a writer profile); sorted ids
-- barely compress
DO $compression$
BEGIN
	ALTER TABLE childguard.access_log_batch ALTER COLUMN subjects SET COMPRESSION lz4;
EXCEPTION WHEN feature_not_supported THEN
	NULL;
END
$compression$;
ALTER TABLE childguard.access_log_batch ALTER COLUMN subjects SET STORAGE MAIN;
COMMENT ON COLUMN childguard.access_log_batch.subjects IS
	'the children (subject numbers) its records name, read, denied or written: sorted, each once; indexed (GIN) for per-child reads. Not hashed: verify_access_log() checks it against the records';
CREATE INDEX access_log_batch_subjects_idx ON childguard.access_log_batch
	USING gin (subjects);
COMMENT ON INDEX childguard.access_log_batch_subjects_idx IS
	'The batches that name a child: childguard._access_log_for_child() unpacks only those.';
CREATE INDEX access_log_rows_children_idx ON childguard.access_log_rows
	USING gin ((children_read || children_denied || children_written));
COMMENT ON INDEX childguard.access_log_rows_children_idx IS
	'The records of 1.0-1.7 that name a child (read, denied or written): for childguard._access_log_for_child().';

-- A batch's records that name one child: a pure function of its arguments,
-- as _access_log_unpack() (the others are walked, not formed into rows).
CREATE FUNCTION childguard._access_log_unpack_child(first_id bigint, logged_at timestamptz,
													prev_hash bytea, packed bytea,
													subject_no bigint)
	RETURNS TABLE (id bigint, statement_at timestamptz, logged_at timestamptz,
				   session_id text, backend_pid integer, session_role text,
				   acting_role text, client_addr text, application_name text,
				   command text, purpose text, grant_id bigint, relations text[],
				   columns text[], children_read bigint[], children_denied bigint[],
				   children_written bigint[], children integer, rows bigint,
				   outcome text, sqlstate text, query_id bigint, prev_hash bytea,
				   hash bytea, format_version smallint, end_user text)
	LANGUAGE C IMMUTABLE PARALLEL SAFE ROWS 10
	AS 'MODULE_PATHNAME', 'cg_access_log_unpack_child';
COMMENT ON FUNCTION childguard._access_log_unpack_child(bigint, timestamptz, bytea, bytea, bigint) IS
	'The records of one packed access log batch that name the child (read, denied or written), as rows of childguard.access_log; reads nothing but its arguments.';
GRANT EXECUTE ON FUNCTION childguard._access_log_unpack_child(bigint, timestamptz, bytea, bytea, bigint) TO PUBLIC;

CREATE FUNCTION childguard._access_log_for_child(subject_no bigint)
	RETURNS SETOF childguard.access_log
	LANGUAGE sql STABLE
	SET search_path = pg_catalog, pg_temp
AS $$
	SELECT r.id, r.statement_at, r.logged_at, r.session_id, r.backend_pid, r.session_role,
	       r.acting_role, r.client_addr, r.application_name, r.command, r.purpose,
	       r.grant_id, r.relations, r.columns, r.children_read, r.children_denied,
	       r.children_written, r.children, r.rows, r.outcome, r.sqlstate, r.query_id,
	       r.prev_hash, r.hash, r.format_version, r.end_user
	  FROM childguard.access_log_rows r
	 WHERE (r.children_read || r.children_denied || r.children_written)
	       OPERATOR(pg_catalog.@>) ARRAY[_access_log_for_child.subject_no]
	UNION ALL
	SELECT u.id, u.statement_at, u.logged_at, u.session_id, u.backend_pid, u.session_role,
	       u.acting_role, u.client_addr, u.application_name, u.command, u.purpose,
	       u.grant_id, u.relations, u.columns, u.children_read, u.children_denied,
	       u.children_written, u.children, u.rows, u.outcome, u.sqlstate, u.query_id,
	       u.prev_hash, u.hash, u.format_version, u.end_user
	  FROM childguard.access_log_batch b
	 CROSS JOIN LATERAL childguard._access_log_unpack_child(b.first_id, b.logged_at, b.prev_hash,
	                                                         b.packed, _access_log_for_child.subject_no) u
	 WHERE b.subjects OPERATOR(pg_catalog.@>) ARRAY[_access_log_for_child.subject_no]
$$;
REVOKE ALL ON FUNCTION childguard._access_log_for_child(bigint) FROM PUBLIC;
COMMENT ON FUNCTION childguard._access_log_for_child(bigint) IS
	'The access log''s records that name the child (subject number: read, denied or written): the rows table through its GIN index, and only the packed batches whose subjects name the child, only the child''s records formed. Cost follows the child''s records, not the log. For child_report(); readers of the log use the access_log view.';

-- a guardian's access request: the child's accesses through the index
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
			  FROM childguard._access_log_for_child(c.subject_no) l), '[]'),
		'generated_at', pg_catalog.now());
END
$$;
