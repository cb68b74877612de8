-- Disclosure (issue 14, item 3; Provisions Art 18, D-Art 13, 14): a
-- disclose purpose needs, for a child in difficult circumstances, the
-- child's consent as well as a guardian's; identifying categories of such
-- a child are withheld from any disclosure (de-identified) and refused
-- outright for publicity; a disclosure is its own audit outcome.
SET client_min_messages = warning;
DROP DATABASE IF EXISTS regress_disclosure;
CREATE DATABASE regress_disclosure;
\c regress_disclosure
SET client_min_messages = warning;
CREATE EXTENSION childguard CASCADE;
CREATE ROLE regress_d_dpo;
CREATE ROLE regress_d_dpo2;
CREATE ROLE regress_d_app;
CREATE ROLE regress_d_recorder;
RESET client_min_messages;
\set VERBOSITY default
\set SHOW_CONTEXT never
SELECT childguard.appoint_officer('regress_d_dpo');
SELECT childguard.appoint_officer('regress_d_dpo2');
SELECT childguard.enroll_application('regress_d_app');
SELECT childguard.enroll_consent_recorder('regress_d_recorder');
GRANT CREATE ON SCHEMA public TO regress_d_app;

SET ROLE regress_d_dpo;
SELECT childguard.define_purpose('casework', '{name,school,health}', '1 year') > 0 AS ok;
SELECT childguard.define_purpose('news', '{name,school,health}', '1 year', kind => 'disclose') > 0 AS ok;
SELECT childguard.define_purpose('poster', '{name,image,health}', '1 year', kind => 'publicize') > 0 AS ok;
SELECT childguard.define_purpose('annual_report', '{health}', '1 year', kind => 'publicize') > 0 AS ok;
SELECT childguard.define_purpose('gossip', '{name}', '1 year', kind => 'broadcast');
\echo :LAST_ERROR_SQLSTATE
SELECT childguard.publish_notice('n', '{casework,news,poster,annual_report}', 'a', 'b', 'c', 'd', 'e', 'f', 'g') AS v;
SELECT childguard.identifying_categories();

SET ROLE regress_d_app;
-- d-9: nine years old, in difficult circumstances, can express their will;
-- o-9: nine, not in difficulty; d-15: fifteen, in difficulty
SELECT childguard.register_child('d-9', (current_date - interval '9 years')::date, true, true) > 0 AS ok;
SELECT childguard.register_child('o-9', (current_date - interval '9 years')::date) > 0 AS ok;
SELECT childguard.register_child('d-15', (current_date - interval '15 years')::date, true, true) > 0 AS ok;
SELECT childguard.request_access('regress_d_app', '{casework,news,poster,annual_report}',
                                 now() + interval '1 day') AS g \gset
SET ROLE regress_d_dpo;
SELECT childguard.approve_access(:g);
SET ROLE regress_d_recorder;
SELECT childguard.register_guardian('g-' || c, c) FROM unnest('{d-9,o-9,d-15}'::text[]) c;
SELECT childguard.record_consent('d-9', 'casework', 'n', 'g-d-9') > 0 AS ok;
SELECT childguard.record_consent('o-9', 'casework', 'n', 'g-o-9') > 0 AS ok;
SELECT childguard.record_consent('d-15', 'casework', 'n', 'd-15', guardian_informed => 'g-d-15') > 0 AS ok;
SET ROLE regress_d_app;
CREATE TABLE cases (id text PRIMARY KEY, name childguard.child_data, school childguard.child_data,
                    health childguard.child_data);
SELECT childguard.protect('cases', 'id', '{"name": "name", "school": "school", "health": "health"}');
SET childguard.purpose = 'casework';
INSERT INTO cases VALUES ('d-9', 'Xiao Ming', 'No. 1 Primary', 'asthma'),
                         ('o-9', 'Xiao Hong', 'No. 2 Primary', 'none'),
                         ('d-15', 'Xiao Gang', 'No. 3 Middle', 'diabetes');
RESET childguard.purpose;

