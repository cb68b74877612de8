-- Consent and purpose (Art 9-11, 14; D-Art 12, 15): registries, who may
-- consent, notices, the read decision, row policies, collection.
-- a database of its own, so identities and versions below do not depend on other tests
SET client_min_messages = warning;
DROP DATABASE IF EXISTS regress_consent;
CREATE DATABASE regress_consent;
\c regress_consent
SET client_min_messages = warning;
CREATE EXTENSION childguard CASCADE;
RESET client_min_messages;
\set VERBOSITY default
\set SHOW_CONTEXT never
SET client_min_messages = warning;
CREATE ROLE regress_dpo;
CREATE ROLE regress_dpo2;
CREATE ROLE regress_app;
CREATE ROLE regress_outsider;
CREATE ROLE regress_recorder;          -- records consents, reads nothing
RESET client_min_messages;

-- only the extension owner appoints officers
SET ROLE regress_app;
SELECT childguard.appoint_officer('regress_app');
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;
SELECT childguard.appoint_officer('regress_dpo');
SELECT childguard.appoint_officer('regress_dpo2');
SELECT childguard.enroll_application('regress_app');
SELECT childguard.enroll_consent_recorder('regress_recorder');
GRANT CREATE ON SCHEMA public TO regress_app;

-- purposes: defined by an officer only, validated
SET ROLE regress_app;
SELECT childguard.define_purpose('tutoring', '{name,school}', '2 years');
\echo :LAST_ERROR_SQLSTATE
SET ROLE regress_dpo;
SELECT childguard.define_purpose('tutoring', '{name,school}', '2 years') AS purpose_id;
SELECT childguard.define_purpose('tutoring', '{name}', '1 year');
\echo :LAST_ERROR_SQLSTATE
SELECT childguard.define_purpose('Bad Name', '{name}', '1 year');
\echo :LAST_ERROR_SQLSTATE
SELECT childguard.define_purpose('nocats', '{}', '1 year');
\echo :LAST_ERROR_SQLSTATE
SELECT childguard.define_purpose('badcat', '{name,shoe_size}', '1 year');
\echo :LAST_ERROR_SQLSTATE
SELECT childguard.define_purpose('forever', '{name}', '0 days');
\echo :LAST_ERROR_SQLSTATE
SELECT childguard.define_purpose('oddkind', '{name}', '1 year', kind => 'sell');
\echo :LAST_ERROR_SQLSTATE
SELECT childguard.define_purpose('fundraising', '{name,image}', '1 year',
                                 forbidden_in_difficulty => true) > 0 AS defined;
SELECT childguard.define_purpose('health_check', '{name,health}', '1 year') > 0 AS defined;
SELECT purpose, kind, categories, retention, forbidden_in_difficulty, assessed
  FROM childguard.purposes ORDER BY purpose;

-- notices: the seven Art 10 items are required
SELECT childguard.publish_notice('privacy', '{tutoring,fundraising,health_check}',
       'tutoring records', 'Beijing, 2 years, then deleted', 'AES-256-GCM',
       'no tutoring', '12345', 'privacy@example.invalid', '');
\echo :LAST_ERROR_SQLSTATE
SELECT childguard.publish_notice('privacy', '{tutoring,fundraising,health_check}',
       'tutoring records', NULL, 'AES-256-GCM', ' ', '12345', 'privacy@example.invalid', 'none');
\echo :LAST_ERROR_SQLSTATE
SELECT childguard.publish_notice('privacy', '{tutoring,nosuch}',
       'a', 'b', 'c', 'd', 'e', 'f', 'g');
\echo :LAST_ERROR_SQLSTATE
SELECT count(*) AS notices FROM childguard.notices;
SELECT childguard.publish_notice('privacy', '{tutoring,fundraising,health_check}',
       'tutoring records', 'Beijing, 2 years, then deleted', 'AES-256-GCM',
       'no tutoring', '12345', 'privacy@example.invalid', 'none') AS version;
RESET ROLE;

-- children and guardians, registered by the application
SET ROLE regress_app;
SELECT childguard.register_child('c-8', (current_date - interval '8 years')::date) > 0 AS registered;
SELECT childguard.register_child('c-15', (current_date - interval '15 years')::date) > 0 AS registered;
SELECT childguard.register_child('c-16d', (current_date - interval '16 years')::date,
                                 in_difficulty => true) > 0 AS registered;
SELECT childguard.register_child('c-16m', (current_date - interval '16 years')::date,
                                 in_difficulty => true, can_express => false) > 0 AS registered;
