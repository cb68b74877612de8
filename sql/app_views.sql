-- Inspection views (issue 13, item 7): my_grants shows an application its
-- own grants and when they expire (and no one else's); officers see
-- consent coverage per purpose, grants expiring, protection per table;
-- other roles cannot read the officers' views.
-- (On the old code none of these views exists.)
SET client_min_messages = warning;
DROP DATABASE IF EXISTS regress_views;
CREATE DATABASE regress_views;
\c regress_views
SET client_min_messages = warning;
CREATE EXTENSION childguard CASCADE;
CREATE ROLE regress_views_dpo;
CREATE ROLE regress_views_dpo2;
CREATE ROLE regress_views_app;
CREATE ROLE regress_views_app2;
CREATE ROLE regress_views_rec;
CREATE ROLE regress_views_member IN ROLE regress_views_app;
RESET client_min_messages;
\set VERBOSITY terse
-- an officer appointed now, another after the views exist: both read them
SELECT childguard.appoint_officer('regress_views_dpo');
SELECT childguard.enroll_application('regress_views_app');
SELECT childguard.enroll_application('regress_views_app2');
SELECT childguard.enroll_consent_recorder('regress_views_rec');
GRANT CREATE ON SCHEMA public TO regress_views_app;
SET ROLE regress_views_dpo;
SELECT childguard.define_purpose('tutoring', '{name,school}', '2 years');
SELECT childguard.define_purpose('games', '{other}', '1 year');
SELECT childguard.define_purpose('unused', '{other}', '1 year');
SELECT childguard.publish_notice('n1', '{tutoring,games}', 'a', 'b', 'c', 'd', 'e', 'f', 'g');
RESET ROLE;
SET ROLE regress_views_app;
SELECT count(childguard.register_child('v' || i, (current_date - interval '9 years')::date)) FROM generate_series(1, 5) i;
SELECT childguard.register_child('teen', (current_date - interval '15 years')::date) > 0;
SELECT childguard.request_access('regress_views_app', '{tutoring}', now() + interval '10 days') AS g1 \gset
SELECT childguard.request_access('regress_views_app', '{games}', now() + interval '90 days') AS g2 \gset
SELECT childguard.request_access('regress_views_app', '{games}', now() + interval '5 days') AS g3 \gset
RESET ROLE;
SET ROLE regress_views_app2;
SELECT childguard.request_access('regress_views_app2', '{tutoring}', now() + interval '3 days') AS g4 \gset
RESET ROLE;
SET ROLE regress_views_rec;
SELECT count(childguard.register_guardian('g' || i, 'v' || i)) FROM generate_series(1, 5) i;
-- tutoring: v1, v2, v3 granted; v4 refused; v5 granted then withdrawn
SELECT count(childguard.record_consent('v' || i, 'tutoring', 'n1', 'g' || i)) FROM generate_series(1, 5) i;
SELECT childguard.refuse_consent('v4', 'tutoring', 'n1', 'g4') > 0;
SELECT childguard.withdraw_consent('v5', 'tutoring', 'g5');
-- games: v1 only
SELECT childguard.record_consent('v1', 'games', 'n1', 'g1') > 0;
RESET ROLE;
SELECT childguard.appoint_officer('regress_views_dpo2');
SET ROLE regress_views_dpo2;
SELECT childguard.approve_access(:g1);
SELECT childguard.approve_access(:g2);
SELECT childguard.approve_access(:g4);
SELECT childguard.revoke_access(:g2);
SELECT childguard.request_access('regress_views_app', '{games}', now() + interval '20 days') AS g5 \gset
SELECT childguard.approve_access(:g5) IS NULL;
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;
SET ROLE regress_views_dpo;
SELECT childguard.approve_access(:g5);
RESET ROLE;

-- the application sees its own grants, and only those
SET ROLE regress_views_app;
SELECT purposes, status, expires_in > interval '9 days' AND expires_in <= interval '10 days' AS ten_days,
       expires_in IS NULL AS no_expiry
  FROM childguard.my_grants ORDER BY grant_id;
RESET ROLE;
SET ROLE regress_views_app2;
SELECT purposes, status FROM childguard.my_grants ORDER BY grant_id;
RESET ROLE;
-- a member of the application's role sees its grants too
SET ROLE regress_views_member;
SELECT count(*) AS member_sees FROM childguard.my_grants;
RESET ROLE;
-- the officers' views are not the application's
SET ROLE regress_views_app;
SELECT count(*) FROM childguard.consent_coverage;
\echo :LAST_ERROR_SQLSTATE
SELECT count(*) FROM childguard.grants_expiring;
\echo :LAST_ERROR_SQLSTATE
SELECT count(*) FROM childguard.protection_status;
\echo :LAST_ERROR_SQLSTATE
-- tables: one protected, one broken, one being migrated
SET childguard.purpose = 'tutoring';
CREATE TABLE t_ok (id text, name childguard.child_data(name));
SELECT childguard.protect('t_ok', 'id');
CREATE TABLE t_broken (id text, school childguard.child_data(school));
SELECT childguard.protect('t_broken', 'id');
SELECT childguard.unprotect('t_broken');
CREATE TABLE t_mig (id text, name text);
INSERT INTO t_mig VALUES ('v1', 'a'), ('nobody', 'b');
SELECT state FROM childguard.migrate_step('t_mig', 'name', 'name', subject_column => 'id');
RESET ROLE;

-- the officers (the one appointed before, and after, the views were made)
SET ROLE regress_views_dpo;
SELECT purpose, children, in_force, refused, withdrawn, lapsed, granted_not_in_force
  FROM childguard.consent_coverage ORDER BY purpose;
SELECT grantee, purposes, expires_in <= interval '30 days' AS within_30_days
  FROM childguard.grants_expiring;
SELECT table_name, is_protected, problem IS NOT NULL AS has_problem, subject_column, columns,
       row_security_forced, migrating
  FROM childguard.protection_status ORDER BY table_name::text;
RESET ROLE;
SET ROLE regress_views_dpo2;
SELECT count(*) AS dpo2_sees FROM childguard.protection_status;
RESET ROLE;
-- a dismissed officer no longer reads them
SELECT childguard.dismiss_officer('regress_views_dpo2');
SET ROLE regress_views_dpo2;
SELECT count(*) FROM childguard.grants_expiring;
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;

DROP OWNED BY regress_views_dpo, regress_views_dpo2, regress_views_app, regress_views_app2,
	regress_views_rec, regress_views_member CASCADE;
DROP ROLE regress_views_dpo, regress_views_dpo2, regress_views_app, regress_views_app2,
	regress_views_rec, regress_views_member;
\c contrib_regression
DROP DATABASE regress_views;
