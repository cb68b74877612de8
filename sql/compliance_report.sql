-- The compliance report (Provisions Art 22): one row per duty of
-- childguard.compliance_duty, computed live.  Every duty is broken here
-- (fail, with the reason and the objects at fault) and repaired (pass):
-- by the API where the fault can come about through it or through time
-- (a later role membership, a retention that runs out, a new notice
-- version, a child found to be in difficulty, an overdue request), by a
-- superuser's edit of the registries where only that can bring it about.
-- A check that raises is reported as an error with its SQLSTATE.
-- a database of its own, so identities and versions below do not depend on other tests
SET client_min_messages = warning;
DROP DATABASE IF EXISTS regress_compliance;
CREATE DATABASE regress_compliance;
\c regress_compliance
SET client_min_messages = warning;
CREATE EXTENSION childguard CASCADE;
RESET client_min_messages;
\set VERBOSITY terse
SET client_min_messages = warning;
DROP ROLE IF EXISTS regress_c_dpo, regress_c_dpo2, regress_c_app, regress_c_recorder, regress_c_vendor;
CREATE ROLE regress_c_dpo;
CREATE ROLE regress_c_dpo2;
CREATE ROLE regress_c_app;
CREATE ROLE regress_c_recorder;
CREATE ROLE regress_c_vendor;
RESET client_min_messages;
-- one duty's row
\set duty 'SELECT status, reason, objects, sqlstate FROM childguard.compliance_report WHERE duty = '

-- an empty database: nobody is responsible yet
SELECT duty, status FROM childguard.compliance_report WHERE status <> 'pass' ORDER BY duty;

SELECT childguard.appoint_officer('regress_c_dpo');
SELECT childguard.appoint_officer('regress_c_dpo2');
SELECT childguard.enroll_application(r) FROM unnest('{regress_c_app,regress_c_vendor}'::regrole[]) r;
SELECT childguard.enroll_consent_recorder('regress_c_recorder');
SET ROLE regress_c_dpo;
SELECT childguard.define_purpose('tutoring', '{name,school}', '1 year') > 0 AS ok;
SELECT childguard.publish_notice('n', '{tutoring}', 'a', 'b', 'c', 'd', 'e', 'f', 'g') AS v;
SELECT childguard.record_assessment('tutoring', 'processor audit', 'regress auditor', 'regress_c_vendor') > 0 AS ok;
RESET ROLE;
SELECT childguard.register_child('c-' || i, '2016-01-01') > 0 AS ok FROM generate_series(1, 3) i;
SELECT childguard.register_guardian('gc-' || i, 'c-' || i) FROM generate_series(1, 3) i;
SET ROLE regress_c_recorder;
SELECT count(childguard.record_consent('c-' || i, 'tutoring', 'n', 'gc-' || i)) FROM generate_series(1, 3) i;
RESET ROLE;
SET ROLE regress_c_app;
SELECT childguard.request_access('regress_c_app', '{tutoring}', now() + interval '1 day') AS app_grant \gset
SET ROLE regress_c_vendor;
SELECT childguard.request_access('regress_c_vendor', '{tutoring}', now() + interval '1 day', processor => true,
                                 categories => '{name}', agreement => 'SMS reminders contract') AS vendor_grant \gset
SET ROLE regress_c_dpo2;
SELECT childguard.approve_access(:app_grant), childguard.approve_access(:vendor_grant);
SELECT childguard.set_grant_limits(:app_grant, 1000, 10000), childguard.set_grant_limits(:vendor_grant, 1000, 10000);
RESET ROLE;
CREATE TABLE pupils (id text PRIMARY KEY, name childguard.child_data, school childguard.child_data);
SELECT childguard.protect('pupils', 'id', '{"name": "name", "school": "school"}');
GRANT SELECT, INSERT ON pupils TO regress_c_app;
SET ROLE regress_c_app;
SET childguard.purpose = 'tutoring';
INSERT INTO pupils SELECT 'c-' || i, '名' || i, '校' || i FROM generate_series(1, 3) i;
SELECT count(name::text) FROM pupils;
RESET childguard.purpose;
RESET ROLE;
SELECT childguard.audit_wait();

-- everything holds
SELECT count(*) > 0 AS has_duties, count(*) FILTER (WHERE status <> 'pass') AS not_passing
  FROM childguard.compliance_report;
SELECT duty, article FROM childguard.compliance_report ORDER BY duty;

