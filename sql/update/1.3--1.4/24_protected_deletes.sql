-- ---------------------------------------------------------------------------
-- DELETE of protected rows (issue 11 item 4; src/enforce/delete_rows.c):
-- protect() adds two more triggers of childguard.seal_row() — AFTER DELETE
-- per row, which notes each deleted row's child for the statement's audit
-- record, and BEFORE TRUNCATE, which notes the child of every row the
-- TRUNCATE is about to remove (it names no rows itself).  Tables protected before 1.4 get them here.  (The rows of a
-- DELETE's target are visible to it whatever the consent: C, row_policy.c.)
-- ---------------------------------------------------------------------------

CREATE FUNCTION childguard._install_delete_triggers(tbl regclass, subject_column name)
	RETURNS void
	LANGUAGE plpgsql
	SET search_path = pg_catalog, pg_temp
	SET client_min_messages = warning
AS $$
BEGIN
	EXECUTE pg_catalog.format('DROP TRIGGER IF EXISTS zz_childguard_deleted ON %s', tbl);
	EXECUTE pg_catalog.format('DROP TRIGGER IF EXISTS zz_childguard_truncate ON %s', tbl);
	EXECUTE pg_catalog.format(
		'CREATE TRIGGER zz_childguard_deleted AFTER DELETE ON %s '
		'FOR EACH ROW EXECUTE FUNCTION childguard.seal_row(%L)', tbl, subject_column);
	EXECUTE pg_catalog.format('ALTER TABLE %s ENABLE ALWAYS TRIGGER zz_childguard_deleted', tbl);
	EXECUTE pg_catalog.format(
		'CREATE TRIGGER zz_childguard_truncate BEFORE TRUNCATE ON %s '
		'FOR EACH STATEMENT EXECUTE FUNCTION childguard.seal_row(%L)', tbl, subject_column);
	EXECUTE pg_catalog.format('ALTER TABLE %s ENABLE ALWAYS TRIGGER zz_childguard_truncate', tbl);
END
$$;
COMMENT ON FUNCTION childguard._install_delete_triggers(regclass, name) IS
	'Internal (protect()): the AFTER DELETE row trigger and the BEFORE TRUNCATE statement trigger that name, in the statement''s audit record, the children whose rows it removes.';

CREATE OR REPLACE FUNCTION childguard.protect(tbl regclass, subject_column name,
								   categories jsonb DEFAULT '{}')
	RETURNS void
	LANGUAGE plpgsql
	SET search_path = pg_catalog, pg_temp
	SET client_min_messages = warning
AS $$
DECLARE
	cgtype oid := 'childguard.child_data'::pg_catalog.regtype;
	col record;
	cat text;
	key text;
BEGIN
	IF tbl IS NULL OR subject_column IS NULL THEN
		RAISE EXCEPTION 'table and subject column are required' USING ERRCODE = '22004';
	END IF;
	IF pg_catalog.jsonb_typeof(categories) IS DISTINCT FROM 'object' THEN
		RAISE EXCEPTION 'categories must be a JSON object mapping column names to categories'
			USING ERRCODE = '22023', HINT = 'For example: {"name": "name", "school": "school"}';
	END IF;
	IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_attribute a
	               WHERE a.attrelid = tbl AND a.attname = subject_column
	                 AND a.attnum > 0 AND NOT a.attisdropped) THEN
		RAISE EXCEPTION 'column "%" of relation "%" does not exist', subject_column, tbl
			USING ERRCODE = '42703';
	END IF;
	-- every key must name a child_data column, every value a known category
	FOR key, cat IN SELECT * FROM pg_catalog.jsonb_each_text(categories) LOOP
		IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_attribute a
		               WHERE a.attrelid = tbl AND a.attname = key
		                 AND a.attnum > 0 AND NOT a.attisdropped) THEN
			RAISE EXCEPTION 'column "%" of relation "%" does not exist', key, tbl
				USING ERRCODE = '42703';
		END IF;
		IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_attribute a
		               WHERE a.attrelid = tbl AND a.attname = key AND a.atttypid = cgtype) THEN
			RAISE EXCEPTION 'column "%" of relation "%" is not of type childguard.child_data', key, tbl
				USING ERRCODE = '42804',
				      HINT = 'Only child_data columns can be classified.';
		END IF;
		IF NOT EXISTS (SELECT 1 FROM childguard.category c WHERE c.category = pg_catalog.lower(cat)) THEN
			RAISE EXCEPTION 'unknown child data category "%"', cat
				USING ERRCODE = '22023',
				      HINT = 'Known categories are listed in childguard.category.';
		END IF;
	END LOOP;
	IF EXISTS (SELECT 1 FROM pg_catalog.pg_attribute a
	           WHERE a.attrelid = tbl AND a.attname = subject_column AND a.atttypid = cgtype) THEN
		RAISE EXCEPTION 'subject column "%" cannot hold child data itself', subject_column
			USING ERRCODE = '42804';
	END IF;
	FOR key, cat IN SELECT * FROM pg_catalog.jsonb_each_text(categories) LOOP
		EXECUTE pg_catalog.format('ALTER TABLE %s ALTER COLUMN %I TYPE childguard.child_data(%s)',
		                          tbl, key, pg_catalog.lower(cat));
	END LOOP;
	-- every child_data column must now have a category
	FOR col IN SELECT a.attname FROM pg_catalog.pg_attribute a
	           WHERE a.attrelid = tbl AND a.atttypid = cgtype AND a.atttypmod < 0
	             AND a.attnum > 0 AND NOT a.attisdropped LOOP
		RAISE EXCEPTION 'column "%" of relation "%" has no data category', col.attname, tbl
			USING ERRCODE = '22023',
			      HINT = pg_catalog.format('Name it in categories, e.g. {"%s": "other"}.', col.attname);
	END LOOP;
	IF EXISTS (SELECT 1 FROM pg_catalog.pg_trigger t
	           WHERE t.tgrelid = tbl AND t.tgname = 'zz_childguard_seal') THEN
		EXECUTE pg_catalog.format('DROP TRIGGER zz_childguard_seal ON %s', tbl);
	END IF;
	-- named to sort last, so it sees what other BEFORE triggers wrote
	EXECUTE pg_catalog.format(
		'CREATE TRIGGER zz_childguard_seal BEFORE INSERT OR UPDATE ON %s '
		'FOR EACH ROW EXECUTE FUNCTION childguard.seal_row(%L)', tbl, subject_column);
	-- ALWAYS: session_replication_role = replica must not switch sealing off
	EXECUTE pg_catalog.format('ALTER TABLE %s ENABLE ALWAYS TRIGGER zz_childguard_seal', tbl);
	-- 1.4: every DELETE and TRUNCATE names the children whose rows it
	-- removed in its audit record (src/enforce/delete_rows.c)
	PERFORM childguard._install_delete_triggers(tbl, subject_column);

	-- Row-level security, forced on the owner too: rows of children whose
	-- data the session's purpose may not use are invisible.  Restrictive,
	-- so the table's own policies can narrow but never widen it.
	EXECUTE pg_catalog.format('ALTER TABLE %s ENABLE ROW LEVEL SECURITY', tbl);
	EXECUTE pg_catalog.format('ALTER TABLE %s FORCE ROW LEVEL SECURITY', tbl);
	EXECUTE pg_catalog.format('DROP POLICY IF EXISTS childguard_consent ON %s', tbl);
	EXECUTE pg_catalog.format('DROP POLICY IF EXISTS childguard_consent_update ON %s', tbl);
	EXECUTE pg_catalog.format('DROP POLICY IF EXISTS childguard_base ON %s', tbl);
	EXECUTE pg_catalog.format(
		'CREATE POLICY childguard_consent ON %s AS RESTRICTIVE FOR SELECT '
		'USING (childguard.row_visible(%I::text))', tbl, subject_column);
	EXECUTE pg_catalog.format(
		'CREATE POLICY childguard_consent_update ON %s AS RESTRICTIVE FOR UPDATE '
		'USING (childguard.row_visible(%I::text))', tbl, subject_column);
	-- restrictive policies need a permissive one to pass; unless the table
	-- has its own, everything else is allowed
	IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_policy p
	               WHERE p.polrelid = tbl AND p.polpermissive) THEN
		EXECUTE pg_catalog.format(
			'CREATE POLICY childguard_base ON %s AS PERMISSIVE FOR ALL USING (true) WITH CHECK (true)', tbl);
	END IF;
