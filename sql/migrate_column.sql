-- migrate_column() (issue 13, item 5): a plaintext column becomes child
-- data in place (column order kept), in batches, resumably, while the table
-- is written; rows whose child is unknown or without consent stop the
-- migration for a decision and are never dropped silently; a bytea column
-- sealed by pgp_sym_encrypt() is migrated with its passphrase; the write
-- guard accepts an in-place conversion only from a sealed column of the
-- same table and category.  (On the old code migrate_column() does not
-- exist, and ALTER COLUMN ... TYPE child_data is refused whatever USING.)
SET client_min_messages = warning;
DROP DATABASE IF EXISTS regress_migrate;
CREATE DATABASE regress_migrate;
\c regress_migrate
SET client_min_messages = warning;
CREATE EXTENSION childguard CASCADE;
CREATE ROLE regress_mig_dpo;
CREATE ROLE regress_mig_app;
CREATE ROLE regress_mig_rec;
CREATE ROLE regress_mig_other;
RESET client_min_messages;
\set VERBOSITY default
\set SHOW_CONTEXT never
SELECT childguard.appoint_officer('regress_mig_dpo');
SELECT childguard.enroll_application('regress_mig_app');
SELECT childguard.enroll_consent_recorder('regress_mig_rec');
SELECT childguard.enroll_application('regress_mig_other');
GRANT CREATE ON SCHEMA public TO regress_mig_app, regress_mig_other;
SELECT extnamespace::regnamespace AS pgcrypto FROM pg_extension WHERE extname = 'pgcrypto' \gset
SET ROLE regress_mig_dpo;
SELECT childguard.define_purpose('tutoring', '{name,contact}', '2 years');
SELECT childguard.define_purpose('games', '{other}', '1 year');
SELECT childguard.publish_notice('n1', '{tutoring,games}', 'a', 'b', 'c', 'd', 'e', 'f', 'g');
RESET ROLE;
SET ROLE regress_mig_app;
SELECT childguard.request_access('regress_mig_app', '{tutoring,games}', now() + interval '1 day') AS g \gset
SELECT count(*) FROM (SELECT childguard.register_child('m' || i, (current_date - interval '9 years')::date)
                        FROM generate_series(1, 7) i) r;
RESET ROLE;
SET ROLE regress_mig_dpo;
SELECT childguard.approve_access(:g);
RESET ROLE;
SET ROLE regress_mig_rec;
SELECT count(*) FROM (SELECT childguard.register_guardian('g' || i, 'm' || i) FROM generate_series(1, 7) i) r;
-- m1..m6 consent to tutoring; m7 does not; m8 is not registered
SELECT count(*) FROM (SELECT childguard.record_consent('m' || i, 'tutoring', 'n1', 'g' || i)
                        FROM generate_series(1, 6) i) c;
RESET ROLE;

-- ---------------------------------------------------------------------------
-- The table an app had before: plaintext names, positional INSERTs
-- ---------------------------------------------------------------------------
SET ROLE regress_mig_app;
CREATE TABLE pupils (id text PRIMARY KEY, name text, class int, note varchar(20));
INSERT INTO pupils VALUES ('m1', 'MIGMARK-Ann', 1, 'a'), ('m2', 'MIGMARK-Bo', 1, 'b'),
	('m3', 'MIGMARK-Cy', 2, 'c'), ('m4', NULL, 2, 'd'), ('m5', 'MIGMARK-Ed', 3, 'e'),
	('m6', 'MIGMARK-Flo', 3, 'f'), ('m7', 'MIGMARK-Gus', 3, 'g'), ('m8', 'MIGMARK-Hal', 4, 'h');
-- more rows, so that the table spans several blocks (several batches)
INSERT INTO pupils SELECT 'm' || (i % 6 + 1) || '-' || i, NULL, i, repeat('x', 20) FROM generate_series(1, 600) i;
UPDATE pupils SET id = id WHERE false;

