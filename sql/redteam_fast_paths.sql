-- Red team of the 1.7 fast paths (docs/security.md, "Attacks on the 1.7
-- fast paths"): each route below tries to make a fast path answer what the
-- slow path it replaced would not.  The consent log written the way COPY
-- FROM writes it (src/consent/consent_log_append.c) must be taken only when
-- a plain INSERT would do nothing more; the ids record_consents() draws in
-- its fault table must be the consents inserted; the protection memo
-- (src/enforce/protection.c) must never be staler than the catalog;
-- childguard._replication_applying() must not be spoofable by a session;
-- _new_data_key()'s descriptor kept in fn_extra must hold for any call
-- site.  Sections 1 and 2 were open on 1.7 (the direct route skipped them);
-- the others pin routes found closed.
SET client_min_messages = warning;
DROP DATABASE IF EXISTS regress_fast_paths;
CREATE DATABASE regress_fast_paths;
\c regress_fast_paths
SET client_min_messages = warning;
CREATE EXTENSION childguard CASCADE;
RESET client_min_messages;
\set VERBOSITY terse
\i test/fixtures/regress_purpose.psql
-- children of 16 give their own consent
SELECT count(childguard.register_child('fp-' || i, (current_date - interval '16 years')::date)) AS children
  FROM generate_series(1, 12) i;
CREATE FUNCTION pg_temp.consent(child text, purpose text DEFAULT 'regress') RETURNS bigint
	LANGUAGE plpgsql AS $$
DECLARE
	id bigint;
BEGIN
	SET LOCAL ROLE regress_fixture_recorder;
	id := childguard.record_consent(child, purpose, 'regress-notice', child, 'granted');
	RESET ROLE;
	RETURN id;
END
$$;
CREATE FUNCTION pg_temp.state() RETURNS text LANGUAGE sql AS $$
	SELECT (SELECT count(*) FROM childguard.consent) || ' consents, ' ||
	       (SELECT count(*) FROM childguard.consent_log) || ' events, head ' ||
	       (SELECT last_id FROM childguard.consent_log_head)
$$;

-- 1. The log attached as a partition (by its owner) of a table whose bound
-- leaves out the next event: an INSERT checks the partition constraint
-- (23514), the direct route did not and wrote the event outside its bound.
SELECT pg_temp.state() AS before;
CREATE TABLE public.log_parent (LIKE childguard.consent_log) PARTITION BY RANGE (event_id);
ALTER TABLE public.log_parent ATTACH PARTITION childguard.consent_log
	FOR VALUES FROM (MINVALUE) TO (1);
SELECT pg_temp.consent('fp-1');
SELECT pg_temp.state() AS after_refused;
SELECT count(*) AS outside_bound FROM childguard.consent_log WHERE event_id >= 1;
ALTER TABLE public.log_parent DETACH PARTITION childguard.consent_log;
DROP TABLE public.log_parent;

-- 2. A rule on INSERT into the log (its owner's): an INSERT is rewritten
-- by it, so every event is copied too; the direct route skipped it.  As
-- with a trigger, the rows in the log are the same either way.
CREATE TABLE public.log_copy (LIKE childguard.consent_log);
CREATE RULE log_copy AS ON INSERT TO childguard.consent_log
	DO ALSO INSERT INTO public.log_copy SELECT NEW.*;
SELECT pg_temp.consent('fp-2') > 0 AS recorded;
SELECT (SELECT count(*) FROM public.log_copy) AS copied,
       (SELECT count(*) FROM childguard.consent_log) AS events,
       (SELECT count(*) FROM public.log_copy c JOIN childguard.consent_log l
          ON l.event_id = c.event_id AND l.hash = c.hash) AS same_rows;
DROP RULE log_copy ON childguard.consent_log;
SELECT pg_temp.consent('fp-2', 'regress_transfer') > 0 AS recorded;
SELECT count(*) AS copied_without_rule FROM public.log_copy;
SELECT valid, records_checked FROM childguard.verify_consent_log();

-- 3. Closed: what else the owner can change on the log, each giving what an
-- INSERT gives.
-- 3a. a column added then dropped: the direct route, the chain intact
ALTER TABLE childguard.consent_log ADD COLUMN scratch int;
ALTER TABLE childguard.consent_log DROP COLUMN scratch;
SELECT pg_temp.consent('fp-3') > 0 AS recorded;
-- 3b. a column with a default, and a generated one: filled as by an INSERT
ALTER TABLE childguard.consent_log ADD COLUMN stamped text DEFAULT 'by default',
	ADD COLUMN doubled bigint GENERATED ALWAYS AS (event_id * 2) STORED;
SELECT pg_temp.consent('fp-4') > 0 AS recorded;
SELECT stamped, doubled = event_id * 2 AS generated FROM childguard.consent_log
 WHERE event_id = (SELECT last_id FROM childguard.consent_log_head);
ALTER TABLE childguard.consent_log DROP COLUMN stamped, DROP COLUMN doubled;
-- 3c. a domain with a CHECK on a column (no event after the last one):
-- refused, nothing changed
SELECT last_id AS last FROM childguard.consent_log_head \gset
CREATE DOMAIN public.up_to_now AS bigint CHECK (VALUE <= :last);
ALTER TABLE childguard.consent_log ALTER COLUMN event_id TYPE public.up_to_now;
SELECT pg_temp.state() AS before;
SELECT pg_temp.consent('fp-5');
SELECT pg_temp.state() AS after_refused;
ALTER TABLE childguard.consent_log ALTER COLUMN event_id TYPE bigint;
-- 3d. a deferred unique constraint (one event per instant: the two
-- decisions of a transaction share its time): checked at COMMIT, as for
-- an INSERT; nothing kept
ALTER TABLE childguard.consent_log ADD CONSTRAINT one_per_instant UNIQUE (at)
	DEFERRABLE INITIALLY DEFERRED;
SELECT pg_temp.state() AS before;
BEGIN;
SELECT pg_temp.consent('fp-6') > 0 AS first;
SELECT pg_temp.consent('fp-6', 'regress_transfer') > 0 AS second;
COMMIT;
SELECT pg_temp.state() AS after_refused;
ALTER TABLE childguard.consent_log DROP CONSTRAINT one_per_instant;
-- 3e. a row trigger disabled mid-transaction: the INSERT route, which
-- honours the disabling (the trigger does not fire)
CREATE TABLE public.fired (event_id bigint);
CREATE FUNCTION public.note_fired() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	INSERT INTO public.fired VALUES (NEW.event_id);
	RETURN NEW;
END
$$;
CREATE TRIGGER note_fired AFTER INSERT ON childguard.consent_log
	FOR EACH ROW EXECUTE FUNCTION public.note_fired();
BEGIN;
SELECT pg_temp.consent('fp-7') > 0 AS recorded;
ALTER TABLE childguard.consent_log DISABLE TRIGGER note_fired;
SELECT pg_temp.consent('fp-7', 'regress_transfer') > 0 AS recorded;
ALTER TABLE childguard.consent_log ENABLE TRIGGER note_fired;
SELECT pg_temp.consent('fp-8') > 0 AS recorded;
COMMIT;
SELECT count(*) AS fired, count(*) FILTER (WHERE event_id IN (SELECT l.event_id FROM childguard.consent_log l
                                                              JOIN childguard.child c USING (subject_no)
                                                             WHERE c.child_id = 'fp-7' AND l.purpose_id =
                                                                   (SELECT purpose_id FROM childguard.purpose
                                                                     WHERE purpose = 'regress_transfer'))) AS fired_while_disabled
  FROM public.fired;
DROP TRIGGER note_fired ON childguard.consent_log;
-- 3f. a table of the same name earlier on the search path: the log is
-- childguard's, whatever the path
CREATE TABLE public.consent_log (LIKE childguard.consent_log);
SET search_path = public, childguard;
SELECT pg_temp.consent('fp-9') > 0 AS recorded;
RESET search_path;
SELECT count(*) AS in_decoy FROM public.consent_log;
-- 3g. row security enabled and forced later, with a policy refusing every
-- row, and the log given to another owner: the INSERT route (the trigger
-- writes as the extension's owner, a superuser here, whom row security
-- does not bind, on either route)
ALTER TABLE childguard.consent_log ENABLE ROW LEVEL SECURITY, FORCE ROW LEVEL SECURITY;
CREATE POLICY refuse_all ON childguard.consent_log WITH CHECK (false);
ALTER TABLE childguard.consent_log OWNER TO regress_fixture_dpo;
SELECT pg_temp.consent('fp-9', 'regress_transfer') > 0 AS recorded;
ALTER TABLE childguard.consent_log OWNER TO CURRENT_USER;
DROP POLICY refuse_all ON childguard.consent_log;
ALTER TABLE childguard.consent_log NO FORCE ROW LEVEL SECURITY, DISABLE ROW LEVEL SECURITY;
SELECT valid, records_checked FROM childguard.verify_consent_log();

-- 4. record_consents()'s ids drawn in its fault table: the sequence moved
-- ahead, drawing by 7 and cached (setval, another caller's nextval between
-- the calls); each report row names the consent inserted for it.
ALTER SEQUENCE childguard.consent_consent_id_seq INCREMENT BY 7 CACHE 20;
SELECT setval('childguard.consent_consent_id_seq', 90000) > 0 AS moved;
SELECT nextval('childguard.consent_consent_id_seq') > 0 AS drawn_elsewhere;
CREATE TABLE public.fp_k AS
	SELECT 'fp-' || i AS child_id, 'regress' AS purpose, 'regress-notice'::text AS notice,
	       'fp-' || i AS given_by
	  FROM generate_series(10, 12) i
	UNION ALL SELECT 'fp-nobody', 'regress', 'regress-notice', 'fp-nobody'
	UNION ALL SELECT 'fp-11', 'regress_transfer', 'regress-notice', 'fp-11';
GRANT SELECT ON public.fp_k TO regress_fixture_recorder;
SET ROLE regress_fixture_recorder;
CREATE TEMP TABLE rep AS SELECT * FROM childguard.record_consents('public.fp_k');
RESET ROLE;
SELECT count(*) AS rows, count(consent_id) AS accepted,
       (SELECT count(*) FROM rep r
          JOIN childguard.consent c ON c.consent_id = r.consent_id
          JOIN childguard.child ch ON ch.subject_no = c.subject_no AND ch.child_id = r.child_id
          JOIN childguard.purpose p ON p.purpose_id = c.purpose_id AND p.purpose = r.purpose) AS named_right,
       bool_and(consent_id > 90000) FILTER (WHERE consent_id IS NOT NULL) AS after_setval
  FROM rep;
ALTER SEQUENCE childguard.consent_consent_id_seq INCREMENT BY 1 CACHE 1;
SELECT valid FROM childguard.verify_consent_log();

-- 5. The protection memo never answers for a change made since, in the
-- same transaction or undone by a savepoint's rollback.
SET childguard.purpose = 'regress';
CREATE TABLE public.memo_t (id text PRIMARY KEY, name childguard.child_data);
BEGIN;
SAVEPOINT s;
SELECT childguard.protect('public.memo_t', 'id', '{"name": "name"}');
INSERT INTO public.memo_t VALUES ('fp-3', 'three');
ROLLBACK TO SAVEPOINT s;
INSERT INTO public.memo_t VALUES ('fp-2', 'two');                    -- not protected any more
ROLLBACK;
BEGIN;
SELECT childguard.protect('public.memo_t', 'id', '{"name": "name"}');
INSERT INTO public.memo_t VALUES ('fp-3', 'three');
SELECT childguard.unprotect('public.memo_t');
INSERT INTO public.memo_t VALUES ('fp-2', 'two');                    -- unprotected in this transaction
ROLLBACK;
DROP TABLE public.memo_t;
CREATE TABLE public.memo_t (id text PRIMARY KEY, name childguard.child_data);
SELECT childguard.protect('public.memo_t', 'id', '{"name": "name"}');
INSERT INTO public.memo_t VALUES ('fp-3', 'three');
DROP TABLE public.memo_t;
CREATE TABLE public.memo_t (id text PRIMARY KEY, name childguard.child_data);
INSERT INTO public.memo_t VALUES ('fp-3', 'three');                    -- the same name, not protected
-- ExecutorFinish's fast path (a SELECT that queued nothing) skips no
-- decision: a SELECT ... FOR UPDATE, a data-modifying WITH, a volatile
-- function writing child data, each for a child with consent (fp-3) and one
-- without (fp-1: refused, nothing written)
CREATE TABLE public.memo_p (id text PRIMARY KEY, name childguard.child_data);
SELECT childguard.protect('public.memo_p', 'id', '{"name": "name"}');
CREATE FUNCTION public.write_child(k text, v text) RETURNS text LANGUAGE plpgsql VOLATILE AS $$
BEGIN
	INSERT INTO public.memo_p VALUES (k, v);
	RETURN k;
END
$$;
WITH w AS (INSERT INTO public.memo_p VALUES ('fp-3', 'three') RETURNING id, name) SELECT id, name FROM w;
WITH w AS (INSERT INTO public.memo_p VALUES ('fp-1', 'one') RETURNING id) SELECT id FROM w;
SELECT id, name FROM public.memo_p WHERE id = 'fp-3' FOR UPDATE;
SELECT public.write_child('fp-1', 'one');
SELECT public.write_child('fp-2', 'two');
SELECT id, name FROM public.memo_p ORDER BY id FOR SHARE;
RESET childguard.purpose;

-- 6. childguard._replication_applying() is true only in a logical
-- replication worker: a session cannot make the <table>_applied triggers
-- act, whatever it sets; other roles cannot call it at all.
SET session_replication_role = replica;
SELECT childguard._replication_applying() AS applying_as_replica;
RESET session_replication_role;
SELECT has_function_privilege('regress_fixture_recorder', 'childguard._replication_applying()', 'EXECUTE') AS recorder_may_call;

-- 7. _new_data_key() with its descriptor in fn_extra: from a cursor, in a
-- set-returning context, with NULL and odd arguments
BEGIN;
DECLARE k CURSOR FOR SELECT length(k.wrapped_key) AS wrapped, length(k.master_key_id) AS id
  FROM generate_series(1, 3) g, LATERAL childguard._new_data_key(g, 1) k;
FETCH 2 FROM k;
FETCH 2 FROM k;
CLOSE k;
COMMIT;
SELECT count(*) AS keys, count(DISTINCT k.wrapped_key) AS distinct_keys,
       min(length(k.master_key_id)) = max(length(k.master_key_id)) AS same_id_length
  FROM generate_series(-2, 2) g, LATERAL childguard._new_data_key(g, 2147483647) k;
SELECT k IS NULL AS null_for_null FROM childguard._new_data_key(NULL, 1) k;
SELECT count(*) AS keys FROM (SELECT childguard._new_data_key(g, g::int) FROM generate_series(1, 4) g) s;

-- 8. The audit writer's own direct store (1.6, audit_log_store.c: a
-- multi-insert, checked like COPY FROM) checks no partition's bound either:
-- the access log attached to a partitioned table whose bound leaves out
-- the next records got them outside it, hidden from a query of the parent
-- that prunes by the bound.  The audit guard now refuses to attach either
-- log table (as it refuses inheriting from them), for every role.
SELECT coalesce(max(id), 0) + 1 AS next_record FROM childguard.access_log \gset
CREATE TABLE public.al_parent (LIKE childguard.access_log) PARTITION BY RANGE (id);
ALTER TABLE public.al_parent ATTACH PARTITION childguard.access_log FOR VALUES FROM (MINVALUE) TO (:next_record);
CREATE TABLE public.alh_parent (LIKE childguard.access_log_head) PARTITION BY LIST (last_id);
ALTER TABLE public.alh_parent ATTACH PARTITION childguard.access_log_head DEFAULT;
SELECT count(*) AS log_partitions FROM pg_class
 WHERE oid IN ('childguard.access_log'::regclass, 'childguard.access_log_head'::regclass) AND relispartition;

\c contrib_regression
SET client_min_messages = warning;
DROP DATABASE regress_fast_paths;
