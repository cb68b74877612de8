-- ---------------------------------------------------------------------------
-- The erasure engine (issue 11; Art 12, 16, 20, 23): one function,
-- childguard.erase(), that removes a child's data from one protected table
-- or from all of them, by the table's erasure action (delete the rows, set
-- the child_data columns to NULL, or shred: destroy the child's data key),
-- in the caller's transaction, bypassing row security (it must work after a
-- withdrawal), with the expiry hooks called before and after (part 21), one
-- record in childguard.erasure_log per table, and the erasure ledger (part
-- 23) for a child erased as a whole.  The retention worker and officers call
-- it; applications never (they DELETE, audited, or ask an officer).
-- See docs/reliability.md, "Erasure", and docs/reference.md.
-- ---------------------------------------------------------------------------

-- the reasons an erasure may give (fixed: the retention worker, requests and
-- the report speak the same language)
CREATE FUNCTION childguard._erasure_reasons() RETURNS text[]
	LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
	SELECT ARRAY['retention_expired', 'consent_withdrawn', 'consent_refused',
	             'account_closed', 'child_erased', 'processor_ended', 'request',
	             'cease_operations']
$$;
COMMENT ON FUNCTION childguard._erasure_reasons() IS
	'The reasons childguard.erase() accepts: retention_expired, consent_withdrawn, consent_refused, account_closed, child_erased, processor_ended, request, cease_operations.';

-- reasons for which erase(child, NULL, ...) erases the child as a whole
-- (its data key destroyed, child.erased_at set, a ledger line)
CREATE FUNCTION childguard._whole_child_reasons() RETURNS text[]
	LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
	SELECT ARRAY['account_closed', 'child_erased', 'request', 'cease_operations']
$$;
COMMENT ON FUNCTION childguard._whole_child_reasons() IS
	'Reasons for which childguard.erase(child, NULL, reason) erases the child as a whole: every table''s action, then the data key destroyed, child.erased_at set and a line in the erasure ledger.';

CREATE TABLE childguard.erasure_action (
	tbl			regclass PRIMARY KEY,
	action		text NOT NULL CHECK (action IN ('delete', 'null', 'shred')),
	set_at		timestamptz NOT NULL DEFAULT pg_catalog.now(),
	set_by		regrole
);
COMMENT ON TABLE childguard.erasure_action IS
	'The erasure action of a protected table (set_erasure_action()): delete the child''s rows, null its child_data columns, or shred (destroy the child''s data key). A table not listed is erased by delete.';
SELECT pg_catalog.pg_extension_config_dump('childguard.erasure_action', '');

-- One row per table per erasure: who, what, why, how many rows.  Written in
-- the erasure's transaction; nobody updates or deletes it (guard below).
CREATE TABLE childguard.erasure_log (
	erasure_id	bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	erased_at	timestamptz NOT NULL DEFAULT pg_catalog.now(),
	subject_no	bigint NOT NULL,
	tbl			regclass,
	table_name	text,
	action		text NOT NULL,
	reason		text NOT NULL,
	rows_erased	bigint NOT NULL,
	request_ref	text,
	whole_child	boolean NOT NULL DEFAULT false,
	erased_by	regrole,
	session_role regrole
);
COMMENT ON TABLE childguard.erasure_log IS
	'Every erasure, one row per table (and one for the data key when a child is erased as a whole): the child (subject number), the table, the action, the reason, the rows erased, the request reference, who. Written only by childguard.erase(); append-only.';
SELECT pg_catalog.pg_extension_config_dump('childguard.erasure_log', '');
SELECT pg_catalog.pg_extension_config_dump('childguard.erasure_log_erasure_id_seq', '');

CREATE FUNCTION childguard._erasure_log_guard() RETURNS trigger
	LANGUAGE plpgsql
	SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	RAISE EXCEPTION 'childguard.erasure_log is append-only'
		USING ERRCODE = 'ZC203',
		      DETAIL = pg_catalog.format('%s of erasure records is refused for every role.', TG_OP),
		      HINT = 'Erasure records are kept as the evidence of each erasure.';
END
$$;
REVOKE ALL ON FUNCTION childguard._erasure_log_guard() FROM PUBLIC;
COMMENT ON FUNCTION childguard._erasure_log_guard() IS
	'Refuses UPDATE, DELETE and TRUNCATE of childguard.erasure_log.';