-- refusals: nothing changes
CALL childguard.migrate_column('pupils', 'name', 'name', 50, subject_column => 'id');   -- no purpose
\echo :LAST_ERROR_SQLSTATE
SET childguard.purpose = 'tutoring';
CALL childguard.migrate_column('pupils', 'class', 'name', 50, subject_column => 'id');  -- an int
\echo :LAST_ERROR_SQLSTATE
CALL childguard.migrate_column('pupils', 'name', 'nonsense', 50, subject_column => 'id');
\echo :LAST_ERROR_SQLSTATE
CALL childguard.migrate_column('pupils', 'name', 'name', 50);                           -- no subject column
\echo :LAST_ERROR_SQLSTATE
CALL childguard.migrate_column('pupils', 'id', 'name', 50, subject_column => 'id');
\echo :LAST_ERROR_SQLSTATE
CREATE INDEX pupils_name ON pupils (lower(name));
CALL childguard.migrate_column('pupils', 'name', 'name', 50, subject_column => 'id');   -- an index reads it
\echo :LAST_ERROR_SQLSTATE
DROP INDEX pupils_name;
-- a hostile owner's code on another column (it would run in the batches'
-- UPDATEs, made with the extension owner's rights): refused before anything
-- changes (ZC021: child data is not added to a table carrying such code)
CREATE FUNCTION pg_temp.evil(int) RETURNS int LANGUAGE sql IMMUTABLE AS 'SELECT $1';
CREATE INDEX pupils_evil ON pupils (pg_temp.evil(class));
CALL childguard.migrate_column('pupils', 'name', 'name', 50, subject_column => 'id');
\echo :LAST_ERROR_SQLSTATE
DROP INDEX pupils_evil;
CREATE FUNCTION pupils_trg() RETURNS trigger LANGUAGE plpgsql AS 'BEGIN RETURN NEW; END';
CREATE TRIGGER pupils_trg BEFORE UPDATE ON pupils FOR EACH ROW EXECUTE FUNCTION pupils_trg();
CALL childguard.migrate_column('pupils', 'name', 'name', 50, subject_column => 'id');
\echo :LAST_ERROR_SQLSTATE
DROP TRIGGER pupils_trg ON pupils;
-- the in-place conversion from a sealed column is refused on a table that is not protected
CREATE TABLE unprot (id text, a text, b childguard.child_data(name));
ALTER TABLE unprot ALTER COLUMN a TYPE childguard.child_data(name) USING b;
\echo :LAST_ERROR_SQLSTATE
DROP TABLE unprot;
RESET ROLE;
SET ROLE regress_mig_other;
SET childguard.purpose = 'tutoring';
CALL childguard.migrate_column('pupils', 'name', 'name', 50, subject_column => 'id');   -- not the owner
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM childguard.migrate_step('pupils', 'name', 'name', 50, 'id');
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;
SELECT count(*) AS migrations, (SELECT count(*) FROM pg_attribute WHERE attrelid = 'pupils'::regclass
                                 AND attnum > 0 AND NOT attisdropped) AS columns
  FROM childguard.migration;

-- ---------------------------------------------------------------------------
-- Step by step, while the application writes between batches
-- ---------------------------------------------------------------------------
SET ROLE regress_mig_app;
SET childguard.purpose = 'tutoring';
SELECT state, rows_sealed, rows_rejected FROM childguard.migrate_step('pupils', 'name', 'name', 50, 'id');
SELECT state, rows_sealed, rows_rejected FROM childguard.migrate_step('pupils', 'name', 'name', 50, 'id');
-- the table is protected from the first step; the column keeps its place
SELECT childguard.protection_problem('pupils') IS NULL AS protected,
       (SELECT string_agg(attname, ',' ORDER BY attnum) FROM pg_attribute
         WHERE attrelid = 'pupils'::regclass AND attnum > 0 AND NOT attisdropped) AS columns;
SELECT state, batches, percent_done < 100 AS partial FROM childguard.migrations;
-- writes between batches: a sealed row changes its name, another loses it,
-- a new row comes, a positional INSERT still lands in the right columns
UPDATE pupils SET name = 'MIGMARK-Ann2' WHERE id = 'm1';
UPDATE pupils SET name = NULL WHERE id = 'm2';
INSERT INTO pupils VALUES ('m4-new', 'MIGMARK-Dee', 9, 'n');
-- an ALTER COLUMN TYPE of the column from its shadow is refused while the
-- category differs, the USING is not a bare column, or the table is not protected
ALTER TABLE pupils ALTER COLUMN name TYPE childguard.child_data(contact) USING name_cg_migrating;
\echo :LAST_ERROR_SQLSTATE
ALTER TABLE pupils ALTER COLUMN name TYPE childguard.child_data(name) USING name_cg_migrating::text;
\echo :LAST_ERROR_SQLSTATE
ALTER TABLE pupils ALTER COLUMN name TYPE childguard.child_data USING name_cg_migrating;
\echo :LAST_ERROR_SQLSTATE
ALTER TABLE pupils ALTER COLUMN name TYPE childguard.child_data(name) USING coalesce(name_cg_migrating, NULL);
\echo :LAST_ERROR_SQLSTATE
-- the rest, committing per batch: it stops for m7 (no consent) and m8 (unknown)
RESET ROLE;
SET ROLE regress_mig_app;
CALL childguard.migrate_column('pupils', 'name', 'name', 50);
\echo :LAST_ERROR_SQLSTATE
SELECT state, rows_rejected FROM childguard.migrations;
SELECT column_name, child, sqlstate, reason FROM childguard.migration_rejects ORDER BY child;
RESET ROLE;
-- the compliance duty fails while the column is half migrated
SELECT * FROM childguard.duty_migrations_finished();
-- no plaintext in the rejects; another role sees none of them
SELECT count(*) AS plaintext_in_rejects FROM childguard.migration_reject WHERE row(migration_reject)::text LIKE '%MIGMARK%';
SET ROLE regress_mig_other;
SELECT count(*) AS others_see FROM childguard.migration_rejects;
SELECT count(*) AS others_see FROM childguard.migrations;
RESET ROLE;
-- the stopped migration refuses to go on, and to change category
SET ROLE regress_mig_app;
SELECT * FROM childguard.migrate_step('pupils', 'name', 'name', 50);
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM childguard.migrate_step('pupils', 'name', 'contact', 50);
\echo :LAST_ERROR_SQLSTATE
SELECT childguard.migrate_decide('pupils', 'name', 'forget');
\echo :LAST_ERROR_SQLSTATE
SELECT childguard.migrate_finish('pupils');
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;
-- the decision "register": m8 and m4-new registered, m7's consent recorded; retry
SET ROLE regress_mig_app;
SELECT childguard.register_child(c, (current_date - interval '9 years')::date) > 0 AS registered
  FROM (VALUES ('m8'), ('m4-new')) v(c);
