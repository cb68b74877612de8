-- Identities are role OIDs (issue 8, item 5) and consents come from a role
-- that does not read (item 7).  Every route below worked under 1.0.
-- a database of its own, so identities and versions below do not depend on other tests
SET client_min_messages = warning;
DROP DATABASE IF EXISTS regress_identity;
CREATE DATABASE regress_identity;
\c regress_identity
SET client_min_messages = warning;
CREATE EXTENSION childguard CASCADE;
\set VERBOSITY terse
\set SHOW_CONTEXT never
CREATE ROLE regress_i_dpo;
CREATE ROLE regress_i_dpo2;
CREATE ROLE regress_i_dpo3;
CREATE ROLE regress_i_app;
CREATE ROLE regress_i_staff;
CREATE ROLE regress_i_rec;                  -- the consent recorder
CREATE ROLE regress_i_group;                -- a group approver and app both belong to
CREATE ROLE regress_i_mid;
CREATE ROLE regress_i_person LOGIN;         -- one person who can act as two officers
RESET client_min_messages;
SELECT childguard.appoint_officer(r) FROM unnest('{regress_i_dpo,regress_i_dpo2,regress_i_dpo3}'::regrole[]) r;
SELECT childguard.enroll_application(r) FROM unnest('{regress_i_app,regress_i_staff}'::regrole[]) r;
SELECT childguard.enroll_consent_recorder('regress_i_rec');
SET ROLE regress_i_dpo;
SELECT childguard.define_purpose('lessons', '{name}', '1 year') > 0 AS ok;
SELECT childguard.define_purpose('sports', '{name}', '1 year') > 0 AS ok;
SELECT childguard.publish_notice('n', '{lessons,sports}', 'a', 'b', 'c', 'd', 'e', 'f', 'g') AS v;
RESET ROLE;
SELECT childguard.register_child('k-' || i, '2016-01-01') > 0 AS ok FROM generate_series(1, 3) i;
SET ROLE regress_i_rec;
SELECT childguard.register_guardian('gk-' || i, 'k-' || i) FROM generate_series(1, 3) i;
SELECT count(childguard.record_consent('k-' || i, 'lessons', 'n', 'gk-' || i)) AS consents FROM generate_series(1, 3) i;
RESET ROLE;
CREATE TABLE lessons (id text PRIMARY KEY, name childguard.child_data);
SELECT childguard.protect('lessons', 'id', '{"name": "name"}');
GRANT SELECT, INSERT ON lessons TO regress_i_app, regress_i_staff;
SET ROLE regress_i_app;
SELECT childguard.request_access('regress_i_app', '{lessons}', now() + interval '1 day') AS app_grant \gset
SET ROLE regress_i_dpo;
SELECT childguard.approve_access(:app_grant);
SET ROLE regress_i_app;
SET childguard.purpose = 'lessons';
INSERT INTO lessons SELECT 'k-' || i, '名' || i FROM generate_series(1, 3) i;
RESET childguard.purpose;
RESET ROLE;

-------------------------------------------------------------------------------
-- 5a. A grant follows its role, not its name
-------------------------------------------------------------------------------
ALTER ROLE regress_i_app RENAME TO regress_i_app_old;
CREATE ROLE regress_i_app;                              -- a new, unrelated role under the old name
GRANT SELECT ON lessons TO regress_i_app;
GRANT USAGE ON SCHEMA childguard TO regress_i_app;
SET ROLE regress_i_app;
SET childguard.purpose = 'lessons';                     -- no grant: the new role inherits nothing
\echo :LAST_ERROR_SQLSTATE
SELECT count(*) AS rows_seen FROM lessons;
SET ROLE regress_i_app_old;                             -- the renamed role keeps its grant
SET childguard.purpose = 'lessons';
SELECT id, name FROM lessons ORDER BY id;
RESET childguard.purpose;
RESET ROLE;
SELECT grantee, grantee_role, status FROM childguard.access_grants WHERE grant_id = :app_grant;