CREATE TRIGGER erasure_log_guard BEFORE UPDATE OR DELETE ON childguard.erasure_log
	FOR EACH STATEMENT EXECUTE FUNCTION childguard._erasure_log_guard();
CREATE TRIGGER erasure_log_guard_truncate BEFORE TRUNCATE ON childguard.erasure_log
	FOR EACH STATEMENT EXECUTE FUNCTION childguard._erasure_log_guard();
ALTER TABLE childguard.erasure_log ENABLE ALWAYS TRIGGER erasure_log_guard;
ALTER TABLE childguard.erasure_log ENABLE ALWAYS TRIGGER erasure_log_guard_truncate;

-- C helpers (src/enforce/erasure_support.c, src/keys/erasure_ledger.c)
CREATE FUNCTION childguard._not_in_expiry_hook() RETURNS void
	LANGUAGE C VOLATILE AS 'MODULE_PATHNAME', 'cg_not_in_expiry_hook';
REVOKE ALL ON FUNCTION childguard._not_in_expiry_hook() FROM PUBLIC;
COMMENT ON FUNCTION childguard._not_in_expiry_hook() IS
	'Internal: refuses an erasure started from inside an expiry hook (ZC323).';

CREATE FUNCTION childguard._ledger_append(subject_no bigint, child_id text, reason text,
                                          request_ref text) RETURNS void
	LANGUAGE C VOLATILE AS 'MODULE_PATHNAME', 'cg_erasure_ledger_append';
REVOKE ALL ON FUNCTION childguard._ledger_append(bigint, text, text, text) FROM PUBLIC;
COMMENT ON FUNCTION childguard._ledger_append(bigint, text, text, text) IS
	'Internal: a line for the erasure ledger (outside the data directory), written and fsync''d when the transaction commits; refuses (ZC327) when the ledger cannot be written.';

-- The protected tables holding child data, with their subject column and
-- the column's type, and their child_data columns.
CREATE FUNCTION childguard._protected_tables(only_table regclass DEFAULT NULL)
	RETURNS TABLE (tbl regclass, subject_column name, subject_type text, columns name[],
	               only_kw text)
	LANGUAGE sql STABLE
	SET search_path = pg_catalog, pg_temp
AS $$
	SELECT p.table_name, p.subject_column::name,
	       pg_catalog.format_type(a.atttypid, NULL),
	       pg_catalog.array_agg(p.column_name ORDER BY p.column_name),
	       CASE c.relkind WHEN 'p' THEN '' ELSE 'ONLY ' END
	  FROM childguard.protected_columns p
	  JOIN pg_catalog.pg_attribute a
	    ON a.attrelid = p.table_name AND a.attname = p.subject_column::name
	  JOIN pg_catalog.pg_class c ON c.oid = p.table_name
	 WHERE (only_table IS NULL OR p.table_name OPERATOR(pg_catalog.=) only_table)
	   AND p.is_protected AND NOT c.relispartition
	 GROUP BY p.table_name, p.subject_column, a.atttypid, c.relkind
$$;
GRANT EXECUTE ON FUNCTION childguard._protected_tables(regclass) TO PUBLIC;
COMMENT ON FUNCTION childguard._protected_tables(regclass) IS
	'Each protected table (or only only_table, if protected) (partitions through their parent), its subject column and type, its child_data columns, and ONLY unless partitioned (inheritance children are erased as tables of their own).';

CREATE FUNCTION childguard.set_erasure_action(tbl regclass, action text) RETURNS void
	LANGUAGE plpgsql SECURITY DEFINER
	SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	IF NOT (childguard._caller_is_officer() OR childguard._caller_is_owner()) THEN
		RAISE EXCEPTION 'permission denied to set an erasure action'
			USING ERRCODE = '42501',
			      HINT = 'Only a protection officer can do this.';
	END IF;
	IF tbl IS NULL OR action IS NULL THEN
		RAISE EXCEPTION 'table and action are required' USING ERRCODE = '22004';
	END IF;
	IF action NOT IN ('delete', 'null', 'shred') THEN
		RAISE EXCEPTION 'unknown erasure action "%"', action
			USING ERRCODE = 'ZC321',
			      DETAIL = 'An erasure action is one of delete, null or shred.',
			      HINT = 'delete removes the child''s rows, null clears its child_data columns, shred destroys the child''s data key.';
	END IF;
	IF NOT EXISTS (SELECT 1 FROM childguard._protected_tables(set_erasure_action.tbl)) THEN
		RAISE EXCEPTION 'table "%" is not protected', tbl
			USING ERRCODE = 'ZC322',
			      DETAIL = 'Erasure actions apply to tables protected with childguard.protect().',
			      HINT = 'Protect the table first.';
	END IF;
	INSERT INTO childguard.erasure_action AS e (tbl, action, set_by)
	VALUES (set_erasure_action.tbl, set_erasure_action.action, childguard._caller_oid()::regrole)
	ON CONFLICT ON CONSTRAINT erasure_action_pkey DO UPDATE
	   SET action = EXCLUDED.action, set_at = pg_catalog.now(), set_by = EXCLUDED.set_by;
