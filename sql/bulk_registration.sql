-- Set-based registration (issue 12): register_children(),
-- register_guardians() and record_consents() give, row for row, the same
-- outcome as register_child(), register_guardian() and record_consent()
-- called in the staging table's order (the same rows registered, the same
-- rejects with the same SQLSTATE and message), leave the same registry
-- state and an exact consent log; and they read only what the caller may.
-- Every input below is run twice, in one database: row by row with ids
-- prefixed "a-", and set-based with ids prefixed "b-"; the comparisons strip
-- the prefix.  (On the old code the set-based functions do not exist.)
SET client_min_messages = warning;
DROP DATABASE IF EXISTS regress_bulk;
CREATE DATABASE regress_bulk;
\c regress_bulk
SET client_min_messages = warning;
CREATE EXTENSION childguard CASCADE;
CREATE ROLE regress_bulk_dpo;
CREATE ROLE regress_bulk_app;
CREATE ROLE regress_bulk_rec;
CREATE ROLE regress_bulk_reader;
RESET client_min_messages;
\set VERBOSITY terse
SELECT childguard.appoint_officer('regress_bulk_dpo');
SELECT childguard.enroll_application('regress_bulk_app');
SELECT childguard.enroll_application('regress_bulk_reader');
SELECT childguard.enroll_consent_recorder('regress_bulk_rec');
GRANT CREATE ON SCHEMA public TO regress_bulk_app, regress_bulk_rec, regress_bulk_reader;
SET ROLE regress_bulk_dpo;
SELECT childguard.define_purpose('tutoring', '{name,school}', '2 years');
SELECT childguard.define_purpose('fundraising', '{name}', '1 year', forbidden_in_difficulty => true);
SELECT childguard.define_purpose('reading', '{name}', '1 year');
SELECT childguard.publish_notice('n1', '{tutoring,fundraising,reading}', 'a', 'b', 'c', 'd', 'e', 'f', 'g');
SELECT childguard.publish_notice('n1', '{tutoring,fundraising,reading}', 'a', 'b', 'c', 'd', 'e', 'f', 'phone 2', false);
SELECT childguard.publish_notice('n2', '{fundraising}', 'a', 'b', 'c', 'd', 'e', 'f', 'g');
RESET ROLE;
-- the test's superuser reads for "reading": it may not record consent for it (ZC121)
SELECT childguard.request_access(current_user::regrole, '{reading}', now() + interval '1 day') AS g \gset
SET ROLE regress_bulk_dpo;
SELECT childguard.approve_access(:g);
RESET ROLE;
-- and regress_bulk_reader reads for "tutoring": it may not register guardians
SELECT childguard.request_access('regress_bulk_reader', '{tutoring}', now() + interval '1 day') AS g \gset
SET ROLE regress_bulk_dpo;
SELECT childguard.approve_access(:g);
RESET ROLE;

-- ---------------------------------------------------------------------------
-- The inputs, with X where the prefix goes
-- ---------------------------------------------------------------------------
CREATE TABLE t_children (row_no bigint, child_id text, birth_date date, in_difficulty boolean, can_express boolean);
INSERT INTO t_children VALUES
	(1,  'Xc1',  current_date - interval '10 years', false, true),   -- registered
	(2,  '',     current_date - interval '10 years', false, true),   -- empty id
	(3,  NULL,   current_date - interval '10 years', false, true),   -- no id
	(4,  'Xc4',  NULL, false, true),                                  -- no birth date
	(5,  'Xc5',  current_date + 1, false, true),                      -- born tomorrow
	(6,  'Xc6',  'infinity', false, true),                            -- not finite
	(7,  'Xpre', current_date - interval '8 years', false, true),    -- registered before
	(8,  'Xc1',  current_date - interval '9 years', false, true),    -- twice in the table
	(9,  'Xc9',  current_date - interval '9 years', NULL, true),     -- circumstances unknown ...
	(10, 'Xc9',  current_date - interval '9 years', false, true),    -- ... so this one is the first
	(11, 'Xc9',  current_date - interval '9 years', false, true),    -- and this one a duplicate
	(12, 'Xc13', current_date - interval '9 years', false, true),
	(13, 'Xc13', current_date - interval '9 years', false, NULL),    -- duplicate before circumstances
	(14, 'Xc15', current_date - interval '15 years', true, false),   -- in difficulty, cannot express
	(15, 'Xc16', current_date - interval '15 years', true, true),    -- in difficulty, can express
	(16, 'Xc17', current_date - interval '16 years', false, true),
	(17, 'Xc18', current_date - interval '5 years', false, true),
	(18, 'Xer',  current_date - interval '5 years', false, true),    -- erased below
	(19, 'Xc4',  current_date - interval '4 years', false, true);    -- first attempt had no birth date

