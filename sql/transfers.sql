-- Transfers and processors per recipient (issue 14, item 2; Provisions
-- Art 16, 17): an assessment names its recipient; every read under a
-- transfer purpose -- not only COPY TO -- needs an assessment for the
-- recipient the grant names; one vendor's assessment does not cover
-- another; a processor's ended grant is a deletion duty.
SET client_min_messages = warning;
DROP DATABASE IF EXISTS regress_transfers;
CREATE DATABASE regress_transfers;
\c regress_transfers
SET client_min_messages = warning;
CREATE EXTENSION childguard CASCADE;
CREATE ROLE regress_t_dpo;
CREATE ROLE regress_t_dpo2;
CREATE ROLE regress_t_app;
CREATE ROLE regress_t_exporter_a;     -- exports to vendor A
CREATE ROLE regress_t_exporter_b;     -- exports to vendor B
CREATE ROLE regress_t_unnamed;        -- exports, naming nobody
CREATE ROLE regress_t_vendor_b;       -- a processor
CREATE ROLE regress_t_recorder;
RESET client_min_messages;
\set VERBOSITY default
\set SHOW_CONTEXT never
SELECT childguard.appoint_officer('regress_t_dpo');
SELECT childguard.appoint_officer('regress_t_dpo2');
SELECT childguard.enroll_application(r)
  FROM unnest('{regress_t_app,regress_t_exporter_a,regress_t_exporter_b,regress_t_unnamed,regress_t_vendor_b}'::regrole[]) r;
SELECT childguard.enroll_consent_recorder('regress_t_recorder');
GRANT CREATE ON SCHEMA public TO regress_t_app;

SET ROLE regress_t_dpo;
SELECT childguard.define_purpose('lessons', '{name,school}', '1 year') > 0 AS ok;
SELECT childguard.define_purpose('vendor_export', '{name,school}', '1 year', kind => 'transfer') > 0 AS ok;
SELECT childguard.publish_notice('n', '{lessons,vendor_export}', 'a', 'b', 'c', 'd', 'e', 'f', 'g') AS v;
-- the 1.0 form names no recipient: refused
SELECT childguard.record_assessment('vendor_export', 'DPIA', 'auditor');
\echo :LAST_ERROR_SQLSTATE
SELECT childguard.record_assessment('vendor_export', 'DPIA', 'auditor', '');
\echo :LAST_ERROR_SQLSTATE
SELECT childguard.record_assessment('vendor_export', 'DPIA vendor A 2026', 'external auditor', 'vendor-a') > 0 AS ok;
SELECT purpose, assessed, assessed_recipients FROM childguard.purposes ORDER BY 1;
RESET ROLE;

SET ROLE regress_t_app;
SELECT childguard.register_child('t-1', '2015-05-01') > 0 AS ok;
SELECT childguard.register_child('t-2', '2016-06-01') > 0 AS ok;
SET ROLE regress_t_recorder;
SELECT childguard.register_guardian('g-' || c, c) FROM unnest('{t-1,t-2}'::text[]) c;
SELECT childguard.record_consent(c, p, 'n', 'g-' || c) > 0 AS ok
  FROM unnest('{t-1,t-2}'::text[]) c, unnest('{lessons,vendor_export}'::text[]) p;
SET ROLE regress_t_app;
SELECT childguard.request_access('regress_t_app', '{lessons}', now() + interval '1 day') AS g_app \gset
CREATE TABLE pupils (id text PRIMARY KEY, name childguard.child_data, school childguard.child_data);
SELECT childguard.protect('pupils', 'id', '{"name": "name", "school": "school"}');
GRANT SELECT ON pupils TO PUBLIC;
RESET ROLE;
-- (a superuser's function: it reads with its caller's grant)
CREATE FUNCTION pupil_names() RETURNS SETOF text LANGUAGE sql AS $$ SELECT name::text FROM pupils ORDER BY id $$;

-- grants: A and B name their recipients; one names none
SET ROLE regress_t_exporter_a;
SELECT childguard.request_access('regress_t_exporter_a', '{vendor_export}', now() + interval '1 day') AS g_a \gset
SELECT childguard.name_recipient(:g_a, 'vendor-a');
SET ROLE regress_t_exporter_b;
SELECT childguard.request_access('regress_t_exporter_b', '{vendor_export}', now() + interval '1 day') AS g_b \gset
SELECT childguard.name_recipient(:g_b, 'vendor-b');
-- only the requester or an officer names it
SELECT childguard.name_recipient(:g_a, 'vendor-b');
\echo :LAST_ERROR_SQLSTATE
SET ROLE regress_t_unnamed;
SELECT childguard.request_access('regress_t_unnamed', '{vendor_export}', now() + interval '1 day') AS g_u \gset
SET ROLE regress_t_dpo;
SELECT childguard.approve_access(g) FROM unnest(ARRAY[:g_app, :g_a, :g_b, :g_u]::bigint[]) g;
-- once approved, the recipient is fixed (function and direct update alike)
SELECT childguard.name_recipient(:g_b, 'vendor-a');
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;
UPDATE childguard.access_grant SET recipient = 'vendor-a' WHERE grant_id = :g_b;
\echo :LAST_ERROR_SQLSTATE

SET ROLE regress_t_app;
SET childguard.purpose = 'lessons';
INSERT INTO pupils VALUES ('t-1', 'Xiao Ming', 'No. 1 Primary'), ('t-2', 'Xiao Hong', 'No. 2 Primary');
RESET childguard.purpose;

-- the compliance duty: broken -- grants in force for a transfer whose
-- recipient is not assessed (vendor-b) or not named
RESET ROLE;
SELECT * FROM childguard.duty_transfer_assessed_per_recipient();

