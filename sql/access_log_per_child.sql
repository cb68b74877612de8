-- Per-child reads of the packed access log (1.9): _access_log_for_child()
-- reads the rows of 1.0-1.7 through their GIN index and unpacks only the
-- batches whose subjects name the child.  For every child of a generated
-- log (reads, denied reads, writes, reads of many children at once; packed
-- batches, and rows of the old table) it returns exactly the records the
-- access_log view holds for the child, whole rows; child_report() lists
-- the same accesses; each batch's subjects are its records' children; and
-- the plans use the indexes.  A database of its own.
SET client_min_messages = warning;
DROP DATABASE IF EXISTS regress_log_child;
CREATE DATABASE regress_log_child;
\c regress_log_child
SET client_min_messages = warning;
CREATE EXTENSION childguard CASCADE;
RESET client_min_messages;
\set VERBOSITY default
\set SHOW_CONTEXT never

SELECT count(childguard.register_child('k-' || i, '2014-01-01')) AS registered
  FROM generate_series(1, 12) i;
SELECT count(childguard.register_child('n-' || i, '2014-01-01')) AS registered
  FROM generate_series(1, 3) i;
\i test/fixtures/regress_purpose.psql
SELECT pg_temp.consent_all() AS consents;
-- one child the log never names
SELECT childguard.register_child('never', '2014-01-01') IS NOT NULL AS never_named;
CREATE TABLE pupils (id text PRIMARY KEY, name childguard.child_data(name));
SELECT childguard.protect('pupils', 'id');
SET childguard.purpose = 'regress';
INSERT INTO pupils SELECT 'k-' || i, 'name ' || i FROM generate_series(1, 12) i;
INSERT INTO pupils SELECT 'n-' || i, 'name ' || i FROM generate_series(1, 3) i;
-- three children's consent withdrawn: their reads are denied (NULLs shown)
SET ROLE regress_fixture_recorder;
SELECT count(childguard.withdraw_consent('n-' || i, 'regress', 'g-n-' || i)) AS withdrawn
  FROM generate_series(1, 3) i;
RESET ROLE;
SET childguard.denied_read = 'null';

\pset tuples_only on
\o /dev/null
-- point reads, reads of several children, denied reads, writes
SELECT format('SELECT name FROM pupils WHERE id = %L', 'k-' || (i % 12 + 1))
  FROM generate_series(1, 30) i \gexec
SELECT childguard.audit_wait();
SELECT format('SELECT name FROM pupils WHERE id IN (%L, %L, %L)',
              'k-' || (i % 12 + 1), 'k-' || ((i + 5) % 12 + 1), 'n-' || (i % 3 + 1))
  FROM generate_series(1, 12) i \gexec
SELECT childguard.audit_wait();
SELECT format('UPDATE pupils SET name = %L WHERE id = %L', 'renamed ' || i, 'k-' || (i % 12 + 1))
  FROM generate_series(1, 8) i \gexec
SELECT name FROM pupils;
\o
\pset tuples_only off
RESET childguard.denied_read;
RESET childguard.purpose;
SELECT childguard.audit_wait();

-- several batches (each audit_wait() above ends one), some of several
-- records and several children
SELECT count(*) >= 3 AS several_batches,
       bool_or(records > 1) AS a_batch_of_several,
       bool_or(cardinality(subjects) > 1) AS a_batch_of_several_children
  FROM childguard.access_log_batch;

-- each batch's subjects: the distinct children its records name, sorted
SELECT count(*) AS batches_whose_subjects_differ
  FROM childguard.access_log_batch b
 WHERE b.subjects IS DISTINCT FROM ARRAY(
	SELECT DISTINCT s FROM childguard.access_log l,
	       unnest(l.children_read || l.children_denied || l.children_written) s
	 WHERE l.id BETWEEN b.first_id AND b.last_id ORDER BY s);