END
$$;
REVOKE ALL ON FUNCTION childguard.set_erasure_action(regclass, text) FROM PUBLIC;
COMMENT ON FUNCTION childguard.set_erasure_action(regclass, text) IS
	'Set a protected table''s erasure action (officers): delete (default) removes the child''s rows; null sets the table''s child_data columns to NULL; shred destroys the child''s data key, so every copy of every value of that child, backups and replicas included, becomes unreadable, and the child is erased for good.';

CREATE VIEW childguard.erasure_actions AS
	SELECT p.tbl AS table_name, coalesce(e.action, 'delete') AS action,
	       p.subject_column, p.columns AS child_data_columns, e.set_at, e.set_by
	  FROM childguard._protected_tables() p
	  LEFT JOIN childguard.erasure_action e ON e.tbl = p.tbl;
COMMENT ON VIEW childguard.erasure_actions IS
	'Each protected table and its erasure action (delete unless set otherwise).';
REVOKE ALL ON childguard.erasure_actions FROM PUBLIC;

-- Destroy a child's data keys and mark it erased; the ledger line is
-- written when the transaction commits.  Returns whether it was not
-- erased before.
CREATE FUNCTION childguard._erase_child_key(s bigint, reason text, request_ref text,
                                            to_ledger boolean DEFAULT true)
	RETURNS boolean
	LANGUAGE plpgsql
	SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	c childguard.child;
BEGIN
	SELECT * INTO c FROM childguard.child x WHERE x.subject_no = s;
	UPDATE childguard.data_key k SET wrapped_key = NULL, destroyed_at = pg_catalog.now()
	 WHERE k.subject_no = s AND k.wrapped_key IS NOT NULL;
	IF to_ledger THEN
		PERFORM childguard._ledger_append(s, c.child_id, reason, request_ref);
	END IF;
	IF c.erased_at IS NOT NULL THEN
		RETURN false;
	END IF;
	UPDATE childguard.child x SET erased_at = pg_catalog.now() WHERE x.subject_no = s;
	RETURN true;
END
$$;
REVOKE ALL ON FUNCTION childguard._erase_child_key(bigint, text, text, boolean) FROM PUBLIC;
COMMENT ON FUNCTION childguard._erase_child_key(bigint, text, text, boolean) IS
	'Internal: crypto-shred a child (destroy its data keys, set erased_at) and queue its erasure-ledger line.';

-- The engine proper; called by erase(), erase_child(), cease_operations()
-- and _reapply_ledger() (SECURITY DEFINER, so it runs as the extension
-- owner and row security does not hide the rows).  whole_child: erase the
-- child as a whole whatever the reason; to_ledger false: re-applying a
-- ledger line (not written again).
CREATE FUNCTION childguard._erase(child_id text, tbl regclass, reason text, request_ref text,
                                  whole_child boolean, to_ledger boolean) RETURNS bigint
	LANGUAGE plpgsql
	SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	s bigint;
	t record;
	act text;
	n bigint;
	total bigint := 0;
	shred boolean := false;
	whole boolean;
	caller regrole := childguard._caller_oid()::regrole;
	sets text;
	nonnull text;