-- who reads it: officers and the extension's owner
SET ROLE regress_c_app;
SELECT count(*) FROM childguard.compliance_report;
SELECT count(*) FROM childguard.compliance_check();
RESET ROLE;
SET ROLE regress_c_recorder;
SELECT count(*) FROM childguard.compliance_report;
RESET ROLE;
SET ROLE regress_c_dpo;
SELECT count(*) > 0 AS officer_reads FROM childguard.compliance_report;
RESET ROLE;

-------------------------------------------------------------------------------
-- Art 8: officer_appointed
-------------------------------------------------------------------------------
BEGIN;
SELECT childguard.dismiss_officer('regress_c_dpo'), childguard.dismiss_officer('regress_c_dpo2');
:duty 'officer_appointed';
SELECT childguard.appoint_officer('regress_c_dpo2');
:duty 'officer_appointed';
ROLLBACK;

-------------------------------------------------------------------------------
-- Art 7: purposes_defined (a superuser's edit: a grant naming a purpose
-- that is not defined)
-------------------------------------------------------------------------------
UPDATE childguard.access_grant SET purposes = purposes || '{homework}' WHERE grant_id = :app_grant;
:duty 'purposes_defined';
UPDATE childguard.access_grant SET purposes = '{tutoring}' WHERE grant_id = :app_grant;
:duty 'purposes_defined';

-------------------------------------------------------------------------------
-- Art 9: consent_by_entitled (the guardian's registration removed by hand;
-- registering the guardian again repairs it)
-------------------------------------------------------------------------------
DELETE FROM childguard.child_guardian WHERE guardian_id = 'gc-2';
:duty 'consent_by_entitled';
SELECT childguard.register_guardian('gc-2', 'c-2');
:duty 'consent_by_entitled';

-------------------------------------------------------------------------------
-- Art 10: notices_complete (a new version of the notice that no longer
-- covers the purpose consents are in force for)
-------------------------------------------------------------------------------
SET ROLE regress_c_dpo;
SELECT childguard.define_purpose('newsletter', '{name}', '1 year') > 0 AS ok;
SELECT childguard.publish_notice('n', '{newsletter}', 'a', 'b', 'c', 'd', 'e', 'f', 'g', false) AS v;
:duty 'notices_complete';
SELECT childguard.publish_notice('n', '{tutoring,newsletter}', 'a', 'b', 'c', 'd', 'e', 'f', 'g', false) AS v;
:duty 'notices_complete';
RESET ROLE;

-------------------------------------------------------------------------------
-- Art 11: collection_necessary (a grant widened by hand beyond its purpose)
-------------------------------------------------------------------------------
UPDATE childguard.access_grant SET categories = '{name,health}' WHERE grant_id = :app_grant;
:duty 'collection_necessary';
UPDATE childguard.access_grant SET categories = NULL WHERE grant_id = :app_grant;
:duty 'collection_necessary';

-------------------------------------------------------------------------------
-- Art 12: retention_respected (time alone: a purpose kept for one second)
-------------------------------------------------------------------------------
SET ROLE regress_c_dpo;
SELECT childguard.define_purpose('flash', '{name}', '1 second') > 0 AS ok;
SELECT childguard.publish_notice('nf', '{flash}', 'a', 'b', 'c', 'd', 'e', 'f', 'g') AS v;
SET ROLE regress_c_recorder;
SELECT childguard.record_consent('c-1', 'flash', 'nf', 'gc-1') > 0 AS ok;
RESET ROLE;
:duty 'retention_respected';
SELECT pg_sleep(1.2);
SELECT status, reason, objects[1] ~ '^child "c-1", purpose "flash": retention 00:00:01 ended' AS names_it
  FROM childguard.compliance_report WHERE duty = 'retention_respected';
SET ROLE regress_c_recorder;
SELECT childguard.withdraw_consent('c-1', 'flash', 'gc-1') > 0 AS withdrawn;
RESET ROLE;
:duty 'retention_respected';