-- a grant requested for the new role by name binds to the new role only
SET ROLE regress_i_dpo;
SELECT childguard.request_access('regress_i_app', '{lessons}', now() + interval '1 day') AS new_grant \gset
SELECT grantee_role::oid = 'regress_i_app'::regrole::oid AS new_role,
       grantee_role::oid <> (SELECT grantee_role::oid FROM childguard.access_grants WHERE grant_id = :app_grant) AS not_old
  FROM childguard.access_grants WHERE grant_id = :new_grant;
SELECT childguard.revoke_access(:new_grant);
RESET ROLE;

-------------------------------------------------------------------------------
-- 5b. An officer is a role, not a name
-------------------------------------------------------------------------------
ALTER ROLE regress_i_dpo3 RENAME TO regress_i_dpo3_old;
CREATE ROLE regress_i_dpo3;
SELECT childguard.enroll_application('regress_i_dpo3');  -- the new role can call application functions ...
SET ROLE regress_i_dpo3;
SELECT childguard.revoke_access(:app_grant);            -- ... but is no officer: cannot revoke others' grants
\echo :LAST_ERROR_SQLSTATE
SELECT childguard.request_access('regress_i_staff', '{lessons}', now() + interval '1 day');
\echo :LAST_ERROR_SQLSTATE
SET ROLE regress_i_dpo3_old;                            -- the renamed officer still is one
SELECT count(*) AS officers_seen FROM childguard.officers;
RESET ROLE;
SELECT role_name, appointed_as FROM childguard.officers ORDER BY 1;

-------------------------------------------------------------------------------
-- 5c. A dropped role's ties end; DROP ROLE waits for them to be released
-------------------------------------------------------------------------------
SET ROLE regress_i_staff;
SELECT childguard.request_access('regress_i_staff', '{lessons}', now() + interval '1 day') AS staff_grant \gset
SET ROLE regress_i_dpo2;
SELECT childguard.approve_access(:staff_grant);
SET ROLE regress_i_staff;
SET childguard.purpose = 'lessons';
SELECT count(name::text) AS staff_reads FROM lessons;
RESET childguard.purpose;
RESET ROLE;
DROP ROLE regress_i_staff;                              -- still anchored in this database
\echo :LAST_ERROR_SQLSTATE
-- what DROP OWNED BY does (and what a role OID reused after wrap-around
-- would look like): the anchor goes, and with it every tie of that OID
REVOKE EXECUTE ON FUNCTION childguard._role_anchor() FROM regress_i_staff;
SET ROLE regress_i_staff;
SET childguard.purpose = 'lessons';
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;
SELECT status FROM childguard.access_grants WHERE grant_id = :staff_grant;
SET ROLE regress_i_dpo;
SELECT childguard.request_access('regress_i_staff', '{lessons}', now() + interval '1 day') AS staff_grant2 \gset
RESET ROLE;
REVOKE EXECUTE ON FUNCTION childguard._role_anchor() FROM regress_i_staff;
SET ROLE regress_i_dpo2;
SELECT childguard.approve_access(:staff_grant2);        -- the grantee is gone: nothing to approve
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;
DROP OWNED BY regress_i_staff;                         -- the registries say so
SELECT grant_id = :staff_grant AS first, revoked_by, status FROM childguard.access_grants
 WHERE grant_id IN (:staff_grant, :staff_grant2) ORDER BY grant_id;
SELECT event, role_name, detail FROM childguard.role_events
 WHERE role::oid = 'regress_i_staff'::regrole::oid ORDER BY event_id;
DROP ROLE regress_i_staff;
CREATE ROLE regress_i_staff;                            -- same name, new role
GRANT SELECT ON lessons TO regress_i_staff;
GRANT USAGE ON SCHEMA childguard TO regress_i_staff;
SET ROLE regress_i_staff;
SET childguard.purpose = 'lessons';
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;

