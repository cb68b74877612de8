-- Erasure (issue 11): childguard.erase() by each table's action (delete,
-- null, shred), expiry hooks (a hook that raises is reported and retried,
-- and the erasure still happens; hostile hooks read nothing and stop
-- nothing), erase_child() after a withdrawal, cease_operations(), the age
-- hook, audit records for erasures and for every DELETE route (after a
-- withdrawal too, and TRUNCATE), and every bad input: its SQLSTATE and
-- nothing changed.  A database of its own, so subject numbers are fixed.
-- (On the code before 1.4 none of these functions exist, a DELETE after a
-- withdrawal removes 0 rows, and DELETEs leave no children in the log.)
SET client_min_messages = warning;
DROP DATABASE IF EXISTS regress_erasure;
CREATE DATABASE regress_erasure;
\c regress_erasure
SET client_min_messages = warning;
CREATE EXTENSION childguard CASCADE;
DROP ROLE IF EXISTS regress_er_dpo;
DROP ROLE IF EXISTS regress_er_app;
DROP ROLE IF EXISTS regress_er_owner;
CREATE ROLE regress_er_dpo;
CREATE ROLE regress_er_app;
CREATE ROLE regress_er_owner;
RESET client_min_messages;
\set VERBOSITY terse
\set SHOW_CONTEXT never

\i test/fixtures/regress_purpose.psql
SELECT childguard.appoint_officer('regress_er_dpo');
SELECT childguard.enroll_application('regress_er_app');
SET ROLE regress_er_app;
SELECT childguard.request_access('regress_er_app', '{regress}', now() + interval '1 day') AS app_grant \gset
RESET ROLE;
SET ROLE regress_fixture_dpo;
SELECT childguard.approve_access(:app_grant);
RESET ROLE;

SELECT childguard.register_child('c' || i, (current_date - interval '10 years')::date)
  FROM generate_series(1, 9) i;
-- one turns 14 today, one turned 14 long ago
SELECT childguard.register_child('teen', (current_date - interval '14 years')::date);
SELECT childguard.register_child('older', (current_date - interval '15 years')::date);
SELECT pg_temp.consent_all() AS consents;

-- three protected tables, owned by another role, one per erasure action
GRANT CREATE ON SCHEMA public TO regress_er_owner;
GRANT USAGE ON SCHEMA childguard TO regress_er_owner;
SET ROLE regress_er_owner;
CREATE TABLE t_del (id serial PRIMARY KEY, child text, note childguard.child_data, grade int);
CREATE TABLE t_null (child text PRIMARY KEY, name childguard.child_data, school childguard.child_data, grade int);
CREATE TABLE t_shred (child bigint, k int, photo childguard.child_data);
SELECT childguard.protect('t_del', 'child', '{"note": "other"}');
SELECT childguard.protect('t_null', 'child', '{"name": "name", "school": "school"}');
SELECT childguard.protect('t_shred', 'child', '{"photo": "image"}');
GRANT ALL ON t_del, t_null, t_shred, t_del_id_seq TO regress_er_app;
-- a table not protected
CREATE TABLE t_plain (child text, x int);
RESET ROLE;
CREATE FUNCTION pg_temp.fill() RETURNS void LANGUAGE sql AS $$
	INSERT INTO t_del (child, note, grade)
	  SELECT 'c' || i, 'note ' || i || '/' || j, i FROM generate_series(1, 9) i, generate_series(1, 2) j;
	INSERT INTO t_null SELECT 'c' || i, '名' || i, '校' || i, i FROM generate_series(1, 9) i;
	INSERT INTO t_shred SELECT 0 + i, 1, 'photo ' || i FROM generate_series(1, 9) i
	  WHERE false;  -- bigint subject: children c1..c9 are not numbers