RESET ROLE;
SET ROLE regress_mig_rec;
SELECT childguard.register_guardian('g8', 'm8');
SELECT childguard.register_guardian('g8', 'm4-new');
SELECT childguard.record_consent(c, 'tutoring', 'n1', g) > 0 AS consented
  FROM (VALUES ('m7', 'g7'), ('m8', 'g8'), ('m4-new', 'g8')) v(c, g);
RESET ROLE;
SET ROLE regress_mig_app;
SELECT childguard.migrate_decide('pupils', 'name', 'retry');
CALL childguard.migrate_column('pupils', 'name', 'name', 50);
SELECT state, rows_rejected, percent_done FROM childguard.migrations;
-- in place: same column order, the type is child_data(name), no shadow left
SELECT string_agg(format('%s %s', attname, format_type(atttypid, atttypmod)), ', ' ORDER BY attnum) AS columns
  FROM pg_attribute WHERE attrelid = 'pupils'::regclass AND attnum > 0 AND NOT attisdropped;
SELECT childguard.protection_problem('pupils') IS NULL AS protected;
RESET ROLE;
-- ... and passes once it is done
SELECT * FROM childguard.duty_migrations_finished();
SET ROLE regress_mig_app;
-- every value, including the ones written between batches, reads back
SELECT id, name, class FROM pupils WHERE name IS NOT NULL ORDER BY id;
SELECT count(*) AS rows, count(name) AS names FROM pupils;
-- stored sealed: envelopes without a purpose (read by the superuser, whom
-- row security does not hide rows from), bound to each row's child
RESET childguard.purpose;
RESET ROLE;
SELECT count(*) AS values,
       count(*) FILTER (WHERE (childguard.envelope_info(name)).pending) AS pending,
       count(*) FILTER (WHERE name::text LIKE '%MIGMARK%') AS plaintext,
       count(*) FILTER (WHERE name::text LIKE 'cg1:%') AS envelopes,
       count(*) FILTER (WHERE (childguard.envelope_info(name)).subject_no
                        <> (SELECT subject_no FROM childguard.child WHERE child_id = p.id)) AS other_child
  FROM pupils p WHERE name IS NOT NULL;
SET ROLE regress_mig_app;
SET childguard.purpose = 'tutoring';
-- positional INSERTs still work
DELETE FROM pupils WHERE id = 'm3';
INSERT INTO pupils VALUES ('m3', 'MIGMARK-Ivy', 5, 'z');
SELECT name, class, note FROM pupils WHERE id = 'm3';
SELECT step, command FROM childguard.migrate_finish('pupils');
GRANT SELECT ON pupils TO regress_mig_other;
RESET ROLE;
-- a reader without a grant sees no rows
SET ROLE regress_mig_other;
SET childguard.purpose = 'tutoring';
\echo :LAST_ERROR_SQLSTATE
RESET childguard.purpose;
SELECT count(*) FROM pupils;
RESET ROLE;

-- ---------------------------------------------------------------------------
-- A bytea column sealed by pgp_sym_encrypt(), and the decisions delete/abort
-- ---------------------------------------------------------------------------
SET ROLE regress_mig_app;
SET childguard.purpose = 'tutoring';
CREATE TABLE contacts (kid text, phone bytea NOT NULL, seq int);
INSERT INTO contacts SELECT 'm' || i, :pgcrypto.pgp_sym_encrypt('MIGMARK-tel-' || i, 'secret-pw'), i
  FROM generate_series(1, 8) i;
