-- Set-based registration checks its foreign keys once per statement
-- (sql/update/1.4--1.5/18_registration_references.sql): the referenced
-- rows are locked in one query and the inserts skip the per-row RI
-- triggers.  Here: the fast path is taken, leaves session_replication_role
-- as it found it, still fires the registry's change triggers (the read
-- path's caches are told), and every other route keeps the foreign
-- keys (direct INSERT, UPDATE, DELETE of a referenced row); a missing key
-- is refused (23503); a trigger the fast path would skip turns it off.
-- (The concurrent routes: isolation spec registration_references.)
SET client_min_messages = warning;
DROP DATABASE IF EXISTS regress_reg_refs;
CREATE DATABASE regress_reg_refs;
\c regress_reg_refs
SET client_min_messages = warning;
CREATE EXTENSION childguard CASCADE;
RESET client_min_messages;
\set VERBOSITY terse
\i test/fixtures/regress_purpose.psql
SELECT childguard._registration_skips_ri() AS fast_path;
CREATE TABLE rr_c AS SELECT 'rr' || i AS child_id, date '2014-01-01' AS birth_date FROM generate_series(1, 3) i;
CREATE TABLE rr_g AS SELECT 'g-rr' || i AS guardian_id, 'rr' || i AS child_id FROM generate_series(1, 3) i;
CREATE TABLE rr_k AS SELECT 'rr' || i AS child_id, 'regress'::text AS purpose, 'regress-notice'::text AS notice,
                            'g-rr' || i AS given_by FROM generate_series(1, 3) i;