$$;
SET childguard.purpose = 'regress';
SELECT pg_temp.fill();
-- t_shred has numeric child ids
SELECT childguard.register_child('7001', (current_date - interval '9 years')::date);
SELECT childguard.register_child('7002', (current_date - interval '9 years')::date);
SELECT pg_temp.consent_all() AS consents;
INSERT INTO t_shred VALUES (7001, 1, 'photo a'), (7001, 2, 'photo b'), (7002, 1, 'photo c');
RESET childguard.purpose;

-- the state every refused call must leave as it was
CREATE FUNCTION pg_temp.state() RETURNS text LANGUAGE sql AS $$
	SELECT md5(concat_ws('|',
		(SELECT count(*) FROM t_del), (SELECT count(*) FROM t_null WHERE name IS NOT NULL),
		(SELECT count(*) FROM t_shred),
		(SELECT count(*) FROM childguard.erasure_log),
		(SELECT count(*) FROM childguard.erasure_action),
		(SELECT string_agg(action, ',' ORDER BY tbl) FROM childguard.erasure_action),
		(SELECT count(*) FROM childguard.data_key WHERE wrapped_key IS NULL),
		(SELECT count(*) FROM childguard.child WHERE erased_at IS NOT NULL),
		(SELECT count(*) FROM childguard.expiry_hook),
		(SELECT count(*) FROM childguard.expiry_hook_pending),
		(SELECT count(*) FROM childguard.erasure_request),
		(SELECT count(*) FROM childguard.operations_ceased),
		(SELECT count(*) FROM childguard._ledger_lines() WHERE this_database)))