BEGIN
	IF _erase.child_id IS NULL OR reason IS NULL THEN
		RAISE EXCEPTION 'child and reason are required' USING ERRCODE = '22004';
	END IF;
	IF NOT (reason OPERATOR(pg_catalog.=) ANY (childguard._erasure_reasons())) THEN
		RAISE EXCEPTION 'unknown erasure reason "%"', reason
			USING ERRCODE = 'ZC320',
			      DETAIL = pg_catalog.format('An erasure reason is one of: %s.',
			                                 pg_catalog.array_to_string(childguard._erasure_reasons(), ', ')),
			      HINT = 'Give the legal ground the data is erased on.';
	END IF;
	IF tbl IS NOT NULL AND NOT EXISTS (SELECT 1 FROM childguard._protected_tables(_erase.tbl)) THEN
		RAISE EXCEPTION 'table "%" is not protected', tbl
			USING ERRCODE = 'ZC322',
			      DETAIL = 'childguard.erase() erases child data from protected tables.',
			      HINT = 'Name a protected table, or NULL for every protected table.';
	END IF;
	PERFORM childguard._not_in_expiry_hook();
	s := childguard._subject_of(_erase.child_id);
	-- one erasure of a child at a time (and none racing registration)
	PERFORM 1 FROM childguard.child c WHERE c.subject_no = s FOR UPDATE;
	whole := whole_child OR
	         (tbl IS NULL AND reason OPERATOR(pg_catalog.=) ANY (childguard._whole_child_reasons()));

	FOR t IN SELECT p.*, coalesce(e.action, 'delete') AS action
	           FROM childguard._protected_tables(_erase.tbl) p
	           LEFT JOIN childguard.erasure_action e ON e.tbl = p.tbl
	          ORDER BY p.tbl::oid LOOP
		act := t.action;
		PERFORM childguard._call_expiry_hooks(t.tbl, _erase.child_id, reason, 'before');
		BEGIN
			IF act = 'delete' THEN
				EXECUTE pg_catalog.format('DELETE FROM %s%s WHERE %I OPERATOR(pg_catalog.=) $1::%s',
				                          t.only_kw, t.tbl, t.subject_column, t.subject_type)
					USING _erase.child_id;
				GET DIAGNOSTICS n = ROW_COUNT;
			ELSIF act = 'null' THEN
				SELECT pg_catalog.string_agg(pg_catalog.format('%I = NULL', c), ', '),
				       pg_catalog.string_agg(pg_catalog.format('%I IS NOT NULL', c), ' OR ')
				  INTO sets, nonnull
				  FROM pg_catalog.unnest(t.columns) c;
				EXECUTE pg_catalog.format('UPDATE %s%s SET %s WHERE %I OPERATOR(pg_catalog.=) $1::%s AND (%s)',
				                          t.only_kw, t.tbl, sets, t.subject_column, t.subject_type, nonnull)
					USING _erase.child_id;
				GET DIAGNOSTICS n = ROW_COUNT;
			ELSE
				-- shred: the rows stay, their values become unreadable everywhere
				EXECUTE pg_catalog.format('SELECT pg_catalog.count(*) FROM %s%s WHERE %I OPERATOR(pg_catalog.=) $1::%s',
				                          t.only_kw, t.tbl, t.subject_column, t.subject_type)
					INTO n USING _erase.child_id;
				-- a child with no data here keeps its key (unless erased whole)
				shred := shred OR n > 0;
			END IF;
		EXCEPTION WHEN invalid_text_representation OR numeric_value_out_of_range
		               OR string_data_right_truncation THEN
			-- the child id cannot be a value of this subject column: no rows
			n := 0;
		END;
		INSERT INTO childguard.erasure_log (subject_no, tbl, table_name, action, reason,
		                                    rows_erased, request_ref, whole_child, erased_by, session_role)
		VALUES (s, t.tbl, t.tbl::text, act, reason, n, request_ref, whole OR (act = 'shred' AND n > 0),
		        caller, session_user::regrole);
		total := total + n;
		PERFORM childguard._call_expiry_hooks(t.tbl, _erase.child_id, reason, 'after');
	END LOOP;

	IF shred OR whole THEN
		PERFORM childguard._erase_child_key(s, reason, request_ref, to_ledger);
		INSERT INTO childguard.erasure_log (subject_no, tbl, table_name, action, reason,
		                                    rows_erased, request_ref, whole_child, erased_by, session_role)
		VALUES (s, NULL, NULL, 'shred', reason, 0, request_ref, true, caller, session_user::regrole);
	END IF;
	RETURN total;
END
$$;
REVOKE ALL ON FUNCTION childguard._erase(text, regclass, text, text, boolean, boolean) FROM PUBLIC;
COMMENT ON FUNCTION childguard._erase(text, regclass, text, text, boolean, boolean) IS
	'Internal: the erasure engine behind erase(), erase_child(), cease_operations() and _reapply_ledger().';

