-- ---------------------------------------------------------------------------
-- A blind index's hidden column keeps no statistics (round 20, red team).
-- ANALYZE kept the most common hashes of the column and their frequencies
-- over every row of the table; the planner's estimates then told a reader
-- with a purpose -- through EXPLAIN, without running anything -- how many
-- rows in all hold a value it names (a lookup `col = guess` is estimated
-- through the hash of the guess) or the value of a row it can see:
-- counts over the rows of children it may not read (consent withdrawn, no
-- grant), which the row policy hides.  The hidden column's statistics
-- target is now 0 (ANALYZE skips it) for new blind indexes
-- (enable_blind_index(), replaced whole from 1.5 with that one statement
-- added; CREATE OR REPLACE keeps its grants and comment) and for existing
-- ones, whose statistics are removed.
-- ---------------------------------------------------------------------------

CREATE OR REPLACE FUNCTION childguard.enable_blind_index(tbl regclass, column_name name,
											  batch_size integer DEFAULT 10000)
	RETURNS bigint
	LANGUAGE plpgsql SECURITY DEFINER
	SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	subj name := childguard._seal_subject_column(tbl);
	hidden name;
	dist boolean;
	a pg_catalog.pg_attribute;
	n bigint := 0;
	done bigint;
	total bigint;
	last_ctid tid := '(0,0)';
	ids tid[];