GRANT SELECT ON rr_c, rr_g, rr_k TO regress_fixture_recorder;
-- the caller's session_replication_role is what it was after each call
-- (and work_mem: at least 128MB inside, the caller's afterwards)
SET session_replication_role = local;
SET work_mem = '4MB';
SELECT count(*), count(sqlstate) FROM childguard.register_children('rr_c');
SHOW session_replication_role;
SHOW work_mem;
RESET work_mem;
RESET session_replication_role;
SET ROLE regress_fixture_recorder;
SELECT count(*), count(sqlstate) FROM childguard.register_guardians('rr_g');
SHOW session_replication_role;
-- a consent recorded in bulk is in force for the session's next statement:
-- a write refused for want of consent, then allowed
RESET ROLE;
CREATE TABLE rr_t (child text PRIMARY KEY, name childguard.child_data(name));
SELECT childguard.protect('rr_t', 'child');
SET childguard.purpose = 'regress';
INSERT INTO rr_t VALUES ('rr1', '名一');
SET ROLE regress_fixture_recorder;
SELECT count(*), count(sqlstate) FROM childguard.record_consents('rr_k');
RESET ROLE;
INSERT INTO rr_t VALUES ('rr1', '名一');
SELECT child, name::text FROM rr_t;
SET ROLE regress_fixture_recorder;
SHOW session_replication_role;
RESET ROLE;
SELECT count(*) AS keys FROM childguard.data_key k JOIN childguard.child c USING (subject_no)
 WHERE c.child_id LIKE 'rr%';
SELECT valid, records_checked FROM childguard.verify_consent_log();
-- every other route keeps the foreign keys (the superuser, who may write
-- the registry directly)
INSERT INTO childguard.data_key (subject_no, key_version, wrapped_key, master_key_id)
VALUES (-1, 1, '\x00', '\x00');
INSERT INTO childguard.child_guardian (subject_no, guardian_id)
SELECT subject_no, 'nobody' FROM childguard.child WHERE child_id = 'rr1';
INSERT INTO childguard.consent (subject_no, purpose_id, decision, giver_kind, guardian_id, notice_id,
                                notice_version, recorded_by)
SELECT -1, purpose_id, 'granted', 'guardian', 'g-rr1', 'regress-notice', 1, 'x'
  FROM childguard.purpose WHERE purpose = 'regress';
UPDATE childguard.consent SET guardian_id = 'nobody'
 WHERE subject_no = (SELECT subject_no FROM childguard.child WHERE child_id = 'rr1');
UPDATE childguard.consent SET purpose_id = -1
 WHERE subject_no = (SELECT subject_no FROM childguard.child WHERE child_id = 'rr1');
-- the rows the fast path inserted are seen by the referenced side's checks
DELETE FROM childguard.guardian WHERE guardian_id = 'g-rr2';
DELETE FROM childguard.child_guardian WHERE guardian_id = 'g-rr2';
DELETE FROM childguard.data_key WHERE subject_no = (SELECT subject_no FROM childguard.child WHERE child_id = 'rr3');
-- a key that is missing: 23503, as the foreign key would say; NULL keys are not checked
SELECT childguard._references_held('childguard.child', '{subject_no}', 'SELECT -1::bigint',
                                   'childguard.consent', 'consent_subject_no_fkey');
SELECT childguard._references_held('childguard.notice', '{notice_id,version}',
                                   'SELECT ''regress-notice''::text, 99', 'childguard.consent', 'consent_notice_fkey');
SELECT 'held' AS held FROM (SELECT childguard._references_held('childguard.guardian', '{guardian_id}',
       'SELECT NULL::text UNION ALL SELECT ''g-rr1''', 'childguard.consent', 'consent_guardian_id_fkey')) x;
-- a trigger the fast path would skip (enabled on origin only) or start
-- (enabled on replica only) turns it off: the foreign keys check row by row,
-- and the trigger fires as for any insert
CREATE TABLE rr_seen (n int);
CREATE FUNCTION rr_note() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN INSERT INTO public.rr_seen VALUES (1); RETURN NULL; END $$;
CREATE TRIGGER rr_note AFTER INSERT ON childguard.consent FOR EACH STATEMENT EXECUTE FUNCTION rr_note();
SELECT childguard._registration_skips_ri() AS fast_path;
SELECT childguard.define_purpose('regress2', '{name}', '1 year') IS NOT NULL AS defined;
CREATE TABLE rr_k2 AS SELECT child_id, 'regress2'::text AS purpose, 'regress-notice2'::text AS notice, given_by FROM rr_k;
SET ROLE regress_fixture_dpo;
SELECT childguard.publish_notice('regress-notice2', '{regress2}', 'a', 'b', 'c', 'd', 'e', 'f', 'g') IS NOT NULL AS published;
RESET ROLE;
GRANT SELECT ON rr_k2 TO regress_fixture_recorder;
SET ROLE regress_fixture_recorder;
-- (rr2's guardian link was removed above: its row is rejected, ZC106)
SELECT row_no, sqlstate FROM childguard.record_consents('rr_k2') ORDER BY row_no;
RESET ROLE;
SELECT count(*) AS trigger_fired FROM rr_seen;
ALTER TABLE childguard.consent ENABLE REPLICA TRIGGER rr_note;
SELECT childguard._registration_skips_ri() AS fast_path;
DROP TRIGGER rr_note ON childguard.consent;
SELECT childguard._registration_skips_ri() AS fast_path;
-- the consent log's event text built in C is _consent_event_text()'s
-- (jsonb_build_array(...)::text), on awkward strings and on every event
WITH v(s) AS (VALUES ('plain'), ('quo"te'), ('back\slash'), (E'tab\there'), (E'nl\nx'), (E'ctl\x01x'),
                     ('中文 é'), (''), (NULL), (E'\u2028'), ('/slash'), (E'\x7f'))
SELECT count(*) AS cases, count(*) FILTER (WHERE a IS NOT DISTINCT FROM b) AS equal FROM (
SELECT childguard._consent_event_json(-5, 1700000000123456, 9223372036854775807, 3, (-2147483648)::int, s,
                                      'guardian', s, 'n', NULL, 4294967295::oid, s, NULL) a,
       jsonb_build_array(-5, 1700000000123456::bigint, 9223372036854775807::bigint, 3::bigint,
                         (-2147483648)::int, s, 'guardian', s, 'n', NULL::int, 4294967295::oid, s, NULL::text)::text b
  FROM v) x;
SELECT count(*) > 0 AS events, bool_and(childguard._consent_event_json(l.event_id,
           (EXTRACT(epoch FROM l.at) * 1000000)::bigint, l.consent_id, l.subject_no, l.purpose_id, l.event,
           l.giver_kind, l.guardian_id, l.notice_id, l.notice_version, l.by_role::oid, l.by_role_name::text,
           l.session_role_name::text) = childguard._consent_event_text(l)) AS same_text
  FROM childguard.consent_log l;
-- and a guardian id that needs escaping, registered and consented in bulk
CREATE TABLE rr_c3 AS SELECT 'rr-odd' AS child_id, date '2014-01-01' AS birth_date;
CREATE TABLE rr_g3 AS SELECT E'g "\\ 中\t' AS guardian_id, 'rr-odd' AS child_id;
CREATE TABLE rr_k3 AS SELECT 'rr-odd' AS child_id, 'regress'::text AS purpose, 'regress-notice'::text AS notice,
                             E'g "\\ 中\t' AS given_by;
GRANT SELECT ON rr_g3, rr_k3 TO regress_fixture_recorder;
SELECT count(sqlstate) FROM childguard.register_children('rr_c3');
SET ROLE regress_fixture_recorder;
SELECT count(sqlstate) FROM childguard.register_guardians('rr_g3');
SELECT count(sqlstate) FROM childguard.record_consents('rr_k3');
RESET ROLE;
SELECT valid, records_checked FROM childguard.verify_consent_log();
\c contrib_regression
SET client_min_messages = warning;
DROP DATABASE regress_reg_refs;
