-- The incident register (Provisions Art 21): an incident's scope from
-- breach_impact(), stored; the report to the authority; each guardian's
-- notification; a public notice; closing refused until every affected
-- guardian is told or a public notice is issued.
-- a database of its own, so identities and versions below do not depend on other tests
SET client_min_messages = warning;
DROP DATABASE IF EXISTS regress_incidents;
CREATE DATABASE regress_incidents;
\c regress_incidents
SET client_min_messages = warning;
CREATE EXTENSION childguard CASCADE;
RESET client_min_messages;
\set VERBOSITY default
\set SHOW_CONTEXT never
SET client_min_messages = warning;
DROP ROLE IF EXISTS regress_i_dpo, regress_i_dpo2, regress_i_app, regress_i_clerk;
CREATE ROLE regress_i_dpo;
CREATE ROLE regress_i_dpo2;
CREATE ROLE regress_i_app;
CREATE ROLE regress_i_clerk;
RESET client_min_messages;
SELECT childguard.appoint_officer('regress_i_dpo');
SELECT childguard.appoint_officer('regress_i_dpo2');
SELECT childguard.enroll_application(r) FROM unnest('{regress_i_app,regress_i_clerk}'::regrole[]) r;
SET ROLE regress_i_dpo;
SELECT childguard.define_purpose('care', '{name,health}', '1 year') > 0 AS ok;
SELECT childguard.publish_notice('n', '{care}', 'a', 'b', 'c', 'd', 'e', 'f', 'g') AS v;
RESET ROLE;
SELECT childguard.register_child('i-' || i, '2016-01-01') > 0 AS ok FROM generate_series(1, 4) i;
SELECT childguard.register_guardian('gi-' || i, 'i-' || i) FROM generate_series(1, 4) i;
SELECT childguard.register_guardian('gi-1b', 'i-1');                   -- i-1 has two guardians
SELECT count(childguard.record_consent('i-' || i, 'care', 'n', 'gi-' || i)) FROM generate_series(1, 4) i;
SELECT count(childguard.request_access(r, '{care}', now() + interval '1 day'))
  FROM unnest('{regress_i_app,regress_i_clerk}'::regrole[]) r;
SET ROLE regress_i_dpo2;
SELECT count(childguard.approve_access(grant_id)) FROM childguard.access_grants;
RESET ROLE;
CREATE TABLE patients (id text PRIMARY KEY, name childguard.child_data, health childguard.child_data);
SELECT childguard.protect('patients', 'id', '{"name": "name", "health": "health"}');
GRANT SELECT, INSERT ON patients TO regress_i_app, regress_i_clerk;
SET ROLE regress_i_app;
SET childguard.purpose = 'care';
INSERT INTO patients SELECT 'i-' || i, '名' || i, '病' || i FROM generate_series(1, 4) i;
RESET ROLE;
SELECT now() AS t0 \gset
-- the clerk reads two children: the suspect accesses
SET ROLE regress_i_clerk;
SET childguard.purpose = 'care';
SELECT id, name FROM patients WHERE id IN ('i-1', 'i-2') ORDER BY id;
SELECT id, health FROM patients WHERE id = 'i-2';
RESET childguard.purpose;
RESET ROLE;
SELECT childguard.audit_wait();
SELECT now() AS t1 \gset

-------------------------------------------------------------------------------
-- 1. Opening: officers only, validated; the scope is breach_impact()'s
-------------------------------------------------------------------------------
SET ROLE regress_i_app;
SELECT childguard.open_incident(now(), 'laptop lost', '{regress_i_clerk}', :'t0', :'t1');
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;
SET ROLE regress_i_dpo;
SELECT childguard.open_incident(now(), 'x', '{regress_i_clerk}', :'t1', :'t0');      -- window backwards
\echo :LAST_ERROR_SQLSTATE
SELECT childguard.open_incident(now() + interval '1 day', 'x', '{regress_i_clerk}', :'t0', :'t1');
\echo :LAST_ERROR_SQLSTATE
SELECT childguard.open_incident(now(), '', '{regress_i_clerk}', :'t0', :'t1');
\echo :LAST_ERROR_SQLSTATE
SELECT childguard.open_incident(now(), 'x', '{}', :'t0', :'t1');
\echo :LAST_ERROR_SQLSTATE
SELECT childguard.open_incident(now(), 'x', NULL, :'t0', :'t1');
\echo :LAST_ERROR_SQLSTATE
SELECT count(*) AS no_incident FROM childguard.incidents;
SELECT childguard.open_incident(now() - interval '2 days', 'clerk''s laptop lost with an export',
                                '{regress_i_clerk}', :'t0', :'t1') AS inc \gset
SELECT b.child_id, b.guardians, b.statements FROM childguard.breach_impact('{regress_i_clerk}', :'t0', :'t1') b
 ORDER BY b.child_id;
SELECT child_id, statements, relations, columns FROM childguard.incident_child
 WHERE incident_id = :inc ORDER BY child_id;
