-- Retention (Art 12, 16, 20): the clock runs from the first collection for
-- a purpose, consent recorded again after it ended does not revive the
-- data; retention_due says what has lost its lawful basis, why, when and
-- by which action; run_retention() erases it through the erasure engine.
-- A database of its own, so identities and versions do not depend on other tests.
SET client_min_messages = warning;
DROP DATABASE IF EXISTS regress_retention;
CREATE DATABASE regress_retention;
\c regress_retention
SET client_min_messages = warning;
CREATE EXTENSION childguard CASCADE;
CREATE ROLE regress_r_dpo;
CREATE ROLE regress_r_dpo2;
CREATE ROLE regress_r_app;
CREATE ROLE regress_r_proc;
CREATE ROLE regress_r_nobody;
CREATE ROLE regress_r_bypass BYPASSRLS IN ROLE regress_r_app;
RESET client_min_messages;
\set VERBOSITY terse
SELECT childguard.appoint_officer('regress_r_dpo');
SELECT childguard.appoint_officer('regress_r_dpo2');
SELECT childguard.enroll_application('regress_r_app');
SELECT childguard.enroll_application('regress_r_proc');
SET ROLE regress_r_dpo;
SELECT childguard.define_purpose('flash', '{name}', '3 seconds') > 0 AS ok;
SELECT childguard.define_purpose('keep', '{school}', '10 years') > 0 AS ok;
SELECT childguard.record_assessment('keep', 'processing by a vendor assessed', 'regress assessor', 'regress_r_proc');
SELECT childguard.publish_notice('rn', '{flash,keep}', 'a', 'b', 'c', 'd', 'e', 'f', 'g') AS v;
RESET ROLE;
SELECT childguard.request_access('regress_r_app', '{flash,keep}', now() + interval '1 day') AS app_grant \gset
SELECT childguard.request_access('regress_r_proc', '{keep}', now() + interval '1 day',
                                 processor => true, agreement => 'vendor contract 7') AS proc_grant \gset
SET ROLE regress_r_dpo;
SELECT childguard.approve_access(:app_grant);
SELECT childguard.approve_access(:proc_grant);
RESET ROLE;
SELECT count(childguard.register_child('k' || i, '2016-01-01')) FROM generate_series(1, 7) i;
SELECT count(childguard.register_guardian('g' || i, 'k' || i)) FROM generate_series(1, 7) i;
CREATE TABLE kids (id text PRIMARY KEY, name childguard.child_data, school childguard.child_data);
CREATE TABLE kid_names (id text, name childguard.child_data);
CREATE TABLE vendor_copy (id text, school childguard.child_data);
ALTER TABLE kids OWNER TO regress_r_app;
ALTER TABLE kid_names OWNER TO regress_r_app;
ALTER TABLE vendor_copy OWNER TO regress_r_proc;
SET ROLE regress_r_app;
SELECT childguard.protect('kids', 'id', '{"name": "name", "school": "school"}');
SELECT childguard.protect('kid_names', 'id', '{"name": "name"}');
SET ROLE regress_r_proc;
SELECT childguard.protect('vendor_copy', 'id', '{"school": "school"}');
RESET ROLE;
SET ROLE regress_r_dpo;
SELECT childguard.set_erasure_action('kid_names', 'null');
RESET ROLE;
-- k1: flash and keep; k2, k4, k7: flash; k3, k5: keep; k6: keep, then refused
SELECT count(childguard.record_consent(c, p, 'rn', g))
  FROM (VALUES ('k1', 'flash', 'g1'), ('k1', 'keep', 'g1'), ('k2', 'flash', 'g2'),
               ('k3', 'keep', 'g3'), ('k4', 'flash', 'g4'), ('k5', 'keep', 'g5'),
               ('k6', 'keep', 'g6'), ('k7', 'flash', 'g7')) v(c, p, g);
SET ROLE regress_r_app;
SET childguard.purpose = 'flash';
INSERT INTO kid_names VALUES ('k1', 'Ann'), ('k2', 'Bo'), ('k4', 'Di'), ('k7', 'Gus');
INSERT INTO kids (id, name) VALUES ('k1', 'Ann'), ('k2', 'Bo'), ('k4', 'Di');
SET childguard.purpose = 'keep';
UPDATE kids SET school = 'S1' WHERE id = 'k1';
INSERT INTO kids (id, school) VALUES ('k3', 'S3'), ('k5', 'S5'), ('k6', 'S6');
RESET childguard.purpose;
SET ROLE regress_r_proc;
SET childguard.purpose = 'keep';
INSERT INTO vendor_copy VALUES ('k1', 'S1'), ('k5', 'S5');
RESET childguard.purpose;
RESET ROLE;

