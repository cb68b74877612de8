-- The retention sweep and the processors' deletion duty agree (Art 16):
-- the sweep erases what processor_deletion_due lists -- the tables the
-- processor owns holding its grant's categories, not the controller's
-- tables it read -- and records the deletion with
-- record_processor_deletion(), so the duty is met and no longer listed.
-- A renewed processor grant in force leaves nothing due.  A database of
-- its own.
SET client_min_messages = warning;
DROP DATABASE IF EXISTS regress_psweep;
CREATE DATABASE regress_psweep;
\c regress_psweep
SET client_min_messages = warning;
CREATE EXTENSION childguard CASCADE;
DROP ROLE IF EXISTS regress_ps_dpo;
DROP ROLE IF EXISTS regress_ps_app;
DROP ROLE IF EXISTS regress_ps_proc;
DROP ROLE IF EXISTS regress_ps_proc2;
CREATE ROLE regress_ps_dpo;
CREATE ROLE regress_ps_app;
CREATE ROLE regress_ps_proc;      -- a processor holding a copy
CREATE ROLE regress_ps_proc2;     -- a processor whose agreement is renewed
RESET client_min_messages;
\set VERBOSITY terse
\set SHOW_CONTEXT never
SELECT childguard.appoint_officer('regress_ps_dpo');
SELECT childguard.enroll_application(r)
  FROM unnest('{regress_ps_app,regress_ps_proc,regress_ps_proc2}'::regrole[]) r;
SET ROLE regress_ps_dpo;
SELECT childguard.define_purpose('marking', '{name,school}', '10 years') > 0 AS ok;
SELECT childguard.record_assessment('marking', 'vendor audited', 'regress assessor', r) > 0 AS ok
  FROM unnest('{regress_ps_proc,regress_ps_proc2}'::text[]) r;
SELECT childguard.publish_notice('pn', '{marking}', 'a', 'b', 'c', 'd', 'e', 'f', 'g') AS v;
RESET ROLE;
SELECT childguard.request_access('regress_ps_app', '{marking}', now() + interval '1 day') AS g_app \gset
SELECT childguard.request_access('regress_ps_proc', '{marking}', now() + interval '1 day',
                                 processor => true, agreement => 'contract 1') AS g_proc \gset
SELECT childguard.request_access('regress_ps_proc2', '{marking}', now() + interval '1 day',
                                 processor => true, agreement => 'contract 2') AS g_proc2 \gset
SET ROLE regress_ps_dpo;
SELECT childguard.approve_access(g) FROM unnest(ARRAY[:g_app, :g_proc, :g_proc2]::bigint[]) g;
RESET ROLE;
SELECT count(childguard.register_child('p' || i, '2016-01-01')) FROM generate_series(1, 3) i;
SELECT count(childguard.register_guardian('g' || i, 'p' || i)) FROM generate_series(1, 3) i;
SELECT count(childguard.record_consent('p' || i, 'marking', 'pn', 'g' || i)) FROM generate_series(1, 3) i;
-- the controller's table, and each processor's copy
CREATE TABLE pupils (id text PRIMARY KEY, name childguard.child_data(name));
CREATE TABLE vendor_copy (id text, school childguard.child_data(school));
CREATE TABLE vendor2_copy (id text, school childguard.child_data(school));
ALTER TABLE pupils OWNER TO regress_ps_app;
ALTER TABLE vendor_copy OWNER TO regress_ps_proc;
ALTER TABLE vendor2_copy OWNER TO regress_ps_proc2;
SET ROLE regress_ps_app;
SELECT childguard.protect('pupils', 'id');
GRANT SELECT ON pupils TO regress_ps_proc;
SET childguard.purpose = 'marking';
INSERT INTO pupils VALUES ('p1', 'Ann'), ('p2', 'Bo'), ('p3', 'Cy');
RESET childguard.purpose;
SET ROLE regress_ps_proc;
SELECT childguard.protect('vendor_copy', 'id');
SET childguard.purpose = 'marking';
SELECT id, name FROM pupils ORDER BY id;
INSERT INTO vendor_copy VALUES ('p1', 'School 1'), ('p2', 'School 2');
RESET childguard.purpose;
SET ROLE regress_ps_proc2;
SELECT childguard.protect('vendor2_copy', 'id');
SET childguard.purpose = 'marking';
INSERT INTO vendor2_copy VALUES ('p3', 'School 3');
RESET childguard.purpose;
RESET ROLE;
SELECT childguard.audit_wait() IS NOT NULL AS waited;

-- both agreements end; proc2's is renewed at once
SET ROLE regress_ps_dpo;
SELECT childguard.revoke_access(:g_proc), childguard.revoke_access(:g_proc2);
RESET ROLE;
SELECT childguard.request_access('regress_ps_proc2', '{marking}', now() + interval '1 day',
                                 processor => true, agreement => 'contract 2, renewed') AS g_proc2b \gset
SET ROLE regress_ps_dpo;
SELECT childguard.approve_access(:g_proc2b);
-- the deletion duty: proc's grant, its own table only (not pupils, which it read)
SELECT grant_id = :g_proc AS is_proc, grantee, tables, cardinality(children) AS children
  FROM childguard.processor_deletion_due;
-- the sweep's plan says the same: vendor_copy's rows, reason processor_ended
SELECT child_id, table_name, reason, is_due FROM childguard.retention_due
 WHERE reason = 'processor_ended' ORDER BY 1, 2;
SELECT * FROM childguard.run_retention();
RESET ROLE;
-- erased from the processor's copy; the controller's table and the renewed
-- processor's copy are untouched
SELECT count(*) AS vendor_rows FROM vendor_copy;
SELECT count(*) AS vendor2_rows FROM vendor2_copy;
SELECT count(*) AS pupils_rows FROM pupils;
-- and recorded: the duty is met and no longer listed
SELECT grant_id = :g_proc AS is_proc, done_by, note FROM childguard.processor_deletion;
SELECT count(*) AS due FROM childguard.processor_deletion_due;
SELECT pass FROM childguard.duty_transfer_assessed_per_recipient();
SELECT count(*) AS processor_due FROM childguard.retention_due WHERE reason = 'processor_ended';
-- the renewed agreement ends too: now proc2's copy is due, and swept
SET ROLE regress_ps_dpo;
SELECT childguard.revoke_access(:g_proc2b);
SELECT grant_id = :g_proc2 AS first, grant_id = :g_proc2b AS renewed, tables
  FROM childguard.processor_deletion_due ORDER BY grant_id;
SELECT * FROM childguard.run_retention();
SELECT count(*) AS due FROM childguard.processor_deletion_due;
RESET ROLE;
SELECT count(*) AS vendor2_rows FROM vendor2_copy;

\c contrib_regression
SET client_min_messages = warning;
DROP DATABASE regress_psweep;
DROP ROLE regress_ps_dpo;
DROP ROLE regress_ps_app;
DROP ROLE regress_ps_proc;
DROP ROLE regress_ps_proc2;