BEGIN
	IF tbl IS NULL OR column_name IS NULL THEN
		RAISE EXCEPTION 'table and column are required' USING ERRCODE = '22004';
	END IF;
	IF batch_size IS NULL OR batch_size < 1 THEN
		RAISE EXCEPTION 'batch size must be positive' USING ERRCODE = '22023';
	END IF;
	IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_class c
	               WHERE c.oid = tbl
	                 AND pg_catalog.pg_has_role(childguard._caller_oid(), c.relowner, 'USAGE')) THEN
		RAISE EXCEPTION 'must be owner of table %', tbl
			USING ERRCODE = '42501',
			      HINT = 'A blind index changes the table (a hidden column and an index): its owner makes it.';
	END IF;
	SELECT * INTO a FROM pg_catalog.pg_attribute x
	 WHERE x.attrelid = tbl AND x.attname = column_name AND x.attnum > 0 AND NOT x.attisdropped;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'column "%" of relation "%" does not exist', column_name, tbl USING ERRCODE = '42703';
	END IF;
	IF a.atttypid OPERATOR(pg_catalog.<>) 'childguard.child_data'::pg_catalog.regtype OR subj IS NULL
	   OR childguard.protection_problem(tbl) IS NOT NULL THEN
		RAISE EXCEPTION 'cannot make a blind index on column "%" of table %', column_name, tbl
			USING ERRCODE = 'ZC403',
			      DETAIL = 'A blind index is made on a child_data column of a table childguard.protect() protects.',
			      HINT = 'Protect the table first (childguard.protect()); the column must be of type childguard.child_data(category).';
	END IF;
	-- a Citus worker stores what the coordinator sends and computes no hash
	-- (docs/scale-out.md): no blind index on a distributed table
	IF pg_catalog.to_regclass('pg_catalog.pg_dist_partition') IS NOT NULL THEN
		EXECUTE 'SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_dist_partition WHERE logicalrelid = $1)'
		   INTO dist USING tbl;
		IF dist THEN
			RAISE EXCEPTION 'cannot make a blind index on column "%" of table %', column_name, tbl
				USING ERRCODE = 'ZC403',
				      DETAIL = 'The table is distributed by Citus; its shards would not compute the hashes.',
				      HINT = 'Blind indexes are for tables on one node (docs/scale-out.md).';
		END IF;
	END IF;
	IF EXISTS (SELECT 1 FROM childguard.blind_index b WHERE b.tbl = enable_blind_index.tbl
	             AND b.column_name = enable_blind_index.column_name) THEN
		RAISE EXCEPTION 'column "%" of table % already has a blind index', column_name, tbl
			USING ERRCODE = 'ZC403',
			      HINT = 'childguard.blind_indexes lists them; disable_blind_index() removes one.';
	END IF;
	hidden := column_name OPERATOR(pg_catalog.||) '_blind';
	IF pg_catalog.octet_length(column_name::text) > 57 OR EXISTS (
	     SELECT 1 FROM pg_catalog.pg_attribute x
	      WHERE x.attrelid = tbl AND x.attname = hidden AND NOT x.attisdropped) THEN
		RAISE EXCEPTION 'cannot add hidden column "%" to table %', hidden, tbl
			USING ERRCODE = 'ZC403',
			      DETAIL = 'The blind index''s hidden column is named after the column with the suffix _blind; that name is taken or too long.',
			      HINT = 'Rename the column that holds the name, or the child_data column.';
	END IF;

	-- the registrations of tables dropped since go
	DELETE FROM childguard.blind_index x
	 WHERE NOT EXISTS (SELECT 1 FROM pg_catalog.pg_class c WHERE c.oid = x.tbl);
	INSERT INTO childguard.blind_index (tbl, column_name, blind_column, index_id, wrapped_key, created_by)
	SELECT tbl, column_name, hidden, i.id, childguard._new_blind_key(i.id), childguard._caller()
	  FROM (SELECT pg_catalog.uuid_send(pg_catalog.gen_random_uuid()) AS id) i;
	EXECUTE pg_catalog.format('ALTER TABLE %s ADD COLUMN %I bytea', tbl, hidden);
	-- no statistics of the hashes: the planner's estimates (EXPLAIN) would
	-- tell how often a value occurs among every row, hidden ones too
	EXECUTE pg_catalog.format('ALTER TABLE %s ALTER COLUMN %I SET STATISTICS 0', tbl, hidden);
	EXECUTE pg_catalog.format(
		'COMMENT ON COLUMN %s.%I IS %L', tbl, hidden,
		pg_catalog.format('childguard blind index of column %I: HMAC-SHA-256 (16 bytes) of its plaintext under the column''s blind key, written by the seal trigger on every INSERT and UPDATE (what a statement writes here is replaced). Equal values of the column have equal hashes. Do not write; childguard.disable_blind_index() removes it.',
		                  column_name));

	-- backfill in batches, in ctid order; the new row versions this
	-- transaction writes are skipped (xmin), so each row is hashed once
	EXECUTE pg_catalog.format('SELECT count(*) FROM %s WHERE %I IS NOT NULL', tbl, column_name) INTO total;
	LOOP
		EXECUTE pg_catalog.format(
			'SELECT pg_catalog.array_agg(ctid) FROM (SELECT ctid FROM %s WHERE %I IS NOT NULL AND %I IS NULL '
			'AND ctid OPERATOR(pg_catalog.>) $1 AND xmin OPERATOR(pg_catalog.<>) pg_catalog.xid(pg_catalog.pg_current_xact_id()) '
			'ORDER BY ctid LIMIT $2) s', tbl, column_name, hidden)
			INTO ids USING last_ctid, batch_size;
		EXIT WHEN ids IS NULL;
		EXECUTE pg_catalog.format('UPDATE %s SET %I = NULL WHERE ctid OPERATOR(pg_catalog.=) ANY ($1)', tbl, hidden)
			USING ids;
		GET DIAGNOSTICS done = ROW_COUNT;
		n := n + done;
		last_ctid := ids[pg_catalog.array_upper(ids, 1)];
		RAISE NOTICE 'blind index of column "%" of table %: % of % rows', column_name, tbl, n, total;
	END LOOP;
	EXECUTE pg_catalog.format('CREATE INDEX ON %s (%I)', tbl, hidden);
	RETURN n;
END
$$;

-- existing blind indexes: the statistics target, and the statistics kept
DO $stats$
DECLARE
	b record;
BEGIN
	FOR b IN SELECT x.tbl, x.blind_column, a.attnum
	           FROM childguard.blind_index x
	           JOIN pg_catalog.pg_attribute a ON a.attrelid = x.tbl AND a.attname = x.blind_column
	                                          AND NOT a.attisdropped
	          ORDER BY x.tbl, x.blind_column LOOP
		EXECUTE pg_catalog.format('ALTER TABLE %s ALTER COLUMN %I SET STATISTICS 0', b.tbl, b.blind_column);
		DELETE FROM pg_catalog.pg_statistic s WHERE s.starelid = b.tbl AND s.staattnum = b.attnum;
	END LOOP;
END
$stats$;