-------------------------------------------------------------------------------
-- 5d. Dismissal takes every privilege the appointment gave
-------------------------------------------------------------------------------
SELECT childguard.enroll_application('regress_i_dpo3_old');
SELECT childguard.dismiss_officer('regress_i_dpo3_old');
SET ROLE regress_i_dpo3_old;
SELECT count(*) FROM childguard.officers;
\echo :LAST_ERROR_SQLSTATE
SELECT count(*) FROM childguard.consents;
\echo :LAST_ERROR_SQLSTATE
SELECT count(*) FROM childguard.access_log;
\echo :LAST_ERROR_SQLSTATE
SELECT childguard.approve_access(1);
\echo :LAST_ERROR_SQLSTATE
SELECT childguard.child_report('k-1');
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;
-- nothing in the schema but what PUBLIC has and what its enrollment gives
SELECT c.relname FROM pg_class c
 WHERE c.relnamespace = 'childguard'::regnamespace AND c.relkind IN ('r', 'v', 'S')
   AND has_table_privilege('regress_i_dpo3_old', c.oid, 'SELECT')
   AND NOT has_table_privilege('public', c.oid, 'SELECT') ORDER BY 1;
SELECT p.oid::regprocedure FROM pg_proc p
 WHERE p.pronamespace = 'childguard'::regnamespace
   AND has_function_privilege('regress_i_dpo3_old', p.oid, 'EXECUTE')
   AND NOT has_function_privilege('public', p.oid, 'EXECUTE')
   AND p.oid <> 'childguard._role_anchor()'::regprocedure ORDER BY 1::text;
SELECT event, role_name FROM childguard.role_events WHERE role::oid = 'regress_i_dpo3_old'::regrole::oid ORDER BY event_id;

-------------------------------------------------------------------------------
-- 5e. The two-person rule over role membership
-------------------------------------------------------------------------------
SET ROLE regress_i_app_old;
SELECT childguard.request_access('regress_i_app_old', '{sports}', now() + interval '1 day') AS g \gset
RESET ROLE;
-- direct: the approver is a member of the grantee
GRANT regress_i_app_old TO regress_i_dpo2;
SET ROLE regress_i_dpo2;
SELECT childguard.approve_access(:g);
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;
REVOKE regress_i_app_old FROM regress_i_dpo2;
-- indirect, and NOINHERIT: approver -> mid -> grantee
GRANT regress_i_app_old TO regress_i_mid;
GRANT regress_i_mid TO regress_i_dpo2;
ALTER ROLE regress_i_dpo2 NOINHERIT;
SET ROLE regress_i_dpo2;
SELECT childguard.approve_access(:g);
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;
ALTER ROLE regress_i_dpo2 INHERIT;
REVOKE regress_i_mid FROM regress_i_dpo2;
REVOKE regress_i_app_old FROM regress_i_mid;
-- reverse: the grantee is a member of the approving officer (it could SET ROLE to it)
GRANT regress_i_dpo2 TO regress_i_app_old;
SET ROLE regress_i_dpo2;
SELECT childguard.approve_access(:g);
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;
REVOKE regress_i_dpo2 FROM regress_i_app_old;
-- reverse and indirect: grantee -> mid -> approver
GRANT regress_i_dpo2 TO regress_i_mid;
GRANT regress_i_mid TO regress_i_app_old;
SET ROLE regress_i_dpo2;
SELECT childguard.approve_access(:g);
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;
REVOKE regress_i_mid FROM regress_i_app_old;
REVOKE regress_i_dpo2 FROM regress_i_mid;
-- the requester (an officer) and the approver are one person: dpo2 is a member of dpo
SET ROLE regress_i_dpo;
SELECT childguard.request_access('regress_i_app_old', '{sports}', now() + interval '1 day') AS g2 \gset
RESET ROLE;
GRANT regress_i_dpo TO regress_i_dpo2;
SET ROLE regress_i_dpo2;
SELECT childguard.approve_access(:g2);
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;
REVOKE regress_i_dpo FROM regress_i_dpo2;
-- one login that can act as both officers: requests as one, approves as the other
GRANT regress_i_dpo, regress_i_dpo2 TO regress_i_person;
SET SESSION AUTHORIZATION regress_i_person;
SET ROLE regress_i_dpo;
SELECT childguard.request_access('regress_i_app_old', '{sports}', now() + interval '1 day') AS g3 \gset
SET ROLE regress_i_dpo2;
SELECT childguard.approve_access(:g3);
\echo :LAST_ERROR_SQLSTATE
RESET SESSION AUTHORIZATION;
REVOKE regress_i_dpo, regress_i_dpo2 FROM regress_i_person;
-- merely sharing a group that holds no grant is no conflict
GRANT regress_i_group TO regress_i_dpo2, regress_i_app_old;
SET ROLE regress_i_dpo2;
SELECT childguard.approve_access(:g);
RESET ROLE;
REVOKE regress_i_group FROM regress_i_dpo2, regress_i_app_old;
SELECT grant_id = :g AS g, status FROM childguard.access_grants WHERE grant_id IN (:g, :g2, :g3) ORDER BY grant_id;

