-- The request register (Provisions Art 19, 20; Measures Art 17): requests
-- by the child or a guardian, their deadlines, who handled them; an
-- officer's correction after consent lapsed; an open objection restricts
-- every read and write of that child's data but an officer's.
-- a database of its own, so identities and versions below do not depend on other tests
SET client_min_messages = warning;
DROP DATABASE IF EXISTS regress_requests;
CREATE DATABASE regress_requests;
\c regress_requests
SET client_min_messages = warning;
CREATE EXTENSION childguard CASCADE;
RESET client_min_messages;
\set VERBOSITY default
\set SHOW_CONTEXT never
SET client_min_messages = warning;
DROP ROLE IF EXISTS regress_q_dpo, regress_q_dpo2, regress_q_app, regress_q_other, regress_q_bypass;
CREATE ROLE regress_q_dpo;
CREATE ROLE regress_q_dpo2;
CREATE ROLE regress_q_app;
CREATE ROLE regress_q_other;
CREATE ROLE regress_q_bypass BYPASSRLS;
RESET client_min_messages;
GRANT CREATE ON SCHEMA public TO regress_q_dpo;
SELECT childguard.appoint_officer('regress_q_dpo');
SELECT childguard.appoint_officer('regress_q_dpo2');
SELECT childguard.enroll_application(r) FROM unnest('{regress_q_app,regress_q_bypass}'::regrole[]) r;
SET ROLE regress_q_dpo;
SELECT childguard.define_purpose('tutoring', '{name,school}', '1 year') > 0 AS ok;
SELECT childguard.publish_notice('n', '{tutoring}', 'a', 'b', 'c', 'd', 'e', 'f', 'g') AS v;
RESET ROLE;
SELECT childguard.register_child('q-' || i, '2016-01-01') > 0 AS ok FROM generate_series(1, 3) i;
SELECT childguard.register_guardian('gq-' || i, 'q-' || i) FROM generate_series(1, 3) i;
SELECT count(childguard.record_consent('q-' || i, 'tutoring', 'n', 'gq-' || i)) FROM generate_series(1, 3) i;
SELECT count(childguard.request_access(r, '{tutoring}', now() + interval '1 day'))
  FROM unnest('{regress_q_app,regress_q_bypass,regress_q_dpo}'::regrole[]) r;
SET ROLE regress_q_dpo2;
SELECT count(childguard.approve_access(grant_id)) FROM childguard.access_grants;
RESET ROLE;
CREATE TABLE pupils (id text PRIMARY KEY, name childguard.child_data, school childguard.child_data, grade int);
SELECT childguard.protect('pupils', 'id', '{"name": "name", "school": "school"}');
GRANT SELECT, INSERT, UPDATE ON pupils TO regress_q_app, regress_q_bypass, regress_q_dpo, regress_q_dpo2;
SET ROLE regress_q_app;
SET childguard.purpose = 'tutoring';
INSERT INTO pupils VALUES ('q-1', '小一', NULL, 1), ('q-2', '小二', '二小', 2), ('q-3', '小三', '三小', 3);
RESET childguard.purpose;
RESET ROLE;

-------------------------------------------------------------------------------
-- 1. Opening a request: the child or one of its guardians, a known kind,
--    received in the past; applications and officers may open one
-------------------------------------------------------------------------------
SET ROLE regress_q_app;
SELECT childguard.open_request('q-1', 'rant', now(), 'gq-1');
\echo :LAST_ERROR_SQLSTATE
SELECT childguard.open_request('nobody', 'query', now(), 'gq-1');
\echo :LAST_ERROR_SQLSTATE
SELECT childguard.open_request('q-1', 'query', now(), 'gq-2');          -- another child's guardian
\echo :LAST_ERROR_SQLSTATE
SELECT childguard.open_request('q-1', 'query', now(), 'stranger');
\echo :LAST_ERROR_SQLSTATE
SELECT childguard.open_request('q-1', 'query', now() + interval '1 hour', 'gq-1');
\echo :LAST_ERROR_SQLSTATE
SELECT childguard.open_request('q-1', 'query', NULL, 'gq-1');
\echo :LAST_ERROR_SQLSTATE
SELECT count(*) AS nothing_recorded FROM childguard.request;          -- the app cannot read the register
\echo :LAST_ERROR_SQLSTATE
SELECT childguard.open_request('q-1', 'query', now() - interval '20 days', 'gq-1') AS late_query \gset
SELECT childguard.open_request('q-1', 'correction', now() - interval '1 day', 'q-1', 'name misspelt') AS fix \gset
RESET ROLE;
SET ROLE regress_q_other;                                              -- neither app nor officer
SELECT childguard.open_request('q-1', 'query', now(), 'gq-1');
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;
SET ROLE regress_q_dpo;
SELECT request_id = :late_query AS late, child_id, kind, status, requested_by, requester_kind, detail,
       due_at - received_at AS period, overdue, closed_late, restricts_processing, opened_by, handled_by
  FROM childguard.requests ORDER BY request_id;

