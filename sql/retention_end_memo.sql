-- The retention end's memo (1.7, docs/performance.md "1.7: a child's first
-- read"): since + retention is computed once per distinct consent time,
-- purpose's interval and time zone, and a scan meets children in any order.
-- rm2 and rm3 gave consent together, rm1 five seconds earlier, for a
-- purpose kept four seconds: read right after rm2's and rm3's consent, in
-- one statement ordered rm2, rm1, rm3, rm1's retention has ended and the
-- others' has not (a memo ignoring the consent time would show rm1, or
-- hide rm3).  rm1's consent for "regress" (ten years), given at the same
-- time as its four-second one, still counts for "regress" (a memo ignoring
-- the interval would withhold it), in a new session right after its
-- four-second consent was looked at.
SET client_min_messages = warning;
DROP DATABASE IF EXISTS regress_retention_memo;
CREATE DATABASE regress_retention_memo;
\c regress_retention_memo
SET client_min_messages = warning;
CREATE EXTENSION childguard CASCADE;
\i test/fixtures/regress_purpose.psql
RESET client_min_messages;
\set VERBOSITY terse
SET ROLE regress_fixture_dpo;
SELECT childguard.define_purpose('rm_flash', '{name}', '4 seconds');
SELECT childguard.publish_notice('rm-notice', '{rm_flash,regress}', 'a', 'b', 'c', 'd', 'e', 'f', 'g');
RESET ROLE;
SELECT childguard.request_access(current_user::regrole, '{rm_flash}', now() + interval '1 day') AS g \gset
SET ROLE regress_fixture_dpo;
SELECT childguard.approve_access(:g);
RESET ROLE;
SELECT count(childguard.register_child('rm' || i, '2015-01-01')) FROM generate_series(1, 3) i;
SET ROLE regress_fixture_recorder;
SELECT count(childguard.register_guardian('g-rm' || i, 'rm' || i)) FROM generate_series(1, 3) i;
RESET ROLE;
CREATE TABLE rmt (ord int PRIMARY KEY, child text NOT NULL, name childguard.child_data(name));
SELECT childguard.protect('rmt', 'child');
SET ROLE regress_fixture_recorder;
SELECT count(childguard.record_consent('rm1', p, 'rm-notice', 'g-rm1')) FROM unnest('{rm_flash,regress}'::text[]) p;
SELECT count(childguard.record_consent(c, 'regress', 'rm-notice', 'g-' || c)) FROM unnest('{rm2,rm3}'::text[]) c;
RESET ROLE;
SET childguard.purpose = 'regress';
INSERT INTO rmt VALUES (1, 'rm2', '二'), (2, 'rm1', '一'), (3, 'rm3', '三'), (4, 'rm1', '一又');
SELECT pg_sleep(5);
SET ROLE regress_fixture_recorder;
SELECT count(childguard.record_consent(c, 'rm_flash', 'rm-notice', 'g-' || c)) FROM unnest('{rm2,rm3}'::text[]) c;
RESET ROLE;
SET childguard.purpose = 'rm_flash';
SET childguard.denied_read = 'null';
SELECT ord, child, name FROM rmt ORDER BY ord;
-- a new backend (no verdicts cached): rm1 alone under rm_flash (the memo:
-- rm1's consent time, four seconds), then under "regress" (the same
-- consent time, ten years)
\c regress_retention_memo
SET childguard.purpose = 'rm_flash';
SET childguard.denied_read = 'null';
SELECT ord, child, name FROM rmt WHERE ord = 2;
SET childguard.purpose = 'regress';
SELECT ord, child, name FROM rmt WHERE child = 'rm1' ORDER BY ord;
RESET childguard.denied_read;
\c contrib_regression
SET client_min_messages = warning;
DROP DATABASE regress_retention_memo;
