-- The consent log's rows written the way COPY FROM writes them (1.7, part
-- 10 era, src/consent/consent_log_append.c): table_multi_insert with each
-- row checked against the log's constraints and its index entries made one
-- by one, taken only when an INSERT would do nothing more; else the 1.6
-- INSERT through SPI.  Checked here:
-- 1. the two routes write the same rows from the same head (a row trigger
--    on the log, added by its owner, forces the INSERT and fires for every
--    event; without it the direct route runs), byte for byte;
-- 2. a CHECK constraint the owner adds refuses an event on the direct
--    route with 23514, nothing changed (no consent, no event, the head);
-- 3. the primary key: an event number already taken fails with 23505,
--    nothing changed;
-- 4. a statement-level INSERT trigger on the log fires too (the route
--    falls back);
-- 5. record_consents()'s report: each accepted row's consent_id is the
--    identity of the consent inserted for it, drawn in row order;
-- 6. the log after a set-based load equals the log the row-by-row API
--    writes for the same accepted rows, from the same head.
SET client_min_messages = warning;
DROP DATABASE IF EXISTS regress_log_direct;
CREATE DATABASE regress_log_direct;
\c regress_log_direct
SET client_min_messages = warning;
CREATE EXTENSION childguard CASCADE;
RESET client_min_messages;
\set VERBOSITY terse
\i test/fixtures/regress_purpose.psql
-- even children 16 years old, odd ones 8 (far from 14 whatever the day)
SELECT count(childguard.register_child('ld-' || i, (current_date - CASE WHEN i % 2 = 0 THEN interval '16 years' ELSE interval '8 years' END)::date)) AS children
  FROM generate_series(1, 40) i;
SET ROLE regress_fixture_recorder;
SELECT count(childguard.register_guardian('g-ld-' || i, 'ld-' || i)) AS guardians FROM generate_series(1, 40) i;
RESET ROLE;
-- two purposes each; every fifth child gives its own consent; faults: an
-- unknown child, a child under 14 alone, a guardian for a child of 14 or
-- over (the report says which)
CREATE TABLE ld_k AS
	SELECT 'ld-' || i AS child_id, p AS purpose, 'regress-notice'::text AS notice,
	       CASE WHEN i % 5 = 0 THEN 'ld-' || i ELSE 'g-ld-' || i END AS given_by,
	       CASE WHEN i % 7 = 0 THEN 'refused' ELSE 'granted' END AS decision
	  FROM generate_series(1, 40) i, (VALUES ('regress'), ('regress_transfer')) v(p);
INSERT INTO ld_k VALUES ('ld-nobody', 'regress', 'regress-notice', 'g-ld-1', 'granted');
GRANT SELECT ON ld_k TO regress_fixture_recorder;
CREATE FUNCTION pg_temp.log_since(base bigint) RETURNS text LANGUAGE sql AS $$
	SELECT coalesce(string_agg(concat_ws('|', l.event_id, l.at, l.consent_id, l.subject_no, l.purpose_id, l.event,
	                                     l.giver_kind, l.guardian_id, l.notice_id, l.notice_version, l.by_role,
	                                     l.by_role_name, l.session_role_name, encode(l.prev_hash, 'hex'),
	                                     encode(l.hash, 'hex')), E'\n' ORDER BY l.event_id), '')
	       || ' head ' || (SELECT concat_ws(' ', h.last_id, encode(h.last_hash, 'hex')) FROM childguard.consent_log_head h)
	  FROM childguard.consent_log l WHERE l.event_id > base
$$;
CREATE FUNCTION pg_temp.load() RETURNS text LANGUAGE plpgsql AS $$
DECLARE
	r text;