SELECT childguard.register_child('c-9d', (current_date - interval '9 years')::date,
                                 in_difficulty => true) > 0 AS registered;
SELECT childguard.register_child('c-bad', '-infinity');
\echo :LAST_ERROR_SQLSTATE
SELECT childguard.register_guardian('g-8', 'c-8', 'mother');
SELECT childguard.register_guardian('g-8b', 'c-8', 'father');
SELECT childguard.register_guardian('g-15', 'c-15');
SELECT childguard.register_guardian('g-16d', 'c-16d');
SELECT childguard.register_guardian('g-16m', 'c-16m');
SELECT childguard.register_guardian('g-9d', 'c-9d');
SELECT childguard.register_guardian('g-x', 'nobody');
\echo :LAST_ERROR_SQLSTATE
SELECT childguard.register_guardian('c-15', 'c-8');
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;
SELECT child_id, age, in_difficulty, can_express, guardians FROM childguard.children ORDER BY child_id;

-- who may consent (decided from the birth date now)
SET ROLE regress_recorder;
SELECT childguard.record_consent('c-8', 'tutoring', 'privacy', 'g-15');    -- not this child's guardian
\echo :LAST_ERROR_SQLSTATE
SELECT childguard.record_consent('c-8', 'tutoring', 'privacy', 'c-8');     -- under 14: not alone
\echo :LAST_ERROR_SQLSTATE
SELECT childguard.record_consent('c-8', 'tutoring', 'privacy', 'stranger');
\echo :LAST_ERROR_SQLSTATE
SELECT childguard.record_consent('c-15', 'tutoring', 'privacy', 'g-15');   -- 15: the child decides
\echo :LAST_ERROR_SQLSTATE
SELECT childguard.record_consent('c-16d', 'tutoring', 'privacy', 'c-16d'); -- in difficulty: guardian must be informed
\echo :LAST_ERROR_SQLSTATE
SELECT childguard.record_consent('c-16d', 'tutoring', 'privacy', 'c-16d', guardian_informed => 'g-8');
\echo :LAST_ERROR_SQLSTATE
SELECT childguard.record_consent('c-8', 'tutoring', 'privacy', 'g-8', decision => 'maybe');
\echo :LAST_ERROR_SQLSTATE
SELECT childguard.record_consent('c-8', 'marketing', 'privacy', 'g-8');
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;
SELECT count(*) AS consents_after_refusals FROM childguard.consent;
SET ROLE regress_app;

-- the right people
SET ROLE regress_recorder;
SELECT childguard.record_consent('c-8', 'tutoring', 'privacy', 'g-8') > 0 AS ok;
SELECT childguard.record_consent('c-15', 'tutoring', 'privacy', 'c-15') > 0 AS ok;
SELECT childguard.record_consent('c-16d', 'tutoring', 'privacy', 'c-16d', guardian_informed => 'g-16d') > 0 AS ok;
SELECT childguard.record_consent('c-16m', 'tutoring', 'privacy', 'g-16m') > 0 AS ok;
SELECT childguard.record_consent('c-9d', 'tutoring', 'privacy', 'g-9d') > 0 AS ok;
SET ROLE regress_app;
-- a refusal is a recorded choice
SET ROLE regress_recorder;
SELECT childguard.refuse_consent('c-8', 'health_check', 'privacy', 'g-8') > 0 AS ok;
SET ROLE regress_app;
-- D-Art 15: no consent makes fundraising with a child in difficulty lawful
SET ROLE regress_recorder;
SELECT childguard.record_consent('c-9d', 'fundraising', 'privacy', 'g-9d');
\echo :LAST_ERROR_SQLSTATE
SELECT childguard.record_consent('c-8', 'fundraising', 'privacy', 'g-8') > 0 AS ok;
RESET ROLE;
SELECT child_id, purpose, decision, giver_kind, given_by, informed_guardian_id, notice_version, state
  FROM childguard.consents ORDER BY consent_id;

-- access for the application: requested by it, approved by an officer
SET ROLE regress_app;
SELECT childguard.request_access('regress_app', '{tutoring,fundraising,health_check}',
                                 now() + interval '1 year') AS app_grant \gset
SELECT childguard.set_purpose('tutoring');       -- not approved yet
\echo :LAST_ERROR_SQLSTATE
SET ROLE regress_dpo;
SELECT childguard.approve_access(:app_grant);
RESET ROLE;

-- a protected table owned by the application
SET ROLE regress_app;
CREATE TABLE students (id text PRIMARY KEY,
                       name childguard.child_data,
                       school childguard.child_data,
                       health childguard.child_data,
                       grade int);