SELECT guardian_id FROM childguard.incident_guardian WHERE incident_id = :inc ORDER BY guardian_id;
SELECT description, scope_roles, children, guardians, reported_at IS NULL AS not_reported,
       report_due_at - found_at AS report_period, notice_due_at - found_at AS notice_period,
       guardians_notified, not_notified, public_notice_at, report_overdue, notice_overdue,
       opened_by, closed_at
  FROM childguard.incidents WHERE incident_id = :inc;
-- the scope is stored: later reads by the same role do not change it
RESET ROLE;
SET ROLE regress_i_clerk;
SET childguard.purpose = 'care';
SELECT count(name::text) FROM patients;
RESET childguard.purpose;
RESET ROLE;
SELECT childguard.audit_wait();
SET ROLE regress_i_dpo;
SELECT children, guardians FROM childguard.incidents WHERE incident_id = :inc;

-------------------------------------------------------------------------------
-- 2. The report to the authority and the notifications
-------------------------------------------------------------------------------
SELECT childguard.record_authority_report(:inc, now(), '');
\echo :LAST_ERROR_SQLSTATE
SELECT childguard.record_authority_report(:inc, now() - interval '3 days', 'CAC');   -- before it was found
\echo :LAST_ERROR_SQLSTATE
SELECT childguard.record_authority_report(424242, now(), 'CAC');
\echo :LAST_ERROR_SQLSTATE
SELECT childguard.record_authority_report(:inc, now(), 'municipal cyberspace administration', 'REF-1') > 0 AS reported;
SELECT childguard.record_notification(:inc, 'gi-3', 'e-mail', now());     -- not affected
\echo :LAST_ERROR_SQLSTATE
SELECT childguard.record_notification(:inc, 'gi-1', '', now());
\echo :LAST_ERROR_SQLSTATE
SELECT childguard.record_notification(:inc, 'gi-1', 'letter', now() + interval '1 day');
\echo :LAST_ERROR_SQLSTATE
SELECT childguard.record_notification(:inc, 'gi-1', 'telephone', now()) > 0 AS notified;
SELECT childguard.record_notification(:inc, 'gi-1', 'e-mail', now()) > 0 AS notified_again;
-- not every guardian is told: closing is refused
SELECT childguard.close_incident(:inc);
\echo :LAST_ERROR_SQLSTATE
SELECT guardians_notified, not_notified, report_overdue, closed_at IS NULL AS open
  FROM childguard.incidents WHERE incident_id = :inc;
SELECT childguard.record_notification(:inc, 'gi-1b', 'push notification', now()) > 0 AS notified;
SELECT childguard.close_incident(:inc);
\echo :LAST_ERROR_SQLSTATE
SELECT childguard.record_notification(:inc, 'gi-2', 'letter', now()) > 0 AS notified;
SELECT childguard.close_incident(:inc);
SELECT childguard.close_incident(:inc);
\echo :LAST_ERROR_SQLSTATE
SELECT childguard.record_notification(:inc, 'gi-2', 'letter', now());
\echo :LAST_ERROR_SQLSTATE
SELECT kind, authority, reference, guardian_id, method, notice_where, recorded_by
  FROM childguard.incident_event WHERE incident_id = :inc ORDER BY event_id;
SELECT guardians_notified, not_notified, report_overdue, notice_overdue, closed_by
  FROM childguard.incidents WHERE incident_id = :inc;

-------------------------------------------------------------------------------
-- 3. A public notice stands for the notifications
-------------------------------------------------------------------------------
SELECT childguard.open_incident(now(), 'database backup exposed', '{regress_i_app,regress_i_clerk}',
                                :'t0', now()) AS inc2 \gset
SELECT children, guardians, report_overdue, notice_overdue FROM childguard.incidents WHERE incident_id = :inc2;
SELECT childguard.close_incident(:inc2);
\echo :LAST_ERROR_SQLSTATE
SELECT childguard.record_public_notice(:inc2, now(), '');
\echo :LAST_ERROR_SQLSTATE
SELECT childguard.record_public_notice(:inc2, now(), 'home page banner and the app''s start screen') > 0 AS published;
SELECT not_notified, public_notice_at IS NOT NULL AS notice, notice_overdue FROM childguard.incidents
 WHERE incident_id = :inc2;
SELECT childguard.close_incident(:inc2);
-- an incident that touched no child closes at once
SELECT childguard.open_incident(now(), 'false alarm', '{regress_i_dpo}', :'t0', :'t1') AS inc3 \gset
SELECT childguard.close_incident(:inc3);
SELECT incident_id - :inc AS n, children, guardians, closed_at IS NOT NULL AS closed
  FROM childguard.incidents ORDER BY incident_id;
RESET ROLE;
-- the application cannot read the register
SET ROLE regress_i_app;
SELECT count(*) FROM childguard.incidents;
\echo :LAST_ERROR_SQLSTATE
SELECT count(*) FROM childguard.incident_event;
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;

DROP TABLE patients;
\c postgres
DROP DATABASE regress_incidents;
DROP ROLE regress_i_dpo, regress_i_dpo2, regress_i_app, regress_i_clerk;