-------------------------------------------------------------------------------
-- 2. Deadlines: 15 days by default, set by an officer, fixed at opening
-------------------------------------------------------------------------------
SELECT duty, period FROM childguard.deadline ORDER BY duty;
SELECT childguard.set_deadline('request_query', '5 days');
SELECT duty, period, default_period, set_by FROM childguard.deadline WHERE set_by IS NOT NULL;
SELECT childguard.set_deadline('request_query', '-1 day');
\echo :LAST_ERROR_SQLSTATE
SELECT childguard.set_deadline('request_whim', '1 day');
\echo :LAST_ERROR_SQLSTATE
SELECT childguard.open_request('q-2', 'query', now() - interval '6 days', 'gq-2') AS q2 \gset
SELECT request_id = :q2 AS new_one, due_at - received_at AS period, overdue
  FROM childguard.requests WHERE kind = 'query' ORDER BY request_id;
RESET ROLE;
SET ROLE regress_q_app;
SELECT childguard.set_deadline('request_query', '100 days');
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;

-------------------------------------------------------------------------------
-- 3. Handling and closing: officers only; a refusal gives its reason;
--    closed once
-------------------------------------------------------------------------------
SET ROLE regress_q_app;
SELECT childguard.start_request(:late_query);
\echo :LAST_ERROR_SQLSTATE
SELECT childguard.close_request(:late_query, 'done');
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;
SET ROLE regress_q_dpo2;
SELECT childguard.start_request(:late_query);
SELECT childguard.close_request(:late_query, 'refused');
\echo :LAST_ERROR_SQLSTATE
SELECT childguard.close_request(:late_query, 'refused', '');
\echo :LAST_ERROR_SQLSTATE
SELECT childguard.close_request(:late_query, 'ignored', 'x');
\echo :LAST_ERROR_SQLSTATE
SELECT childguard.close_request(424242, 'done');
\echo :LAST_ERROR_SQLSTATE
SELECT childguard.close_request(:late_query, 'done', 'report sent to the guardian');
SELECT childguard.close_request(:late_query, 'refused', 'second thoughts');
\echo :LAST_ERROR_SQLSTATE
SELECT childguard.start_request(:late_query);
\echo :LAST_ERROR_SQLSTATE
SELECT childguard.close_request(:q2, 'refused', 'the requester could not be identified');
SELECT request_id = :late_query AS late, status, outcome, overdue, closed_late, handled_by,
       closed_at IS NOT NULL AS closed
  FROM childguard.requests WHERE request_id IN (:late_query, :q2) ORDER BY request_id;
RESET ROLE;