SELECT childguard.protect('students', 'id', '{"name": "name", "school": "school", "health": "health"}');

-- the purpose must exist and be granted
SET childguard.purpose = 'nosuch';
\echo :LAST_ERROR_SQLSTATE
SET childguard.purpose = 'tutoring';
SHOW childguard.purpose;
SELECT childguard.current_purpose();

-- collection (Art 9, 11): consent, and only the categories the purpose needs
INSERT INTO students (id, name, school, grade) VALUES
  ('c-8', '小明', '第一小学', 3), ('c-15', '小红', '第二中学', 9),
  ('c-16d', '小刚', '第三中学', 10), ('c-16m', '小丽', '特殊教育学校', 10),
  ('c-9d', '小华', '第四小学', 4);
INSERT INTO students (id, name, health) VALUES ('c-8x', 'x', 'y');
\echo :LAST_ERROR_SQLSTATE
UPDATE students SET health = '哮喘' WHERE id = 'c-8';                -- tutoring does not need health
\echo :LAST_ERROR_SQLSTATE
SET childguard.purpose = 'health_check';
UPDATE students SET health = '哮喘' WHERE id = 'c-8';                -- refused by the guardian: row invisible
SELECT count(*) AS visible_for_health_check FROM students;
RESET ROLE;
SET ROLE regress_app;
SET childguard.purpose = 'tutoring';
SELECT id, name, school, health, grade FROM students ORDER BY id;

-- without a purpose: no rows at all (the owner too: row security is forced)
RESET childguard.purpose;
SELECT count(*) AS rows_without_purpose FROM students;
UPDATE students SET grade = grade + 1;
SET childguard.purpose = 'tutoring';
SELECT sum(grade) AS grades_unchanged FROM students;

-- a purpose the child did not consent to: rows invisible
SET childguard.purpose = 'fundraising';
SELECT id, name FROM students ORDER BY id;       -- only c-8 consented; c-9d is in difficulty

-- withdrawal: the next read no longer sees the child
SET childguard.purpose = 'tutoring';
SET ROLE regress_recorder;
SELECT childguard.withdraw_consent('c-8', 'tutoring', 'g-8b');     -- the other guardian gave none
\echo :LAST_ERROR_SQLSTATE
SELECT childguard.withdraw_consent('c-8', 'tutoring', 'g-8') > 0 AS withdrawn;
SET ROLE regress_app;
SELECT id FROM students ORDER BY id;
SET ROLE regress_recorder;
SELECT childguard.withdraw_consent('c-8', 'tutoring', 'g-8');
\echo :LAST_ERROR_SQLSTATE
SET ROLE regress_app;
-- writing for a child without consent is refused
UPDATE students SET name = '小明明' WHERE id = 'c-8';
INSERT INTO students (id, name) VALUES ('c-8', '小明明') ON CONFLICT (id) DO UPDATE SET name = excluded.name;
\echo :LAST_ERROR_SQLSTATE
-- consent again (another guardian): visible again
SET ROLE regress_recorder;
SELECT childguard.record_consent('c-8', 'tutoring', 'privacy', 'g-8b') > 0 AS ok;
SET ROLE regress_app;
SELECT id, name FROM students WHERE id = 'c-8';
-- one guardian's later refusal outweighs another's earlier grant
SET ROLE regress_recorder;
SELECT childguard.refuse_consent('c-8', 'tutoring', 'privacy', 'g-8') > 0 AS ok;
SET ROLE regress_app;
SELECT id FROM students WHERE id = 'c-8';
SET ROLE regress_recorder;
SELECT childguard.record_consent('c-8', 'tutoring', 'privacy', 'g-8') > 0 AS ok;
SET ROLE regress_app;

-- a material new notice makes older consents lapse for the purposes it covers
RESET ROLE;
SET ROLE regress_dpo;
SELECT childguard.publish_notice('privacy', '{tutoring}',
       'tutoring records and homework photos', 'Beijing, 2 years, then deleted', 'AES-256-GCM',
       'no tutoring', '12345', 'privacy@example.invalid', 'none', material => true) AS version;
