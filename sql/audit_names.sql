-- The names an audit record gives relations and columns are cached per
-- backend (issue 12: no syscache lookups per statement); a rename of the
-- column, the table or the schema, and a role's rename, show in the very
-- next record of the same session.
SET client_min_messages = warning;
DROP DATABASE IF EXISTS regress_audit_names;
CREATE DATABASE regress_audit_names;
\c regress_audit_names
SET client_min_messages = warning;
CREATE EXTENSION childguard CASCADE;
RESET client_min_messages;
\set VERBOSITY terse
SELECT childguard.register_child('an-1', '2015-05-01') IS NOT NULL AS registered;
\i test/fixtures/regress_purpose.psql
SELECT pg_temp.consent_all() > 0 AS consented;
CREATE SCHEMA s1;
CREATE TABLE s1.t (id text PRIMARY KEY, nm childguard.child_data(name));
SELECT childguard.protect('s1.t', 'id');
SET childguard.purpose = 'regress';
INSERT INTO s1.t VALUES ('an-1', '小明');
SELECT childguard.audit_wait();
SELECT coalesce(max(id), 0) AS start_id FROM childguard.access_log \gset
SELECT nm FROM s1.t;
SELECT nm FROM s1.t;
ALTER TABLE s1.t RENAME COLUMN nm TO full_name;
SELECT full_name FROM s1.t;
ALTER TABLE s1.t RENAME TO pupils;
SELECT full_name FROM s1.pupils;
ALTER SCHEMA s1 RENAME TO school;
SELECT full_name FROM school.pupils;
-- a prepared statement, twice: the names from the cache, the same
PREPARE q AS SELECT full_name FROM school.pupils;
EXECUTE q;
EXECUTE q;
RESET childguard.purpose;
SELECT childguard.audit_wait();
SELECT id - :start_id AS n, command, relations, columns
  FROM childguard.access_log WHERE id > :start_id ORDER BY id;
\c contrib_regression
SET client_min_messages = warning;
DROP DATABASE regress_audit_names;