CREATE TABLE t_guardians (row_no bigint, guardian_id text, child_id text, relation text);
INSERT INTO t_guardians VALUES
	(1,  'Xg1', 'Xc1',  'father'),
	(2,  '',    'Xc1',  'father'),      -- empty id
	(3,  NULL,  'Xc1',  'father'),
	(4,  'Xg2', 'Xc1',  ''),            -- empty relation
	(5,  'Xg2', 'Xc1',  NULL),
	(6,  'Xg3', 'Xnochild', 'mother'),  -- unknown child
	(7,  'Xg4', NULL,   'mother'),
	(8,  'Xc18', 'Xc1', 'brother'),     -- a child's id
	(9,  'Xg1', 'Xc1',  'parent'),      -- again: the later relation wins
	(10, 'Xg5', 'Xc15', 'mother'),
	(11, 'Xg6', 'Xc16', 'mother'),
	(12, 'Xg7', 'Xc18', 'mother'),
	(13, 'Xg1', 'Xc17', 'father'),
	(14, 'Xg8', 'Xc5',  'father'),      -- the child was rejected
	(15, 'Xg9', 'Xer',  'mother'),
	(16, '',    'Xnochild', ''),        -- several faults: the first counts
	(17, 'Xg10', 'Xc4', 'aunt');

CREATE TABLE t_consents (row_no bigint, child_id text, purpose text, notice text, given_by text,
                         decision text, notice_version integer, guardian_informed text);
INSERT INTO t_consents VALUES
	(1,  'Xc1',  'tutoring', 'n1', 'Xg1',  'granted', NULL, NULL),  -- recorded
	(2,  'Xc1',  'tutoring', 'n1', 'Xc1',  'granted', NULL, NULL),  -- under 14 alone
	(3,  'Xc17', 'tutoring', 'n1', 'Xc17', 'granted', 2, NULL),     -- recorded, current version
	(4,  'Xc17', 'tutoring', 'n1', 'Xg1',  'granted', NULL, NULL),  -- 14 or over
	(5,  'Xc15', 'tutoring', 'n1', 'Xg5',  'granted', NULL, NULL),  -- guardian for a child who cannot express
	(6,  'Xc16', 'tutoring', 'n1', 'Xc16', 'granted', NULL, NULL),  -- guardian not informed
	(7,  'Xc16', 'tutoring', 'n1', 'Xc16', 'granted', NULL, 'Xg6'), -- recorded
	(8,  'Xc16', 'tutoring', 'n1', 'Xc16', 'refused', NULL, NULL),  -- a refusal needs no one informed
	(9,  'Xc1',  'tutoring', 'n1', 'Xg1',  'granted', NULL, 'Xg7'), -- informed: not this child's guardian
	(10, 'Xc16', 'fundraising', 'n1', 'Xc16', 'granted', NULL, 'Xg6'), -- forbidden in difficulty
	(11, 'Xc16', 'fundraising', 'n1', 'Xc16', 'refused', NULL, NULL),  -- a refusal is recorded
	(12, 'Xnochild', 'tutoring', 'n1', 'Xg1', 'granted', NULL, NULL),
	(13, NULL,   'tutoring', 'n1', 'Xg1',  'granted', NULL, NULL),
	(14, 'Xc1',  'nopurpose', 'n1', 'Xg1', 'granted', NULL, NULL),
	(15, 'Xc1',  'tutoring', 'nonotice', 'Xg1', 'granted', NULL, NULL),
	(16, 'Xc1',  'tutoring', 'n1', 'Xg1',  'granted', 1, NULL),     -- superseded version
	(17, 'Xc1',  'tutoring', 'n2', 'Xg1',  'granted', NULL, NULL),  -- notice does not cover it
	(18, 'Xc1',  'tutoring', 'n1', 'Xg1',  'maybe', NULL, NULL),
	(19, 'Xc1',  'tutoring', 'n1', 'Xg1',  NULL, NULL, NULL),
	(20, 'Xc1',  'tutoring', 'n1', '',     'granted', NULL, NULL),
	(21, 'Xc1',  'tutoring', 'n1', NULL,   'granted', NULL, NULL),
	(22, 'Xc1',  'tutoring', 'n1', 'Xstranger', 'granted', NULL, NULL),
	(23, 'Xer',  'tutoring', 'n1', 'Xg9',  'granted', NULL, NULL),  -- erased child
	(24, 'Xnochild', 'nopurpose', 'nonotice', NULL, 'maybe', NULL, NULL), -- several faults
	(25, 'Xc18', 'tutoring', 'n1', 'Xg7',  'refused', NULL, NULL),
	(26, 'Xc4',  'fundraising', 'n1', 'Xg10', 'granted', NULL, NULL),
	(27, 'Xc9',  'tutoring', 'n1', 'Xg1',  'granted', NULL, NULL),  -- Xg1 is not Xc9's guardian
	(28, 'Xc1',  'tutoring', 'n1', 'Xg1',  'granted', NULL, 'Xg1');

