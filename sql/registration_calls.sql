-- The set-based registration's per-child calls (issue 12, 1.9 part 30):
-- register_children() draws one data key per registered child and
-- record_consents() opens each child's sealed registry facts as a plain
-- call per child, through _open_registry_inline() (no SECURITY DEFINER, no
-- search_path per call).  What must not change: exactly one data key per
-- registered child and none for a rejected row, each wrapped for its own
-- child (a key moved to another child does not unwrap); the age and
-- circumstances rules read the facts the seal holds; facts altered or
-- moved to another child fail the whole call with ZC003 and record
-- nothing; and the inline opener is not a way around _open_registry's
-- privileges.
SET client_min_messages = warning;
DROP DATABASE IF EXISTS regress_regcalls;
CREATE DATABASE regress_regcalls;
\c regress_regcalls
SET client_min_messages = warning;
CREATE EXTENSION childguard CASCADE;
CREATE ROLE regress_rc_dpo;
CREATE ROLE regress_rc_app;
CREATE ROLE regress_rc_rec;
RESET client_min_messages;
\set VERBOSITY terse
SELECT childguard.appoint_officer('regress_rc_dpo');
SELECT childguard.enroll_application('regress_rc_app');
SELECT childguard.enroll_consent_recorder('regress_rc_rec');
SET ROLE regress_rc_dpo;
SELECT childguard.define_purpose('tutoring', '{name,school}', '2 years');
SELECT childguard.define_purpose('fundraising', '{name}', '1 year', forbidden_in_difficulty => true);
SELECT childguard.publish_notice('n1', '{tutoring,fundraising}', 'a', 'b', 'c', 'd', 'e', 'f', 'g');
RESET ROLE;

-- 1. one data key per registered child, none for a rejected row
CREATE TABLE s_children (row_no bigint, child_id text, birth_date date, in_difficulty boolean, can_express boolean);
INSERT INTO s_children VALUES
	(1, 'k-10', current_date - interval '10 years', false, true),   -- under 14
	(2, 'k-15', current_date - interval '15 years', false, true),   -- 14 or over
	(3, 'k-dif', current_date - interval '15 years', true, false),  -- in difficulty, cannot express
	(4, 'k-10', current_date - interval '11 years', false, true),   -- duplicate: rejected
	(5, '', current_date - interval '9 years', false, true),        -- rejected
	(6, 'k-9', current_date - interval '9 years', false, true),
	(7, 'k-moved', current_date - interval '15 years', false, true);
GRANT SELECT ON s_children TO regress_rc_app;
SET ROLE regress_rc_app;
SELECT row_no, child_id, subject_no IS NOT NULL AS registered, sqlstate
  FROM childguard.register_children('s_children') ORDER BY row_no;
RESET ROLE;
SELECT c.child_id, count(k.*) AS keys, min(k.key_version) AS version,
       bool_and(k.master_key_id = (SELECT childguard.master_key_id())) AS current_master_key
  FROM childguard.child c LEFT JOIN childguard.data_key k ON k.subject_no = c.subject_no
 GROUP BY c.child_id ORDER BY c.child_id;
SELECT count(*) AS keys, count(DISTINCT wrapped_key) AS distinct_wrapped FROM childguard.data_key;
-- each key unwraps for its own child only: rewrap it for its child, then for another
SELECT bool_and(childguard._rewrap_data_key(k.subject_no, k.key_version, k.wrapped_key, k.master_key_id)
                IS NOT NULL) AS own_child_unwraps
  FROM childguard.data_key k;
SELECT childguard._rewrap_data_key(b.subject_no, 1, a.wrapped_key, a.master_key_id) IS NOT NULL AS moved
  FROM childguard.data_key a, childguard.data_key b
 WHERE a.subject_no = (SELECT subject_no FROM childguard.child WHERE child_id = 'k-10')
   AND b.subject_no = (SELECT subject_no FROM childguard.child WHERE child_id = 'k-15');
\echo :LAST_ERROR_SQLSTATE

-- 2. the facts opened per child decide the rules, as row by row
CREATE TABLE s_guardians (guardian_id text, child_id text);
INSERT INTO s_guardians VALUES ('g-10', 'k-10'), ('g-15', 'k-15'), ('g-dif', 'k-dif'), ('g-9', 'k-9'),
	('g-moved', 'k-moved');
GRANT SELECT ON s_guardians TO regress_rc_app;
SET ROLE regress_rc_app;
SELECT count(sqlstate) AS rejected FROM childguard.register_guardians('s_guardians');
RESET ROLE;
CREATE TABLE s_consents (row_no bigint, child_id text, purpose text, notice text, given_by text);
INSERT INTO s_consents VALUES
	(1, 'k-10', 'tutoring', 'n1', 'k-10'),      -- under 14 alone: ZC106
	(2, 'k-10', 'tutoring', 'n1', 'g-10'),      -- recorded
	(3, 'k-15', 'tutoring', 'n1', 'g-15'),      -- 14 or over: ZC106
	(4, 'k-15', 'tutoring', 'n1', 'k-15'),      -- recorded
	(5, 'k-dif', 'tutoring', 'n1', 'g-dif'),    -- in difficulty, cannot express: the guardian decides
	(6, 'k-dif', 'fundraising', 'n1', 'g-dif'); -- forbidden in difficulty: ZC109
GRANT SELECT ON s_consents TO regress_rc_rec;
SET ROLE regress_rc_rec;
SELECT row_no, child_id, consent_id IS NOT NULL AS recorded, sqlstate, message
  FROM childguard.record_consents('s_consents') ORDER BY row_no;
