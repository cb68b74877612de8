-- Staff access (Art 15-17): requested, approved by an officer who is not
-- the requester, time-bounded, limited to categories and to a number of
-- children per statement; processors (Art 16) cannot delegate.
-- a database of its own, so identities and versions below do not depend on other tests
SET client_min_messages = warning;
DROP DATABASE IF EXISTS regress_access_grants;
CREATE DATABASE regress_access_grants;
\c regress_access_grants
SET client_min_messages = warning;
CREATE EXTENSION childguard CASCADE;
RESET client_min_messages;
\set VERBOSITY default
\set SHOW_CONTEXT never
SET client_min_messages = warning;
CREATE ROLE regress_g_dpo;
CREATE ROLE regress_g_dpo2;
CREATE ROLE regress_g_staff;
CREATE ROLE regress_g_team;
CREATE ROLE regress_g_member IN ROLE regress_g_team;
CREATE ROLE regress_g_vendor;
CREATE ROLE regress_g_vendor_helper IN ROLE regress_g_vendor;
RESET client_min_messages;
SELECT childguard.appoint_officer('regress_g_dpo');
SELECT childguard.appoint_officer('regress_g_dpo2');
SELECT childguard.enroll_application(r)
  FROM unnest('{regress_g_staff,regress_g_team,regress_g_member,regress_g_vendor,regress_g_vendor_helper}'::regrole[]) r;
SET ROLE regress_g_dpo;
SELECT childguard.define_purpose('counselling', '{name,school,health}', '1 year') > 0 AS ok;
SELECT childguard.publish_notice('n', '{counselling}', 'a', 'b', 'c', 'd', 'e', 'f', 'g') AS v;
RESET ROLE;
SELECT childguard.register_child('s-' || i, '2015-01-01') > 0 AS ok FROM generate_series(1, 5) i;
SELECT childguard.register_guardian('gs-' || i, 's-' || i) FROM generate_series(1, 5) i;
SELECT count(childguard.record_consent('s-' || i, 'counselling', 'n', 'gs-' || i)) FROM generate_series(1, 5) i;
CREATE TABLE cases (id text PRIMARY KEY, name childguard.child_data, school childguard.child_data,
                    health childguard.child_data);
SELECT childguard.protect('cases', 'id', '{"name": "name", "school": "school", "health": "health"}');
GRANT SELECT, INSERT, UPDATE ON cases TO regress_g_staff, regress_g_team, regress_g_vendor, regress_g_vendor_helper;

-- requests: for oneself (or by an officer), validated
SET ROLE regress_g_staff;
SELECT childguard.request_access('regress_g_team', '{counselling}', now() + interval '1 day');
\echo :LAST_ERROR_SQLSTATE
SELECT childguard.request_access('regress_g_staff', '{counselling}', now() - interval '1 day');
\echo :LAST_ERROR_SQLSTATE
SELECT childguard.request_access('regress_g_staff', '{nosuch}', now() + interval '1 day');
\echo :LAST_ERROR_SQLSTATE
SELECT childguard.request_access('regress_g_staff', '{counselling}', now() + interval '1 day',
                                 categories => '{name,location}');        -- outside the purpose
\echo :LAST_ERROR_SQLSTATE
SELECT childguard.request_access('regress_g_staff', '{counselling}', now() + interval '1 day',
                                 max_children => 0);
\echo :LAST_ERROR_SQLSTATE
SELECT childguard.request_access('regress_g_staff', '{counselling}', now() + interval '1 day',
                                 categories => '{name}', max_children => 2) AS staff_grant \gset
-- approval: never by the requester, never by a member of the grantee, only by an officer
SELECT childguard.approve_access(:staff_grant);
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;
SET ROLE regress_g_dpo;
SELECT childguard.request_access('regress_g_team', '{counselling}', now() + interval '1 day') AS team_grant \gset
SELECT childguard.approve_access(:team_grant);        -- requested it itself
\echo :LAST_ERROR_SQLSTATE
SET ROLE regress_g_dpo2;
SELECT childguard.approve_access(:team_grant);
SELECT childguard.approve_access(:team_grant);        -- twice
\echo :LAST_ERROR_SQLSTATE
SELECT childguard.approve_access(:staff_grant);
SELECT childguard.approve_access(424242);
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;
GRANT regress_g_dpo2 TO regress_g_staff;      -- the grantee becomes an officer ...
SET ROLE regress_g_staff;
SELECT childguard.request_access('regress_g_staff', '{counselling}', now() + interval '1 day') AS self_grant \gset
RESET ROLE;
SET ROLE regress_g_dpo2;
SELECT childguard.approve_access(:self_grant);        -- ... and could act as dpo2 (SET ROLE): refused
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;
SET ROLE regress_g_staff;
SELECT childguard.revoke_access(:self_grant);         -- a grantee may give its grant up
SELECT childguard.request_access('regress_g_staff', '{counselling}', now() + interval '1 day') AS self_grant2 \gset
SELECT childguard.approve_access(:self_grant2);       -- an officer approving its own request
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;
REVOKE regress_g_dpo2 FROM regress_g_staff;
SELECT grant_id = :staff_grant AS is_staff_grant, grantee, purposes, categories, max_children, status
  FROM childguard.access_grants ORDER BY grant_id;

