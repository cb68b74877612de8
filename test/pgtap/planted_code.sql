-- Code attached to tables holding child data (docs/security.md, section 2):
-- the status function's properties, and the guard seen from the catalog.
BEGIN;
SELECT plan(10);

SELECT has_function('childguard', 'protection_problem', ARRAY['regclass'], 'protection_problem() exists');
SELECT ok(has_function_privilege('public', 'childguard.protection_problem(regclass)', 'EXECUTE'),
          'anyone may ask why a table is not protected');
SELECT isnt_definer('childguard', 'protection_problem', ARRAY['regclass'], 'it runs with the caller''s rights');
SELECT volatility_is('childguard', 'protection_problem', ARRAY['regclass'], 'stable', 'it is stable');

CREATE TABLE pgtap_planted (id int PRIMARY KEY, name childguard.child_data, note text);
SELECT childguard.protect('pgtap_planted', 'id', '{"name": "name"}');
SELECT is(childguard.protection_problem('pgtap_planted'), NULL, 'a freshly protected table has no problem');
SELECT is(childguard.protection_problem('pg_class'), NULL, 'a table without child data has none either');
CREATE FUNCTION pg_temp.pgtap_trg() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$;
SELECT throws_ok($$CREATE TRIGGER t BEFORE INSERT ON pgtap_planted FOR EACH ROW EXECUTE FUNCTION pg_temp.pgtap_trg()$$,
                 'ZC020', NULL, 'a trigger is refused');
CREATE FUNCTION pg_temp.pgtap_imm(childguard.child_data) RETURNS text IMMUTABLE LANGUAGE sql AS $$ SELECT $1::text $$;
SELECT throws_ok($$CREATE INDEX ON pgtap_planted ((pg_temp.pgtap_imm(name)))$$,
                 'ZC020', NULL, 'an index over child data is refused (before any build)');
SELECT lives_ok($$CREATE INDEX ON pgtap_planted (note)$$, 'an index on another column is not');
-- on purpose, as unprotect() does (plain DDL that unprotects a table is
-- refused at the end of the statement, ZC400: sql/orm_ddl.sql)
DO $$ BEGIN
	PERFORM childguard._unprotect_begin('pgtap_planted');
	ALTER POLICY childguard_consent ON pgtap_planted USING (childguard.row_visible(id::text) OR id > 0);
END $$;
SELECT is((SELECT bool_or(is_protected) FROM childguard.protected_columns WHERE table_name = 'pgtap_planted'::regclass),
          false, 'a consent policy ORed away no longer counts as protection');

SELECT * FROM finish();
ROLLBACK;