$$;
-- a call's SQLSTATE and message, or 'ok'
CREATE FUNCTION pg_temp.try(stmt text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
	st text;
	msg text;
BEGIN
	EXECUTE stmt;
	RETURN 'ok';
EXCEPTION WHEN OTHERS THEN
	GET STACKED DIAGNOSTICS st = RETURNED_SQLSTATE, msg = MESSAGE_TEXT;
	RETURN st || ': ' || msg;
END
$$;
GRANT EXECUTE ON FUNCTION pg_temp.try(text), pg_temp.state() TO PUBLIC;
SELECT pg_temp.state() AS before \gset

-- ---------------------------------------------------------------------------
-- Bad input: each its SQLSTATE, nothing changed
-- ---------------------------------------------------------------------------
SET ROLE regress_er_dpo;
SELECT pg_temp.try($$SELECT childguard.set_erasure_action('t_null', 'burn')$$);
SELECT pg_temp.try($$SELECT childguard.set_erasure_action('t_plain', 'null')$$);
SELECT pg_temp.try($$SELECT childguard.set_erasure_action(NULL, 'null')$$);
SELECT pg_temp.try($$SELECT childguard.set_erasure_action('t_null', NULL)$$);
SELECT pg_temp.try($$SELECT childguard.erase('c1', NULL, 'because')$$);
SELECT pg_temp.try($$SELECT childguard.erase('c1', NULL, NULL)$$);
SELECT pg_temp.try($$SELECT childguard.erase(NULL, NULL, 'request')$$);
SELECT pg_temp.try($$SELECT childguard.erase('nobody', NULL, 'request')$$);
SELECT pg_temp.try($$SELECT childguard.erase('c1', 't_plain', 'request')$$);
SELECT pg_temp.try($$SELECT childguard.erase('c1', 'childguard.child', 'request')$$);
SELECT pg_temp.try($$SELECT childguard.erase_child('c1', 'whim', 'R-0')$$);
SELECT pg_temp.try($$SELECT childguard.erase_child('nobody', 'request', 'R-0')$$);
SELECT pg_temp.try($$SELECT childguard.erase_child(NULL, 'request', 'R-0')$$);
SELECT pg_temp.try($$SELECT childguard.register_expiry_hook('pg_catalog.now()')$$);
SELECT pg_temp.try($$SELECT childguard.register_expiry_hook('childguard._call_expiry_hooks(regclass, text, text, text)')$$);
SELECT pg_temp.try($$SELECT childguard.register_expiry_hook('pg_catalog.textcat(text, text)')$$);
SELECT pg_temp.try($$SELECT childguard.unregister_expiry_hook('pg_catalog.now()', NULL, 'after')$$);
RESET ROLE;
CREATE FUNCTION public.hook_note(tbl regclass, child_id text, reason text) RETURNS void
	LANGUAGE plpgsql AS $$ BEGIN RAISE NOTICE 'hook_note(%, %, %)', tbl, child_id, reason; END $$;
SET ROLE regress_er_dpo;
SELECT pg_temp.try($$SELECT childguard.register_expiry_hook('hook_note(regclass, text, text)', NULL, 'during')$$);
SELECT pg_temp.try($$SELECT childguard.register_expiry_hook('hook_note(regclass, text, text)', 't_plain', 'after')$$);
SELECT pg_temp.try($$SELECT childguard.register_expiry_hook('hook_note(regclass, text, text)', 't_del', 'age14')$$);
SELECT pg_temp.try($$SELECT childguard.register_expiry_hook(NULL)$$);
RESET ROLE;
-- applications, table owners and other roles may do none of it
SET ROLE regress_er_app;
SELECT pg_temp.try($$SELECT childguard.erase('c1', NULL, 'request')$$);
SELECT pg_temp.try($$SELECT childguard.erase_child('c1', 'request', 'R-0')$$);
SELECT pg_temp.try($$SELECT childguard.set_erasure_action('t_null', 'null')$$);
SELECT pg_temp.try($$SELECT childguard.register_expiry_hook('hook_note(regclass, text, text)')$$);
SELECT pg_temp.try($$SELECT * FROM childguard.cease_operations()$$);
SELECT pg_temp.try($$SELECT childguard._reapply_ledger()$$);
SELECT pg_temp.try($$SELECT childguard._erase('c1', NULL, 'request', NULL, true, true)$$);
SELECT pg_temp.try($$SELECT childguard._ledger_append(1, 'c1', 'request', NULL)$$);
RESET ROLE;
SET ROLE regress_er_owner;
SELECT pg_temp.try($$SELECT childguard.erase('c1', 't_del', 'request')$$);
SELECT pg_temp.try($$SELECT childguard.set_erasure_action('t_del', 'shred')$$);
SELECT pg_temp.try($$INSERT INTO childguard.erasure_log (subject_no, action, reason, rows_erased) VALUES (1, 'delete', 'request', 0)$$);
RESET ROLE;
-- nobody edits the erasure log, superusers included
SELECT pg_temp.try($$UPDATE childguard.erasure_log SET reason = 'x'$$);
SELECT pg_temp.try($$DELETE FROM childguard.erasure_log$$);
SELECT pg_temp.try($$TRUNCATE childguard.erasure_log$$);
SELECT pg_temp.state() = :'before' AS nothing_changed;

-- ---------------------------------------------------------------------------
-- Actions and hooks
-- ---------------------------------------------------------------------------
SET ROLE regress_er_dpo;
SELECT childguard.set_erasure_action('t_null', 'null');
SELECT childguard.set_erasure_action('t_shred', 'shred');
SELECT table_name, action, subject_column, child_data_columns FROM childguard.erasure_actions ORDER BY 1;
RESET ROLE;

-- a hook that notes, one that fails until fixed, one that records what it
-- could see (owned by the tables' owner: a hostile table owner)
CREATE TABLE public.hook_switch (fail boolean);
INSERT INTO public.hook_switch VALUES (true);
CREATE FUNCTION public.hook_flaky(tbl regclass, child_id text, reason text) RETURNS void
	LANGUAGE plpgsql AS $$
BEGIN
	IF (SELECT fail FROM public.hook_switch) THEN
		RAISE EXCEPTION 'notification service down for %', child_id USING ERRCODE = '08006';
	END IF;
	RAISE NOTICE 'hook_flaky(%, %, %) delivered', tbl, child_id, reason;
END $$;
SET ROLE regress_er_owner;
CREATE FUNCTION public.hook_snoop(tbl regclass, child_id text, reason text) RETURNS void
	LANGUAGE plpgsql AS $$
DECLARE
	seen text;
BEGIN
	-- read what the erasure is about to remove, every way it can
	SELECT string_agg(note::text, ',') INTO seen FROM public.t_del WHERE t_del.child = hook_snoop.child_id;
	RAISE NOTICE 'hook_snoop as % saw: %', current_user, coalesce(seen, '(no rows)');
	SELECT string_agg(note::text, ',') INTO seen FROM public.t_del;
	RAISE NOTICE 'hook_snoop as % saw in the whole table: %', current_user, coalesce(seen, '(no rows)');
	-- and try to stop it, with what it saw in the message
	RAISE EXCEPTION 'erasure vetoed (%)', coalesce(seen, '-');
END $$;
CREATE FUNCTION public.hook_escalate(tbl regclass, child_id text, reason text) RETURNS void
	LANGUAGE plpgsql AS $$
BEGIN
	SET ROLE regress_er_dpo;
END $$;
RESET ROLE;
-- (a superuser's hook may call erase(): refused inside a hook)
CREATE FUNCTION public.hook_recurse(tbl regclass, child_id text, reason text) RETURNS void
	LANGUAGE plpgsql AS $$
BEGIN
	PERFORM childguard.erase(child_id, NULL, 'child_erased');
END $$;
SET ROLE regress_er_dpo;
SELECT childguard.register_expiry_hook('hook_note(regclass, text, text)', NULL, 'before') > 0 AS registered;
SELECT childguard.register_expiry_hook('hook_flaky(regclass, text, text)', 't_del', 'after') > 0 AS registered;
SELECT childguard.register_expiry_hook('hook_snoop(regclass, text, text)', 't_del', 'before') > 0 AS registered;
SELECT childguard.register_expiry_hook('hook_escalate(regclass, text, text)', 't_null', 'after') > 0 AS registered;
SELECT childguard.register_expiry_hook('hook_recurse(regclass, text, text)', 't_shred', 'before') > 0 AS registered;
SELECT childguard.register_expiry_hook('hook_note(regclass, text, text)', NULL, 'age14') > 0 AS registered;
SELECT pg_temp.try($$SELECT childguard.register_expiry_hook('hook_note(regclass, text, text)', NULL, 'before')$$);
SELECT hook, table_name, phase, runs_as FROM childguard.expiry_hooks ORDER BY hook_id;
RESET ROLE;

-- c1's consent is withdrawn: the application no longer sees its rows, yet
-- the erasure finds them (the superuser below reads for "regress" with a
-- grant: the snooping hook, another role's code, still reads nothing)
SET ROLE regress_fixture_recorder;
SELECT childguard.withdraw_consent('c1', 'regress', 'g-c1');
RESET ROLE;
SET ROLE regress_er_app;
SET childguard.purpose = 'regress';
SELECT count(*) AS c1_rows_app_sees FROM t_del WHERE child = 'c1';
RESET childguard.purpose;
RESET ROLE;
SET childguard.purpose = 'regress';
SET childguard.denied_read = 'error';
SET client_min_messages = notice;
SELECT childguard.erase('c1', 't_del', 'consent_withdrawn') AS rows_erased;
RESET childguard.purpose;
SELECT count(*) AS c1_rows_left FROM t_del WHERE child = 'c1';
-- what the hooks did: no plaintext in the failures either
SELECT hook, table_name, child_id, reason, phase, attempts, sqlstate, message, state
  FROM childguard.expiry_hook_failures ORDER BY pending_id;
SELECT subject_no, table_name, action, reason, rows_erased, request_ref, whole_child, erased_by
  FROM childguard.erasure_log ORDER BY erasure_id;

-- null: the child_data columns cleared, the rows kept; the hook that tries
-- SET ROLE fails (security-restricted), the erasure happens
SELECT childguard.erase('c2', 't_null', 'retention_expired') AS rows_erased;
SELECT child, name IS NULL AS name_null, school IS NULL AS school_null, grade FROM t_null WHERE child IN ('c2', 'c3') ORDER BY 1;
SELECT childguard.erase('c2', 't_null', 'retention_expired') AS rows_erased_again;

-- shred: the key destroyed, the child erased for good; the hook that tries
-- to erase from inside the erasure is refused (ZC323), the erasure happens
SELECT childguard.erase('7001', 't_shred', 'processor_ended') AS rows_erased;
SELECT c.child_id, c.erased_at IS NOT NULL AS erased, k.wrapped_key IS NULL AS key_destroyed
  FROM childguard.child c JOIN childguard.data_key k USING (subject_no)
 WHERE c.child_id IN ('7001', '7002') ORDER BY 1;
SET childguard.purpose = 'regress';
SELECT k, photo FROM t_shred WHERE child = 7002;
SELECT pg_temp.try($$SELECT count(*) FROM t_shred WHERE child = 7001 AND photo::text IS NOT NULL$$);
SELECT pg_temp.try($$INSERT INTO t_shred VALUES (7001, 3, 'again')$$);
RESET childguard.purpose;
-- a child id that cannot be a bigint has no rows there
SET ROLE regress_er_dpo;
SELECT childguard.erase('c3', 't_shred', 'retention_expired') AS rows_in_bigint_table;
RESET ROLE;
SELECT c.child_id, c.erased_at IS NOT NULL AS erased FROM childguard.child c WHERE child_id = 'c3';

SELECT hook, child_id, phase, attempts, sqlstate, message, state
  FROM childguard.expiry_hook_failures ORDER BY pending_id;

-- retries: still failing, then the service is back
SET ROLE regress_er_dpo;
SELECT * FROM childguard.retry_expiry_hooks();
SELECT childguard.unregister_expiry_hook('hook_escalate(regclass, text, text)', 't_null', 'after');
SELECT childguard.unregister_expiry_hook('hook_recurse(regclass, text, text)', 't_shred', 'before');
RESET ROLE;
UPDATE public.hook_switch SET fail = false;
SET ROLE regress_er_dpo;
SELECT childguard.unregister_expiry_hook('hook_snoop(regclass, text, text)', 't_del', 'before');
SELECT * FROM childguard.retry_expiry_hooks();
SELECT hook, child_id, phase, attempts, state FROM childguard.expiry_hook_failures ORDER BY pending_id;
SELECT * FROM childguard.retry_expiry_hooks();
RESET ROLE;
RESET client_min_messages;

-- ---------------------------------------------------------------------------
-- erase_child (Art 20) after a withdrawal: everywhere, now
-- ---------------------------------------------------------------------------
SET ROLE regress_fixture_recorder;
SELECT childguard.withdraw_consent('c4', 'regress', 'g-c4');
RESET ROLE;
SET ROLE regress_er_dpo;
SELECT childguard.erase_child('c4', 'request', 'REQ-2026-4') AS rows_erased;
SELECT child_id, reason, request_ref, state, rows_erased, received_by, completed_by,
       completed_at >= received_at AS in_order, child_erased_at IS NOT NULL AS child_erased
  FROM childguard.erasures ORDER BY request_id;
SELECT table_name, action, reason, rows_erased, request_ref, whole_child
  FROM childguard.erasure_log WHERE subject_no = 4 ORDER BY erasure_id;
SELECT valid, lines >= 2 AS lines, problem, erased_not_in_ledger FROM childguard.verify_erasure_ledger();
RESET ROLE;
SELECT subject_no, reason, request_ref, problem IS NULL AS intact
  FROM childguard._ledger_lines() WHERE this_database ORDER BY line_no;
SELECT (SELECT count(*) FROM t_del WHERE child = 'c4') AS t_del,
       (SELECT count(*) FROM t_null WHERE child = 'c4' AND (name IS NOT NULL OR school IS NOT NULL)) AS t_null_values,
       (SELECT wrapped_key IS NULL FROM childguard.data_key WHERE subject_no = 4) AS key_destroyed;

-- ---------------------------------------------------------------------------
-- DELETE by the application, every route: after a withdrawal it removes the
-- rows (never a silent 0), and the log names the children
-- ---------------------------------------------------------------------------
SET ROLE regress_fixture_recorder;
SELECT childguard.withdraw_consent('c' || i, 'regress', 'g-c' || i) FROM generate_series(5, 8) i;
RESET ROLE;
SELECT childguard.audit_wait();
SELECT coalesce(max(id), 0) AS log_start FROM childguard.access_log \gset
SET ROLE regress_er_app;
SET childguard.purpose = 'regress';
SELECT count(*) AS visible_c5_to_c8 FROM t_del WHERE child IN ('c5', 'c6', 'c7', 'c8');
DELETE FROM t_del WHERE child = 'c5';
DELETE FROM t_del WHERE child = 'c6' RETURNING id % 2 AS parity, grade;
WITH d AS (DELETE FROM t_del WHERE child = 'c7' RETURNING child) SELECT count(*) AS cte_deleted FROM d;
CREATE FUNCTION pg_temp.app_delete(c text) RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
	n bigint;
BEGIN
	DELETE FROM t_null WHERE child = c;
	GET DIAGNOSTICS n = ROW_COUNT;
	RETURN n;
END $$;
SELECT pg_temp.app_delete('c8') AS deleted_in_function;
-- a value of a withdrawn child is still not readable by the DELETE
SELECT pg_temp.try($$WITH d AS (DELETE FROM t_del WHERE child = 'c8' RETURNING note) SELECT string_agg(note::text, ',') FROM d$$);
SELECT pg_temp.try($$DELETE FROM t_del WHERE note = 'note 8/1'$$);
SELECT pg_temp.try($$DELETE FROM t_del WHERE child IN ('c8', 'c9') AND note::text LIKE 'note%'$$);
-- rows of other tables in the statement stay hidden: no way to peek at c8
SELECT pg_temp.try($$DELETE FROM t_null USING t_del WHERE t_del.child = 'c8' AND t_null.child = 'c9' RETURNING t_del.grade$$);
SELECT count(*) AS c9_still_there FROM t_null WHERE child = 'c9';
-- TRUNCATE names no rows: its record names the children of every row it
-- removes (also rows the session cannot see), and survives the ROLLBACK
BEGIN;
TRUNCATE t_del;
ROLLBACK;
BEGIN;
TRUNCATE ONLY t_null, t_del;
ROLLBACK;
RESET childguard.purpose;
-- without a purpose, too, the DELETE finds its rows
DELETE FROM t_del WHERE child = 'c8';
RESET ROLE;
SELECT count(*) AS t_del_rows_c5_to_c8 FROM t_del WHERE child IN ('c5', 'c6', 'c7', 'c8');
SELECT childguard.audit_wait();
SELECT command, relations, children_written, outcome
  FROM childguard.access_log WHERE id > :log_start AND children_written <> '{}' ORDER BY id;
-- (on the code before 1.4: no DELETE, CTE, function or TRUNCATE record here)
-- the erasures' records name the erased children too
SELECT command, relations, children_written FROM childguard.access_log
 WHERE 4 = ANY (children_written) ORDER BY id;

-- ---------------------------------------------------------------------------
-- The age hook: once per child turning 14, never twice
-- ---------------------------------------------------------------------------
SET client_min_messages = notice;
SET ROLE regress_er_dpo;
SELECT childguard._fire_age_hooks() AS fired;
SELECT childguard._fire_age_hooks() AS fired_again;
RESET ROLE;
RESET client_min_messages;
SELECT c.child_id FROM childguard.age_hook_fired f JOIN childguard.child c USING (subject_no);

-- ---------------------------------------------------------------------------
-- erase_batch: erase() for many children of one table in one statement
-- ---------------------------------------------------------------------------
SELECT pg_temp.state() AS before_batch \gset
SET ROLE regress_er_dpo;
SELECT pg_temp.try($$SELECT childguard.erase_batch(ARRAY['c9', 'nobody'], 't_null', 'retention_expired')$$);
SELECT pg_temp.try($$SELECT childguard.erase_batch(ARRAY['c9'], 't_plain', 'retention_expired')$$);
SELECT pg_temp.try($$SELECT childguard.erase_batch(ARRAY['c9'], 't_null', 'bogus')$$);
SELECT pg_temp.try($$SELECT childguard.erase_batch(NULL, 't_null', 'retention_expired')$$);
RESET ROLE;
SET ROLE regress_er_app;
SELECT pg_temp.try($$SELECT childguard.erase_batch(ARRAY['c9'], 't_null', 'retention_expired')$$);
RESET ROLE;
SELECT pg_temp.state() = :'before_batch' AS nothing_changed;
SET ROLE regress_er_dpo;
SELECT childguard.erase_batch(ARRAY['c9', 'c3', 'c9'], 't_null', 'retention_expired') AS rows_nulled;
SELECT childguard.erase_batch(ARRAY['c9', 'c2'], 't_del', 'retention_expired') AS rows_deleted;
RESET ROLE;
SELECT child, name IS NULL AS name_null, school IS NULL AS school_null FROM t_null WHERE child IN ('c3', 'c9') ORDER BY 1;
SELECT count(*) AS c9_t_del_rows FROM t_del WHERE child = 'c9';
SELECT subject_no, table_name, action, reason, rows_erased FROM childguard.erasure_log
 WHERE reason = 'retention_expired' ORDER BY erasure_id;

-- ---------------------------------------------------------------------------
-- cease_operations (Art 23): collection stops, everything is erased, the
-- guardians to notify are listed
-- ---------------------------------------------------------------------------
SET ROLE regress_er_app;
SELECT childguard.register_child('c10', (current_date - interval '9 years')::date);
RESET ROLE;
SET ROLE regress_er_dpo;
SELECT childguard.unregister_expiry_hook('hook_note(regclass, text, text)', NULL, 'before');
SELECT childguard.unregister_expiry_hook('hook_flaky(regclass, text, text)', 't_del', 'after');
SELECT guardian_id, child_id, rows_erased FROM childguard.cease_operations('CEASE-1') ORDER BY child_id, guardian_id;
RESET ROLE;
SELECT (SELECT count(*) FROM t_del) AS t_del, (SELECT count(*) FROM t_null WHERE name IS NOT NULL) AS t_null_values,
       (SELECT count(*) FROM childguard.data_key WHERE wrapped_key IS NOT NULL) AS keys_left,
       (SELECT count(*) FROM childguard.child WHERE erased_at IS NULL) AS children_not_erased;
SELECT reason, request_ref, state, count(*) FROM childguard.erasures GROUP BY 1, 2, 3 ORDER BY 1, 2;
-- new child data is refused (ZC326), also for a child registered afterwards
SET ROLE regress_er_app;
SELECT childguard.register_child('c11', (current_date - interval '9 years')::date);
RESET ROLE;
SELECT pg_temp.consent_all() AS consents;
SET childguard.purpose = 'regress';
SELECT pg_temp.try($$INSERT INTO t_null VALUES ('c11', 'n', NULL, 1)$$);
SELECT pg_temp.try($$INSERT INTO t_null VALUES ('c11', NULL, NULL, 1)$$);
RESET childguard.purpose;
SET ROLE regress_er_dpo;
SELECT pg_temp.try($$SELECT childguard.resume_operations()$$);
RESET ROLE;
SELECT childguard.resume_operations();
SELECT pg_temp.try($$SELECT childguard.resume_operations()$$);
SET childguard.purpose = 'regress';
UPDATE t_null SET name = 'n' WHERE child = 'c11';
SELECT name FROM t_null WHERE child = 'c11';
RESET childguard.purpose;
SELECT valid, problem, erased_not_in_ledger FROM childguard.verify_erasure_ledger();

\c contrib_regression
SET client_min_messages = warning;
DROP DATABASE regress_erasure;
DROP ROLE regress_er_dpo;
DROP ROLE regress_er_app;
DROP ROLE regress_er_owner;