-- prefixed copies: the set-based functions' staging tables (b-)
CREATE FUNCTION pg_temp.px(p text, v text) RETURNS text LANGUAGE sql IMMUTABLE
	AS $$ SELECT CASE WHEN v LIKE 'X%' THEN p || substr(v, 2) ELSE v END $$;
CREATE FUNCTION pg_temp.unpx(v text) RETURNS text LANGUAGE sql IMMUTABLE
	AS $$ SELECT regexp_replace(v, '(^|")[ab]-', '\1', 'g') $$;
CREATE TABLE b_children AS
	SELECT row_no, pg_temp.px('b-', child_id) AS child_id, birth_date::date AS birth_date, in_difficulty, can_express
	  FROM t_children;
CREATE TABLE b_guardians AS
	SELECT row_no, pg_temp.px('b-', guardian_id) AS guardian_id, pg_temp.px('b-', child_id) AS child_id, relation
	  FROM t_guardians;
CREATE TABLE b_consents AS
	SELECT row_no, pg_temp.px('b-', child_id) AS child_id, purpose, notice, pg_temp.px('b-', given_by) AS given_by,
	       decision, notice_version, pg_temp.px('b-', guardian_informed) AS guardian_informed
	  FROM t_consents;
GRANT SELECT ON t_children, t_guardians, t_consents, b_children, b_guardians, b_consents TO PUBLIC;
CREATE TABLE outcome (path text, part text, row_no bigint, sqlstate text, message text);
GRANT INSERT ON outcome TO PUBLIC;

-- registered before, and erased
SELECT childguard.register_child('a-pre', current_date - 3000) > 0 AS registered,
       childguard.register_child('b-pre', current_date - 3000) > 0 AS registered;

-- ---------------------------------------------------------------------------
-- Row by row (a-)
-- ---------------------------------------------------------------------------
CREATE FUNCTION pg_temp.row_by_row(part text) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
	r record;
BEGIN
	IF part = 'child' THEN
		FOR r IN SELECT * FROM t_children ORDER BY row_no LOOP
			BEGIN
				PERFORM childguard.register_child(pg_temp.px('a-', r.child_id), r.birth_date::date,
				                                  r.in_difficulty, r.can_express);
				INSERT INTO outcome VALUES ('a', part, r.row_no, NULL, NULL);
			EXCEPTION WHEN OTHERS THEN
				INSERT INTO outcome VALUES ('a', part, r.row_no, SQLSTATE, pg_temp.unpx(SQLERRM));
			END;
		END LOOP;
	ELSIF part = 'guardian' THEN
		FOR r IN SELECT * FROM t_guardians ORDER BY row_no LOOP
			BEGIN
				PERFORM childguard.register_guardian(pg_temp.px('a-', r.guardian_id), pg_temp.px('a-', r.child_id),
				                                     r.relation);
				INSERT INTO outcome VALUES ('a', part, r.row_no, NULL, NULL);
			EXCEPTION WHEN OTHERS THEN
				INSERT INTO outcome VALUES ('a', part, r.row_no, SQLSTATE, pg_temp.unpx(SQLERRM));
			END;
		END LOOP;
	ELSE
		FOR r IN SELECT * FROM t_consents ORDER BY row_no LOOP
			BEGIN
				PERFORM childguard.record_consent(pg_temp.px('a-', r.child_id), r.purpose, r.notice,
				                                  pg_temp.px('a-', r.given_by), r.decision, r.notice_version,
				                                  pg_temp.px('a-', r.guardian_informed));
				INSERT INTO outcome VALUES ('a', part, r.row_no, NULL, NULL);
			EXCEPTION WHEN OTHERS THEN
				INSERT INTO outcome VALUES ('a', part, r.row_no, SQLSTATE, pg_temp.unpx(SQLERRM));
			END;
		END LOOP;
	END IF;
