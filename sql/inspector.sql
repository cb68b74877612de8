-- The inspector (Art 22): appointed by the extension owner, it reads the
-- compliance report, the duties and the registers' counts and verifies the
-- access log -- and nothing else: no registry row, no access-log row, no
-- child data (not even with a table privilege granted by the table's
-- owner), no function that changes anything.  An officer, application or
-- grant holder cannot be one (ZC561).  A database of its own.
SET client_min_messages = warning;
DROP DATABASE IF EXISTS regress_inspector;
CREATE DATABASE regress_inspector;
\c regress_inspector
SET client_min_messages = warning;
CREATE EXTENSION childguard CASCADE;
DROP ROLE IF EXISTS regress_in_insp_member;
DROP ROLE IF EXISTS regress_in_inspector;
DROP ROLE IF EXISTS regress_in_app;
DROP ROLE IF EXISTS regress_in_member;
CREATE ROLE regress_in_inspector;
CREATE ROLE regress_in_app;
CREATE ROLE regress_in_member IN ROLE regress_in_app;
RESET client_min_messages;
\set VERBOSITY terse
\set SHOW_CONTEXT never

SELECT childguard.register_child('i-1', '2015-05-01') > 0 AS ok;
\i test/fixtures/regress_purpose.psql
SELECT pg_temp.consent_all() AS consents;
SELECT childguard.enroll_application('regress_in_app');
CREATE TABLE pupils (id text PRIMARY KEY, name childguard.child_data(name));
SELECT childguard.protect('pupils', 'id');
SET childguard.purpose = 'regress';
INSERT INTO pupils VALUES ('i-1', '小明');
RESET childguard.purpose;
SELECT childguard.audit_wait();

-- who may be appointed, by whom
SELECT childguard.appoint_inspector('regress_fixture_dpo');   -- an officer
\echo :LAST_ERROR_SQLSTATE
SELECT childguard.appoint_inspector('regress_in_app');        -- an application
\echo :LAST_ERROR_SQLSTATE
SELECT childguard.appoint_inspector('regress_in_member');     -- a member of one
\echo :LAST_ERROR_SQLSTATE
SELECT childguard.appoint_inspector(current_user::regrole);   -- a grant holder
\echo :LAST_ERROR_SQLSTATE
SET ROLE regress_fixture_dpo;
SELECT childguard.appoint_inspector('regress_in_inspector');  -- only the owner appoints
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;
SELECT childguard.appoint_inspector('regress_in_inspector');
SELECT role_name, appointed_as FROM childguard.inspectors;
-- a table owner lends the inspector its table: still no child data
GRANT SELECT, UPDATE ON pupils TO regress_in_inspector;

SET ROLE regress_in_inspector;
-- what it can do: the report, the duties, the counts, the chain
SELECT count(*) > 20 AS duties, count(*) FILTER (WHERE status IS NULL) AS no_status
  FROM childguard.compliance_report;
SELECT count(*) > 20 AS duties FROM childguard.compliance_duty;
SELECT valid, records_checked > 0 AS checked FROM childguard.verify_access_log();
SELECT register, entries FROM childguard.register_counts
 WHERE register IN ('children', 'consents', 'access grants', 'officers');
-- what it cannot: registries, the log's rows, children's ids, child data
SELECT count(*) FROM childguard.child;
\echo :LAST_ERROR_SQLSTATE
SELECT count(*) FROM childguard.children;
\echo :LAST_ERROR_SQLSTATE
SELECT count(*) FROM childguard.access_log;
\echo :LAST_ERROR_SQLSTATE
SELECT count(*) FROM childguard.access_log_children;
\echo :LAST_ERROR_SQLSTATE
SELECT count(*) FROM childguard.requests;
\echo :LAST_ERROR_SQLSTATE
SELECT childguard.child_report('i-1');
\echo :LAST_ERROR_SQLSTATE
SELECT count(*) AS visible_rows FROM pupils;                 -- no purpose: no row
SET childguard.purpose = 'regress';                          -- it holds no grant
\echo :LAST_ERROR_SQLSTATE
SELECT childguard.request_access('regress_in_inspector', '{regress}', now() + interval '1 day');
\echo :LAST_ERROR_SQLSTATE
-- and changes nothing
UPDATE pupils SET name = 'x' RETURNING id;                  -- it sees no row to change
UPDATE childguard.compliance_duty SET test = 'none';
\echo :LAST_ERROR_SQLSTATE
DELETE FROM childguard.compliance_duty;
\echo :LAST_ERROR_SQLSTATE
INSERT INTO childguard.compliance_duty SELECT * FROM childguard.compliance_duty LIMIT 1;
\echo :LAST_ERROR_SQLSTATE
SELECT childguard.record_consent('i-1', 'regress', 'regress-notice', 'g-i-1');
\echo :LAST_ERROR_SQLSTATE
SELECT childguard.close_request(1, 'done', 'x');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM childguard.run_retention();
\echo :LAST_ERROR_SQLSTATE
SELECT childguard.appoint_officer('regress_in_inspector');
\echo :LAST_ERROR_SQLSTATE
SELECT childguard.appoint_inspector('regress_in_member');
\echo :LAST_ERROR_SQLSTATE
SELECT childguard.dismiss_inspector('regress_in_inspector');
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;
SELECT count(*) AS still_inspector FROM childguard.inspector;
-- nor is an inspector (or a member of one) made an officer, enrolled or
-- given a grant, even by the owner
CREATE ROLE regress_in_insp_member IN ROLE regress_in_inspector;
SELECT childguard.appoint_officer('regress_in_inspector');
\echo :LAST_ERROR_SQLSTATE
SELECT childguard.enroll_application('regress_in_insp_member');
\echo :LAST_ERROR_SQLSTATE
SELECT childguard.enroll_consent_recorder('regress_in_inspector');
\echo :LAST_ERROR_SQLSTATE
SELECT childguard.request_access('regress_in_inspector', '{regress}', now() + interval '1 day');
\echo :LAST_ERROR_SQLSTATE
SELECT count(*) AS duties_of_inspector FROM childguard.officer o, childguard.inspector i
 WHERE o.role = i.role;
-- nothing it did changed the duties or the data
SELECT count(*) > 20 AS duties_kept FROM childguard.compliance_duty;
SET childguard.purpose = 'regress';
SELECT name FROM pupils;
RESET childguard.purpose;

-- dismissed: the report is closed to it again
SELECT childguard.dismiss_inspector('regress_in_inspector');
SET ROLE regress_in_inspector;
SELECT count(*) FROM childguard.compliance_report;
\echo :LAST_ERROR_SQLSTATE
SELECT valid FROM childguard.verify_access_log();
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;

\c contrib_regression
SET client_min_messages = warning;
DROP DATABASE regress_inspector;
DROP ROLE regress_in_insp_member;
DROP ROLE regress_in_inspector;
DROP ROLE regress_in_member;
DROP ROLE regress_in_app;