-------------------------------------------------------------------------------
-- 4. Correction after consent lapsed (Art 19): no one can write once the
--    consent is withdrawn, but an officer can, under an open correction
--    request of that child, for that child only
-------------------------------------------------------------------------------
SELECT childguard.withdraw_consent('q-1', 'tutoring', 'gq-1') > 0 AS withdrawn;
SET ROLE regress_q_app;
SET childguard.purpose = 'tutoring';
UPDATE pupils SET name = '小壹' WHERE id = 'q-1';                       -- invisible now
SELECT count(*) AS visible FROM pupils WHERE id = 'q-1';
INSERT INTO pupils VALUES ('q-1', '小壹', NULL, 1) ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name;
\echo :LAST_ERROR_SQLSTATE
RESET childguard.purpose;
-- the app cannot use the officer's path
SELECT childguard.correct_child_data('pupils', 'q-1', 'name', '小壹', :fix);
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;
SET ROLE regress_q_dpo;
SELECT childguard.open_request('q-1', 'query', now(), 'gq-1') AS q1query \gset
SELECT childguard.open_request('q-2', 'correction', now(), 'gq-2') AS q2fix \gset
SELECT childguard.correct_child_data('pupils', 'q-1', 'name', '小壹', :q1query);   -- not a correction
\echo :LAST_ERROR_SQLSTATE
SELECT childguard.correct_child_data('pupils', 'q-1', 'name', '小壹', :q2fix);     -- another child's
\echo :LAST_ERROR_SQLSTATE
SELECT childguard.correct_child_data('pupils', 'q-1', 'name', '小壹', 424242);
\echo :LAST_ERROR_SQLSTATE
SELECT childguard.correct_child_data('pupils', 'q-1', 'id', 'q-9', :fix);          -- whose data it is
\echo :LAST_ERROR_SQLSTATE
SELECT childguard.correct_child_data('pupils', 'q-1', 'nickname', 'x', :fix);
\echo :LAST_ERROR_SQLSTATE
SELECT childguard.correct_child_data('childguard.category', 'q-1', 'description', 'x', :fix);
\echo :LAST_ERROR_SQLSTATE
-- the officer who recorded a request does not write under it
SELECT childguard.open_request('q-1', 'correction', now(), 'gq-1') AS ownfix \gset
SELECT childguard.correct_child_data('pupils', 'q-1', 'name', '小壹', :ownfix);
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;
SET ROLE regress_q_dpo2;
SELECT childguard.close_request(:ownfix, 'refused', 'duplicate of an earlier request');
RESET ROLE;
SET ROLE regress_q_dpo;
-- an empty value is not corrected: filling it would be collection
SELECT childguard.correct_child_data('pupils', 'q-1', 'school', '一小', :fix) AS rows_corrected;
SELECT childguard.correct_child_data('pupils', 'q-1', 'name', '小壹', :fix) AS rows_corrected;
SELECT childguard.correct_child_data('pupils', 'q-1', 'grade', '2', :fix) AS rows_corrected;
-- the permit was for that one UPDATE: the officer's own write is refused
INSERT INTO pupils VALUES ('q-1', '小壹', NULL, 1);
\echo :LAST_ERROR_SQLSTATE
-- nor can it be asked for directly
SELECT childguard._permit_correction(1, 'name');
\echo :LAST_ERROR_SQLSTATE
SELECT request_id = :fix AS fix, action, relation, column_name, row_count, acted_by
  FROM childguard.request_action ORDER BY action_id;
SELECT status, handled_by FROM childguard.requests WHERE request_id = :fix;
RESET ROLE;
-- a superuser's permit dies with its statement
SELECT childguard._permit_correction(subject_no, 'school') FROM childguard.child WHERE child_id = 'q-1';
UPDATE pupils SET school = '壹小' WHERE id = 'q-1';
\echo :LAST_ERROR_SQLSTATE
-- the corrected value is the child's, sealed for it: readable once consent is given again
SELECT childguard.record_consent('q-1', 'tutoring', 'n', 'gq-1') > 0 AS consented;
SET ROLE regress_q_app;
SET childguard.purpose = 'tutoring';
SELECT id, name, school, grade FROM pupils ORDER BY id;
RESET childguard.purpose;
RESET ROLE;
-- the write is in the access log: the officer, the table, the column, the child
SELECT childguard.audit_wait();
SELECT acting_role, command, purpose, relations, columns, outcome,
       children_written = ARRAY[(SELECT subject_no FROM childguard.child WHERE child_id = 'q-1')] AS q1
  FROM childguard.access_log
 WHERE acting_role = 'regress_q_dpo' AND cardinality(children_written) > 0 ORDER BY id;
SET ROLE regress_q_dpo;
SELECT childguard.close_request(:fix, 'done', 'name corrected');
SELECT childguard.correct_child_data('pupils', 'q-1', 'name', '又错', :fix);       -- closed
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;

-------------------------------------------------------------------------------
-- 5. An open objection restricts that child's data, for every purpose and
--    every route, until closed; an officer handling it still reads
-------------------------------------------------------------------------------
SET ROLE regress_q_app;
SET childguard.purpose = 'tutoring';
SELECT id, name FROM pupils ORDER BY id;                                -- caches warm
SELECT childguard.open_request('q-2', 'objection', now(), 'gq-2', 'stop using my child''s data') AS obj \gset
SELECT id, name FROM pupils ORDER BY id;                                -- q-2 is gone at once
SELECT name FROM pupils WHERE id = 'q-2';
UPDATE pupils SET school = '二中' WHERE id = 'q-2';                     -- nothing to update
INSERT INTO pupils VALUES ('q-2', '小二', NULL, 2);                     -- nor collect
\echo :LAST_ERROR_SQLSTATE
RESET childguard.purpose;
RESET ROLE;
-- past the row policy (BYPASSRLS): the value itself is refused
SET ROLE regress_q_bypass;
SET childguard.purpose = 'tutoring';
SET childguard.denied_read = 'error';
SELECT id, name FROM pupils WHERE id = 'q-2';
\echo :LAST_ERROR_SQLSTATE
SET childguard.denied_read = 'null';
SELECT id, name FROM pupils ORDER BY id;
RESET childguard.denied_read;
RESET childguard.purpose;
RESET ROLE;
-- through a view or a SECURITY DEFINER function the officer owns: the
-- reader is still the app
SET ROLE regress_q_dpo;
CREATE VIEW public.pupil_names AS SELECT id, name FROM pupils;
CREATE FUNCTION public.pupil_name(c text) RETURNS text LANGUAGE sql SECURITY DEFINER
	SET search_path = public AS $$ SELECT name::text FROM pupils WHERE id = c $$;
