-- A statement reuses the decision context (purpose row, grant, date) of
-- the statement before it only while nothing it depends on has changed
-- (decision.c, context_still_holds): the role, the purpose, the grants in
-- force (a grant ending between two statements), a revocation (the
-- registry), and childguard.max_children_per_statement.  Each change below
-- is followed by a read that must decide afresh.  Last, the memo of
-- function owners (foreign_code.c) follows an owner change.
SET client_min_messages = warning;
DROP DATABASE IF EXISTS regress_context_reuse;
CREATE DATABASE regress_context_reuse;
\c regress_context_reuse
SET client_min_messages = warning;
CREATE EXTENSION childguard CASCADE;
CREATE ROLE regress_cr_dpo;
CREATE ROLE regress_cr_dpo2;
CREATE ROLE regress_cr_a;
CREATE ROLE regress_cr_b;
RESET client_min_messages;
\set VERBOSITY terse
SELECT childguard.appoint_officer('regress_cr_dpo');
SELECT childguard.appoint_officer('regress_cr_dpo2');
SELECT count(childguard.enroll_application(r))
  FROM unnest('{regress_cr_a,regress_cr_b}'::regrole[]) r;
SET ROLE regress_cr_dpo;
SELECT childguard.define_purpose('tutoring', '{name}', '1 year') > 0 AS ok;
SELECT childguard.define_purpose('sports', '{name}', '1 year') > 0 AS ok;
SELECT childguard.define_purpose('art', '{name}', '1 year') > 0 AS ok;
SELECT childguard.publish_notice('n', '{tutoring,sports,art}', 'a', 'b', 'c', 'd', 'e', 'f', 'g') AS v;
RESET ROLE;
SELECT count(childguard.register_child('r-' || i, '2015-01-01')) FROM generate_series(1, 3) i;
SELECT count(childguard.register_guardian('gr-' || i, 'r-' || i)) FROM generate_series(1, 3) i;
SELECT count(childguard.record_consent('r-' || i, p, 'n', 'gr-' || i))
  FROM generate_series(1, 3) i, unnest('{tutoring,sports}'::text[]) p;
CREATE TABLE pupils (id text PRIMARY KEY, name childguard.child_data);
SELECT childguard.protect('pupils', 'id', '{"name": "name"}');
GRANT SELECT, INSERT ON pupils TO regress_cr_a, regress_cr_b;
-- a: tutoring and art for a day (no child consented to art), and sports
-- for 5 seconds; b: nothing
SET ROLE regress_cr_a;
SELECT childguard.request_access('regress_cr_a', '{tutoring}', now() + interval '1 day') AS day_grant \gset
SELECT childguard.request_access('regress_cr_a', '{art}', now() + interval '1 day') AS art_grant \gset
SELECT childguard.request_access('regress_cr_a', '{sports}', now() + interval '5 seconds') AS short_grant \gset
SET ROLE regress_cr_dpo;
SELECT childguard.approve_access(:day_grant);
SELECT childguard.approve_access(:art_grant);
SELECT childguard.approve_access(:short_grant);
RESET ROLE;
SELECT valid_until AS short_until FROM childguard.access_grants WHERE grant_id = :short_grant \gset
SET ROLE regress_cr_a;
SET childguard.purpose = 'tutoring';
INSERT INTO pupils SELECT 'r-' || i, '名' || i FROM generate_series(1, 3) i;

-- the role: a reads, then b (no grant) under the same purpose is refused
SELECT id, name FROM pupils WHERE id = 'r-1';
SET ROLE regress_cr_b;
SET childguard.purpose = 'tutoring';
SELECT id, name FROM pupils WHERE id = 'r-1';
SET ROLE regress_cr_a;
SELECT id, name FROM pupils WHERE id = 'r-1';

-- the purpose: a's sports grant, then back to tutoring: each read decides under its own
SET childguard.purpose = 'sports';
SELECT id, name FROM pupils WHERE id = 'r-2';
SET childguard.purpose = 'tutoring';
SELECT id, name FROM pupils WHERE id = 'r-2';
SET childguard.purpose = 'art';
SELECT id, name FROM pupils WHERE id = 'r-2';             -- no row: no consent to art