BEGIN
	PERFORM setval(pg_get_serial_sequence('childguard.consent', 'consent_id'), 7000);
	SET ROLE regress_fixture_recorder;
	SELECT count(*) || ' rows, ' || count(sqlstate) || ' refused' INTO r FROM childguard.record_consents('ld_k');
	RESET ROLE;
	-- rows inserted whole with their history, in descending order
	INSERT INTO childguard.consent (consent_id, subject_no, purpose_id, decision, giver_kind, guardian_id,
	                                notice_id, notice_version, recorded_by, recorded_by_role, given_at,
	                                withdrawn_at, withdrawn_by, lapsed_at)
	OVERRIDING SYSTEM VALUE
	SELECT 3000 - v, c.subject_no, p.purpose_id, 'granted', 'guardian', 'g-ld-1',
	       n.notice_id, n.version, 'restored',
	       CASE WHEN v % 2 = 0 THEN 'regress_fixture_recorder'::regrole END,
	       timestamptz '2020-01-01 00:00:00.5+00' + v * interval '1 day',
	       CASE WHEN v % 3 <> 0 THEN timestamptz '2021-02-03 04:05:06.5+00' END,
	       CASE WHEN v % 3 = 1 THEN 'regress_fixture_dpo'::regrole END,
	       CASE WHEN v >= 4 THEN timestamptz '2022-01-01+00' END
	  FROM childguard.child c, childguard.purpose p, childguard.notice n, generate_series(1, 6) v
	 WHERE c.child_id = 'ld-1' AND p.purpose = 'regress' AND n.notice_id = 'regress-notice'
	 ORDER BY v;
	RETURN r;
END
$$;
SELECT last_id AS base FROM childguard.consent_log_head \gset

-- 1. the INSERT route (an owner's row trigger on the log), then the direct
-- route, from the same head
CREATE TABLE public.log_rows_seen (event_id bigint, by_statement boolean);
CREATE FUNCTION public.count_log_row() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	INSERT INTO public.log_rows_seen VALUES (NEW.event_id, false);
	RETURN NEW;
END
$$;
BEGIN;
SAVEPOINT by_insert;
CREATE TRIGGER count_log_row AFTER INSERT ON childguard.consent_log
	FOR EACH ROW EXECUTE FUNCTION public.count_log_row();
SELECT pg_temp.load() AS by_insert;
SELECT pg_temp.log_since(:base) AS insert_rows \gset
SELECT count(*) AS trigger_fired, count(DISTINCT event_id) AS distinct_events,
       (SELECT count(*) FROM childguard.consent_log WHERE event_id > :base) AS events
  FROM public.log_rows_seen;
ROLLBACK TO SAVEPOINT by_insert;
SELECT count(*) AS triggers_left FROM pg_trigger WHERE tgrelid = 'childguard.consent_log'::regclass AND tgname = 'count_log_row';
SELECT pg_temp.load() AS direct;
SELECT pg_temp.log_since(:base) AS direct_rows \gset
COMMIT;
SELECT :'direct_rows' = :'insert_rows' AS same_rows,
       array_length(string_to_array(:'direct_rows', E'\n'), 1) AS lines_compared,
       (SELECT count(*) FROM public.log_rows_seen) AS trigger_rows_after_rollback;
SELECT valid, records_checked, broken_id, reason FROM childguard.verify_consent_log();
-- 5. the report's consent ids are the consents inserted for those rows, in row order
SET ROLE regress_fixture_recorder;
CREATE TEMP TABLE rep AS SELECT * FROM childguard.record_consents('ld_k');
RESET ROLE;
SELECT count(*) AS rows, count(consent_id) AS accepted, count(sqlstate) AS refused,
       bool_and(consent_id IS NULL = (sqlstate IS NOT NULL)) AS id_iff_accepted,
       (SELECT bool_and(a.consent_id < b.consent_id) FROM rep a JOIN rep b ON b.row_no = (
            SELECT min(row_no) FROM rep x WHERE x.row_no > a.row_no AND x.consent_id IS NOT NULL)
         WHERE a.consent_id IS NOT NULL) AS ids_in_row_order
  FROM rep;
SELECT count(*) AS matched FROM rep r
  JOIN childguard.consent c ON c.consent_id = r.consent_id
  JOIN childguard.child ch ON ch.subject_no = c.subject_no AND ch.child_id = r.child_id
  JOIN childguard.purpose p ON p.purpose_id = c.purpose_id AND p.purpose = r.purpose;
SELECT sqlstate, regexp_replace(message, '"[^"]*"', '"…"') AS message, count(*) FROM rep
 WHERE sqlstate IS NOT NULL GROUP BY 1, 2 ORDER BY 1, 2;

-- 6. set-based against row by row, from the same head and identity: the
-- rows record_consents() accepts, recorded one by one with record_consent()
-- (one statement each), give the same log, hashes included
BEGIN;
SELECT last_id AS base6 FROM childguard.consent_log_head \gset
SELECT last_value AS seq6 FROM childguard.consent_consent_id_seq \gset
SAVEPOINT set_based;
SET LOCAL ROLE regress_fixture_recorder;
CREATE TEMP TABLE rep6 AS SELECT * FROM childguard.record_consents('ld_k');
RESET ROLE;
SELECT pg_temp.log_since(:base6) AS set_rows \gset
SELECT string_agg(row_no::text, ',' ORDER BY row_no) AS accepted_rows FROM rep6 WHERE sqlstate IS NULL \gset
ROLLBACK TO SAVEPOINT set_based;
SELECT setval('childguard.consent_consent_id_seq', :seq6);
CREATE FUNCTION pg_temp.one_by_one(rows bigint[]) RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
	k record;
	n bigint := 0;
BEGIN
	FOR k IN SELECT * FROM (SELECT row_number() OVER (ORDER BY ctid) AS row_no, l.* FROM ld_k l) x
	          WHERE x.row_no = ANY (rows) ORDER BY x.row_no LOOP
		PERFORM childguard.record_consent(k.child_id, k.purpose, k.notice, k.given_by, k.decision);
		n := n + 1;
	END LOOP;
	RETURN n;
END
$$;
SET LOCAL ROLE regress_fixture_recorder;
SELECT pg_temp.one_by_one(string_to_array(:'accepted_rows', ',')::bigint[]) AS recorded_one_by_one;
RESET ROLE;
SELECT pg_temp.log_since(:base6) AS row_rows \gset
ROLLBACK;
SELECT :'set_rows' = :'row_rows' AS same_log_as_row_by_row,
       array_length(string_to_array(:'set_rows', E'\n'), 1) AS lines_compared;

-- 2. a CHECK constraint added by the owner refuses on the direct route:
-- 23514, no consent, no event, the head as it was
SELECT last_id AS base2, encode(last_hash, 'hex') AS hash2 FROM childguard.consent_log_head \gset
SELECT count(*) AS consents2 FROM childguard.consent \gset
ALTER TABLE childguard.consent_log ADD CONSTRAINT no_refusals CHECK (event <> 'refused') NOT VALID;
SET ROLE regress_fixture_recorder;
SELECT count(*) FROM childguard.record_consents('ld_k');
RESET ROLE;
SELECT (SELECT count(*) FROM childguard.consent) = :consents2 AS no_consent_added,
       (SELECT count(*) FROM childguard.consent_log WHERE event_id > :base2) AS events_added,
       (SELECT last_id = :base2 AND encode(last_hash, 'hex') = :'hash2' FROM childguard.consent_log_head) AS head_unchanged;
ALTER TABLE childguard.consent_log DROP CONSTRAINT no_refusals;

-- 3. the log's primary key: an event number already taken (a row put there
-- by its owner) fails the load with 23505, nothing changed
BEGIN;
INSERT INTO childguard.consent_log (event_id, at, consent_id, subject_no, purpose_id, event, giver_kind,
                                    notice_id, notice_version, hash)
