-- breach_impact()'s time window reads only the batches whose bounds meet it
-- (_access_log_between, 1.8): the same records as the access_log view
-- filtered on statement_at, for every window whose ends fall on, between or
-- beyond the records' times, including windows that cut through a batch.
-- A database of its own.
SET client_min_messages = warning;
DROP DATABASE IF EXISTS regress_log_window;
CREATE DATABASE regress_log_window;
\c regress_log_window
SET client_min_messages = warning;
CREATE EXTENSION childguard CASCADE;
RESET client_min_messages;
\set VERBOSITY default
\set SHOW_CONTEXT never

SELECT childguard.register_child('w-1', '2015-05-01') AS w1,
       childguard.register_child('w-2', '2016-06-01') AS w2;
\i test/fixtures/regress_purpose.psql
SELECT pg_temp.consent_all() AS consents;
CREATE TABLE pupils (id text PRIMARY KEY, name childguard.child_data(name));
SELECT childguard.protect('pupils', 'id');
SET childguard.purpose = 'regress';
INSERT INTO pupils VALUES ('w-1', '小明'), ('w-2', '小红');

-- forty reads in a row, a few milliseconds apart: the writer packs several
-- of them into each batch
\pset tuples_only on
SELECT format('SELECT name FROM pupils WHERE id = %L', 'w-' || (i % 2 + 1))
  FROM generate_series(1, 40) i \gexec
\pset tuples_only off
RESET childguard.purpose;
SELECT childguard.audit_wait();

-- some batch holds more than one record, with different statement times:
-- a window can end inside it
SELECT bool_or(records > 1 AND first_statement_at < last_statement_at) AS a_batch_to_cut
  FROM childguard.access_log_batch;

-- every window [a, b) over the records' times, their midpoints and beyond
CREATE TEMP TABLE edges AS
	SELECT DISTINCT statement_at AS t FROM childguard.access_log
	UNION SELECT statement_at + interval '1 microsecond' FROM childguard.access_log
	UNION SELECT '-infinity'::timestamptz UNION SELECT 'infinity'::timestamptz;
SELECT count(*) AS windows,
       count(*) FILTER (WHERE NOT same) AS windows_differing,
       count(*) FILTER (WHERE cuts_batch) > 0 AS some_window_cuts_a_batch
  FROM (SELECT a.t AS from_t, b.t AS to_t,
               (SELECT array_agg(id ORDER BY id) FROM childguard._access_log_between(a.t, b.t))
                 IS NOT DISTINCT FROM
               (SELECT array_agg(id ORDER BY id) FROM childguard.access_log
                 WHERE statement_at >= a.t AND statement_at < b.t) AS same,
               EXISTS (SELECT FROM childguard.access_log_batch k
                        WHERE k.first_statement_at < b.t AND b.t <= k.last_statement_at) AS cuts_batch
          FROM edges a, edges b WHERE a.t <= b.t) w;

-- the whole row, not only its id
SELECT count(*) AS rows_differing FROM (
	(SELECT * FROM childguard._access_log_between('-infinity', 'infinity')
	 EXCEPT ALL SELECT * FROM childguard.access_log)
	UNION ALL
	(SELECT * FROM childguard.access_log
	 EXCEPT ALL SELECT * FROM childguard._access_log_between('-infinity', 'infinity'))) d;

-- breach_impact() over a window ending inside a batch counts the statements
-- the view has in that window, per child
SELECT k.first_statement_at AS cut_from, k.last_statement_at AS cut_to
  FROM childguard.access_log_batch k
 WHERE k.records > 1 AND k.first_statement_at < k.last_statement_at
 ORDER BY k.first_id LIMIT 1 \gset
SELECT count(*) FILTER (WHERE b.statements IS DISTINCT FROM v.n) AS children_differing,
       count(*) > 0 AS some_children
  FROM childguard.breach_impact(ARRAY[current_user::text], :'cut_from', :'cut_to') b
  FULL JOIN (SELECT c.child_id, count(DISTINCT l.id) AS n
               FROM childguard.access_log l
              CROSS JOIN LATERAL unnest(l.children_read || l.children_written) s
               JOIN childguard.child c ON c.subject_no = s
              WHERE l.statement_at >= :'cut_from' AND l.statement_at < :'cut_to'
                AND (l.acting_role = current_user OR l.session_role = current_user)
              GROUP BY c.child_id) v USING (child_id);

-- not for PUBLIC: it reads the batches, which only the view's grantees see
SELECT has_function_privilege('public', 'childguard._access_log_between(timestamptz, timestamptz)',
                              'EXECUTE') AS public_may_run;

\c contrib_regression
SET client_min_messages = warning;
DROP DATABASE regress_log_window;