GRANT SELECT ON public.pupil_names TO regress_q_app;
RESET ROLE;
SET ROLE regress_q_app;
SET childguard.purpose = 'tutoring';
SELECT id, name FROM public.pupil_names ORDER BY id;
SELECT public.pupil_name('q-2') AS through_function;
RESET childguard.purpose;
RESET ROLE;
-- the officer handling it reads (with its own grant and the consent); the
-- verdict it gets is not the app's, in either order
SET ROLE regress_q_dpo;
SET childguard.purpose = 'tutoring';
SELECT id, name FROM pupils WHERE id = 'q-2';
RESET ROLE;
SET ROLE regress_q_app;
SET childguard.purpose = 'tutoring';
SELECT id, name FROM pupils WHERE id = 'q-2';
RESET ROLE;
SET ROLE regress_q_dpo;
SET childguard.purpose = 'tutoring';
SELECT id, name FROM pupils WHERE id = 'q-2';
RESET childguard.purpose;
-- in progress: still restricted
SELECT childguard.start_request(:obj);
SELECT kind, status, restricts_processing FROM childguard.requests WHERE request_id = :obj;
RESET ROLE;
SET ROLE regress_q_app;
SET childguard.purpose = 'tutoring';
SELECT count(*) AS q2_rows FROM pupils WHERE id = 'q-2';
RESET ROLE;
-- two objections: closing one leaves the other in force
SET ROLE regress_q_dpo;
SELECT childguard.open_request('q-2', 'objection', now(), 'q-2') AS obj2 \gset
SELECT childguard.close_request(:obj, 'done', 'processing limited to tutoring');
RESET ROLE;
SET ROLE regress_q_app;
SET childguard.purpose = 'tutoring';
SELECT count(*) AS q2_rows FROM pupils WHERE id = 'q-2';
RESET ROLE;
SET ROLE regress_q_dpo;
SELECT childguard.close_request(:obj2, 'refused', 'the objection was withdrawn by the child');
RESET ROLE;
SET ROLE regress_q_app;
SET childguard.purpose = 'tutoring';
SELECT id, name FROM pupils ORDER BY id;                                -- back
UPDATE pupils SET school = '二中' WHERE id = 'q-2';
SELECT id, school FROM pupils WHERE id = 'q-2';
RESET childguard.purpose;
RESET ROLE;
-- a deletion request (Art 20) is done only once the child's erasure is
-- recorded: closing it before is refused (ZC560) and changes nothing; it
-- may be refused with its reason; erase_child() then closing works
SET ROLE regress_q_dpo;
SELECT childguard.open_request('q-3', 'deletion', now(), 'gq-3') AS del \gset
SELECT childguard.open_request('q-1', 'deletion', now(), 'gq-1') AS del2 \gset
SELECT childguard.close_request(:del, 'done', 'erased');
\echo :LAST_ERROR_SQLSTATE
SELECT status, outcome, closed_at IS NULL AS open FROM childguard.requests WHERE request_id = :del;
SELECT childguard.close_request(:del2, 'refused', 'the child must be kept on the roll by law');
SELECT childguard.erase_child('q-3', 'request', :'del') >= 0 AS erased;
SELECT childguard.close_request(:del, 'done', 'erased');
RESET ROLE;

-- the register reads back
SET ROLE regress_q_dpo;
SELECT child_id, kind, status, outcome, overdue, restricts_processing
  FROM childguard.requests ORDER BY request_id;
RESET ROLE;

DROP VIEW public.pupil_names;
DROP FUNCTION public.pupil_name(text);
DROP TABLE pupils;
\c postgres
DROP DATABASE regress_requests;
DROP ROLE regress_q_dpo, regress_q_dpo2, regress_q_app, regress_q_other, regress_q_bypass;