END
$$;

SET ROLE regress_bulk_app;
SELECT pg_temp.row_by_row('child');
RESET ROLE;
UPDATE childguard.child SET erased_at = now() WHERE child_id = 'a-er';
SET ROLE regress_bulk_app;
SELECT pg_temp.row_by_row('guardian');
SET ROLE regress_bulk_rec;
SELECT pg_temp.row_by_row('consent');
RESET ROLE;

-- ---------------------------------------------------------------------------
-- Set-based (b-)
-- ---------------------------------------------------------------------------
SET ROLE regress_bulk_app;
INSERT INTO outcome
SELECT 'b', 'child', r.row_no, r.sqlstate, pg_temp.unpx(r.message)
  FROM childguard.register_children('b_children') r;
RESET ROLE;
UPDATE childguard.child SET erased_at = now() WHERE child_id = 'b-er';
SET ROLE regress_bulk_app;
INSERT INTO outcome
SELECT 'b', 'guardian', r.row_no, r.sqlstate, pg_temp.unpx(r.message)
  FROM childguard.register_guardians('b_guardians') r;
SET ROLE regress_bulk_rec;
INSERT INTO outcome
SELECT 'b', 'consent', r.row_no, r.sqlstate, pg_temp.unpx(r.message)
  FROM childguard.record_consents('b_consents') r;
RESET ROLE;

-- the outcomes, set-based
SELECT part, row_no, sqlstate, message FROM outcome WHERE path = 'b'
 ORDER BY part DESC, row_no;

-- the same outcome for every row both ways
SELECT coalesce(a.part, b.part) AS part, coalesce(a.row_no, b.row_no) AS row_no,
       a.sqlstate AS row_by_row, b.sqlstate AS set_based, a.message, b.message
  FROM (SELECT * FROM outcome WHERE path = 'a') a
  FULL JOIN (SELECT * FROM outcome WHERE path = 'b') b USING (part, row_no)
 WHERE a.path IS NULL OR b.path IS NULL
    OR a.sqlstate IS DISTINCT FROM b.sqlstate OR a.message IS DISTINCT FROM b.message;
SELECT part, count(*) AS rows, count(sqlstate) AS rejected FROM outcome WHERE path = 'a' GROUP BY part ORDER BY part;

-- the same registry state both ways
CREATE FUNCTION pg_temp.state(p text) RETURNS TABLE (what text, item text) LANGUAGE sql AS $$
	SELECT 'child', concat_ws(' ', substr(c.child_id, 3), c.birth_date, c.in_difficulty, c.can_express,
	                          c.key_version, c.erased_at IS NOT NULL,
	                          (SELECT count(*) FROM childguard.data_key k
	                            WHERE k.subject_no = c.subject_no AND k.key_version = 1
	                              AND k.wrapped_key IS NOT NULL))
	  FROM childguard.child c WHERE c.child_id LIKE p || '%'
	UNION ALL
	SELECT 'guardian', substr(g.guardian_id, 3) FROM childguard.guardian g WHERE g.guardian_id LIKE p || '%'
	UNION ALL
	SELECT 'child_guardian', concat_ws(' ', substr(c.child_id, 3), substr(g.guardian_id, 3), g.relation)
	  FROM childguard.child_guardian g JOIN childguard.child c USING (subject_no)
	 WHERE c.child_id LIKE p || '%'
	UNION ALL
	SELECT 'consent', concat_ws(' ', substr(c.child_id, 3), x.purpose, k.decision, k.giver_kind,
	                            substr(k.guardian_id, 3), substr(k.informed_guardian_id, 3), k.notice_id,
	                            k.notice_version, k.recorded_by, k.recorded_by_role, k.recorded_session,
	                            k.withdrawn_at, k.lapsed_at,
	                            (SELECT string_agg(concat_ws(' ', l.event, l.giver_kind, substr(l.guardian_id, 3),
	                                                         l.by_role, l.by_role_name, l.session_role_name,
	                                                         l.at = k.given_at), ', ')
	                               FROM childguard.consent_log l WHERE l.consent_id = k.consent_id))
	  FROM childguard.consent k JOIN childguard.child c USING (subject_no)
	  JOIN childguard.purpose x USING (purpose_id)
	 WHERE c.child_id LIKE p || '%'
