-- Red team on 1.8's write path (docs/security.md, "Attacks on the 1.8 fast
-- paths"): the row policy's memo of the last visible child
-- (cg_decide_row) and the collection check taking its verdict from the
-- verdict memo/cache.  Routes within ONE statement (write_path_memo.sql
-- and write_vs_withdraw.spec cover those between statements and sessions):
--   * the child's consent withdrawn by code the statement runs, between
--     two of its writes of that child: in an UPDATE's WHERE, between the
--     rows of an INSERT ... SELECT, between two writable CTEs
--   * a savepoint rolled back over a withdrawal: the consent is back
--   * a CTE (and one INSERT) writing a child with consent and one without
--   * an UPDATE moving a row to the child without consent
--   * ids that differ only past a prefix, and an id as long as the memo's
--     key allows and one longer (the memo compares whole ids)
-- Every write after the withdrawal is refused (ZC103), whatever the memo
-- held for the child a moment before.  The withdrawal here is a direct
-- edit of the registry by the superuser (the recorder functions refuse a
-- role holding a grant, and a statement runs as one role).
SET client_min_messages = warning;
DROP DATABASE IF EXISTS regress_redteam_memo;
CREATE DATABASE regress_redteam_memo;
\c regress_redteam_memo
SET client_min_messages = warning;
CREATE EXTENSION childguard CASCADE;
RESET client_min_messages;
\set VERBOSITY terse
\set SHOW_CONTEXT never

SELECT count(childguard.register_child(c, '2015-05-01'))
  FROM unnest(ARRAY['wm-1', 'wm-2', 'wm-3', 'wm-1x', repeat('w', 63), repeat('w', 64),
                    repeat('w', 63) || 'y']) c;
\i test/fixtures/regress_purpose.psql
SELECT pg_temp.consent_all() > 0 AS consented;
CREATE TABLE wm (id text NOT NULL, name childguard.child_data(name));
SELECT childguard.protect('wm', 'id');
-- withdraw every consent of child c, now, in the statement that calls it
CREATE FUNCTION wm_withdraw(c text) RETURNS boolean LANGUAGE plpgsql AS $$
BEGIN
	UPDATE childguard.consent k SET withdrawn_at = now()
	  FROM childguard.child x
	 WHERE x.subject_no = k.subject_no AND x.child_id = c
	   AND k.decision = 'granted' AND k.withdrawn_at IS NULL;
	RETURN true;
END
$$;
SET childguard.purpose = 'regress';
INSERT INTO wm VALUES ('wm-1', 'a'), ('wm-2', 'b'), ('wm-3', 'c');

-- an UPDATE whose WHERE withdraws the child it updates: the row's check
-- options decide after the withdrawal
BEGIN;
UPDATE wm SET name = 'a2' WHERE id = 'wm-1' AND wm_withdraw('wm-1');
\echo :LAST_ERROR_SQLSTATE
ROLLBACK;
-- rows of one INSERT ... SELECT: the first written, then the withdrawal,
-- then the second
BEGIN;
INSERT INTO wm SELECT 'wm-1', 'a' || i FROM generate_series(1, 3) i
 WHERE i = 1 OR wm_withdraw('wm-1');
\echo :LAST_ERROR_SQLSTATE
ROLLBACK;
-- writable CTEs in order: write, withdraw, write
BEGIN;
WITH a AS (INSERT INTO wm VALUES ('wm-1', 'a3') RETURNING id),
     w AS (SELECT wm_withdraw('wm-1') AS done FROM a),
     b AS (INSERT INTO wm SELECT 'wm-1', 'a4' FROM w WHERE done RETURNING id)
SELECT (SELECT count(*) FROM a) AS first, (SELECT count(*) FROM b) AS second;
\echo :LAST_ERROR_SQLSTATE
ROLLBACK;
-- a savepoint rolled back over the withdrawal: the consent is in force again
BEGIN;
INSERT INTO wm VALUES ('wm-2', 'b2');
SAVEPOINT s;
SELECT wm_withdraw('wm-2');
INSERT INTO wm VALUES ('wm-2', 'b3');
\echo :LAST_ERROR_SQLSTATE
ROLLBACK TO s;
INSERT INTO wm VALUES ('wm-2', 'b4');
UPDATE wm SET name = 'b5' WHERE id = 'wm-2';
COMMIT;
SELECT count(*) AS wm2_rows, count(*) FILTER (WHERE name::text = 'b5') AS wm2_updated
  FROM wm WHERE id = 'wm-2';

-- wm-3 withdrawn for good; then statements writing it next to a child
-- with consent, with the memo holding the other child
SELECT wm_withdraw('wm-3');
WITH a AS (INSERT INTO wm VALUES ('wm-2', 'c1') RETURNING 1),
     b AS (INSERT INTO wm VALUES ('wm-3', 'c2') RETURNING 1)
SELECT * FROM a, b;
\echo :LAST_ERROR_SQLSTATE
WITH a AS (UPDATE wm SET name = 'c3' WHERE id = 'wm-2' RETURNING 1),
     b AS (INSERT INTO wm SELECT 'wm-3', 'c4' FROM a LIMIT 1 RETURNING 1)
SELECT count(*) FROM b;
INSERT INTO wm VALUES ('wm-2', 'c5'), ('wm-2', 'c6'), ('wm-3', 'c7');
UPDATE wm SET id = 'wm-3' WHERE id = 'wm-2';
\echo :LAST_ERROR_SQLSTATE
UPDATE wm SET id = 'wm-3', name = 'c8' WHERE id = 'wm-2';
\echo :LAST_ERROR_SQLSTATE
SELECT id, count(*) FROM wm WHERE id LIKE 'wm-%' GROUP BY id ORDER BY id;

-- ids sharing a prefix, and ids at and past the memo key's length (63
-- bytes kept; a longer id is never memoised): the withdrawn one refused
-- right after the one with consent
SELECT wm_withdraw('wm-1x');
INSERT INTO wm VALUES ('wm-1', 'd1'), ('wm-1x', 'd2');
\echo :LAST_ERROR_SQLSTATE
SELECT wm_withdraw(repeat('w', 63) || 'y');
INSERT INTO wm VALUES (repeat('w', 63), 'd3'), (repeat('w', 63) || 'y', 'd4');
\echo :LAST_ERROR_SQLSTATE
INSERT INTO wm VALUES (repeat('w', 64), 'd5'), (repeat('w', 63) || 'y', 'd6');
\echo :LAST_ERROR_SQLSTATE
INSERT INTO wm VALUES (repeat('w', 63), 'd7'), (repeat('w', 64), 'd8');
SELECT length(id), count(*) FROM wm WHERE id LIKE 'ww%' GROUP BY 1 ORDER BY 1;
RESET childguard.purpose;

\c contrib_regression
SET client_min_messages = warning;
DROP DATABASE regress_redteam_memo;