-- 1. the 9-year-old in difficulty: the guardian's consent to the
-- disclosure alone does not unlock anything (D-Art 13: the child's too)
SET ROLE regress_d_recorder;
SELECT childguard.record_consent('d-9', 'news', 'n', 'g-d-9') > 0 AS ok;
SELECT childguard.record_consent('o-9', 'news', 'n', 'g-o-9') > 0 AS ok;
SET ROLE regress_d_app;
SET childguard.purpose = 'news';
SET childguard.denied_read = 'null';
SELECT id, name, school, health FROM cases ORDER BY id;      -- d-9 invisible; o-9 in full
SELECT id FROM cases WHERE id = 'd-9';
SELECT count(*) FROM cases;
RESET childguard.denied_read;
RESET childguard.purpose;
-- the child's own consent -- recordable under 14 for a disclosure concerning
-- a child in difficulty, and for nothing else
SET ROLE regress_d_recorder;
SELECT childguard.record_consent('d-9', 'casework', 'n', 'd-9');          -- not a disclosure: under 14
\echo :LAST_ERROR_SQLSTATE
SELECT childguard.record_consent('o-9', 'news', 'n', 'o-9');              -- not in difficulty: under 14
\echo :LAST_ERROR_SQLSTATE
SELECT childguard.record_consent('d-9', 'news', 'n', 'd-9', guardian_informed => 'g-d-9') > 0 AS ok;
SET ROLE regress_d_app;
SET childguard.purpose = 'news';
-- now visible, and de-identified: name and school withheld, health disclosed
SET childguard.denied_read = 'null';
SELECT id, name, school, health FROM cases WHERE id = 'd-9';
RESET childguard.denied_read;
SELECT id, health FROM cases WHERE id = 'd-9';
SELECT id, name FROM cases WHERE id = 'd-9';
\echo :LAST_ERROR_SQLSTATE
SELECT id, school::text FROM cases WHERE id = 'd-9';
\echo :LAST_ERROR_SQLSTATE
SELECT id FROM cases WHERE name = 'Xiao Ming';
\echo :LAST_ERROR_SQLSTATE
RESET childguard.purpose;
-- the guardian's withdrawal stops it again: both are needed
SET ROLE regress_d_recorder;
SELECT childguard.withdraw_consent('d-9', 'news', 'g-d-9');
SET ROLE regress_d_app;
SET childguard.purpose = 'news';
SELECT id, health FROM cases WHERE id = 'd-9';
RESET childguard.purpose;

-- 2. fifteen, in difficulty: the child's consent alone does not unlock a
-- disclosure either; with a guardian's too (now recordable) it does
SET ROLE regress_d_recorder;
SELECT childguard.record_consent('d-15', 'news', 'n', 'd-15', guardian_informed => 'g-d-15') > 0 AS ok;
SET ROLE regress_d_app;
SET childguard.purpose = 'news';
SELECT id, health FROM cases WHERE id = 'd-15';
RESET childguard.purpose;
SET ROLE regress_d_recorder;
SELECT childguard.record_consent('d-15', 'casework', 'n', 'g-d-15');     -- not a disclosure: 14+ decides
\echo :LAST_ERROR_SQLSTATE
SELECT childguard.record_consent('d-15', 'news', 'n', 'g-d-15') > 0 AS ok;
SET ROLE regress_d_app;
SET childguard.purpose = 'news';
SELECT id, health FROM cases WHERE id = 'd-15';
RESET childguard.purpose;

-- 3. publicity (D-Art 14): consent to a publicity purpose needing name,
-- address, image, voice or school of a child in difficulty is refused,
-- whoever gives it; one needing none of them is not
SET ROLE regress_d_recorder;
SELECT childguard.record_consent('d-9', 'poster', 'n', 'g-d-9');
\echo :LAST_ERROR_SQLSTATE
SELECT childguard.record_consent('d-9', 'poster', 'n', 'd-9', guardian_informed => 'g-d-9');
\echo :LAST_ERROR_SQLSTATE
SELECT childguard.record_consent('o-9', 'poster', 'n', 'g-o-9') > 0 AS ok;
SELECT childguard.record_consent('d-9', 'annual_report', 'n', 'g-d-9') > 0 AS ok;
SELECT childguard.record_consent('d-9', 'annual_report', 'n', 'd-9', guardian_informed => 'g-d-9') > 0 AS ok;
-- the set-based path applies the same rule
CREATE TEMP TABLE staging (child_id text, purpose text, notice text, given_by text);
INSERT INTO staging VALUES ('d-15', 'poster', 'n', 'g-d-15'), ('d-15', 'annual_report', 'n', 'g-d-15');
SELECT row_no, child_id, purpose, consent_id IS NOT NULL AS recorded, sqlstate, message
  FROM childguard.record_consents('pg_temp.staging') ORDER BY row_no;
SET ROLE regress_d_app;
SET childguard.purpose = 'annual_report';
SELECT id, health FROM cases WHERE id = 'd-9';
RESET childguard.purpose;
-- at read: o-9 is found to be in difficulty (unable to express their
-- will: the guardian's word counts) after the consent; reading their name
-- under the publicity purpose is refused outright -- not masked
SET ROLE regress_d_dpo;
SELECT childguard.set_child_circumstances('o-9', true, false);
RESET ROLE;
-- the compliance duty: broken (a consent in force would publicize o-9's name)
SELECT * FROM childguard.duty_disclosure_difficulty();
SET ROLE regress_d_app;
SET childguard.purpose = 'poster';
SET childguard.denied_read = 'mask';
SELECT id, health FROM cases WHERE id = 'o-9';                 -- not identifying: shown
SELECT id, name FROM cases WHERE id = 'o-9';
SELECT id, left(name::text, 1) FROM cases WHERE id = 'o-9';
SELECT id FROM cases WHERE name = 'Xiao Hong';
RESET childguard.denied_read;
RESET childguard.purpose;
-- repaired: the guardian withdraws that consent
SET ROLE regress_d_recorder;
SELECT childguard.withdraw_consent('o-9', 'poster', 'g-o-9');
RESET ROLE;
SELECT * FROM childguard.duty_disclosure_difficulty();

-- 4. a disclosure is its own audit outcome
SELECT childguard.audit_wait() IS NOT NULL AS waited;
SELECT purpose, outcome, cardinality(children_read) AS read, cardinality(children_denied) AS denied
  FROM childguard.access_log WHERE purpose IN ('news', 'annual_report', 'casework')
 ORDER BY id;
SELECT purpose, sum(disclosed) AS disclosed, sum(allowed) AS allowed
  FROM childguard.access_summary WHERE purpose IS NOT NULL GROUP BY 1 ORDER BY 1;
SELECT valid FROM childguard.verify_access_log();

DROP TABLE cases;
DROP OWNED BY regress_d_dpo, regress_d_dpo2, regress_d_app, regress_d_recorder CASCADE;
DROP ROLE regress_d_dpo, regress_d_dpo2, regress_d_app, regress_d_recorder;
\c contrib_regression
DROP DATABASE regress_disclosure;
