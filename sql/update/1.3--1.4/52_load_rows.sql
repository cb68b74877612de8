-- ---------------------------------------------------------------------------
-- load_rows (issue 13, item 6): a bulk load for application roles.  COPY
-- FROM is refused by PostgreSQL itself for a role under row security (and
-- every protected table forces it), and one row without consent aborts a
-- plain INSERT ... SELECT.  load_rows(target, staging) inserts the rows of
-- a staging table (COPY into a TEMP table first) into a protected table AS
-- THE CALLER -- its privileges, its purpose, its grant, the seal trigger's
-- checks for each value -- and records each row it cannot insert in
-- childguard.load_reject (the staging row's number, the child id, the
-- SQLSTATE and a fixed reason, never a value) instead of aborting the load.
-- ---------------------------------------------------------------------------

CREATE SEQUENCE childguard.load_id_seq;
GRANT USAGE ON SEQUENCE childguard.load_id_seq TO PUBLIC;
COMMENT ON SEQUENCE childguard.load_id_seq IS 'Numbers the calls of load_rows().';

CREATE TABLE childguard.load_reject (
	load_id			bigint NOT NULL,
	target			regclass NOT NULL,
	row_no			bigint NOT NULL,
	child			text,
	sqlstate		text NOT NULL,
	reason			text NOT NULL,
	loaded_by		oid NOT NULL DEFAULT pg_catalog.to_regrole(CURRENT_USER)::oid,
	rejected_at		timestamptz NOT NULL DEFAULT pg_catalog.now()
);
CREATE INDEX load_reject_load_id ON childguard.load_reject (load_id);
COMMENT ON TABLE childguard.load_reject IS
	'Rows load_rows() did not insert: the load, the target, the staging row''s number (its row_no column, or its position), its child id, the SQLSTATE and why -- never a value. Each role reads only its own; load_rows() writes them.';
ALTER TABLE childguard.load_reject ENABLE ROW LEVEL SECURITY;
CREATE POLICY load_reject_own ON childguard.load_reject
	USING (loaded_by = pg_catalog.to_regrole(CURRENT_USER)::oid);
REVOKE ALL ON childguard.load_reject FROM PUBLIC;
GRANT SELECT ON childguard.load_reject TO PUBLIC;

-- Rejected rows of a load, recorded as the calling role's.
CREATE FUNCTION childguard._load_reject_add(load_id bigint, target regclass, row_nos bigint[],
											 children text[], states text[])
	RETURNS void
	LANGUAGE sql
	SECURITY DEFINER
	SET search_path = pg_catalog, pg_temp
AS $$
	INSERT INTO childguard.load_reject (load_id, target, row_no, child, sqlstate, reason, loaded_by)
	SELECT load_id, target, r.n, r.k, r.s, coalesce(childguard._row_sqlstate_reason(r.s), 'error ' || r.s),
	       childguard._caller_oid()
	  FROM ROWS FROM (pg_catalog.unnest(row_nos), pg_catalog.unnest(children), pg_catalog.unnest(states)) r(n, k, s)
$$;
REVOKE ALL ON FUNCTION childguard._load_reject_add(bigint, regclass, bigint[], text[], text[]) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION childguard._load_reject_add(bigint, regclass, bigint[], text[], text[]) TO PUBLIC;
COMMENT ON FUNCTION childguard._load_reject_add(bigint, regclass, bigint[], text[], text[]) IS
	'Internal (load_rows()): records rejected rows of a load as the calling role''s (each role reads only its own).';

-- More SQLSTATEs concern one row when it is loaded: its own constraint,
-- key or value.
CREATE OR REPLACE FUNCTION childguard._row_sqlstate_reason(state text) RETURNS text
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
		WHEN '22P02' THEN 'a value is not valid input for its column''s type'
		WHEN '22003' THEN 'a number is out of range for its column'
		WHEN '22007' THEN 'a date or time is not valid'
		WHEN '22008' THEN 'a date or time is out of range'
		WHEN '22001' THEN 'a value is too long for its column'
		WHEN '23502' THEN 'a NOT NULL column'
		WHEN '23503' THEN 'a foreign key'
		WHEN '23505' THEN 'a duplicate key'
		WHEN '23514' THEN 'a CHECK constraint'
	END
$$;

-- For each child id: NULL when the session's purpose may collect its data
-- (registered, not erased, consent in force), else the SQLSTATE of the
-- refusal.  Only for a session with a purpose (and so a grant for it): it
-- says no more than the row policies already show to such a session.
CREATE FUNCTION childguard._children_refusal(kids text[])
	RETURNS TABLE (child text, sqlstate text)
	LANGUAGE plpgsql STABLE
	SECURITY DEFINER
	SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	IF childguard.current_purpose() IS NULL THEN
		RAISE EXCEPTION 'cannot check children without a declared purpose' USING ERRCODE = 'ZC100';
	END IF;
	RETURN QUERY
	SELECT u.k, CASE WHEN k.child_id IS NULL THEN 'ZC011' WHEN k.erased_at IS NOT NULL THEN 'ZC012'
	                 WHEN NOT childguard.row_visible(u.k) THEN 'ZC103' END
	  FROM pg_catalog.unnest(kids) WITH ORDINALITY u(k, o)
	  LEFT JOIN childguard.child k ON k.child_id = u.k
	 ORDER BY u.o;