RESET ROLE;

-- 3. facts altered or moved to another child: ZC003 for the whole call,
-- nothing recorded, the consent log unchanged
CREATE TABLE s_one (child_id text, purpose text, notice text, given_by text);
INSERT INTO s_one VALUES ('k-9', 'tutoring', 'n1', 'g-9'), ('k-moved', 'tutoring', 'n1', 'k-moved');
GRANT SELECT ON s_one TO regress_rc_rec;
CREATE TABLE counts AS SELECT (SELECT count(*) FROM childguard.consent) AS consents,
                              (SELECT count(*) FROM childguard.consent_log) AS events;
CREATE TABLE saved AS SELECT child_id, sealed FROM childguard.child;
-- moved: k-15's seal (15 years old) on k-moved
UPDATE childguard.child SET sealed = (SELECT sealed FROM saved WHERE child_id = 'k-15')
 WHERE child_id = 'k-moved';
SET ROLE regress_rc_rec;
SELECT count(*) FROM childguard.record_consents('s_one');
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;
UPDATE childguard.child c SET sealed = s.sealed FROM saved s WHERE s.child_id = c.child_id;
-- altered: one byte of k-9's seal
UPDATE childguard.child SET sealed = set_byte(sealed, 44, get_byte(sealed, 44) # 1) WHERE child_id = 'k-9';
SET ROLE regress_rc_rec;
SELECT count(*) FROM childguard.record_consents('s_one');
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;
SELECT (SELECT count(*) FROM childguard.consent) = consents AS no_consent_recorded,
       (SELECT count(*) FROM childguard.consent_log) = events AS log_unchanged
  FROM counts;
-- restored: both recorded
UPDATE childguard.child c SET sealed = s.sealed FROM saved s WHERE s.child_id = c.child_id;
SET ROLE regress_rc_rec;
SELECT child_id, consent_id IS NOT NULL AS recorded, sqlstate FROM childguard.record_consents('s_one')
 ORDER BY row_no;
RESET ROLE;
SELECT valid, records_checked FROM childguard.verify_consent_log();

-- 4. the inline opener: no SECURITY DEFINER, no setting, not for PUBLIC,
-- and no role of the application's may call it
SELECT prosecdef, proconfig, has_function_privilege('public', oid, 'EXECUTE') AS public_execute
  FROM pg_proc WHERE oid = 'childguard._open_registry_inline(bigint, bytea)'::regprocedure;
SET ROLE regress_rc_app;
SELECT * FROM childguard._open_registry_inline(1, '\x00');
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;
SET ROLE regress_rc_rec;
SELECT * FROM childguard._open_registry_inline(1, '\x00');
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;
SET ROLE regress_rc_dpo;
SELECT * FROM childguard._open_registry_inline(1, '\x00');
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;
-- the owner: the same answer as _open_registry
SELECT (SELECT row(f.*)::text FROM childguard._open_registry_inline(c.subject_no, c.sealed) f)
     = (SELECT row(f.*)::text FROM childguard._open_registry(c.subject_no, c.sealed) f) AS same_facts
  FROM childguard.child c ORDER BY c.child_id;

-- 5. the grouping sorts compare bytes: ids equal only when their bytes are
-- (as the registry's unique keys say), the earlier row of a duplicate
-- registered, the later relation of a pair twice kept
CREATE TABLE s_ids (row_no bigint, child_id text, birth_date date);
INSERT INTO s_ids VALUES
	(1, 'u-' || U&'\00E9', current_date - 3000),   -- e with acute, one code point
	(2, 'u-e' || U&'\0301', current_date - 3000),  -- e and a combining acute: another id
	(3, 'U-' || U&'\00E9', current_date - 3000),   -- upper case: another id
	(4, 'u-' || U&'\00E9', current_date - 3100),   -- row 1 again: a duplicate
	(5, 'u-x', NULL),                               -- rejected (birth date) ...
	(6, 'u-x', current_date - 3000),                -- ... so this one registers
	(7, 'u-x', current_date - 3000);                -- and this one is a duplicate
GRANT SELECT ON s_ids TO regress_rc_app;
SET ROLE regress_rc_app;
SELECT row_no, child_id = 'u-' || U&'\00E9' AS precomposed, subject_no IS NOT NULL AS registered, sqlstate
  FROM childguard.register_children('s_ids') ORDER BY row_no;
RESET ROLE;
CREATE TABLE s_pairs (row_no bigint, guardian_id text, child_id text, relation text);
INSERT INTO s_pairs VALUES
	(1, 'gu-a', 'u-x', 'mother'),
	(2, 'GU-A', 'u-x', 'father'),   -- another guardian
	(3, 'gu-a', 'u-x', 'parent'),   -- the pair again: this relation is kept
	(4, 'gu-a', 'U-' || U&'\00E9', 'aunt');
GRANT SELECT ON s_pairs TO regress_rc_app;
SET ROLE regress_rc_app;
SELECT row_no, sqlstate FROM childguard.register_guardians('s_pairs') ORDER BY row_no;
RESET ROLE;
SELECT g.guardian_id, c.child_id = 'U-' || U&'\00E9' AS upper_child, l.relation
  FROM childguard.child_guardian l
  JOIN childguard.guardian g USING (guardian_id)
  JOIN childguard.child c USING (subject_no)
 WHERE g.guardian_id IN ('gu-a', 'GU-A')
 ORDER BY g.guardian_id COLLATE "C", upper_child;

\c contrib_regression
DROP DATABASE regress_regcalls;