-------------------------------------------------------------------------------
-- 7. Separation of duties for consent
-------------------------------------------------------------------------------
-- the guardian of k-1 withdraws (through the consent recorder)
SET ROLE regress_i_rec;
SELECT childguard.withdraw_consent('k-1', 'lessons', 'gk-1') > 0 AS withdrawn;
RESET ROLE;
-- the reading application tries to put the consent back, by every door
SET ROLE regress_i_app_old;
SELECT childguard.record_consent('k-1', 'lessons', 'n', 'gk-1');             -- in the guardian's name
\echo :LAST_ERROR_SQLSTATE
SELECT childguard.register_guardian('fake-guardian', 'k-1');                  -- a new "guardian"
\echo :LAST_ERROR_SQLSTATE
SELECT childguard.withdraw_consent('k-2', 'lessons', 'gk-2');
\echo :LAST_ERROR_SQLSTATE
SELECT childguard.refuse_consent('k-2', 'lessons', 'n', 'gk-2');
\echo :LAST_ERROR_SQLSTATE
SELECT childguard.enroll_consent_recorder('regress_i_app_old');
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;
-- with EXECUTE granted by hand (as 1.0 gave it to every application), the
-- functions themselves refuse a role that is no enrolled recorder
GRANT EXECUTE ON FUNCTION childguard.record_consent(text, text, text, text, text, integer, text),
                          childguard.withdraw_consent(text, text, text) TO regress_i_app_old;
SET ROLE regress_i_app_old;
SELECT childguard.record_consent('k-1', 'lessons', 'n', 'gk-1');
\echo :LAST_ERROR_SQLSTATE
SELECT childguard.withdraw_consent('k-2', 'lessons', 'gk-2');
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;
REVOKE EXECUTE ON FUNCTION childguard.record_consent(text, text, text, text, text, integer, text),
                           childguard.withdraw_consent(text, text, text) FROM regress_i_app_old;
-- an officer cannot make the reader a recorder either
SET ROLE regress_i_dpo;
SELECT childguard.enroll_consent_recorder('regress_i_app_old');
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;
-- membership: the reader is made a member of the recorder, and acts as it
GRANT regress_i_rec TO regress_i_app_old;
SET ROLE regress_i_app_old;
SET ROLE regress_i_rec;
SELECT childguard.record_consent('k-1', 'lessons', 'n', 'gk-1');
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;
REVOKE regress_i_rec FROM regress_i_app_old;
-- membership the other way: the recorder is a member of the reader (it reads under its grant)
GRANT regress_i_app_old TO regress_i_rec;
SET ROLE regress_i_rec;
SELECT childguard.record_consent('k-1', 'lessons', 'n', 'gk-1');
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;
REVOKE regress_i_app_old FROM regress_i_rec;
-- one login that can act as the reader and as the recorder is one person
GRANT regress_i_app_old, regress_i_rec TO regress_i_person;
SET SESSION AUTHORIZATION regress_i_person;
SET ROLE regress_i_rec;
SELECT childguard.record_consent('k-1', 'lessons', 'n', 'gk-1');
\echo :LAST_ERROR_SQLSTATE
SELECT childguard.register_guardian('fake-guardian', 'k-1');
\echo :LAST_ERROR_SQLSTATE
RESET SESSION AUTHORIZATION;
REVOKE regress_i_app_old, regress_i_rec FROM regress_i_person;
-- and a recorder cannot be granted access
SET ROLE regress_i_dpo;
SELECT childguard.request_access('regress_i_rec', '{lessons}', now() + interval '1 day');
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;
-- a superuser holding a grant for the purpose cannot record for it either
SELECT childguard.request_access(current_user::regrole, '{sports}', now() + interval '1 day') AS su_grant \gset
SET ROLE regress_i_dpo;
SELECT childguard.approve_access(:su_grant);
RESET ROLE;
-- (the message names the superuser, whose name depends on the server: make installcheck)
\set VERBOSITY sqlstate
SELECT childguard.record_consent('k-3', 'sports', 'n', 'gk-3');
\set VERBOSITY terse
\echo :LAST_ERROR_SQLSTATE
SELECT childguard.revoke_access(:su_grant);
-- none of it changed anything: k-1 stays withdrawn and unreadable
SET ROLE regress_i_app_old;
SET childguard.purpose = 'lessons';
SELECT id FROM lessons ORDER BY id;
RESET childguard.purpose;
RESET ROLE;
SELECT child_id, purpose, state, recorded_by, recorded_by_role, withdrawn_by
  FROM childguard.consents ORDER BY consent_id;

