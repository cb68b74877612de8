-- The write path's shortcuts (1.8, docs/performance.md "1.8: point writes
-- (W2)"): the row policy decides a visible child once per statement (a row
-- memo: an UPDATE's scan and its two check options meet the same child),
-- and the collection check takes its verdict from the verdict memo/cache.
-- Neither may carry a decision past the statement, a role change or a
-- committed change: after each of those the next write decides afresh.
--   * a role holding table privileges but no grant cannot write, right
--     after the granted role wrote the same child in the same session
--   * a write right after a committed withdrawal: the UPDATE no longer sees
--     the row, an INSERT (or an upsert) is refused (ZC103), in the same session
--     and in a prepared statement executed again
--   * a write into a table unprotected and protected again: refused while
--     unprotected, sealed again once re-protected, still refused for the
--     withdrawn child
--   * a purpose that does not need the column's category, right after a
--     write of it under one that does; a purpose the child gave no consent
--     for, right after a write under one it did
SET client_min_messages = warning;
DROP DATABASE IF EXISTS regress_write_path;
CREATE DATABASE regress_write_path;
\c regress_write_path
SET client_min_messages = warning;
CREATE EXTENSION childguard CASCADE;
\i test/fixtures/regress_purpose.psql
RESET client_min_messages;
\set VERBOSITY terse
CREATE ROLE regress_wp_app;
CREATE ROLE regress_wp_nogrant;
SELECT childguard.enroll_application('regress_wp_app');
SET ROLE regress_fixture_dpo;
SELECT childguard.define_purpose('wp_names', '{name}', '1 year');
SELECT childguard.define_purpose('wp_other', '{contact}', '1 year');
SELECT childguard.publish_notice('wp-notice', '{wp_names,wp_other}', 'a', 'b', 'c', 'd', 'e', 'f', 'g');
RESET ROLE;
SELECT childguard.request_access('regress_wp_app', '{regress,wp_names,wp_other}', now() + interval '1 day') AS g \gset
SET ROLE regress_fixture_dpo;
SELECT childguard.approve_access(:g);
RESET ROLE;
SELECT count(childguard.register_child('wp' || i, '2015-01-01')) FROM generate_series(1, 3) i;
SELECT pg_temp.consent_all() > 0 AS consented;
SET ROLE regress_fixture_recorder;
SELECT count(childguard.record_consent('wp' || i, 'wp_names', 'wp-notice', 'g-wp' || i)) FROM generate_series(1, 3) i;
-- wp_other: no consent for wp1
SELECT count(childguard.record_consent('wp' || i, 'wp_other', 'wp-notice', 'g-wp' || i)) FROM generate_series(2, 3) i;
RESET ROLE;
CREATE TABLE wp (child text PRIMARY KEY, name childguard.child_data(name),
                 phone childguard.child_data(contact));
SELECT childguard.protect('wp', 'child');
CREATE TABLE wp_log (n int PRIMARY KEY, child text NOT NULL, phone childguard.child_data(contact));
SELECT childguard.protect('wp_log', 'child');
GRANT SELECT, INSERT, UPDATE ON wp, wp_log TO regress_wp_app, regress_wp_nogrant;
-- the envelopes (no purpose: nothing is decrypted), as the superuser
CREATE FUNCTION pg_temp.sealed() RETURNS TABLE (t text, child text, pending boolean, category text)
LANGUAGE sql AS $$
	SELECT 'wp', child, e.pending, e.category FROM wp, childguard.envelope_info(phone) e
	UNION ALL
	SELECT 'wp_log ' || n, child, e.pending, e.category FROM wp_log, childguard.envelope_info(phone) e
	ORDER BY 1, 2
$$;
SET ROLE regress_wp_app;
SET childguard.purpose = 'regress';
INSERT INTO wp VALUES ('wp1', '一', '13900000001'), ('wp2', '二', '13900000002'), ('wp3', '三', '13900000003');
PREPARE upd(text, text) AS UPDATE wp SET phone = $2 WHERE child = $1;