SET ROLE regress_app;
SET childguard.purpose = 'tutoring';
SELECT id FROM students ORDER BY id;                        -- every tutoring consent lapsed
SET childguard.purpose = 'fundraising';
SELECT id FROM students ORDER BY id;                        -- not covered by v2: still in force
SET childguard.purpose = 'tutoring';
SET ROLE regress_recorder;
SELECT childguard.record_consent('c-8', 'tutoring', 'privacy', 'g-8', notice_version => 1);
\echo :LAST_ERROR_SQLSTATE
SELECT childguard.record_consent('c-8', 'tutoring', 'privacy', 'g-8', notice_version => 2) > 0 AS ok;
SELECT childguard.record_consent('c-15', 'tutoring', 'privacy', 'c-15') > 0 AS ok;
SET ROLE regress_app;
SELECT id FROM students ORDER BY id;
-- a non-material new version keeps consents in force
RESET ROLE;
SET ROLE regress_dpo;
SELECT childguard.publish_notice('privacy', '{tutoring}',
       'tutoring records and homework photos', 'Beijing, 2 years, then deleted', 'AES-256-GCM',
       'no tutoring', '12345 (new number)', 'privacy@example.invalid', 'none', material => false) AS version;
SET ROLE regress_app;
SET childguard.purpose = 'tutoring';
SELECT id FROM students ORDER BY id;
RESET ROLE;
SELECT child_id, purpose, notice_version, state FROM childguard.consents
 WHERE child_id = 'c-15' ORDER BY consent_id;

-- D-Art 15: a child who comes into difficult circumstances drops out of fundraising
SET ROLE regress_app;
SET childguard.purpose = 'fundraising';
SELECT id, name FROM students ORDER BY id;
RESET ROLE;
SET ROLE regress_dpo;
SELECT childguard.set_child_circumstances('c-8', true);
SET ROLE regress_app;
SET childguard.purpose = 'fundraising';
SELECT id, name FROM students ORDER BY id;
RESET ROLE;
SET ROLE regress_dpo;
SELECT childguard.set_child_circumstances('c-8', false);
RESET ROLE;

-- the birthday: a guardian's consent counts until the child turns 14; from
-- then on the child decides.  Two time zones 26 hours apart put "today" on
-- both sides of the 14th birthday with the real clock.
SET ROLE regress_app;
SET TIME ZONE 'Etc/GMT+12';        -- UTC-12: the day before the birthday (or earlier)
SELECT childguard.register_child('c-bday',
       ((now() AT TIME ZONE 'Etc/GMT-14')::date - interval '14 years')::date) > 0 AS registered;
RESET ROLE;
SELECT age FROM childguard.children WHERE child_id = 'c-bday';
SET ROLE regress_recorder;
SELECT childguard.register_guardian('g-bday', 'c-bday');
SELECT childguard.record_consent('c-bday', 'tutoring', 'privacy', 'g-bday') > 0 AS ok;
SET ROLE regress_app;
SET childguard.purpose = 'tutoring';
INSERT INTO students (id, name) VALUES ('c-bday', '生日');
SELECT id, name FROM students WHERE id = 'c-bday';
SET TIME ZONE 'Etc/GMT-14';        -- UTC+14: the 14th birthday
SELECT id, name FROM students WHERE id = 'c-bday';        -- the guardian's word no longer suffices
SET ROLE regress_recorder;
SELECT childguard.record_consent('c-bday', 'tutoring', 'privacy', 'g-bday');
\echo :LAST_ERROR_SQLSTATE
SELECT childguard.record_consent('c-bday', 'tutoring', 'privacy', 'c-bday') > 0 AS ok;
SET ROLE regress_app;
SELECT id, name FROM students WHERE id = 'c-bday';
SET TIME ZONE 'Etc/GMT+12';        -- and a day earlier it is the guardian's word that counts
SELECT id, name FROM students WHERE id = 'c-bday';
RESET TIME ZONE;

-- 14+ in difficulty and unable to express their will: the guardian decides,
-- but the child's own refusal still counts
SET ROLE regress_recorder;
SELECT childguard.record_consent('c-16m', 'tutoring', 'privacy', 'g-16m') > 0 AS ok;
SET ROLE regress_app;
SELECT id FROM students WHERE id = 'c-16m';
SET ROLE regress_recorder;
SELECT childguard.refuse_consent('c-16m', 'tutoring', 'privacy', 'c-16m') > 0 AS ok;
RESET ROLE;
SET ROLE regress_app;
SET childguard.purpose = 'tutoring';
SELECT id FROM students WHERE id = 'c-16m';

-- the second wall: a role that bypasses row security still gets no plaintext
RESET ROLE;
RESET childguard.purpose;
SELECT id, left(name::text, 4) AS name FROM students WHERE id IN ('c-8', 'c-16m') ORDER BY id;

DROP TABLE students;
DROP OWNED BY regress_dpo, regress_dpo2, regress_app, regress_outsider, regress_recorder CASCADE;
DROP ROLE regress_dpo, regress_dpo2, regress_app, regress_outsider, regress_recorder;
\c contrib_regression
DROP DATABASE regress_consent;