-- every consent event is in the hash chain, with who entered it
SET ROLE regress_i_rec;
SELECT childguard.refuse_consent('k-3', 'sports', 'n', 'gk-3') > 0 AS refused;
SELECT childguard.record_consent('k-2', 'sports', 'n', 'gk-2') > 0 AS ok;
RESET ROLE;
SET ROLE regress_i_dpo;
SELECT childguard.publish_notice('n', '{sports}', 'a2', 'b', 'c', 'd', 'e', 'f', 'g', material => true) AS v;   -- k-2's sports consent lapses
SELECT e.event_id, c.child_id, p.purpose, e.event, e.giver_kind, e.by_role, e.prev_hash IS NOT NULL AS linked
  FROM childguard.consent_log e JOIN childguard.children c USING (subject_no)
  JOIN childguard.purposes p ON p.purpose = (SELECT x.purpose FROM childguard.consents x WHERE x.consent_id = e.consent_id)
 ORDER BY e.event_id;
SELECT * FROM childguard.verify_consent_log();
SELECT jsonb_path_query_array(childguard.child_report('k-1'), '$.consent_events[*].event') AS events,
       jsonb_path_query_array(childguard.child_report('k-1'), '$.consent_events[*].recorded_by') AS recorded_by,
       jsonb_path_query_array(childguard.child_report('k-1'), '$.consents[*].recorded_by') AS consent_recorded_by,
       jsonb_path_query_array(childguard.child_report('k-1'), '$.consents[*].withdrawn_by') AS withdrawn_by;
-- nobody edits the chain
UPDATE childguard.consent_log SET event = 'granted';
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;
UPDATE childguard.consent_log SET event = 'granted' WHERE event_id = 2;
\echo :LAST_ERROR_SQLSTATE
DELETE FROM childguard.consent_log;
\echo :LAST_ERROR_SQLSTATE
TRUNCATE childguard.consent_log;
\echo :LAST_ERROR_SQLSTATE
-- a superuser who switches the guard off is found out
ALTER TABLE childguard.consent_log DISABLE TRIGGER consent_log_guard;
UPDATE childguard.consent_log SET event = 'granted' WHERE event_id = 4;
ALTER TABLE childguard.consent_log ENABLE ALWAYS TRIGGER consent_log_guard;
SELECT valid, broken_id, reason FROM childguard.verify_consent_log();

RESET childguard.purpose;
DROP TABLE lessons;
DROP OWNED BY regress_i_dpo, regress_i_dpo2, regress_i_dpo3, regress_i_dpo3_old, regress_i_app,
              regress_i_app_old, regress_i_staff, regress_i_rec, regress_i_group, regress_i_mid,
              regress_i_person CASCADE;
DROP ROLE regress_i_dpo, regress_i_dpo2, regress_i_dpo3, regress_i_dpo3_old, regress_i_app,
          regress_i_app_old, regress_i_staff, regress_i_rec, regress_i_group, regress_i_mid,
          regress_i_person;
\c contrib_regression
DROP DATABASE regress_identity;
