-- Registry personal data encrypted (issue 14, item 1; Provisions Art 13):
-- birth dates and circumstances are sealed at rest, readable only by the
-- functions that need them and by officers; lookups by id unchanged.
-- (test/t/230_registry_at_rest.pl scans a pg_dump and the data files.)
SET client_min_messages = warning;
DROP DATABASE IF EXISTS regress_registry;
CREATE DATABASE regress_registry;
\c regress_registry
SET client_min_messages = warning;
CREATE EXTENSION childguard CASCADE;
CREATE ROLE regress_r_dpo;
CREATE ROLE regress_r_dpo2;
CREATE ROLE regress_r_app;
CREATE ROLE regress_r_recorder;
RESET client_min_messages;
\set VERBOSITY default
\set SHOW_CONTEXT never
SELECT childguard.appoint_officer('regress_r_dpo');
SELECT childguard.appoint_officer('regress_r_dpo2');
SELECT childguard.enroll_application('regress_r_app');
SELECT childguard.enroll_consent_recorder('regress_r_recorder');
GRANT CREATE ON SCHEMA public TO regress_r_app;

SET ROLE regress_r_app;
SELECT childguard.register_child('r-10', (current_date - interval '10 years')::date) > 0 AS ok;
SELECT childguard.register_child('r-15', (current_date - interval '15 years')::date, true, false) > 0 AS ok;
RESET ROLE;

-- 1. at rest: the plaintext columns are empty; one sealed value per row,
-- holding neither the date nor its digits
SELECT child_id, birth_date, in_difficulty, can_express, length(sealed) AS sealed_bytes,
       position(convert_to(to_char(current_date - interval '10 years', 'YYYY-MM-DD'), 'UTF8') IN sealed) AS date_text_at
  FROM childguard.child ORDER BY subject_no;
-- two children born the same day do not share a sealed value (random nonces)
SET ROLE regress_r_app;
SELECT childguard.register_child('r-10b', (current_date - interval '10 years')::date) > 0 AS ok;
RESET ROLE;
SELECT count(DISTINCT sealed) AS distinct_sealed, count(*) AS children FROM childguard.child;

-- 2. a writer's plaintext is sealed, never stored: INSERT and UPDATE,
-- directly into the registry (as its owner), partial updates merge
INSERT INTO childguard.child (child_id, birth_date) VALUES ('r-direct', '2013-02-03');
UPDATE childguard.child SET in_difficulty = true WHERE child_id = 'r-direct';
SELECT child_id, birth_date, in_difficulty, can_express, sealed IS NOT NULL AS sealed
  FROM childguard.child WHERE child_id = 'r-direct';
SELECT child_id, birth_date, in_difficulty, can_express FROM childguard.children
 WHERE child_id = 'r-direct';
-- plaintext cannot be stored with the trigger off: the constraint refuses it
ALTER TABLE childguard.child DISABLE TRIGGER child_seal;
\set VERBOSITY terse
INSERT INTO childguard.child (child_id, birth_date) VALUES ('r-plain', '2013-02-03');
\echo :LAST_ERROR_SQLSTATE
UPDATE childguard.child SET birth_date = '2012-01-01' WHERE child_id = 'r-direct';
\echo :LAST_ERROR_SQLSTATE
\set VERBOSITY default

-- 3. the compliance duty: broken (trigger off), reason and objects; repaired
SELECT * FROM childguard.duty_registry_plaintext();
ALTER TABLE childguard.child ENABLE ALWAYS TRIGGER child_seal;
SELECT * FROM childguard.duty_registry_plaintext();
-- broken another way: the constraint dropped and a row written in the clear
ALTER TABLE childguard.child DISABLE TRIGGER child_seal;
ALTER TABLE childguard.child DROP CONSTRAINT child_sealed_check;
INSERT INTO childguard.child (child_id, birth_date, in_difficulty, can_express)
VALUES ('r-plain', '2013-02-03', false, true);
SELECT * FROM childguard.duty_registry_plaintext();
-- repaired: the row sealed again, trigger and constraint back
ALTER TABLE childguard.child ENABLE ALWAYS TRIGGER child_seal;
UPDATE childguard.child SET birth_date = birth_date WHERE child_id = 'r-plain';
ALTER TABLE childguard.child ADD CONSTRAINT child_sealed_check
	CHECK (sealed IS NOT NULL AND birth_date IS NULL AND in_difficulty IS NULL AND can_express IS NULL);
SELECT * FROM childguard.duty_registry_plaintext();
SELECT child_id, birth_date FROM childguard.children WHERE child_id = 'r-plain';

-- 4. bound to the row: a sealed value moved to another child fails
-- authentication, in the officers' view and in the read decision
CREATE TEMP TABLE saved AS SELECT child_id, sealed FROM childguard.child;
UPDATE childguard.child SET sealed = (SELECT sealed FROM saved WHERE child_id = 'r-15')
 WHERE child_id = 'r-10';