$$;
SELECT 'missing in set-based' AS diff, * FROM (SELECT * FROM pg_temp.state('a-') EXCEPT ALL SELECT * FROM pg_temp.state('b-')) d
UNION ALL
SELECT 'extra in set-based', * FROM (SELECT * FROM pg_temp.state('b-') EXCEPT ALL SELECT * FROM pg_temp.state('a-')) d;
SELECT what, count(*) FROM pg_temp.state('b-') GROUP BY what ORDER BY what;

-- the consent log: one event per consent, chained, exact
SELECT count(*) AS consents, (SELECT count(*) FROM childguard.consent_log) AS events FROM childguard.consent;
SELECT valid, records_checked, broken_id, reason FROM childguard.verify_consent_log();

-- separation of duties: the superuser reads for "reading" (ZC121 on those
-- rows only, both ways)
CREATE TABLE b_consents2 AS
	SELECT * FROM (VALUES (1::bigint, 'b-c1', 'reading', 'n1', 'b-g1'), (2, 'b-c1', 'fundraising', 'n1', 'b-g1'))
	         v(row_no, child_id, purpose, notice, given_by);
SELECT row_no, consent_id IS NOT NULL AS recorded, sqlstate, replace(message, current_user, 'SUPERUSER') AS message
  FROM childguard.record_consents('b_consents2');
\set VERBOSITY sqlstate
SELECT childguard.record_consent('a-c1', 'reading', 'n1', 'a-g1');
\set VERBOSITY terse
SELECT valid FROM childguard.verify_consent_log();

