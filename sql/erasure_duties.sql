-- The compliance duties erasure enforces (compliance_duty): each is broken
-- (fails, saying why and naming what is at fault) and repaired (passes).
-- (Before 1.4 neither the duties nor what they check exist.)
SET client_min_messages = warning;
DROP DATABASE IF EXISTS regress_erasure_duties;
CREATE DATABASE regress_erasure_duties;
\c regress_erasure_duties
SET client_min_messages = warning;
CREATE EXTENSION childguard CASCADE;
RESET client_min_messages;
\set VERBOSITY terse
\set SHOW_CONTEXT never
\i test/fixtures/regress_purpose.psql

SELECT duty, article, check_function, test FROM childguard.compliance_duty
 WHERE test = 'sql/erasure_duties.sql' ORDER BY duty;

SELECT childguard.register_child('d1', '2015-01-01'), childguard.register_child('d2', '2015-01-01');
SELECT pg_temp.consent_all() AS consents;
CREATE TABLE pupils (child text, name childguard.child_data(name));
SELECT childguard.protect('pupils', 'child');
SET childguard.purpose = 'regress';
INSERT INTO pupils VALUES ('d1', '甲'), ('d2', '乙');
RESET childguard.purpose;

SELECT * FROM childguard.duty_erasure_on_request();
SELECT * FROM childguard.duty_cease_operations();
SELECT * FROM childguard.duty_deletions_recorded();

-- erasure_on_request: a request received but not carried out
INSERT INTO childguard.erasure_request (subject_no, reason, request_ref)
SELECT subject_no, 'request', 'REQ-D1' FROM childguard.child WHERE child_id = 'd1';
SELECT * FROM childguard.duty_erasure_on_request();
-- ... and a child marked erased whose key is still there
UPDATE childguard.child SET erased_at = now() WHERE child_id = 'd2';
SELECT * FROM childguard.duty_erasure_on_request();
-- repaired: the request carried out, the child erased as a whole
SELECT childguard.erase_child('d1', 'request', 'REQ-D1') AS rows_erased;
SELECT childguard.erase('d2', NULL, 'child_erased') AS rows_erased;
SELECT * FROM childguard.duty_erasure_on_request();

-- deletions_recorded: a table whose DELETE trigger was dropped, or is not ALWAYS
DROP TRIGGER zz_childguard_deleted ON pupils;
SELECT * FROM childguard.duty_deletions_recorded();
SELECT childguard.protect('pupils', 'child');
SELECT * FROM childguard.duty_deletions_recorded();
ALTER TABLE pupils ENABLE TRIGGER zz_childguard_truncate;
SELECT * FROM childguard.duty_deletions_recorded();
SELECT childguard.protect('pupils', 'child');
SELECT * FROM childguard.duty_deletions_recorded();

-- cease_operations: ceased, then a child registered anyway (it has a data key)
SELECT count(*) AS erased FROM childguard.cease_operations('CEASE-D');
SELECT * FROM childguard.duty_cease_operations();
SELECT childguard.register_child('d3', '2015-01-01');
SELECT * FROM childguard.duty_cease_operations();
SELECT childguard.erase_child('d3', 'cease_operations', 'CEASE-D') AS rows_erased;
SELECT * FROM childguard.duty_cease_operations();
SELECT childguard.resume_operations();
SELECT * FROM childguard.duty_cease_operations();

\c contrib_regression
SET client_min_messages = warning;
DROP DATABASE regress_erasure_duties;
