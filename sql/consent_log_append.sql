-- The consent log's statement trigger in C (1.6, part 18,
-- src/consent/consent_log_append.c) writes exactly the rows the PL/pgSQL
-- trigger of 1.5 wrote: the same event numbers, times, roles, role names,
-- texts' hashes and previous hashes.  Each case runs twice from the same
-- log head, once with each trigger (the PL/pgSQL one put back inside a
-- savepoint that is rolled back; consent numbers drawn from the same
-- value), and the two logs' rows are compared.
-- Cases: a bulk registration's consents; rows inserted whole with their
-- history (withdrawn, lapsed, withdrawn by nobody, recorded by nobody) in
-- descending consent order; awkward strings; two statements in a row; an
-- INSERT of no rows.
SET client_min_messages = warning;
DROP DATABASE IF EXISTS regress_log_append;
CREATE DATABASE regress_log_append;
\c regress_log_append
SET client_min_messages = warning;
CREATE EXTENSION childguard CASCADE;
RESET client_min_messages;
\set VERBOSITY terse
\i test/fixtures/regress_purpose.psql
SELECT p.prolang = (SELECT oid FROM pg_language WHERE lanname = 'c') AS trigger_in_c,
       p.prosecdef AS security_definer
  FROM pg_proc p WHERE p.oid = 'childguard._consent_events_inserted()'::regprocedure;
SELECT count(childguard.register_child('la-' || i, date '2016-01-01' + i)) AS children FROM generate_series(1, 6) i;
SET ROLE regress_fixture_recorder;
SELECT count(childguard.register_guardian('g-la-' || i, 'la-' || i)) AS guardians FROM generate_series(1, 6) i;
-- guardian ids with a quote, a backslash, non-ASCII letters and a tab
CREATE FUNCTION pg_temp.odd_guardian(i integer) RETURNS text LANGUAGE sql IMMUTABLE
	AS $$ SELECT 'g-"\q' || chr(233) || chr(20013) || chr(9) || '-' || i $$;
SELECT count(childguard.register_guardian(pg_temp.odd_guardian(i), 'la-' || i)) AS guardians FROM generate_series(1, 2) i;
RESET ROLE;
CREATE TABLE la_k AS
	SELECT 'la-' || i AS child_id, p AS purpose, 'regress-notice'::text AS notice,
	       CASE WHEN i <= 2 THEN pg_temp.odd_guardian(i) ELSE 'g-la-' || i END AS given_by
	  FROM generate_series(1, 6) i, (VALUES ('regress'), ('regress_transfer')) v(p);
GRANT SELECT ON la_k TO regress_fixture_recorder;
-- the log's new rows, one line each
CREATE FUNCTION pg_temp.log_since(base bigint) RETURNS text LANGUAGE sql AS $$
	SELECT coalesce(string_agg(concat_ws('|', l.event_id, l.at, l.consent_id, l.subject_no, l.purpose_id, l.event,
	                                     l.giver_kind, l.guardian_id, l.notice_id, l.notice_version, l.by_role,
	                                     l.by_role_name, l.session_role_name, encode(l.prev_hash, 'hex'),
	                                     encode(l.hash, 'hex')), E'\n' ORDER BY l.event_id), '')
	       || ' head ' || (SELECT concat_ws(' ', h.last_id, encode(h.last_hash, 'hex')) FROM childguard.consent_log_head h)
	  FROM childguard.consent_log l WHERE l.event_id > base
$$;
-- the cases, run once per trigger
CREATE FUNCTION pg_temp.cases() RETURNS text LANGUAGE plpgsql AS $$
DECLARE
	r text;
