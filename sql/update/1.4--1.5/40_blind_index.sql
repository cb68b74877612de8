-------------------------------------------------------------------------------
-- Blind indexes (issue 13, item 1): equality lookups on a child_data column
-- at index speed, opt-in per column (docs/security.md "Blind indexes",
-- src/enforce/blind_index.c, src/keys/blind_keys.c).
-------------------------------------------------------------------------------

CREATE TABLE childguard.blind_index (
	tbl				regclass NOT NULL,
	column_name		name NOT NULL,
	blind_column	name NOT NULL,
	index_id		bytea NOT NULL,
	wrapped_key		bytea NOT NULL,
	created_at		timestamptz NOT NULL DEFAULT pg_catalog.now(),
	created_by		name NOT NULL DEFAULT CURRENT_USER,
	CONSTRAINT blind_index_pkey PRIMARY KEY (tbl, column_name),
	CONSTRAINT blind_index_index_id_check CHECK (pg_catalog.length(index_id) = 16)
);
COMMENT ON TABLE childguard.blind_index IS
	'The blind indexes enable_blind_index() made: the child_data column, its hidden hash column, the index''s random identity and its random key wrapped by the master key (master key id || nonce || ciphertext || tag).';
REVOKE ALL ON childguard.blind_index FROM PUBLIC;
SELECT pg_catalog.pg_extension_config_dump('childguard.blind_index', '');

CREATE FUNCTION childguard._new_blind_key(index_id bytea) RETURNS bytea
	LANGUAGE C VOLATILE STRICT AS 'MODULE_PATHNAME', 'cg_new_blind_key';
REVOKE ALL ON FUNCTION childguard._new_blind_key(bytea) FROM PUBLIC;
COMMENT ON FUNCTION childguard._new_blind_key(bytea) IS
	'Internal (enable_blind_index()): a fresh random blind-index key for the index, wrapped by the master key.';

CREATE FUNCTION childguard._rewrap_blind_key(index_id bytea, wrapped bytea) RETURNS bytea
	LANGUAGE C VOLATILE STRICT AS 'MODULE_PATHNAME', 'cg_rewrap_blind_key';
REVOKE ALL ON FUNCTION childguard._rewrap_blind_key(bytea, bytea) FROM PUBLIC;
COMMENT ON FUNCTION childguard._rewrap_blind_key(bytea, bytea) IS
	'Internal (rotate_master_key()): the same blind-index key wrapped by the current master key.';

-- Called by the lookups the planner adds (blind_index.c); it decides as a
-- comparison of the column would, so it is PUBLIC like the = operator.
CREATE FUNCTION childguard._blind(tbl regclass, attnum smallint, value childguard.child_data)
	RETURNS bytea
	LANGUAGE C STABLE STRICT PARALLEL RESTRICTED AS 'MODULE_PATHNAME', 'cg_blind';
GRANT EXECUTE ON FUNCTION childguard._blind(regclass, smallint, childguard.child_data) TO PUBLIC;
COMMENT ON FUNCTION childguard._blind(regclass, smallint, childguard.child_data) IS
	'Internal (the planner''s blind-index lookup): the hash a blind index holds for value in the column, for a reader whose purpose and grant may compare the column (else the comparison''s error, ZC105; NULL with no purpose).';

CREATE FUNCTION childguard._blind_clear(tbl regclass, subject_column name, child_id text)
	RETURNS bigint
	LANGUAGE C VOLATILE STRICT AS 'MODULE_PATHNAME', 'cg_blind_clear';
REVOKE ALL ON FUNCTION childguard._blind_clear(regclass, name, text) FROM PUBLIC;
COMMENT ON FUNCTION childguard._blind_clear(regclass, name, text) IS
	'Internal (a shredded data key): null the blind-index hashes of the child''s rows in the table.';

