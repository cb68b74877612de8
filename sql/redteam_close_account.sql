-- Red team (round 19): close_account() and open_request() by an
-- application that does not serve the child.  Up to 1.4 any enrolled application, even one holding no
-- grant, closed any child's account: every consent withdrawn at once and
-- the child's data erased by the next retention sweep.  Now an application
-- needs an approved grant in force for a purpose the child consented to;
-- officers close any account, as before.  open_request() the same way: an
-- objection recorded by any enrolled application (under the child's own
-- id as requester) denied every application's reads of that child.
SET client_min_messages = warning;
DROP DATABASE IF EXISTS regress_redteam_close;
CREATE DATABASE regress_redteam_close;
\c regress_redteam_close
SET client_min_messages = warning;
CREATE EXTENSION childguard CASCADE;
CREATE ROLE regress_ca_dpo;
CREATE ROLE regress_ca_app;        -- serves the children (grant for homework)
CREATE ROLE regress_ca_member IN ROLE regress_ca_app;
CREATE ROLE regress_ca_other;      -- enrolled, a grant for another purpose
CREATE ROLE regress_ca_idle;       -- enrolled, no grant
CREATE ROLE regress_ca_pending;    -- enrolled, a grant not approved
CREATE ROLE regress_ca_rec;
RESET client_min_messages;
\set VERBOSITY terse
SELECT childguard.appoint_officer('regress_ca_dpo');
SELECT childguard.enroll_application(r)
  FROM unnest(ARRAY['regress_ca_app', 'regress_ca_other', 'regress_ca_idle', 'regress_ca_pending']::regrole[]) r;
SELECT childguard.enroll_consent_recorder('regress_ca_rec');
SET ROLE regress_ca_dpo;
SELECT childguard.define_purpose('homework', '{name}', '1 year') > 0 AS ok;
SELECT childguard.define_purpose('sports', '{name}', '1 year') > 0 AS ok;
SELECT childguard.publish_notice('n', '{homework,sports}', 'a', 'b', 'c', 'd', 'e', 'f', 'g') AS v;
SET ROLE regress_ca_app;
SELECT count(childguard.register_child(c, '2016-01-01')) FROM unnest(ARRAY['c-1', 'c-2', 'c-3']) c;
SET ROLE regress_ca_rec;
SELECT count(childguard.register_guardian('g' || c, c)) FROM unnest(ARRAY['c-1', 'c-2', 'c-3']) c;
SELECT count(childguard.record_consent(c, 'homework', 'n', 'g' || c)) FROM unnest(ARRAY['c-1', 'c-2', 'c-3']) c;
SET ROLE regress_ca_app;
SELECT childguard.request_access('regress_ca_app', '{homework}', now() + interval '1 day') AS g1 \gset
SET ROLE regress_ca_other;
SELECT childguard.request_access('regress_ca_other', '{sports}', now() + interval '1 day') AS g2 \gset
SET ROLE regress_ca_pending;
SELECT childguard.request_access('regress_ca_pending', '{homework}', now() + interval '1 day') AS g3 \gset
SET ROLE regress_ca_dpo;
SELECT childguard.approve_access(:g1);
SELECT childguard.approve_access(:g2);
RESET ROLE;

-- requests: refused from an application that does not serve the child
SET ROLE regress_ca_idle;
SELECT childguard.open_request('c-1', 'objection', now(), 'c-1', 'forged');
\echo :LAST_ERROR_SQLSTATE
SET ROLE regress_ca_other;
SELECT childguard.open_request('c-1', 'deletion', now(), 'gc-1');
\echo :LAST_ERROR_SQLSTATE
SET ROLE regress_ca_pending;
SELECT childguard.open_request('c-1', 'objection', now(), 'gc-1');
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;
SELECT count(*) AS requests FROM childguard.request;
SET ROLE regress_ca_app;
SELECT childguard.open_request('c-1', 'query', now(), 'gc-1') > 0 AS recorded;
SET ROLE regress_ca_dpo;
SELECT childguard.open_request('c-2', 'query', now(), 'c-2') > 0 AS recorded;
RESET ROLE;
SELECT count(*) AS requests FROM childguard.request;

-- closing accounts, refused: no grant, a grant for another purpose, a grant not approved
SET ROLE regress_ca_idle;
SELECT childguard.close_account('c-1', 'not mine');
\echo :LAST_ERROR_SQLSTATE
SET ROLE regress_ca_other;
SELECT childguard.close_account('c-1', 'not mine');
\echo :LAST_ERROR_SQLSTATE
SET ROLE regress_ca_pending;
SELECT childguard.close_account('c-1', 'not mine');
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;
-- nothing changed: no closure, the consent in force
SELECT count(*) AS closures FROM childguard.account_closure;
SELECT childguard.consent_in_force('c-1', 'homework') AS in_force;
-- allowed: the application that serves the child (and its members), an officer
SET ROLE regress_ca_app;
SELECT childguard.close_account('c-1', 'left') IS NOT NULL AS closed;
SET ROLE regress_ca_member;
SELECT childguard.close_account('c-2', 'left') IS NOT NULL AS closed;
SET ROLE regress_ca_dpo;
SELECT childguard.close_account('c-3', 'officer') IS NOT NULL AS closed;
RESET ROLE;
SELECT c.child_id, a.reason FROM childguard.account_closure a
  JOIN childguard.child c USING (subject_no) ORDER BY 1;
\c contrib_regression
DROP DATABASE regress_redteam_close;
DROP ROLE regress_ca_dpo, regress_ca_member, regress_ca_app, regress_ca_other, regress_ca_idle,
          regress_ca_pending, regress_ca_rec;