END
$$;
COMMENT ON FUNCTION childguard.protect(regclass, name, jsonb) IS
	'Protect a table: classify its child_data columns by category, install the trigger that seals each value for the row''s child (named by subject_column), the triggers that name the children of every DELETE and TRUNCATE in its audit record, and the row-level security policies (forced on the owner) that hide rows of children whose data the session''s purpose may not use. Run as the table''s owner.';

CREATE OR REPLACE FUNCTION childguard.unprotect(tbl regclass) RETURNS void
	LANGUAGE plpgsql
	SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	EXECUTE pg_catalog.format('DROP TRIGGER IF EXISTS zz_childguard_seal ON %s', tbl);
	EXECUTE pg_catalog.format('DROP TRIGGER IF EXISTS zz_childguard_deleted ON %s', tbl);
	EXECUTE pg_catalog.format('DROP TRIGGER IF EXISTS zz_childguard_truncate ON %s', tbl);
	EXECUTE pg_catalog.format('DROP POLICY IF EXISTS childguard_consent ON %s', tbl);
	EXECUTE pg_catalog.format('DROP POLICY IF EXISTS childguard_consent_update ON %s', tbl);
	EXECUTE pg_catalog.format('DROP POLICY IF EXISTS childguard_base ON %s', tbl);
	IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_policy p WHERE p.polrelid = tbl) THEN
		EXECUTE pg_catalog.format('ALTER TABLE %s NO FORCE ROW LEVEL SECURITY', tbl);
		EXECUTE pg_catalog.format('ALTER TABLE %s DISABLE ROW LEVEL SECURITY', tbl);
	END IF;
END
$$;
COMMENT ON FUNCTION childguard.unprotect(regclass) IS
	'Remove the seal, DELETE and TRUNCATE triggers and the row policies.  Stored values stay encrypted and still decrypt only when allowed; the table then refuses new child data until protected again.';

-- tables protected before 1.4 (the seal trigger names the subject column;
-- partitions get theirs cloned from their parent)
SELECT childguard._install_delete_triggers(t.tgrelid::regclass, t.tgargs_subject)
  FROM (SELECT x.tgrelid,
               pg_catalog.convert_from(pg_catalog.substr(x.tgargs, 1,
                   pg_catalog.position(x.tgargs, '\x00'::bytea) - 1), 'UTF8')::name AS tgargs_subject
          FROM pg_catalog.pg_trigger x
          JOIN pg_catalog.pg_class c ON c.oid = x.tgrelid
         WHERE x.tgname = 'zz_childguard_seal' AND NOT c.relispartition
           AND x.tgfoid = 'childguard.seal_row()'::pg_catalog.regprocedure) t
 ORDER BY t.tgrelid;
