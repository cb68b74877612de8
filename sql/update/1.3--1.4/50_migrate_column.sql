-- ---------------------------------------------------------------------------
-- migrate_column (issue 13, item 5): an existing plaintext column (text,
-- varchar, or bytea sealed by pgcrypto's pgp_sym_encrypt) becomes child
-- data of a category IN PLACE, in bounded, resumable batches.
--
--   1. start: the table is protected (protect(), with the subject column)
--      and gets a shadow column child_data(category) at its end;
--   2. fill: batch after batch (a block range each, about batch_size rows),
--      each row whose child is registered and whose data the caller's
--      purpose may collect gets shadow := column, sealed by the seal
--      trigger as any UPDATE is (collection: purpose, grant, consent);
--      the others are recorded in migration_reject (the child id and why,
--      never the value) and left as they are;
--   3. swap, in one transaction under ACCESS EXCLUSIVE: the rows written
--      since their batch (their xmin is not a batch's) and those not yet
--      filled are filled again; if any row is rejected the migration STOPS
--      (state "stopped") until migrate_decide() says what to do; otherwise
--      ALTER COLUMN ... TYPE child_data(category) USING shadow rewrites the
--      table with the sealed values in the column's own place (write_guard.c
--      accepts exactly this USING) and the shadow is dropped.
--
-- The rewrite leaves the plaintext in neither the table's heap, its TOAST
-- table nor its indexes (new files; the old ones are truncated at commit),
-- and removes the column's statistics; migrate_finish() lists what remains
-- to do (pg_statistic's dead rows, a checkpoint, WAL recycling).  State is
-- kept in childguard.migration, so an interrupted migration resumes where
-- its last committed batch ended.
-- ---------------------------------------------------------------------------

CREATE TABLE childguard.migration (
	tbl				regclass NOT NULL,
	col				name NOT NULL,
	shadow			name NOT NULL,
	category		text NOT NULL,
	subject_column	name NOT NULL,
	source_type		regtype NOT NULL,
	purpose			text NOT NULL,
	state			text NOT NULL DEFAULT 'filling'
		CHECK (state IN ('filling', 'stopped', 'done', 'aborted')),
	decision		text CHECK (decision IN ('null', 'delete')),
	protected_here	boolean NOT NULL,
	batch_size		integer NOT NULL CHECK (batch_size > 0),
	total_rows		bigint NOT NULL,
	total_blocks	bigint NOT NULL,
	blocks_per_batch bigint NOT NULL CHECK (blocks_per_batch > 0),
	next_block		bigint NOT NULL DEFAULT 0,
	batches			integer NOT NULL DEFAULT 0,
	rows_sealed		bigint NOT NULL DEFAULT 0,
	rows_rejected	bigint NOT NULL DEFAULT 0,
	batch_xids		bigint[] NOT NULL DEFAULT '{}',
	started_by		oid NOT NULL,
	started_at		timestamptz NOT NULL DEFAULT pg_catalog.now(),
	updated_at		timestamptz NOT NULL DEFAULT pg_catalog.now(),
	finished_at		timestamptz,
	PRIMARY KEY (tbl, col)
);
REVOKE ALL ON childguard.migration FROM PUBLIC;
COMMENT ON TABLE childguard.migration IS
	'The state of each migrate_column() run: where its batches are, what they sealed and rejected, the transactions that wrote them. Read it through childguard.migrations.';

CREATE TABLE childguard.migration_reject (
	tbl				regclass NOT NULL,
	col				name NOT NULL,
	row_ctid		tid NOT NULL,
	child			text,
	sqlstate		text NOT NULL,
	reason			text NOT NULL,
	found_at		timestamptz NOT NULL DEFAULT pg_catalog.now(),
	decision		text CHECK (decision IN ('null', 'delete')),
	FOREIGN KEY (tbl, col) REFERENCES childguard.migration ON DELETE CASCADE
);
CREATE INDEX migration_reject_tbl_col ON childguard.migration_reject (tbl, col);
REVOKE ALL ON childguard.migration_reject FROM PUBLIC;
COMMENT ON TABLE childguard.migration_reject IS
	'Rows migrate_column() could not seal: the table, column, the row''s ctid when found, its child id (the subject column, never the value) and the SQLSTATE and reason (ZC011 unknown child, ZC012 erased, ZC103 no consent for the purpose, or the error sealing raised).';
COMMENT ON COLUMN childguard.migration_reject.decision IS
	'What migrate_decide() decided for this row (null, delete); NULL: not decided yet. A decision covers the row as it was listed (its ctid): a row written since, or rejected later, needs a decision of its own.';
COMMENT ON COLUMN childguard.migration_reject.child IS
	'The row''s subject column as text (the child id); NULL when the subject column is null.';

-- Who may see a migration: the table's owner (or a member), and officers.
CREATE VIEW childguard.migrations WITH (security_barrier) AS
	SELECT m.tbl, m.col AS column_name, m.category, m.source_type, m.purpose, m.state, m.decision,
	       m.total_rows, m.rows_sealed, m.rows_rejected, m.batches, m.batch_size,
	       m.next_block, m.total_blocks,
	       CASE WHEN m.state = 'done' THEN 100::numeric
	            WHEN m.total_blocks = 0 THEN 99::numeric
	            ELSE pg_catalog.round(99 * least(m.next_block, m.total_blocks)::numeric
	                                  / m.total_blocks, 1) END AS percent_done,
	       m.started_by::regrole AS started_by, m.started_at, m.updated_at, m.finished_at,
	       CASE WHEN m.state = 'filling' AND m.next_block > 0 AND m.next_block < m.total_blocks
	            THEN (m.updated_at - m.started_at) * ((m.total_blocks - m.next_block)::float8 / m.next_block)
	       END AS estimated_remaining
	  FROM childguard.migration m
	  JOIN pg_catalog.pg_class c ON c.oid = m.tbl
	 WHERE pg_catalog.pg_has_role(CURRENT_USER, c.relowner, 'USAGE')
	    OR EXISTS (SELECT 1 FROM childguard.officer o
	               WHERE pg_catalog.pg_has_role(CURRENT_USER, o.role::oid, 'MEMBER'));
GRANT SELECT ON childguard.migrations TO PUBLIC;
COMMENT ON VIEW childguard.migrations IS
	'Progress of each migrate_column() run on the tables the caller owns (officers: all): state (filling, stopped for a decision, done, aborted), rows sealed and rejected, batches, percent done and an estimate of the time left.';

CREATE VIEW childguard.migration_rejects WITH (security_barrier) AS
	SELECT r.tbl, r.col AS column_name, r.row_ctid, r.child, r.sqlstate, r.reason, r.found_at, r.decision
	  FROM childguard.migration_reject r
	  JOIN pg_catalog.pg_class c ON c.oid = r.tbl
	 WHERE pg_catalog.pg_has_role(CURRENT_USER, c.relowner, 'USAGE')
	    OR EXISTS (SELECT 1 FROM childguard.officer o
	               WHERE pg_catalog.pg_has_role(CURRENT_USER, o.role::oid, 'MEMBER'));
GRANT SELECT ON childguard.migration_rejects TO PUBLIC;
COMMENT ON VIEW childguard.migration_rejects IS
	'The rows a migration could not seal, on the tables the caller owns (officers: all): child id and why, never the value. A stopped migration waits for migrate_decide().';

-- The caller must own the table (or be a member of its owner).
CREATE FUNCTION childguard._migrate_require_owner(tbl regclass) RETURNS void
	LANGUAGE plpgsql STABLE
	SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_class c
	               WHERE c.oid = tbl AND c.relkind = 'r'
	                 AND pg_catalog.pg_has_role(childguard._caller_oid(), c.relowner, 'USAGE')) THEN
		RAISE EXCEPTION 'must be owner of table %', tbl
			USING ERRCODE = '42501',
			      DETAIL = 'Only the owner of a plain table may migrate its columns.';
	END IF;
END
$$;
REVOKE ALL ON FUNCTION childguard._migrate_require_owner(regclass) FROM PUBLIC;
COMMENT ON FUNCTION childguard._migrate_require_owner(regclass) IS
	'Raises 42501 unless the calling role owns the table (or is a member of its owner) and it is a plain table.';


-- The subject column protect() named in the table's seal trigger, if any.
CREATE FUNCTION childguard._seal_subject_column(tbl regclass) RETURNS name
	LANGUAGE sql STABLE
	SET search_path = pg_catalog, pg_temp
AS $$
	SELECT pg_catalog.convert_from(pg_catalog.substring(t.tgargs, 1,
	           pg_catalog.position(t.tgargs, '\x00'::bytea) - 1), 'UTF8')::name
	  FROM pg_catalog.pg_trigger t
	 WHERE t.tgrelid = tbl AND t.tgname = 'zz_childguard_seal' AND t.tgnargs = 1
$$;
GRANT EXECUTE ON FUNCTION childguard._seal_subject_column(regclass) TO PUBLIC;
COMMENT ON FUNCTION childguard._seal_subject_column(regclass) IS
	'The subject column named by the table''s seal trigger (installed by protect()), or NULL.';

-- Start a migration: check what would make it fail at the end, add the
-- shadow column, protect the table, record the state.
CREATE FUNCTION childguard._migrate_start(p_tbl regclass, p_col name, p_category text, p_batch_size integer,
										 p_subject name, p_passphrase text)
	RETURNS childguard.migration
	LANGUAGE plpgsql
	SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	a pg_catalog.pg_attribute;
	m childguard.migration;
	cgtype oid := 'childguard.child_data'::pg_catalog.regtype;
	subj name := childguard._seal_subject_column(p_tbl);
	cat text := pg_catalog.lower(p_category);
	sh name;
	cats jsonb;
	deps text;
	nrows bigint;
	nblocks bigint;
BEGIN
	IF p_col IS NULL OR p_category IS NULL THEN
		RAISE EXCEPTION 'column and category are required' USING ERRCODE = '22004';
	END IF;
	IF p_batch_size IS NULL OR p_batch_size < 1 THEN
		RAISE EXCEPTION 'batch size must be positive' USING ERRCODE = '22023';
	END IF;
	SELECT * INTO a FROM pg_catalog.pg_attribute x
	 WHERE x.attrelid = p_tbl AND x.attname = p_col AND x.attnum > 0 AND NOT x.attisdropped;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'column "%" of relation "%" does not exist', p_col, p_tbl USING ERRCODE = '42703';
	END IF;
	IF a.atttypid NOT IN ('text'::regtype, 'varchar'::regtype, 'bytea'::regtype) THEN
		RAISE EXCEPTION 'cannot migrate column "%" of type %', p_col, a.atttypid::regtype
			USING ERRCODE = 'ZC441',
			      DETAIL = 'migrate_column() converts text, varchar, and bytea sealed by pgp_sym_encrypt() to child data.',
			      HINT = 'Convert the column to text first.';
	END IF;
	IF a.atttypid = 'bytea'::regtype AND p_passphrase IS NULL THEN
		RAISE EXCEPTION 'a passphrase is required to migrate column "%" of type bytea', p_col
			USING ERRCODE = '22004',
			      DETAIL = 'The column is read with pgp_sym_decrypt(column, passphrase).',
			      HINT = 'Pass passphrase => ''...'' (a parameter: statement texts are masked in logs).';
	END IF;
	IF NOT EXISTS (SELECT 1 FROM childguard.category c WHERE c.category = cat) THEN
		RAISE EXCEPTION 'unknown child data category "%"', p_category
			USING ERRCODE = '22023', HINT = 'Known categories are listed in childguard.category.';
	END IF;
	IF subj IS NOT NULL AND p_subject IS NOT NULL AND subj <> p_subject THEN
		RAISE EXCEPTION 'table "%" is protected with subject column "%", not "%"', p_tbl, subj, p_subject
			USING ERRCODE = '22023';
	END IF;
	subj := coalesce(subj, p_subject);
	IF subj IS NULL THEN
		RAISE EXCEPTION 'table "%" is not protected and no subject column was given', p_tbl
			USING ERRCODE = '22004',
			      HINT = 'Pass subject_column => the column holding the child''s id.';
	END IF;
	IF subj = p_col THEN
		RAISE EXCEPTION 'subject column "%" cannot hold child data itself', subj USING ERRCODE = '42804';
	END IF;
	-- what ALTER COLUMN TYPE would trip over at the end: code attached to
	-- the column (indexes, constraints, defaults, views, policies, statistics)
	SELECT pg_catalog.string_agg(pg_catalog.pg_describe_object(d.classid, d.objid, d.objsubid), ', ')
	  INTO deps
	  FROM pg_catalog.pg_depend d
	 WHERE d.refclassid = 'pg_catalog.pg_class'::regclass AND d.refobjid = p_tbl
	   AND d.refobjsubid = a.attnum AND d.deptype IN ('n', 'a');
	IF deps IS NOT NULL OR a.attgenerated <> '' OR a.atthasdef THEN
		RAISE EXCEPTION 'cannot migrate column "%" of relation "%": objects depend on it', p_col, p_tbl
			USING ERRCODE = 'ZC441',
			      DETAIL = pg_catalog.format('Depending on the column: %s.', coalesce(deps, 'its default or generation expression')),
			      HINT = 'Drop them first: child data cannot be indexed, constrained, defaulted or read by views that call other code.';
	END IF;
	-- the shadow column, then protection (every child_data column classified)
	sh := pg_catalog.left(p_col, 40) || '_cg_migrating';
	IF EXISTS (SELECT 1 FROM pg_catalog.pg_attribute x
	           WHERE x.attrelid = p_tbl AND x.attname = sh AND NOT x.attisdropped) THEN
		RAISE EXCEPTION 'column "%" of relation "%" already exists', sh, p_tbl USING ERRCODE = '42701';
	END IF;
	EXECUTE pg_catalog.format('ALTER TABLE %s ADD COLUMN %I childguard.child_data(%s)', p_tbl, sh, cat);
	SELECT pg_catalog.jsonb_object_agg(x.attname,
	           pg_catalog.substring(pg_catalog.format_type(x.atttypid, x.atttypmod), '\(([a-z_]+)\)$'))
	  INTO cats
	  FROM pg_catalog.pg_attribute x
	 WHERE x.attrelid = p_tbl AND x.atttypid = cgtype AND x.atttypmod >= 0 AND x.attnum > 0 AND NOT x.attisdropped;
	m.protected_here := childguard._seal_subject_column(p_tbl) IS NULL;
	PERFORM childguard.protect(p_tbl, subj, cats);

	EXECUTE pg_catalog.format('SELECT pg_catalog.count(*) FROM ONLY %s', p_tbl) INTO nrows;
	nblocks := pg_catalog.pg_relation_size(p_tbl) / pg_catalog.current_setting('block_size')::bigint;
	INSERT INTO childguard.migration (tbl, col, shadow, category, subject_column, source_type, purpose,
	                                  protected_here, batch_size, total_rows, total_blocks,
	                                  blocks_per_batch, started_by)
	VALUES (p_tbl, p_col, sh, cat, subj, a.atttypid, childguard.current_purpose(), m.protected_here,
	        p_batch_size, nrows, nblocks,
	        greatest(1, pg_catalog.ceil(p_batch_size::numeric * nblocks / greatest(nrows, 1)))::bigint,
	        childguard._caller_oid())
	RETURNING * INTO m;
	RAISE NOTICE 'migrating column "%" of "%" to child data (%): % rows in % blocks',
		p_col, p_tbl, cat, nrows, nblocks;
	RETURN m;
END
$$;
REVOKE ALL ON FUNCTION childguard._migrate_start(regclass, name, text, integer, name, text) FROM PUBLIC;
COMMENT ON FUNCTION childguard._migrate_start(regclass, name, text, integer, name, text) IS
	'First step of migrate_column(): checks the column, adds the shadow child_data column, protects the table and records the migration.';

-- The SQLSTATEs that concern one row (its child, its consent, its value);
-- anything else stops the batch.
CREATE FUNCTION childguard._row_sqlstate_reason(state text) RETURNS text
	LANGUAGE sql IMMUTABLE
AS $$
	SELECT CASE state
		WHEN 'ZC011' THEN 'the child is not registered (or the subject column is null)'
		WHEN 'ZC012' THEN 'the child has been erased'
		WHEN 'ZC103' THEN 'no consent in force for the purpose'
		WHEN 'ZC105' THEN 'the purpose may not use this child''s data'
		WHEN 'ZC106' THEN 'consent was not given by the person the child''s age requires'
		WHEN 'ZC109' THEN 'the purpose is forbidden for children in difficult circumstances'
		WHEN 'ZC045' THEN 'the value is longer than childguard.max_value_size'
		WHEN 'ZC004' THEN 'the value looks like a malformed envelope'
		WHEN 'ZC003' THEN 'the value is sealed for another child or category'
		WHEN '39000' THEN 'pgp_sym_decrypt() failed: wrong passphrase or corrupt data'
		WHEN '22021' THEN 'the value is not valid in the database encoding'
		WHEN '22P02' THEN 'the value is not valid input'
		WHEN '23502' THEN 'a NOT NULL column'
		WHEN '23514' THEN 'a CHECK constraint'
	END
$$;
GRANT EXECUTE ON FUNCTION childguard._row_sqlstate_reason(text) TO PUBLIC;
COMMENT ON FUNCTION childguard._row_sqlstate_reason(text) IS
	'Why a row was rejected, for the SQLSTATEs that concern one row; NULL for those that stop a migration or a load (no purpose, grant, category, cancellation ...). Reasons never quote the value.';

-- Seal the candidate rows of one batch: those in blocks [lo, hi) whose
-- shadow is empty, or (catch_up) every row not written by one of the
-- migration's own batches.  Rows whose child is unknown, erased or without
-- consent for the purpose are recorded as rejected and left alone; the
-- others are filled by one UPDATE (row by row if it fails on a row).
-- Returns sealed, rejected, and the transaction ids that wrote the rows.
CREATE FUNCTION childguard._migrate_fill(m childguard.migration, lo bigint, hi bigint, catch_up boolean,
										passphrase text, OUT sealed bigint, OUT rejected bigint,
										OUT xids bigint[])
	LANGUAGE plpgsql
	SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	cond text;
	expr text;
	ctids tid[];
	kids text[];
	good tid[];
	c tid;
	n bigint;
	x bigint[];
	st text;
BEGIN
	sealed := 0;
	xids := '{}';
	IF catch_up THEN
		cond := pg_catalog.format('t.%1$I IS NOT NULL AND (t.%2$I IS NULL OR NOT (t.xmin::text::bigint = ANY ($3)))',
		                          m.col, m.shadow);
	ELSE
		cond := pg_catalog.format('t.ctid >= pg_catalog.format(''(%%s,0)'', $1)::tid AND t.ctid < pg_catalog.format(''(%%s,0)'', $2)::tid '
		                          'AND t.%2$I IS NULL AND t.%1$I IS NOT NULL', m.col, m.shadow);
	END IF;
	EXECUTE pg_catalog.format('SELECT coalesce(pg_catalog.array_agg(t.ctid), ''{}''), '
	                          'coalesce(pg_catalog.array_agg(t.%I::text), ''{}'') FROM ONLY %s t WHERE %s',
	                          m.subject_column, m.tbl, cond)
	   INTO ctids, kids USING lo, hi, m.batch_xids;
	WITH x AS (
		SELECT u.c, u.kid, k.child_id IS NULL AS unknown, k.erased_at IS NOT NULL AS erased,
		       k.child_id IS NOT NULL AND k.erased_at IS NULL AND childguard.row_visible(u.kid) AS ok
		  FROM ROWS FROM (pg_catalog.unnest(ctids), pg_catalog.unnest(kids)) u(c, kid)
		  LEFT JOIN childguard.child k ON k.child_id = u.kid
	), ins AS (
		INSERT INTO childguard.migration_reject (tbl, col, row_ctid, child, sqlstate, reason)
		SELECT m.tbl, m.col, x.c, x.kid, s.st, childguard._row_sqlstate_reason(s.st)
		  FROM x CROSS JOIN LATERAL (SELECT CASE WHEN x.unknown THEN 'ZC011' WHEN x.erased THEN 'ZC012'
		                                         ELSE 'ZC103' END AS st) s
		 WHERE NOT x.ok
		RETURNING 1
	)
	SELECT coalesce(pg_catalog.array_agg(x.c) FILTER (WHERE x.ok), '{}'), (SELECT pg_catalog.count(*) FROM ins)
	  INTO good, rejected FROM x;
	IF pg_catalog.cardinality(good) = 0 THEN
		RETURN;
	END IF;
	expr := CASE WHEN m.source_type = 'bytea'::regtype
	             THEN pg_catalog.format('%I.pgp_sym_decrypt(t.%I, $2)',
	                      (SELECT n.nspname FROM pg_catalog.pg_extension e
	                         JOIN pg_catalog.pg_namespace n ON n.oid = e.extnamespace
	                        WHERE e.extname = 'pgcrypto'), m.col)
	             ELSE pg_catalog.format('t.%I::text', m.col) END;
	BEGIN
		EXECUTE pg_catalog.format('WITH u AS (UPDATE ONLY %s t SET %I = %s WHERE t.ctid = ANY ($1) '
		                          'RETURNING t.xmin::text::bigint AS x) '
		                          'SELECT pg_catalog.count(*), pg_catalog.array_agg(DISTINCT u.x) FROM u',
		                          m.tbl, m.shadow, expr)
		   INTO n, x USING good, passphrase;
		sealed := n;
		xids := coalesce(x, '{}');
	EXCEPTION WHEN OTHERS THEN
		GET STACKED DIAGNOSTICS st = RETURNED_SQLSTATE;
		IF childguard._row_sqlstate_reason(st) IS NULL THEN
			RAISE;
		END IF;
		-- one row is at fault: seal them one by one
		FOREACH c IN ARRAY good LOOP
			BEGIN
				EXECUTE pg_catalog.format('WITH u AS (UPDATE ONLY %s t SET %I = %s WHERE t.ctid = $1 '
				                          'RETURNING t.xmin::text::bigint AS x) '
				                          'SELECT pg_catalog.count(*), pg_catalog.array_agg(u.x) FROM u',
				                          m.tbl, m.shadow, expr)
				   INTO n, x USING c, passphrase;
				sealed := sealed + n;
				xids := xids || coalesce(x, '{}');
			EXCEPTION WHEN OTHERS THEN
				GET STACKED DIAGNOSTICS st = RETURNED_SQLSTATE;
				IF childguard._row_sqlstate_reason(st) IS NULL THEN
					RAISE;
				END IF;
				INSERT INTO childguard.migration_reject (tbl, col, row_ctid, child, sqlstate, reason)
				VALUES (m.tbl, m.col, c, kids[pg_catalog.array_position(ctids, c)], st,
				        childguard._row_sqlstate_reason(st));
				rejected := rejected + 1;
			END;
		END LOOP;
	END;
END
$$;
REVOKE ALL ON FUNCTION childguard._migrate_fill(childguard.migration, bigint, bigint, boolean, text) FROM PUBLIC;
COMMENT ON FUNCTION childguard._migrate_fill(childguard.migration, bigint, bigint, boolean, text) IS
	'One batch of migrate_column(): seals the values of the rows in a block range (or, catching up, of every row not written by the migration) into the shadow column; records the rows it cannot seal as rejected.';

-- The last step, under ACCESS EXCLUSIVE: catch up, stop if any row is
-- rejected and no decision was made, else rewrite the column in place.
CREATE FUNCTION childguard._migrate_swap(m childguard.migration, passphrase text)
	RETURNS childguard.migration
	LANGUAGE plpgsql
	SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	f record;
	n bigint;
	undecided bigint;
	unsealed tid[];
	decided_null tid[];
	decided_delete tid[];
BEGIN
	EXECUTE pg_catalog.format('LOCK TABLE %s IN ACCESS EXCLUSIVE MODE', m.tbl);
	-- the rows not decided are looked at again; a decision covers the rows
	-- it was made for (by ctid: a row written since is a row to decide anew)
	DELETE FROM childguard.migration_reject r
	 WHERE r.tbl = m.tbl AND r.col = m.col AND r.decision IS NULL;
	f := childguard._migrate_fill(m, NULL, NULL, true, passphrase);
	DELETE FROM childguard.migration_reject u
	 WHERE u.tbl = m.tbl AND u.col = m.col AND u.decision IS NULL
	   AND EXISTS (SELECT 1 FROM childguard.migration_reject d WHERE d.tbl = u.tbl AND d.col = u.col
	               AND d.row_ctid = u.row_ctid AND d.decision IS NOT NULL);
	SELECT coalesce(pg_catalog.array_agg(r.row_ctid) FILTER (WHERE r.decision = 'null'), '{}'),
	       coalesce(pg_catalog.array_agg(r.row_ctid) FILTER (WHERE r.decision = 'delete'), '{}')
	  INTO decided_null, decided_delete
	  FROM childguard.migration_reject r WHERE r.tbl = m.tbl AND r.col = m.col;
	-- values set to NULL after their batch
	EXECUTE pg_catalog.format('UPDATE ONLY %s t SET %I = NULL WHERE t.%I IS NULL AND t.%2$I IS NOT NULL',
	                          m.tbl, m.shadow, m.col);
	-- every row holding a value must now hold it sealed, or be rejected;
	-- a rejected row not covered by a decision stops the migration
	EXECUTE pg_catalog.format('SELECT pg_catalog.count(*), pg_catalog.count(*) FILTER (WHERE NOT (t.ctid = ANY ($1))), '
	                          'coalesce(pg_catalog.array_agg(t.ctid), ''{}'') '
	                          'FROM ONLY %s t WHERE t.%I IS NULL AND t.%I IS NOT NULL',
	                          m.tbl, m.shadow, m.col)
	   INTO n, undecided, unsealed USING decided_null || decided_delete;
	-- rows listed before that are sealed now (or gone) are off the list
	DELETE FROM childguard.migration_reject r
	 WHERE r.tbl = m.tbl AND r.col = m.col AND NOT (r.row_ctid = ANY (unsealed));
	UPDATE childguard.migration x
	   SET rows_sealed = x.rows_sealed + f.sealed, rows_rejected = n,
	       batch_xids = x.batch_xids || f.xids, updated_at = pg_catalog.clock_timestamp(),
	       state = CASE WHEN undecided > 0 THEN 'stopped' ELSE x.state END
	 WHERE x.tbl = m.tbl AND x.col = m.col
	RETURNING * INTO m;
	IF m.state = 'stopped' THEN
		RAISE WARNING 'migration of column "%" of "%" stopped: % rows cannot be sealed', m.col, m.tbl, undecided
			USING DETAIL = 'Their children are unknown, erased, or without consent for the purpose; they are listed in childguard.migration_rejects.',
			      HINT = 'Register the children or record their consents, then migrate_decide(table, column, ''retry''); or decide ''null'', ''delete'' or ''abort''.';
		RETURN m;
	END IF;
	IF pg_catalog.cardinality(decided_delete) > 0 THEN
		EXECUTE pg_catalog.format('DELETE FROM ONLY %s t WHERE t.ctid = ANY ($1) AND t.%I IS NULL AND t.%I IS NOT NULL',
		                          m.tbl, m.shadow, m.col) USING decided_delete;
		GET DIAGNOSTICS n = ROW_COUNT;
		RAISE NOTICE 'deleted % rejected rows of "%", as decided', n, m.tbl;
	END IF;
	-- the rows decided "null" are the only ones left unsealed: USING gives them NULL
	-- the values are sealed for their row's child and category: the rewrite
	-- moves them into the column's own place (write_guard.c)
	EXECUTE pg_catalog.format('ALTER TABLE %s ALTER COLUMN %I TYPE childguard.child_data(%s) USING %I',
	                          m.tbl, m.col, m.category, m.shadow);
	EXECUTE pg_catalog.format('ALTER TABLE %s DROP COLUMN %I', m.tbl, m.shadow);
	UPDATE childguard.migration x
	   SET state = 'done', finished_at = pg_catalog.clock_timestamp(), updated_at = pg_catalog.clock_timestamp()
	 WHERE x.tbl = m.tbl AND x.col = m.col
	RETURNING * INTO m;
	RAISE NOTICE 'column "%" of "%" is now child data (%): % rows sealed; the table was rewritten',
		m.col, m.tbl, m.category, m.rows_sealed
		USING HINT = pg_catalog.format('Run the final step: SELECT * FROM childguard.migrate_finish(%L).', m.tbl::text);
	RETURN m;
END
$$;
REVOKE ALL ON FUNCTION childguard._migrate_swap(childguard.migration, text) FROM PUBLIC;
COMMENT ON FUNCTION childguard._migrate_swap(childguard.migration, text) IS
	'Last step of migrate_column(): under ACCESS EXCLUSIVE, seals the rows written since their batch, stops if any row is rejected without a decision, else rewrites the column in place from its sealed shadow and drops the shadow.';

CREATE FUNCTION childguard.migrate_step(tbl regclass, col name, category text,
									   batch_size integer DEFAULT 10000, subject_column name DEFAULT NULL,
									   passphrase text DEFAULT NULL)
	RETURNS TABLE (state text, rows_sealed bigint, rows_rejected bigint, percent_done numeric)
	LANGUAGE plpgsql
	SECURITY DEFINER
	SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_column
DECLARE
	m childguard.migration;
	f record;
	hi bigint;
BEGIN
	PERFORM childguard._migrate_require_owner(tbl);
	IF childguard.current_purpose() IS NULL THEN
		RAISE EXCEPTION 'cannot migrate child data without a declared purpose'
			USING ERRCODE = 'ZC100',
			      DETAIL = 'Sealing a value is collecting it: it needs the purpose, a grant and each child''s consent.',
			      HINT = 'SET childguard.purpose (at session level: migrate_column() commits between batches).';
	END IF;
	SELECT * INTO m FROM childguard.migration x WHERE x.tbl = migrate_step.tbl AND x.col = migrate_step.col
	   FOR UPDATE;
	IF FOUND AND m.state = 'aborted' THEN
		DELETE FROM childguard.migration x WHERE x.tbl = m.tbl AND x.col = m.col;
	END IF;
	IF NOT FOUND OR m.state = 'aborted' THEN
		m := childguard._migrate_start(tbl, col, category, batch_size, subject_column, passphrase);
	ELSIF m.category IS DISTINCT FROM pg_catalog.lower(category) THEN
		RAISE EXCEPTION 'column "%" of "%" is being migrated to category "%"', m.col, m.tbl, m.category
			USING ERRCODE = 'ZC442', HINT = 'Finish or abort that migration first (migrate_decide(..., ''abort'')).';
	ELSIF m.state <> 'done' AND m.purpose IS DISTINCT FROM childguard.current_purpose() THEN
		RAISE EXCEPTION 'the migration of column "%" of "%" runs under purpose "%"', m.col, m.tbl, m.purpose
			USING ERRCODE = 'ZC442',
			      DETAIL = 'Every row of a migration is sealed under the same purpose''s consent.',
			      HINT = pg_catalog.format('SET childguard.purpose = %L, or abort the migration.', m.purpose);
	END IF;
	IF m.state = 'stopped' THEN
		RAISE EXCEPTION 'the migration of column "%" of "%" is stopped for a decision', m.col, m.tbl
			USING ERRCODE = 'ZC440',
			      DETAIL = pg_catalog.format('%s rows cannot be sealed and wait for a decision; they are listed in childguard.migration_rejects.',
			                                 (SELECT pg_catalog.count(*) FROM childguard.migration_reject r
			                                   WHERE r.tbl = m.tbl AND r.col = m.col AND r.decision IS NULL)),
			      HINT = 'Register the children or record their consents, then migrate_decide(table, column, ''retry''); or decide ''null'', ''delete'' or ''abort''.';
	END IF;
	IF m.state = 'filling' AND m.next_block < m.total_blocks THEN
		hi := least(m.next_block + m.blocks_per_batch, m.total_blocks);
		f := childguard._migrate_fill(m, m.next_block, hi, false, passphrase);
		UPDATE childguard.migration x
		   SET next_block = hi, batches = x.batches + 1, rows_sealed = x.rows_sealed + f.sealed,
		       rows_rejected = x.rows_rejected + f.rejected, batch_xids = x.batch_xids || f.xids,
		       updated_at = pg_catalog.clock_timestamp()
		 WHERE x.tbl = m.tbl AND x.col = m.col
		RETURNING * INTO m;
		RAISE NOTICE 'migrating "%"."%": block % of %, % rows sealed, % rejected',
			m.tbl, m.col, m.next_block, m.total_blocks, m.rows_sealed, m.rows_rejected;
	ELSIF m.state = 'filling' THEN
		m := childguard._migrate_swap(m, passphrase);
	END IF;
	RETURN QUERY SELECT v.state, v.rows_sealed, v.rows_rejected, v.percent_done
	  FROM childguard.migrations v WHERE v.tbl = m.tbl AND v.column_name = m.col;
END
$$;
REVOKE ALL ON FUNCTION childguard.migrate_step(regclass, name, text, integer, name, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION childguard.migrate_step(regclass, name, text, integer, name, text) TO PUBLIC;
COMMENT ON FUNCTION childguard.migrate_step(regclass, name, text, integer, name, text) IS
	'One step of a column''s migration to child data (the table''s owner, under a declared purpose): the first call starts it, each call seals one batch of about batch_size rows, the call after the last batch catches up and converts the column in place (or stops for a decision, ZC440). Repeat it, committing between calls, until state is done; migrate_column() does that. passphrase: for a bytea column sealed by pgp_sym_encrypt().';

CREATE PROCEDURE childguard.migrate_column(tbl regclass, col name, category text,
										  batch_size integer DEFAULT 10000, subject_column name DEFAULT NULL,
										  passphrase text DEFAULT NULL)
	LANGUAGE plpgsql
AS $$
DECLARE
	st text;
	rej bigint;
BEGIN
	LOOP
		SELECT s.state INTO st
		  FROM childguard.migrate_step(tbl, col, category, batch_size, subject_column, passphrase) s;
		SELECT pg_catalog.count(*) INTO rej FROM childguard.migration_rejects r
		 WHERE r.tbl = migrate_column.tbl AND r.column_name = migrate_column.col AND r.decision IS NULL;
		COMMIT;
		EXIT WHEN st = 'done';
		IF st = 'stopped' THEN
			RAISE EXCEPTION 'the migration of column "%" of "%" is stopped for a decision', col, tbl
				USING ERRCODE = 'ZC440',
				      DETAIL = pg_catalog.format('%s rows cannot be sealed and wait for a decision; they are listed in childguard.migration_rejects.', rej),
				      HINT = 'Register the children or record their consents, then migrate_decide(table, column, ''retry''); or decide ''null'', ''delete'' or ''abort''; then call migrate_column() again.';
		END IF;
	END LOOP;
END
$$;
REVOKE ALL ON PROCEDURE childguard.migrate_column(regclass, name, text, integer, name, text) FROM PUBLIC;
GRANT EXECUTE ON PROCEDURE childguard.migrate_column(regclass, name, text, integer, name, text) TO PUBLIC;
COMMENT ON PROCEDURE childguard.migrate_column(regclass, name, text, integer, name, text) IS
	'Convert a text, varchar or pgp_sym_encrypt()ed bytea column to child_data(category) in place, column order kept: CALL it outside a transaction block, as the table''s owner under a session-level purpose; it commits after each batch of about batch_size rows (resumable: call it again), reports progress in childguard.migrations, and stops (ZC440) when rows cannot be sealed, until migrate_decide().';

CREATE FUNCTION childguard.migrate_decide(tbl regclass, col name, decision text)
	RETURNS text
	LANGUAGE plpgsql
	SECURITY DEFINER
	SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_column
DECLARE
	m childguard.migration;
BEGIN
	PERFORM childguard._migrate_require_owner(tbl);
	SELECT * INTO m FROM childguard.migration x WHERE x.tbl = migrate_decide.tbl AND x.col = migrate_decide.col
	   FOR UPDATE;
	IF NOT FOUND OR m.state NOT IN ('stopped', 'filling') THEN
		RAISE EXCEPTION 'no migration of column "%" of "%" waits for a decision', col, tbl
			USING ERRCODE = 'ZC442';
	END IF;
	IF decision IS NULL OR decision NOT IN ('retry', 'null', 'delete', 'abort') THEN
		RAISE EXCEPTION 'unknown migration decision "%"', decision
			USING ERRCODE = '22023',
			      HINT = 'retry (after registering children or recording consents), null (the rejected rows lose the value), delete (the rejected rows are deleted), abort (the column stays as it was).';
	END IF;
	IF decision = 'null' AND EXISTS (SELECT 1 FROM pg_catalog.pg_attribute a WHERE a.attrelid = m.tbl
	                                 AND a.attname = m.col AND a.attnotnull) THEN
		RAISE EXCEPTION 'column "%" of "%" is NOT NULL', m.col, m.tbl
			USING ERRCODE = 'ZC441', HINT = 'Decide delete, or drop the NOT NULL constraint.';
	END IF;
	IF decision = 'abort' THEN
		EXECUTE pg_catalog.format('ALTER TABLE %s DROP COLUMN %I', m.tbl, m.shadow);
		IF m.protected_here AND NOT EXISTS (
				SELECT 1 FROM pg_catalog.pg_attribute a WHERE a.attrelid = m.tbl AND a.attnum > 0
				   AND NOT a.attisdropped AND a.atttypid = 'childguard.child_data'::pg_catalog.regtype) THEN
			PERFORM childguard.unprotect(m.tbl);
		END IF;
		DELETE FROM childguard.migration_reject r WHERE r.tbl = m.tbl AND r.col = m.col;
		UPDATE childguard.migration x SET state = 'aborted', finished_at = pg_catalog.clock_timestamp(),
		       updated_at = pg_catalog.clock_timestamp()
		 WHERE x.tbl = m.tbl AND x.col = m.col;
		RETURN 'aborted';
	END IF;
	-- the decision covers the rows listed now, and only those
	IF decision = 'retry' THEN
		DELETE FROM childguard.migration_reject r
		 WHERE r.tbl = m.tbl AND r.col = m.col AND r.decision IS NULL;
	ELSE
		UPDATE childguard.migration_reject r SET decision = migrate_decide.decision
		 WHERE r.tbl = m.tbl AND r.col = m.col AND r.decision IS NULL;
	END IF;
	UPDATE childguard.migration x
	   SET state = 'filling', updated_at = pg_catalog.clock_timestamp(),
	       decision = CASE migrate_decide.decision WHEN 'retry' THEN x.decision ELSE migrate_decide.decision END
	 WHERE x.tbl = m.tbl AND x.col = m.col;
	RETURN 'filling';
END
$$;
REVOKE ALL ON FUNCTION childguard.migrate_decide(regclass, name, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION childguard.migrate_decide(regclass, name, text) TO PUBLIC;
COMMENT ON FUNCTION childguard.migrate_decide(regclass, name, text) IS
	'What a migration stopped by rejected rows does next (the table''s owner): retry (after registering the children or recording consents), null (the rows listed now get NULL: their plaintext is dropped), delete (the rows listed now are deleted), abort (the shadow column is dropped, the column stays as it was). A decision covers the rows listed when it is made; rows rejected later stop the migration again. Then call migrate_column() again.';

CREATE FUNCTION childguard.migrate_finish(tbl regclass)
	RETURNS TABLE (step integer, command text, why text)
	LANGUAGE plpgsql
	SECURITY DEFINER
	SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_column
BEGIN
	PERFORM childguard._migrate_require_owner(tbl);
	IF EXISTS (SELECT 1 FROM childguard.migration x
	           WHERE x.tbl = migrate_finish.tbl AND x.state IN ('filling', 'stopped')) THEN
		RAISE EXCEPTION 'a migration of "%" is not finished', tbl
			USING ERRCODE = 'ZC442', HINT = 'See childguard.migrations.';
	END IF;
	RETURN QUERY VALUES
		(1, 'VACUUM (FULL) pg_catalog.pg_statistic',
		 'as a superuser: the statistics of the old column (most common values, histogram) were deleted by the conversion, but their dead rows hold plaintext until pg_statistic is rewritten'),
		(2, pg_catalog.format('ANALYZE %s', tbl),
		 'fresh statistics (child data columns get none that hold values)'),
		(3, 'CHECKPOINT',
		 'as a superuser or pg_checkpoint: writes the rewritten files and removes the truncated files of the old heap, TOAST table and indexes'),
		(4, 'SELECT pg_catalog.pg_switch_wal(); CHECKPOINT',
		 'over time: WAL segments written before the conversion hold plaintext until they are recycled and overwritten (after checkpoints, once no slot, wal_keep_size or archiving needs them); WAL archives and base backups taken before it hold it until they expire');
END
$$;
REVOKE ALL ON FUNCTION childguard.migrate_finish(regclass) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION childguard.migrate_finish(regclass) TO PUBLIC;
COMMENT ON FUNCTION childguard.migrate_finish(regclass) IS
	'The final step after migrating a table''s columns: the exact commands that remove the plaintext left in pg_statistic, in files and (over time) in WAL, in order, and why each is needed. The conversion itself rewrote the table, its TOAST table and its indexes.';

-- The compliance duty this capability checks: no column is left half
-- migrated (its plaintext still stored beside the sealed copy).
CREATE FUNCTION childguard.duty_migrations_finished()
	RETURNS TABLE (pass boolean, reason text, objects text[])
	LANGUAGE sql STABLE
	SECURITY DEFINER
	SET search_path = pg_catalog, pg_temp
AS $$
	SELECT pg_catalog.count(*) = 0,
	       CASE WHEN pg_catalog.count(*) = 0
	            THEN 'no migration of a plaintext column to child data is under way or stopped'
	            ELSE pg_catalog.format('%s column(s) are half migrated: their plaintext is still stored beside the sealed values (finish with migrate_column(), or decide with migrate_decide())',
	                                   pg_catalog.count(*)) END,
	       coalesce(pg_catalog.array_agg(pg_catalog.format('%s.%I (%s)', m.tbl, m.col, m.state)
	                                     ORDER BY m.tbl::text, m.col), '{}')
	  FROM childguard.migration m
	 WHERE m.state IN ('filling', 'stopped')
	   AND EXISTS (SELECT 1 FROM pg_catalog.pg_class c WHERE c.oid = m.tbl)   -- a dropped table holds nothing
$$;
REVOKE ALL ON FUNCTION childguard.duty_migrations_finished() FROM PUBLIC;
COMMENT ON FUNCTION childguard.duty_migrations_finished() IS
	'Compliance check (Provisions Art 13, encryption at rest): passes when no column is half migrated by migrate_column(); else names the columns whose plaintext is still stored.';
INSERT INTO childguard.compliance_duty VALUES
	('migrations_finished', 'Provisions Art 13',
	 'no column is left half migrated by migrate_column() (its plaintext stored beside the sealed copy)',
	 'childguard.duty_migrations_finished()'::regprocedure, 'sql/migrate_column.sql');