SELECT child_id, birth_date FROM childguard.children WHERE child_id = 'r-10';
\echo :LAST_ERROR_SQLSTATE
-- a byte altered
UPDATE childguard.child SET sealed = set_byte(sealed, 44, get_byte(sealed, 44) # 1)
 WHERE child_id = 'r-15';
SELECT child_id, birth_date FROM childguard.children WHERE child_id = 'r-15';
\echo :LAST_ERROR_SQLSTATE
UPDATE childguard.child c SET sealed = s.sealed FROM saved s WHERE s.child_id = c.child_id;

-- 5. who reads them: officers (childguard.children); not the application,
-- not the consent recorder, not PUBLIC -- not the view, not the table, not
-- the opener, not the sealer
SET ROLE regress_r_dpo;
SELECT child_id, birth_date = (current_date - interval '10 years')::date AS right_date, age,
       in_difficulty, can_express FROM childguard.children WHERE child_id IN ('r-10', 'r-15') ORDER BY 1;
SET ROLE regress_r_app;
SELECT birth_date FROM childguard.children;
\echo :LAST_ERROR_SQLSTATE
SELECT sealed FROM childguard.child;
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM childguard._child_open;
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM childguard._open_registry(1, '\x00'::bytea);
\echo :LAST_ERROR_SQLSTATE
SELECT childguard._seal_registry(1, current_date, false, true);
\echo :LAST_ERROR_SQLSTATE
SET ROLE regress_r_recorder;
SELECT birth_date FROM childguard.children;
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;
-- a monitoring role that reads every table (pg_read_all_data) sees the
-- sealed form only: the officers' view needs the opener, which it may not run
SET client_min_messages = warning;
CREATE ROLE regress_r_monitor IN ROLE pg_read_all_data;
RESET client_min_messages;
SET ROLE regress_r_monitor;
SELECT child_id, birth_date, in_difficulty, length(sealed) AS sealed_bytes
  FROM childguard.child WHERE child_id = 'r-10';
SELECT birth_date FROM childguard.children;
\echo :LAST_ERROR_SQLSTATE
SELECT birth_date FROM childguard._child_open;
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;
DROP ROLE regress_r_monitor;

-- 6. the functions that need them still decide by them: the age rule and
-- the circumstances (record_consent, consent_in_force, the C decision)
SET ROLE regress_r_dpo;
SELECT childguard.define_purpose('lessons', '{name}', '1 year') > 0 AS ok;
SELECT childguard.publish_notice('n', '{lessons}', 'a', 'b', 'c', 'd', 'e', 'f', 'g') AS v;
SET ROLE regress_r_recorder;
SELECT childguard.register_guardian('g-10', 'r-10');
SELECT childguard.register_guardian('g-15', 'r-15');
SELECT childguard.record_consent('r-10', 'lessons', 'n', 'r-10');          -- under 14: refused
\echo :LAST_ERROR_SQLSTATE
SELECT childguard.record_consent('r-10', 'lessons', 'n', 'g-10') > 0 AS ok;
SELECT childguard.record_consent('r-15', 'lessons', 'n', 'g-15') > 0 AS ok;  -- 15, cannot express: the guardian
SELECT childguard.consent_in_force('r-10', 'lessons') AS r10, childguard.consent_in_force('r-15', 'lessons') AS r15;
SET ROLE regress_r_app;
SELECT childguard.request_access('regress_r_app', '{lessons}', now() + interval '1 day') AS g \gset
SET ROLE regress_r_dpo;
SELECT childguard.approve_access(:g);
SET ROLE regress_r_app;
CREATE TABLE pupils (id text PRIMARY KEY, name childguard.child_data);
SELECT childguard.protect('pupils', 'id', '{"name": "name"}');
SET childguard.purpose = 'lessons';
INSERT INTO pupils VALUES ('r-10', 'Xiao Ming'), ('r-15', 'Xiao Hong');
SELECT id, name FROM pupils ORDER BY id;
-- an officer's change of circumstances reaches the next read: r-15 can
-- express now, and a guardian's consent no longer counts for a 15-year-old
RESET childguard.purpose;
SET ROLE regress_r_dpo;
SELECT childguard.set_child_circumstances('r-15', true, true);
SET ROLE regress_r_app;
SET childguard.purpose = 'lessons';
SELECT id, name FROM pupils ORDER BY id;
SELECT * FROM childguard.children;
\echo :LAST_ERROR_SQLSTATE
-- a sealed value moved to another child stops the read decision too
RESET childguard.purpose;
RESET ROLE;
UPDATE childguard.child SET sealed = (SELECT sealed FROM saved WHERE child_id = 'r-15')
 WHERE child_id = 'r-10';
SET ROLE regress_r_app;
SET childguard.purpose = 'lessons';
SELECT id, name FROM pupils WHERE id = 'r-10';
\echo :LAST_ERROR_SQLSTATE
RESET childguard.purpose;
RESET ROLE;
UPDATE childguard.child c SET sealed = s.sealed FROM saved s WHERE s.child_id = c.child_id
   AND c.child_id = 'r-10';
SET ROLE regress_r_app;
SET childguard.purpose = 'lessons';
SELECT id, name FROM pupils WHERE id = 'r-10';
RESET childguard.purpose;
RESET ROLE;
SELECT child_id, in_difficulty, can_express FROM childguard.children WHERE child_id = 'r-15';
SELECT birth_date IS NULL AND in_difficulty IS NULL AND can_express IS NULL AS still_clear_of_plaintext
  FROM childguard.child WHERE child_id = 'r-15';

-- 7. the consent report (officers) shows them, opened
SET ROLE regress_r_dpo;
SELECT r->'child'->>'in_difficulty' AS in_difficulty, r->'child'->>'can_express' AS can_express,
       (r->'child'->>'birth_date')::date = (current_date - interval '15 years')::date AS right_date
  FROM childguard.child_report('r-15') r;
RESET ROLE;

DROP TABLE pupils;
DROP OWNED BY regress_r_dpo, regress_r_dpo2, regress_r_app, regress_r_recorder CASCADE;
DROP ROLE regress_r_dpo, regress_r_dpo2, regress_r_app, regress_r_recorder;
\c contrib_regression
DROP DATABASE regress_registry;