CREATE FUNCTION childguard.erase(child_id text, tbl regclass, reason text,
                                 request_ref text DEFAULT NULL) RETURNS bigint
	LANGUAGE plpgsql SECURITY DEFINER
	SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	IF NOT (childguard._caller_is_officer() OR childguard._caller_is_owner()) THEN
		RAISE EXCEPTION 'permission denied to erase child data'
			USING ERRCODE = '42501',
			      HINT = 'Only a protection officer or the retention worker erases; an application DELETEs its rows or asks an officer for childguard.erase_child().';
	END IF;
	RETURN childguard._erase(child_id, tbl, reason, request_ref, false, true);
END
$$;
REVOKE ALL ON FUNCTION childguard.erase(text, regclass, text, text) FROM PUBLIC;
COMMENT ON FUNCTION childguard.erase(text, regclass, text, text) IS
	'Erase a child''s data from one protected table (or, tbl NULL, every protected table) by each table''s erasure action, in one transaction, whatever the consent state; expiry hooks are called before and after each table; one erasure_log row per table. With tbl NULL and reason account_closed, child_erased, request or cease_operations (or any shred), the child is erased as a whole: data key destroyed, erased_at set, a line in the erasure ledger. Returns the rows affected. Officers and the retention worker (the extension owner).';

-- The same for many children of one table at once (the retention worker's
-- batches): one DELETE or UPDATE for all of them, hooks still per child and
-- only when some are registered, one erasure_log row per child.  A shred
-- table, or child ids that are not values of the subject column's type,
-- fall back to erase() child by child.
CREATE FUNCTION childguard.erase_batch(child_ids text[], tbl regclass, reason text,
                                       request_ref text DEFAULT NULL) RETURNS bigint
	LANGUAGE plpgsql SECURITY DEFINER
	SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	t record;
	act text;
	ids text[];
	subjects bigint[];
	n bigint := 0;
	rec record;
	sets text;
	nonnull text;
	caller regrole := childguard._caller_oid()::regrole;
	has_before boolean;
	has_after boolean;
	cid text;
