-- Upgrading a 1.0 database that holds officers, grants and consents stored
-- by role name: each becomes a role OID; entries whose role is gone, or
-- whose name now belongs to a role written after the entry, are not
-- re-bound (revoked or removed, with a WARNING and a role_event row).
SET client_min_messages = warning;
DROP DATABASE IF EXISTS regress_identity_upgrade;
CREATE DATABASE regress_identity_upgrade;
\c regress_identity_upgrade
SET client_min_messages = warning;
CREATE EXTENSION pgcrypto;
CREATE EXTENSION childguard VERSION '1.0';
\set VERBOSITY terse
\set SHOW_CONTEXT never
CREATE ROLE regress_u_dpo;
CREATE ROLE regress_u_dpo2;
CREATE ROLE regress_u_gone_dpo;
CREATE ROLE regress_u_app;
CREATE ROLE regress_u_gone;
CREATE ROLE regress_u_renamed;
RESET client_min_messages;
SELECT extversion FROM pg_extension WHERE extname = 'childguard';
SELECT childguard.appoint_officer(r)
  FROM unnest('{regress_u_dpo,regress_u_dpo2,regress_u_gone_dpo}'::regrole[]) r;
SELECT childguard.enroll_application(r)
  FROM unnest('{regress_u_app,regress_u_gone,regress_u_renamed}'::regrole[]) r;
SET ROLE regress_u_dpo;
SELECT childguard.define_purpose('lessons', '{name}', '1 year') > 0 AS ok;
SELECT childguard.publish_notice('n', '{lessons}', 'a', 'b', 'c', 'd', 'e', 'f', 'g') AS v;
RESET ROLE;
SELECT childguard.register_child('u-' || i, '2016-01-01') > 0 AS ok FROM generate_series(1, 2) i;
SET ROLE regress_u_app;                                 -- under 1.0 the application records consents
SELECT childguard.register_guardian('gu-' || i, 'u-' || i) FROM generate_series(1, 2) i;
SELECT count(childguard.record_consent('u-' || i, 'lessons', 'n', 'gu-' || i)) FROM generate_series(1, 2) i;
SELECT childguard.withdraw_consent('u-2', 'lessons', 'gu-2') > 0 AS withdrawn;
RESET ROLE;
SELECT childguard.request_access(r, '{lessons}', now() + interval '1 day')
  FROM unnest('{regress_u_app,regress_u_gone,regress_u_renamed}'::regrole[]) r;
SET ROLE regress_u_dpo2;
SELECT childguard.approve_access(g) FROM generate_series(1, 3) g;
RESET ROLE;
-- under 1.0: one grantee and one officer are dropped, one grantee is renamed
-- and a new role takes its old name
DROP OWNED BY regress_u_gone, regress_u_gone_dpo;
DROP ROLE regress_u_gone, regress_u_gone_dpo;
ALTER ROLE regress_u_renamed RENAME TO regress_u_renamed_old;
CREATE ROLE regress_u_renamed;
-- (the 1.1 library under the 1.0 schema keeps 1.0's rule: the new role
-- holds the old one's grant by name; this is what the upgrade ends)
SET ROLE regress_u_renamed;
SET childguard.purpose = 'lessons';
SHOW childguard.purpose;
RESET childguard.purpose;
RESET ROLE;

ALTER EXTENSION childguard UPDATE TO '1.1';   -- the 1.0 -> 1.1 step (1.2: test/t/011_versions.pl)
SELECT extversion FROM pg_extension WHERE extname = 'childguard';
-- officers by OID; the dropped one is gone
SELECT role_name, role IS NOT NULL AS bound FROM childguard.officers ORDER BY 1;
-- grants: bound, or revoked by the upgrade
SELECT grant_id, grantee, grantee_role, approver_role, revoked_by, status
  FROM childguard.access_grants ORDER BY grant_id;
SELECT event, role IS NULL AS role_gone, role_name, detail FROM childguard.role_events ORDER BY event_id;
-- enrollments (1.0 kept them as privileges): the roles that held them
SELECT role, duty FROM childguard.enrollments ORDER BY role::text;
-- consents: who recorded them, and the history in the chain
SELECT child_id, state, recorded_by, recorded_by_role FROM childguard.consents ORDER BY consent_id;
SELECT event_id, event, by_role FROM childguard.consent_log ORDER BY event_id;
SELECT valid, records_checked FROM childguard.verify_consent_log();
-- the applications lost the consent functions (consents now come from recorders)
SELECT has_function_privilege('regress_u_app', 'childguard.record_consent(text, text, text, text, text, integer, text)', 'EXECUTE') AS app_records;
-- the bound grant works, the new role under the old name gets nothing
SET ROLE regress_u_app;
SET childguard.purpose = 'lessons';
SHOW childguard.purpose;
RESET childguard.purpose;
SET ROLE regress_u_renamed;
SET childguard.purpose = 'lessons';
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;
-- the officers still work
SET ROLE regress_u_dpo;
SELECT childguard.request_access('regress_u_renamed_old', '{lessons}', now() + interval '1 day') AS g \gset
SET ROLE regress_u_dpo2;
SELECT childguard.approve_access(:g);
SET ROLE regress_u_renamed_old;
SET childguard.purpose = 'lessons';
SHOW childguard.purpose;
RESET childguard.purpose;
RESET ROLE;

DROP OWNED BY regress_u_dpo, regress_u_dpo2, regress_u_app, regress_u_renamed, regress_u_renamed_old CASCADE;
DROP ROLE regress_u_dpo, regress_u_dpo2, regress_u_app, regress_u_renamed, regress_u_renamed_old;
\c contrib_regression
DROP DATABASE regress_identity_upgrade;