-- the clock: from the first consent; recorded again, it does not move
CREATE TEMP TABLE clock0 AS SELECT * FROM childguard.retention_clocks;
SELECT child_id, purpose, retention_ends - collected_since AS period
  FROM childguard.retention_clocks ORDER BY 1, 2;
SELECT childguard.record_consent('k2', 'flash', 'rn', 'g2') > 0 AS recorded_again;
SELECT count(*) AS clocks_moved
  FROM childguard.retention_clocks c JOIN clock0 USING (child_id, purpose)
 WHERE c.collected_since <> clock0.collected_since;
-- nothing is due yet: what will expire, when and how
SELECT child_id, table_name, reason, is_due, action,
       due_at = (SELECT retention_ends FROM clock0 k
                  WHERE k.child_id = d.child_id
                    AND k.purpose = CASE WHEN d.table_name = 'kid_names'::regclass
                                           OR d.child_id IN ('k2', 'k4', 'k7') THEN 'flash'
                                         ELSE 'keep' END) AS due_at_is_clock_end
  FROM childguard.retention_due d ORDER BY 1, 2;

-- a reader that has cached its verdicts before the retention ends
SET ROLE regress_r_app;
SET childguard.purpose = 'flash';
SELECT id, name FROM kid_names ORDER BY id;
RESET ROLE;
SELECT pg_sleep(3.2);
-- k2's guardian consents again after the end: the old data stays unreadable
SELECT childguard.record_consent('k2', 'flash', 'rn', 'g2') > 0 AS recorded_after_expiry;
SELECT childguard.consent_in_force('k2', 'flash') AS k2_in_force,
       childguard.consent_in_force('k1', 'keep') AS k1_keep_in_force;
SET ROLE regress_r_app;
SET childguard.purpose = 'flash';
SELECT id, name FROM kid_names ORDER BY id;                  -- nothing: the retention ended for all
SELECT count(*) FROM kids WHERE name IS NOT NULL;            -- rows hidden too
SET ROLE regress_r_bypass;                                   -- sees the rows: the values are refused
SET childguard.denied_read = 'mask';
SELECT id, name FROM kid_names ORDER BY id;
RESET childguard.denied_read;
SET ROLE regress_r_app;
SET childguard.purpose = 'flash';
INSERT INTO kid_names VALUES ('k2', 'Bo again');             -- no new collection under an ended clock
RESET childguard.purpose;
RESET ROLE;

-- the other grounds: withdrawn, refused, account closed, processor ended, erased
SELECT childguard.withdraw_consent('k3', 'keep', 'g3');
SELECT childguard.record_consent('k6', 'keep', 'rn', 'g6', decision => 'refused') > 0 AS refused;
SET ROLE regress_r_app;
SET childguard.purpose = 'keep';
SELECT id, school FROM kids WHERE id IN ('k1', 'k5') ORDER BY id;
SELECT childguard.close_account('k5', 'left the school') IS NOT NULL AS closed;
SELECT id, school FROM kids WHERE id IN ('k1', 'k5') ORDER BY id;   -- k5's reads stop at once
RESET childguard.purpose;
RESET ROLE;
SELECT l.event, l.by_role_name FROM childguard.consent_log l
  JOIN childguard.child c USING (subject_no) WHERE c.child_id = 'k5' ORDER BY l.event_id;
SET ROLE regress_r_dpo;
SELECT childguard.revoke_access(:proc_grant);
RESET ROLE;
UPDATE childguard.child SET erased_at = now() WHERE child_id = 'k7';  -- erased, but data left behind (a restore)
SELECT child_id, table_name, reason, is_due, action FROM childguard.retention_due ORDER BY 1, 2;
-- the compliance duty (Art 12) fails while anything is due and the worker is off
SELECT pass, reason, array_length(objects, 1) AS overdue,
       (SELECT array_agg(substring(o from '^[^(]*\([a-z_]*') ORDER BY o) FROM unnest(objects) o) AS named
  FROM childguard.duty_retention_enforced();

