/* childguard 1.6 -> 1.7 — the upgrade script, one concern per part */
\echo Use "ALTER EXTENSION childguard UPDATE TO '1.7'" to load this file. \quit
-- ---------------------------------------------------------------------------
-- 10 (1.6 -> 1.7): record_consents() draws each accepted row's consent_id
-- in its fault table, in row order (issue 12).
--
-- 1.6 inserted the accepted rows with their identities drawn by the INSERT
-- and matched them back to the report by numbering both sides (two sorts,
-- two window functions, a hash join and a merge join over every row of the
-- load, run without nested loops): about a tenth of the call at 100,000
-- children.  Now the fault table draws the identity of each accepted row
-- with nextval() on consent's own identity sequence, in row order, so the
-- INSERT (OVERRIDING SYSTEM VALUE) writes the same consent_id values the
-- INSERT would have drawn (the same sequence, the same order), and the
-- report reads them back from the fault table by row_no.  The fault table
-- keeps only the columns read after it (it is sorted by row_no to draw the
-- identities in that order).  Everything else is 1.6's: the checks, their order, the locks, the 23503, the triggers.
-- Replaced whole (CREATE OR REPLACE keeps its grants and comment).
-- ---------------------------------------------------------------------------

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
-- ---------------------------------------------------------------------------
-- 50 (1.6 -> 1.7): registry rows applied by a logical replication worker
-- tell the caches of the change (issue 12, subinval).
--
-- The registry's cache invalidation runs from statement triggers
-- (_catalog_changed(), _registry_rows_changed(column)).  A logical
-- replication apply worker fires no statement trigger for the inserts,
-- updates and deletes it applies, only row triggers enabled ALWAYS or
-- REPLICA: on a subscriber of the registry, a consent withdrawn or a key
-- destroyed on the publisher reached the tables but not the caches of the
-- subscriber's backends (their own and the shared one), and a backend that
-- had read the child kept decrypting it.  Every table carrying one of those
-- statement triggers gets a row trigger <table>_applied, AFTER INSERT OR
-- UPDATE OR DELETE FOR EACH ROW, ENABLE ALWAYS, WHEN
-- (childguard._replication_applying()): for every other writer the WHEN
-- clause is false (one C function call per row, no trigger event queued);
-- in a logical replication worker it notes the row's child (the per-child
-- tables, argument subject_no) or the whole shared cache (the other
-- tables) and invalidates the table for every backend, at the worker's
-- commit (src/base/replicated_rows.c).  TRUNCATE fires the statement
-- triggers in the apply worker too.  A registry table added later with one
-- of those statement triggers needs its <table>_applied trigger as well.
-- ---------------------------------------------------------------------------

CREATE FUNCTION childguard._replication_applying() RETURNS boolean
	LANGUAGE C VOLATILE PARALLEL SAFE AS 'MODULE_PATHNAME', 'cg_replication_applying';
REVOKE ALL ON FUNCTION childguard._replication_applying() FROM PUBLIC;
COMMENT ON FUNCTION childguard._replication_applying() IS
	'Internal: true in a logical replication worker (apply or table synchronisation), false elsewhere (a walsender too); the WHEN clause of the registry tables'' <table>_applied row triggers.';

CREATE FUNCTION childguard._registry_row_applied() RETURNS trigger
	LANGUAGE C AS 'MODULE_PATHNAME', 'cg_registry_row_applied';
REVOKE ALL ON FUNCTION childguard._registry_row_applied() FROM PUBLIC;
COMMENT ON FUNCTION childguard._registry_row_applied() IS
	'Internal: AFTER ROW trigger on the registry tables, firing only in a logical replication worker (which fires no statement trigger for the rows it applies): what the table''s statement trigger does for a local statement. With a column name (the subject''s), the row''s child leaves the cache shared by the backends at commit; without, the whole shared cache; each backend''s own caches are flushed.';

DO $$
DECLARE
	t record;
BEGIN
	FOR t IN
		SELECT c.oid::regclass AS tbl, c.relname,
			   (SELECT pg_catalog.split_part(pg_catalog.encode(tg.tgargs, 'escape'), '\000', 1)
				  FROM pg_catalog.pg_trigger tg
				 WHERE tg.tgrelid = c.oid AND NOT tg.tgisinternal
				   AND tg.tgfoid = 'childguard._registry_rows_changed()'::regprocedure
				 ORDER BY tg.tgname LIMIT 1) AS subject_column
		  FROM pg_catalog.pg_class c
		 WHERE c.relnamespace = 'childguard'::regnamespace
		   AND EXISTS (SELECT 1 FROM pg_catalog.pg_trigger tg
						WHERE tg.tgrelid = c.oid AND NOT tg.tgisinternal
						  AND tg.tgfoid IN ('childguard._catalog_changed()'::regprocedure,
											'childguard._registry_rows_changed()'::regprocedure))
		 ORDER BY c.relname
	LOOP
		IF t.subject_column IS NOT NULL THEN
			EXECUTE pg_catalog.format(
				'CREATE TRIGGER %I AFTER INSERT OR UPDATE OR DELETE ON %s FOR EACH ROW '
				'WHEN (childguard._replication_applying()) '
				'EXECUTE FUNCTION childguard._registry_row_applied(%L)',
				t.relname || '_applied', t.tbl, t.subject_column);
			EXECUTE pg_catalog.format('COMMENT ON TRIGGER %I ON %s IS %L', t.relname || '_applied', t.tbl,
				'Rows applied by a logical replication worker (which fires no statement trigger for them): their children''s entries in the cache shared by the backends go at commit, and every backend''s own caches are flushed (_registry_row_applied). Any other writer: the WHEN clause is false.');
		ELSE
			EXECUTE pg_catalog.format(
				'CREATE TRIGGER %I AFTER INSERT OR UPDATE OR DELETE ON %s FOR EACH ROW '
				'WHEN (childguard._replication_applying()) '
				'EXECUTE FUNCTION childguard._registry_row_applied()',
				t.relname || '_applied', t.tbl);
			EXECUTE pg_catalog.format('COMMENT ON TRIGGER %I ON %s IS %L', t.relname || '_applied', t.tbl,
				'Rows applied by a logical replication worker (which fires no statement trigger for them): every backend''s caches and the whole cache shared by the backends are emptied at commit (_registry_row_applied). Any other writer: the WHEN clause is false.');
		END IF;
		EXECUTE pg_catalog.format('ALTER TABLE %s ENABLE ALWAYS TRIGGER %I', t.tbl, t.relname || '_applied');
	END LOOP;
END
$$;
