-- Citus scale-out seen from a single node (docs/scale-out.md):
-- childguard.citus_node defaults to none and is set at server start only;
-- the coordinator's sealing function (what childguard's rewrite of writes
-- to distributed tables calls) checks what the seal trigger checks, and
-- refuses what is not a protected child_data column.  The cluster itself
-- is tested by test/t-long/300_citus_scale_out.pl.
\set VERBOSITY default
\set SHOW_CONTEXT never

SHOW childguard.citus_node;
SET childguard.citus_node = 'worker';

SELECT childguard.register_child('so-1', '2015-05-01') > 0 AS one,
       childguard.register_child('so-2', '2015-06-01') > 0 AS two;
\i test/fixtures/regress_purpose.psql
SELECT pg_temp.consent_all() >= 0 AS consents;
CREATE TABLE so_kids (id text, name childguard.child_data(name), plain text);
SELECT childguard.protect('so_kids', 'id');
SET childguard.purpose = 'regress';

-- a typed-in value comes back sealed for the child and the column's category
SELECT i.pending, i.category, i.subject_no = (SELECT subject_no FROM childguard.children WHERE child_id = 'so-1') AS for_so_1
  FROM childguard.envelope_info(childguard._seal_for('so_kids'::regclass, 'so-1', 2, 'x')) i;
SELECT childguard._seal_for('so_kids'::regclass, 'so-1', 2, 'x') AS opens_for_the_reader;
-- a value sealed for so-1 is not re-sealed for so-2
SELECT childguard._seal_for('so_kids'::regclass, 'so-2', 2,
                            childguard._seal_for('so_kids'::regclass, 'so-1', 2, 'x'));
-- only protected child_data columns; a registered child; NULL in, NULL out
SELECT childguard._seal_for('so_kids'::regclass, 'so-1', 3, 'x');
SELECT childguard._seal_for('pg_class'::regclass, 'so-1', 1, 'x');
SELECT childguard._seal_for('so_kids'::regclass, 'nobody', 2, 'x');
SELECT childguard._seal_for('so_kids'::regclass, NULL, 2, 'x');
SELECT childguard._seal_for('so_kids'::regclass, 'so-1', 2, NULL) IS NULL AS null_stays_null;
-- sealing new data is collection: no purpose, no sealing
RESET childguard.purpose;
SELECT childguard._seal_for('so_kids'::regclass, 'so-1', 2, 'x');

-- a single node writes and reads as before
SET childguard.purpose = 'regress';
INSERT INTO so_kids VALUES ('so-1', 'single', 'p');
SELECT id, name FROM so_kids;
DROP TABLE so_kids;
RESET childguard.purpose;