-- the grants in force: sports read again, then its grant ends between two
-- statements of the same role and purpose, nothing else changing
SET childguard.purpose = 'sports';
SELECT id, name FROM pupils WHERE id = 'r-3';
SELECT pg_sleep_until(:'short_until'::timestamptz + interval '0.3 seconds');
SELECT id, name FROM pupils WHERE id = 'r-3';             -- refused: the grant has ended

-- a revocation (the registry) between two statements
SET childguard.purpose = 'tutoring';
SELECT id, name FROM pupils WHERE id = 'r-1';
SET ROLE regress_cr_dpo2;
SELECT childguard.revoke_access(:day_grant);
SET ROLE regress_cr_a;
SELECT id, name FROM pupils WHERE id = 'r-1';             -- refused: revoked

-- childguard.max_children_per_statement (a server setting) changed between
-- statements: the grant sets no limit, so the setting's applies
SET ROLE regress_cr_a;
SELECT childguard.request_access('regress_cr_a', '{tutoring}', now() + interval '1 day') AS new_grant \gset
SET ROLE regress_cr_dpo;
SELECT childguard.approve_access(:new_grant);
SET ROLE regress_cr_a;
SELECT count(name::text) FROM pupils;                     -- 3: the default limit is 100
RESET ROLE;
ALTER SYSTEM SET childguard.max_children_per_statement = 2;
SELECT pg_reload_conf();
SELECT pg_sleep(0.5);
SET ROLE regress_cr_a;
SELECT count(name::text) FROM pupils;                     -- refused: more than 2 children
RESET ROLE;
ALTER SYSTEM RESET childguard.max_children_per_statement;
SELECT pg_reload_conf();
SELECT pg_sleep(0.5);
SET ROLE regress_cr_a;
SELECT count(name::text) FROM pupils;                     -- 3 again

-- the function owners foreign_code.c remembers (per backend, a slot per
-- OID modulo 64): functions of the reader's own read; given to another
-- owner between two statements, they are foreign at the next call and read
-- nothing.  64 functions of consecutive OIDs, so that whatever other
-- function shares a slot with one of them, the others stay remembered.
RESET ROLE;
DO $$ BEGIN
	FOR i IN 0..63 LOOP
		EXECUTE format('CREATE FUNCTION pupil_name_%s(k text) RETURNS text LANGUAGE sql STABLE '
					   'AS $f$ SELECT name::text FROM pupils WHERE id = k $f$', i);
		EXECUTE format('ALTER FUNCTION pupil_name_%s(text) OWNER TO regress_cr_a', i);
	END LOOP;
END $$;
SET ROLE regress_cr_a;
SET childguard.denied_read = 'mask';
DO $$ DECLARE v text; n int := 0;
BEGIN
	FOR i IN 0..63 LOOP
		EXECUTE format('SELECT pupil_name_%s(''r-1'')', i) INTO v;
		IF v = '名1' THEN n := n + 1; END IF;
	END LOOP;
	RAISE NOTICE 'plaintext through % of 64 functions', n;
END $$;
RESET ROLE;
DO $$ BEGIN
	FOR i IN 0..63 LOOP
		EXECUTE format('ALTER FUNCTION pupil_name_%s(text) OWNER TO regress_cr_b', i);
	END LOOP;
END $$;
SET ROLE regress_cr_a;
DO $$ DECLARE v text; n int := 0;
BEGIN
	FOR i IN 0..63 LOOP
		EXECUTE format('SELECT pupil_name_%s(''r-1'')', i) INTO v;
		IF v = '名1' THEN n := n + 1; END IF;
	END LOOP;
	RAISE NOTICE 'plaintext through % of 64 functions', n;
END $$;                                                  -- none: b's code
RESET childguard.denied_read;
RESET ROLE;
RESET childguard.purpose;
\c contrib_regression
DROP DATABASE regress_context_reuse;
SET client_min_messages = warning;
DROP ROLE regress_cr_dpo, regress_cr_dpo2, regress_cr_a, regress_cr_b;