BEGIN
	PERFORM setval(pg_get_serial_sequence('childguard.consent', 'consent_id'), 5000);
	SET ROLE regress_fixture_recorder;
	SELECT count(*) || ' rows, ' || count(sqlstate) || ' refused' INTO r FROM childguard.record_consents('la_k');
	RESET ROLE;
	-- rows inserted whole, in descending consent order, with their history
	INSERT INTO childguard.consent (consent_id, subject_no, purpose_id, decision, giver_kind, guardian_id,
	                                notice_id, notice_version, recorded_by, recorded_by_role, given_at,
	                                withdrawn_at, withdrawn_by, lapsed_at)
	OVERRIDING SYSTEM VALUE
	SELECT 1000 - v, c.subject_no, p.purpose_id, 'granted', 'guardian', pg_temp.odd_guardian(1),
	       n.notice_id, n.version, 'restored',
	       CASE WHEN v % 2 = 0 THEN 'regress_fixture_recorder'::regrole END,
	       timestamptz '2020-01-01 00:00:00.123456+00' + v * interval '1 day',
	       CASE WHEN v % 3 <> 0 THEN timestamptz '2021-02-03 04:05:06.5+00' END,
	       CASE WHEN v % 3 = 1 THEN 'regress_fixture_dpo'::regrole END,
	       CASE WHEN v >= 4 THEN timestamptz '2022-01-01+00' END
	  FROM childguard.child c, childguard.purpose p, childguard.notice n, generate_series(1, 6) v
	 WHERE c.child_id = 'la-1' AND p.purpose = 'regress' AND n.notice_id = 'regress-notice'
	 ORDER BY v;
	-- no rows: no events, the head untouched
	INSERT INTO childguard.consent (subject_no, purpose_id, decision, giver_kind, notice_id, notice_version, recorded_by)
	SELECT c.subject_no, 1, 'refused', 'child', 'regress-notice', 1, 'x' FROM childguard.child c WHERE false;
	-- and one more statement, through the per-row API
	SET ROLE regress_fixture_recorder;
	PERFORM childguard.record_consent('la-3', 'regress', 'regress-notice', 'g-la-3', 'refused');
	RESET ROLE;
	RETURN r;
END
$$;
SELECT last_id AS base FROM childguard.consent_log_head \gset
BEGIN;
SAVEPOINT plpgsql;
CREATE FUNCTION public.plpgsql_events_inserted()
 RETURNS trigger
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO 'pg_catalog', 'pg_temp'
AS $function$
DECLARE
	h childguard.consent_log_head;
	n bigint;
	caller oid := childguard._caller_oid();
	sess oid := childguard._session_oid();
	caller_name name := childguard._role_name(childguard._caller_oid());
	sess_name name := childguard._role_name(childguard._session_oid());