CREATE FUNCTION childguard.enable_blind_index(tbl regclass, column_name name,
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
REVOKE ALL ON FUNCTION childguard.enable_blind_index(regclass, name, integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION childguard.enable_blind_index(regclass, name, integer) TO PUBLIC;
COMMENT ON FUNCTION childguard.enable_blind_index(regclass, name, integer) IS
	'Opt in to a blind index on a child_data column of a protected table: adds the hidden column <column>_blind (HMAC of the plaintext under a per-column key; equal values look equal), fills it for the existing rows in batches of batch_size (a NOTICE per batch), and indexes it, so col = value and col = $1 are answered through the index while each row found is still compared under the read decision. Run as the table''s owner. Returns the rows hashed.';

CREATE FUNCTION childguard.disable_blind_index(tbl regclass, column_name name)
	RETURNS void
	LANGUAGE plpgsql SECURITY DEFINER
	SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	b childguard.blind_index;
BEGIN
	IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_class c
	               WHERE c.oid = tbl
	                 AND pg_catalog.pg_has_role(childguard._caller_oid(), c.relowner, 'USAGE')) THEN
		RAISE EXCEPTION 'must be owner of table %', tbl USING ERRCODE = '42501';
	END IF;
	DELETE FROM childguard.blind_index x
	 WHERE x.tbl = disable_blind_index.tbl AND x.column_name = disable_blind_index.column_name
	RETURNING * INTO b;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'column "%" of table % has no blind index', column_name, tbl
			USING ERRCODE = 'ZC403',
			      HINT = 'childguard.blind_indexes lists them.';
	END IF;
	EXECUTE pg_catalog.format('ALTER TABLE %s DROP COLUMN IF EXISTS %I', tbl, b.blind_column);
END
$$;
REVOKE ALL ON FUNCTION childguard.disable_blind_index(regclass, name) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION childguard.disable_blind_index(regclass, name) TO PUBLIC;
COMMENT ON FUNCTION childguard.disable_blind_index(regclass, name) IS
	'Remove a blind index: its hidden column (with its hashes and index) and its key. Run as the table''s owner.';

CREATE VIEW childguard.blind_indexes WITH (security_barrier) AS
	SELECT b.tbl AS table_name, b.column_name, b.blind_column, b.created_at, b.created_by,
	       pg_catalog.substr(b.wrapped_key, 1, 8) AS master_key_id
	  FROM childguard.blind_index b
	  JOIN pg_catalog.pg_class c ON c.oid = b.tbl
	 WHERE pg_catalog.pg_has_role(CURRENT_USER, c.relowner, 'USAGE') OR childguard._caller_is_officer();
GRANT SELECT ON childguard.blind_indexes TO PUBLIC;
COMMENT ON VIEW childguard.blind_indexes IS
	'The blind indexes on the tables the caller owns (officers: all): which child_data column, its hidden column, when and by whom, and the master key its key is wrapped by. Never the key.';

-- A shredded data key: the child's hashes go too (they would outlive the data).
CREATE FUNCTION childguard._blind_on_shred() RETURNS trigger
	LANGUAGE plpgsql SECURITY DEFINER
	SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	b record;
	cid text;
BEGIN
	SELECT c.child_id INTO cid FROM childguard.child c WHERE c.subject_no = NEW.subject_no;
	IF cid IS NULL THEN
		RETURN NULL;
	END IF;
	FOR b IN SELECT DISTINCT x.tbl FROM childguard.blind_index x LOOP
		PERFORM childguard._blind_clear(b.tbl, childguard._seal_subject_column(b.tbl), cid)
		  WHERE childguard._seal_subject_column(b.tbl) IS NOT NULL;
	END LOOP;
	RETURN NULL;
END
$$;
REVOKE ALL ON FUNCTION childguard._blind_on_shred() FROM PUBLIC;
COMMENT ON FUNCTION childguard._blind_on_shred() IS
	'Trigger on childguard.data_key: when a child''s data key is destroyed, null the child''s blind-index hashes in every table with a blind index.';
CREATE TRIGGER blind_on_shred AFTER UPDATE OF wrapped_key ON childguard.data_key
	FOR EACH ROW WHEN (OLD.wrapped_key IS NOT NULL AND NEW.wrapped_key IS NULL)
	EXECUTE FUNCTION childguard._blind_on_shred();

-- rotate_master_key(): as in 1.4, and the blind-index keys rewrapped too
-- (they are random per index and only wrapped by the master key, so the
-- stored hashes stay valid: no pass over the tables).
CREATE OR REPLACE FUNCTION childguard.rotate_master_key() RETURNS bigint
	LANGUAGE plpgsql SECURITY DEFINER
	SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	current_id bytea;
	n bigint;
BEGIN
	IF NOT pg_catalog.pg_has_role(session_user, (SELECT nspowner FROM pg_catalog.pg_namespace
	                                             WHERE nspname = 'childguard'), 'MEMBER') THEN
		RAISE EXCEPTION 'permission denied to rotate the master key'
			USING ERRCODE = '42501',
			      HINT = 'Only the owner of the childguard schema can rotate keys.';
	END IF;
	IF pg_catalog.current_setting('transaction_isolation') OPERATOR(pg_catalog.<>) 'read committed' THEN
		RAISE EXCEPTION 'cannot rotate the master key in a % transaction',
		                pg_catalog.upper(pg_catalog.current_setting('transaction_isolation'))
			USING ERRCODE = 'ZC046',
			      DETAIL = 'The rotation must see every data key committed before it starts; an older snapshot would miss some.',
			      HINT = 'Run SELECT childguard.rotate_master_key() in its own READ COMMITTED transaction.';
	END IF;
	LOCK TABLE childguard.data_key IN SHARE ROW EXCLUSIVE MODE;
	current_id := childguard.master_key_id(false);
	PERFORM childguard._master_key_rotating();
	UPDATE childguard.data_key k
	   SET wrapped_key = childguard._rewrap_data_key(k.subject_no, k.key_version,
	                                                 k.wrapped_key, k.master_key_id),
	       master_key_id = current_id
	 WHERE k.wrapped_key IS NOT NULL
	   AND k.master_key_id OPERATOR(pg_catalog.<>) current_id;
	GET DIAGNOSTICS n = ROW_COUNT;
	-- the registry's sealed facts: re-sealed under the new master key
	LOCK TABLE childguard.child IN SHARE ROW EXCLUSIVE MODE;
	UPDATE childguard.child c
	   SET sealed = childguard._seal_registry(c.subject_no, f.birth_date, f.in_difficulty, f.can_express)
	  FROM childguard._child_open f
	 WHERE f.subject_no = c.subject_no
	   AND pg_catalog.substr(c.sealed, 2, 8) OPERATOR(pg_catalog.<>) current_id;
	-- the blind-index keys (1.5)
	LOCK TABLE childguard.blind_index IN SHARE ROW EXCLUSIVE MODE;
	UPDATE childguard.blind_index b
	   SET wrapped_key = childguard._rewrap_blind_key(b.index_id, b.wrapped_key)
	 WHERE pg_catalog.substr(b.wrapped_key, 1, 8) OPERATOR(pg_catalog.<>) current_id;
	RETURN n;
END
$$;
COMMENT ON FUNCTION childguard.rotate_master_key() IS
	'Rewrap every data key and blind-index key, and re-seal the registry''s birth dates and circumstances, under the current master key, in one READ COMMITTED transaction that keeps concurrent data-key writes out (online: readers continue; the previous key must be configured as childguard.previous_master_key_file/command). Returns the number of data keys rewrapped.';