SELECT h.last_id + 1, now(), 1, 1, 1, 'granted', 'child', 'regress-notice', 1, '\x00'
  FROM childguard.consent_log_head h;
SAVEPOINT dup;
SET LOCAL ROLE regress_fixture_recorder;
SELECT count(*) FROM childguard.record_consents('ld_k');
ROLLBACK TO SAVEPOINT dup;
RESET ROLE;
SELECT (SELECT count(*) FROM childguard.consent) = :consents2 AS no_consent_added,
       (SELECT count(*) FROM childguard.consent_log WHERE event_id > :base2 AND hash <> '\x00') AS events_added;
ROLLBACK;

-- 4. a statement trigger on INSERT into the log fires as for any INSERT
CREATE FUNCTION public.count_log_statement() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	INSERT INTO public.log_rows_seen SELECT n.event_id, true FROM new_rows n;
	RETURN NULL;
END
$$;
CREATE TRIGGER count_log_statement AFTER INSERT ON childguard.consent_log
	REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION public.count_log_statement();
SET ROLE regress_fixture_recorder;
SELECT count(*) AS rows, count(sqlstate) AS refused FROM childguard.record_consents('ld_k');
RESET ROLE;
SELECT count(*) = (SELECT count(*) FROM childguard.consent_log WHERE event_id > :base2) AS every_event_seen,
       count(*) > 0 AS some_events
  FROM public.log_rows_seen WHERE by_statement;
DROP TRIGGER count_log_statement ON childguard.consent_log;
SELECT valid, broken_id, reason FROM childguard.verify_consent_log();
\c contrib_regression
DROP DATABASE regress_log_direct;