-- the staff grant: name only, at most 2 children per statement
SET ROLE regress_g_team;
SET childguard.purpose = 'counselling';
INSERT INTO cases SELECT 's-' || i, '名' || i, '校' || i, '病' || i FROM generate_series(1, 5) i;
SET ROLE regress_g_staff;
SET childguard.purpose = 'counselling';
SET childguard.denied_read = 'mask';
SELECT id, name, school FROM cases WHERE id = 's-1';      -- the grant does not cover school
SELECT id, name FROM cases WHERE id IN ('s-1', 's-2') ORDER BY id;
SELECT id, name FROM cases ORDER BY id;                   -- a bulk read: refused
\echo :LAST_ERROR_SQLSTATE
SELECT count(*) FROM cases;                               -- counting decrypts nothing
UPDATE cases SET health = '新' WHERE id = 's-1';          -- nor may it collect health data
\echo :LAST_ERROR_SQLSTATE
RESET childguard.denied_read;
-- a member of a team holds the team's grant (no limit set: the default, 100)
SET ROLE regress_g_member;
SET childguard.purpose = 'counselling';
SELECT count(name::text) FROM cases;
RESET ROLE;
-- the server's default limit applies when the grant sets none
SHOW childguard.max_children_per_statement;
SET childguard.max_children_per_statement = 1;
\echo :LAST_ERROR_SQLSTATE

-- revocation and expiry stop reads at the next statement
SET ROLE regress_g_dpo;
SELECT childguard.revoke_access(:staff_grant);
SELECT childguard.revoke_access(:staff_grant);
\echo :LAST_ERROR_SQLSTATE
SET ROLE regress_g_staff;
SELECT id, name FROM cases WHERE id = 's-1';
\echo :LAST_ERROR_SQLSTATE
SELECT childguard.request_access('regress_g_staff', '{counselling}', now() + interval '2 seconds') AS short_grant \gset
SET ROLE regress_g_dpo;
SELECT childguard.approve_access(:short_grant);
-- retention (Art 12): a purpose whose data may be used for 2 seconds after consent
SELECT childguard.define_purpose('flash', '{name}', '2 seconds') > 0 AS ok;
SELECT childguard.publish_notice('n2', '{flash}', 'a', 'b', 'c', 'd', 'e', 'f', 'g') AS v;
RESET ROLE;                                               -- the team reads: it may not record consents
SELECT childguard.record_consent('s-1', 'flash', 'n2', 'gs-1') > 0 AS ok;
SET ROLE regress_g_team;
SELECT childguard.request_access('regress_g_team', '{flash}', now() + interval '1 day') AS flash_grant \gset
SET ROLE regress_g_dpo2;
SELECT childguard.approve_access(:flash_grant);
SET ROLE regress_g_team;
SET childguard.purpose = 'flash';
SELECT id, name FROM cases ORDER BY id;                   -- s-1 only: the others never consented
SET ROLE regress_g_staff;
SET childguard.purpose = 'counselling';
SELECT id, name FROM cases WHERE id = 's-1';
SELECT pg_sleep(2.5);
SELECT id, name FROM cases WHERE id = 's-1';              -- the grant expired
\echo :LAST_ERROR_SQLSTATE
SET ROLE regress_g_team;
SET childguard.purpose = 'flash';
SELECT id, name FROM cases ORDER BY id;                   -- retention over: nothing
RESET childguard.purpose;
SET ROLE regress_g_staff;
SET childguard.purpose = 'counselling';
\echo :LAST_ERROR_SQLSTATE
RESET childguard.purpose;
RESET ROLE;
SELECT grant_id = :short_grant AS short, status FROM childguard.access_grants
 WHERE grant_id IN (:staff_grant, :short_grant) ORDER BY grant_id;

-- processors (Art 16): an agreement, an assessment, exactly their own role
SET ROLE regress_g_vendor;
SELECT childguard.request_access('regress_g_vendor', '{counselling}', now() + interval '30 days',
                                 processor => true);
\echo :LAST_ERROR_SQLSTATE
SELECT childguard.request_access('regress_g_vendor', '{counselling}', now() + interval '30 days',
                                 processor => true, categories => '{name}',
                                 agreement => 'Contract 2026-17: SMS reminders, until end of term') AS vendor_grant \gset
SET ROLE regress_g_dpo;
SELECT childguard.approve_access(:vendor_grant);       -- no assessment yet
\echo :LAST_ERROR_SQLSTATE
SELECT childguard.record_assessment('counselling', 'processor audit 2026', 'regress auditor',
                                    'regress_g_vendor') > 0 AS ok;
SELECT childguard.approve_access(:vendor_grant);
SET ROLE regress_g_vendor;
SET childguard.purpose = 'counselling';
SELECT id, name FROM cases WHERE id = 's-3';
-- it cannot hand the work on: not by request, not by role membership
SELECT childguard.request_access('regress_g_vendor_helper', '{counselling}', now() + interval '1 day');
\echo :LAST_ERROR_SQLSTATE
SET ROLE regress_g_vendor_helper;
SET childguard.purpose = 'counselling';
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;

RESET childguard.purpose;
DROP TABLE cases;
DROP OWNED BY regress_g_dpo, regress_g_dpo2, regress_g_staff, regress_g_team, regress_g_member,
              regress_g_vendor, regress_g_vendor_helper CASCADE;
DROP ROLE regress_g_dpo, regress_g_dpo2, regress_g_staff, regress_g_member, regress_g_team,
          regress_g_vendor_helper, regress_g_vendor;
\c contrib_regression
DROP DATABASE regress_access_grants;