-- records of the old table (1.0-1.7): copies of the packed records, under
-- other ids, written with the guard switched off in this transaction only
-- (a new session: it loads the table's triggers after the edit)
\c regress_log_child
BEGIN;
UPDATE pg_trigger SET tgenabled = 'D' WHERE tgrelid = 'childguard.access_log_rows'::regclass;
INSERT INTO childguard.access_log_rows
	SELECT id + 100000, statement_at, logged_at, session_id, backend_pid, session_role,
	       acting_role, client_addr, application_name, command, purpose, grant_id, relations,
	       columns, children_read, children_denied, children_written, children, rows, outcome,
	       sqlstate, query_id, prev_hash, hash, 3, end_user
	  FROM childguard.access_log WHERE id % 2 = 0;
UPDATE pg_trigger SET tgenabled = 'A' WHERE tgrelid = 'childguard.access_log_rows'::regclass;

-- every child, and one the log never names: the same records, whole rows
CREATE TEMP TABLE subjects AS
	SELECT subject_no, child_id FROM childguard.child;
SELECT count(*) AS children,
       count(*) FILTER (WHERE n_view > 0) AS children_named,
       count(*) FILTER (WHERE n_view = 0) AS children_never_named,
       count(*) FILTER (WHERE n_rows > 0) AS children_in_the_old_rows,
       count(*) FILTER (WHERE n_denied > 0) AS children_denied,
       count(*) FILTER (WHERE n_written > 0) AS children_written,
       count(*) FILTER (WHERE differing > 0) AS children_differing
  FROM (SELECT s.subject_no,
               (SELECT count(*) FROM childguard.access_log l
                 WHERE s.subject_no = ANY (l.children_read || l.children_denied || l.children_written)) AS n_view,
               (SELECT count(*) FROM childguard.access_log_rows l
                 WHERE s.subject_no = ANY (l.children_read || l.children_denied || l.children_written)) AS n_rows,
               (SELECT count(*) FROM childguard.access_log l
                 WHERE s.subject_no = ANY (l.children_denied)) AS n_denied,
               (SELECT count(*) FROM childguard.access_log l
                 WHERE s.subject_no = ANY (l.children_written)) AS n_written,
               (SELECT count(*) FROM (
                   (SELECT * FROM childguard._access_log_for_child(s.subject_no)
                    EXCEPT ALL
                    SELECT * FROM childguard.access_log l
                     WHERE s.subject_no = ANY (l.children_read || l.children_denied || l.children_written))
                   UNION ALL
                   (SELECT * FROM childguard.access_log l
                     WHERE s.subject_no = ANY (l.children_read || l.children_denied || l.children_written)
                    EXCEPT ALL
                    SELECT * FROM childguard._access_log_for_child(s.subject_no))) d) AS differing
          FROM subjects s) x;

-- a subject number no child has, and NULL: nothing
SELECT count(*) AS records_for_nobody
  FROM childguard._access_log_for_child((SELECT max(subject_no) + 1000 FROM childguard.child));
SELECT count(*) AS records_for_null FROM childguard._access_log_for_child(NULL);

-- child_report() lists, for every child, the accesses the view has
SELECT count(*) FILTER (WHERE r IS DISTINCT FROM v) AS reports_differing,
       count(*) FILTER (WHERE coalesce(cardinality(v), 0) > 0) AS reports_with_accesses
  FROM (SELECT s.child_id,
               (SELECT array_agg((a->>'id')::bigint ORDER BY (a->>'id')::bigint)
                  FROM jsonb_array_elements(childguard.child_report(s.child_id)->'accesses') a) AS r,
               (SELECT array_agg(l.id ORDER BY l.id) FROM childguard.access_log l
                 WHERE s.subject_no = ANY (l.children_read || l.children_denied || l.children_written)) AS v
          FROM subjects s) x;
-- its access kinds as before
SELECT count(*) AS access_kinds_differing
  FROM subjects s,
       jsonb_array_elements(childguard.child_report(s.child_id)->'accesses') a
  JOIN childguard.access_log l ON l.id = (a->>'id')::bigint AND l.format_version = 4
 WHERE a->'access' IS DISTINCT FROM (
	SELECT jsonb_agg(k) FROM unnest(ARRAY[
		CASE WHEN s.subject_no = ANY (l.children_read) THEN 'read' END,
		CASE WHEN s.subject_no = ANY (l.children_denied) THEN 'denied' END,
		CASE WHEN s.subject_no = ANY (l.children_written) THEN 'written' END]) k
	 WHERE k IS NOT NULL);
ROLLBACK;

-- the plans read through the indexes, not every batch
SET enable_seqscan = off;
SELECT count(*) > 0 AS batch_index_used FROM (
	SELECT * FROM childguard.access_log_batch b
	 WHERE b.subjects @> ARRAY[1::bigint]) x;
EXPLAIN (COSTS OFF) SELECT first_id FROM childguard.access_log_batch b
 WHERE b.subjects @> ARRAY[1::bigint];
EXPLAIN (COSTS OFF) SELECT id FROM childguard.access_log_rows r
 WHERE (r.children_read || r.children_denied || r.children_written) @> ARRAY[1::bigint];
RESET enable_seqscan;

-- not for PUBLIC (it reads the batches); the unpacker reads only its arguments
SELECT has_function_privilege('public', 'childguard._access_log_for_child(bigint)',
                              'EXECUTE') AS public_may_run,
       has_function_privilege('public',
                              'childguard._access_log_unpack_child(bigint, timestamptz, bytea, bytea, bigint)',
                              'EXECUTE') AS public_may_unpack;

-- the chain verifies with the subjects column
SELECT valid FROM childguard.verify_access_log();

\c contrib_regression
SET client_min_messages = warning;
DROP DATABASE regress_log_child;