-- the granted role writes, then a role with the table's privileges and no
-- grant, in the same session, by the same statements
UPDATE wp SET phone = '13911111111' WHERE child = 'wp1';
EXECUTE upd('wp1', '13911111112');
SET ROLE regress_wp_nogrant;
UPDATE wp SET phone = '13922222222' WHERE child = 'wp1';
\echo :LAST_ERROR_SQLSTATE
EXECUTE upd('wp1', '13922222222');
\echo :LAST_ERROR_SQLSTATE
INSERT INTO wp_log VALUES (1, 'wp1', '13922222222');
\echo :LAST_ERROR_SQLSTATE
SET ROLE regress_wp_app;
EXECUTE upd('wp1', '13933333333');
INSERT INTO wp_log VALUES (1, 'wp1', '13933333333');

-- the same child in two rows of one statement; an UPDATE moving a row to
-- another child (the new row's check options decide that child)
INSERT INTO wp_log VALUES (2, 'wp2', '13900000022'), (3, 'wp2', '13900000023'), (4, 'wp3', '13900000034');
UPDATE wp_log SET child = 'wp3', phone = '13900000044' WHERE n = 4;

-- a purpose that does not need contact data, right after writing it
SET childguard.purpose = 'wp_names';
EXECUTE upd('wp2', '13900000222');
\echo :LAST_ERROR_SQLSTATE
UPDATE wp SET name = '二二' WHERE child = 'wp2';
-- a purpose wp1 gave no consent for, right after writing wp1 under one it
-- did: its row is not seen, and nothing is written for it
SET childguard.purpose = 'regress';
EXECUTE upd('wp1', '13900000111');
SET childguard.purpose = 'wp_other';
WITH u AS (UPDATE wp SET phone = '13900000112' WHERE child = 'wp1' RETURNING child) SELECT count(*) AS updated FROM u;
EXECUTE upd('wp1', '13900000113');
INSERT INTO wp_log VALUES (6, 'wp1', '13900000114');
\echo :LAST_ERROR_SQLSTATE
WITH u AS (UPDATE wp SET phone = '13900000115' WHERE child = 'wp2' RETURNING child) SELECT count(*) AS updated FROM u;
SET childguard.purpose = 'regress';
SELECT child, phone FROM wp WHERE child IN ('wp1', 'wp2') ORDER BY child;

-- a committed withdrawal: the next write in this session, whatever its route
EXECUTE upd('wp1', '13944444444');
SET ROLE regress_fixture_recorder;
SELECT childguard.withdraw_consent('wp1', 'regress', 'g-wp1') > 0 AS withdrawn;
SET ROLE regress_wp_app;
EXECUTE upd('wp1', '13955555555');
UPDATE wp SET phone = '13955555555' WHERE child IN ('wp1', 'wp2');
INSERT INTO wp_log VALUES (5, 'wp1', '13955555555');
\echo :LAST_ERROR_SQLSTATE
INSERT INTO wp VALUES ('wp1', '一', '13955555556') ON CONFLICT (child) DO UPDATE SET phone = excluded.phone;
\echo :LAST_ERROR_SQLSTATE
-- ... and moving wp2's row to the withdrawn child is refused too
UPDATE wp_log SET child = 'wp1', phone = '13900000066' WHERE n = 2;
\echo :LAST_ERROR_SQLSTATE
UPDATE wp_log SET child = 'wp1' WHERE n = 3;
\echo :LAST_ERROR_SQLSTATE

-- a table unprotected, then protected again
RESET ROLE;
SELECT childguard.unprotect('wp');
SET ROLE regress_wp_app;
EXECUTE upd('wp2', '13966666666');
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;
SELECT childguard.protect('wp', 'child');
SET ROLE regress_wp_app;
EXECUTE upd('wp2', '13977777777');
EXECUTE upd('wp1', '13977777777');
INSERT INTO wp VALUES ('wp1', '一', '13988888888');
\echo :LAST_ERROR_SQLSTATE
SELECT child, phone FROM wp ORDER BY child;
SELECT n, child, phone FROM wp_log ORDER BY n;
RESET childguard.purpose;
RESET ROLE;
-- every value sealed for its own child (no pending value stored); wp1's
-- phone is the last one written before the withdrawal
SELECT * FROM pg_temp.sealed();
SET childguard.purpose = 'regress';
SET ROLE regress_fixture_recorder;
SELECT count(childguard.record_consent('wp1', 'regress', 'regress-notice', 'g-wp1'));
RESET ROLE;
SELECT child, phone FROM wp WHERE child = 'wp1';
RESET childguard.purpose;
\c contrib_regression
SET client_min_messages = warning;
DROP DATABASE regress_write_path;
DROP ROLE regress_wp_app, regress_wp_nogrant;