BEGIN
	-- a row inserted whole (restore, or a superuser's INSERT) brings its
	-- history: its decision and, if so, its withdrawal and lapse
	SELECT pg_catalog.count(*) + pg_catalog.count(k.withdrawn_at) + pg_catalog.count(k.lapsed_at)
	  INTO n FROM inserted_consents k;
	IF n = 0 THEN
		RETURN NULL;
	END IF;
	-- the head's row lock serialises appenders, as one row at a time did
	UPDATE childguard.consent_log_head x SET last_id = x.last_id + n
	 RETURNING * INTO h;
	INSERT INTO childguard.consent_log
	WITH ev AS (
		SELECT (h.last_id - n + pg_catalog.row_number() OVER (ORDER BY k.consent_id, e.ord))::bigint AS event_id,
		       e.at, k.consent_id, k.subject_no, k.purpose_id, e.event, k.giver_kind, k.guardian_id,
		       k.notice_id, k.notice_version, e.by_role::regrole AS by_role,
		       CASE WHEN e.by_role = caller THEN caller_name
		            ELSE childguard._role_name(e.by_role) END AS by_role_name,
		       sess_name AS session_role_name
		  FROM inserted_consents k
		 CROSS JOIN LATERAL (VALUES (k.decision, k.given_at, coalesce(k.recorded_by_role::oid, caller), 1),
		                            ('withdrawn', k.withdrawn_at, k.withdrawn_by::oid, 2),
		                            ('lapsed', k.lapsed_at, NULL::oid, 3)) AS e(event, at, by_role, ord)
		 WHERE e.ord = 1 OR e.at IS NOT NULL
	), hashed AS (
		-- the text is _consent_event_text()'s, built in C
		-- (_consent_event_json: jsonb_build_array(...)::text cost more than
		-- the rest of the event); verify_consent_log() checks the two agree
		SELECT ev.*,
		       childguard._hash_chain(h.last_hash,
		           childguard._consent_event_json(
		               ev.event_id, (EXTRACT(epoch FROM ev.at) * 1000000)::bigint,
		               ev.consent_id, ev.subject_no, ev.purpose_id, ev.event, ev.giver_kind, ev.guardian_id,
		               ev.notice_id, ev.notice_version, ev.by_role::oid, ev.by_role_name::text,
		               ev.session_role_name::text))
		           OVER (ORDER BY ev.event_id) AS hash
		  FROM ev
	)
	SELECT x.event_id, x.at, x.consent_id, x.subject_no, x.purpose_id, x.event, x.giver_kind,
	       x.guardian_id, x.notice_id, x.notice_version, x.by_role, x.by_role_name,
	       x.session_role_name,
	       coalesce(pg_catalog.lag(x.hash) OVER (ORDER BY x.event_id), h.last_hash),
	       x.hash
	  FROM hashed x
	 ORDER BY x.event_id;
	UPDATE childguard.consent_log_head x
	   SET last_hash = (SELECT l.hash FROM childguard.consent_log l WHERE l.event_id = h.last_id);
	RETURN NULL;
END
$function$;
ALTER TABLE childguard.consent DISABLE TRIGGER consent_event_insert;
CREATE TRIGGER plpgsql_event_insert AFTER INSERT ON childguard.consent
	REFERENCING NEW TABLE AS inserted_consents
	FOR EACH STATEMENT EXECUTE FUNCTION public.plpgsql_events_inserted();
SELECT pg_temp.cases();
SELECT pg_temp.log_since(:base) AS plpgsql_rows \gset
ROLLBACK TO SAVEPOINT plpgsql;
SELECT tgenabled AS c_trigger_enabled FROM pg_trigger
 WHERE tgrelid = 'childguard.consent'::regclass AND tgname IN ('consent_event_insert', 'plpgsql_event_insert');
SELECT pg_temp.cases();
SELECT pg_temp.log_since(:base) AS c_rows \gset
COMMIT;
SELECT :'c_rows' = :'plpgsql_rows' AS same_rows,
       length(:'c_rows') > 1000 AS rows_compared,
       (SELECT count(*) FROM childguard.consent_log WHERE event_id > :base) AS events,
       (SELECT count(*) FROM childguard.consent_log WHERE event_id > :base AND event = 'withdrawn') AS withdrawals,
       (SELECT count(*) FROM childguard.consent_log WHERE event_id > :base AND event = 'lapsed') AS lapses;
-- within each statement, in consent order, each consent's decision before
-- its withdrawal and lapse (the rows inserted whole came in descending order)
SELECT statement, bool_and(ok) AS in_consent_order, count(*) AS events FROM (
	SELECT CASE WHEN consent_id < 1000 THEN 'whole rows' ELSE 'registration' END AS statement,
	       (consent_id, CASE event WHEN 'withdrawn' THEN 2 WHEN 'lapsed' THEN 3 ELSE 1 END)
	       > lag((consent_id, CASE event WHEN 'withdrawn' THEN 2 WHEN 'lapsed' THEN 3 ELSE 1 END))
	         OVER (PARTITION BY consent_id < 1000 ORDER BY event_id) IS NOT FALSE AS ok
	  FROM childguard.consent_log WHERE event_id > :base) o
 GROUP BY statement ORDER BY statement;
SELECT valid, records_checked, broken_id, reason FROM childguard.verify_consent_log();
-- every event compared: one line each, the head included
SELECT array_length(string_to_array(:'c_rows', E'\n'), 1) AS lines_compared;
-- the trigger function writes the log as the extension owner: on any
-- other table it refuses (and only a superuser could attach it: EXECUTE is
-- not granted)
SELECT has_function_privilege('regress_fixture_recorder', 'childguard._consent_events_inserted()', 'EXECUTE') AS recorder_may_use;
CREATE TABLE fake_consent (LIKE childguard.consent);
CREATE TRIGGER forge AFTER INSERT ON fake_consent REFERENCING NEW TABLE AS inserted_consents
	FOR EACH STATEMENT EXECUTE FUNCTION childguard._consent_events_inserted();
INSERT INTO fake_consent (consent_id, subject_no, purpose_id, decision, giver_kind, notice_id, notice_version,
                          recorded_by, given_at)
VALUES (1, 1, 1, 'granted', 'child', 'regress-notice', 1, 'x', now());
SELECT count(*) AS events_after_forgery FROM childguard.consent_log WHERE event_id > :base;
DROP TABLE fake_consent;
-- record_consents() runs its last statement without nested loops and
-- gives the caller's setting back, whatever it was (in one transaction:
-- the function's change is local to it)
BEGIN;
SET LOCAL ROLE regress_fixture_recorder;
SHOW enable_nestloop;
SELECT count(*) AS rows FROM childguard.record_consents('la_k');
SHOW enable_nestloop;
SET LOCAL enable_nestloop = off;
SELECT count(*) AS rows FROM childguard.record_consents('la_k');
SHOW enable_nestloop;
COMMIT;
SELECT valid FROM childguard.verify_consent_log();
\c contrib_regression
SET client_min_messages = warning;
DROP DATABASE regress_log_append;