-- who may look, who may sweep
SET ROLE regress_r_app;
SELECT count(*) FROM childguard.retention_due;
SELECT * FROM childguard.run_retention();
RESET ROLE;

-- the sweep, as an officer
SET ROLE regress_r_dpo;
SELECT * FROM childguard.run_retention();
SELECT child_id, table_name, reason, is_due FROM childguard.retention_due ORDER BY 1, 2;
SELECT run_by, children, rows_erased, failed, jsonb_array_length(erased) AS entries
  FROM childguard.retention_sweeps;
SELECT * FROM childguard.retention_progress;                 -- nothing runs now
SELECT count(*) AS clocks FROM childguard.retention_clocks;
SELECT count(*) AS failures FROM childguard.retention_failures;
RESET ROLE;
SELECT id, name IS NULL AS name_null FROM kid_names ORDER BY id;   -- action null: rows kept, values gone
SELECT id FROM kids ORDER BY id;
SELECT id FROM vendor_copy ORDER BY id;
SELECT child_id, erased_at IS NOT NULL AS erased FROM childguard.children
 WHERE child_id IN ('k5', 'k7') ORDER BY 1;
SELECT c.child_id, e.tbl, e.action, e.reason, e.rows_erased
  FROM childguard.erasure_log e JOIN childguard.child c USING (subject_no)
 ORDER BY e.erasure_id;
-- a second sweep has nothing left to do
SELECT * FROM childguard.run_retention();
-- the duty holds again
SELECT pass, reason, objects FROM childguard.duty_retention_enforced();
-- a table owner tries to take a table out of the sweep: refused (ZC400)
SET ROLE regress_r_app;
ALTER TABLE kids DISABLE ROW LEVEL SECURITY;
-- done on purpose (as unprotect() does): the duty fails, naming it
DO $$ BEGIN PERFORM childguard._unprotect_begin('kids'); ALTER TABLE kids DISABLE ROW LEVEL SECURITY; END $$;
RESET ROLE;
SELECT pass, reason, objects FROM childguard.duty_retention_enforced();
SELECT count(*) AS kids_due FROM childguard.retention_due WHERE table_name = 'kids'::regclass;
SET ROLE regress_r_app;
ALTER TABLE kids ENABLE ROW LEVEL SECURITY;
RESET ROLE;
SELECT pass FROM childguard.duty_retention_enforced();
SELECT duty, article, check_function, test FROM childguard.compliance_duty WHERE duty = 'retention_enforced';

-- the clocks whose data is all gone restart: k2's consent recorded after the
-- end starts a new period; k4 (no consent since) stays ended
SELECT child_id, purpose, collected_since IS NOT NULL AS running, restarted_at IS NOT NULL AS restarted
  FROM childguard.retention_clocks ORDER BY 1, 2;
SELECT childguard.consent_in_force('k2', 'flash') AS k2_in_force,
       childguard.consent_in_force('k4', 'flash') AS k4_in_force;
SET ROLE regress_r_app;
SET childguard.purpose = 'flash';
INSERT INTO kid_names VALUES ('k4', 'Di again');             -- refused: no consent since the end
INSERT INTO kid_names VALUES ('k2', 'Bo, new');
SELECT id, name FROM kid_names WHERE name IS NOT NULL ORDER BY id;
RESET childguard.purpose;
RESET ROLE;

-- bad input changes nothing
SET ROLE regress_r_app;
SELECT childguard.close_account(NULL);
SELECT childguard.close_account('');
SELECT childguard.close_account('nobody');
SELECT childguard.close_account('k5');
RESET ROLE;
SET ROLE regress_r_nobody;
SELECT childguard.close_account('k1');
RESET ROLE;
SELECT count(*) AS closures FROM childguard.account_closure;
SET childguard.retention_batch_size = 5;
SET childguard.retention_interval = 0;
SELECT * FROM childguard._retention_erase_batch(0);

\c contrib_regression
SET client_min_messages = warning;
DROP DATABASE regress_retention;
DROP ROLE regress_r_dpo, regress_r_dpo2, regress_r_bypass, regress_r_app, regress_r_proc, regress_r_nobody;