-------------------------------------------------------------------------------
-- Art 13: tables_protected (a table given a child_data column and never
-- protected; a protected table's row security switched off by its owner)
-------------------------------------------------------------------------------
CREATE TABLE loose (id text PRIMARY KEY, note childguard.child_data(other));
:duty 'tables_protected';
SELECT childguard.protect('loose', 'id', '{"note": "other"}');
:duty 'tables_protected';
-- (plain DDL is refused, ZC400: done on purpose, as unprotect() does)
DO $$ BEGIN PERFORM childguard._unprotect_begin('pupils'); ALTER TABLE pupils NO FORCE ROW LEVEL SECURITY; END $$;
:duty 'tables_protected';
ALTER TABLE pupils FORCE ROW LEVEL SECURITY;
:duty 'tables_protected';
DROP TABLE loose;

-------------------------------------------------------------------------------
-- Art 13: keys_configured (a data key wrapped by a master key that is not
-- the one configured)
-------------------------------------------------------------------------------
BEGIN;
UPDATE childguard.data_key SET master_key_id = '\x00000000'
 WHERE subject_no = (SELECT subject_no FROM childguard.child WHERE child_id = 'c-3');
:duty 'keys_configured';
ROLLBACK;
:duty 'keys_configured';

-------------------------------------------------------------------------------
-- Art 14: purposes_unchanged (a purpose rewritten by hand after it was
-- defined; written back as it was)
-------------------------------------------------------------------------------
UPDATE childguard.purpose SET categories = '{name,school,location}', retention = '5 years'
 WHERE purpose = 'tutoring';
:duty 'purposes_unchanged';
UPDATE childguard.purpose SET categories = '{name,school}', retention = '1 year' WHERE purpose = 'tutoring';
:duty 'purposes_unchanged';

-------------------------------------------------------------------------------
-- Art 15: grants_two_person (the approver later made a member of the
-- grantee: one person on both sides)
-------------------------------------------------------------------------------
GRANT regress_c_app TO regress_c_dpo2;
SELECT status, reason, objects = ARRAY[format('grant %s to regress_c_app: approver regress_c_dpo2 is related to the grantee', :app_grant)] AS names_it
  FROM childguard.compliance_report WHERE duty = 'grants_two_person';
REVOKE regress_c_app FROM regress_c_dpo2;
:duty 'grants_two_person';

-------------------------------------------------------------------------------
-- Art 15 (Art 9): consent_recorders_separate (the recorder later made a
-- member of a role that reads)
-------------------------------------------------------------------------------
GRANT regress_c_app TO regress_c_recorder;
SELECT status, reason, objects = ARRAY[format('recorder regress_c_recorder: grant %s', :app_grant)] AS names_it
  FROM childguard.compliance_report WHERE duty = 'consent_recorders_separate';
REVOKE regress_c_app FROM regress_c_recorder;
:duty 'consent_recorders_separate';

-------------------------------------------------------------------------------
-- Art 16: processors_assessed (the processor's assessment removed by hand)
-------------------------------------------------------------------------------
BEGIN;
DELETE FROM childguard.security_assessment;
SELECT status, reason, objects = ARRAY[format('grant %s to regress_c_vendor: no assessment of purpose "tutoring"', :vendor_grant)] AS names_it
  FROM childguard.compliance_report WHERE duty = 'processors_assessed';
ROLLBACK;
:duty 'processors_assessed';

-------------------------------------------------------------------------------
-- Art 17: transfers_assessed (a transfer purpose granted before anyone
-- assessed it)
-------------------------------------------------------------------------------
SET ROLE regress_c_dpo;
SELECT childguard.define_purpose('export', '{name}', '1 year', 'transfer') > 0 AS ok;
SELECT childguard.request_access('regress_c_app', '{export}', now() + interval '1 day') AS export_grant \gset
SELECT childguard.name_recipient(:export_grant, 'district office');
SET ROLE regress_c_dpo2;
SELECT childguard.approve_access(:export_grant);
SELECT childguard.set_grant_limits(:export_grant, 1000, 10000);
:duty 'transfers_assessed';
SELECT childguard.record_assessment('export', 'transfer to the district office', 'regress auditor', 'district office') > 0 AS ok;
:duty 'transfers_assessed';
RESET ROLE;

-------------------------------------------------------------------------------
-- Measures Art 15: difficulty_forbidden (a child found to be in difficult
-- circumstances after a consent to a forbidden purpose)
-------------------------------------------------------------------------------
SET ROLE regress_c_dpo;
SELECT childguard.define_purpose('fundraising', '{name}', '1 year', forbidden_in_difficulty => true) > 0 AS ok;
SELECT childguard.publish_notice('nd', '{fundraising}', 'a', 'b', 'c', 'd', 'e', 'f', 'g') AS v;
SET ROLE regress_c_recorder;
SELECT childguard.record_consent('c-2', 'fundraising', 'nd', 'gc-2') > 0 AS ok;
SET ROLE regress_c_dpo;
SELECT childguard.set_child_circumstances('c-2', true);
:duty 'difficulty_forbidden';
SET ROLE regress_c_recorder;
SELECT childguard.withdraw_consent('c-2', 'fundraising', 'gc-2') > 0 AS withdrawn;
RESET ROLE;
:duty 'difficulty_forbidden';

-------------------------------------------------------------------------------
-- Measures Art 12: difficulty_consent (a 16-year-old in difficulty who
-- consented with a guardian informed is found unable to express their
-- will: a guardian's consent is needed; the informed guardian's
-- registration removed by hand)
-------------------------------------------------------------------------------
SELECT childguard.register_child('c-16', (current_date - interval '16 years')::date, true) > 0 AS ok;
SELECT childguard.register_guardian('gc-16', 'c-16');
SET ROLE regress_c_recorder;
SELECT childguard.record_consent('c-16', 'tutoring', 'n', 'c-16', guardian_informed => 'gc-16') > 0 AS ok;
RESET ROLE;
:duty 'difficulty_consent';
SET ROLE regress_c_dpo;
SELECT childguard.set_child_circumstances('c-16', true, can_express => false);
:duty 'difficulty_consent';
SET ROLE regress_c_recorder;
SELECT childguard.record_consent('c-16', 'tutoring', 'n', 'gc-16') > 0 AS ok;
RESET ROLE;
:duty 'difficulty_consent';
BEGIN;
DELETE FROM childguard.child_guardian WHERE guardian_id = 'gc-16';
SELECT status, objects FROM childguard.compliance_report WHERE duty = 'difficulty_consent';
ROLLBACK;
:duty 'difficulty_consent';

-------------------------------------------------------------------------------
-- Art 19, 20: requests_on_time (a request received 30 days ago, still open)
-------------------------------------------------------------------------------
SET ROLE regress_c_app;
SELECT childguard.open_request('c-3', 'deletion', now() - interval '30 days', 'gc-3') AS del \gset
SET ROLE regress_c_dpo;
SELECT status, reason, objects[1] ~ format('^request %s \(deletion, child "c-3"\): due ', :del) AS names_it
  FROM childguard.compliance_report WHERE duty = 'requests_on_time';
-- (done only once the child is erased: ZC560 before, from 1.5)
SELECT childguard.close_request(:del, 'done', 'erased');
\echo :LAST_ERROR_SQLSTATE
SELECT childguard.erase_child('c-3', 'request', :'del') >= 0 AS erased;
SELECT childguard.close_request(:del, 'done', 'erased');
:duty 'requests_on_time';
RESET ROLE;

-------------------------------------------------------------------------------
-- Measures Art 17: objections_restrict (an objection left past its
-- deadline; the trigger that tells every backend switched off)
-------------------------------------------------------------------------------
SET ROLE regress_c_dpo;
SELECT childguard.open_request('c-1', 'objection', now() - interval '16 days', 'gc-1') AS obj \gset
SELECT status, reason, objects[1] ~ format('^objection %s \(child "c-1"\): due ', :obj) AS names_it
  FROM childguard.compliance_report WHERE duty = 'objections_restrict';
SELECT childguard.close_request(:obj, 'refused', 'the processing is required by law');
:duty 'objections_restrict';
RESET ROLE;
ALTER TABLE childguard.request DISABLE TRIGGER request_changed;
:duty 'objections_restrict';
ALTER TABLE childguard.request ENABLE TRIGGER request_changed;
:duty 'objections_restrict';

-------------------------------------------------------------------------------
-- Art 21: incidents_handled (found two days ago, not reported, nobody told)
-------------------------------------------------------------------------------
SET ROLE regress_c_dpo;
SELECT childguard.open_incident(now() - interval '4 days', 'export found on a public share', '{regress_c_app}',
                                now() - interval '1 hour', now()) AS inc \gset
SELECT status, reason,
       objects = ARRAY[format('incident %s: not reported to the authority (due %s) and 3 guardian(s) not notified and no public notice (due %s)',
                              :inc, (SELECT report_due_at FROM childguard.incidents WHERE incident_id = :inc),
                              (SELECT notice_due_at FROM childguard.incidents WHERE incident_id = :inc))] AS names_it
  FROM childguard.compliance_report WHERE duty = 'incidents_handled';
SELECT childguard.record_authority_report(:inc, now(), 'district education bureau') > 0 AS reported;
SELECT status, objects[1] ~ 'and no public notice' AS only_notices_missing
  FROM childguard.compliance_report WHERE duty = 'incidents_handled';
SELECT childguard.record_public_notice(:inc, now(), 'school notice board') > 0 AS published;
:duty 'incidents_handled';
RESET ROLE;

-------------------------------------------------------------------------------
-- Art 21, 22 (invariant 4): audit_chain (the access log edited below SQL:
-- its guard switched off in the catalog, a record altered; in a fresh
-- session, since the catalog edit is seen only by one that loads the table)
-------------------------------------------------------------------------------
\c
\set VERBOSITY terse
\set duty 'SELECT status, reason, objects, sqlstate FROM childguard.compliance_report WHERE duty = '
BEGIN;
UPDATE pg_trigger SET tgenabled = 'D' WHERE tgrelid = 'childguard.access_log_batch'::regclass;
\i test/fixtures/packed_log.psql
-- (1.8: the records are packed; one byte of the first one's session role)
SELECT pg_temp.flip_record_byte((SELECT min(id) FROM childguard.access_log), 24);
SELECT status, reason, objects[1] ~ '^access_log [0-9]+: ' AS names_it
  FROM childguard.compliance_report WHERE duty = 'audit_chain';
ROLLBACK;
\c
\set VERBOSITY terse
\set duty 'SELECT status, reason, objects, sqlstate FROM childguard.compliance_report WHERE duty = '
SELECT status, reason ~ '^The access log \([0-9]+ records\) and the consent log \([0-9]+ events\) verify\.$' AS verifies
  FROM childguard.compliance_report WHERE duty = 'audit_chain';

-------------------------------------------------------------------------------
-- A check that raises, returns no row, several, or no verdict: an error
-- row with the SQLSTATE; the other rows are still computed
-------------------------------------------------------------------------------
CREATE FUNCTION public.duty_raises() RETURNS TABLE (pass boolean, reason text, objects text[])
	LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'cannot check' USING ERRCODE = '22012'; END $$;
CREATE FUNCTION public.duty_two_rows() RETURNS TABLE (pass boolean, reason text, objects text[])
	LANGUAGE sql AS $$ VALUES (true, 'a', '{}'::text[]), (false, 'b', '{}') $$;
CREATE FUNCTION public.duty_no_row() RETURNS TABLE (pass boolean, reason text, objects text[])
	LANGUAGE sql AS $$ SELECT true, 'a', '{}'::text[] WHERE false $$;
CREATE FUNCTION public.duty_no_verdict() RETURNS TABLE (pass boolean, reason text, objects text[])
	LANGUAGE sql AS $$ SELECT NULL::boolean, 'undecided', '{}'::text[] $$;
INSERT INTO childguard.compliance_duty VALUES
	('zz_raises', 'Provisions Art 99', 'a check that fails to run', 'public.duty_raises()', 'sql/compliance_report.sql'),
	('zz_two_rows', 'Provisions Art 99', 'a check with two answers', 'public.duty_two_rows()', 'sql/compliance_report.sql'),
	('zz_no_row', 'Provisions Art 99', 'a check with no answer', 'public.duty_no_row()', 'sql/compliance_report.sql'),
	('zz_no_verdict', 'Provisions Art 99', 'a check without a verdict', 'public.duty_no_verdict()', 'sql/compliance_report.sql');
SELECT duty, status, reason, objects, sqlstate FROM childguard.compliance_report
 WHERE duty LIKE 'zz%' ORDER BY duty;
SELECT count(*) FILTER (WHERE status = 'pass') > 0 AS others_computed,
       count(*) FILTER (WHERE status = 'error') AS errors,
       count(*) FILTER (WHERE status = 'fail') AS failures
  FROM childguard.compliance_report;
DELETE FROM childguard.compliance_duty WHERE duty LIKE 'zz%';
DROP FUNCTION public.duty_raises(), public.duty_two_rows(), public.duty_no_row(), public.duty_no_verdict();

-- repaired: every duty passes again
SELECT duty, status, reason FROM childguard.compliance_report WHERE status <> 'pass' ORDER BY duty;

DROP TABLE pupils;
\c postgres
DROP DATABASE regress_compliance;
DROP ROLE regress_c_dpo, regress_c_dpo2, regress_c_app, regress_c_recorder, regress_c_vendor;