INSERT INTO contacts VALUES ('m99', :pgcrypto.pgp_sym_encrypt('MIGMARK-tel-99', 'secret-pw'), 99);
-- without the passphrase: refused before anything changes
CALL childguard.migrate_column('contacts', 'phone', 'contact', subject_column => 'kid');
\echo :LAST_ERROR_SQLSTATE
SELECT count(*) AS migrations FROM childguard.migrations WHERE tbl = 'contacts'::regclass;
-- a wrong passphrase: every row rejected (39000), the migration stops
CALL childguard.migrate_column('contacts', 'phone', 'contact', subject_column => 'kid', passphrase => 'wrong');
\echo :LAST_ERROR_SQLSTATE
SELECT sqlstate, count(*) FROM childguard.migration_rejects WHERE tbl = 'contacts'::regclass GROUP BY 1 ORDER BY 1;
-- "null" is refused on a NOT NULL column; abort puts everything back
SELECT childguard.migrate_decide('contacts', 'phone', 'null');
\echo :LAST_ERROR_SQLSTATE
SELECT childguard.migrate_decide('contacts', 'phone', 'abort');
SELECT string_agg(format('%s %s', attname, format_type(atttypid, atttypmod)), ', ' ORDER BY attnum) AS columns
  FROM pg_attribute WHERE attrelid = 'contacts'::regclass AND attnum > 0 AND NOT attisdropped;
SELECT state FROM childguard.migrations WHERE tbl = 'contacts'::regclass;
-- again with the right passphrase: m99 is unknown; decide to delete it
CALL childguard.migrate_column('contacts', 'phone', 'contact', subject_column => 'kid', passphrase => 'secret-pw');
\echo :LAST_ERROR_SQLSTATE
SELECT child, sqlstate FROM childguard.migration_rejects WHERE tbl = 'contacts'::regclass;
SELECT childguard.migrate_decide('contacts', 'phone', 'delete');
CALL childguard.migrate_column('contacts', 'phone', 'contact', passphrase => 'secret-pw');
SELECT kid, phone, seq FROM contacts ORDER BY seq;
SELECT format_type(atttypid, atttypmod) FROM pg_attribute WHERE attrelid = 'contacts'::regclass AND attname = 'phone';
SELECT state, rows_sealed, rows_rejected, decision FROM childguard.migrations WHERE tbl = 'contacts'::regclass;
RESET ROLE;

-- the decision "null" (on a nullable column): rows of m7 lose their value
SET ROLE regress_mig_app;
SET childguard.purpose = 'games';
CREATE TABLE scores (kid text, nick text);
INSERT INTO scores VALUES ('m1', 'MIGMARK-n1'), ('m7', 'MIGMARK-n7');
CALL childguard.migrate_column('scores', 'nick', 'other', subject_column => 'kid');
\echo :LAST_ERROR_SQLSTATE
SELECT child, sqlstate FROM childguard.migration_rejects WHERE tbl = 'scores'::regclass ORDER BY child;
RESET ROLE;
SET ROLE regress_mig_rec;
SELECT childguard.record_consent('m1', 'games', 'n1', 'g1') > 0 AS consented;
RESET ROLE;
SET ROLE regress_mig_app;
SET childguard.purpose = 'tutoring';
SELECT * FROM childguard.migrate_step('scores', 'nick', 'other');   -- another purpose
\echo :LAST_ERROR_SQLSTATE
SET childguard.purpose = 'games';
SELECT childguard.migrate_decide('scores', 'nick', 'null');
-- a decision covers the rows listed when it was made: a row of an unknown
-- child written since stops the migration again, alone undecided
INSERT INTO scores VALUES ('m-late', 'MIGMARK-late');
CALL childguard.migrate_column('scores', 'nick', 'other');
\echo :LAST_ERROR_SQLSTATE
SELECT child, sqlstate, decision FROM childguard.migration_rejects WHERE tbl = 'scores'::regclass ORDER BY child;
SELECT childguard.migrate_decide('scores', 'nick', 'delete');
CALL childguard.migrate_column('scores', 'nick', 'other');
SELECT kid, nick FROM scores ORDER BY kid;
RESET ROLE;
SELECT kid, nick IS NULL AS nick_null FROM scores ORDER BY kid;

DROP OWNED BY regress_mig_dpo, regress_mig_app, regress_mig_rec, regress_mig_other CASCADE;
DROP ROLE regress_mig_dpo, regress_mig_app, regress_mig_rec, regress_mig_other;
\c contrib_regression
DROP DATABASE regress_migrate;