BEGIN
	IF NOT (childguard._caller_is_officer() OR childguard._caller_is_owner()) THEN
		RAISE EXCEPTION 'permission denied to erase child data'
			USING ERRCODE = '42501',
			      HINT = 'Only a protection officer or the retention worker erases.';
	END IF;
	IF child_ids IS NULL OR tbl IS NULL OR reason IS NULL THEN
		RAISE EXCEPTION 'children, table and reason are required' USING ERRCODE = '22004';
	END IF;
	IF NOT (reason OPERATOR(pg_catalog.=) ANY (childguard._erasure_reasons())) THEN
		RAISE EXCEPTION 'unknown erasure reason "%"', reason
			USING ERRCODE = 'ZC320',
			      DETAIL = pg_catalog.format('An erasure reason is one of: %s.',
			                                 pg_catalog.array_to_string(childguard._erasure_reasons(), ', '));
	END IF;
	SELECT p.*, coalesce(e.action, 'delete') AS action INTO t
	  FROM childguard._protected_tables(erase_batch.tbl) p
	  LEFT JOIN childguard.erasure_action e ON e.tbl = p.tbl;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'table "%" is not protected', tbl
			USING ERRCODE = 'ZC322', HINT = 'Name a protected table.';
	END IF;
	PERFORM childguard._not_in_expiry_hook();
	-- the children, registered, locked, in subject order (as erase() locks)
	SELECT pg_catalog.array_agg(x.child_id ORDER BY x.subject_no),
	       pg_catalog.array_agg(x.subject_no ORDER BY x.subject_no)
	  INTO ids, subjects
	  FROM (SELECT y.child_id, y.subject_no FROM childguard.child y
	         WHERE y.child_id OPERATOR(pg_catalog.=) ANY (child_ids)
	         ORDER BY y.subject_no FOR UPDATE) x;
	IF coalesce(pg_catalog.cardinality(ids), 0) < (SELECT pg_catalog.count(DISTINCT u) FROM pg_catalog.unnest(child_ids) u) THEN
		RAISE EXCEPTION 'child "%" is not registered',
			(SELECT u FROM pg_catalog.unnest(child_ids) u
			  WHERE NOT (u OPERATOR(pg_catalog.=) ANY (coalesce(ids, '{}'))) LIMIT 1)
			USING ERRCODE = 'ZC011', HINT = 'Register the child with childguard.register_child() first.';
	END IF;
	IF ids IS NULL THEN
		RETURN 0;
	END IF;
	act := t.action;
	IF act = 'shred' THEN
		FOREACH cid IN ARRAY ids LOOP
			n := n + childguard._erase(cid, tbl, reason, request_ref, false, true);
		END LOOP;
		RETURN n;
	END IF;
	has_before := EXISTS (SELECT 1 FROM childguard.expiry_hook h
	                       WHERE h.phase = 'before' AND (h.tbl IS NULL OR h.tbl = erase_batch.tbl));
	has_after := EXISTS (SELECT 1 FROM childguard.expiry_hook h
	                      WHERE h.phase = 'after' AND (h.tbl IS NULL OR h.tbl = erase_batch.tbl));
	IF has_before THEN
		PERFORM childguard._call_expiry_hooks(tbl, i, reason, 'before') FROM pg_catalog.unnest(ids) i;
	END IF;
	BEGIN
		IF act = 'delete' THEN
			EXECUTE pg_catalog.format(
				'WITH d AS (DELETE FROM %s%s WHERE %I OPERATOR(pg_catalog.=) ANY ($1::%s[]) RETURNING %I::text AS id) '
				'SELECT pg_catalog.array_agg(d.id) FROM d',
				t.only_kw, t.tbl, t.subject_column, t.subject_type, t.subject_column)
				INTO ids USING ids;
		ELSE
			SELECT pg_catalog.string_agg(pg_catalog.format('%I = NULL', x), ', '),
			       pg_catalog.string_agg(pg_catalog.format('%I IS NOT NULL', x), ' OR ')
			  INTO sets, nonnull
			  FROM pg_catalog.unnest(t.columns) x;
			EXECUTE pg_catalog.format(
				'WITH d AS (UPDATE %s%s SET %s WHERE %I OPERATOR(pg_catalog.=) ANY ($1::%s[]) AND (%s) RETURNING %I::text AS id) '
				'SELECT pg_catalog.array_agg(d.id) FROM d',
				t.only_kw, t.tbl, sets, t.subject_column, t.subject_type, nonnull, t.subject_column)
				INTO ids USING ids;
		END IF;
	EXCEPTION WHEN invalid_text_representation OR numeric_value_out_of_range
	               OR string_data_right_truncation THEN
		-- some ids are not values of the subject column: child by child
		FOR rec IN SELECT x.child_id FROM childguard.child x WHERE x.subject_no = ANY (subjects)
		          ORDER BY x.subject_no LOOP
			n := n + childguard._erase(rec.child_id, tbl, reason, request_ref, false, true);
		END LOOP;
		RETURN n;
	END;
	-- one erasure_log row per child, with its own row count
	INSERT INTO childguard.erasure_log (subject_no, tbl, table_name, action, reason,
	                                    rows_erased, request_ref, whole_child, erased_by, session_role)
	SELECT ch.subject_no, t.tbl, t.tbl::text, act, reason, coalesce(k.cnt, 0),
	       request_ref, false, caller, session_user::regrole
	  FROM childguard.child ch
	  LEFT JOIN (SELECT d AS id, pg_catalog.count(*) AS cnt
	               FROM pg_catalog.unnest(coalesce(ids, '{}')) d GROUP BY d) k ON k.id = ch.child_id
	 WHERE ch.subject_no = ANY (subjects)
	 ORDER BY ch.subject_no;
	n := coalesce(pg_catalog.cardinality(ids), 0);
	IF has_after THEN
		PERFORM childguard._call_expiry_hooks(tbl, x.child_id, reason, 'after')
		   FROM childguard.child x WHERE x.subject_no = ANY (subjects) ORDER BY x.subject_no;
	END IF;
	RETURN n;
END
$$;
REVOKE ALL ON FUNCTION childguard.erase_batch(text[], regclass, text, text) FROM PUBLIC;
COMMENT ON FUNCTION childguard.erase_batch(text[], regclass, text, text) IS
	'erase() for many children of one protected table in one statement (the retention worker''s batches): the same result as erase(child, tbl, reason, request_ref) for each child in turn — hooks, one erasure_log row per child — with one DELETE or UPDATE for all. Returns the rows affected.';