-- vendor A, assessed: every route reads
SET ROLE regress_t_exporter_a;
SET childguard.purpose = 'vendor_export';
SELECT id, name FROM pupils ORDER BY id;
SELECT * FROM pupil_names();
BEGIN;
DECLARE c CURSOR FOR SELECT id, school FROM pupils ORDER BY id;
FETCH 1 FROM c;
COMMIT;
COPY (SELECT id, name FROM pupils ORDER BY id) TO STDOUT;
RESET childguard.purpose;

-- vendor B, not assessed (A's assessment does not cover it): every route
-- refused -- SELECT, WHERE, a function, a cursor, COPY, a CTE, a count of
-- rows, a prepared statement, a cast
SET ROLE regress_t_exporter_b;
SET childguard.purpose = 'vendor_export';
SELECT id, name FROM pupils ORDER BY id;
\echo :LAST_ERROR_SQLSTATE
\set VERBOSITY sqlstate
SELECT id FROM pupils WHERE name = 'Xiao Ming';
SELECT * FROM pupil_names();
BEGIN;
DECLARE c CURSOR FOR SELECT id, school FROM pupils ORDER BY id;
FETCH 1 FROM c;
ROLLBACK;
COPY (SELECT id, name FROM pupils ORDER BY id) TO STDOUT;
WITH x AS (SELECT name FROM pupils) SELECT count(*) FROM x;
SELECT count(*) FROM pupils;
PREPARE p AS SELECT name FROM pupils WHERE id = $1;
EXECUTE p('t-1');
SELECT name::text FROM pupils WHERE id = 't-1';
\set VERBOSITY default
RESET childguard.purpose;
-- its grant for another purpose is unaffected by this
-- the grant naming nobody: refused too
SET ROLE regress_t_unnamed;
SET childguard.purpose = 'vendor_export';
SELECT id, name FROM pupils ORDER BY id;
\echo :LAST_ERROR_SQLSTATE
RESET childguard.purpose;
-- under a use purpose nothing changes
SET ROLE regress_t_app;
SET childguard.purpose = 'lessons';
SELECT id, name FROM pupils ORDER BY id;
RESET childguard.purpose;

-- repaired: vendor B assessed on its own; the unnamed grant revoked
SET ROLE regress_t_dpo;
SELECT childguard.record_assessment('vendor_export', 'DPIA vendor B 2026', 'external auditor', 'vendor-b') > 0 AS ok;
SELECT childguard.revoke_access(:g_u);
RESET ROLE;
SELECT * FROM childguard.duty_transfer_assessed_per_recipient();
SET ROLE regress_t_exporter_b;
SET childguard.purpose = 'vendor_export';
SELECT id, name FROM pupils ORDER BY id;
RESET childguard.purpose;

-- processors: approval needs an assessment for this processor; vendor A's
-- does not do
SET ROLE regress_t_vendor_b;
SELECT childguard.request_access('regress_t_vendor_b', '{lessons}', now() + interval '1 day',
                                 processor => true, agreement => 'Contract 7: marking, this term') AS g_p \gset
RESET ROLE;
SELECT recipient FROM childguard.access_grant WHERE grant_id = :g_p;
SET ROLE regress_t_vendor_b;
-- a processor's recipient is the processor
SELECT childguard.name_recipient(:g_p, 'someone-else');
\echo :LAST_ERROR_SQLSTATE
SET ROLE regress_t_dpo;
SELECT childguard.record_assessment('lessons', 'vendor A marking', 'auditor', 'vendor-a') > 0 AS ok;
SELECT childguard.approve_access(:g_p);
\echo :LAST_ERROR_SQLSTATE
SELECT childguard.record_assessment('lessons', 'vendor B marking', 'auditor', 'regress_t_vendor_b') > 0 AS ok;
SELECT childguard.approve_access(:g_p);
RESET ROLE;
SELECT * FROM childguard.duty_transfer_assessed_per_recipient();
SET ROLE regress_t_vendor_b;
SET childguard.purpose = 'lessons';
SELECT id, name FROM pupils ORDER BY id;
RESET childguard.purpose;

-- its end is a deletion duty: listed until recorded
SELECT childguard.audit_wait() IS NOT NULL AS waited;
SET ROLE regress_t_dpo;
SELECT count(*) AS due FROM childguard.processor_deletion_due;
SELECT childguard.revoke_access(:g_p);
SELECT grant_id = :g_p AS the_grant, recipient, grantee, ended_at <= now() AS ended, purposes, categories,
       tables, cardinality(children) AS children
  FROM childguard.processor_deletion_due;
SELECT childguard.record_processor_deletion(:g_app);     -- not a processor grant
\echo :LAST_ERROR_SQLSTATE
SET ROLE regress_t_app;
SELECT * FROM childguard.processor_deletion_due;
\echo :LAST_ERROR_SQLSTATE
SET ROLE regress_t_dpo;
SELECT childguard.record_processor_deletion(:g_p, 'vendor B certified deletion');
SELECT count(*) AS due FROM childguard.processor_deletion_due;
RESET ROLE;

DROP TABLE pupils;
DROP FUNCTION pupil_names();
DROP OWNED BY regress_t_dpo, regress_t_dpo2, regress_t_app, regress_t_exporter_a, regress_t_exporter_b,
              regress_t_unnamed, regress_t_vendor_b, regress_t_recorder CASCADE;
DROP ROLE regress_t_dpo, regress_t_dpo2, regress_t_app, regress_t_exporter_a, regress_t_exporter_b,
          regress_t_unnamed, regress_t_vendor_b, regress_t_recorder;
\c contrib_regression
DROP DATABASE regress_transfers;