-- rows inserted whole (a restore, a superuser's INSERT) bring their history:
-- decision, withdrawal, lapse, in consent order, still one chain
INSERT INTO childguard.consent (subject_no, purpose_id, decision, giver_kind, guardian_id, notice_id,
                                notice_version, recorded_by, given_at, withdrawn_at, withdrawn_by, lapsed_at)
SELECT c.subject_no, p.purpose_id, 'granted', 'guardian', 'b-g5', 'n1', 2, 'someone', now() - interval '2 days',
       CASE WHEN v = 1 THEN now() - interval '1 day' END,
       CASE WHEN v = 1 THEN 'regress_bulk_rec'::regrole END,
       CASE WHEN v = 2 THEN now() END
  FROM childguard.child c, childguard.purpose p, generate_series(1, 3) v
 WHERE c.child_id = 'b-c15' AND p.purpose = 'tutoring';
SELECT l.consent_id - min(l.consent_id) OVER () AS k, l.event,
       CASE WHEN l.by_role::text = current_user THEN 'SUPERUSER' ELSE l.by_role::text END AS by_role, l.prev_hash IS NOT NULL AS linked
  FROM childguard.consent_log l
 WHERE l.consent_id IN (SELECT k.consent_id FROM childguard.consent k WHERE k.recorded_by = 'someone')
 ORDER BY l.event_id;
SELECT valid, records_checked FROM childguard.verify_consent_log();

-- ---------------------------------------------------------------------------
-- Who may call them, and what they read
-- ---------------------------------------------------------------------------
CREATE TABLE c_ok AS SELECT 'b-new'::text AS child_id, (current_date - 100) AS birth_date;
GRANT SELECT ON c_ok TO PUBLIC;
-- the duties of the row-by-row functions
SET ROLE regress_bulk_rec;
SELECT * FROM childguard.register_children('c_ok');
\echo :LAST_ERROR_SQLSTATE
SET ROLE regress_bulk_app;
SELECT * FROM childguard.record_consents('b_consents');
\echo :LAST_ERROR_SQLSTATE
SET ROLE regress_bulk_reader;
SELECT * FROM childguard.register_guardians('b_guardians');
\echo :LAST_ERROR_SQLSTATE
SET ROLE regress_bulk_dpo;
SELECT * FROM childguard.record_consents('b_consents');
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;
SELECT has_function_privilege('public', f, 'EXECUTE') AS public_may
  FROM unnest(ARRAY['childguard.register_children(regclass)', 'childguard.register_guardians(regclass)',
                    'childguard.record_consents(regclass)']::regprocedure[]) f;
-- only a plain table the caller may read
SET ROLE regress_bulk_app;
CREATE TABLE app_private AS SELECT * FROM c_ok;
CREATE VIEW app_view AS SELECT * FROM c_ok;
RESET ROLE;
CREATE TABLE su_only AS SELECT * FROM c_ok;
REVOKE ALL ON su_only FROM PUBLIC;
SET ROLE regress_bulk_app;
SELECT * FROM childguard.register_children('su_only');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM childguard.register_children('app_view');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM childguard.register_children('pg_catalog.pg_class');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM childguard.register_children(NULL);
\echo :LAST_ERROR_SQLSTATE
ALTER TABLE app_private ENABLE ROW LEVEL SECURITY;
SELECT * FROM childguard.register_children('app_private');
\echo :LAST_ERROR_SQLSTATE
ALTER TABLE app_private DISABLE ROW LEVEL SECURITY;
-- the column types exactly (no cast runs), the columns needed, unique row numbers
CREATE TABLE c_types AS SELECT 'b-new'::varchar AS child_id, (current_date - 100) AS birth_date;
SELECT * FROM childguard.register_children('c_types');
\echo :LAST_ERROR_SQLSTATE
CREATE TABLE c_missing AS SELECT 'b-new'::text AS child_id;
SELECT * FROM childguard.register_children('c_missing');
\echo :LAST_ERROR_SQLSTATE
CREATE TABLE c_opt AS SELECT 'b-new'::text AS child_id, (current_date - 100) AS birth_date, 1 AS in_difficulty;
SELECT * FROM childguard.register_children('c_opt');
\echo :LAST_ERROR_SQLSTATE
CREATE TABLE c_rowno AS SELECT 1::bigint AS row_no, * FROM c_ok UNION ALL SELECT 1, 'b-new2', current_date - 100;
SELECT * FROM childguard.register_children('c_rowno');
\echo :LAST_ERROR_SQLSTATE
CREATE TABLE c_rowno2 AS SELECT 1 AS row_no, * FROM c_ok;
SELECT * FROM childguard.register_children('c_rowno2');
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;
-- nothing was registered by any refused call
SELECT count(*) FROM childguard.child WHERE child_id LIKE 'b-new%';
-- without row_no: the physical order, numbered from 1
CREATE TABLE c_plain AS SELECT * FROM (VALUES ('b-p1', current_date - 100), ('b-p2', current_date - 100),
                                              ('b-p1', current_date - 100)) v(child_id, birth_date);
SELECT row_no, child_id, subject_no IS NOT NULL AS registered, sqlstate, message
  FROM childguard.register_children('c_plain');
-- an empty table is no error
CREATE TEMP TABLE c_empty (child_id text, birth_date date);
SELECT count(*) FROM childguard.register_children('c_empty');
SET ROLE regress_bulk_app;
-- a query: through a temporary table, in one transaction with the guardians
BEGIN;
CREATE TEMP TABLE q_children ON COMMIT DROP AS
	SELECT 'b-q' || i AS child_id, (current_date - 1000 - i) AS birth_date FROM generate_series(1, 50) i;
CREATE TEMP TABLE q_guardians ON COMMIT DROP AS
	SELECT 'b-qg' || i AS guardian_id, 'b-q' || i AS child_id FROM generate_series(1, 50) i;
SELECT count(*), count(subject_no) FROM childguard.register_children('q_children');
SELECT count(*), count(sqlstate) FROM childguard.register_guardians('q_guardians');
COMMIT;
RESET ROLE;
SELECT count(*) FROM childguard.data_key k JOIN childguard.child c USING (subject_no) WHERE c.child_id LIKE 'b-q%';
SELECT valid FROM childguard.verify_consent_log();

DROP OWNED BY regress_bulk_dpo, regress_bulk_app, regress_bulk_rec, regress_bulk_reader CASCADE;
DROP ROLE regress_bulk_dpo, regress_bulk_app, regress_bulk_rec, regress_bulk_reader;
\c contrib_regression
DROP DATABASE regress_bulk;
