-- Red team, round 20: childguard._seal_for(), the Citus coordinator's
-- sealing function (src/enforce/citus_seal.c), called directly.  It is
-- executable by PUBLIC (the rewrite of a distributed write calls it as the
-- writer).  As a way to seal under another child's key: a typed-in value
-- is collection (purpose, necessity, consent checked, as the seal trigger
-- does) and a sealed value is never re-sealed for another child -- closed
-- before.  As a probe: a role with no privilege on the table and no grant
-- learned, for any child id, whether it is registered (ZC100: no purpose),
-- unknown (ZC011) or erased (ZC012).  Now the role must be able to insert
-- into or update the table (42501 first); a writer learns what its INSERT
-- would tell it anyway.  On the old code the three ids give three
-- different SQLSTATEs to the role without privileges.
SET client_min_messages = warning;
DROP DATABASE IF EXISTS regress_rt_seal_for;
CREATE DATABASE regress_rt_seal_for;
\c regress_rt_seal_for
SET client_min_messages = warning;
CREATE EXTENSION childguard CASCADE;
DROP ROLE IF EXISTS regress_rsf_nobody;
DROP ROLE IF EXISTS regress_rsf_writer;
CREATE ROLE regress_rsf_nobody;
CREATE ROLE regress_rsf_writer;
RESET client_min_messages;
\set VERBOSITY terse
SELECT childguard.register_child('sf-1', '2015-05-01') > 0 AS one,
       childguard.register_child('sf-2', '2015-05-01') > 0 AS two;
SELECT childguard.erase_child('sf-2', 'request') >= 0 AS erased;
CREATE TABLE kids (id text, name childguard.child_data(name));
SELECT childguard.protect('kids', 'id');
GRANT INSERT ON kids TO regress_rsf_writer;
GRANT USAGE ON SCHEMA childguard TO regress_rsf_nobody, regress_rsf_writer;
SELECT attnum AS name_attnum FROM pg_attribute WHERE attrelid = 'kids'::regclass AND attname = 'name' \gset

-- a role without privileges on the table: the same refusal for every child
SET ROLE regress_rsf_nobody;
SELECT childguard._seal_for('kids'::regclass, 'sf-1', :name_attnum, 'x');   -- registered
\echo :LAST_ERROR_SQLSTATE
SELECT childguard._seal_for('kids'::regclass, 'nobody', :name_attnum, 'x'); -- unknown
\echo :LAST_ERROR_SQLSTATE
SELECT childguard._seal_for('kids'::regclass, 'sf-2', :name_attnum, 'x');   -- erased
\echo :LAST_ERROR_SQLSTATE
SELECT childguard._seal_for('kids'::regclass, 'sf-1', :name_attnum, NULL) IS NULL AS null_stays_null;
RESET ROLE;
-- a role that may insert: what its INSERT would say
SET ROLE regress_rsf_writer;
SELECT childguard._seal_for('kids'::regclass, 'sf-1', :name_attnum, 'x');
\echo :LAST_ERROR_SQLSTATE
INSERT INTO kids VALUES ('sf-1', 'x');
\echo :LAST_ERROR_SQLSTATE
SELECT childguard._seal_for('kids'::regclass, 'nobody', :name_attnum, 'x');
\echo :LAST_ERROR_SQLSTATE
INSERT INTO kids VALUES ('nobody', 'x');
\echo :LAST_ERROR_SQLSTATE
SELECT childguard._seal_for('kids'::regclass, 'sf-2', :name_attnum, 'x');
\echo :LAST_ERROR_SQLSTATE
INSERT INTO kids VALUES ('sf-2', 'x');
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;

\c contrib_regression
SET client_min_messages = warning;
DROP DATABASE regress_rt_seal_for;
DROP ROLE regress_rsf_nobody;
DROP ROLE regress_rsf_writer;