END
$$;
REVOKE ALL ON FUNCTION childguard._children_refusal(text[]) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION childguard._children_refusal(text[]) TO PUBLIC;
COMMENT ON FUNCTION childguard._children_refusal(text[]) IS
	'For load_rows(): per child id, in order, NULL if the session''s purpose may collect its data, else ZC011 (unknown), ZC012 (erased) or ZC103 (no consent in force). Needs a declared purpose.';

CREATE FUNCTION childguard.load_rows(target regclass, staging regclass)
	RETURNS TABLE (load_id bigint, loaded bigint, rejected bigint)
	LANGUAGE plpgsql
	SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_variable
DECLARE
	cgtype oid := 'childguard.child_data'::pg_catalog.regtype;
	lid bigint := pg_catalog.nextval('childguard.load_id_seq');
	subj name := childguard._seal_subject_column(target);
	why text := childguard.protection_problem(target);
	has_row_no boolean;
	stray text;
	cols text;
	vals text;
	ctids tid[];
	nos bigint[];
	kids text[];
	good tid[];
	c tid;
	i integer;
	rej_nos bigint[];
	rej_kids text[];
	rej_states text[];
	n bigint;
	st text;
	ins text;
BEGIN
	IF target IS NULL OR staging IS NULL THEN
		RAISE EXCEPTION 'target and staging tables are required' USING ERRCODE = '22004';
	END IF;
	IF subj IS NULL OR why IS NOT NULL THEN
		RAISE EXCEPTION 'table "%" is not protected', target
			USING ERRCODE = 'ZC010', DETAIL = coalesce(why, 'It has no seal trigger.'),
			      HINT = 'load_rows() loads protected tables; protect() the table first.';
	END IF;
	IF childguard.current_purpose() IS NULL THEN
		RAISE EXCEPTION 'cannot load child data without a declared purpose'
			USING ERRCODE = 'ZC100', HINT = 'SET childguard.purpose to the purpose the data is collected for.';
	END IF;
	-- the staging columns: each one a column of the target (row_no aside)
	SELECT pg_catalog.string_agg(pg_catalog.quote_ident(s.attname), ', ' ORDER BY s.attnum)
	  INTO stray
	  FROM pg_catalog.pg_attribute s
	 WHERE s.attrelid = staging AND s.attnum > 0 AND NOT s.attisdropped AND s.attname <> 'row_no'
	   AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_attribute t WHERE t.attrelid = target
	                   AND t.attname = s.attname AND t.attnum > 0 AND NOT t.attisdropped);
	IF stray IS NOT NULL THEN
		RAISE EXCEPTION 'staging table "%" has columns that "%" has not: %', staging, target, stray
			USING ERRCODE = 'ZC443', HINT = 'Name the staging columns after the target''s (and row_no, optionally).';
	END IF;
	IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_attribute s WHERE s.attrelid = staging AND s.attname = subj
	               AND s.attnum > 0 AND NOT s.attisdropped) THEN
		RAISE EXCEPTION 'staging table "%" has no subject column "%"', staging, subj
			USING ERRCODE = 'ZC443', HINT = 'Every row names its child in the target''s subject column.';
	END IF;
	SELECT pg_catalog.bool_or(s.attname = 'row_no' AND s.atttypid IN ('bigint'::regtype, 'integer'::regtype))
	  INTO has_row_no
	  FROM pg_catalog.pg_attribute s
	 WHERE s.attrelid = staging AND s.attnum > 0 AND NOT s.attisdropped
	   AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_attribute t WHERE t.attrelid = target
	                   AND t.attname = 'row_no' AND t.attnum > 0 AND NOT t.attisdropped);
	-- each value converted to its column's type (a child_data column takes
	-- the text by assignment, and the seal trigger seals it)
	SELECT pg_catalog.string_agg(pg_catalog.quote_ident(t.attname), ', ' ORDER BY t.attnum),
	       pg_catalog.string_agg(CASE WHEN t.atttypid = cgtype OR t.atttypid = s.atttypid
	                                  THEN pg_catalog.format('s.%I', t.attname)
	                                  ELSE pg_catalog.format('CAST(s.%I AS %s)', t.attname,
	                                                         pg_catalog.format_type(t.atttypid, t.atttypmod)) END,
	                             ', ' ORDER BY t.attnum)
	  INTO cols, vals
	  FROM pg_catalog.pg_attribute t
	  JOIN pg_catalog.pg_attribute s ON s.attrelid = staging AND s.attname = t.attname
	                                AND s.attnum > 0 AND NOT s.attisdropped
	 WHERE t.attrelid = target AND t.attnum > 0 AND NOT t.attisdropped;
	-- the rows: where they are, their number, their child
	EXECUTE pg_catalog.format(
		'SELECT coalesce(pg_catalog.array_agg(x.c ORDER BY x.c), ''{}''), '
		'coalesce(pg_catalog.array_agg(x.n ORDER BY x.c), ''{}''), '
		'coalesce(pg_catalog.array_agg(x.k ORDER BY x.c), ''{}'') '
		'FROM (SELECT s.ctid AS c, %s AS n, s.%I::text AS k FROM %s s) x',
		CASE WHEN has_row_no THEN 's.row_no::bigint' ELSE 'pg_catalog.row_number() OVER (ORDER BY s.ctid)' END,
		subj, staging)
	   INTO ctids, nos, kids;
	-- rows whose child is unknown, erased or without consent for the
	-- purpose are rejected before any value is touched
	WITH x AS (
		SELECT l.c, l.n, l.k, f.sqlstate AS st, f.sqlstate IS NULL AS ok
		  FROM ROWS FROM (pg_catalog.unnest(ctids), pg_catalog.unnest(nos), pg_catalog.unnest(kids),
		                  childguard._children_refusal(kids)) l(c, n, k, fk, fst)
		  CROSS JOIN LATERAL (SELECT l.fst AS sqlstate) f
	)
	SELECT coalesce(pg_catalog.array_agg(x.c) FILTER (WHERE x.ok), '{}'),
	       pg_catalog.count(*) FILTER (WHERE NOT x.ok),
	       coalesce(pg_catalog.array_agg(x.n) FILTER (WHERE NOT x.ok), '{}'),
	       coalesce(pg_catalog.array_agg(x.k) FILTER (WHERE NOT x.ok), '{}'),
	       coalesce(pg_catalog.array_agg(x.st) FILTER (WHERE NOT x.ok), '{}')
	  INTO good, rejected, rej_nos, rej_kids, rej_states FROM x;
	IF rejected > 0 THEN
		PERFORM childguard._load_reject_add(lid, target, rej_nos, rej_kids, rej_states);
	END IF;
	loaded := 0;
	IF pg_catalog.cardinality(good) > 0 THEN
		ins := pg_catalog.format('INSERT INTO %s (%s) SELECT %s FROM %s s WHERE s.ctid = ANY ($1)',
		                         target, cols, vals, staging);
		BEGIN
			EXECUTE ins USING good;
			GET DIAGNOSTICS n = ROW_COUNT;
			loaded := n;
		EXCEPTION WHEN OTHERS THEN
			GET STACKED DIAGNOSTICS st = RETURNED_SQLSTATE;
			IF childguard._row_sqlstate_reason(st) IS NULL THEN
				RAISE;
			END IF;
			-- a row is at fault: insert them one by one
			FOREACH c IN ARRAY good LOOP
				BEGIN
					EXECUTE ins USING ARRAY[c];
					GET DIAGNOSTICS n = ROW_COUNT;
					loaded := loaded + n;
				EXCEPTION WHEN OTHERS THEN
					GET STACKED DIAGNOSTICS st = RETURNED_SQLSTATE;
					IF childguard._row_sqlstate_reason(st) IS NULL THEN
						RAISE;
					END IF;
					i := pg_catalog.array_position(ctids, c);
					PERFORM childguard._load_reject_add(lid, target, ARRAY[nos[i]], ARRAY[kids[i]], ARRAY[st]);
					rejected := rejected + 1;
				END;
			END LOOP;
		END;
	END IF;
	IF rejected > 0 THEN
		RAISE NOTICE 'load %: % rows loaded into "%", % rejected', lid, loaded, target, rejected
			USING HINT = pg_catalog.format('SELECT * FROM childguard.load_reject WHERE load_id = %s', lid);
	END IF;
	load_id := lid;
	RETURN NEXT;
END
$$;
REVOKE ALL ON FUNCTION childguard.load_rows(regclass, regclass) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION childguard.load_rows(regclass, regclass) TO PUBLIC;
COMMENT ON FUNCTION childguard.load_rows(regclass, regclass) IS
	'Bulk load for application roles (COPY FROM is refused under row security): inserts the rows of a staging table (columns named after the target''s, an optional row_no) into a protected table as the caller -- its privileges, purpose and grant, each value sealed with the usual checks -- and records each row it cannot insert (unknown or erased child, no consent, a bad value, a duplicate key ...) in childguard.load_reject instead of aborting. Returns the load''s number and the counts.';
