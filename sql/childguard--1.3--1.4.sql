/* childguard 1.3 -> 1.4 — the upgrade script, one concern per part */
\echo Use "ALTER EXTENSION childguard UPDATE TO '1.4'" to load this file. \quit
-- The duties the compliance report checks, one row each.  A capability that
-- enforces a duty registers it here in its own part, with a check function
-- that looks at the live database and says whether the duty holds now:
--
--   CREATE FUNCTION childguard.duty_<name>()
--     RETURNS TABLE (pass boolean, reason text, objects text[])
--
-- returning exactly one row; reason says why (in both cases), objects names
-- what is at fault (tables, roles, purposes, children), empty when it passes.
-- childguard.compliance_report (built on this table) calls each in turn.
CREATE TABLE childguard.compliance_duty (
	duty			text PRIMARY KEY CHECK (duty ~ '^[a-z][a-z0-9_]*$'),
	article			text NOT NULL,
	what_is_checked	text NOT NULL,
	check_function	regprocedure NOT NULL,
	test			text NOT NULL
);
COMMENT ON TABLE childguard.compliance_duty IS
	'The duties childguard.compliance_report checks: the article, what the database checks, the function that checks it live, and the test that breaks and repairs it.';
REVOKE ALL ON childguard.compliance_duty FROM PUBLIC;
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
-- ---------------------------------------------------------------------------
-- Expiry hooks (issue 11 item 3): user functions fn(tbl regclass, child_id
-- text, reason text) registered by an officer for one protected table or
-- all, called before and after each erasure (phases 'before', 'after'), and
-- once per child when the child turns 14 (phase 'age14', reason
-- 'turned_14', tbl NULL).
--
-- A hook runs as its function's owner, in a security-restricted operation
-- (no SET ROLE, no temporary objects), inside a subtransaction: it gets the
-- child's id, never a value; what it reads of child data is decided as
-- foreign code (another owner's function inside the caller's statement reads
-- nothing), and an error it raises is caught: reported (a WARNING and a row
-- in childguard.expiry_hook_pending with the SQLSTATE and message), retried
-- later (retry_expiry_hooks(), the retention worker), and the erasure goes
-- on.  See docs/security.md, "Erasure and expiry hooks".
-- ---------------------------------------------------------------------------

CREATE TABLE childguard.expiry_hook (
	hook_id		bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	fn			regprocedure NOT NULL,
	tbl			regclass,				-- NULL: every protected table
	phase		text NOT NULL CHECK (phase IN ('before', 'after', 'age14')),
	registered_at timestamptz NOT NULL DEFAULT pg_catalog.now(),
	registered_by regrole
);
CREATE UNIQUE INDEX expiry_hook_fn_tbl_phase_key
	ON childguard.expiry_hook (fn, coalesce(tbl, 0::oid::regclass), phase);
COMMENT ON TABLE childguard.expiry_hook IS
	'Expiry hooks: fn(tbl regclass, child_id text, reason text) called before or after each erasure of a table''s child data (tbl NULL: every table), or when a child turns 14 (phase age14). Registered by officers; run as the function''s owner.';
SELECT pg_catalog.pg_extension_config_dump('childguard.expiry_hook', '');
SELECT pg_catalog.pg_extension_config_dump('childguard.expiry_hook_hook_id_seq', '');

-- Hook calls that failed, waiting to be retried; done_at set when a retry
-- succeeds (or the hook was unregistered: abandoned).
CREATE TABLE childguard.expiry_hook_pending (
	pending_id	bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	hook_id		bigint NOT NULL,
	fn			regprocedure NOT NULL,
	tbl			regclass,
	subject_no	bigint NOT NULL,
	reason		text NOT NULL,
	phase		text NOT NULL,
	attempts	integer NOT NULL DEFAULT 1,
	first_failed_at timestamptz NOT NULL DEFAULT pg_catalog.now(),
	last_failed_at timestamptz NOT NULL DEFAULT pg_catalog.now(),
	sqlstate	text NOT NULL,
	message		text NOT NULL,
	done_at		timestamptz,
	outcome		text CHECK (outcome IN ('succeeded', 'abandoned'))
);
CREATE INDEX expiry_hook_pending_open_idx ON childguard.expiry_hook_pending (pending_id)
	WHERE done_at IS NULL;
COMMENT ON TABLE childguard.expiry_hook_pending IS
	'Expiry hook calls that raised an error: the SQLSTATE and message (never a value), attempts, and when a retry succeeded. retry_expiry_hooks() and the retention worker retry the open ones.';
SELECT pg_catalog.pg_extension_config_dump('childguard.expiry_hook_pending', '');
SELECT pg_catalog.pg_extension_config_dump('childguard.expiry_hook_pending_pending_id_seq', '');

-- C: run fn(tbl, child, reason) as fn's owner, security-restricted, with the
-- in-hook flag set (src/enforce/erasure_support.c)
CREATE FUNCTION childguard._run_expiry_hook(fn regprocedure, tbl regclass, child_id text,
                                            reason text) RETURNS void
	LANGUAGE C VOLATILE AS 'MODULE_PATHNAME', 'cg_run_expiry_hook';
REVOKE ALL ON FUNCTION childguard._run_expiry_hook(regprocedure, regclass, text, text) FROM PUBLIC;
COMMENT ON FUNCTION childguard._run_expiry_hook(regprocedure, regclass, text, text) IS
	'Internal: call one expiry hook as its function''s owner, in a security-restricted operation.';

-- Call one hook in a subtransaction; on error report it and queue a retry
-- (or, for a retry, update the pending row).  Returns whether it succeeded.
CREATE FUNCTION childguard._call_expiry_hook(h childguard.expiry_hook, tbl regclass, child_id text,
                                             reason text, pending bigint DEFAULT NULL)
	RETURNS boolean
	LANGUAGE plpgsql
	SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	st text;
	msg text;
BEGIN
	BEGIN
		PERFORM childguard._run_expiry_hook(h.fn, tbl, child_id, reason);
		RETURN true;
	EXCEPTION WHEN OTHERS THEN
		GET STACKED DIAGNOSTICS st = RETURNED_SQLSTATE, msg = MESSAGE_TEXT;
	END;
	IF st IN ('57014', '57P01', '57P02', '57P03', '53200') THEN
		-- cancellation, shutdown, out of memory: not the hook's failure
		RAISE EXCEPTION USING ERRCODE = st, MESSAGE = msg;
	END IF;
	msg := pg_catalog.left(msg, 500);
	RAISE WARNING 'expiry hook % failed (SQLSTATE %): the erasure goes on; the call will be retried',
		h.fn, st
		USING DETAIL = pg_catalog.format('Phase %s, table %s, reason %s.', h.phase,
		                                 coalesce(tbl::text, '(all)'), reason),
		      HINT = 'See childguard.expiry_hook_failures; childguard.retry_expiry_hooks() retries.';
	IF pending IS NULL THEN
		INSERT INTO childguard.expiry_hook_pending (hook_id, fn, tbl, subject_no, reason, phase,
		                                            sqlstate, message)
		VALUES (h.hook_id, h.fn, tbl, childguard._subject_of(child_id), reason, h.phase, st, msg);
	ELSE
		UPDATE childguard.expiry_hook_pending p
		   SET attempts = p.attempts + 1, last_failed_at = pg_catalog.clock_timestamp(),
		       sqlstate = st, message = msg
		 WHERE p.pending_id = pending;
	END IF;
	RETURN false;
END
$$;
REVOKE ALL ON FUNCTION childguard._call_expiry_hook(childguard.expiry_hook, regclass, text, text, bigint) FROM PUBLIC;
COMMENT ON FUNCTION childguard._call_expiry_hook(childguard.expiry_hook, regclass, text, text, bigint) IS
	'Internal: one hook call in a subtransaction; an error is reported (WARNING, expiry_hook_pending) and never stops the erasure.';

-- Every hook for this table and phase, in registration order.
CREATE FUNCTION childguard._call_expiry_hooks(tbl regclass, child_id text, reason text, phase text)
	RETURNS integer
	LANGUAGE plpgsql
	SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	h childguard.expiry_hook;
	failed integer := 0;
BEGIN
	FOR h IN SELECT * FROM childguard.expiry_hook x
	          WHERE x.phase = _call_expiry_hooks.phase
	            AND (x.tbl IS NULL OR x.tbl = _call_expiry_hooks.tbl)
	          ORDER BY x.hook_id LOOP
		IF NOT childguard._call_expiry_hook(h, tbl, child_id, reason) THEN
			failed := failed + 1;
		END IF;
	END LOOP;
	RETURN failed;
END
$$;
REVOKE ALL ON FUNCTION childguard._call_expiry_hooks(regclass, text, text, text) FROM PUBLIC;
COMMENT ON FUNCTION childguard._call_expiry_hooks(regclass, text, text, text) IS
	'Internal: call the expiry hooks of a table (and those for all tables) for one phase; returns how many failed.';

CREATE FUNCTION childguard.register_expiry_hook(fn regprocedure, tbl regclass DEFAULT NULL,
                                                phase text DEFAULT 'after') RETURNS bigint
	LANGUAGE plpgsql SECURITY DEFINER
	SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	p pg_catalog.pg_proc;
	id bigint;
BEGIN
	IF NOT (childguard._caller_is_officer() OR childguard._caller_is_owner()) THEN
		RAISE EXCEPTION 'permission denied to register an expiry hook'
			USING ERRCODE = '42501', HINT = 'Only a protection officer can do this.';
	END IF;
	IF fn IS NULL OR phase IS NULL THEN
		RAISE EXCEPTION 'function and phase are required' USING ERRCODE = '22004';
	END IF;
	IF phase NOT IN ('before', 'after', 'age14') THEN
		RAISE EXCEPTION 'unknown expiry hook phase "%"', phase
			USING ERRCODE = 'ZC324',
			      DETAIL = 'A hook''s phase is before or after (an erasure), or age14 (a child turns 14).';
	END IF;
	SELECT * INTO p FROM pg_catalog.pg_proc x WHERE x.oid = fn;
	IF p.prokind <> 'f' OR p.pronargs <> 3 OR p.proretset
	   OR p.proargtypes[0] <> 'pg_catalog.regclass'::pg_catalog.regtype
	   OR p.proargtypes[1] <> 'pg_catalog.text'::pg_catalog.regtype
	   OR p.proargtypes[2] <> 'pg_catalog.text'::pg_catalog.regtype THEN
		RAISE EXCEPTION 'function % cannot be an expiry hook', fn
			USING ERRCODE = 'ZC324',
			      DETAIL = 'An expiry hook is a function (tbl regclass, child_id text, reason text) returning a single value (e.g. void).',
			      HINT = 'CREATE FUNCTION my_hook(tbl regclass, child_id text, reason text) RETURNS void ...';
	END IF;
	IF p.pronamespace = 'childguard'::regnamespace THEN
		RAISE EXCEPTION 'function % cannot be an expiry hook', fn
			USING ERRCODE = 'ZC324', DETAIL = 'childguard''s own functions are not hooks.';
	END IF;
	IF phase = 'age14' AND tbl IS NOT NULL THEN
		RAISE EXCEPTION 'an age14 hook is not per table'
			USING ERRCODE = 'ZC324', HINT = 'Register it with tbl => NULL.';
	END IF;
	IF tbl IS NOT NULL AND NOT EXISTS (SELECT 1 FROM childguard._protected_tables(register_expiry_hook.tbl)) THEN
		RAISE EXCEPTION 'table "%" is not protected', tbl
			USING ERRCODE = 'ZC322', HINT = 'Name a protected table, or NULL for every table.';
	END IF;
	INSERT INTO childguard.expiry_hook (fn, tbl, phase, registered_by)
	VALUES (fn, tbl, phase, childguard._caller_oid()::regrole)
	ON CONFLICT DO NOTHING
	RETURNING hook_id INTO id;
	IF id IS NULL THEN
		RAISE EXCEPTION 'expiry hook % is already registered for % (%)', fn,
			coalesce(tbl::text, 'every table'), phase USING ERRCODE = '23505';
	END IF;
	RETURN id;
END
$$;
REVOKE ALL ON FUNCTION childguard.register_expiry_hook(regprocedure, regclass, text) FROM PUBLIC;
COMMENT ON FUNCTION childguard.register_expiry_hook(regprocedure, regclass, text) IS
	'Register an expiry hook (officers): fn(tbl regclass, child_id text, reason text), for one protected table or all (tbl NULL), phase before or after an erasure, or age14 (called once per child turning 14, reason turned_14). It runs as its owner, gets no child data, and cannot stop an erasure: an error is reported and the call retried.';

CREATE FUNCTION childguard.unregister_expiry_hook(fn regprocedure, tbl regclass DEFAULT NULL,
                                                  phase text DEFAULT 'after') RETURNS void
	LANGUAGE plpgsql SECURITY DEFINER
	SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	id bigint;
BEGIN
	IF NOT (childguard._caller_is_officer() OR childguard._caller_is_owner()) THEN
		RAISE EXCEPTION 'permission denied to unregister an expiry hook'
			USING ERRCODE = '42501', HINT = 'Only a protection officer can do this.';
	END IF;
	DELETE FROM childguard.expiry_hook h
	 WHERE h.fn = unregister_expiry_hook.fn AND h.tbl IS NOT DISTINCT FROM unregister_expiry_hook.tbl
	   AND h.phase = unregister_expiry_hook.phase
	RETURNING h.hook_id INTO id;
	IF id IS NULL THEN
		RAISE EXCEPTION 'expiry hook % is not registered for % (%)', fn,
			coalesce(tbl::text, 'every table'), coalesce(phase, 'NULL')
			USING ERRCODE = 'ZC325';
	END IF;
	UPDATE childguard.expiry_hook_pending p SET done_at = pg_catalog.now(), outcome = 'abandoned'
	 WHERE p.hook_id = id AND p.done_at IS NULL;
END
$$;
REVOKE ALL ON FUNCTION childguard.unregister_expiry_hook(regprocedure, regclass, text) FROM PUBLIC;
COMMENT ON FUNCTION childguard.unregister_expiry_hook(regprocedure, regclass, text) IS
	'Unregister an expiry hook (officers); its calls still waiting for a retry are abandoned.';

CREATE FUNCTION childguard.retry_expiry_hooks(max_calls integer DEFAULT 1000)
	RETURNS TABLE (retried integer, succeeded integer, still_failing integer)
	LANGUAGE plpgsql SECURITY DEFINER
	SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	p record;
	h childguard.expiry_hook;
BEGIN
	IF NOT (childguard._caller_is_officer() OR childguard._caller_is_owner()) THEN
		RAISE EXCEPTION 'permission denied to retry expiry hooks'
			USING ERRCODE = '42501', HINT = 'Only a protection officer or the retention worker can do this.';
	END IF;
	retried := 0; succeeded := 0; still_failing := 0;
	FOR p IN SELECT x.*, c.child_id FROM childguard.expiry_hook_pending x
	           JOIN childguard.child c ON c.subject_no = x.subject_no
	          WHERE x.done_at IS NULL
	          ORDER BY x.pending_id LIMIT max_calls
	          FOR UPDATE OF x SKIP LOCKED LOOP
		SELECT * INTO h FROM childguard.expiry_hook x WHERE x.hook_id = p.hook_id;
		IF NOT FOUND THEN
			UPDATE childguard.expiry_hook_pending x SET done_at = pg_catalog.now(), outcome = 'abandoned'
			 WHERE x.pending_id = p.pending_id;
			CONTINUE;
		END IF;
		retried := retried + 1;
		IF childguard._call_expiry_hook(h, p.tbl, p.child_id, p.reason, p.pending_id) THEN
			UPDATE childguard.expiry_hook_pending x
			   SET done_at = pg_catalog.clock_timestamp(), outcome = 'succeeded',
			       attempts = x.attempts + 1
			 WHERE x.pending_id = p.pending_id;
			succeeded := succeeded + 1;
		ELSE
			still_failing := still_failing + 1;
		END IF;
	END LOOP;
	RETURN NEXT;
END
$$;
REVOKE ALL ON FUNCTION childguard.retry_expiry_hooks(integer) FROM PUBLIC;
COMMENT ON FUNCTION childguard.retry_expiry_hooks(integer) IS
	'Retry expiry hook calls that failed (oldest first, at most max_calls); returns how many were retried, succeeded and still fail. The retention worker calls it on each sweep.';

CREATE VIEW childguard.expiry_hooks AS
	SELECT h.hook_id, h.fn AS hook, h.tbl AS table_name, h.phase, h.registered_at, h.registered_by,
	       p.proowner::regrole AS runs_as
	  FROM childguard.expiry_hook h
	  LEFT JOIN pg_catalog.pg_proc p ON p.oid = h.fn;
COMMENT ON VIEW childguard.expiry_hooks IS
	'Registered expiry hooks and the role each runs as (its function''s owner).';
REVOKE ALL ON childguard.expiry_hooks FROM PUBLIC;

CREATE VIEW childguard.expiry_hook_failures AS
	SELECT x.pending_id, x.fn AS hook, x.tbl AS table_name, c.child_id, x.reason, x.phase,
	       x.attempts, x.first_failed_at, x.last_failed_at, x.sqlstate, x.message,
	       x.done_at, coalesce(x.outcome, 'pending') AS state
	  FROM childguard.expiry_hook_pending x
	  JOIN childguard.child c ON c.subject_no = x.subject_no;
COMMENT ON VIEW childguard.expiry_hook_failures IS
	'Expiry hook calls that failed: the hook, table, child, reason, the error''s SQLSTATE and message, attempts, and whether a retry has since succeeded (state pending, succeeded, abandoned).';
REVOKE ALL ON childguard.expiry_hook_failures FROM PUBLIC;

-- ---------------------------------------------------------------------------
-- The age hook: once per child whose 14th birthday passed since the last run
-- ---------------------------------------------------------------------------

CREATE TABLE childguard.age_hook_fired (
	subject_no	bigint PRIMARY KEY,
	fired_at	timestamptz NOT NULL DEFAULT pg_catalog.now()
);
COMMENT ON TABLE childguard.age_hook_fired IS
	'Children for whom the age14 hooks have fired (once each, never twice).';
SELECT pg_catalog.pg_extension_config_dump('childguard.age_hook_fired', '');

CREATE TABLE childguard.age_hook_state (
	only_row	boolean PRIMARY KEY DEFAULT true CHECK (only_row),
	last_run_on	date NOT NULL
);
COMMENT ON TABLE childguard.age_hook_state IS
	'When _fire_age_hooks() last ran: it fires for children whose 14th birthday falls after that day (before its first run: the day before it). One row, made by the first run (so a dump restores it into a fresh install).';
SELECT pg_catalog.pg_extension_config_dump('childguard.age_hook_state', '');

CREATE FUNCTION childguard._fire_age_hooks(max_children integer DEFAULT 10000) RETURNS integer
	LANGUAGE plpgsql SECURITY DEFINER
	SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	since date;
	c record;
	n integer := 0;
	more boolean := false;
BEGIN
	IF NOT (childguard._caller_is_officer() OR childguard._caller_is_owner()) THEN
		RAISE EXCEPTION 'permission denied to fire age hooks'
			USING ERRCODE = '42501', HINT = 'The retention worker calls this.';
	END IF;
	INSERT INTO childguard.age_hook_state VALUES (true, CURRENT_DATE - 1) ON CONFLICT DO NOTHING;
	SELECT s.last_run_on INTO since FROM childguard.age_hook_state s FOR UPDATE;
	FOR c IN SELECT x.subject_no, x.child_id FROM childguard._child_open x /* part 60 */
	          WHERE x.erased_at IS NULL
	            AND (x.birth_date + '14 years'::interval)::date > since
	            AND (x.birth_date + '14 years'::interval)::date <= CURRENT_DATE
	            AND NOT EXISTS (SELECT 1 FROM childguard.age_hook_fired f WHERE f.subject_no = x.subject_no)
	          ORDER BY x.subject_no LIMIT max_children + 1 LOOP
		IF n = max_children THEN
			more := true;
			EXIT;
		END IF;
		INSERT INTO childguard.age_hook_fired (subject_no) VALUES (c.subject_no);
		PERFORM childguard._call_expiry_hooks(NULL, c.child_id, 'turned_14', 'age14');
		n := n + 1;
	END LOOP;
	IF NOT more THEN
		-- everyone up to today is done: the next run starts after today
		UPDATE childguard.age_hook_state SET last_run_on = CURRENT_DATE - 1;
	END IF;
	RETURN n;
END
$$;
REVOKE ALL ON FUNCTION childguard._fire_age_hooks(integer) FROM PUBLIC;
COMMENT ON FUNCTION childguard._fire_age_hooks(integer) IS
	'Fire the age14 hooks (reason turned_14) once for each child whose 14th birthday passed since the last run (at most max_children a call); recorded in age_hook_fired so it never fires twice. The retention worker calls it on each sweep. Returns how many children it fired for.';
-- ---------------------------------------------------------------------------
-- Requests (issue 11 item 4): erase_child() (Art 20: a child, or its
-- guardian, asks for erasure; the child is erased everywhere now, whatever
-- its consent state) and cease_operations() (Art 23: the operator stops
-- collecting children's data, erases all of it and tells the guardians).
-- ---------------------------------------------------------------------------

CREATE TABLE childguard.erasure_request (
	request_id	bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	subject_no	bigint NOT NULL,
	reason		text NOT NULL,
	request_ref	text,
	received_at	timestamptz NOT NULL DEFAULT pg_catalog.now(),
	received_by	regrole,
	completed_at timestamptz,
	completed_by regrole,
	rows_erased	bigint
);
COMMENT ON TABLE childguard.erasure_request IS
	'Erasure requests (Art 20) and cease_operations() erasures: the child, reason, the requester''s reference, when received and by whom, when completed, by whom, and the rows erased.';
SELECT pg_catalog.pg_extension_config_dump('childguard.erasure_request', '');
SELECT pg_catalog.pg_extension_config_dump('childguard.erasure_request_request_id_seq', '');

-- the persistent "operations ceased" flag (Art 23): while a row is here,
-- new child data is refused (ZC326, src/enforce/seal_trigger.c)
CREATE TABLE childguard.operations_ceased (
	only_row	boolean PRIMARY KEY DEFAULT true CHECK (only_row),
	ceased_at	timestamptz NOT NULL DEFAULT pg_catalog.now(),
	ceased_by	regrole
);
COMMENT ON TABLE childguard.operations_ceased IS
	'Set by cease_operations() (Art 23): while it has a row, no child data is collected (ZC326).';
SELECT pg_catalog.pg_extension_config_dump('childguard.operations_ceased', '');
CREATE TRIGGER operations_ceased_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE
	ON childguard.operations_ceased FOR EACH STATEMENT EXECUTE FUNCTION childguard._catalog_changed();

CREATE FUNCTION childguard.erase_child(child_id text, reason text DEFAULT 'request',
                                       request_ref text DEFAULT NULL) RETURNS bigint
	LANGUAGE plpgsql SECURITY DEFINER
	SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	s bigint;
	r bigint;
	n bigint;
	caller regrole := childguard._caller_oid()::regrole;
BEGIN
	IF NOT (childguard._caller_is_officer() OR childguard._caller_is_owner()) THEN
		RAISE EXCEPTION 'permission denied to erase a child'
			USING ERRCODE = '42501',
			      HINT = 'Only a protection officer handles erasure requests (Art 20).';
	END IF;
	IF child_id IS NULL OR reason IS NULL THEN
		RAISE EXCEPTION 'child and reason are required' USING ERRCODE = '22004';
	END IF;
	IF NOT (reason OPERATOR(pg_catalog.=) ANY (childguard._erasure_reasons())) THEN
		RAISE EXCEPTION 'unknown erasure reason "%"', reason
			USING ERRCODE = 'ZC320',
			      DETAIL = pg_catalog.format('An erasure reason is one of: %s.',
			                                 pg_catalog.array_to_string(childguard._erasure_reasons(), ', ')),
			      HINT = 'A request from the child or a guardian is "request".';
	END IF;
	s := childguard._subject_of(child_id);
	INSERT INTO childguard.erasure_request (subject_no, reason, request_ref, received_by)
	VALUES (s, reason, request_ref, caller)
	RETURNING request_id INTO r;
	n := childguard._erase(child_id, NULL, reason, request_ref, true, true);
	UPDATE childguard.erasure_request q
	   SET completed_at = pg_catalog.clock_timestamp(), completed_by = caller, rows_erased = n
	 WHERE q.request_id = r;
	-- earlier requests for the same child are completed by this erasure
	UPDATE childguard.erasure_request q
	   SET completed_at = pg_catalog.clock_timestamp(), completed_by = caller, rows_erased = 0
	 WHERE q.subject_no = s AND q.completed_at IS NULL;
	RETURN n;
END
$$;
REVOKE ALL ON FUNCTION childguard.erase_child(text, text, text) FROM PUBLIC;
COMMENT ON FUNCTION childguard.erase_child(text, text, text) IS
	'Art 20: erase a child everywhere now, whatever its consent state (also after a withdrawal): every protected table by its action, then the data key destroyed (backups and replicas become unreadable), erased_at set, a line in the erasure ledger; the request recorded in erasure_request. Officers. Returns the rows erased.';

CREATE VIEW childguard.erasures AS
	SELECT q.request_id, c.child_id, q.subject_no, q.reason, q.request_ref,
	       q.received_at, q.received_by, q.completed_at, q.completed_by, q.rows_erased,
	       CASE WHEN q.completed_at IS NULL THEN 'pending' ELSE 'completed' END AS state,
	       c.erased_at AS child_erased_at
	  FROM childguard.erasure_request q
	  JOIN childguard.child c ON c.subject_no = q.subject_no;
COMMENT ON VIEW childguard.erasures IS
	'Erasure requests (Art 20, Art 23) and their completion: the child, reason, reference, received and completed (when, by whom), rows erased.';
REVOKE ALL ON childguard.erasures FROM PUBLIC;

CREATE FUNCTION childguard.cease_operations(request_ref text DEFAULT NULL)
	RETURNS TABLE (guardian_id text, child_id text, rows_erased bigint)
	LANGUAGE plpgsql SECURITY DEFINER
	SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	c record;
	n bigint;
	caller regrole := childguard._caller_oid()::regrole;
BEGIN
	IF NOT (childguard._caller_is_officer() OR childguard._caller_is_owner()) THEN
		RAISE EXCEPTION 'permission denied to cease operations'
			USING ERRCODE = '42501',
			      HINT = 'Only a protection officer can do this (Art 23).';
	END IF;
	-- first stop collection: from here on no new child data (ZC326)
	INSERT INTO childguard.operations_ceased (ceased_by) VALUES (caller)
	ON CONFLICT DO NOTHING;
	FOR c IN SELECT x.subject_no, x.child_id FROM childguard.child x
	          WHERE x.erased_at IS NULL
	             OR EXISTS (SELECT 1 FROM childguard.data_key k
	                         WHERE k.subject_no = x.subject_no AND k.wrapped_key IS NOT NULL)
	          ORDER BY x.subject_no LOOP
		INSERT INTO childguard.erasure_request (subject_no, reason, request_ref, received_by)
		VALUES (c.subject_no, 'cease_operations', request_ref, caller);
		n := childguard._erase(c.child_id, NULL, 'cease_operations', request_ref, true, true);
		UPDATE childguard.erasure_request q
		   SET completed_at = pg_catalog.clock_timestamp(), completed_by = caller, rows_erased = n
		 WHERE q.subject_no = c.subject_no AND q.completed_at IS NULL
		   AND q.reason = 'cease_operations';
		-- the guardians to notify (Art 23); a child without one is listed
		-- with a NULL guardian (notify the child, or record why not)
		RETURN QUERY
			SELECT g.guardian_id, c.child_id, n
			  FROM (SELECT NULL::text AS guardian_id WHERE NOT EXISTS
			          (SELECT 1 FROM childguard.child_guardian y WHERE y.subject_no = c.subject_no)
			        UNION ALL
			        SELECT y.guardian_id FROM childguard.child_guardian y
			         WHERE y.subject_no = c.subject_no) g
			 ORDER BY g.guardian_id;
	END LOOP;
END
$$;
REVOKE ALL ON FUNCTION childguard.cease_operations(text) FROM PUBLIC;
COMMENT ON FUNCTION childguard.cease_operations(text) IS
	'Art 23: stop collecting (a persistent flag: new child data is refused, ZC326), erase every child as a whole (every protected table by its action, data keys destroyed, ledger lines), record each in erasure_request, and return the guardians to notify, one row per guardian and child (guardian NULL for a child without one). Officers.';

CREATE FUNCTION childguard.resume_operations() RETURNS void
	LANGUAGE plpgsql SECURITY DEFINER
	SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	PERFORM childguard._require_owner('resume collecting child data');
	DELETE FROM childguard.operations_ceased;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'operations have not ceased' USING ERRCODE = '55000';
	END IF;
END
$$;
REVOKE ALL ON FUNCTION childguard.resume_operations() FROM PUBLIC;
COMMENT ON FUNCTION childguard.resume_operations() IS
	'Lift cease_operations()''s stop on collection (the extension owner only; erased children stay erased).';
-- ---------------------------------------------------------------------------
-- The erasure ledger (issue 11 item 5; src/keys/erasure_ledger.c): children
-- erased as a whole are also appended to a file outside the data directory
-- (childguard.erasure_ledger_file), hash-chained with a key derived from the
-- master key.  After a restore from an older backup their keys count as
-- destroyed from server start, and _reapply_ledger() (which the retention
-- worker calls first on each sweep) erases them again in the database.
-- ---------------------------------------------------------------------------

CREATE FUNCTION childguard._ledger_lines(OUT line_no bigint, OUT seq bigint, OUT dboid oid,
                                         OUT subject_no bigint, OUT child_hash text,
                                         OUT erased_at timestamptz, OUT reason text,
                                         OUT request_ref text, OUT key_id text,
                                         OUT this_database boolean, OUT problem text)
	RETURNS SETOF record
	LANGUAGE C VOLATILE AS 'MODULE_PATHNAME', 'cg_erasure_ledger_lines';
REVOKE ALL ON FUNCTION childguard._ledger_lines() FROM PUBLIC;
COMMENT ON FUNCTION childguard._ledger_lines() IS
	'Internal: every line of the erasure ledger, the chain checked line by line (problem NULL when the line is intact).';

CREATE FUNCTION childguard._ledger_child_hash(child_id text, key_id text) RETURNS text
	LANGUAGE C STABLE STRICT AS 'MODULE_PATHNAME', 'cg_erasure_ledger_child_hash';
REVOKE ALL ON FUNCTION childguard._ledger_child_hash(text, text) FROM PUBLIC;
COMMENT ON FUNCTION childguard._ledger_child_hash(text, text) IS
	'Internal: the keyed hash of a child id a ledger line written under that master key holds (NULL if the key is not configured).';

CREATE FUNCTION childguard._ledger_status_c(OUT path text, OUT outside_data_directory boolean,
                                            OUT read_at_start boolean, OUT children_held bigint,
                                            OUT children_not_held bigint)
	LANGUAGE C VOLATILE AS 'MODULE_PATHNAME', 'cg_erasure_ledger_status';
REVOKE ALL ON FUNCTION childguard._ledger_status_c() FROM PUBLIC;
COMMENT ON FUNCTION childguard._ledger_status_c() IS
	'Internal: where the erasure ledger is, whether it was read at server start, and the children held in shared memory.';

CREATE FUNCTION childguard._ledger_status(OUT path text, OUT outside_data_directory boolean,
                                          OUT read_at_start boolean, OUT children_held bigint,
                                          OUT children_not_held bigint)
	LANGUAGE plpgsql SECURITY DEFINER
	SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	IF NOT (childguard._caller_is_officer() OR childguard._caller_is_owner()) THEN
		RAISE EXCEPTION 'permission denied to read the erasure ledger''s status'
			USING ERRCODE = '42501', HINT = 'Only a protection officer can do this.';
	END IF;
	SELECT * INTO path, outside_data_directory, read_at_start, children_held, children_not_held
	  FROM childguard._ledger_status_c();
END
$$;
REVOKE ALL ON FUNCTION childguard._ledger_status() FROM PUBLIC;
COMMENT ON FUNCTION childguard._ledger_status() IS
	'The erasure ledger''s path (a superuser-only setting, shown to officers), whether it was read at server start, and the children held in shared memory.';

CREATE FUNCTION childguard.verify_erasure_ledger(OUT valid boolean, OUT lines bigint,
                                                 OUT first_bad_line bigint, OUT problem text,
                                                 OUT erased_not_in_ledger bigint)
	LANGUAGE plpgsql SECURITY DEFINER
	SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	IF NOT (childguard._caller_is_officer() OR childguard._caller_is_owner()) THEN
		RAISE EXCEPTION 'permission denied to verify the erasure ledger'
			USING ERRCODE = '42501', HINT = 'Only a protection officer can do this.';
	END IF;
	WITH l AS MATERIALIZED (SELECT * FROM childguard._ledger_lines()),
	     bad AS (SELECT l.line_no, l.problem FROM l WHERE l.problem IS NOT NULL
	              ORDER BY l.line_no LIMIT 1)
	SELECT (SELECT pg_catalog.count(*) FROM l), bad.line_no, bad.problem,
	       -- every child this database erased as a whole must be in the ledger
	       (SELECT pg_catalog.count(DISTINCT e.subject_no) FROM childguard.erasure_log e
	         WHERE e.whole_child AND e.tbl IS NULL
	           AND NOT EXISTS (SELECT 1 FROM l WHERE l.this_database
	                             AND l.subject_no = e.subject_no AND l.problem IS NULL))
	  INTO lines, first_bad_line, problem, erased_not_in_ledger
	  FROM (SELECT 1) one LEFT JOIN bad ON true;
	IF problem IS NULL AND erased_not_in_ledger > 0 THEN
		problem := pg_catalog.format('%s children erased in this database are missing from the ledger (lines removed, or the ledger replaced)',
		                             erased_not_in_ledger);
	END IF;
	valid := problem IS NULL;
END
$$;
REVOKE ALL ON FUNCTION childguard.verify_erasure_ledger() FROM PUBLIC;
COMMENT ON FUNCTION childguard.verify_erasure_ledger() IS
	'Check the erasure ledger: every line intact (sequence and HMAC chain keyed from the master key), and every child this database erased as a whole present in it. Returns the first bad line and why.';

CREATE FUNCTION childguard._ledger_subjects() RETURNS bigint[]
	LANGUAGE C VOLATILE AS 'MODULE_PATHNAME', 'cg_erasure_ledger_subjects';
REVOKE ALL ON FUNCTION childguard._ledger_subjects() FROM PUBLIC;
COMMENT ON FUNCTION childguard._ledger_subjects() IS
	'Internal: the subject numbers of this database the erasure ledger''s shared table holds (read at server start, added at each erasure).';

CREATE FUNCTION childguard._reapply_ledger() RETURNS integer
	LANGUAGE plpgsql SECURITY DEFINER
	SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	l record;
	n integer := 0;
	h text;
BEGIN
	IF NOT (childguard._caller_is_officer() OR childguard._caller_is_owner()) THEN
		RAISE EXCEPTION 'permission denied to re-apply the erasure ledger'
			USING ERRCODE = '42501', HINT = 'The retention worker calls this; so may an officer.';
	END IF;
	-- the common case, on every sweep: every child the shared table holds
	-- for this database is erased here, and it holds them all: no file read
	IF NOT EXISTS (SELECT 1 FROM pg_catalog.unnest(childguard._ledger_subjects()) x(s)
	                 JOIN childguard.child c ON c.subject_no = x.s
	                WHERE c.erased_at IS NULL
	                   OR EXISTS (SELECT 1 FROM childguard.data_key k
	                               WHERE k.subject_no = c.subject_no AND k.wrapped_key IS NOT NULL))
	   AND coalesce((SELECT st.children_not_held FROM childguard._ledger_status_c() st), 0) = 0
	   AND coalesce((SELECT st.read_at_start FROM childguard._ledger_status_c() st), false) THEN
		RETURN 0;
	END IF;
	FOR l IN SELECT DISTINCT ON (x.subject_no) x.*, c.child_id, c.erased_at AS db_erased_at
	           FROM childguard._ledger_lines() x
	           JOIN childguard.child c ON c.subject_no = x.subject_no
	          WHERE x.this_database
	            AND (x.problem IS NULL OR x.problem NOT LIKE 'torn%' AND x.problem NOT LIKE 'malformed%')
	            AND (c.erased_at IS NULL
	                 OR EXISTS (SELECT 1 FROM childguard.data_key k
	                             WHERE k.subject_no = c.subject_no AND k.wrapped_key IS NOT NULL))
	          ORDER BY x.subject_no, x.line_no LOOP
		h := childguard._ledger_child_hash(l.child_id, l.key_id);
		IF h IS NOT NULL AND h <> l.child_hash THEN
			RAISE WARNING 'erasure ledger line % names subject % of another child: not re-applied',
				l.line_no, l.subject_no
				USING DETAIL = 'The child registered under that subject number now is not the child that was erased.';
			CONTINUE;
		END IF;
		PERFORM childguard._erase(l.child_id, NULL,
		                          CASE WHEN l.reason OPERATOR(pg_catalog.=) ANY (childguard._erasure_reasons())
		                               THEN l.reason ELSE 'child_erased' END,
		                          CASE WHEN l.request_ref = '-' THEN NULL ELSE l.request_ref END,
		                          true, false);
		n := n + 1;
	END LOOP;
	RETURN n;
END
$$;
REVOKE ALL ON FUNCTION childguard._reapply_ledger() FROM PUBLIC;
COMMENT ON FUNCTION childguard._reapply_ledger() IS
	'Erase again every child the erasure ledger names for this database that the database does not show as erased (after a restore from a backup taken before the erasure). The retention worker calls it first on each sweep. Returns how many children it erased.';

CREATE VIEW childguard.erasure_ledger_status AS
	SELECT * FROM childguard._ledger_status();
COMMENT ON VIEW childguard.erasure_ledger_status IS
	'The erasure ledger: its path, whether it is outside the data directory, whether it was read at server start, and the children whose reads are denied from it.';
REVOKE ALL ON childguard.erasure_ledger_status FROM PUBLIC;
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
-- ---------------------------------------------------------------------------
-- Who may call the erasure functions (issue 11): officers, through the
-- officer function and view lists (appointed officers get them now, new ones
-- at appointment).  Nothing is granted to applications: they DELETE their
-- rows (audited) or ask an officer.  The retention worker runs as the
-- extension owner.  The lists grow by these entries, whatever other parts of
-- this version add to them (each list is rebuilt from its current value).
-- ---------------------------------------------------------------------------

DO $officer$
DECLARE
	fs text;
	vs text;
BEGIN
	SELECT pg_catalog.string_agg(pg_catalog.quote_literal(
	           pg_catalog.format('%I.%I(%s)', ns.nspname, p.proname,
	                             pg_catalog.oidvectortypes(p.proargtypes))), ', ' ORDER BY u.n) INTO fs
	  FROM pg_catalog.unnest(childguard._officer_functions() || ARRAY[
	           'childguard.set_erasure_action(regclass, text)',
	           'childguard.erase(text, regclass, text, text)',
	           'childguard.erase_batch(text[], regclass, text, text)',
	           'childguard.register_expiry_hook(regprocedure, regclass, text)',
	           'childguard.unregister_expiry_hook(regprocedure, regclass, text)',
	           'childguard.retry_expiry_hooks(integer)',
	           'childguard.verify_erasure_ledger()',
	           'childguard._reapply_ledger()',
	           'childguard._fire_age_hooks(integer)',
	           'childguard.erase_child(text, text, text)',
	           'childguard.cease_operations(text)',
	           'childguard._ledger_status()']::regprocedure[])
	       WITH ORDINALITY AS u(f, n)
	  JOIN pg_catalog.pg_proc p ON p.oid = u.f
	  JOIN pg_catalog.pg_namespace ns ON ns.oid = p.pronamespace;
	EXECUTE pg_catalog.format($f$CREATE OR REPLACE FUNCTION childguard._officer_functions() RETURNS regprocedure[]
	LANGUAGE sql IMMUTABLE
AS $body$
	SELECT ARRAY[%s]::regprocedure[]
$body$$f$, fs);

	SELECT pg_catalog.string_agg(pg_catalog.quote_literal(
	           pg_catalog.format('%I.%I', ns.nspname, c.relname)), ', ' ORDER BY u.n) INTO vs
	  FROM pg_catalog.unnest(childguard._officer_views() || ARRAY[
	           'childguard.erasure_actions', 'childguard.erasure_log',
	           'childguard.expiry_hooks', 'childguard.expiry_hook_failures',
	           'childguard.erasure_ledger_status', 'childguard.erasures']::regclass[])
	       WITH ORDINALITY AS u(v, n)
	  JOIN pg_catalog.pg_class c ON c.oid = u.v
	  JOIN pg_catalog.pg_namespace ns ON ns.oid = c.relnamespace;
	EXECUTE pg_catalog.format($f$CREATE OR REPLACE FUNCTION childguard._officer_views() RETURNS regclass[]
	LANGUAGE sql IMMUTABLE
AS $body$
	SELECT ARRAY[%s]::regclass[]
$body$$f$, vs);
END
$officer$;

-- the officers appointed before 1.4, in the order they were appointed
SELECT childguard._grant_officer_privileges(o.role::oid)
  FROM childguard.officer o
 WHERE o.role IS NOT NULL AND childguard._role_alive(o.role)
 ORDER BY o.appointed_at, o.ctid;
-- ---------------------------------------------------------------------------
-- The duties erasure enforces, for the compliance report (part 05): each
-- with a check computed live and a regress test that breaks and repairs it
-- (sql/erasure_duties.sql).
-- ---------------------------------------------------------------------------

-- Art 20: every erasure request is completed, and every child erased as a
-- whole (in this database, or by the erasure ledger) has no readable data
-- left (its data keys destroyed: after a restore from an older backup this
-- fails until _reapply_ledger() has run).
CREATE FUNCTION childguard.duty_erasure_on_request()
	RETURNS TABLE (pass boolean, reason text, objects text[])
	LANGUAGE sql STABLE SECURITY DEFINER
	SET search_path = pg_catalog, pg_temp
AS $$
	WITH pending AS (
		SELECT c.child_id FROM childguard.erasure_request q
		  JOIN childguard.child c ON c.subject_no = q.subject_no
		 WHERE q.completed_at IS NULL),
	     readable AS (
		SELECT c.child_id FROM childguard.child c
		 WHERE (c.erased_at IS NOT NULL
		        OR EXISTS (SELECT 1 FROM childguard.erasure_log e
		                    WHERE e.subject_no = c.subject_no AND e.whole_child AND e.tbl IS NULL))
		   AND EXISTS (SELECT 1 FROM childguard.data_key k
		                WHERE k.subject_no = c.subject_no AND k.wrapped_key IS NOT NULL)
		UNION
		-- named by the erasure ledger, not erased here (a restore)
		SELECT c.child_id FROM childguard.child c
		  JOIN childguard._ledger_lines() l ON l.this_database AND l.subject_no = c.subject_no
		 WHERE l.problem IS NULL AND c.erased_at IS NULL),
	     bad AS (SELECT child_id FROM pending UNION SELECT child_id FROM readable)
	SELECT NOT EXISTS (SELECT 1 FROM bad),
	       CASE WHEN NOT EXISTS (SELECT 1 FROM bad)
	            THEN pg_catalog.format('Every erasure request is completed (%s in all) and no child erased as a whole has a data key left.',
	                                   (SELECT pg_catalog.count(*) FROM childguard.erasure_request))
	            ELSE pg_catalog.format('%s erasure requests are not completed and %s erased children still have a data key (a restore from an older backup? run childguard._reapply_ledger(); then childguard.erase_child()).',
	                                   (SELECT pg_catalog.count(*) FROM pending),
	                                   (SELECT pg_catalog.count(*) FROM readable)) END,
	       coalesce((SELECT pg_catalog.array_agg(child_id ORDER BY child_id) FROM bad), '{}')
$$;
REVOKE ALL ON FUNCTION childguard.duty_erasure_on_request() FROM PUBLIC;
COMMENT ON FUNCTION childguard.duty_erasure_on_request() IS
	'Compliance duty (Provisions Art 20): every erasure request completed; no child erased as a whole with a data key left.';

-- Art 23: once operations have ceased, no child's data is left: every child
-- erased, no data key left.  Passes while operations go on.
CREATE FUNCTION childguard.duty_cease_operations()
	RETURNS TABLE (pass boolean, reason text, objects text[])
	LANGUAGE sql STABLE SECURITY DEFINER
	SET search_path = pg_catalog, pg_temp
AS $$
	WITH ceased AS (SELECT o.ceased_at FROM childguard.operations_ceased o),
	     left_over AS (
		SELECT c.child_id FROM childguard.child c
		 WHERE EXISTS (SELECT 1 FROM ceased)
		   AND (c.erased_at IS NULL
		        OR EXISTS (SELECT 1 FROM childguard.data_key k
		                    WHERE k.subject_no = c.subject_no AND k.wrapped_key IS NOT NULL)))
	SELECT NOT EXISTS (SELECT 1 FROM left_over),
	       CASE WHEN NOT EXISTS (SELECT 1 FROM ceased)
	            THEN 'Operations have not ceased (cease_operations() not called): nothing to erase under Art 23.'
	            WHEN NOT EXISTS (SELECT 1 FROM left_over)
	            THEN 'Operations have ceased and every child''s data is erased (no data key left).'
	            ELSE pg_catalog.format('Operations have ceased but %s children still have data that can be read.',
	                                   (SELECT pg_catalog.count(*) FROM left_over)) END,
	       coalesce((SELECT pg_catalog.array_agg(child_id ORDER BY child_id) FROM left_over), '{}')
$$;
REVOKE ALL ON FUNCTION childguard.duty_cease_operations() FROM PUBLIC;
COMMENT ON FUNCTION childguard.duty_cease_operations() IS
	'Compliance duty (Provisions Art 23): after cease_operations(), every child erased and no data key left.';

-- Art 20, 22: every DELETE and TRUNCATE of protected rows is recorded
-- naming the children: each protected table carries childguard's DELETE
-- and TRUNCATE triggers, enabled ALWAYS.
CREATE FUNCTION childguard.duty_deletions_recorded()
	RETURNS TABLE (pass boolean, reason text, objects text[])
	LANGUAGE sql STABLE SECURITY DEFINER
	SET search_path = pg_catalog, pg_temp
AS $$
	WITH missing AS (
		SELECT DISTINCT p.table_name::text AS t
		  FROM childguard.protected_columns p
		 WHERE p.is_protected
		   AND (NOT EXISTS (SELECT 1 FROM pg_catalog.pg_trigger x
		                     WHERE x.tgrelid = p.table_name AND x.tgname = 'zz_childguard_deleted'
		                       AND x.tgfoid = 'childguard.seal_row()'::pg_catalog.regprocedure
		                       AND x.tgenabled = 'A')
		        OR NOT EXISTS (SELECT 1 FROM pg_catalog.pg_trigger x
		                        WHERE x.tgrelid = p.table_name AND x.tgname = 'zz_childguard_truncate'
		                          AND x.tgfoid = 'childguard.seal_row()'::pg_catalog.regprocedure
		                          AND x.tgenabled = 'A')))
	SELECT NOT EXISTS (SELECT 1 FROM missing),
	       CASE WHEN NOT EXISTS (SELECT 1 FROM missing)
	            THEN 'Every protected table records the children of each DELETE and TRUNCATE.'
	            ELSE pg_catalog.format('%s protected tables lack childguard''s DELETE or TRUNCATE trigger (enabled ALWAYS): their deletions go unrecorded; run childguard.protect() on them again.',
	                                   (SELECT pg_catalog.count(*) FROM missing)) END,
	       coalesce((SELECT pg_catalog.array_agg(t ORDER BY t) FROM missing), '{}')
$$;
REVOKE ALL ON FUNCTION childguard.duty_deletions_recorded() FROM PUBLIC;
COMMENT ON FUNCTION childguard.duty_deletions_recorded() IS
	'Compliance duty (Provisions Art 20, 22): every protected table records the children of each DELETE and TRUNCATE.';

INSERT INTO childguard.compliance_duty VALUES
	('erasure_on_request', 'Provisions Art 20',
	 'Every erasure request (erase_child()) is completed, and no child erased as a whole still has a data key (after a restore: until _reapply_ledger() has re-applied the erasure ledger).',
	 'childguard.duty_erasure_on_request()'::regprocedure, 'sql/erasure_duties.sql'),
	('cease_operations', 'Provisions Art 23',
	 'After cease_operations(): every child erased, no data key left (collection is refused, ZC326).',
	 'childguard.duty_cease_operations()'::regprocedure, 'sql/erasure_duties.sql'),
	('deletions_recorded', 'Provisions Art 20, 22',
	 'Every protected table carries childguard''s DELETE and TRUNCATE triggers, enabled ALWAYS: each DELETE''s and TRUNCATE''s audit record names the children whose rows it removed.',
	 'childguard.duty_deletions_recorded()'::regprocedure, 'sql/erasure_duties.sql');
-- ---------------------------------------------------------------------------
-- The retention clock (Art 12; issue 11, item 1)
--
-- A purpose's retention runs from when the data was collected for it: the
-- FIRST consent granted for (child, purpose).  Consent rows are never
-- deleted (a withdrawal stamps withdrawn_at, a material notice lapsed_at),
-- so that instant is already on record for every existing database and
-- needs no backfill; recording consent again does not move it, and a
-- consent recorded after the retention ended does not make the old data
-- readable again.  The read decision applies the same clock
-- (src/consent/consent.c).
--
-- A clock restarts only when the retention sweep has left nothing of the
-- child in the tables the purpose covers: retention_restart records the
-- instant the old retention ended, and from then on the clock runs from the
-- first consent granted at or after that instant (a consent recorded again
-- after the expiry); with none, the retention stays ended.  New data can be
-- collected only under a running clock (collection is refused after the
-- retention ended, ZC103), so a restarted clock never covers old data.
-- ---------------------------------------------------------------------------

CREATE TABLE childguard.retention_restart (
	subject_no		bigint NOT NULL REFERENCES childguard.child (subject_no),
	purpose_id		integer NOT NULL REFERENCES childguard.purpose (purpose_id),
	restarted_at	timestamptz NOT NULL,
	CONSTRAINT retention_restart_pkey PRIMARY KEY (subject_no, purpose_id)
);
COMMENT ON TABLE childguard.retention_restart IS
	'Art 12: retention clocks restarted by the retention sweep, once nothing of the child was left in the tables the purpose covers: restarted_at is when the old retention ended, and the clock then runs from the first consent granted at or after it.';
REVOKE ALL ON childguard.retention_restart FROM PUBLIC;
SELECT pg_catalog.pg_extension_config_dump('childguard.retention_restart', '');
CREATE TRIGGER retention_restart_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE
	ON childguard.retention_restart FOR EACH STATEMENT EXECUTE FUNCTION childguard._catalog_changed();

-- (subject_no, purpose_id) -> when its data was first collected (since the
-- last restart): the same rule as src/consent/consent.c, set-based.
CREATE FUNCTION childguard._retention_clocks(subjects bigint[] DEFAULT NULL)
	RETURNS TABLE (subject_no bigint, purpose_id integer, collected_since timestamptz,
	               retention_ends timestamptz, restarted_at timestamptz)
	LANGUAGE sql STABLE SECURITY DEFINER
	SET search_path = pg_catalog, pg_temp
AS $$
	SELECT k.subject_no, k.purpose_id,
	       pg_catalog.min(k.given_at) FILTER (
	           WHERE k.decision = 'granted' AND k.given_at >= coalesce(r.restarted_at, '-infinity')),
	       pg_catalog.min(k.given_at) FILTER (
	           WHERE k.decision = 'granted' AND k.given_at >= coalesce(r.restarted_at, '-infinity'))
	       + p.retention,
	       r.restarted_at
	  FROM childguard.consent k
	  JOIN childguard.purpose p ON p.purpose_id = k.purpose_id
	  LEFT JOIN childguard.retention_restart r
	    ON r.subject_no = k.subject_no AND r.purpose_id = k.purpose_id
	 WHERE (subjects IS NULL OR k.subject_no = ANY (subjects))
	 GROUP BY k.subject_no, k.purpose_id, p.retention, r.restarted_at
	HAVING pg_catalog.bool_or(k.decision = 'granted')
$$;
REVOKE ALL ON FUNCTION childguard._retention_clocks(bigint[]) FROM PUBLIC;
COMMENT ON FUNCTION childguard._retention_clocks(bigint[]) IS
	'The retention clock of each (child, purpose) with a granted consent (of the given children, or all): when the data was first collected for the purpose, and when its retention ends (both NULL after a restart without a consent granted since).';

CREATE VIEW childguard.retention_clocks AS
	SELECT c.child_id, p.purpose, k.collected_since, k.retention_ends, k.restarted_at
	  FROM childguard._retention_clocks() k
	  JOIN childguard.child c ON c.subject_no = k.subject_no
	  JOIN childguard.purpose p ON p.purpose_id = k.purpose_id;
REVOKE ALL ON childguard.retention_clocks FROM PUBLIC;
COMMENT ON VIEW childguard.retention_clocks IS
	'Art 12: per child and purpose, when its data was first collected (the retention clock starts there, not at the latest consent) and when its retention ends; NULL when the sweep restarted the clock and no consent was granted since.';

-- consent_in_force() counts the retention from the clock, as reads do
-- (defined in part 60, which reads the sealed registry opened)
COMMENT ON FUNCTION childguard.consent_in_force(text, text, date) IS
	'Whether a consent that counts is in force for the child and purpose on a date, within the purpose''s retention counted from the first collection (for inspection; reads decide in C with the same rule). NULL if the child or purpose is unknown.';
-- ---------------------------------------------------------------------------
-- What has lost its lawful basis (Art 12, 16, 20; issue 11, items 2 and 6)
--
-- Per (child, protected table) holding data of the child -- a row with a
-- child_data value not NULL, while the child's data key still exists (a
-- shredded child's ciphertext can no longer be read by anyone) -- the first
-- of these that holds is why it must go (in the erasure engine's reasons,
-- 20_erasure_engine.sql), and since when:
--
--   child_erased       the child is marked erased (erase_child(), a
--                      shredding) but data is left (e.g. restored):
--                      child.erased_at
--   account_closed     close_account(): account_closure.closed_at
--   processor_ended    the table belongs to a processor (its owner held a
--                      processor grant, Art 16) and no processor grant of
--                      that role is in force: the processing's copy is
--                      erased; the latest end
--   consent_refused    no purpose needing one of the table's categories has
--   consent_withdrawn    consent in force (withdrawn, lapsed, refused, or no
--                        purpose needs them at all); the last such word
--   retention_expired  consent is in force, but the retention of every such
--                      purpose, counted from the first collection
--                      (30_retention_clock), has ended; the latest end --
--                      also listed before it is due, with the instant it
--                      will be
-- ---------------------------------------------------------------------------

CREATE TABLE childguard.account_closure (
	subject_no		bigint PRIMARY KEY REFERENCES childguard.child (subject_no),
	closed_at		timestamptz NOT NULL DEFAULT pg_catalog.now(),
	closed_by		name NOT NULL,
	closed_by_role	oid NOT NULL,
	reason			text NOT NULL DEFAULT ''
);
COMMENT ON TABLE childguard.account_closure IS
	'Children whose account was closed (close_account()): the retention sweep erases their data in every protected table.';
REVOKE ALL ON childguard.account_closure FROM PUBLIC;
SELECT pg_catalog.pg_extension_config_dump('childguard.account_closure', '');

CREATE FUNCTION childguard.close_account(child text, reason text DEFAULT '')
	RETURNS timestamptz
	LANGUAGE plpgsql SECURITY DEFINER
	SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	s bigint;
	at timestamptz;
BEGIN
	IF child IS NULL OR child = '' THEN
		RAISE EXCEPTION 'a child must be named' USING ERRCODE = '22023';
	END IF;
	IF NOT (childguard._caller_is_officer() OR EXISTS (
	            SELECT 1 FROM childguard.enrollment e
	             WHERE e.duty = 'application'
	               AND pg_catalog.pg_has_role(childguard._caller_oid(), e.role::oid, 'MEMBER'))) THEN
		RAISE EXCEPTION 'permission denied to close the account of child "%"', child
			USING ERRCODE = '42501',
			      DETAIL = 'Accounts are closed by an enrolled application or a protection officer.';
	END IF;
	s := childguard._subject_of(child);
	INSERT INTO childguard.account_closure (subject_no, closed_by, closed_by_role, reason)
	VALUES (s, childguard._caller(), childguard._caller_oid(), coalesce(reason, ''))
	ON CONFLICT (subject_no) DO NOTHING
	RETURNING closed_at INTO at;
	IF at IS NOT NULL THEN
		-- reads stop now, not at the sweep: the consents in force end with
		-- the account (withdrawn by the caller, in the consent log)
		UPDATE childguard.consent c
		   SET withdrawn_at = at, withdrawn_by = childguard._caller_oid()
		 WHERE c.subject_no = s AND c.decision = 'granted'
		   AND c.withdrawn_at IS NULL AND c.lapsed_at IS NULL;
	END IF;
	IF at IS NULL THEN
		RAISE EXCEPTION 'the account of child "%" is already closed', child
			USING ERRCODE = 'ZC301',
			      DETAIL = pg_catalog.format('It was closed at %s.',
			               (SELECT a.closed_at FROM childguard.account_closure a WHERE a.subject_no = s)),
			      HINT = 'The retention sweep erases its data; see childguard.retention_due.';
	END IF;
	RETURN at;
END
$$;
REVOKE ALL ON FUNCTION childguard.close_account(text, text) FROM PUBLIC;
COMMENT ON FUNCTION childguard.close_account(text, text) IS
	'Close a child''s account (an enrolled application or an officer): its consents in force are withdrawn (reads stop at once), the child''s data in every protected table has no lawful basis, and the retention sweep erases the child as a whole (childguard.retention_due, reason account_closed).';

-- The protected tables (the erasure engine's list: partitions through their
-- parent, ONLY otherwise), with their categories and owner.
CREATE FUNCTION childguard._retention_tables()
	RETURNS TABLE (tbl regclass, subject_column name, subject_type text,
	               data_columns name[], categories text[], owner oid, only_kw text)
	LANGUAGE sql STABLE
	SET search_path = pg_catalog, pg_temp
AS $$
	SELECT p.tbl, p.subject_column, p.subject_type, p.columns,
	       ARRAY(SELECT DISTINCT pc.category FROM childguard.protected_columns pc
	              WHERE pc.table_name = p.tbl ORDER BY 1),
	       c.relowner, p.only_kw
	  FROM childguard._protected_tables() p
	  JOIN pg_catalog.pg_class c ON c.oid = p.tbl
	 ORDER BY p.tbl::oid
$$;
REVOKE ALL ON FUNCTION childguard._retention_tables() FROM PUBLIC;
COMMENT ON FUNCTION childguard._retention_tables() IS
	'The protected tables the retention sweep looks at: subject column and type, child_data columns, categories, owner.';

-- Per (child, table): why its data must go and since when (or, for
-- retention not yet reached, when it will).  Of one table, or all; of the
-- given children (their child_id), or all.  Set-based: one query per table.
CREATE FUNCTION childguard._retention_due_rows(only_table regclass DEFAULT NULL,
                                               children text[] DEFAULT NULL)
	RETURNS TABLE (child_id text, subject_no bigint, table_name regclass,
	               reason text, due_at timestamptz, action text)
	LANGUAGE plpgsql STABLE SECURITY DEFINER
	SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	t record;
	processor_end timestamptz;
	processor_ended boolean;
BEGIN
	FOR t IN SELECT * FROM childguard._retention_tables() x
	          WHERE only_table IS NULL OR x.tbl = only_table LOOP
		-- Art 16: a table of a processor whose agreement ended
		SELECT pg_catalog.bool_or(g.approved_at IS NOT NULL)
		       AND NOT pg_catalog.bool_or(g.approved_at IS NOT NULL AND g.revoked_at IS NULL
		                                  AND g.valid_from <= pg_catalog.now()
		                                  AND g.valid_until > pg_catalog.now()),
		       pg_catalog.max(LEAST(g.revoked_at, g.valid_until))
		  INTO processor_ended, processor_end
		  FROM childguard.access_grant g
		 WHERE g.processor AND g.grantee_role::oid = t.owner;
		RETURN QUERY EXECUTE pg_catalog.format($q$
			WITH present AS (
			        SELECT DISTINCT x.%1$I::text AS child_id FROM %5$s%2$s x
			         WHERE (%3$s)
			           AND ($1 IS NULL OR x.%1$I = ANY ($1::%4$s[]))),
			     kids AS (
			        SELECT c.* FROM present p JOIN childguard._child_open c /* part 60 */ ON c.child_id = p.child_id
			         WHERE EXISTS (SELECT 1 FROM childguard.data_key k
			                        WHERE k.subject_no = c.subject_no
			                          AND k.key_version = c.key_version
			                          AND k.wrapped_key IS NOT NULL)),
			     pur AS (SELECT p.* FROM childguard.purpose p WHERE p.categories OPERATOR(pg_catalog.&&) $2),
			     w AS (  -- the last word of each kind of giver (src/consent/consent.c)
			        SELECT DISTINCT ON (k.subject_no, k.purpose_id, k.giver_kind)
			               k.subject_no, k.purpose_id, k.giver_kind,
			               CASE WHEN k.withdrawn_at IS NOT NULL OR k.lapsed_at IS NOT NULL THEN 'none'
			                    ELSE k.decision END AS word,
			               GREATEST(k.given_at, k.withdrawn_at, k.lapsed_at) AS said_at,
			               k.informed_guardian_id IS NOT NULL AS informed
			          FROM childguard.consent k
			          JOIN kids ON kids.subject_no = k.subject_no
			          JOIN pur ON pur.purpose_id = k.purpose_id
			         ORDER BY k.subject_no, k.purpose_id, k.giver_kind,
			                  GREATEST(k.given_at, k.withdrawn_at, k.lapsed_at) DESC,
			                  (k.withdrawn_at IS NOT NULL OR k.lapsed_at IS NOT NULL) DESC,
			                  k.consent_id DESC),
			     st AS (
			        SELECT kids.subject_no, pur.purpose_id,
			               coalesce(NOT (kids.in_difficulty AND pur.forbidden_in_difficulty) AND
			                 CASE WHEN childguard.child_age(kids.birth_date, CURRENT_DATE) < 14
			                           OR (kids.in_difficulty AND NOT kids.can_express)
			                      THEN g.word = 'granted'
			                           AND NOT (childguard.child_age(kids.birth_date, CURRENT_DATE) >= 14
			                                    AND coalesce(ch.word, '') = 'refused')
			                      ELSE ch.word = 'granted' AND (ch.informed OR NOT kids.in_difficulty)
			                 END, false) AS in_force,
			               coalesce(g.word = 'refused' OR ch.word = 'refused', false) AS refused,
			               GREATEST(g.said_at, ch.said_at) AS said_at
			          FROM kids CROSS JOIN pur
			          LEFT JOIN w g ON g.subject_no = kids.subject_no AND g.purpose_id = pur.purpose_id
			                       AND g.giver_kind = 'guardian'
			          LEFT JOIN w ch ON ch.subject_no = kids.subject_no AND ch.purpose_id = pur.purpose_id
			                        AND ch.giver_kind = 'child'),
			     clocks AS (
			        SELECT k.subject_no, k.purpose_id, k.retention_ends
			          FROM childguard._retention_clocks(
			                   CASE WHEN $1 IS NULL THEN NULL
			                        ELSE ARRAY(SELECT kids.subject_no FROM kids) END) k),
			     basis AS (
			        SELECT st.subject_no,
			               pg_catalog.bool_or(st.in_force) AS in_force,
			               pg_catalog.max(cl.retention_ends) FILTER (WHERE st.in_force) AS ends,
			               pg_catalog.bool_or(st.refused) AS refused,
			               pg_catalog.max(st.said_at) AS said_at
			          FROM st LEFT JOIN clocks cl
			            ON cl.subject_no = st.subject_no AND cl.purpose_id = st.purpose_id
			         GROUP BY st.subject_no)
			SELECT kids.child_id, kids.subject_no, $3::regclass, r.reason, r.due_at, $4
			  FROM kids
			  LEFT JOIN basis b ON b.subject_no = kids.subject_no
			  LEFT JOIN childguard.account_closure ac ON ac.subject_no = kids.subject_no
			  CROSS JOIN LATERAL (
			        SELECT CASE
			               WHEN kids.erased_at IS NOT NULL THEN 'child_erased'
			               WHEN ac.subject_no IS NOT NULL THEN 'account_closed'
			               WHEN $5 THEN 'processor_ended'
			               WHEN b.subject_no IS NULL THEN 'consent_withdrawn'
			               WHEN NOT b.in_force AND b.refused THEN 'consent_refused'
			               WHEN NOT b.in_force THEN 'consent_withdrawn'
			               ELSE 'retention_expired' END AS reason,
			               CASE
			               WHEN kids.erased_at IS NOT NULL THEN kids.erased_at
			               WHEN ac.subject_no IS NOT NULL THEN ac.closed_at
			               WHEN $5 THEN $6
			               WHEN b.subject_no IS NULL THEN kids.registered_at
			               WHEN NOT b.in_force THEN coalesce(b.said_at, kids.registered_at)
			               ELSE coalesce(b.ends, kids.registered_at) END AS due_at) r
			$q$, t.subject_column, t.tbl,
			     (SELECT pg_catalog.string_agg(pg_catalog.format('x.%I IS NOT NULL', col), ' OR ')
			        FROM pg_catalog.unnest(t.data_columns) col),
			     t.subject_type, t.only_kw)
		USING children, t.categories, t.tbl, coalesce((SELECT e.action FROM childguard.erasure_action e WHERE e.tbl = t.tbl), 'delete'),
		      coalesce(processor_ended, false), processor_end;
	END LOOP;
END
$$;
REVOKE ALL ON FUNCTION childguard._retention_due_rows(regclass, text[]) FROM PUBLIC;
COMMENT ON FUNCTION childguard._retention_due_rows(regclass, text[]) IS
	'Per (child, protected table) holding the child''s data: why it must be erased (child_erased, account_closed, processor_ended, consent_refused, consent_withdrawn, retention_expired), since when or from when, and the table''s erasure action.';

CREATE VIEW childguard.retention_due AS
	SELECT d.child_id, d.table_name, d.reason, d.due_at, d.action,
	       d.due_at <= pg_catalog.now() AS is_due
	  FROM childguard._retention_due_rows() d;
REVOKE ALL ON childguard.retention_due FROM PUBLIC;
COMMENT ON VIEW childguard.retention_due IS
	'Art 12, 16, 20: what expires when, why, and by which action -- per child and protected table holding its data; is_due when the sweep erases it now, else when its retention will end.';
-- ---------------------------------------------------------------------------
-- The retention sweep (Art 12; issue 11, item 2): what the retention worker
-- (src/retention/retention_worker.c) runs in each database, in steps that
-- are each their own transaction, and run_retention() runs on demand in
-- one:
--
--   1. _retention_reapply()     erasures of the ledger re-applied first
--                               (a restore from an older backup)
--   2. _retention_plan()        what is due now (retention_due, is_due)
--                               into retention_work
--   3. _retention_erase_batch() up to childguard.retention_batch_size
--                               queued (child, table) pairs: each checked
--                               again, then erased through childguard.erase()
--                               (the erasure engine: action, hooks, audit);
--                               repeated until the queue is empty
--   4. _retention_finish()      clocks restarted where nothing is left,
--                               age hooks fired, failed expiry hooks retried,
--                               the sweep recorded
--
-- Each child's erasure in one table is one call of erase() inside one
-- batch transaction, so a crash leaves a child erased in that table or
-- not at all; what a killed sweep left queued is planned again by the next.
-- One sweep at a time per database: an advisory lock on retention_work.
-- ---------------------------------------------------------------------------

CREATE TABLE childguard.retention_work (
	table_oid		oid NOT NULL,
	subject_no		bigint NOT NULL,
	child_id		text NOT NULL,
	reason			text NOT NULL,
	CONSTRAINT retention_work_pkey PRIMARY KEY (table_oid, subject_no)
);
REVOKE ALL ON childguard.retention_work FROM PUBLIC;
COMMENT ON TABLE childguard.retention_work IS
	'The running retention sweep''s queue: (table, child) pairs due for erasure, planned at the sweep''s start.';

CREATE TABLE childguard.retention_sweep (
	sweep_id		bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	started_at		timestamptz NOT NULL,
	finished_at		timestamptz NOT NULL DEFAULT pg_catalog.clock_timestamp(),
	run_by			text NOT NULL CHECK (run_by IN ('worker', 'run_retention')),
	erased			jsonb NOT NULL,		-- [{table, reason, children, rows}]
	children		bigint NOT NULL,
	rows_erased		bigint NOT NULL,
	failed			bigint NOT NULL
);
REVOKE ALL ON childguard.retention_sweep FROM PUBLIC;
SELECT pg_catalog.pg_extension_config_dump('childguard.retention_sweep', '');
SELECT pg_catalog.pg_extension_config_dump('childguard.retention_sweep_sweep_id_seq', '');
COMMENT ON TABLE childguard.retention_sweep IS
	'Every finished retention sweep: when, by the worker or run_retention(), and what it erased per table and reason.';

CREATE TABLE childguard.retention_failure (
	failure_id		bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	failed_at		timestamptz NOT NULL DEFAULT pg_catalog.clock_timestamp(),
	table_name		text NOT NULL,
	child_id		text NOT NULL,
	reason			text NOT NULL,
	sqlstate		text NOT NULL,
	message			text NOT NULL
);
REVOKE ALL ON childguard.retention_failure FROM PUBLIC;
SELECT pg_catalog.pg_extension_config_dump('childguard.retention_failure', '');
SELECT pg_catalog.pg_extension_config_dump('childguard.retention_failure_failure_id_seq', '');
COMMENT ON TABLE childguard.retention_failure IS
	'Erasures the retention sweep could not make (the erasure engine raised): reported, and tried again by the next sweep.';

-- the advisory lock that makes one sweep at a time per database
CREATE FUNCTION childguard._retention_lock_key() RETURNS integer
	LANGUAGE sql STABLE
	SET search_path = pg_catalog, pg_temp
AS $$ SELECT 'childguard.retention_work'::pg_catalog.regclass::pg_catalog.oid::integer $$;
REVOKE ALL ON FUNCTION childguard._retention_lock_key() FROM PUBLIC;
COMMENT ON FUNCTION childguard._retention_lock_key() IS
	'The advisory lock key (with 0) one retention sweep at a time holds in a database.';

-- Progress in shared memory (src/retention/retention_progress.c)
CREATE FUNCTION childguard._retention_report(phase text, tables_total integer, tables_done integer,
                                             children_done bigint, rows_erased bigint)
	RETURNS void
	LANGUAGE C VOLATILE AS 'MODULE_PATHNAME', 'cg_retention_report';
REVOKE ALL ON FUNCTION childguard._retention_report(text, integer, integer, bigint, bigint) FROM PUBLIC;
COMMENT ON FUNCTION childguard._retention_report(text, integer, integer, bigint, bigint) IS
	'The running sweep''s progress, into shared memory (phase idle: the sweep ended).';

CREATE FUNCTION childguard._retention_progress()
	RETURNS TABLE (pid integer, datid oid, run_by text, phase text, tables_total integer,
	               tables_done integer, children_done bigint, rows_erased bigint,
	               started_at timestamptz)
	LANGUAGE C VOLATILE STRICT SECURITY DEFINER
	SET search_path = pg_catalog, pg_temp
	AS 'MODULE_PATHNAME', 'cg_retention_progress';
REVOKE ALL ON FUNCTION childguard._retention_progress() FROM PUBLIC;
COMMENT ON FUNCTION childguard._retention_progress() IS
	'The retention sweeps running in the cluster, from shared memory.';

CREATE VIEW childguard.retention_progress AS
	SELECT p.pid, p.datid, d.datname, p.run_by, p.phase, p.tables_total, p.tables_done,
	       p.children_done, p.rows_erased, p.started_at
	  FROM childguard._retention_progress() p
	  LEFT JOIN pg_catalog.pg_database d ON d.oid = p.datid;
REVOKE ALL ON childguard.retention_progress FROM PUBLIC;
COMMENT ON VIEW childguard.retention_progress IS
	'Each retention sweep running now (like pg_stat_progress_*): process, database, phase, tables done of total, children done, rows erased, start.';

CREATE VIEW childguard.retention_sweeps AS
	SELECT s.sweep_id, s.started_at, s.finished_at, s.run_by, s.children, s.rows_erased,
	       s.failed, s.erased
	  FROM childguard.retention_sweep s;
REVOKE ALL ON childguard.retention_sweeps FROM PUBLIC;
COMMENT ON VIEW childguard.retention_sweeps IS
	'Finished retention sweeps and what each erased, per table and reason.';

CREATE VIEW childguard.retention_failures AS
	SELECT f.failure_id, f.failed_at, f.table_name, f.child_id, f.reason, f.sqlstate, f.message
	  FROM childguard.retention_failure f;
REVOKE ALL ON childguard.retention_failures FROM PUBLIC;
COMMENT ON VIEW childguard.retention_failures IS
	'Erasures the retention sweep could not make, with the error; the next sweep tries them again.';

-- 1. the erasure ledger first
CREATE FUNCTION childguard._retention_reapply() RETURNS integer
	LANGUAGE plpgsql SECURITY DEFINER
	SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	PERFORM childguard._retention_report('reapplying ledger', 0, 0, 0, 0);
	RETURN childguard._reapply_ledger();
END
$$;
REVOKE ALL ON FUNCTION childguard._retention_reapply() FROM PUBLIC;
COMMENT ON FUNCTION childguard._retention_reapply() IS
	'Sweep step 1: re-apply the erasures of the erasure ledger (after a restore from an older backup); returns the children erased again.';

-- 2. what is due now, queued
CREATE FUNCTION childguard._retention_plan() RETURNS bigint
	LANGUAGE plpgsql SECURITY DEFINER
	SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	n bigint;
BEGIN
	PERFORM childguard._retention_report('planning', 0, 0, 0, 0);
	DELETE FROM childguard.retention_work;
	INSERT INTO childguard.retention_work (table_oid, subject_no, child_id, reason)
	SELECT d.table_name::oid, d.subject_no, d.child_id, d.reason
	  FROM childguard._retention_due_rows() d
	 WHERE d.due_at <= pg_catalog.now();
	GET DIAGNOSTICS n = ROW_COUNT;
	PERFORM childguard._retention_report('erasing',
	        (SELECT pg_catalog.count(DISTINCT w.table_oid)::integer FROM childguard.retention_work w),
	        0, 0, 0);
	RETURN n;
END
$$;
REVOKE ALL ON FUNCTION childguard._retention_plan() FROM PUBLIC;
COMMENT ON FUNCTION childguard._retention_plan() IS
	'Sweep step 2: queue every (table, child) pair due now (retention_due) in retention_work; returns how many.';

-- One erasure in its own subtransaction, noted in the batch's result; an
-- error is reported (WARNING, retention_failures) and the batch goes on.
-- tbl NULL: the child as a whole (noted under table_oid).
CREATE FUNCTION childguard._retention_erase_one(child_id text, tbl regclass, table_oid oid, reason text)
	RETURNS void
	LANGUAGE plpgsql
	SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	n bigint;
	st text;
	msg text;
BEGIN
	BEGIN
		n := childguard.erase(child_id, tbl, reason, NULL);
		INSERT INTO pg_temp.childguard_retention_done VALUES (table_oid, reason, coalesce(n, 0), true);
	EXCEPTION WHEN OTHERS THEN
		GET STACKED DIAGNOSTICS st = RETURNED_SQLSTATE, msg = MESSAGE_TEXT;
		RAISE WARNING 'retention sweep could not erase child "%" in %: %', child_id,
			table_oid::regclass, msg
			USING DETAIL = 'The next sweep tries again; see childguard.retention_failures.';
		INSERT INTO childguard.retention_failure (table_name, child_id, reason, sqlstate, message)
		VALUES (table_oid::regclass::text, child_id, reason, st, msg);
		INSERT INTO pg_temp.childguard_retention_done VALUES (table_oid, reason, 0, false);
	END;
END
$$;
REVOKE ALL ON FUNCTION childguard._retention_erase_one(text, regclass, oid, text) FROM PUBLIC;
COMMENT ON FUNCTION childguard._retention_erase_one(text, regclass, oid, text) IS
	'Sweep step 3, one child: erase() in its own subtransaction; a failure is reported and recorded in retention_failures, and the batch goes on.';

-- 3. one batch: the pairs checked again (one query per table), then erased
CREATE FUNCTION childguard._retention_erase_batch(batch_size integer, tables_total integer DEFAULT 0,
                                                  children_before bigint DEFAULT 0,
                                                  rows_before bigint DEFAULT 0)
	RETURNS TABLE (table_name regclass, reason text, children bigint, rows_erased bigint, failed bigint)
	LANGUAGE plpgsql SECURITY DEFINER
	SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	t oid;
	w record;
	g record;
	n bigint;
	whole bigint[] := '{}';
BEGIN
	IF batch_size IS NULL OR batch_size < 1 THEN
		RAISE EXCEPTION 'invalid retention batch size %', batch_size USING ERRCODE = '22023';
	END IF;
	CREATE TEMP TABLE IF NOT EXISTS childguard_retention_picked (
		table_oid oid, subject_no bigint, child_id text) ON COMMIT DROP;
	CREATE TEMP TABLE IF NOT EXISTS childguard_retention_due (
		table_oid oid, subject_no bigint, child_id text, reason text) ON COMMIT DROP;
	CREATE TEMP TABLE IF NOT EXISTS childguard_retention_done (
		table_oid oid, reason text, erased_rows bigint, ok boolean) ON COMMIT DROP;
	-- take the batch off the queue (a crash puts it back: the transaction rolls back)
	WITH picked AS (
	        DELETE FROM childguard.retention_work q
	         WHERE (q.table_oid, q.subject_no) IN (
	                SELECT x.table_oid, x.subject_no FROM childguard.retention_work x
	                 ORDER BY x.table_oid, x.subject_no
	                 LIMIT batch_size
	                   FOR UPDATE SKIP LOCKED)
	        RETURNING q.table_oid, q.subject_no, q.child_id)
	INSERT INTO pg_temp.childguard_retention_picked SELECT * FROM picked;
	-- still due?  (a consent recorded meanwhile, a table unprotected): per table, at once
	FOR t IN SELECT DISTINCT p.table_oid FROM pg_temp.childguard_retention_picked p LOOP
		INSERT INTO pg_temp.childguard_retention_due
		SELECT t, d.subject_no, d.child_id, d.reason
		  FROM childguard._retention_due_rows(t::regclass,
		           ARRAY(SELECT p.child_id FROM pg_temp.childguard_retention_picked p WHERE p.table_oid = t)) d
		 WHERE d.due_at <= pg_catalog.now();
	END LOOP;
	-- a closed account or an erased child: erased as a whole (data key
	-- destroyed, a ledger line), every table at once, child by child
	FOR w IN SELECT * FROM pg_temp.childguard_retention_due d
	          WHERE d.reason IN ('account_closed', 'child_erased')
	          ORDER BY d.subject_no, d.table_oid LOOP
		-- erased as a whole earlier in this batch: nothing is left of it
		CONTINUE WHEN w.subject_no = ANY (whole);
		whole := whole || w.subject_no;
		PERFORM childguard._retention_erase_one(w.child_id, NULL, w.table_oid, w.reason);
	END LOOP;
	-- the others per table and reason, all children at once (erase_batch():
	-- one DELETE or UPDATE, an erasure_log row and the hooks per child); if
	-- that fails, child by child, so one child's trouble holds up no other
	FOR g IN SELECT d.table_oid, d.reason,
	                pg_catalog.array_agg(d.child_id ORDER BY d.subject_no) AS ids
	           FROM pg_temp.childguard_retention_due d
	          WHERE d.reason NOT IN ('account_closed', 'child_erased')
	            AND NOT (d.subject_no = ANY (whole))
	          GROUP BY d.table_oid, d.reason
	          ORDER BY d.table_oid, d.reason LOOP
		BEGIN
			n := childguard.erase_batch(g.ids, g.table_oid::regclass, g.reason, NULL);
			INSERT INTO pg_temp.childguard_retention_done
			SELECT g.table_oid, g.reason, CASE WHEN u.o = 1 THEN coalesce(n, 0) ELSE 0 END, true
			  FROM pg_catalog.unnest(g.ids) WITH ORDINALITY u(id, o);
		EXCEPTION WHEN OTHERS THEN
			PERFORM childguard._retention_erase_one(u.id, g.table_oid::regclass, g.table_oid, g.reason)
			   FROM pg_catalog.unnest(g.ids) WITH ORDINALITY u(id, o) ORDER BY u.o;
		END;
	END LOOP;
	RETURN QUERY
		SELECT d.table_oid::regclass, d.reason,
		       pg_catalog.count(*) FILTER (WHERE d.ok), pg_catalog.sum(d.erased_rows)::bigint,
		       pg_catalog.count(*) FILTER (WHERE NOT d.ok)
		  FROM pg_temp.childguard_retention_done d
		 GROUP BY d.table_oid, d.reason
		 ORDER BY d.table_oid, d.reason;
	PERFORM childguard._retention_report('erasing', tables_total,
	        tables_total - (SELECT pg_catalog.count(DISTINCT q.table_oid)::integer
	                          FROM childguard.retention_work q),
	        children_before + (SELECT pg_catalog.count(*) FROM pg_temp.childguard_retention_done d WHERE d.ok),
	        rows_before + (SELECT coalesce(pg_catalog.sum(d.erased_rows), 0)::bigint
	                         FROM pg_temp.childguard_retention_done d));
	DROP TABLE pg_temp.childguard_retention_picked, pg_temp.childguard_retention_due,
	           pg_temp.childguard_retention_done;
END
$$;
REVOKE ALL ON FUNCTION childguard._retention_erase_batch(integer, integer, bigint, bigint) FROM PUBLIC;
COMMENT ON FUNCTION childguard._retention_erase_batch(integer, integer, bigint, bigint) IS
	'Sweep step 3: take up to batch_size (table, child) pairs off the queue, check again which are still due (one query per table), and erase those through childguard.erase_batch() per table and reason (childguard.erase() child by child if that fails, and for children erased as a whole); returns what it erased per table and reason.';

-- 4. clocks restarted where nothing is left; hooks; the sweep recorded
CREATE FUNCTION childguard._retention_finish(run_by text, started_at timestamptz, erased jsonb)
	RETURNS void
	LANGUAGE plpgsql SECURITY DEFINER
	SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	PERFORM childguard._retention_report('finishing', 0, 0, 0, 0);
	-- a clock whose retention ended restarts once nothing of the child is
	-- left in any protected table sharing a category with the purpose:
	-- consents granted from the instant it ended start the new one
	INSERT INTO childguard.retention_restart AS r (subject_no, purpose_id, restarted_at)
	SELECT k.subject_no, k.purpose_id, k.retention_ends
	  FROM childguard._retention_clocks() k
	  JOIN childguard.purpose p ON p.purpose_id = k.purpose_id
	 WHERE k.retention_ends <= pg_catalog.now()
	   AND (k.restarted_at IS NULL OR k.restarted_at < k.retention_ends)
	   AND NOT EXISTS (SELECT 1 FROM childguard._retention_due_rows() d
	                     JOIN childguard._retention_tables() t ON t.tbl = d.table_name
	                    WHERE d.subject_no = k.subject_no
	                      AND t.categories OPERATOR(pg_catalog.&&) p.categories)
	ON CONFLICT (subject_no, purpose_id) DO UPDATE SET restarted_at = excluded.restarted_at;
	PERFORM childguard._retention_report('age hooks', 0, 0, 0, 0);
	PERFORM childguard._fire_age_hooks();
	PERFORM childguard._retention_report('retrying hooks', 0, 0, 0, 0);
	PERFORM childguard.retry_expiry_hooks();
	-- the worker's sweeps that found nothing to do are not recorded (one a minute)
	IF run_by = 'worker' AND coalesce(pg_catalog.jsonb_array_length(erased), 0) = 0 THEN
		RETURN;
	END IF;
	INSERT INTO childguard.retention_sweep (started_at, run_by, erased, children, rows_erased, failed)
	SELECT _retention_finish.started_at, run_by, coalesce(erased, '[]'),
	       coalesce((SELECT pg_catalog.sum((e->>'children')::bigint) FROM pg_catalog.jsonb_array_elements(erased) e), 0),
	       coalesce((SELECT pg_catalog.sum((e->>'rows_erased')::bigint) FROM pg_catalog.jsonb_array_elements(erased) e), 0),
	       coalesce((SELECT pg_catalog.sum((e->>'failed')::bigint) FROM pg_catalog.jsonb_array_elements(erased) e), 0);
END
$$;
REVOKE ALL ON FUNCTION childguard._retention_finish(text, timestamptz, jsonb) FROM PUBLIC;
COMMENT ON FUNCTION childguard._retention_finish(text, timestamptz, jsonb) IS
	'Sweep step 4: restart the retention clocks with nothing left, fire the age hooks, retry failed expiry hooks, record the sweep.';

CREATE FUNCTION childguard.run_retention()
	RETURNS TABLE (table_name regclass, reason text, children bigint, rows_erased bigint, failed bigint)
	LANGUAGE plpgsql SECURITY DEFINER
	SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	started timestamptz := pg_catalog.clock_timestamp();
	b record;
	tables_total integer;
	done_children bigint := 0;
	done_rows bigint := 0;
	got boolean;
	erased jsonb;
BEGIN
	IF NOT (childguard._caller_is_owner() OR childguard._caller_is_officer()) THEN
		RAISE EXCEPTION 'permission denied to run the retention sweep'
			USING ERRCODE = '42501',
			      DETAIL = 'The retention sweep is run by a protection officer or the extension''s owner.';
	END IF;
	IF NOT pg_catalog.pg_try_advisory_xact_lock(childguard._retention_lock_key(), 0) THEN
		RAISE EXCEPTION 'a retention sweep is already running in this database'
			USING ERRCODE = 'ZC302',
			      DETAIL = 'One sweep at a time erases a database''s due data.',
			      HINT = 'See childguard.retention_progress; try again when it has finished.';
	END IF;
	CREATE TEMP TABLE IF NOT EXISTS childguard_retention_result (
		table_name regclass, reason text, children bigint, rows_erased bigint, failed bigint) ON COMMIT DROP;
	PERFORM childguard._retention_reapply();
	PERFORM childguard._retention_plan();
	tables_total := (SELECT pg_catalog.count(DISTINCT w.table_oid) FROM childguard.retention_work w);
	LOOP
		got := false;
		FOR b IN SELECT * FROM childguard._retention_erase_batch(
		             pg_catalog.current_setting('childguard.retention_batch_size')::integer,
		             tables_total, done_children, done_rows) LOOP
			got := true;
			INSERT INTO pg_temp.childguard_retention_result VALUES (b.table_name, b.reason, b.children, b.rows_erased, b.failed);
			done_children := done_children + b.children;
			done_rows := done_rows + b.rows_erased;
		END LOOP;
		EXIT WHEN NOT got AND NOT EXISTS (SELECT 1 FROM childguard.retention_work);
	END LOOP;
	SELECT pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object('table', r.table_name::text, 'reason', r.reason,
	       'children', r.children, 'rows_erased', r.rows_erased, 'failed', r.failed)
	       ORDER BY r.table_name::text, r.reason)
	  INTO erased
	  FROM (SELECT x.table_name, x.reason, pg_catalog.sum(x.children)::bigint AS children,
	               pg_catalog.sum(x.rows_erased)::bigint AS rows_erased, pg_catalog.sum(x.failed)::bigint AS failed
	          FROM pg_temp.childguard_retention_result x GROUP BY x.table_name, x.reason) r;
	PERFORM childguard._retention_finish('run_retention', started, erased);
	PERFORM childguard._retention_report('idle', 0, 0, 0, 0);
	RETURN QUERY
		SELECT x.table_name, x.reason, pg_catalog.sum(x.children)::bigint,
		       pg_catalog.sum(x.rows_erased)::bigint, pg_catalog.sum(x.failed)::bigint
		  FROM pg_temp.childguard_retention_result x
		 GROUP BY x.table_name, x.reason
		 ORDER BY x.table_name::text, x.reason;
	DROP TABLE pg_temp.childguard_retention_result;
END
$$;
REVOKE ALL ON FUNCTION childguard.run_retention() FROM PUBLIC;
COMMENT ON FUNCTION childguard.run_retention() IS
	'Art 12: sweep now, in this transaction (an officer or the owner): re-apply the erasure ledger, erase every (child, table) pair due (retention_due) through childguard.erase(), restart clocks, fire age hooks, retry failed hooks; returns per table and reason the children erased, the rows, and the failures.';
-- ---------------------------------------------------------------------------
-- Who may use the retention functions and views: close_account() for
-- enrolled applications (and officers, who have every application
-- function); run_retention() and the retention views (with the functions
-- they call, which read as the extension's owner) for officers.
--
-- The lists are extended, not rewritten: each list function is recreated
-- with what it held before this part plus ours, so parts of other
-- capabilities that extend the same lists compose in any order.
-- ---------------------------------------------------------------------------

DO $lists$
DECLARE
	app text;
	off text;
	views text;
BEGIN
	SELECT pg_catalog.string_agg(pg_catalog.quote_literal(pg_catalog.format('%I.%I(%s)', n.nspname, p.proname,
	                             pg_catalog.oidvectortypes(p.proargtypes))), ', ' ORDER BY x.ord)
	  INTO app
	  FROM pg_catalog.unnest(childguard._application_functions()
	                         || 'childguard.close_account(text, text)'::pg_catalog.regprocedure)
	       WITH ORDINALITY x(f, ord)
	  JOIN pg_catalog.pg_proc p ON p.oid = x.f
	  JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace;
	EXECUTE pg_catalog.format($f$CREATE OR REPLACE FUNCTION childguard._application_functions()
		RETURNS regprocedure[] LANGUAGE sql IMMUTABLE
		AS 'SELECT ARRAY[%s]::pg_catalog.regprocedure[]'$f$, pg_catalog.replace(app, '''', ''''''));

	-- the officer list ends with "|| _application_functions()": keep that,
	-- add run_retention() to its own part
	SELECT pg_catalog.string_agg(pg_catalog.quote_literal(pg_catalog.format('%I.%I(%s)', n.nspname, p.proname,
	                             pg_catalog.oidvectortypes(p.proargtypes))), ', ' ORDER BY x.ord)
	  INTO off
	  FROM pg_catalog.unnest(ARRAY(SELECT f FROM pg_catalog.unnest(childguard._officer_functions()) f
	                                WHERE f <> ALL (childguard._application_functions()))
	                         || ARRAY['childguard.run_retention()',
	                                  -- what the officers' retention views call
	                                  'childguard._retention_due_rows(regclass, text[])',
	                                  'childguard._retention_clocks(bigint[])',
	                                  'childguard._retention_progress()']::pg_catalog.regprocedure[])
	       WITH ORDINALITY x(f, ord)
	  JOIN pg_catalog.pg_proc p ON p.oid = x.f
	  JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace;
	EXECUTE pg_catalog.format($f$CREATE OR REPLACE FUNCTION childguard._officer_functions()
		RETURNS regprocedure[] LANGUAGE sql IMMUTABLE
		AS 'SELECT ARRAY[%s]::pg_catalog.regprocedure[] || childguard._application_functions()'$f$,
		pg_catalog.replace(off, '''', ''''''));

	SELECT pg_catalog.string_agg(pg_catalog.quote_literal(pg_catalog.format('%I.%I', n.nspname, c.relname)),
	                             ', ' ORDER BY x.ord)
	  INTO views
	  FROM pg_catalog.unnest(childguard._officer_views()
	                         || ARRAY['childguard.retention_due', 'childguard.retention_clocks',
	                                  'childguard.retention_progress', 'childguard.retention_sweeps',
	                                  'childguard.retention_failures']::pg_catalog.regclass[])
	       WITH ORDINALITY x(v, ord)
	  JOIN pg_catalog.pg_class c ON c.oid = x.v
	  JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace;
	EXECUTE pg_catalog.format($f$CREATE OR REPLACE FUNCTION childguard._officer_views()
		RETURNS regclass[] LANGUAGE sql IMMUTABLE
		AS 'SELECT ARRAY[%s]::pg_catalog.regclass[]'$f$, pg_catalog.replace(views, '''', ''''''));
END
$lists$;

-- the roles already appointed or enrolled get them, in the order they were
-- appointed or enrolled (as on a fresh install where the same calls were made)
DO $grant$
DECLARE
	x record;
BEGIN
	FOR x IN SELECT s.r, s.officer FROM (
	             SELECT o.role::oid AS r, true AS officer, o.appointed_at AS at, o.ctid AS c
	               FROM childguard.officer o WHERE o.role IS NOT NULL
	             UNION ALL
	             SELECT e.role::oid, false, e.enrolled_at, e.ctid FROM childguard.enrollment e) s
	          ORDER BY s.at, s.officer DESC, s.c LOOP
		IF x.officer THEN
			PERFORM childguard._grant_officer_privileges(x.r);
		ELSE
			PERFORM childguard._grant_duties(x.r);
		END IF;
	END LOOP;
END
$grant$;
-- ---------------------------------------------------------------------------
-- The duty the retention worker enforces, for the compliance report:
-- Provisions Art 12 -- nothing is stored past its retention (or once it has
-- otherwise lost its lawful basis, Art 16, 20).  Checked live: no table
-- holding child data is outside the sweep (unprotected: by unprotect(), or
-- its row security switched off by its owner); nothing in retention_due has
-- been due for longer than the worker needs to reach it (two intervals, at
-- least a minute); with the worker off (childguard.retention_interval = 0),
-- nothing may be due at all.
-- ---------------------------------------------------------------------------

CREATE FUNCTION childguard.duty_retention_enforced()
	RETURNS TABLE (pass boolean, reason text, objects text[])
	LANGUAGE plpgsql STABLE SECURITY DEFINER
	SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	interval_s integer := pg_catalog.current_setting('childguard.retention_interval')::integer;
	grace interval;
	overdue text[];
	n bigint;
	t record;
	held boolean;
	outside text[] := '{}';
BEGIN
	grace := CASE WHEN interval_s = 0 THEN interval '0'
	              ELSE GREATEST(pg_catalog.make_interval(secs => 2 * interval_s), interval '1 minute') END;
	-- a table holding child data outside the sweep: not (or no longer) protected
	FOR t IN SELECT DISTINCT pc.table_name, pg_catalog.array_agg(pc.column_name) AS cols
	           FROM childguard.protected_columns pc
	          WHERE NOT pc.is_protected
	          GROUP BY pc.table_name
	          ORDER BY 1 LOOP
		EXECUTE pg_catalog.format('SELECT EXISTS (SELECT 1 FROM %s x WHERE %s)', t.table_name,
		        (SELECT pg_catalog.string_agg(pg_catalog.format('x.%I IS NOT NULL', c), ' OR ')
		           FROM pg_catalog.unnest(t.cols) c))
		   INTO held;
		IF held THEN
			outside := outside || t.table_name::text;
		END IF;
	END LOOP;
	IF pg_catalog.cardinality(outside) > 0 THEN
		RETURN QUERY SELECT false,
			pg_catalog.format('%s table(s) hold child data but are not protected, so the retention sweep cannot reach them: %s.',
			                  pg_catalog.cardinality(outside), pg_catalog.array_to_string(outside, ', ')),
			outside;
		RETURN;
	END IF;
	SELECT pg_catalog.count(*),
	       (pg_catalog.array_agg(pg_catalog.format('%s in %s (%s since %s)', d.child_id, d.table_name,
	                                               d.reason, d.due_at) ORDER BY d.due_at, d.child_id))[1:20]
	  INTO n, overdue
	  FROM childguard._retention_due_rows() d
	 WHERE d.due_at <= pg_catalog.now() - grace;
	IF n = 0 THEN
		RETURN QUERY SELECT true,
			CASE WHEN interval_s = 0
			     THEN 'Nothing stored has lost its lawful basis (the retention worker is off: childguard.retention_interval = 0; run childguard.run_retention() or turn it on).'
			     ELSE pg_catalog.format('Nothing stored has been past its retention, or without lawful basis, for longer than %s (the retention worker sweeps every %s seconds).', grace, interval_s) END,
			'{}'::text[];
	ELSE
		RETURN QUERY SELECT false,
			pg_catalog.format('%s child-table pair(s) hold data past its retention or lawful basis%s.', n,
			                  CASE WHEN interval_s = 0 THEN ' and the retention worker is off (childguard.retention_interval = 0)'
			                       ELSE pg_catalog.format(' for longer than %s', grace) END),
			overdue;
	END IF;
END
$$;
REVOKE ALL ON FUNCTION childguard.duty_retention_enforced() FROM PUBLIC;
COMMENT ON FUNCTION childguard.duty_retention_enforced() IS
	'Compliance duty (Provisions Art 12): no table holding child data is outside the retention sweep (unprotected), and nothing in childguard.retention_due has been due for longer than the retention worker needs (two intervals, at least a minute; with the worker off, nothing may be due). One row: pass, why, and the tables or overdue child-table pairs at fault (at most 20).';

INSERT INTO childguard.compliance_duty VALUES
	('retention_enforced', 'Provisions Art 12 (also Art 16, 20)',
	 'No child data is stored past its purpose''s retention (counted from the first collection) or after its lawful basis ended (consent withdrawn or refused, account closed, child erased, processor agreement ended): every table holding child data is within the sweep (protected), and nothing in retention_due is overdue for the retention worker.',
	 'childguard.duty_retention_enforced()'::regprocedure, 'sql/retention.sql');
-------------------------------------------------------------------------------
-- Part 40: queries on child_data (issue 13, item 1): ordering, hashing and
-- LIKE/ILIKE, each compared value a decided, audited read
-- (src/enforce/child_data_compare.c, docs/security.md "Queries on child
-- data").  A value the reader may not see is an error, never an operand.
-------------------------------------------------------------------------------

CREATE FUNCTION childguard.child_data_cmp(childguard.child_data, childguard.child_data)
	RETURNS integer
	LANGUAGE C STABLE STRICT PARALLEL RESTRICTED AS 'MODULE_PATHNAME';
COMMENT ON FUNCTION childguard.child_data_cmp(childguard.child_data, childguard.child_data) IS
	'btree comparison of two values by plaintext (byte order, as COLLATE "C"); reads both, so both must be readable by the statement, else an error';
CREATE FUNCTION childguard.child_data_sortsupport(internal)
	RETURNS void
	LANGUAGE C STRICT PARALLEL RESTRICTED AS 'MODULE_PATHNAME';
COMMENT ON FUNCTION childguard.child_data_sortsupport(internal) IS
	'sort support for child_data: each value decrypted once (a decided, audited read) into an abbreviated key kept in the sort''s memory; ties decrypted again';
CREATE FUNCTION childguard.child_data_lt(childguard.child_data, childguard.child_data)
	RETURNS boolean
	LANGUAGE C STABLE STRICT PARALLEL RESTRICTED AS 'MODULE_PATHNAME';
COMMENT ON FUNCTION childguard.child_data_lt(childguard.child_data, childguard.child_data) IS
	'implementation of < on child_data (reads both values)';
CREATE FUNCTION childguard.child_data_le(childguard.child_data, childguard.child_data)
	RETURNS boolean
	LANGUAGE C STABLE STRICT PARALLEL RESTRICTED AS 'MODULE_PATHNAME';
COMMENT ON FUNCTION childguard.child_data_le(childguard.child_data, childguard.child_data) IS
	'implementation of <= on child_data (reads both values)';
CREATE FUNCTION childguard.child_data_gt(childguard.child_data, childguard.child_data)
	RETURNS boolean
	LANGUAGE C STABLE STRICT PARALLEL RESTRICTED AS 'MODULE_PATHNAME';
COMMENT ON FUNCTION childguard.child_data_gt(childguard.child_data, childguard.child_data) IS
	'implementation of > on child_data (reads both values)';
CREATE FUNCTION childguard.child_data_ge(childguard.child_data, childguard.child_data)
	RETURNS boolean
	LANGUAGE C STABLE STRICT PARALLEL RESTRICTED AS 'MODULE_PATHNAME';
COMMENT ON FUNCTION childguard.child_data_ge(childguard.child_data, childguard.child_data) IS
	'implementation of >= on child_data (reads both values)';
CREATE FUNCTION childguard.child_data_smaller(childguard.child_data, childguard.child_data)
	RETURNS childguard.child_data
	LANGUAGE C STABLE STRICT PARALLEL RESTRICTED AS 'MODULE_PATHNAME';
COMMENT ON FUNCTION childguard.child_data_smaller(childguard.child_data, childguard.child_data) IS
	'the smaller of two values, for min() (reads both values)';
CREATE FUNCTION childguard.child_data_larger(childguard.child_data, childguard.child_data)
	RETURNS childguard.child_data
	LANGUAGE C STABLE STRICT PARALLEL RESTRICTED AS 'MODULE_PATHNAME';
COMMENT ON FUNCTION childguard.child_data_larger(childguard.child_data, childguard.child_data) IS
	'the larger of two values, for max() (reads both values)';
CREATE FUNCTION childguard.child_data_hash(childguard.child_data)
	RETURNS integer
	LANGUAGE C STABLE STRICT PARALLEL RESTRICTED AS 'MODULE_PATHNAME';
COMMENT ON FUNCTION childguard.child_data_hash(childguard.child_data) IS
	'hash of the plaintext under a random key of this backend (for hash aggregation and hash joins; never stored); reads the value';
CREATE FUNCTION childguard.child_data_hash_extended(childguard.child_data, bigint)
	RETURNS bigint
	LANGUAGE C STABLE STRICT PARALLEL RESTRICTED AS 'MODULE_PATHNAME';
COMMENT ON FUNCTION childguard.child_data_hash_extended(childguard.child_data, bigint) IS
	'seeded 64-bit hash of the plaintext under a random key of this backend; reads the value';
CREATE FUNCTION childguard.child_data_like(childguard.child_data, text)
	RETURNS boolean
	LANGUAGE C STABLE STRICT PARALLEL RESTRICTED AS 'MODULE_PATHNAME';
COMMENT ON FUNCTION childguard.child_data_like(childguard.child_data, text) IS
	'implementation of LIKE on child_data (reads the value)';
CREATE FUNCTION childguard.child_data_notlike(childguard.child_data, text)
	RETURNS boolean
	LANGUAGE C STABLE STRICT PARALLEL RESTRICTED AS 'MODULE_PATHNAME';
COMMENT ON FUNCTION childguard.child_data_notlike(childguard.child_data, text) IS
	'implementation of NOT LIKE on child_data (reads the value)';
CREATE FUNCTION childguard.child_data_ilike(childguard.child_data, text)
	RETURNS boolean
	LANGUAGE C STABLE STRICT PARALLEL RESTRICTED AS 'MODULE_PATHNAME';
COMMENT ON FUNCTION childguard.child_data_ilike(childguard.child_data, text) IS
	'implementation of ILIKE on child_data (reads the value)';
CREATE FUNCTION childguard.child_data_notilike(childguard.child_data, text)
	RETURNS boolean
	LANGUAGE C STABLE STRICT PARALLEL RESTRICTED AS 'MODULE_PATHNAME';
COMMENT ON FUNCTION childguard.child_data_notilike(childguard.child_data, text) IS
	'implementation of NOT ILIKE on child_data (reads the value)';
CREATE FUNCTION childguard.child_data_analyze(internal)
	RETURNS boolean
	LANGUAGE C STRICT AS 'MODULE_PATHNAME';
COMMENT ON FUNCTION childguard.child_data_analyze(internal) IS
	'ANALYZE of a child_data column: null fraction and width only, so pg_statistic holds no value, order or frequency of child data';

-- In pg_catalog, as = and <> are, so they resolve whatever the search_path.
CREATE OPERATOR pg_catalog.< (
	LEFTARG = childguard.child_data, RIGHTARG = childguard.child_data,
	FUNCTION = childguard.child_data_lt,
	COMMUTATOR = OPERATOR(pg_catalog.>), NEGATOR = OPERATOR(pg_catalog.>=),
	RESTRICT = scalarltsel, JOIN = scalarltjoinsel
);
CREATE OPERATOR pg_catalog.<= (
	LEFTARG = childguard.child_data, RIGHTARG = childguard.child_data,
	FUNCTION = childguard.child_data_le,
	COMMUTATOR = OPERATOR(pg_catalog.>=), NEGATOR = OPERATOR(pg_catalog.>),
	RESTRICT = scalarlesel, JOIN = scalarlejoinsel
);
CREATE OPERATOR pg_catalog.> (
	LEFTARG = childguard.child_data, RIGHTARG = childguard.child_data,
	FUNCTION = childguard.child_data_gt,
	COMMUTATOR = OPERATOR(pg_catalog.<), NEGATOR = OPERATOR(pg_catalog.<=),
	RESTRICT = scalargtsel, JOIN = scalargtjoinsel
);
CREATE OPERATOR pg_catalog.>= (
	LEFTARG = childguard.child_data, RIGHTARG = childguard.child_data,
	FUNCTION = childguard.child_data_ge,
	COMMUTATOR = OPERATOR(pg_catalog.<=), NEGATOR = OPERATOR(pg_catalog.<),
	RESTRICT = scalargesel, JOIN = scalargejoinsel
);
COMMENT ON OPERATOR pg_catalog.< (childguard.child_data, childguard.child_data) IS
	'less than, by plaintext; reads both values, so both must be readable by the statement';
COMMENT ON OPERATOR pg_catalog.<= (childguard.child_data, childguard.child_data) IS
	'less than or equal, by plaintext; reads both values, so both must be readable by the statement';
COMMENT ON OPERATOR pg_catalog.> (childguard.child_data, childguard.child_data) IS
	'greater than, by plaintext; reads both values, so both must be readable by the statement';
COMMENT ON OPERATOR pg_catalog.>= (childguard.child_data, childguard.child_data) IS
	'greater than or equal, by plaintext; reads both values, so both must be readable by the statement';
COMMENT ON OPERATOR pg_catalog.<> (childguard.child_data, childguard.child_data) IS
	'not equal plaintext; reads both values, so it needs a declared purpose';

CREATE OPERATOR pg_catalog.~~ (
	LEFTARG = childguard.child_data, RIGHTARG = text,
	FUNCTION = childguard.child_data_like, NEGATOR = OPERATOR(pg_catalog.!~~)
);
CREATE OPERATOR pg_catalog.!~~ (
	LEFTARG = childguard.child_data, RIGHTARG = text,
	FUNCTION = childguard.child_data_notlike, NEGATOR = OPERATOR(pg_catalog.~~)
);
CREATE OPERATOR pg_catalog.~~* (
	LEFTARG = childguard.child_data, RIGHTARG = text,
	FUNCTION = childguard.child_data_ilike, NEGATOR = OPERATOR(pg_catalog.!~~*)
);
CREATE OPERATOR pg_catalog.!~~* (
	LEFTARG = childguard.child_data, RIGHTARG = text,
	FUNCTION = childguard.child_data_notilike, NEGATOR = OPERATOR(pg_catalog.~~*)
);
COMMENT ON OPERATOR pg_catalog.~~ (childguard.child_data, text) IS
	'LIKE on the plaintext; reads the value, so it must be readable by the statement';
COMMENT ON OPERATOR pg_catalog.!~~ (childguard.child_data, text) IS
	'NOT LIKE on the plaintext; reads the value, so it must be readable by the statement';
COMMENT ON OPERATOR pg_catalog.~~* (childguard.child_data, text) IS
	'ILIKE on the plaintext; reads the value, so it must be readable by the statement';
COMMENT ON OPERATOR pg_catalog.!~~* (childguard.child_data, text) IS
	'NOT ILIKE on the plaintext; reads the value, so it must be readable by the statement';

-- = may drive merge and hash joins (CREATE OPERATOR in 1.0 did not say so;
-- ALTER OPERATOR cannot in PostgreSQL 15)
UPDATE pg_catalog.pg_operator SET oprcanmerge = true, oprcanhash = true
 WHERE oid = 'pg_catalog.=(childguard.child_data, childguard.child_data)'::pg_catalog.regoperator;

CREATE OPERATOR CLASS childguard.child_data_ops
	DEFAULT FOR TYPE childguard.child_data USING btree AS
	OPERATOR 1 pg_catalog.<,
	OPERATOR 2 pg_catalog.<=,
	OPERATOR 3 pg_catalog.=,
	OPERATOR 4 pg_catalog.>=,
	OPERATOR 5 pg_catalog.>,
	FUNCTION 1 childguard.child_data_cmp(childguard.child_data, childguard.child_data),
	FUNCTION 2 childguard.child_data_sortsupport(internal);
COMMENT ON OPERATOR CLASS childguard.child_data_ops USING btree IS
	'Ordering of child_data by plaintext (byte order, as COLLATE "C"), for ORDER BY, DISTINCT, GROUP BY, merge joins, min() and max(); indexes on child_data stay refused';
COMMENT ON OPERATOR FAMILY childguard.child_data_ops USING btree IS
	'Ordering of child_data by plaintext (childguard.child_data_ops)';
CREATE OPERATOR CLASS childguard.child_data_hash_ops
	DEFAULT FOR TYPE childguard.child_data USING hash AS
	OPERATOR 1 pg_catalog.=,
	FUNCTION 1 childguard.child_data_hash(childguard.child_data),
	FUNCTION 2 childguard.child_data_hash_extended(childguard.child_data, bigint);
COMMENT ON OPERATOR CLASS childguard.child_data_hash_ops USING hash IS
	'Hashing of child_data by plaintext under a per-backend key, for hash aggregation and hash joins; indexes on child_data stay refused';
COMMENT ON OPERATOR FAMILY childguard.child_data_hash_ops USING hash IS
	'Hashing of child_data by plaintext (childguard.child_data_hash_ops)';

CREATE AGGREGATE pg_catalog.min(childguard.child_data) (
	SFUNC = childguard.child_data_smaller, STYPE = childguard.child_data,
	SORTOP = OPERATOR(pg_catalog.<), PARALLEL = RESTRICTED
);
COMMENT ON AGGREGATE pg_catalog.min(childguard.child_data) IS
	'the smallest value by plaintext; reads every value, so every one must be readable by the statement';
CREATE AGGREGATE pg_catalog.max(childguard.child_data) (
	SFUNC = childguard.child_data_larger, STYPE = childguard.child_data,
	SORTOP = OPERATOR(pg_catalog.>), PARALLEL = RESTRICTED
);
COMMENT ON AGGREGATE pg_catalog.max(childguard.child_data) IS
	'the largest value by plaintext; reads every value, so every one must be readable by the statement';

-- an operator class would have ANALYZE keep values (a histogram and the most
-- common values, ordered and counted by plaintext) in pg_statistic: not ours
ALTER TYPE childguard.child_data SET (ANALYZE = childguard.child_data_analyze);
-------------------------------------------------------------------------------
-- Part 41: DDL that would leave a protected table unprotected is refused
-- (issue 13, item 4; src/enforce/protection_guard.c, docs/security.md
-- "Schema changes that would unprotect a table").  unprotect() is the one
-- way to remove the protection on purpose: it says so first.
-------------------------------------------------------------------------------

CREATE FUNCTION childguard._unprotect_begin(tbl regclass) RETURNS void
	LANGUAGE C STRICT VOLATILE AS 'MODULE_PATHNAME', 'cg_unprotect_begin';
COMMENT ON FUNCTION childguard._unprotect_begin(regclass) IS
	'Internal, called by unprotect(): the current statement removes the table''s protection on purpose, so the DDL guard lets it (the table''s owner only).';

CREATE OR REPLACE FUNCTION childguard.unprotect(tbl regclass) RETURNS void
	LANGUAGE plpgsql
	SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	PERFORM childguard._unprotect_begin(tbl);
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
	'Remove the seal, DELETE and TRUNCATE triggers and the row policies, on purpose (other DDL that would do so is refused with ZC400).  Stored values stay encrypted and still decrypt only when allowed; the table then refuses new child data until protected again. Run as the table''s owner.';
-- ---------------------------------------------------------------------------
-- Bulk-copy limits that mean something (issue 13, item 2): distinct
-- children per grant per hour and per day, set on the grant by an officer,
-- counted in shared memory across statements, cursors and sessions
-- (src/consent/grant_windows.c).  NULL: no limit.  The per-statement
-- max_children stays, as a limit a grant may set; its server-wide default
-- (childguard.max_children_per_statement) is now 0, no limit.
-- ---------------------------------------------------------------------------

ALTER TABLE childguard.access_grant
	ADD COLUMN max_children_per_hour integer
		CONSTRAINT access_grant_per_hour_check CHECK (max_children_per_hour > 0),
	ADD COLUMN max_children_per_day integer
		CONSTRAINT access_grant_per_day_check CHECK (max_children_per_day > 0);
COMMENT ON COLUMN childguard.access_grant.max_children_per_hour IS
	'Art 15: distinct children the grant may read in one hour (UTC), across all its statements and sessions; NULL: no limit. Set by an officer with set_grant_limits().';
COMMENT ON COLUMN childguard.access_grant.max_children_per_day IS
	'Art 15: distinct children the grant may read in one day (UTC), across all its statements and sessions; NULL: no limit. Set by an officer with set_grant_limits().';
COMMENT ON COLUMN childguard.access_grant.max_children IS
	'Distinct children one statement may read under the grant; NULL: childguard.max_children_per_statement (default 0, no limit). The hourly and daily limits are the guard against copying.';

CREATE FUNCTION childguard.set_grant_limits(grant_id bigint, per_hour integer, per_day integer)
	RETURNS void
	LANGUAGE plpgsql SECURITY DEFINER
	SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	caller_oid oid := childguard._caller_oid();
	g childguard.access_grant;
BEGIN
	PERFORM childguard._require_officer('set the limits of an access grant');
	IF per_hour IS NOT NULL AND per_hour <= 0 OR per_day IS NOT NULL AND per_day <= 0 THEN
		RAISE EXCEPTION 'invalid limit for access grant %', grant_id
			USING ERRCODE = 'ZC425',
			      DETAIL = pg_catalog.format('per_hour is %s and per_day is %s; a limit is a positive number of children.',
			                                 coalesce(per_hour::text, 'NULL'), coalesce(per_day::text, 'NULL')),
			      HINT = 'Give NULL for no limit.';
	END IF;
	IF per_hour IS NOT NULL AND per_day IS NOT NULL AND per_day < per_hour THEN
		RAISE EXCEPTION 'invalid limit for access grant %', grant_id
			USING ERRCODE = 'ZC425',
			      DETAIL = pg_catalog.format('The daily limit (%s) is below the hourly limit (%s).', per_day, per_hour),
			      HINT = 'Give a daily limit at least as high as the hourly one.';
	END IF;
	g := childguard._grant_for_update(set_grant_limits.grant_id);
	IF g.grantee_role IS NOT NULL
	   AND (pg_catalog.pg_has_role(caller_oid, g.grantee_role::oid, 'MEMBER')
	        OR (NOT coalesce((SELECT x.rolsuper FROM pg_catalog.pg_roles x
	                          WHERE x.oid = childguard._session_oid()), true)
	            AND pg_catalog.pg_has_role(childguard._session_oid(), g.grantee_role::oid, 'MEMBER'))) THEN
		RAISE EXCEPTION 'the limits of access grant % cannot be set by its grantee', grant_id
			USING ERRCODE = 'ZC112',
			      DETAIL = pg_catalog.format('Role "%s" holds the grant, or is a member of its grantee "%s".',
			                                 childguard._caller(), g.grantee),
			      HINT = 'Another protection officer must set them (Art 15: two people).';
	END IF;
	IF g.revoked_at IS NOT NULL THEN
		RAISE EXCEPTION 'access grant % is already revoked', grant_id USING ERRCODE = 'ZC113';
	END IF;
	UPDATE childguard.access_grant x
	   SET max_children_per_hour = per_hour, max_children_per_day = per_day
	 WHERE x.grant_id = set_grant_limits.grant_id;
END
$$;
REVOKE ALL ON FUNCTION childguard.set_grant_limits(bigint, integer, integer) FROM PUBLIC;
COMMENT ON FUNCTION childguard.set_grant_limits(bigint, integer, integer) IS
	'Art 15: set how many distinct children an access grant may read per hour and per day (UTC), counted across statements, cursors and sessions; NULL: no limit (officer; never the grantee or a member of it).';

-- the officers' function list grows by this function, whatever other parts
-- of this version add to it (the list is rebuilt from its current value)
DO $officer$
DECLARE
	fs text;
	x record;
BEGIN
	-- names qualified whatever the search_path (the script runs with the
	-- extension's schema first)
	SELECT pg_catalog.string_agg(pg_catalog.quote_literal(
	           pg_catalog.format('%I.%I(%s)', ns.nspname, p.proname,
	                             pg_catalog.oidvectortypes(p.proargtypes))), ', ' ORDER BY u.n) INTO fs
	  FROM pg_catalog.unnest(childguard._officer_functions()
	                         || 'childguard.set_grant_limits(bigint, integer, integer)'::regprocedure)
	       WITH ORDINALITY AS u(f, n)
	  JOIN pg_catalog.pg_proc p ON p.oid = u.f
	  JOIN pg_catalog.pg_namespace ns ON ns.oid = p.pronamespace;
	EXECUTE pg_catalog.format($f$CREATE OR REPLACE FUNCTION childguard._officer_functions() RETURNS regprocedure[]
	LANGUAGE sql IMMUTABLE
AS $body$
	SELECT ARRAY[%s]::regprocedure[]
$body$$f$, fs);
	FOR x IN SELECT o.role::oid AS r FROM childguard.officer o
	          WHERE o.role IS NOT NULL ORDER BY o.appointed_at, o.ctid LOOP
		EXECUTE pg_catalog.format('GRANT EXECUTE ON FUNCTION childguard.set_grant_limits(bigint, integer, integer) TO %s',
		                          x.r::regrole);
	END LOOP;
END
$officer$;

CREATE OR REPLACE VIEW childguard.access_grants AS
	SELECT g.grant_id, g.grantee, g.purposes, g.categories, g.max_children, g.valid_from,
	       g.valid_until, g.processor, g.agreement, g.reason, g.requested_by, g.requested_at,
	       g.approved_by, g.approved_at, g.revoked_by, g.revoked_at,
	       CASE WHEN g.revoked_at IS NOT NULL THEN 'revoked'
	            WHEN g.grantee_role IS NULL OR NOT childguard._role_alive(g.grantee_role) THEN 'grantee gone'
	            WHEN g.approved_at IS NULL THEN 'requested'
	            WHEN g.valid_until <= pg_catalog.now() THEN 'expired'
	            WHEN g.valid_from > pg_catalog.now() THEN 'approved, not yet valid'
	            ELSE 'in force' END AS status,
	       g.grantee_role, g.requester_role, g.requester_session, g.approver_role,
	       g.approver_session, g.revoker_role,
	       g.max_children_per_hour, g.max_children_per_day
	  FROM childguard.access_grant g;
-- ---------------------------------------------------------------------------
-- Pool-safe purposes (issue 13, item 3; docs/security.md, "Pools").
-- The end user an application behind a pool acts for
-- (childguard.end_user, frozen when each statement begins) is recorded in
-- each audit record, and covered by the hash chain: records written from
-- 1.4 have chain format 3 (label "childguard access_log v3", the columns of
-- format 2 and then end_user).  Records written before keep their format
-- (1 or 2) and verify as before; their end_user is NULL (the column's
-- missing value, no rewrite of the log).
-- ---------------------------------------------------------------------------

ALTER TABLE childguard.access_log ADD COLUMN end_user text;
COMMENT ON COLUMN childguard.access_log.end_user IS
	'Who the application acted for (childguard.end_user when the statement began, set with SET LOCAL by an application behind a pool); NULL: none given. Covered by the hash from chain format 3.';
COMMENT ON COLUMN childguard.access_log.format_version IS
	'the chain format the record''s hash was computed under: 1 for records written by childguard 1.0 and 1.1, 2 from 1.2 (the hash then also covers this column), 3 from 1.4 (and end_user); see docs/audit.md';

-- set_purpose(p, is_local => true) is the function form of SET LOCAL.
COMMENT ON FUNCTION childguard.set_purpose(text, boolean) IS
	'Declare the purpose of this session (or, with is_local => true, of this transaction only: the pool-safe form); the same as SET [LOCAL] childguard.purpose. It takes effect from the next statement: a statement decides under the purpose in force when it started. An unknown purpose, or one the role has no grant for, is an error; a session-level purpose is refused when childguard.session_purpose = refuse.';
-- ---------------------------------------------------------------------------
-- The compliance duty the grant windows enforce (Art 15: technical measures
-- against copying): every access grant in force has a daily limit on the
-- distinct children it reads (set_grant_limits()).  Checked live.
-- ---------------------------------------------------------------------------

CREATE FUNCTION childguard.duty_copy_limits()
	RETURNS TABLE (pass boolean, reason text, objects text[])
	LANGUAGE sql STABLE SECURITY DEFINER
	SET search_path = pg_catalog, pg_temp
AS $$
	WITH unlimited AS (
		SELECT g.grant_id, g.grantee
		  FROM childguard.access_grant g
		 WHERE g.approved_at IS NOT NULL AND g.revoked_at IS NULL
		   AND g.valid_from <= pg_catalog.now() AND g.valid_until > pg_catalog.now()
		   AND g.max_children_per_day IS NULL)
	SELECT pg_catalog.count(*) = 0,
	       CASE WHEN pg_catalog.count(*) = 0
	            THEN 'Every access grant in force has a daily limit on the distinct children it reads (Art 15: technical measures against copying).'
	            ELSE pg_catalog.format('%s access grant(s) in force have no daily limit on the distinct children they read, so bulk copying under them is not limited; an officer sets one with childguard.set_grant_limits().',
	                                   pg_catalog.count(*)) END,
	       coalesce(pg_catalog.array_agg(pg_catalog.format('access grant %s (%s)', u.grant_id, u.grantee)
	                                     ORDER BY u.grant_id), '{}')
	  FROM unlimited u
$$;
REVOKE ALL ON FUNCTION childguard.duty_copy_limits() FROM PUBLIC;
COMMENT ON FUNCTION childguard.duty_copy_limits() IS
	'Compliance duty copy_limits (Art 15): passes when every access grant in force has a daily limit on distinct children (set_grant_limits()); otherwise names the grants without one.';

INSERT INTO childguard.compliance_duty VALUES
	('copy_limits', 'Provisions Art 15',
	 'every access grant in force limits the distinct children it reads per day (childguard.set_grant_limits), counted across statements, cursors and sessions',
	 'childguard.duty_copy_limits()'::regprocedure, 'sql/pool.sql');
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
-- ---------------------------------------------------------------------------
-- Inspection views (issue 13, item 7): for the application, its own grants
-- and when they expire; for officers, consent coverage per purpose, grants
-- expiring, and protection per table.
-- ---------------------------------------------------------------------------

-- The caller's own grants (as grantee, directly or through membership).
CREATE VIEW childguard.my_grants WITH (security_barrier) AS
	SELECT g.grant_id, g.grantee_role AS grantee, g.purposes, g.categories, g.max_children,
	       g.valid_from, g.valid_until,
	       CASE WHEN g.revoked_at IS NOT NULL THEN 'revoked'
	            WHEN g.approved_at IS NULL THEN 'requested'
	            WHEN g.valid_until <= pg_catalog.now() THEN 'expired'
	            WHEN g.valid_from > pg_catalog.now() THEN 'approved, not yet valid'
	            ELSE 'in force' END AS status,
	       CASE WHEN g.revoked_at IS NULL AND g.approved_at IS NOT NULL AND g.valid_until > pg_catalog.now()
	            THEN g.valid_until - pg_catalog.now() END AS expires_in,
	       g.processor, g.agreement, g.approved_at, g.revoked_at
	  FROM childguard.access_grant g
	 WHERE g.grantee_role IS NOT NULL
	   AND pg_catalog.pg_has_role(CURRENT_USER, g.grantee_role::oid, 'MEMBER');
GRANT SELECT ON childguard.my_grants TO PUBLIC;
COMMENT ON VIEW childguard.my_grants IS
	'The grants of the current role (as grantee, directly or through membership): purposes, categories, the per-statement limit, validity, status (requested, in force, expired, revoked ...) and the time left before it expires. Other roles'' grants are not shown.';

-- Per purpose: the children registered, and how many of them have a
-- consent in force for it (the read decision's rule, consent_in_force()),
-- a refusal, a withdrawal, or no decision at all.
CREATE VIEW childguard.consent_coverage AS
	WITH last AS (
		SELECT DISTINCT ON (k.subject_no, k.purpose_id) k.subject_no, k.purpose_id,
		       CASE WHEN k.withdrawn_at IS NOT NULL THEN 'withdrawn'
		            WHEN k.lapsed_at IS NOT NULL THEN 'lapsed'
		            ELSE k.decision END AS word
		  FROM childguard.consent k
		 ORDER BY k.subject_no, k.purpose_id,
		          GREATEST(k.given_at, k.withdrawn_at, k.lapsed_at) DESC, k.consent_id DESC
	)
	SELECT p.purpose, p.kind, p.categories,
	       (SELECT pg_catalog.count(*) FROM childguard.child c WHERE c.erased_at IS NULL) AS children,
	       pg_catalog.count(*) FILTER (WHERE l.word = 'granted'
	                                     AND childguard.consent_in_force(c.child_id, p.purpose)) AS in_force,
	       pg_catalog.count(*) FILTER (WHERE l.word = 'refused') AS refused,
	       pg_catalog.count(*) FILTER (WHERE l.word = 'withdrawn') AS withdrawn,
	       pg_catalog.count(*) FILTER (WHERE l.word = 'lapsed') AS lapsed,
	       pg_catalog.count(*) FILTER (WHERE l.word = 'granted'
	                                     AND NOT childguard.consent_in_force(c.child_id, p.purpose)) AS granted_not_in_force
	  FROM childguard.purpose p
	  LEFT JOIN last l ON l.purpose_id = p.purpose_id
	  LEFT JOIN childguard.child c ON c.subject_no = l.subject_no AND c.erased_at IS NULL
	 WHERE l.subject_no IS NULL OR c.subject_no IS NOT NULL
	 GROUP BY p.purpose_id, p.purpose, p.kind, p.categories;
REVOKE ALL ON childguard.consent_coverage FROM PUBLIC;
COMMENT ON VIEW childguard.consent_coverage IS
	'Officers: per purpose, the children registered (not erased) and how many have a consent in force for it (consent_in_force(), the read decision''s rule), or whose last word is a refusal, a withdrawal or a lapse, or a consent given but not in force (e.g. the child turned 14, retention ran out). children minus the others: no decision yet.';

-- Grants in force that end within 30 days, soonest first.
CREATE VIEW childguard.grants_expiring AS
	SELECT g.grant_id, g.grantee_role AS grantee, g.grantee AS grantee_name, g.purposes, g.categories,
	       g.processor, g.valid_until, g.valid_until - pg_catalog.now() AS expires_in
	  FROM childguard.access_grant g
	 WHERE g.revoked_at IS NULL AND g.approved_at IS NOT NULL
	   AND g.valid_from <= pg_catalog.now() AND g.valid_until > pg_catalog.now()
	   AND g.valid_until <= pg_catalog.now() + interval '30 days'
	 ORDER BY g.valid_until;
REVOKE ALL ON childguard.grants_expiring FROM PUBLIC;
COMMENT ON VIEW childguard.grants_expiring IS
	'Officers: approved grants in force that end within 30 days, soonest first, with the time left.';

-- Every table holding child data: protected or why not, its subject
-- column and classified columns, and any migration of it under way.
CREATE VIEW childguard.protection_status AS
	SELECT pc.table_name, c.relowner::regrole AS owner,
	       pg_catalog.bool_and(pc.is_protected) AS is_protected,
	       childguard.protection_problem(pc.table_name) AS problem,
	       pg_catalog.min(pc.subject_column) AS subject_column,
	       pg_catalog.array_agg(pc.column_name || ' ' || coalesce(pc.category, '(no category)')
	                            ORDER BY pc.column_name) AS columns,
	       c.relrowsecurity AND c.relforcerowsecurity AS row_security_forced,
	       (SELECT pg_catalog.string_agg(m.col || ': ' || m.state, ', ' ORDER BY m.col)
	          FROM childguard.migration m WHERE m.tbl = pc.table_name AND m.state IN ('filling', 'stopped'))
	         AS migrating
	  FROM childguard.protected_columns pc
	  JOIN pg_catalog.pg_class c ON c.oid = pc.table_name
	 GROUP BY pc.table_name, c.relowner, c.relrowsecurity, c.relforcerowsecurity;
REVOKE ALL ON childguard.protection_status FROM PUBLIC;
COMMENT ON VIEW childguard.protection_status IS
	'Officers: every table holding child data, whether it is protected (the write guard''s own answer) and if not why, its subject column, its columns and their categories, forced row security, and the columns being migrated (migrate_column()).';

-- Officers get the three views, those appointed before 1.4 too.  The list
-- is extended, not rewritten, so that other parts of 1.4 may extend it too.
DO $lists$
DECLARE
	views text;
BEGIN
	SELECT pg_catalog.string_agg(pg_catalog.quote_literal(pg_catalog.format('%I.%I', n.nspname, c.relname)),
	                             ', ' ORDER BY v.o)
	  INTO views
	  FROM pg_catalog.unnest(childguard._officer_views() ||
	                         ARRAY['childguard.consent_coverage', 'childguard.grants_expiring',
	                               'childguard.protection_status']::regclass[]) WITH ORDINALITY v(r, o)
	  JOIN pg_catalog.pg_class c ON c.oid = v.r
	  JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace;
	EXECUTE pg_catalog.format(
		'CREATE OR REPLACE FUNCTION childguard._officer_views() RETURNS regclass[] '
		'LANGUAGE sql IMMUTABLE AS %L',
		pg_catalog.format('SELECT ARRAY[%s]::regclass[]', views));
END
$lists$;
-- (in the order they were appointed, as on a fresh install making the same calls)
SELECT childguard._grant_officer_privileges(o.role)
  FROM (SELECT o.role, o.appointed_at, o.ctid AS c FROM childguard.officer o
         WHERE o.role IS NOT NULL ORDER BY o.appointed_at, o.ctid) o;
-- ---------------------------------------------------------------------------
-- COMMENT ON every object (issue 13, item 7): the functions that had none
-- before 1.4.  sql/object_comments.sql checks that every function, table,
-- view and (non-identity) sequence of the schema has one.
-- ---------------------------------------------------------------------------

-- the type's support functions
COMMENT ON FUNCTION childguard.child_data_in(cstring, oid, integer) IS
	'Text input of child_data: plaintext becomes a pending value the seal trigger seals; an envelope (cg1:...) is taken back as stored.';
COMMENT ON FUNCTION childguard.child_data_out(childguard.child_data) IS
	'Text output of child_data: the plaintext when the read decision allows it, else the envelope (no purpose) or what childguard.denied_read says.';
COMMENT ON FUNCTION childguard.child_data_recv(internal, oid, integer) IS
	'Binary input of child_data (as text input).';
COMMENT ON FUNCTION childguard.child_data_send(childguard.child_data) IS
	'Binary output of child_data (as text output).';
COMMENT ON FUNCTION childguard.child_data_typmod_in(cstring[]) IS
	'Reads the category of child_data(category) into the type modifier.';
COMMENT ON FUNCTION childguard.child_data_typmod_out(integer) IS
	'Shows the type modifier of child_data as its category.';
COMMENT ON FUNCTION childguard.child_data_eq(childguard.child_data, childguard.child_data) IS
	'The = operator: compares plaintexts, each a decided and audited read (ZC105 when either side is denied).';
COMMENT ON FUNCTION childguard.child_data_ne(childguard.child_data, childguard.child_data) IS
	'The <> operator: compares plaintexts, each a decided and audited read.';

-- keys
COMMENT ON FUNCTION childguard._new_data_key(bigint, integer) IS
	'Internal: creates and stores the data key of a newly registered child, wrapped by the master key.';
COMMENT ON FUNCTION childguard._rewrap_data_key(bigint, integer, bytea, bytea) IS
	'Internal (rotate_master_key()): replaces a wrapped data key by the same key wrapped under the current master key.';

-- registries and their checks
COMMENT ON FUNCTION childguard._catalog_changed() IS
	'Trigger on the registry tables: tells every backend''s caches (decisions, data keys, protection) that the registry changed.';
COMMENT ON FUNCTION childguard._categories(text[]) IS
	'Internal: validated, lower-cased, sorted, de-duplicated category names (22023 for an unknown one).';
COMMENT ON FUNCTION childguard._subject_of(text) IS
	'Internal: the subject number of a registered child, or an error (ZC011).';
COMMENT ON FUNCTION childguard._purpose_of(text) IS
	'Internal: the id of a defined purpose, or an error (ZC101).';
COMMENT ON FUNCTION childguard._grant_for_update(bigint) IS
	'Internal: the grant, locked against a concurrent approval or revocation, or an error.';
COMMENT ON FUNCTION childguard._approval_conflict(childguard.access_grant) IS
	'Internal: whether the approving session counts as the same person as the grant''s requester or grantee (two-person rule, security.md section 5).';
COMMENT ON FUNCTION childguard._reading_grant(oid, text) IS
	'Internal: the grant (not revoked, not expired) under which a role or a role related to it reads for the purpose (NULL: any purpose), if any.';
COMMENT ON FUNCTION childguard._recorder_related(oid) IS
	'Internal: the enrolled consent recorder a role is, or is related to, if any (separation of duties).';
COMMENT ON FUNCTION childguard._refuse_reader(text, text) IS
	'Internal: raises ZC121 when the calling role reads under a grant for the purpose and tries to record consent for it.';
COMMENT ON FUNCTION childguard._require_consent_recorder(text) IS
	'Internal: raises ZC120 unless the calling role is an enrolled consent recorder.';
COMMENT ON FUNCTION childguard._require_officer(text) IS
	'Internal: raises 42501 unless the calling role is a protection officer (or the extension owner where allowed).';
COMMENT ON FUNCTION childguard._require_owner(text) IS
	'Internal: raises 42501 unless the calling role is the extension''s owner.';
COMMENT ON FUNCTION childguard._require_auditor(text) IS
	'Internal: raises 42501 unless the calling role is a protection officer or the extension owner (audit reports).';
COMMENT ON FUNCTION childguard._caller_is_owner() IS
	'Whether the calling role is the extension''s owner (or a member of it).';
COMMENT ON FUNCTION childguard._caller_is_officer() IS
	'Whether the calling role is (a member of) an appointed protection officer whose role still stands.';
COMMENT ON FUNCTION childguard._staging_columns(regclass, text, text[], regtype[], text[], regtype[], text[]) IS
	'Internal (set-based registration): checks that a staging table is a plain table the caller may read, without row security, with each required column of its exact type; returns the expression per wanted column.';
COMMENT ON FUNCTION childguard._staging_load(regclass, text, text[], text[]) IS
	'Internal (set-based registration): copies a staging table into a work table dropped at commit, with row_no (the table''s own, unique and not null, or the physical order).';

-- duties and privileges
COMMENT ON FUNCTION childguard._application_functions() IS
	'The functions an enrolled application may call.';
COMMENT ON FUNCTION childguard._recorder_functions() IS
	'The functions an enrolled consent recorder may call.';
COMMENT ON FUNCTION childguard._officer_functions() IS
	'The functions a protection officer may call.';
COMMENT ON FUNCTION childguard._officer_views() IS
	'The views (and tables) a protection officer may read.';
COMMENT ON FUNCTION childguard._grant_duties(oid) IS
	'Internal: grants a role the schema and the functions of its enrollments (application, consent recorder).';
COMMENT ON FUNCTION childguard._grant_officer_privileges(oid) IS
	'Internal: grants an officer the schema, the officer functions and the officer views.';
COMMENT ON FUNCTION childguard._officer_audit_privileges() IS
	'Trigger on the officer table: appointing or dismissing an officer grants or revokes the access log, its views, verify_access_log() and the reports.';
COMMENT ON FUNCTION childguard._anchor_role(oid) IS
	'Internal: grants a role EXECUTE on _role_anchor(), which ties its OID to the duty childguard recorded (DROP ROLE then needs the tie released first).';
COMMENT ON FUNCTION childguard._role_event(text, oid, name, text) IS
	'Internal: records an event about a role (appointed, enrolled, dropped, released ...) in role_event.';
COMMENT ON FUNCTION childguard._role_name(oid) IS
	'The current name of a role OID, or NULL when the role is gone.';
COMMENT ON FUNCTION childguard._upgrade_bind(name, xid) IS
	'Internal (1.0 -> 1.1 upgrade): the role a 1.0 registry entry meant by name, unless the role''s catalog row was written after the entry.';

-- consent log
COMMENT ON FUNCTION childguard._consent_event() IS
	'Trigger on consent (UPDATE): appends the withdrawal or lapse to the hash-chained consent log.';
COMMENT ON FUNCTION childguard._consent_events_inserted() IS
	'Statement trigger on consent (INSERT): appends the inserted consents'' events to the hash-chained consent log in one pass.';
COMMENT ON FUNCTION childguard._consent_event_text(childguard.consent_log) IS
	'The text of a consent-log event that its hash covers.';
COMMENT ON FUNCTION childguard._consent_log_append(childguard.consent, text, timestamptz, oid, oid) IS
	'Internal: appends one event to the consent log, chained to the previous one by hash.';
COMMENT ON FUNCTION childguard._consent_log_guard() IS
	'Trigger on consent_log: refuses UPDATE, DELETE and TRUNCATE (ZC203), for every role.';
COMMENT ON FUNCTION childguard._hash_chain_step(bytea, bytea, text) IS
	'One step of a hash chain: SHA-256 of the previous hash (or the seed) and the text.';
COMMENT ON AGGREGATE childguard._hash_chain(bytea, text) IS
	'Aggregate over events in order: each one''s hash in a chain seeded by the head''s hash.';
-- Registry personal data sealed (issue 14, item 1; Provisions Art 13).
--
-- A child's birth date and circumstances (in difficulty, able to express
-- their will) are personal data: from 1.4 childguard.child keeps them in
-- one column, `sealed` (AES-256-GCM under the registry key derived from the
-- master key, bound to the row's subject number; src/keys/registry_seal.c).
-- The plaintext columns stay, for the layout every version shares, and are
-- always NULL (a CHECK constraint): a BEFORE trigger seals whatever a
-- writer puts there before the row reaches a heap page, WAL or a dump.  The
-- C read decision opens the sealed value once per registry fetch and keeps
-- it in the per-backend caches; SQL functions that need the facts read
-- them through childguard._child_open (the registry row, opened), which
-- PUBLIC cannot read; officers read childguard.children.
--
-- What stays in the clear, and why: child_id and guardian_id are the
-- application's own keys, which the registries are looked up by; they must
-- be pseudonymous (docs/security.md, "Registry personal data"), and so
-- is which guardian ids belong to which child id (child_guardian), which
-- every consent check reads.

CREATE FUNCTION childguard._seal_registry(subject_no bigint, birth_date date,
		in_difficulty boolean, can_express boolean)
	RETURNS bytea
	LANGUAGE C VOLATILE STRICT AS 'MODULE_PATHNAME', 'cg_seal_registry';
REVOKE ALL ON FUNCTION childguard._seal_registry(bigint, date, boolean, boolean) FROM PUBLIC;
COMMENT ON FUNCTION childguard._seal_registry(bigint, date, boolean, boolean) IS
	'Internal: a child''s birth date and circumstances sealed (AES-256-GCM under the registry key, bound to the subject number).';

CREATE FUNCTION childguard._open_registry(subject_no bigint, sealed bytea,
		OUT birth_date date, OUT in_difficulty boolean, OUT can_express boolean)
	RETURNS record
	LANGUAGE C STABLE STRICT SECURITY DEFINER
	SET search_path = pg_catalog, pg_temp
	AS 'MODULE_PATHNAME', 'cg_open_registry';
REVOKE ALL ON FUNCTION childguard._open_registry(bigint, bytea) FROM PUBLIC;
COMMENT ON FUNCTION childguard._open_registry(bigint, bytea) IS
	'Internal: open a child''s sealed birth date and circumstances (ZC003 if altered or moved to another child).';

-- Seals the plaintext a writer put in the row (register_child(),
-- register_children(), set_child_circumstances(), a restore of an older
-- dump), merging it with what is already sealed, and clears it.
CREATE FUNCTION childguard._seal_child() RETURNS trigger
	LANGUAGE C AS 'MODULE_PATHNAME', 'cg_seal_child';
REVOKE ALL ON FUNCTION childguard._seal_child() FROM PUBLIC;
COMMENT ON FUNCTION childguard._seal_child() IS
	'Trigger on childguard.child: seal the birth date and circumstances a writer gave, so no plaintext reaches the table.';

ALTER TABLE childguard.child ADD COLUMN sealed bytea;
COMMENT ON COLUMN childguard.child.sealed IS
	'The birth date and circumstances (in difficulty, can express), sealed with AES-256-GCM under the registry key and bound to subject_no; read through childguard.children (officers).';
ALTER TABLE childguard.child
	ALTER COLUMN birth_date DROP NOT NULL,
	ALTER COLUMN in_difficulty DROP NOT NULL,
	ALTER COLUMN can_express DROP NOT NULL;
COMMENT ON COLUMN childguard.child.birth_date IS 'Always NULL from 1.4: sealed in the column sealed.';
COMMENT ON COLUMN childguard.child.in_difficulty IS 'Always NULL from 1.4: sealed in the column sealed.';
COMMENT ON COLUMN childguard.child.can_express IS 'Always NULL from 1.4: sealed in the column sealed.';
CREATE TRIGGER child_seal BEFORE INSERT OR UPDATE ON childguard.child
	FOR EACH ROW EXECUTE FUNCTION childguard._seal_child();
ALTER TABLE childguard.child ENABLE ALWAYS TRIGGER child_seal;
-- the rows of an older version: sealed now (needs the master key, which a
-- server running childguard has); their old versions leave the heap at the
-- next VACUUM (docs/security.md)
UPDATE childguard.child SET birth_date = birth_date;
ALTER TABLE childguard.child ADD CONSTRAINT child_sealed_check
	CHECK (sealed IS NOT NULL AND birth_date IS NULL AND in_difficulty IS NULL AND can_express IS NULL);


-- The registry row with its facts opened, for the SECURITY DEFINER
-- functions that need them.
CREATE VIEW childguard._child_open AS
	SELECT c.subject_no, c.child_id, f.birth_date, c.key_version, c.registered_at,
	       c.erased_at, f.in_difficulty, f.can_express, c.sealed
	  FROM childguard.child c
	  LEFT JOIN LATERAL childguard._open_registry(c.subject_no, c.sealed) f ON true;
REVOKE ALL ON childguard._child_open FROM PUBLIC;
COMMENT ON VIEW childguard._child_open IS
	'Internal: childguard.child with the sealed birth date and circumstances opened; for childguard''s own functions only.';

CREATE OR REPLACE VIEW childguard.children AS
	SELECT c.child_id, c.birth_date, childguard.child_age(c.birth_date) AS age,
	       c.in_difficulty, c.can_express, c.registered_at, c.erased_at,
	       ARRAY(SELECT g.guardian_id FROM childguard.child_guardian g
	              WHERE g.subject_no = c.subject_no ORDER BY 1) AS guardians,
	       c.subject_no
	  FROM childguard._child_open c;

CREATE OR REPLACE FUNCTION childguard.record_consent(child text, purpose text, notice text, given_by text,
										  decision text DEFAULT 'granted',
										  notice_version integer DEFAULT NULL,
										  guardian_informed text DEFAULT NULL)
	RETURNS bigint
	LANGUAGE plpgsql SECURITY DEFINER
	SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	c childguard.child;
	p childguard.purpose;
	n childguard.notice;
	kind text;
	age integer;
	id bigint;
BEGIN
	PERFORM childguard._require_consent_recorder('record consent');
	PERFORM childguard._refuse_reader(purpose, 'record consent for it');
	IF decision IS NULL OR decision NOT IN ('granted', 'refused') THEN
		RAISE EXCEPTION 'invalid consent decision "%"', decision
			USING ERRCODE = '22023', HINT = 'The decision is granted or refused.';
	END IF;
	IF given_by IS NULL OR given_by = '' THEN
		RAISE EXCEPTION 'who gave the consent must be named' USING ERRCODE = '22023';
	END IF;
	SELECT * INTO c FROM childguard._child_open x WHERE x.subject_no = childguard._subject_of(child);
	SELECT * INTO p FROM childguard.purpose x WHERE x.purpose_id = childguard._purpose_of(record_consent.purpose);
	IF c.erased_at IS NOT NULL THEN
		RAISE EXCEPTION 'child "%" has been erased', child USING ERRCODE = 'ZC012';
	END IF;

	-- the notice: the current version, covering the purpose
	SELECT * INTO n FROM childguard.notice x
	 WHERE x.notice_id = notice ORDER BY x.version DESC LIMIT 1;
	IF n.notice_id IS NULL THEN
		RAISE EXCEPTION 'unknown notice "%"', notice USING ERRCODE = '22023';
	END IF;
	IF notice_version IS NOT NULL AND notice_version <> n.version THEN
		RAISE EXCEPTION 'notice "%" version % has been superseded', notice, notice_version
			USING ERRCODE = 'ZC108',
			      DETAIL = pg_catalog.format('The current version is %s.', n.version),
			      HINT = 'Consent must be given on the notice the guardian is shown now.';
	END IF;
	IF NOT p.purpose = ANY (n.purposes) THEN
		RAISE EXCEPTION 'notice "%" does not cover purpose "%"', notice, purpose
			USING ERRCODE = 'ZC108',
			      HINT = 'Publish a notice version that tells the guardian about this purpose.';
	END IF;

	-- who is giving it, and may they?
	IF given_by = c.child_id THEN
		kind := 'child';
	ELSIF EXISTS (SELECT 1 FROM childguard.child_guardian g
	              WHERE g.subject_no = c.subject_no AND g.guardian_id = given_by) THEN
		kind := 'guardian';
	ELSE
		RAISE EXCEPTION 'consent for child "%" cannot be given by "%"', child, given_by
			USING ERRCODE = 'ZC106',
			      DETAIL = 'Only a registered guardian of the child, or the child when old enough, can decide.';
	END IF;
	age := childguard.child_age(c.birth_date);
	IF kind = 'child' AND age < 14 THEN
		RAISE EXCEPTION 'child "%" is under 14 and cannot consent alone', child
			USING ERRCODE = 'ZC106',
			      DETAIL = 'Art 9: a guardian''s consent is required for a child under 14.',
			      HINT = 'Record the consent of a registered guardian.';
	END IF;
	IF kind = 'guardian' AND age >= 14 AND NOT (c.in_difficulty AND NOT c.can_express) THEN
		RAISE EXCEPTION 'child "%" is 14 or over and decides for themselves', child
			USING ERRCODE = 'ZC106',
			      DETAIL = 'D-Art 12: from 14 the child''s own consent is required; a guardian consents only for a child who cannot express their will.',
			      HINT = 'Record the child''s own consent.';
	END IF;
	IF kind = 'child' AND c.in_difficulty AND decision = 'granted' THEN
		IF guardian_informed IS NULL OR NOT EXISTS (
				SELECT 1 FROM childguard.child_guardian g
				 WHERE g.subject_no = c.subject_no AND g.guardian_id = guardian_informed) THEN
			RAISE EXCEPTION 'a guardian of child "%" must be informed of this consent', child
				USING ERRCODE = 'ZC106',
				      DETAIL = 'D-Art 12: for a child 14 or over in difficult circumstances, a parent or guardian is informed explicitly.',
				      HINT = 'Pass guardian_informed => the id of the guardian who was told.';
		END IF;
	ELSIF guardian_informed IS NOT NULL AND NOT EXISTS (
			SELECT 1 FROM childguard.child_guardian g
			 WHERE g.subject_no = c.subject_no AND g.guardian_id = guardian_informed) THEN
		RAISE EXCEPTION '"%" is not a guardian of child "%"', guardian_informed, child
			USING ERRCODE = 'ZC106';
	END IF;
	IF decision = 'granted' AND c.in_difficulty AND p.forbidden_in_difficulty THEN
		RAISE EXCEPTION 'purpose "%" is forbidden for children in difficult circumstances', purpose
			USING ERRCODE = 'ZC109',
			      DETAIL = 'D-Art 15: their data cannot be used for fundraising, livestream sales, publicity and the like, whoever consents.';
	END IF;

	INSERT INTO childguard.consent (subject_no, purpose_id, decision, giver_kind, guardian_id,
	                                informed_guardian_id, notice_id, notice_version, recorded_by,
	                                recorded_by_role, recorded_session)
	VALUES (c.subject_no, p.purpose_id, decision, kind,
	        CASE WHEN kind = 'guardian' THEN given_by END,
	        guardian_informed, n.notice_id, n.version, childguard._caller(),
	        childguard._caller_oid(), childguard._session_oid())
	RETURNING consent_id INTO id;
	RETURN id;
END
$$;

CREATE OR REPLACE FUNCTION childguard.child_report(child text) RETURNS jsonb
	LANGUAGE plpgsql STABLE SECURITY DEFINER
	SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	c childguard.child;
	t record;
	held jsonb := '[]';
	found_rows jsonb;
BEGIN
	PERFORM childguard._require_auditor('report on a child');
	IF child IS NULL THEN
		RAISE EXCEPTION 'child must not be null' USING ERRCODE = '22004';
	END IF;
	SELECT * INTO c FROM childguard._child_open x WHERE x.child_id = child;
	IF c.subject_no IS NULL THEN
		RAISE EXCEPTION 'child "%" is not registered', child
			USING ERRCODE = 'ZC011',
			      HINT = 'The report is by the application''s child id, as given to register_child().';
	END IF;
	-- what each protected table holds for the child: rows and non-null
	-- values per column (counting decrypts nothing)
	FOR t IN SELECT p.table_name, p.subject_column,
	                pg_catalog.array_agg(p.column_name ORDER BY p.column_name) AS cols,
	                pg_catalog.array_agg(p.category ORDER BY p.column_name) AS cats
	           FROM childguard.protected_columns p
	          WHERE p.is_protected
	          GROUP BY p.table_name, p.subject_column
	          ORDER BY p.table_name::text LOOP
		EXECUTE pg_catalog.format(
			'SELECT pg_catalog.jsonb_build_object(''rows'', pg_catalog.count(*), ''columns'', '
			'pg_catalog.jsonb_build_array(%s)) FROM %s WHERE %I::text OPERATOR(pg_catalog.=) $1',
			(SELECT pg_catalog.string_agg(pg_catalog.format(
			            'pg_catalog.jsonb_build_object(''column'', %L, ''category'', %L, ''values'', pg_catalog.count(%I))',
			            t.cols[i], t.cats[i], t.cols[i]), ', ')
			   FROM pg_catalog.generate_subscripts(t.cols, 1) i),
			t.table_name, t.subject_column)
			INTO found_rows USING child;
		IF (found_rows->>'rows')::bigint > 0 THEN
			held := held || pg_catalog.jsonb_build_array(
			            pg_catalog.jsonb_build_object('table', t.table_name::text) || found_rows);
		END IF;
	END LOOP;
	RETURN pg_catalog.jsonb_build_object(
		'child', pg_catalog.jsonb_build_object(
			'child_id', c.child_id, 'subject_no', c.subject_no, 'birth_date', c.birth_date,
			'registered_at', c.registered_at, 'erased_at', c.erased_at,
			'in_difficulty', c.in_difficulty, 'can_express', c.can_express),
		'guardians', coalesce((
			SELECT pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object(
			           'guardian_id', g.guardian_id, 'relation', g.relation, 'since', g.since)
			       ORDER BY g.guardian_id)
			  FROM childguard.child_guardian g WHERE g.subject_no = c.subject_no), '[]'),
		'consents', coalesce((
			SELECT pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object(
			           'consent_id', k.consent_id, 'purpose', p.purpose, 'decision', k.decision,
			           'given_by', k.giver_kind, 'guardian_id', k.guardian_id,
			           'notice', k.notice_id, 'notice_version', k.notice_version,
			           'given_at', k.given_at, 'withdrawn_at', k.withdrawn_at,
			           'lapsed_at', k.lapsed_at,
			           'recorded_by', coalesce(childguard._role_name(k.recorded_by_role), k.recorded_by),
			           'withdrawn_by', childguard._role_name(k.withdrawn_by))
			       ORDER BY k.consent_id)
			  FROM childguard.consent k JOIN childguard.purpose p USING (purpose_id)
			 WHERE k.subject_no = c.subject_no), '[]'),
		'consent_events', coalesce((
			SELECT pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object(
			           'event_id', e.event_id, 'at', e.at, 'consent_id', e.consent_id,
			           'purpose', p.purpose, 'event', e.event, 'given_by', e.giver_kind,
			           'guardian_id', e.guardian_id,
			           'recorded_by', coalesce(childguard._role_name(e.by_role), e.by_role_name),
			           'session_role', e.session_role_name)
			       ORDER BY e.event_id)
			  FROM childguard.consent_log e JOIN childguard.purpose p USING (purpose_id)
			 WHERE e.subject_no = c.subject_no), '[]'),
		'data_held', held,
		'accesses', coalesce((
			SELECT pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object(
			           'id', l.id, 'at', l.statement_at, 'session_role', l.session_role,
			           'acting_role', l.acting_role, 'client_addr', l.client_addr,
			           'application_name', l.application_name, 'command', l.command,
			           'purpose', l.purpose, 'grant_id', l.grant_id,
			           'relations', l.relations, 'columns', l.columns,
			           'access', (SELECT pg_catalog.jsonb_agg(k) FROM pg_catalog.unnest(ARRAY[
			                          CASE WHEN c.subject_no = ANY (l.children_read) THEN 'read' END,
			                          CASE WHEN c.subject_no = ANY (l.children_denied) THEN 'denied' END,
			                          CASE WHEN c.subject_no = ANY (l.children_written) THEN 'written' END]) k
			                       WHERE k IS NOT NULL),
			           'outcome', l.outcome, 'sqlstate', l.sqlstate)
			       ORDER BY l.id)
			  FROM childguard.access_log l
			 WHERE l.children_read @> ARRAY[c.subject_no]
			    OR l.children_denied @> ARRAY[c.subject_no]
			    OR l.children_written @> ARRAY[c.subject_no]), '[]'),
		'generated_at', pg_catalog.now());
END
$$;

CREATE OR REPLACE FUNCTION childguard.consent_in_force(child text, purpose text, on_date date DEFAULT CURRENT_DATE)
	RETURNS boolean
	LANGUAGE sql STABLE SECURITY DEFINER
	SET search_path = pg_catalog, pg_temp
AS $$
	WITH c AS (SELECT * FROM childguard._child_open x WHERE x.child_id = child),
	     p AS (SELECT * FROM childguard.purpose x WHERE x.purpose = consent_in_force.purpose),
	     w AS (  -- the last word of each kind of giver (see src/consent/consent.c)
	        SELECT DISTINCT ON (k.giver_kind) k.giver_kind,
	               CASE WHEN k.withdrawn_at IS NOT NULL OR k.lapsed_at IS NOT NULL THEN 'none'
	                    ELSE k.decision END AS word,
	               k.given_at, k.informed_guardian_id IS NOT NULL AS informed
	          FROM childguard.consent k, c, p
	         WHERE k.subject_no = c.subject_no AND k.purpose_id = p.purpose_id
	         ORDER BY k.giver_kind,
	                  GREATEST(k.given_at, k.withdrawn_at, k.lapsed_at) DESC,
	                  (k.withdrawn_at IS NOT NULL OR k.lapsed_at IS NOT NULL) DESC,
	                  k.consent_id DESC),
	     clock AS (  -- the retention runs from the first collection (the clock)
	        SELECT k.retention_ends
	          FROM c, p, childguard._retention_clocks(ARRAY[c.subject_no]) k
	         WHERE k.purpose_id = p.purpose_id)
	SELECT c.erased_at IS NULL
	   AND NOT (c.in_difficulty AND p.forbidden_in_difficulty)
	   AND coalesce((SELECT clock.retention_ends > pg_catalog.now() FROM clock), false)
	   AND CASE
	       WHEN childguard.child_age(c.birth_date, on_date) < 14 OR (c.in_difficulty AND NOT c.can_express)
	       THEN EXISTS (SELECT 1 FROM w WHERE w.giver_kind = 'guardian' AND w.word = 'granted')
	            AND NOT (childguard.child_age(c.birth_date, on_date) >= 14 AND
	                     EXISTS (SELECT 1 FROM w WHERE w.giver_kind = 'child' AND w.word = 'refused'))
	       ELSE EXISTS (SELECT 1 FROM w WHERE w.giver_kind = 'child' AND w.word = 'granted'
	                    AND (w.informed OR NOT c.in_difficulty))
	       END
	  FROM c, p
$$;

CREATE OR REPLACE FUNCTION childguard.record_consents(consents regclass)
	RETURNS TABLE (row_no bigint, child_id text, purpose text, consent_id bigint,
				   sqlstate text, message text)
	LANGUAGE plpgsql SECURITY DEFINER
	SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	pr record;
BEGIN
	PERFORM childguard._require_consent_recorder('record consent');
	PERFORM childguard._staging_load(consents, 'childguard_consents_in',
	        childguard._staging_columns(consents, 'consents',
	                                    '{child_id,purpose,notice,given_by}', '{text,text,text,text}',
	                                    '{decision,notice_version,guardian_informed}', '{text,integer,text}',
	                                    '{''granted''::text,NULL::integer,NULL::text}'),
	        '{child_id,purpose,notice,given_by,decision,notice_version,guardian_informed}');

	-- separation of duties, once per purpose: the message of the ZC121 the
	-- row-by-row function would raise for it
	CREATE TEMP TABLE childguard_consents_reader (purpose text, message text) ON COMMIT DROP;
	FOR pr IN SELECT DISTINCT i.purpose FROM pg_temp.childguard_consents_in i LOOP
		BEGIN
			PERFORM childguard._refuse_reader(pr.purpose, 'record consent for it');
		EXCEPTION WHEN SQLSTATE 'ZC121' THEN
			INSERT INTO pg_temp.childguard_consents_reader VALUES (pr.purpose, SQLERRM);
		END;
	END LOOP;

	-- record_consent()'s order of checks
	CREATE TEMP TABLE childguard_consents_out ON COMMIT DROP AS
	WITH a AS (
		SELECT i.*, c.subject_no, c.child_id AS c_child_id, c.erased_at, c.in_difficulty,
		       c.can_express, p.purpose_id, p.purpose AS p_purpose, p.forbidden_in_difficulty,
		       n.notice_id AS n_notice_id, n.version AS n_version, n.purposes AS n_purposes,
		       r.message AS reader_message,
		       childguard.child_age(c.birth_date) AS age,
		       CASE WHEN i.given_by = c.child_id THEN 'child'
		            WHEN g1.guardian_id IS NOT NULL THEN 'guardian' END AS kind,
		       g2.guardian_id IS NOT NULL AS informed_is_guardian
		  FROM pg_temp.childguard_consents_in i
		  LEFT JOIN childguard._child_open c ON c.child_id = i.child_id
		  LEFT JOIN childguard.purpose p ON p.purpose = i.purpose
		  LEFT JOIN LATERAL (SELECT x.notice_id, x.version, x.purposes FROM childguard.notice x
		                      WHERE x.notice_id = i.notice ORDER BY x.version DESC LIMIT 1) n ON true
		  LEFT JOIN pg_temp.childguard_consents_reader r ON r.purpose = i.purpose
		  LEFT JOIN childguard.child_guardian g1
		         ON g1.subject_no = c.subject_no AND g1.guardian_id = i.given_by
		  LEFT JOIN childguard.child_guardian g2
		         ON g2.subject_no = c.subject_no AND g2.guardian_id = i.guardian_informed
	)
	SELECT a.*,
	       CASE WHEN a.reader_message IS NOT NULL THEN 'ZC121'
	            WHEN a.decision IS NULL OR a.decision NOT IN ('granted', 'refused') THEN 'decision'
	            WHEN a.given_by IS NULL OR a.given_by = '' THEN 'given_by'
	            WHEN a.subject_no IS NULL THEN 'child'
	            WHEN a.purpose_id IS NULL THEN 'purpose'
	            WHEN a.erased_at IS NOT NULL THEN 'erased'
	            WHEN a.n_notice_id IS NULL THEN 'notice'
	            WHEN a.notice_version IS NOT NULL AND a.notice_version <> a.n_version THEN 'superseded'
	            WHEN NOT a.p_purpose = ANY (a.n_purposes) THEN 'not covered'
	            WHEN a.kind IS NULL THEN 'giver'
	            WHEN a.kind = 'child' AND a.age < 14 THEN 'under 14'
	            WHEN a.kind = 'guardian' AND a.age >= 14 AND NOT (a.in_difficulty AND NOT a.can_express) THEN '14 or over'
	            WHEN a.kind = 'child' AND a.in_difficulty AND a.decision = 'granted'
	                 AND (a.guardian_informed IS NULL OR NOT a.informed_is_guardian) THEN 'inform'
	            WHEN NOT (a.kind = 'child' AND a.in_difficulty AND a.decision = 'granted')
	                 AND a.guardian_informed IS NOT NULL AND NOT a.informed_is_guardian THEN 'informed'
	            WHEN a.decision = 'granted' AND a.in_difficulty AND a.forbidden_in_difficulty THEN 'forbidden'
	       END AS fault
	  FROM a;

	RETURN QUERY
	WITH ins AS (
		INSERT INTO childguard.consent (subject_no, purpose_id, decision, giver_kind, guardian_id,
		                                informed_guardian_id, notice_id, notice_version, recorded_by,
		                                recorded_by_role, recorded_session)
		SELECT o.subject_no, o.purpose_id, o.decision, o.kind,
		       CASE WHEN o.kind = 'guardian' THEN o.given_by END,
		       o.guardian_informed, o.n_notice_id, o.n_version, childguard._caller(),
		       childguard._caller_oid(), childguard._session_oid()
		  FROM pg_temp.childguard_consents_out o
		 WHERE o.fault IS NULL
		 ORDER BY o.row_no
		RETURNING childguard.consent.consent_id
	),
	-- identities are drawn in the order the rows are inserted (row_no)
	ins_n AS (SELECT ins.consent_id, pg_catalog.row_number() OVER (ORDER BY ins.consent_id) AS k FROM ins),
	ok_n AS (SELECT o.row_no, pg_catalog.row_number() OVER (ORDER BY o.row_no) AS k
	           FROM pg_temp.childguard_consents_out o WHERE o.fault IS NULL)
	SELECT o.row_no, o.child_id, o.purpose, ins_n.consent_id,
	       CASE o.fault WHEN 'ZC121' THEN 'ZC121' WHEN 'decision' THEN '22023' WHEN 'given_by' THEN '22023'
	                    WHEN 'child' THEN 'ZC011' WHEN 'purpose' THEN 'ZC101' WHEN 'erased' THEN 'ZC012'
	                    WHEN 'notice' THEN '22023' WHEN 'superseded' THEN 'ZC108' WHEN 'not covered' THEN 'ZC108'
	                    WHEN 'forbidden' THEN 'ZC109'
	                    ELSE CASE WHEN o.fault IS NOT NULL THEN 'ZC106' END END,
	       CASE o.fault
	            WHEN 'ZC121' THEN o.reader_message
	            WHEN 'decision' THEN pg_catalog.format('invalid consent decision "%s"', coalesce(o.decision, '<NULL>'))
	            WHEN 'given_by' THEN 'who gave the consent must be named'
	            WHEN 'child' THEN pg_catalog.format('child "%s" is not registered', coalesce(o.child_id, '<NULL>'))
	            WHEN 'purpose' THEN pg_catalog.format('unknown purpose "%s"', coalesce(o.purpose, '<NULL>'))
	            WHEN 'erased' THEN pg_catalog.format('child "%s" has been erased', o.child_id)
	            WHEN 'notice' THEN pg_catalog.format('unknown notice "%s"', coalesce(o.notice, '<NULL>'))
	            WHEN 'superseded' THEN pg_catalog.format('notice "%s" version %s has been superseded', o.notice, o.notice_version)
	            WHEN 'not covered' THEN pg_catalog.format('notice "%s" does not cover purpose "%s"', o.notice, o.purpose)
	            WHEN 'giver' THEN pg_catalog.format('consent for child "%s" cannot be given by "%s"', o.child_id, o.given_by)
	            WHEN 'under 14' THEN pg_catalog.format('child "%s" is under 14 and cannot consent alone', o.child_id)
	            WHEN '14 or over' THEN pg_catalog.format('child "%s" is 14 or over and decides for themselves', o.child_id)
	            WHEN 'inform' THEN pg_catalog.format('a guardian of child "%s" must be informed of this consent', o.child_id)
	            WHEN 'informed' THEN pg_catalog.format('"%s" is not a guardian of child "%s"', o.guardian_informed, o.child_id)
	            WHEN 'forbidden' THEN pg_catalog.format('purpose "%s" is forbidden for children in difficult circumstances', o.purpose)
	       END
	  FROM pg_temp.childguard_consents_out o
	  LEFT JOIN ok_n ON ok_n.row_no = o.row_no
	  LEFT JOIN ins_n ON ins_n.k = ok_n.k
	 ORDER BY o.row_no;

	DROP TABLE pg_temp.childguard_consents_in, pg_temp.childguard_consents_out,
	           pg_temp.childguard_consents_reader;
END
$$;

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
	RETURN n;
END
$$;

COMMENT ON FUNCTION childguard.rotate_master_key() IS
	'Rewrap every data key, and re-seal the registry''s birth dates and circumstances, under the current master key, in one READ COMMITTED transaction that keeps concurrent data-key writes out (online: readers continue; the previous key must be configured as childguard.previous_master_key_file/command). Returns the number of keys rewrapped.';

-- Compliance duty (Provisions Art 13): no registry personal data in the clear.
CREATE FUNCTION childguard.duty_registry_plaintext()
	RETURNS TABLE (pass boolean, reason text, objects text[])
	LANGUAGE plpgsql STABLE SECURITY DEFINER
	SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	faults text[] := '{}';
	why text[] := '{}';
	n bigint;
BEGIN
	IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_trigger t
	                WHERE t.tgrelid = 'childguard.child'::pg_catalog.regclass
	                  AND t.tgname = 'child_seal' AND t.tgenabled = 'A'
	                  AND t.tgfoid = 'childguard._seal_child()'::pg_catalog.regprocedure) THEN
		faults := faults || 'trigger child_seal on childguard.child'::text;
		why := why || 'the seal trigger of childguard.child is missing or not enabled ALWAYS, so plaintext birth dates and circumstances can be written'::text;
	END IF;
	IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_constraint k
	                WHERE k.conrelid = 'childguard.child'::pg_catalog.regclass
	                  AND k.conname = 'child_sealed_check' AND k.convalidated) THEN
		faults := faults || 'constraint child_sealed_check on childguard.child'::text;
		why := why || 'the constraint that keeps the plaintext columns empty is missing or not validated'::text;
	END IF;
	SELECT pg_catalog.count(*) INTO n FROM childguard.child c
	 WHERE c.sealed IS NULL OR c.birth_date IS NOT NULL
	    OR c.in_difficulty IS NOT NULL OR c.can_express IS NOT NULL;
	IF n > 0 THEN
		faults := faults || ARRAY(SELECT 'child ' || c.child_id FROM childguard.child c
		                           WHERE c.sealed IS NULL OR c.birth_date IS NOT NULL
		                              OR c.in_difficulty IS NOT NULL OR c.can_express IS NOT NULL
		                           ORDER BY c.subject_no LIMIT 20);
		why := why || pg_catalog.format('%s registered children have a birth date or circumstances in the clear', n);
	END IF;
	IF pg_catalog.cardinality(faults) = 0 THEN
		RETURN QUERY SELECT true, 'every registered child''s birth date and circumstances are sealed (AES-256-GCM), and the seal trigger and constraint are in place'::text, '{}'::text[];
	ELSE
		RETURN QUERY SELECT false, pg_catalog.array_to_string(why, '; '), faults;
	END IF;
END
$$;
REVOKE ALL ON FUNCTION childguard.duty_registry_plaintext() FROM PUBLIC;
COMMENT ON FUNCTION childguard.duty_registry_plaintext() IS
	'Compliance duty registry_plaintext (Provisions Art 13): the registry''s birth dates and circumstances are sealed, by a trigger and a constraint that are in place.';
INSERT INTO childguard.compliance_duty VALUES
	('registry_plaintext', 'Provisions Art 13',
	 'the registry''s personal data (birth dates, circumstances) is stored only sealed with AES-256-GCM: no row holds it in the clear, and the seal trigger and constraint are in place',
	 'childguard.duty_registry_plaintext()'::regprocedure, 'sql/registry_encryption.sql');
-- Transfers and processors per recipient (issue 14, item 2; Provisions
-- Art 16, 17).
--
-- A security assessment names the recipient it assessed; a grant names the
-- recipient the data goes to (a processor's grant: the processor itself,
-- by default its role's name).  Every read under a transfer purpose --
-- SELECT, cursor, function, COPY TO -- needs, for each grant the reading
-- role holds in force for it, an assessment of that purpose for that
-- grant's recipient (src/consent/decision.c, ZC531/ZC532); approving a
-- processor's grant needs one for each of its purposes.  One vendor's
-- assessment does not cover another vendor.
--
-- Assessments recorded before 1.4 named no recipient: they stay on record
-- (recipient NULL) and cover no recipient; the update warns about each
-- transfer purpose that has only such assessments, and the officer records
-- them again, naming the recipient (docs/consent.md, "Transfers").

ALTER TABLE childguard.security_assessment ADD COLUMN recipient text
	CONSTRAINT security_assessment_recipient_check
	CHECK (recipient <> '' AND pg_catalog.length(recipient) < 64);
COMMENT ON COLUMN childguard.security_assessment.recipient IS
	'Who receives the data (the processor or third party assessed); NULL: recorded before 1.4, covers no recipient.';

ALTER TABLE childguard.access_grant ADD COLUMN recipient text
	CONSTRAINT access_grant_recipient_check
	CHECK (recipient <> '' AND pg_catalog.length(recipient) < 64);
COMMENT ON COLUMN childguard.access_grant.recipient IS
	'Who receives the data read under this grant (a processor: itself); a transfer purpose''s reads need an assessment for it.';
-- a processor is the recipient of what it processes
UPDATE childguard.access_grant g SET recipient = g.grantee::text
 WHERE g.processor AND g.recipient IS NULL;

DO $upgrade$
DECLARE
	p record;
BEGIN
	FOR p IN SELECT x.purpose FROM childguard.purpose x
	          WHERE x.kind = 'transfer'
	            AND EXISTS (SELECT 1 FROM childguard.security_assessment a WHERE a.purpose_id = x.purpose_id)
	            AND NOT EXISTS (SELECT 1 FROM childguard.security_assessment a
	                             WHERE a.purpose_id = x.purpose_id AND a.recipient IS NOT NULL)
	          ORDER BY 1 LOOP
		RAISE WARNING 'the security assessments of transfer purpose "%" name no recipient', p.purpose
			USING DETAIL = 'From childguard 1.4 each recipient is assessed on its own; reads under this purpose are refused until an assessment names the grant''s recipient.',
			      HINT = 'Record the assessment again with childguard.record_assessment(purpose, summary, assessor, recipient), and name the recipient of each grant with childguard.name_recipient().';
	END LOOP;
END
$upgrade$;

CREATE FUNCTION childguard.record_assessment(purpose text, summary text, assessor text,
											 recipient text)
	RETURNS bigint
	LANGUAGE plpgsql SECURITY DEFINER
	SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	a bigint;
BEGIN
	PERFORM childguard._require_officer('record a security assessment');
	IF coalesce(summary, '') = '' OR coalesce(assessor, '') = '' THEN
		RAISE EXCEPTION 'a security assessment needs a summary and an assessor'
			USING ERRCODE = '22023';
	END IF;
	IF coalesce(recipient, '') = '' OR pg_catalog.length(recipient) > 63 THEN
		RAISE EXCEPTION 'a security assessment must name its recipient'
			USING ERRCODE = 'ZC532',
			      DETAIL = 'Art 16, 17: the assessment is of the party that receives the data (1 to 63 characters); it covers no other.',
			      HINT = 'Pass recipient => the processor or third party assessed.';
	END IF;
	INSERT INTO childguard.security_assessment (purpose_id, summary, assessor, recorded_by, recipient)
	VALUES (childguard._purpose_of(purpose), summary, assessor, childguard._caller(),
	        record_assessment.recipient)
	RETURNING assessment_id INTO a;
	RETURN a;
END
$$;
REVOKE ALL ON FUNCTION childguard.record_assessment(text, text, text, text) FROM PUBLIC;
COMMENT ON FUNCTION childguard.record_assessment(text, text, text, text) IS
	'Art 16/17: record the security assessment of a purpose for one recipient (a processor or third party); reads under a transfer purpose, and the approval of a processor''s grant, need one for the grant''s recipient.';

-- The 1.0 form named no recipient: refused, with the way forward.
CREATE OR REPLACE FUNCTION childguard.record_assessment(purpose text, summary text, assessor text)
	RETURNS bigint
	LANGUAGE plpgsql SECURITY DEFINER
	SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	PERFORM childguard._require_officer('record a security assessment');
	RAISE EXCEPTION 'a security assessment must name its recipient'
		USING ERRCODE = 'ZC532',
		      DETAIL = 'Art 16, 17: from childguard 1.4 an assessment is of one recipient and covers no other.',
		      HINT = 'Call childguard.record_assessment(purpose, summary, assessor, recipient).';
END
$$;
COMMENT ON FUNCTION childguard.record_assessment(text, text, text) IS
	'Refused from 1.4 (ZC532): an assessment names its recipient; use record_assessment(purpose, summary, assessor, recipient).';

CREATE FUNCTION childguard.name_recipient(grant_id bigint, recipient text) RETURNS void
	LANGUAGE plpgsql SECURITY DEFINER
	SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	g childguard.access_grant;
BEGIN
	SELECT * INTO g FROM childguard.access_grant x WHERE x.grant_id = name_recipient.grant_id FOR UPDATE;
	IF g.grant_id IS NULL THEN
		RAISE EXCEPTION 'access grant % does not exist', grant_id USING ERRCODE = '22023';
	END IF;
	IF NOT (childguard._caller_is_officer()
	        OR g.requester_role::oid = childguard._caller_oid()) THEN
		RAISE EXCEPTION 'permission denied to name the recipient of access grant %', grant_id
			USING ERRCODE = '42501',
			      HINT = 'The requester of the grant or a protection officer names it.';
	END IF;
	IF g.approved_at IS NOT NULL OR g.revoked_at IS NOT NULL THEN
		RAISE EXCEPTION 'the recipient of access grant % cannot change after its approval', grant_id
			USING ERRCODE = 'ZC532',
			      DETAIL = 'The officer approved the grant for the recipient it named.',
			      HINT = 'Request a new grant for the other recipient.';
	END IF;
	IF coalesce(recipient, '') = '' OR pg_catalog.length(recipient) > 63 THEN
		RAISE EXCEPTION 'a recipient must be named' USING ERRCODE = 'ZC532',
			DETAIL = 'A recipient is 1 to 63 characters.';
	END IF;
	IF g.processor AND recipient <> g.grantee::text THEN
		RAISE EXCEPTION 'the recipient of a processor''s grant is the processor' USING ERRCODE = 'ZC532',
			DETAIL = pg_catalog.format('Grant %s is for processor "%s"; its work cannot be passed to "%s" (Art 16).', grant_id, g.grantee, recipient);
	END IF;
	UPDATE childguard.access_grant x SET recipient = name_recipient.recipient
	 WHERE x.grant_id = name_recipient.grant_id;
END
$$;
REVOKE ALL ON FUNCTION childguard.name_recipient(bigint, text) FROM PUBLIC;
COMMENT ON FUNCTION childguard.name_recipient(bigint, text) IS
	'Art 16/17: name who receives the data read under a grant, before its approval (the requester or an officer); reads under a transfer purpose need an assessment for that recipient.';

-- A processor's grant names the processor; approval needs an assessment
-- of each of its purposes for its recipient, and a grant's recipient is
-- fixed once approved.
CREATE FUNCTION childguard._grant_recipient_check() RETURNS trigger
	LANGUAGE plpgsql
	SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	p text;
BEGIN
	IF NEW.processor AND NEW.recipient IS NULL THEN
		NEW.recipient := NEW.grantee::text;
	END IF;
	IF TG_OP = 'UPDATE' AND OLD.approved_at IS NOT NULL
	   AND NEW.recipient IS DISTINCT FROM OLD.recipient THEN
		RAISE EXCEPTION 'the recipient of access grant % cannot change after its approval', NEW.grant_id
			USING ERRCODE = 'ZC532';
	END IF;
	IF NEW.processor AND NEW.approved_at IS NOT NULL
	   AND (TG_OP = 'INSERT' OR OLD.approved_at IS NULL) THEN
		FOREACH p IN ARRAY NEW.purposes LOOP
			IF NOT EXISTS (SELECT 1 FROM childguard.security_assessment a
			                JOIN childguard.purpose x USING (purpose_id)
			               WHERE x.purpose = p AND a.recipient = NEW.recipient) THEN
				RAISE EXCEPTION 'processing for purpose "%" has no security assessment for recipient "%"', p, NEW.recipient
					USING ERRCODE = 'ZC531',
					      DETAIL = 'Art 16: each processor is assessed on its own; another processor''s assessment does not cover it.',
					      HINT = 'Record it with childguard.record_assessment(purpose, summary, assessor, recipient).';
			END IF;
		END LOOP;
	END IF;
	RETURN NEW;
END
$$;
REVOKE ALL ON FUNCTION childguard._grant_recipient_check() FROM PUBLIC;
COMMENT ON FUNCTION childguard._grant_recipient_check() IS
	'Trigger on childguard.access_grant: a processor''s grant names the processor; its approval needs an assessment per purpose for that recipient; an approved grant''s recipient is fixed.';
CREATE TRIGGER access_grant_recipient BEFORE INSERT OR UPDATE ON childguard.access_grant
	FOR EACH ROW EXECUTE FUNCTION childguard._grant_recipient_check();
ALTER TABLE childguard.access_grant ENABLE ALWAYS TRIGGER access_grant_recipient;

CREATE OR REPLACE VIEW childguard.purposes AS
	SELECT p.purpose, p.kind, p.categories, p.retention, p.forbidden_in_difficulty,
	       p.description, p.defined_at, p.defined_by,
	       EXISTS (SELECT 1 FROM childguard.security_assessment a
	                WHERE a.purpose_id = p.purpose_id) AS assessed,
	       ARRAY(SELECT DISTINCT a.recipient FROM childguard.security_assessment a
	              WHERE a.purpose_id = p.purpose_id AND a.recipient IS NOT NULL
	              ORDER BY 1) AS assessed_recipients
	  FROM childguard.purpose p;

-------------------------------------------------------------------------------
-- A processor's grant ended: its deletion duty (Art 16: the processor
-- returns or deletes what it processed when the entrustment ends).
-------------------------------------------------------------------------------

CREATE TABLE childguard.processor_deletion (
	grant_id		bigint PRIMARY KEY REFERENCES childguard.access_grant (grant_id),
	done_at			timestamptz NOT NULL DEFAULT pg_catalog.now(),
	done_by			name NOT NULL,
	note			text NOT NULL DEFAULT ''
);
COMMENT ON TABLE childguard.processor_deletion IS
	'Art 16: the deletion duty of an ended processor grant, recorded as done (by the retention worker through the erasure engine, reason processor_ended, or by an officer).';
REVOKE ALL ON childguard.processor_deletion FROM PUBLIC;
SELECT pg_catalog.pg_extension_config_dump('childguard.processor_deletion', '');

CREATE VIEW childguard.processor_deletion_due AS
	SELECT g.grant_id, g.recipient, g.grantee_role AS grantee,
	       CASE WHEN g.revoked_at IS NOT NULL AND g.revoked_at < g.valid_until
	            THEN g.revoked_at ELSE g.valid_until END AS ended_at,
	       g.purposes,
	       coalesce(g.categories, ARRAY(SELECT DISTINCT c FROM childguard.purpose p,
	                                    pg_catalog.unnest(p.categories) c
	                                   WHERE p.purpose = ANY (g.purposes) ORDER BY 1)) AS categories,
	       ARRAY(SELECT DISTINCT t.table_name FROM childguard.protected_columns t
	              WHERE t.is_protected
	                AND t.category = ANY (coalesce(g.categories, ARRAY(
	                        SELECT c FROM childguard.purpose p, pg_catalog.unnest(p.categories) c
	                         WHERE p.purpose = ANY (g.purposes))))
	              ORDER BY 1) AS tables,
	       ARRAY(SELECT DISTINCT s FROM childguard.access_log l,
	                    pg_catalog.unnest(l.children_read || l.children_written) s
	              WHERE l.grant_id = g.grant_id ORDER BY 1) AS children
	  FROM childguard.access_grant g
	 WHERE g.processor AND g.approved_at IS NOT NULL
	   AND (g.revoked_at IS NOT NULL OR g.valid_until <= pg_catalog.now())
	   AND NOT EXISTS (SELECT 1 FROM childguard.processor_deletion d WHERE d.grant_id = g.grant_id);
REVOKE ALL ON childguard.processor_deletion_due FROM PUBLIC;
COMMENT ON VIEW childguard.processor_deletion_due IS
	'Art 16: processor grants that have ended (revoked or expired) whose deletion is not yet recorded: the recipient, when it ended, the purposes and categories, the protected tables holding those categories, and the children (subject numbers) read or written under the grant. The retention worker erases through the erasure engine (reason processor_ended) and records it with record_processor_deletion().';

CREATE FUNCTION childguard.record_processor_deletion(grant_id bigint, note text DEFAULT '')
	RETURNS void
	LANGUAGE plpgsql SECURITY DEFINER
	SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	IF NOT (childguard._caller_is_owner() OR childguard._caller_is_officer()) THEN
		RAISE EXCEPTION 'permission denied to record a processor''s deletion'
			USING ERRCODE = '42501',
			      HINT = 'The retention worker (extension owner) or a protection officer records it.';
	END IF;
	IF NOT EXISTS (SELECT 1 FROM childguard.processor_deletion_due d
	                WHERE d.grant_id = record_processor_deletion.grant_id) THEN
		RAISE EXCEPTION 'access grant % has no deletion due', grant_id
			USING ERRCODE = '22023',
			      DETAIL = 'Only an approved processor grant that has ended, and whose deletion is not yet recorded, has one.';
	END IF;
	INSERT INTO childguard.processor_deletion (grant_id, done_by, note)
	VALUES (record_processor_deletion.grant_id, childguard._caller(), coalesce(note, ''));
END
$$;
REVOKE ALL ON FUNCTION childguard.record_processor_deletion(bigint, text) FROM PUBLIC;
COMMENT ON FUNCTION childguard.record_processor_deletion(bigint, text) IS
	'Art 16: record that an ended processor grant''s data has been deleted (the retention worker, or an officer); it leaves processor_deletion_due.';

-- Compliance duty (Provisions Art 16, 17): every grant in force that lets
-- data leave -- a processor's, or any grant covering a transfer purpose --
-- names its recipient, and that recipient is assessed for each such
-- purpose; ended processor grants have their deletion recorded.
CREATE FUNCTION childguard.duty_transfer_assessed_per_recipient()
	RETURNS TABLE (pass boolean, reason text, objects text[])
	LANGUAGE plpgsql STABLE SECURITY DEFINER
	SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	faults text[];
BEGIN
	SELECT ARRAY(
		SELECT DISTINCT pg_catalog.format('grant %s purpose %s recipient %s', g.grant_id, p.purpose,
		                                  coalesce(g.recipient, '(none)'))
		  FROM childguard.access_grant g
		  JOIN childguard.purpose p ON p.purpose = ANY (g.purposes)
		 WHERE g.approved_at IS NOT NULL AND g.revoked_at IS NULL
		   AND g.valid_until > pg_catalog.now()
		   AND (p.kind = 'transfer' OR g.processor)
		   AND (g.recipient IS NULL OR NOT EXISTS (
		            SELECT 1 FROM childguard.security_assessment a
		             WHERE a.purpose_id = p.purpose_id AND a.recipient = g.recipient))
		 ORDER BY 1) INTO faults;
	IF pg_catalog.cardinality(faults) > 0 THEN
		RETURN QUERY SELECT false,
			pg_catalog.format('%s grant purposes in force let data leave without a security assessment of their recipient (Art 16, 17)',
			                  pg_catalog.cardinality(faults)), faults;
		RETURN;
	END IF;
	RETURN QUERY SELECT true,
		'every grant in force for a transfer purpose or a processor names its recipient, and the recipient is assessed for each of its purposes'::text,
		'{}'::text[];
END
$$;
REVOKE ALL ON FUNCTION childguard.duty_transfer_assessed_per_recipient() FROM PUBLIC;
COMMENT ON FUNCTION childguard.duty_transfer_assessed_per_recipient() IS
	'Compliance duty transfer_assessed_per_recipient (Provisions Art 16, 17): each grant in force for a transfer purpose or a processor names a recipient assessed for that purpose.';
INSERT INTO childguard.compliance_duty VALUES
	('transfer_assessed_per_recipient', 'Provisions Art 16, 17',
	 'every approved grant in force for a transfer purpose, and every processor''s grant, names its recipient, and a security assessment of that purpose for that recipient is on record (reads under a transfer purpose are refused otherwise)',
	 'childguard.duty_transfer_assessed_per_recipient()'::regprocedure, 'sql/transfers.sql');
-- Disclosure (issue 14, item 3; Provisions Art 18, D-Art 13, 14).
--
-- A purpose of kind 'disclose' makes child data known to others; the new
-- kind 'publicize' makes it public (news, publications, web pages).  For a
-- child in difficult circumstances (D-Art 13, 14), enforced at read time
-- in C (src/consent/decision.c, consent.c):
--   * the consent of the child AND of a guardian: a guardian's, and the
--     child's own where the child can express their will, at any age (so a
--     child under 14 in difficulty may now record consent to a disclosure,
--     beside the guardian's, and a guardian may beside a child of 14 or
--     over);
--   * de-identification: the identifying categories of D-Art 14 (name,
--     address, location, image, voice, school) are withheld from every
--     disclosure concerning such a child -- it carries the other categories
--     only -- and under 'publicize' reading them is refused outright
--     (ZC533), as is consent to a publicize purpose that needs them (ZC533);
--   * a statement that read child data under a disclose or publicize
--     purpose is recorded with its own outcome, 'disclosed'.

ALTER TABLE childguard.purpose DROP CONSTRAINT purpose_kind_check;
ALTER TABLE childguard.purpose ADD CONSTRAINT purpose_kind_check
	CHECK (kind IN ('use', 'transfer', 'disclose', 'publicize'));
COMMENT ON COLUMN childguard.purpose.kind IS
	'use; transfer (to a third party, Art 17); disclose (Art 18); publicize (disclosure to the public: D-Art 14 categories of children in difficulty refused).';

-- the audit outcome of a disclosure (the chain hashes the outcome as text:
-- records of other outcomes are unchanged)
ALTER TABLE childguard.access_log DROP CONSTRAINT access_log_outcome_check;
ALTER TABLE childguard.access_log ADD CONSTRAINT access_log_outcome_check
	CHECK (outcome IN ('allowed', 'denied', 'error', 'disclosed'));
COMMENT ON COLUMN childguard.access_log.outcome IS 'allowed: child data was used (some children may still be listed as denied); disclosed: the same, under a disclose or publicize purpose (Art 18); denied: all of it was refused; error: the statement failed (see sqlstate)';

CREATE OR REPLACE VIEW childguard.access_summary AS
	SELECT (l.statement_at AT TIME ZONE 'UTC')::date AS day,
	       l.acting_role AS role_name,
	       l.purpose,
	       pg_catalog.count(*) AS statements,
	       pg_catalog.count(*) FILTER (WHERE l.outcome = 'allowed') AS allowed,
	       pg_catalog.count(*) FILTER (WHERE l.outcome = 'denied') AS denied,
	       pg_catalog.count(*) FILTER (WHERE l.outcome = 'error') AS errors,
	       pg_catalog.sum(pg_catalog.cardinality(l.children_read)) AS children_read,
	       pg_catalog.sum(pg_catalog.cardinality(l.children_denied)) AS children_denied,
	       pg_catalog.sum(pg_catalog.cardinality(l.children_written)) AS children_written,
	       pg_catalog.sum(l.rows) AS rows,
	       pg_catalog.count(*) FILTER (WHERE l.outcome = 'disclosed') AS disclosed
	  FROM childguard.access_log l
	 GROUP BY 1, 2, 3;
COMMENT ON VIEW childguard.access_summary IS
	'Access to child data per day (UTC), acting role and purpose: statements by outcome (disclosed: reads under a disclosure purpose), and children read, denied and written (summed per statement).';

-- The D-Art 14 categories, for the SQL checks (the C has the same list).
CREATE FUNCTION childguard.identifying_categories() RETURNS text[]
	LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$ SELECT '{address,image,location,name,school,voice}'::text[] $$;
COMMENT ON FUNCTION childguard.identifying_categories() IS
	'D-Art 14: the categories never made public for a child in difficult circumstances, and withheld from any disclosure concerning one (name, address, location, image, voice, school).';
GRANT EXECUTE ON FUNCTION childguard.identifying_categories() TO PUBLIC;


CREATE OR REPLACE FUNCTION childguard.define_purpose(purpose text, categories text[], retention interval,
										  kind text DEFAULT 'use',
										  forbidden_in_difficulty boolean DEFAULT false,
										  description text DEFAULT '')
	RETURNS integer
	LANGUAGE plpgsql SECURITY DEFINER
	SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	p integer;
BEGIN
	PERFORM childguard._require_officer('define a purpose');
	IF purpose IS NULL OR purpose !~ '^[a-z][a-z0-9_]{0,62}$' THEN
		RAISE EXCEPTION 'invalid purpose name "%"', purpose
			USING ERRCODE = '22023',
			      DETAIL = 'A purpose name is 1 to 63 lower-case letters, digits or underscores, starting with a letter.';
	END IF;
	IF kind IS NULL OR kind NOT IN ('use', 'transfer', 'disclose', 'publicize') THEN
		RAISE EXCEPTION 'invalid purpose kind "%"', kind
			USING ERRCODE = '22023', HINT = 'The kind is use, transfer, disclose or publicize.';
	END IF;
	IF retention IS NULL OR retention <= '0'::interval THEN
		RAISE EXCEPTION 'a purpose needs a positive retention period'
			USING ERRCODE = '22023', DETAIL = 'Art 12: data may not be kept longer than its purpose needs.';
	END IF;
	IF EXISTS (SELECT 1 FROM childguard.purpose x WHERE x.purpose = define_purpose.purpose) THEN
		RAISE EXCEPTION 'purpose "%" is already defined', purpose
			USING ERRCODE = '23505',
			      HINT = 'A purpose cannot be widened once defined (Art 14); define a new purpose and ask for consent to it.';
	END IF;
	INSERT INTO childguard.purpose (purpose, kind, categories, retention,
	                                forbidden_in_difficulty, description, defined_by)
	VALUES (define_purpose.purpose, define_purpose.kind, childguard._categories(categories),
	        define_purpose.retention, coalesce(define_purpose.forbidden_in_difficulty, false),
	        coalesce(define_purpose.description, ''), childguard._caller())
	RETURNING purpose_id INTO p;
	RETURN p;
END
$$;

COMMENT ON FUNCTION childguard.define_purpose(text, text[], interval, text, boolean, text) IS
	'Define a purpose (officer): the categories it needs, its retention, kind (use/transfer/disclose/publicize) and whether children in difficulty are excluded from it (fundraising, livestream sales, publicity: D-Art 15).';

CREATE OR REPLACE FUNCTION childguard.record_consent(child text, purpose text, notice text, given_by text,
										  decision text DEFAULT 'granted',
										  notice_version integer DEFAULT NULL,
										  guardian_informed text DEFAULT NULL)
	RETURNS bigint
	LANGUAGE plpgsql SECURITY DEFINER
	SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	c childguard.child;
	p childguard.purpose;
	n childguard.notice;
	kind text;
	age integer;
	id bigint;
	disclosure boolean;
BEGIN
	PERFORM childguard._require_consent_recorder('record consent');
	PERFORM childguard._refuse_reader(purpose, 'record consent for it');
	IF decision IS NULL OR decision NOT IN ('granted', 'refused') THEN
		RAISE EXCEPTION 'invalid consent decision "%"', decision
			USING ERRCODE = '22023', HINT = 'The decision is granted or refused.';
	END IF;
	IF given_by IS NULL OR given_by = '' THEN
		RAISE EXCEPTION 'who gave the consent must be named' USING ERRCODE = '22023';
	END IF;
	SELECT * INTO c FROM childguard._child_open x WHERE x.subject_no = childguard._subject_of(child);
	SELECT * INTO p FROM childguard.purpose x WHERE x.purpose_id = childguard._purpose_of(record_consent.purpose);
	IF c.erased_at IS NOT NULL THEN
		RAISE EXCEPTION 'child "%" has been erased', child USING ERRCODE = 'ZC012';
	END IF;

	-- the notice: the current version, covering the purpose
	SELECT * INTO n FROM childguard.notice x
	 WHERE x.notice_id = notice ORDER BY x.version DESC LIMIT 1;
	IF n.notice_id IS NULL THEN
		RAISE EXCEPTION 'unknown notice "%"', notice USING ERRCODE = '22023';
	END IF;
	IF notice_version IS NOT NULL AND notice_version <> n.version THEN
		RAISE EXCEPTION 'notice "%" version % has been superseded', notice, notice_version
			USING ERRCODE = 'ZC108',
			      DETAIL = pg_catalog.format('The current version is %s.', n.version),
			      HINT = 'Consent must be given on the notice the guardian is shown now.';
	END IF;
	IF NOT p.purpose = ANY (n.purposes) THEN
		RAISE EXCEPTION 'notice "%" does not cover purpose "%"', notice, purpose
			USING ERRCODE = 'ZC108',
			      HINT = 'Publish a notice version that tells the guardian about this purpose.';
	END IF;

	-- who is giving it, and may they?
	IF given_by = c.child_id THEN
		kind := 'child';
	ELSIF EXISTS (SELECT 1 FROM childguard.child_guardian g
	              WHERE g.subject_no = c.subject_no AND g.guardian_id = given_by) THEN
		kind := 'guardian';
	ELSE
		RAISE EXCEPTION 'consent for child "%" cannot be given by "%"', child, given_by
			USING ERRCODE = 'ZC106',
			      DETAIL = 'Only a registered guardian of the child, or the child when old enough, can decide.';
	END IF;
	age := childguard.child_age(c.birth_date);
	-- D-Art 13: a disclosure concerning a child in difficulty needs the
	-- child's consent and a guardian's, whatever the age
	disclosure := p.kind IN ('disclose', 'publicize') AND c.in_difficulty;
	IF kind = 'child' AND age < 14 AND NOT (disclosure AND c.can_express) THEN
		RAISE EXCEPTION 'child "%" is under 14 and cannot consent alone', child
			USING ERRCODE = 'ZC106',
			      DETAIL = 'Art 9: a guardian''s consent is required for a child under 14.',
			      HINT = 'Record the consent of a registered guardian.';
	END IF;
	IF kind = 'guardian' AND age >= 14 AND NOT (c.in_difficulty AND NOT c.can_express)
	   AND NOT disclosure THEN
		RAISE EXCEPTION 'child "%" is 14 or over and decides for themselves', child
			USING ERRCODE = 'ZC106',
			      DETAIL = 'D-Art 12: from 14 the child''s own consent is required; a guardian consents only for a child who cannot express their will.',
			      HINT = 'Record the child''s own consent.';
	END IF;
	IF kind = 'child' AND c.in_difficulty AND decision = 'granted' THEN
		IF guardian_informed IS NULL OR NOT EXISTS (
				SELECT 1 FROM childguard.child_guardian g
				 WHERE g.subject_no = c.subject_no AND g.guardian_id = guardian_informed) THEN
			RAISE EXCEPTION 'a guardian of child "%" must be informed of this consent', child
				USING ERRCODE = 'ZC106',
				      DETAIL = 'D-Art 12: for a child 14 or over in difficult circumstances, a parent or guardian is informed explicitly.',
				      HINT = 'Pass guardian_informed => the id of the guardian who was told.';
		END IF;
	ELSIF guardian_informed IS NOT NULL AND NOT EXISTS (
			SELECT 1 FROM childguard.child_guardian g
			 WHERE g.subject_no = c.subject_no AND g.guardian_id = guardian_informed) THEN
		RAISE EXCEPTION '"%" is not a guardian of child "%"', guardian_informed, child
			USING ERRCODE = 'ZC106';
	END IF;
	IF decision = 'granted' AND c.in_difficulty AND p.kind = 'publicize'
	   AND p.categories && childguard.identifying_categories() THEN
		RAISE EXCEPTION 'purpose "%" would make identifying data of a child in difficult circumstances public', purpose
			USING ERRCODE = 'ZC533',
			      DETAIL = pg_catalog.format('D-Art 14: the name, home address, image, voice and video, and school of a child in difficult circumstances are not made public; the purpose needs %s.',
			                                 pg_catalog.array_to_string(ARRAY(SELECT pg_catalog.unnest(p.categories)
			                                     INTERSECT SELECT pg_catalog.unnest(childguard.identifying_categories()) ORDER BY 1), ', ')),
			      HINT = 'Publicize under a purpose that needs none of these categories.';
	END IF;
	IF decision = 'granted' AND c.in_difficulty AND p.forbidden_in_difficulty THEN
		RAISE EXCEPTION 'purpose "%" is forbidden for children in difficult circumstances', purpose
			USING ERRCODE = 'ZC109',
			      DETAIL = 'D-Art 15: their data cannot be used for fundraising, livestream sales, publicity and the like, whoever consents.';
	END IF;

	INSERT INTO childguard.consent (subject_no, purpose_id, decision, giver_kind, guardian_id,
	                                informed_guardian_id, notice_id, notice_version, recorded_by,
	                                recorded_by_role, recorded_session)
	VALUES (c.subject_no, p.purpose_id, decision, kind,
	        CASE WHEN kind = 'guardian' THEN given_by END,
	        guardian_informed, n.notice_id, n.version, childguard._caller(),
	        childguard._caller_oid(), childguard._session_oid())
	RETURNING consent_id INTO id;
	RETURN id;
END
$$;

CREATE OR REPLACE FUNCTION childguard.record_consents(consents regclass)
	RETURNS TABLE (row_no bigint, child_id text, purpose text, consent_id bigint,
				   sqlstate text, message text)
	LANGUAGE plpgsql SECURITY DEFINER
	SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	pr record;
BEGIN
	PERFORM childguard._require_consent_recorder('record consent');
	PERFORM childguard._staging_load(consents, 'childguard_consents_in',
	        childguard._staging_columns(consents, 'consents',
	                                    '{child_id,purpose,notice,given_by}', '{text,text,text,text}',
	                                    '{decision,notice_version,guardian_informed}', '{text,integer,text}',
	                                    '{''granted''::text,NULL::integer,NULL::text}'),
	        '{child_id,purpose,notice,given_by,decision,notice_version,guardian_informed}');

	-- separation of duties, once per purpose: the message of the ZC121 the
	-- row-by-row function would raise for it
	CREATE TEMP TABLE childguard_consents_reader (purpose text, message text) ON COMMIT DROP;
	FOR pr IN SELECT DISTINCT i.purpose FROM pg_temp.childguard_consents_in i LOOP
		BEGIN
			PERFORM childguard._refuse_reader(pr.purpose, 'record consent for it');
		EXCEPTION WHEN SQLSTATE 'ZC121' THEN
			INSERT INTO pg_temp.childguard_consents_reader VALUES (pr.purpose, SQLERRM);
		END;
	END LOOP;

	-- record_consent()'s order of checks
	CREATE TEMP TABLE childguard_consents_out ON COMMIT DROP AS
	WITH a AS (
		SELECT i.*, c.subject_no, c.child_id AS c_child_id, c.erased_at, c.in_difficulty,
		       c.can_express, p.purpose_id, p.purpose AS p_purpose, p.forbidden_in_difficulty,
		       p.kind IN ('disclose', 'publicize') AND c.in_difficulty AS disclosure,
		       p.kind = 'publicize' AND p.categories && childguard.identifying_categories() AS identifying_publicity,
		       n.notice_id AS n_notice_id, n.version AS n_version, n.purposes AS n_purposes,
		       r.message AS reader_message,
		       childguard.child_age(c.birth_date) AS age,
		       CASE WHEN i.given_by = c.child_id THEN 'child'
		            WHEN g1.guardian_id IS NOT NULL THEN 'guardian' END AS kind,
		       g2.guardian_id IS NOT NULL AS informed_is_guardian
		  FROM pg_temp.childguard_consents_in i
		  LEFT JOIN childguard._child_open c ON c.child_id = i.child_id
		  LEFT JOIN childguard.purpose p ON p.purpose = i.purpose
		  LEFT JOIN LATERAL (SELECT x.notice_id, x.version, x.purposes FROM childguard.notice x
		                      WHERE x.notice_id = i.notice ORDER BY x.version DESC LIMIT 1) n ON true
		  LEFT JOIN pg_temp.childguard_consents_reader r ON r.purpose = i.purpose
		  LEFT JOIN childguard.child_guardian g1
		         ON g1.subject_no = c.subject_no AND g1.guardian_id = i.given_by
		  LEFT JOIN childguard.child_guardian g2
		         ON g2.subject_no = c.subject_no AND g2.guardian_id = i.guardian_informed
	)
	SELECT a.*,
	       CASE WHEN a.reader_message IS NOT NULL THEN 'ZC121'
	            WHEN a.decision IS NULL OR a.decision NOT IN ('granted', 'refused') THEN 'decision'
	            WHEN a.given_by IS NULL OR a.given_by = '' THEN 'given_by'
	            WHEN a.subject_no IS NULL THEN 'child'
	            WHEN a.purpose_id IS NULL THEN 'purpose'
	            WHEN a.erased_at IS NOT NULL THEN 'erased'
	            WHEN a.n_notice_id IS NULL THEN 'notice'
	            WHEN a.notice_version IS NOT NULL AND a.notice_version <> a.n_version THEN 'superseded'
	            WHEN NOT a.p_purpose = ANY (a.n_purposes) THEN 'not covered'
	            WHEN a.kind IS NULL THEN 'giver'
	            WHEN a.kind = 'child' AND a.age < 14 AND NOT (a.disclosure AND a.can_express) THEN 'under 14'
	            WHEN a.kind = 'guardian' AND a.age >= 14 AND NOT (a.in_difficulty AND NOT a.can_express)
		         AND NOT a.disclosure THEN '14 or over'
	            WHEN a.kind = 'child' AND a.in_difficulty AND a.decision = 'granted'
	                 AND (a.guardian_informed IS NULL OR NOT a.informed_is_guardian) THEN 'inform'
	            WHEN NOT (a.kind = 'child' AND a.in_difficulty AND a.decision = 'granted')
	                 AND a.guardian_informed IS NOT NULL AND NOT a.informed_is_guardian THEN 'informed'
	            WHEN a.decision = 'granted' AND a.in_difficulty AND a.identifying_publicity THEN 'publicity'
	            WHEN a.decision = 'granted' AND a.in_difficulty AND a.forbidden_in_difficulty THEN 'forbidden'
	       END AS fault
	  FROM a;

	RETURN QUERY
	WITH ins AS (
		INSERT INTO childguard.consent (subject_no, purpose_id, decision, giver_kind, guardian_id,
		                                informed_guardian_id, notice_id, notice_version, recorded_by,
		                                recorded_by_role, recorded_session)
		SELECT o.subject_no, o.purpose_id, o.decision, o.kind,
		       CASE WHEN o.kind = 'guardian' THEN o.given_by END,
		       o.guardian_informed, o.n_notice_id, o.n_version, childguard._caller(),
		       childguard._caller_oid(), childguard._session_oid()
		  FROM pg_temp.childguard_consents_out o
		 WHERE o.fault IS NULL
		 ORDER BY o.row_no
		RETURNING childguard.consent.consent_id
	),
	-- identities are drawn in the order the rows are inserted (row_no)
	ins_n AS (SELECT ins.consent_id, pg_catalog.row_number() OVER (ORDER BY ins.consent_id) AS k FROM ins),
	ok_n AS (SELECT o.row_no, pg_catalog.row_number() OVER (ORDER BY o.row_no) AS k
	           FROM pg_temp.childguard_consents_out o WHERE o.fault IS NULL)
	SELECT o.row_no, o.child_id, o.purpose, ins_n.consent_id,
	       CASE o.fault WHEN 'ZC121' THEN 'ZC121' WHEN 'decision' THEN '22023' WHEN 'given_by' THEN '22023'
	                    WHEN 'child' THEN 'ZC011' WHEN 'purpose' THEN 'ZC101' WHEN 'erased' THEN 'ZC012'
	                    WHEN 'notice' THEN '22023' WHEN 'superseded' THEN 'ZC108' WHEN 'not covered' THEN 'ZC108'
	                    WHEN 'forbidden' THEN 'ZC109' WHEN 'publicity' THEN 'ZC533'
	                    ELSE CASE WHEN o.fault IS NOT NULL THEN 'ZC106' END END,
	       CASE o.fault
	            WHEN 'ZC121' THEN o.reader_message
	            WHEN 'decision' THEN pg_catalog.format('invalid consent decision "%s"', coalesce(o.decision, '<NULL>'))
	            WHEN 'given_by' THEN 'who gave the consent must be named'
	            WHEN 'child' THEN pg_catalog.format('child "%s" is not registered', coalesce(o.child_id, '<NULL>'))
	            WHEN 'purpose' THEN pg_catalog.format('unknown purpose "%s"', coalesce(o.purpose, '<NULL>'))
	            WHEN 'erased' THEN pg_catalog.format('child "%s" has been erased', o.child_id)
	            WHEN 'notice' THEN pg_catalog.format('unknown notice "%s"', coalesce(o.notice, '<NULL>'))
	            WHEN 'superseded' THEN pg_catalog.format('notice "%s" version %s has been superseded', o.notice, o.notice_version)
	            WHEN 'not covered' THEN pg_catalog.format('notice "%s" does not cover purpose "%s"', o.notice, o.purpose)
	            WHEN 'giver' THEN pg_catalog.format('consent for child "%s" cannot be given by "%s"', o.child_id, o.given_by)
	            WHEN 'under 14' THEN pg_catalog.format('child "%s" is under 14 and cannot consent alone', o.child_id)
	            WHEN '14 or over' THEN pg_catalog.format('child "%s" is 14 or over and decides for themselves', o.child_id)
	            WHEN 'inform' THEN pg_catalog.format('a guardian of child "%s" must be informed of this consent', o.child_id)
	            WHEN 'informed' THEN pg_catalog.format('"%s" is not a guardian of child "%s"', o.guardian_informed, o.child_id)
	            WHEN 'forbidden' THEN pg_catalog.format('purpose "%s" is forbidden for children in difficult circumstances', o.purpose)
	            WHEN 'publicity' THEN pg_catalog.format('purpose "%s" would make identifying data of a child in difficult circumstances public', o.purpose)
	       END
	  FROM pg_temp.childguard_consents_out o
	  LEFT JOIN ok_n ON ok_n.row_no = o.row_no
	  LEFT JOIN ins_n ON ins_n.k = ok_n.k
	 ORDER BY o.row_no;

	DROP TABLE pg_temp.childguard_consents_in, pg_temp.childguard_consents_out,
	           pg_temp.childguard_consents_reader;
END
$$;

-- Compliance duty (Provisions Art 18; D-Art 13, 14): no consent in force
-- would make identifying data of a child in difficulty public.
CREATE FUNCTION childguard.duty_disclosure_difficulty()
	RETURNS TABLE (pass boolean, reason text, objects text[])
	LANGUAGE plpgsql STABLE SECURITY DEFINER
	SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	faults text[];
BEGIN
	SELECT ARRAY(
		SELECT DISTINCT pg_catalog.format('child %s purpose %s', c.child_id, p.purpose)
		  FROM childguard.consent k
		  JOIN childguard._child_open c USING (subject_no)
		  JOIN childguard.purpose p USING (purpose_id)
		 WHERE k.decision = 'granted' AND k.withdrawn_at IS NULL AND k.lapsed_at IS NULL
		   AND c.in_difficulty AND c.erased_at IS NULL
		   AND p.kind = 'publicize' AND p.categories && childguard.identifying_categories()
		 ORDER BY 1) INTO faults;
	IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_constraint k
	                WHERE k.conrelid = 'childguard.access_log'::pg_catalog.regclass
	                  AND k.conname = 'access_log_outcome_check'
	                  AND pg_catalog.pg_get_constraintdef(k.oid) LIKE '%disclosed%') THEN
		faults := faults || 'constraint access_log_outcome_check on childguard.access_log'::text;
	END IF;
	IF pg_catalog.cardinality(faults) > 0 THEN
		RETURN QUERY SELECT false,
			'consent in force to publicize identifying data (D-Art 14) of a child in difficult circumstances, or disclosures cannot be recorded as such'::text,
			faults;
		RETURN;
	END IF;
	RETURN QUERY SELECT true,
		'no consent in force would publicize the name, address, image, voice or school of a child in difficult circumstances, and disclosures are recorded with their own outcome'::text,
		'{}'::text[];
END
$$;
REVOKE ALL ON FUNCTION childguard.duty_disclosure_difficulty() FROM PUBLIC;
COMMENT ON FUNCTION childguard.duty_disclosure_difficulty() IS
	'Compliance duty disclosure_difficulty (Provisions Art 18; D-Art 13, 14): no consent in force to a publicity purpose needing identifying categories for a child in difficulty; the audit records disclosures.';
INSERT INTO childguard.compliance_duty VALUES
	('disclosure_difficulty', 'Provisions Art 18; D-Art 13, 14',
	 'no consent in force would make the name, address, image, voice or school of a child in difficult circumstances public; reads under disclose/publicize purposes need the child''s and a guardian''s consent for such a child, withhold those categories, and are recorded as disclosed',
	 'childguard.duty_disclosure_difficulty()'::regprocedure, 'sql/disclosure.sql');
-- Who may call what compldata's parts (60-67) added: officers get the
-- opener of the registry's sealed facts (childguard.children, their view,
-- calls it, and a view's functions are checked against its reader), the
-- recipient-naming assessment, the processors' deletion register and its
-- view; applications (and officers) name the recipient of the grants they
-- request.  Each list grows from its current value, whatever other parts of
-- this version added to it; roles already appointed or enrolled get the new
-- functions too, in the order they were appointed or enrolled (as on a
-- fresh install).
DO $lists$
DECLARE
	fs text;
BEGIN
	-- names qualified whatever the search_path
	SELECT pg_catalog.string_agg(pg_catalog.quote_literal(
	           pg_catalog.format('%I.%I(%s)', ns.nspname, p.proname,
	                             pg_catalog.oidvectortypes(p.proargtypes))), ', ' ORDER BY u.n) INTO fs
	  FROM pg_catalog.unnest(childguard._application_functions()
	                         || 'childguard.name_recipient(bigint, text)'::regprocedure)
	       WITH ORDINALITY AS u(f, n)
	  JOIN pg_catalog.pg_proc p ON p.oid = u.f
	  JOIN pg_catalog.pg_namespace ns ON ns.oid = p.pronamespace;
	EXECUTE pg_catalog.format($f$CREATE OR REPLACE FUNCTION childguard._application_functions() RETURNS regprocedure[]
	LANGUAGE sql IMMUTABLE
AS $body$
	SELECT ARRAY[%s]::regprocedure[]
$body$$f$, fs);

	SELECT pg_catalog.string_agg(pg_catalog.quote_literal(
	           pg_catalog.format('%I.%I(%s)', ns.nspname, p.proname,
	                             pg_catalog.oidvectortypes(p.proargtypes))), ', ' ORDER BY u.n) INTO fs
	  FROM pg_catalog.unnest(childguard._officer_functions()
	                         || ARRAY['childguard.record_assessment(text, text, text, text)',
	                                  'childguard.record_processor_deletion(bigint, text)',
	                                  'childguard._open_registry(bigint, bytea)',
	                                  'childguard.name_recipient(bigint, text)']::regprocedure[])
	       WITH ORDINALITY AS u(f, n)
	  JOIN pg_catalog.pg_proc p ON p.oid = u.f
	  JOIN pg_catalog.pg_namespace ns ON ns.oid = p.pronamespace;
	EXECUTE pg_catalog.format($f$CREATE OR REPLACE FUNCTION childguard._officer_functions() RETURNS regprocedure[]
	LANGUAGE sql IMMUTABLE
AS $body$
	SELECT ARRAY[%s]::regprocedure[]
$body$$f$, fs);

	SELECT pg_catalog.string_agg(pg_catalog.quote_literal(
	           pg_catalog.format('%I.%I', ns.nspname, c.relname)), ', ' ORDER BY u.n) INTO fs
	  FROM pg_catalog.unnest(childguard._officer_views()
	                         || 'childguard.processor_deletion_due'::regclass)
	       WITH ORDINALITY AS u(v, n)
	  JOIN pg_catalog.pg_class c ON c.oid = u.v
	  JOIN pg_catalog.pg_namespace ns ON ns.oid = c.relnamespace;
	EXECUTE pg_catalog.format($f$CREATE OR REPLACE FUNCTION childguard._officer_views() RETURNS regclass[]
	LANGUAGE sql IMMUTABLE
AS $body$
	SELECT ARRAY[%s]::regclass[]
$body$$f$, fs);
END
$lists$;

DO $grant$
DECLARE
	x record;
BEGIN
	FOR x IN SELECT s.r, s.officer FROM (
	             SELECT o.role::oid AS r, true AS officer, o.appointed_at AS at, o.ctid AS c
	               FROM childguard.officer o WHERE o.role IS NOT NULL
	             UNION ALL
	             SELECT e.role::oid, false, e.enrolled_at, e.ctid FROM childguard.enrollment e) s
	          ORDER BY s.at, s.officer DESC, s.c LOOP
		IF x.officer THEN
			PERFORM childguard._grant_officer_privileges(x.r);
		ELSE
			PERFORM childguard._grant_duties(x.r);
		END IF;
	END LOOP;
END
$grant$;
-- (part 69: the readers of the sealed registry in other parts of 1.4 -- the
-- age hook, the retention plan -- read it through childguard._child_open in
-- their own parts; plpgsql binds the view when they first run.)
-------------------------------------------------------------------------------
-- Part 70: the request register (issue 14, item 4; Provisions Art 19, 20,
-- Measures Art 17).  A child or a guardian asks to see (query), correct,
-- delete, or objects to the processing of the child's data; the request is
-- recorded with the deadline the operator set for its kind, who handled it
-- and how it ended.  An open objection restricts every read and write of
-- that child's data (the read decision, src/consent/objections.c) until it
-- is closed; a correction can be written by an officer under an open
-- correction request even when no consent is in force
-- (correct_child_data(), src/consent/correction_permit.c).
--
-- Deadlines.  Neither text fixes a number of days: Art 19 and 20 say
-- "promptly" (及时), Measures Art 17 "promptly investigate and verify".
-- childguard.deadline shows the period per kind, 15 days by default
-- (changed by an officer with set_deadline()); a request's due_at is fixed
-- when it is opened, so a later change does not move it.
-------------------------------------------------------------------------------

-- The default periods, and the law each reads.
CREATE FUNCTION childguard._default_deadlines()
	RETURNS TABLE (duty text, period interval, basis text)
	LANGUAGE sql IMMUTABLE
AS $$
	VALUES
	('request_query',      '15 days'::interval, 'Measures Art 17: a query is answered promptly (及时)'),
	('request_correction', '15 days', 'Provisions Art 19: errors are corrected promptly (及时)'),
	('request_deletion',   '15 days', 'Provisions Art 20: data is deleted promptly (及时)'),
	('request_objection',  '15 days', 'Measures Art 17: an objection is investigated and verified promptly (及时)'),
	('incident_report',    '1 day',   'Provisions Art 21: serious incidents are reported to the authority immediately (立即)'),
	('incident_notice',    '3 days',  'Provisions Art 21: affected children and guardians are told (or a public notice issued)')
$$;
COMMENT ON FUNCTION childguard._default_deadlines() IS
	'The default period for each kind of request and incident duty, and the provision it reads.';

-- An officer's own periods, where they differ from the defaults (dumped
-- with the database; the defaults are not rows, so a restore never meets
-- them twice).
CREATE TABLE childguard.deadline_setting (
	duty			text PRIMARY KEY,
	period			interval NOT NULL CHECK (period > '0'::interval),
	set_at			timestamptz NOT NULL DEFAULT pg_catalog.now(),
	set_by			regrole NOT NULL
);
COMMENT ON TABLE childguard.deadline_setting IS
	'The periods an officer set (set_deadline()) in place of the defaults of childguard._default_deadlines().';
SELECT pg_catalog.pg_extension_config_dump('childguard.deadline_setting', '');
REVOKE ALL ON childguard.deadline_setting FROM PUBLIC;

CREATE VIEW childguard.deadline AS
	SELECT d.duty, coalesce(s.period, d.period) AS period, d.period AS default_period, d.basis,
	       s.set_at, s.set_by
	  FROM childguard._default_deadlines() d
	  LEFT JOIN childguard.deadline_setting s ON s.duty = d.duty;
COMMENT ON VIEW childguard.deadline IS
	'How long the operator allows itself for each kind of request and for incident duties: the law says "promptly" (及时) or "immediately" (立即); these periods are the operator''s reading of it, 15 days for requests by default, set by an officer (set_deadline()).';
REVOKE ALL ON childguard.deadline FROM PUBLIC;

-- The period in force for duty.
CREATE FUNCTION childguard._deadline_period(duty text) RETURNS interval
	LANGUAGE sql STABLE
	SET search_path = pg_catalog, pg_temp
AS $$
	SELECT coalesce(s.period, d.period)
	  FROM childguard._default_deadlines() d
	  LEFT JOIN childguard.deadline_setting s ON s.duty = d.duty
	 WHERE d.duty = _deadline_period.duty
$$;
REVOKE ALL ON FUNCTION childguard._deadline_period(text) FROM PUBLIC;
COMMENT ON FUNCTION childguard._deadline_period(text) IS
	'Internal: the period of a statutory deadline (request kinds, incident report and notice): the officer''s setting, else the default.';

CREATE FUNCTION childguard.set_deadline(duty text, period interval) RETURNS void
	LANGUAGE plpgsql SECURITY DEFINER
	SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	PERFORM childguard._require_officer('set a deadline');
	IF period IS NULL OR period <= '0'::interval THEN
		RAISE EXCEPTION 'a deadline must be a positive period' USING ERRCODE = '22023';
	END IF;
	IF NOT EXISTS (SELECT 1 FROM childguard._default_deadlines() d WHERE d.duty = set_deadline.duty) THEN
		RAISE EXCEPTION 'unknown deadline "%"', duty USING ERRCODE = '22023',
			HINT = 'The deadlines are listed in childguard.deadline.';
	END IF;
	INSERT INTO childguard.deadline_setting (duty, period, set_by)
	VALUES (set_deadline.duty, set_deadline.period, childguard._caller_oid()::regrole)
	ON CONFLICT ON CONSTRAINT deadline_setting_pkey
	DO UPDATE SET period = EXCLUDED.period, set_at = EXCLUDED.set_at, set_by = EXCLUDED.set_by;
END
$$;
COMMENT ON FUNCTION childguard.set_deadline(text, interval) IS
	'Set how long the operator allows for a kind of request or an incident duty (childguard.deadline); requests and incidents already open keep their deadline.';

CREATE TABLE childguard.request (
	request_id		bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	subject_no		bigint NOT NULL REFERENCES childguard.child (subject_no),
	kind			text NOT NULL CHECK (kind IN ('query', 'correction', 'deletion', 'objection')),
	received_at		timestamptz NOT NULL,
	requested_by	text NOT NULL CHECK (requested_by <> ''),
	requester_kind	text NOT NULL CHECK (requester_kind IN ('child', 'guardian')),
	detail			text NOT NULL DEFAULT '',
	due_at			timestamptz NOT NULL,
	status			text NOT NULL DEFAULT 'open'
		CHECK (status IN ('open', 'in_progress', 'done', 'refused')),
	opened_at		timestamptz NOT NULL DEFAULT pg_catalog.now(),
	opened_by		regrole NOT NULL,
	handled_by		regrole,
	closed_at		timestamptz,
	outcome			text,
	CONSTRAINT request_closed_check
		CHECK ((status IN ('done', 'refused')) = (closed_at IS NOT NULL)),
	CONSTRAINT request_refusal_check
		CHECK (status <> 'refused' OR coalesce(outcome, '') <> '')
);
COMMENT ON TABLE childguard.request IS
	'Provisions Art 19/20, Measures Art 17: requests by a child or guardian to see, correct or delete the child''s data, or objections to its processing; the deadline, who handled each, and how it ended.';
-- the read decision looks up open objections by this index (C, catalog.c)
CREATE INDEX request_open_objection_idx ON childguard.request (subject_no)
	WHERE kind = 'objection' AND status IN ('open', 'in_progress');
CREATE INDEX request_subject_idx ON childguard.request (subject_no);
SELECT pg_catalog.pg_extension_config_dump('childguard.request', '');
SELECT pg_catalog.pg_extension_config_dump('childguard.request_request_id_seq', '');
-- an objection opened or closed changes the read decision in every backend
CREATE TRIGGER request_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE
	ON childguard.request FOR EACH STATEMENT EXECUTE FUNCTION childguard._catalog_changed();
REVOKE ALL ON childguard.request FROM PUBLIC;

-- What was done under a request: corrections written, each with its column.
CREATE TABLE childguard.request_action (
	action_id		bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	request_id		bigint NOT NULL REFERENCES childguard.request (request_id),
	action			text NOT NULL CHECK (action IN ('correction')),
	relation		text NOT NULL,
	column_name		name NOT NULL,
	row_count		bigint NOT NULL,
	acted_at		timestamptz NOT NULL DEFAULT pg_catalog.now(),
	acted_by		regrole NOT NULL
);
COMMENT ON TABLE childguard.request_action IS
	'Provisions Art 19: each correction an officer wrote under a correction request (table, column, rows; never the value), beside the access log''s record of the write.';
SELECT pg_catalog.pg_extension_config_dump('childguard.request_action', '');
SELECT pg_catalog.pg_extension_config_dump('childguard.request_action_action_id_seq', '');
REVOKE ALL ON childguard.request_action FROM PUBLIC;

-- A request row for update, or ZC500.
CREATE FUNCTION childguard._request_for_update(request_id bigint) RETURNS childguard.request
	LANGUAGE plpgsql
	SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	r childguard.request;
BEGIN
	SELECT * INTO r FROM childguard.request x WHERE x.request_id = _request_for_update.request_id FOR UPDATE;
	IF r.request_id IS NULL THEN
		RAISE EXCEPTION 'request % does not exist', request_id USING ERRCODE = 'ZC500',
			HINT = 'Requests are listed in childguard.requests.';
	END IF;
	RETURN r;
END
$$;
REVOKE ALL ON FUNCTION childguard._request_for_update(bigint) FROM PUBLIC;
COMMENT ON FUNCTION childguard._request_for_update(bigint) IS
	'Internal: a request, locked for its change (ZC500 if unknown).';

CREATE FUNCTION childguard.open_request(child text, kind text, received_at timestamptz,
										requested_by text, detail text DEFAULT '')
	RETURNS bigint
	LANGUAGE plpgsql SECURITY DEFINER
	SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	s bigint;
	who text;
	due interval;
	id bigint;
BEGIN
	IF child IS NULL OR kind IS NULL OR received_at IS NULL OR requested_by IS NULL THEN
		RAISE EXCEPTION 'child, kind, received_at and requested_by are required' USING ERRCODE = '22004';
	END IF;
	IF kind NOT IN ('query', 'correction', 'deletion', 'objection') THEN
		RAISE EXCEPTION 'unknown request kind "%"', kind USING ERRCODE = '22023',
			HINT = 'A request is a query, correction, deletion or objection.';
	END IF;
	IF received_at > pg_catalog.now() THEN
		RAISE EXCEPTION 'a request cannot be received in the future' USING ERRCODE = '22023',
			DETAIL = 'received_at is after the current time.';
	END IF;
	s := childguard._subject_of(child);
	IF requested_by = child THEN
		who := 'child';
	ELSIF EXISTS (SELECT 1 FROM childguard.child_guardian g
	               WHERE g.subject_no = s AND g.guardian_id = open_request.requested_by) THEN
		who := 'guardian';
	ELSE
		RAISE EXCEPTION '"%" may not make a request about child "%"', requested_by, child
			USING ERRCODE = 'ZC501',
			      DETAIL = 'Provisions Art 19/20 and Measures Art 17 give these rights to the child and the child''s guardians only; the requester is neither the child''s id nor a registered guardian of the child.',
			      HINT = 'Give the child''s id or a guardian id registered with register_guardian().';
	END IF;
	due := childguard._deadline_period('request_' || kind);
	INSERT INTO childguard.request (subject_no, kind, received_at, requested_by, requester_kind,
	                                detail, due_at, opened_by)
	VALUES (s, kind, received_at, requested_by, who, coalesce(detail, ''), received_at + due,
	        childguard._caller_oid()::regrole)
	RETURNING request.request_id INTO id;
	RETURN id;
END
$$;
COMMENT ON FUNCTION childguard.open_request(text, text, timestamptz, text, text) IS
	'Provisions Art 19/20, Measures Art 17: record a request (query, correction, deletion, objection) about a child by the child or one of its guardians, received at received_at; its deadline is received_at plus the kind''s period in childguard.deadline. An open objection stops every read and write of the child''s data but an officer''s.';

CREATE FUNCTION childguard.start_request(request_id bigint) RETURNS void
	LANGUAGE plpgsql SECURITY DEFINER
	SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	r childguard.request;
BEGIN
	PERFORM childguard._require_officer('handle a request');
	r := childguard._request_for_update(request_id);
	IF r.status NOT IN ('open', 'in_progress') THEN
		RAISE EXCEPTION 'request % is already closed', request_id USING ERRCODE = 'ZC502',
			DETAIL = pg_catalog.format('It was closed as %s.', r.status);
	END IF;
	UPDATE childguard.request x SET status = 'in_progress', handled_by = childguard._caller_oid()::regrole
	 WHERE x.request_id = r.request_id;
END
$$;
COMMENT ON FUNCTION childguard.start_request(bigint) IS
	'An officer takes a request in hand: status in_progress, handled by the caller.';

CREATE FUNCTION childguard.close_request(request_id bigint, status text, outcome text DEFAULT NULL)
	RETURNS void
	LANGUAGE plpgsql SECURITY DEFINER
	SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	r childguard.request;
BEGIN
	PERFORM childguard._require_officer('close a request');
	IF status IS NULL OR status NOT IN ('done', 'refused') THEN
		RAISE EXCEPTION 'a request closes as done or refused' USING ERRCODE = '22023',
			DETAIL = pg_catalog.format('Status %s is not a closing status.', coalesce(pg_catalog.quote_literal(status), 'NULL'));
	END IF;
	r := childguard._request_for_update(request_id);
	IF r.status NOT IN ('open', 'in_progress') THEN
		RAISE EXCEPTION 'request % is already closed', request_id USING ERRCODE = 'ZC502',
			DETAIL = pg_catalog.format('It was closed as %s.', r.status);
	END IF;
	IF status = 'refused' AND coalesce(outcome, '') = '' THEN
		RAISE EXCEPTION 'refusing request % needs a reason', request_id USING ERRCODE = 'ZC503',
			DETAIL = 'The child or guardian is owed the reason a request is refused.',
			HINT = 'Give the reason as outcome.';
	END IF;
	UPDATE childguard.request x
	   SET status = close_request.status, outcome = close_request.outcome,
	       closed_at = pg_catalog.now(),
	       handled_by = coalesce(x.handled_by, childguard._caller_oid()::regrole)
	 WHERE x.request_id = r.request_id;
END
$$;
COMMENT ON FUNCTION childguard.close_request(bigint, text, text) IS
	'An officer closes a request as done or refused (a refusal needs its reason); closing an objection lifts its restriction on the child''s data.';

CREATE VIEW childguard.requests AS
	SELECT r.request_id, c.child_id, r.kind, r.status, r.received_at, r.requested_by,
	       r.requester_kind, r.detail, r.due_at,
	       r.status IN ('open', 'in_progress') AND r.due_at < pg_catalog.now() AS overdue,
	       r.closed_at IS NOT NULL AND r.closed_at > r.due_at AS closed_late,
	       r.kind = 'objection' AND r.status IN ('open', 'in_progress') AS restricts_processing,
	       r.opened_at, r.opened_by, r.handled_by, r.closed_at, r.outcome
	  FROM childguard.request r
	  JOIN childguard.child c ON c.subject_no = r.subject_no;
COMMENT ON VIEW childguard.requests IS
	'The request register: each request, its deadline, whether it is overdue (open past due_at) or was closed late, whether it restricts processing (an open objection), who handled it and how it ended.';
REVOKE ALL ON childguard.requests FROM PUBLIC;

-------------------------------------------------------------------------------
-- Correction after consent lapsed (Art 19): an officer writes the corrected
-- value under an open correction request for that child.  The C side
-- (correction_permit.c) lets exactly that child's values of the column's
-- category be sealed without a purpose or consent, for this one UPDATE;
-- the write is in the access log (the officer, the table, the column, the
-- child) and in request_action.
-------------------------------------------------------------------------------

CREATE FUNCTION childguard._permit_correction(subject_no bigint, category text) RETURNS void
	LANGUAGE C AS 'MODULE_PATHNAME', 'cg_permit_correction';
COMMENT ON FUNCTION childguard._permit_correction(bigint, text) IS
	'Internal to correct_child_data(): allow values of category to be sealed for subject_no without purpose or consent until the end of the statement, or until called with NULLs.';
REVOKE ALL ON FUNCTION childguard._permit_correction(bigint, text) FROM PUBLIC;

CREATE FUNCTION childguard.correct_child_data(tbl regclass, child text, col name, new_value text,
											  request_id bigint)
	RETURNS bigint
	LANGUAGE plpgsql SECURITY DEFINER
	SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	r childguard.request;
	s bigint;
	subject_col name;
	cat text;
	coltype text;
	n bigint;
BEGIN
	PERFORM childguard._require_officer('correct child data');
	IF tbl IS NULL OR child IS NULL OR col IS NULL OR request_id IS NULL THEN
		RAISE EXCEPTION 'tbl, child, col and request_id are required' USING ERRCODE = '22004';
	END IF;
	r := childguard._request_for_update(request_id);
	s := childguard._subject_of(child);
	IF r.kind <> 'correction' OR r.status NOT IN ('open', 'in_progress') OR r.subject_no <> s THEN
		RAISE EXCEPTION 'request % is not an open correction request for child "%"', request_id, child
			USING ERRCODE = 'ZC504',
			      DETAIL = pg_catalog.format('Request %s is a %s request about child "%s" (%s); a correction is written only under an open correction request about the same child.',
			                                 r.request_id, r.kind,
			                                 (SELECT c.child_id FROM childguard.child c WHERE c.subject_no = r.subject_no),
			                                 r.status),
			      HINT = 'Open a correction request with open_request(child, ''correction'', ...) first.';
	END IF;
	-- two people: the officer who writes is not the one who recorded the
	-- request (nor related to it), so no one alone makes a request and
	-- writes under it
	IF childguard._roles_related(childguard._caller_oid(), r.opened_by::oid) THEN
		RAISE EXCEPTION 'a correction is written by someone other than who recorded its request'
			USING ERRCODE = 'ZC506',
			      DETAIL = pg_catalog.format('Request %s was recorded by %s, the same person as the caller (or related by role membership).',
			                                 r.request_id, r.opened_by),
			      HINT = 'Another officer writes the correction, or the application records the request.';
	END IF;
	SELECT p.subject_column INTO subject_col
	  FROM childguard.protected_columns p WHERE p.table_name = tbl AND p.is_protected LIMIT 1;
	IF subject_col IS NULL THEN
		RAISE EXCEPTION 'table % is not a protected table', tbl USING ERRCODE = '22023',
			HINT = 'Corrections are written to tables protected with childguard.protect().';
	END IF;
	SELECT pg_catalog.format_type(a.atttypid, a.atttypmod) INTO coltype
	  FROM pg_catalog.pg_attribute a
	 WHERE a.attrelid = tbl AND a.attname = col AND a.attnum > 0 AND NOT a.attisdropped;
	IF coltype IS NULL THEN
		RAISE EXCEPTION 'column "%" of table % does not exist', col, tbl USING ERRCODE = '42703';
	END IF;
	IF col = subject_col THEN
		RAISE EXCEPTION 'the subject column "%" cannot be corrected', col USING ERRCODE = '22023',
			DETAIL = 'It says whose data the row is; a child registered under a wrong id is a new registration.';
	END IF;
	SELECT p.category INTO cat FROM childguard.protected_columns p
	 WHERE p.table_name = tbl AND p.column_name = col;
	IF cat IS NOT NULL THEN
		PERFORM childguard._permit_correction(s, cat);
	END IF;
	-- a correction replaces a value held; filling an empty one is collection
	EXECUTE pg_catalog.format('UPDATE %s SET %I = $1::%s WHERE %I::text OPERATOR(pg_catalog.=) $2 AND %I IS NOT NULL',
	                          tbl, col, coltype, subject_col, col)
		USING new_value, child;
	GET DIAGNOSTICS n = ROW_COUNT;
	IF cat IS NOT NULL THEN
		PERFORM childguard._permit_correction(NULL, NULL);
	END IF;
	INSERT INTO childguard.request_action (request_id, action, relation, column_name, row_count, acted_by)
	VALUES (r.request_id, 'correction', tbl::text, col, n, childguard._caller_oid()::regrole);
	UPDATE childguard.request x
	   SET status = 'in_progress', handled_by = coalesce(x.handled_by, childguard._caller_oid()::regrole)
	 WHERE x.request_id = r.request_id AND x.status = 'open';
	RETURN n;
END
$$;
COMMENT ON FUNCTION childguard.correct_child_data(regclass, text, name, text, bigint) IS
	'Provisions Art 19: an officer writes the corrected value of one column of a child''s rows in a protected table (rows where it holds a value), under an open correction request of that child recorded by someone else, whether or not any consent is in force; recorded in request_action and the access log. Returns the number of rows changed.';
REVOKE ALL ON FUNCTION childguard.correct_child_data(regclass, text, name, text, bigint) FROM PUBLIC;

-------------------------------------------------------------------------------
-- The request register's duties in the compliance report (part 75).
-------------------------------------------------------------------------------

-- Art 19, 20, Measures Art 17: no request is open past its deadline.
CREATE FUNCTION childguard.duty_requests_on_time()
	RETURNS TABLE (pass boolean, reason text, objects text[])
	LANGUAGE sql STABLE
	SET search_path = pg_catalog, pg_temp
AS $$
	WITH bad AS (
		SELECT pg_catalog.format('request %s (%s, child "%s"): due %s', r.request_id, r.kind,
		                         r.child_id, r.due_at) AS what
		  FROM childguard.requests r WHERE r.overdue)
	SELECT NOT EXISTS (SELECT 1 FROM bad),
	       CASE WHEN NOT EXISTS (SELECT 1 FROM bad)
	            THEN pg_catalog.format('No request is open past its deadline (%s open).',
	                     (SELECT pg_catalog.count(*) FROM childguard.request x WHERE x.status IN ('open', 'in_progress')))
	            ELSE 'Provisions Art 19/20, Measures Art 17: requests open past their deadline (the law asks for prompt handling).' END,
	       coalesce((SELECT pg_catalog.array_agg(bad.what ORDER BY bad.what) FROM bad), '{}')
$$;

-- Measures Art 17: open objections restrict processing: the read
-- decision finds them (the index it reads and the trigger that tells
-- every backend are in place) and none is left unhandled past its
-- deadline.
CREATE FUNCTION childguard.duty_objections_restrict()
	RETURNS TABLE (pass boolean, reason text, objects text[])
	LANGUAGE sql STABLE
	SET search_path = pg_catalog, pg_temp
AS $$
	WITH bad AS (
		SELECT 'index childguard.request_open_objection_idx is missing or invalid' AS what
		 WHERE NOT EXISTS (SELECT 1 FROM pg_catalog.pg_index i
		                    WHERE i.indexrelid = pg_catalog.to_regclass('childguard.request_open_objection_idx')
		                      AND i.indisvalid AND i.indisready)
		UNION ALL
		SELECT 'trigger request_changed on childguard.request is missing or disabled'
		 WHERE NOT EXISTS (SELECT 1 FROM pg_catalog.pg_trigger t
		                    WHERE t.tgrelid = 'childguard.request'::pg_catalog.regclass
		                      AND t.tgname = 'request_changed' AND t.tgenabled <> 'D')
		UNION ALL
		SELECT pg_catalog.format('objection %s (child "%s"): due %s', r.request_id, r.child_id, r.due_at)
		  FROM childguard.requests r WHERE r.kind = 'objection' AND r.overdue)
	SELECT NOT EXISTS (SELECT 1 FROM bad),
	       CASE WHEN NOT EXISTS (SELECT 1 FROM bad)
	            THEN pg_catalog.format('%s open objection(s) restrict processing of their children''s data; none is past its deadline.',
	                     (SELECT pg_catalog.count(*) FROM childguard.request x
	                       WHERE x.kind = 'objection' AND x.status IN ('open', 'in_progress')))
	            ELSE 'Measures Art 17: objections are not restricting processing as they should, or are left unhandled past their deadline.' END,
	       coalesce((SELECT pg_catalog.array_agg(bad.what ORDER BY bad.what) FROM bad), '{}')
$$;

REVOKE ALL ON FUNCTION childguard.duty_requests_on_time() FROM PUBLIC;
REVOKE ALL ON FUNCTION childguard.duty_objections_restrict() FROM PUBLIC;
COMMENT ON FUNCTION childguard.duty_requests_on_time() IS
	'The compliance report''s live check of one duty (childguard.compliance_duty).';
COMMENT ON FUNCTION childguard.duty_objections_restrict() IS
	'The compliance report''s live check of one duty (childguard.compliance_duty).';
INSERT INTO childguard.compliance_duty (duty, article, what_is_checked, check_function, test) VALUES
	('requests_on_time', 'Provisions Art 19, 20',
	 'no request (query, correction, deletion, objection) is open past its deadline (Measures Art 17)',
	 'childguard.duty_requests_on_time()', 'sql/compliance_report.sql'),
	('objections_restrict', 'Measures Art 17',
	 'open objections restrict processing (the read decision''s index and trigger are in place) and none is past its deadline',
	 'childguard.duty_objections_restrict()', 'sql/compliance_report.sql');
-------------------------------------------------------------------------------
-- Part 72: the incident register (issue 14, item 5; Provisions Art 21).
-- An incident (data leaked, damaged or lost, or possibly so) is recorded
-- when found, with its scope: the roles and time window whose accesses are
-- suspect, and the children and guardians breach_impact() finds for them,
-- stored when the incident is opened (the access log may later be trimmed
-- by its retention).  The report to the authority, each guardian's
-- notification (method and time) and any public notice are recorded; an
-- incident cannot be closed until every affected guardian is notified or a
-- public notice has been issued (ZC510).
-------------------------------------------------------------------------------

CREATE TABLE childguard.incident (
	incident_id		bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	found_at		timestamptz NOT NULL,
	description		text NOT NULL CHECK (description <> ''),
	scope_roles		text[] NOT NULL,
	scope_from		timestamptz NOT NULL,
	scope_to		timestamptz NOT NULL,
	report_due_at	timestamptz NOT NULL,
	notice_due_at	timestamptz NOT NULL,
	opened_at		timestamptz NOT NULL DEFAULT pg_catalog.now(),
	opened_by		regrole NOT NULL,
	closed_at		timestamptz,
	closed_by		regrole,
	CONSTRAINT incident_window_check CHECK (scope_to >= scope_from)
);
COMMENT ON TABLE childguard.incident IS
	'Provisions Art 21: incidents where children''s data leaked, was damaged or lost (or may have been): when found, the suspect roles and window, deadlines for the report and notices, when closed.';

CREATE TABLE childguard.incident_child (
	incident_id		bigint NOT NULL REFERENCES childguard.incident (incident_id),
	subject_no		bigint NOT NULL,
	child_id		text,
	statements		bigint NOT NULL,
	relations		text[],
	columns			text[],
	CONSTRAINT incident_child_pkey PRIMARY KEY (incident_id, subject_no)
);
COMMENT ON TABLE childguard.incident_child IS
	'Provisions Art 21: the children an incident affects, from breach_impact() when it was opened.';

CREATE TABLE childguard.incident_guardian (
	incident_id		bigint NOT NULL REFERENCES childguard.incident (incident_id),
	guardian_id		text NOT NULL,
	CONSTRAINT incident_guardian_pkey PRIMARY KEY (incident_id, guardian_id)
);
COMMENT ON TABLE childguard.incident_guardian IS
	'Provisions Art 21: the guardians to tell of an incident (those of its children).';

CREATE TABLE childguard.incident_event (
	event_id		bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	incident_id		bigint NOT NULL REFERENCES childguard.incident (incident_id),
	kind			text NOT NULL CHECK (kind IN ('authority_report', 'notification', 'public_notice')),
	at				timestamptz NOT NULL,
	authority		text,
	reference		text,
	guardian_id		text,
	method			text,
	notice_where	text,
	recorded_at		timestamptz NOT NULL DEFAULT pg_catalog.now(),
	recorded_by		regrole NOT NULL,
	CONSTRAINT incident_event_fields_check CHECK (
		(kind = 'authority_report' AND coalesce(authority, '') <> '' AND guardian_id IS NULL) OR
		(kind = 'notification' AND guardian_id IS NOT NULL AND coalesce(method, '') <> '') OR
		(kind = 'public_notice' AND coalesce(notice_where, '') <> '' AND guardian_id IS NULL))
);
COMMENT ON TABLE childguard.incident_event IS
	'Provisions Art 21: what was done about an incident: the report to the authority (who, reference), each guardian told (method, time), public notices (where).';

SELECT pg_catalog.pg_extension_config_dump('childguard.incident', '');
SELECT pg_catalog.pg_extension_config_dump('childguard.incident_incident_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('childguard.incident_child', '');
SELECT pg_catalog.pg_extension_config_dump('childguard.incident_guardian', '');
SELECT pg_catalog.pg_extension_config_dump('childguard.incident_event', '');
SELECT pg_catalog.pg_extension_config_dump('childguard.incident_event_event_id_seq', '');
REVOKE ALL ON childguard.incident, childguard.incident_child, childguard.incident_guardian,
	childguard.incident_event FROM PUBLIC;

-- An incident row for update, or ZC511.
CREATE FUNCTION childguard._incident_for_update(incident_id bigint, open_only boolean)
	RETURNS childguard.incident
	LANGUAGE plpgsql
	SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	i childguard.incident;
BEGIN
	SELECT * INTO i FROM childguard.incident x
	 WHERE x.incident_id = _incident_for_update.incident_id FOR UPDATE;
	IF i.incident_id IS NULL THEN
		RAISE EXCEPTION 'incident % does not exist', incident_id USING ERRCODE = 'ZC511',
			HINT = 'Incidents are listed in childguard.incidents.';
	END IF;
	IF open_only AND i.closed_at IS NOT NULL THEN
		RAISE EXCEPTION 'incident % is closed', incident_id USING ERRCODE = 'ZC512',
			DETAIL = 'A closed incident is not changed.';
	END IF;
	RETURN i;
END
$$;
REVOKE ALL ON FUNCTION childguard._incident_for_update(bigint, boolean) FROM PUBLIC;
COMMENT ON FUNCTION childguard._incident_for_update(bigint, boolean) IS
	'Internal: an incident, locked for its change (ZC511 if unknown; ZC512 if closed and open_only).';

CREATE FUNCTION childguard.open_incident(found_at timestamptz, description text, roles text[],
										 from_time timestamptz, to_time timestamptz)
	RETURNS bigint
	LANGUAGE plpgsql SECURITY DEFINER
	SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	id bigint;
BEGIN
	PERFORM childguard._require_officer('record an incident');
	IF found_at IS NULL OR description IS NULL OR roles IS NULL OR from_time IS NULL OR to_time IS NULL THEN
		RAISE EXCEPTION 'found_at, description, roles, from_time and to_time are required'
			USING ERRCODE = '22004';
	END IF;
	IF description = '' OR pg_catalog.cardinality(roles) = 0 THEN
		RAISE EXCEPTION 'an incident needs a description and at least one role in its scope'
			USING ERRCODE = '22023';
	END IF;
	IF found_at > pg_catalog.now() THEN
		RAISE EXCEPTION 'an incident cannot be found in the future' USING ERRCODE = '22023';
	END IF;
	IF to_time < from_time THEN
		RAISE EXCEPTION 'the window ends before it begins' USING ERRCODE = '22023',
			DETAIL = 'to_time is earlier than from_time.';
	END IF;
	INSERT INTO childguard.incident (found_at, description, scope_roles, scope_from, scope_to,
	                                 report_due_at, notice_due_at, opened_by)
	VALUES (found_at, description, roles, from_time, to_time,
	        found_at + childguard._deadline_period('incident_report'),
	        found_at + childguard._deadline_period('incident_notice'),
	        childguard._caller_oid()::regrole)
	RETURNING incident.incident_id INTO id;
	INSERT INTO childguard.incident_child (incident_id, subject_no, child_id, statements, relations, columns)
	SELECT id, b.subject_no, b.child_id, b.statements, b.relations, b.columns
	  FROM childguard.breach_impact(roles, from_time, to_time) b;
	INSERT INTO childguard.incident_guardian (incident_id, guardian_id)
	SELECT DISTINCT id, g FROM childguard.breach_impact(roles, from_time, to_time) b,
	       pg_catalog.unnest(b.guardians) g;
	RETURN id;
END
$$;
COMMENT ON FUNCTION childguard.open_incident(timestamptz, text, text[], timestamptz, timestamptz) IS
	'Provisions Art 21: record an incident found at found_at; its scope is what the given roles read or wrote in [from_time, to_time) (breach_impact()), stored with the incident: the children affected and their guardians to notify.';

CREATE FUNCTION childguard.record_authority_report(incident_id bigint, at timestamptz,
												   authority text, reference text DEFAULT NULL)
	RETURNS bigint
	LANGUAGE plpgsql SECURITY DEFINER
	SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	i childguard.incident;
	id bigint;
BEGIN
	PERFORM childguard._require_officer('record an incident report');
	IF at IS NULL OR coalesce(authority, '') = '' THEN
		RAISE EXCEPTION 'the time and the authority are required' USING ERRCODE = '22023';
	END IF;
	i := childguard._incident_for_update(incident_id, true);
	IF at < i.found_at OR at > pg_catalog.now() THEN
		RAISE EXCEPTION 'a report is made between the incident''s finding and now' USING ERRCODE = '22023',
			DETAIL = 'The time given is before the incident was found, or in the future.';
	END IF;
	INSERT INTO childguard.incident_event (incident_id, kind, at, authority, reference, recorded_by)
	VALUES (i.incident_id, 'authority_report', at, authority, reference, childguard._caller_oid()::regrole)
	RETURNING event_id INTO id;
	RETURN id;
END
$$;
COMMENT ON FUNCTION childguard.record_authority_report(bigint, timestamptz, text, text) IS
	'Provisions Art 21: record the report of an incident to the competent authority (which, when, its reference).';

CREATE FUNCTION childguard.record_notification(incident_id bigint, guardian_id text, method text,
											   at timestamptz)
	RETURNS bigint
	LANGUAGE plpgsql SECURITY DEFINER
	SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	i childguard.incident;
	id bigint;
BEGIN
	PERFORM childguard._require_officer('record an incident notification');
	IF guardian_id IS NULL OR at IS NULL OR coalesce(method, '') = '' THEN
		RAISE EXCEPTION 'the guardian, the method and the time are required' USING ERRCODE = '22023',
			HINT = 'Art 21 names e-mail, letter, telephone and push notification as methods.';
	END IF;
	i := childguard._incident_for_update(incident_id, true);
	IF NOT EXISTS (SELECT 1 FROM childguard.incident_guardian g
	                WHERE g.incident_id = i.incident_id AND g.guardian_id = record_notification.guardian_id) THEN
		RAISE EXCEPTION 'guardian "%" is not affected by incident %', guardian_id, incident_id
			USING ERRCODE = 'ZC513',
			      DETAIL = 'Only the guardians of the incident''s children (childguard.incidents) are notified under it.';
	END IF;
	IF at < i.found_at OR at > pg_catalog.now() THEN
		RAISE EXCEPTION 'a notification is made between the incident''s finding and now' USING ERRCODE = '22023',
			DETAIL = 'The time given is before the incident was found, or in the future.';
	END IF;
	INSERT INTO childguard.incident_event (incident_id, kind, at, guardian_id, method, recorded_by)
	VALUES (i.incident_id, 'notification', at, guardian_id, method, childguard._caller_oid()::regrole)
	RETURNING event_id INTO id;
	RETURN id;
END
$$;
COMMENT ON FUNCTION childguard.record_notification(bigint, text, text, timestamptz) IS
	'Provisions Art 21: record that an affected guardian was told of the incident, how (e-mail, letter, telephone, push notification) and when.';

CREATE FUNCTION childguard.record_public_notice(incident_id bigint, at timestamptz, notice_where text)
	RETURNS bigint
	LANGUAGE plpgsql SECURITY DEFINER
	SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	i childguard.incident;
	id bigint;
BEGIN
	PERFORM childguard._require_officer('record a public notice');
	IF at IS NULL OR coalesce(notice_where, '') = '' THEN
		RAISE EXCEPTION 'the time and where the notice was published are required' USING ERRCODE = '22023';
	END IF;
	i := childguard._incident_for_update(incident_id, true);
	IF at < i.found_at OR at > pg_catalog.now() THEN
		RAISE EXCEPTION 'a notice is published between the incident''s finding and now' USING ERRCODE = '22023',
			DETAIL = 'The time given is before the incident was found, or in the future.';
	END IF;
	INSERT INTO childguard.incident_event (incident_id, kind, at, notice_where, recorded_by)
	VALUES (i.incident_id, 'public_notice', at, notice_where, childguard._caller_oid()::regrole)
	RETURNING event_id INTO id;
	RETURN id;
END
$$;
COMMENT ON FUNCTION childguard.record_public_notice(bigint, timestamptz, text) IS
	'Provisions Art 21: record a public warning notice, for when telling each child and guardian is impractical.';

-- The affected guardians not yet notified of an incident.
CREATE FUNCTION childguard._incident_unnotified(incident_id bigint) RETURNS text[]
	LANGUAGE sql STABLE
	SET search_path = pg_catalog, pg_temp
AS $$
	SELECT coalesce(pg_catalog.array_agg(g.guardian_id ORDER BY g.guardian_id), '{}')
	  FROM childguard.incident_guardian g
	 WHERE g.incident_id = _incident_unnotified.incident_id
	   AND NOT EXISTS (SELECT 1 FROM childguard.incident_event e
	                    WHERE e.incident_id = g.incident_id AND e.kind = 'notification'
	                      AND e.guardian_id = g.guardian_id)
$$;
REVOKE ALL ON FUNCTION childguard._incident_unnotified(bigint) FROM PUBLIC;
COMMENT ON FUNCTION childguard._incident_unnotified(bigint) IS
	'Internal: the affected guardians of an incident not yet notified.';

CREATE FUNCTION childguard.close_incident(incident_id bigint) RETURNS void
	LANGUAGE plpgsql SECURITY DEFINER
	SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	i childguard.incident;
	missing text[];
BEGIN
	PERFORM childguard._require_officer('close an incident');
	i := childguard._incident_for_update(incident_id, true);
	missing := childguard._incident_unnotified(i.incident_id);
	IF pg_catalog.cardinality(missing) > 0 AND NOT EXISTS (
			SELECT 1 FROM childguard.incident_event e
			 WHERE e.incident_id = i.incident_id AND e.kind = 'public_notice') THEN
		RAISE EXCEPTION 'incident % cannot be closed: % affected guardian(s) not notified',
			incident_id, pg_catalog.cardinality(missing)
			USING ERRCODE = 'ZC510',
			      DETAIL = pg_catalog.format('Provisions Art 21: not notified: %s.',
			                                 pg_catalog.array_to_string(missing, ', ')),
			      HINT = 'Record each notification with record_notification(), or a public notice with record_public_notice().';
	END IF;
	UPDATE childguard.incident x SET closed_at = pg_catalog.now(), closed_by = childguard._caller_oid()::regrole
	 WHERE x.incident_id = i.incident_id;
END
$$;
COMMENT ON FUNCTION childguard.close_incident(bigint) IS
	'Provisions Art 21: close an incident; refused (ZC510) until every affected guardian is notified or a public notice is recorded.';

CREATE VIEW childguard.incidents AS
	SELECT i.incident_id, i.found_at, i.description, i.scope_roles, i.scope_from, i.scope_to,
	       (SELECT pg_catalog.count(*) FROM childguard.incident_child c
	         WHERE c.incident_id = i.incident_id) AS children,
	       (SELECT pg_catalog.count(*) FROM childguard.incident_guardian g
	         WHERE g.incident_id = i.incident_id) AS guardians,
	       (SELECT pg_catalog.min(e.at) FROM childguard.incident_event e
	         WHERE e.incident_id = i.incident_id AND e.kind = 'authority_report') AS reported_at,
	       i.report_due_at,
	       (SELECT pg_catalog.count(DISTINCT e.guardian_id) FROM childguard.incident_event e
	         WHERE e.incident_id = i.incident_id AND e.kind = 'notification') AS guardians_notified,
	       (SELECT coalesce(pg_catalog.array_agg(g.guardian_id ORDER BY g.guardian_id), '{}')
	          FROM childguard.incident_guardian g
	         WHERE g.incident_id = i.incident_id
	           AND NOT EXISTS (SELECT 1 FROM childguard.incident_event e
	                            WHERE e.incident_id = g.incident_id AND e.kind = 'notification'
	                              AND e.guardian_id = g.guardian_id)) AS not_notified,
	       (SELECT pg_catalog.min(e.at) FROM childguard.incident_event e
	         WHERE e.incident_id = i.incident_id AND e.kind = 'public_notice') AS public_notice_at,
	       i.notice_due_at,
	       i.closed_at IS NULL AND pg_catalog.now() > i.report_due_at AND NOT EXISTS (
	           SELECT 1 FROM childguard.incident_event e
	            WHERE e.incident_id = i.incident_id AND e.kind = 'authority_report') AS report_overdue,
	       i.closed_at IS NULL AND pg_catalog.now() > i.notice_due_at
	           AND EXISTS (SELECT 1 FROM childguard.incident_guardian g
	                        WHERE g.incident_id = i.incident_id
	                          AND NOT EXISTS (SELECT 1 FROM childguard.incident_event e
	                                           WHERE e.incident_id = g.incident_id AND e.kind = 'notification'
	                                             AND e.guardian_id = g.guardian_id))
	           AND NOT EXISTS (SELECT 1 FROM childguard.incident_event e
	                            WHERE e.incident_id = i.incident_id AND e.kind = 'public_notice')
	           AS notice_overdue,
	       i.opened_at, i.opened_by, i.closed_at, i.closed_by
	  FROM childguard.incident i;
COMMENT ON VIEW childguard.incidents IS
	'Provisions Art 21: each incident, how many children and guardians it affects, when it was reported, which guardians are not yet notified, any public notice, whether the report or the notices are overdue, and when it was closed.';
REVOKE ALL ON childguard.incidents FROM PUBLIC;

-- Art 21: no open incident is past its deadline for the report to the
-- authority or for the notices.
CREATE FUNCTION childguard.duty_incidents_handled()
	RETURNS TABLE (pass boolean, reason text, objects text[])
	LANGUAGE sql STABLE
	SET search_path = pg_catalog, pg_temp
AS $$
	WITH bad AS (
		SELECT pg_catalog.format('incident %s: %s', i.incident_id,
		           pg_catalog.concat_ws(' and ',
		               CASE WHEN i.report_overdue THEN pg_catalog.format('not reported to the authority (due %s)', i.report_due_at) END,
		               CASE WHEN i.notice_overdue THEN pg_catalog.format('%s guardian(s) not notified and no public notice (due %s)',
		                                                                 pg_catalog.cardinality(i.not_notified), i.notice_due_at) END)) AS what
		  FROM childguard.incidents i WHERE i.report_overdue OR i.notice_overdue)
	SELECT NOT EXISTS (SELECT 1 FROM bad),
	       CASE WHEN NOT EXISTS (SELECT 1 FROM bad)
	            THEN pg_catalog.format('No incident is past its deadline for the report or the notices (%s open).',
	                     (SELECT pg_catalog.count(*) FROM childguard.incident x WHERE x.closed_at IS NULL))
	            ELSE 'Provisions Art 21: incidents not reported to the authority, or whose affected guardians were not told, in time.' END,
	       coalesce((SELECT pg_catalog.array_agg(bad.what ORDER BY bad.what) FROM bad), '{}')
$$;
REVOKE ALL ON FUNCTION childguard.duty_incidents_handled() FROM PUBLIC;
COMMENT ON FUNCTION childguard.duty_incidents_handled() IS
	'The compliance report''s live check of one duty (childguard.compliance_duty).';
INSERT INTO childguard.compliance_duty (duty, article, what_is_checked, check_function, test) VALUES
	('incidents_handled', 'Provisions Art 21',
	 'no open incident is past its deadline for the report to the authority or for notifying every affected guardian (or a public notice)',
	 'childguard.duty_incidents_handled()', 'sql/compliance_report.sql');
-------------------------------------------------------------------------------
-- Part 75: the compliance report (issue 14, item 6; Provisions Art 22: the
-- operator co-operates with inspections).  One row per duty registered in
-- childguard.compliance_duty (part 05), computed live when it is read:
-- each duty's check function is called in turn, in a subtransaction of its
-- own, so a check that raises reports status 'error' with its SQLSTATE and
-- message instead of aborting the report; a check that returns no row or
-- several, or no verdict, is an 'error' too.
--
-- For officers and the extension's owner (an inspector is given an officer
-- appointment or the owner's membership); the checks run as the
-- extension's owner, since they read registries and catalogs no officer
-- reads directly (data keys, the logs' chains).
-------------------------------------------------------------------------------

CREATE FUNCTION childguard.compliance_check()
	RETURNS TABLE (duty text, article text, what_is_checked text, status text, pass boolean,
	               reason text, objects text[], error_sqlstate text, test text, checked_at timestamptz)
	LANGUAGE plpgsql VOLATILE SECURITY DEFINER
	SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	d record;
	r record;
	n integer;
BEGIN
	PERFORM childguard._require_auditor('read the compliance report');
	FOR d IN SELECT x.* FROM childguard.compliance_duty x
	          ORDER BY CASE WHEN x.article LIKE 'Provisions%' THEN 0
	                        WHEN x.article LIKE 'Measures%' THEN 1 ELSE 2 END,
	                   (pg_catalog.regexp_match(x.article, '\d+'))[1]::integer NULLS LAST,
	                   x.article, x.duty LOOP
		duty := d.duty;
		article := d.article;
		what_is_checked := d.what_is_checked;
		test := d.test;
		error_sqlstate := NULL;
		pass := NULL;
		objects := '{}';
		checked_at := pg_catalog.clock_timestamp();
		BEGIN
			n := 0;
			FOR r IN EXECUTE pg_catalog.format('SELECT c.pass, c.reason, c.objects FROM %s() AS c',
			                                   d.check_function::oid::regproc) LOOP
				n := n + 1;
				pass := r.pass;
				reason := r.reason;
				objects := coalesce(r.objects, '{}');
			END LOOP;
			IF n <> 1 THEN
				status := 'error';
				pass := NULL;
				objects := '{}';
				reason := pg_catalog.format('the check %s returned %s rows instead of one',
				                            d.check_function, n);
			ELSIF pass IS NULL THEN
				status := 'error';
				reason := pg_catalog.format('the check %s returned no verdict: %s',
				                            d.check_function, coalesce(reason, 'no reason given'));
			ELSE
				status := CASE WHEN pass THEN 'pass' ELSE 'fail' END;
			END IF;
		EXCEPTION WHEN OTHERS THEN
			GET STACKED DIAGNOSTICS error_sqlstate = RETURNED_SQLSTATE, reason = MESSAGE_TEXT;
			status := 'error';
			pass := NULL;
			objects := '{}';
		END;
		RETURN NEXT;
	END LOOP;
END
$$;
COMMENT ON FUNCTION childguard.compliance_check() IS
	'Provisions Art 22: run every duty''s check (childguard.compliance_duty) now: pass, fail or error (a check that raised: its SQLSTATE and message), why, and the objects at fault.';
REVOKE ALL ON FUNCTION childguard.compliance_check() FROM PUBLIC;

CREATE VIEW childguard.compliance_report AS
	SELECT c.duty, c.article, c.what_is_checked, c.status, c.reason, c.objects, c.error_sqlstate AS sqlstate,
	       c.test, c.checked_at
	  FROM childguard.compliance_check() c;
COMMENT ON VIEW childguard.compliance_report IS
	'Provisions Art 22: one row per duty the database checks (article, what is checked, pass/fail/error, why, the objects at fault, the test that breaks and repairs it), computed live when read.';
REVOKE ALL ON childguard.compliance_report FROM PUBLIC;
-------------------------------------------------------------------------------
-- Part 76: the duties childguard enforced before 1.4, each with its live
-- check for the compliance report (part 75).  The API refuses to create
-- most of these faults; the checks look at what the registries and
-- catalogs hold now, so they also find what was changed around the API (a
-- superuser's edit, a role membership granted later, a restore) and what
-- time alone brings about (a retention that has run out).  Every duty is
-- broken and repaired in sql/compliance_report.sql.
-------------------------------------------------------------------------------

-- Art 8: a person responsible is appointed.
CREATE FUNCTION childguard.duty_officer_appointed()
	RETURNS TABLE (pass boolean, reason text, objects text[])
	LANGUAGE sql STABLE
	SET search_path = pg_catalog, pg_temp
AS $$
	WITH o AS (SELECT coalesce(childguard._role_name(x.role), x.role_name::name)::text AS name,
	                  childguard._role_alive(x.role) AS alive
	             FROM childguard.officer x)
	SELECT (SELECT pg_catalog.count(*) FROM o WHERE o.alive) > 0,
	       CASE WHEN (SELECT pg_catalog.count(*) FROM o WHERE o.alive) > 0
	            THEN pg_catalog.format('%s protection officer(s) appointed: %s.',
	                     (SELECT pg_catalog.count(*) FROM o WHERE o.alive),
	                     (SELECT pg_catalog.string_agg(o.name, ', ' ORDER BY o.name) FROM o WHERE o.alive))
	            ELSE 'No protection officer is appointed (or every appointed role is gone): nobody is responsible for children''s data.' END,
	       coalesce((SELECT pg_catalog.array_agg(o.name ORDER BY o.name) FROM o WHERE NOT o.alive), '{}')
$$;

-- Art 7: every grant names only defined purposes; every purpose names
-- known categories.
CREATE FUNCTION childguard.duty_purposes_defined()
	RETURNS TABLE (pass boolean, reason text, objects text[])
	LANGUAGE sql STABLE
	SET search_path = pg_catalog, pg_temp
AS $$
	WITH bad AS (
		SELECT pg_catalog.format('grant %s: purpose "%s"', g.grant_id, p) AS what
		  FROM childguard.access_grant g, pg_catalog.unnest(g.purposes) p
		 WHERE g.revoked_at IS NULL
		   AND NOT EXISTS (SELECT 1 FROM childguard.purpose x WHERE x.purpose = p)
		UNION ALL
		SELECT pg_catalog.format('purpose "%s": category "%s"', x.purpose, k)
		  FROM childguard.purpose x, pg_catalog.unnest(x.categories) k
		 WHERE NOT EXISTS (SELECT 1 FROM childguard.category c WHERE c.category = k))
	SELECT NOT EXISTS (SELECT 1 FROM bad),
	       CASE WHEN NOT EXISTS (SELECT 1 FROM bad)
	            THEN 'Every grant names defined purposes, and every purpose known categories.'
	            ELSE 'Art 7: processing is for declared, defined purposes: these name a purpose or category that is not defined.' END,
	       coalesce((SELECT pg_catalog.array_agg(bad.what ORDER BY bad.what) FROM bad), '{}')
$$;

-- Art 9, Measures Art 12: a consent that counts was given by the person
-- the child's age and circumstances require.
CREATE FUNCTION childguard.duty_consent_by_entitled()
	RETURNS TABLE (pass boolean, reason text, objects text[])
	LANGUAGE sql STABLE
	SET search_path = pg_catalog, pg_temp
AS $$
	WITH bad AS (
		SELECT pg_catalog.format('consent %s (child "%s"): %s', k.consent_id, c.child_id,
		           CASE WHEN k.giver_kind = 'guardian'
		                THEN pg_catalog.format('guardian "%s" is not a registered guardian of the child', k.guardian_id)
		                ELSE 'given by the child before the age of 14' END) AS what
		  FROM childguard.consent k JOIN childguard._child_open c USING (subject_no)
		 WHERE k.decision = 'granted' AND k.withdrawn_at IS NULL AND k.lapsed_at IS NULL
		   AND c.erased_at IS NULL
		   AND CASE WHEN k.giver_kind = 'guardian'
		            THEN NOT EXISTS (SELECT 1 FROM childguard.child_guardian g
		                              WHERE g.subject_no = k.subject_no AND g.guardian_id = k.guardian_id)
		            ELSE childguard.child_age(c.birth_date, (k.given_at AT TIME ZONE 'UTC')::date) < 14 END)
	SELECT NOT EXISTS (SELECT 1 FROM bad),
	       CASE WHEN NOT EXISTS (SELECT 1 FROM bad)
	            THEN 'Every consent in force was given by a registered guardian of the child, or by the child at 14 or over.'
	            ELSE 'Art 9, Measures Art 12: consents in force given by someone not entitled to give them.' END,
	       coalesce((SELECT pg_catalog.array_agg(bad.what ORDER BY bad.what) FROM bad), '{}')
$$;

-- Measures Art 12: for a child in difficult circumstances, a consent of the
-- child's own counts only with a registered guardian informed, and a child
-- who cannot express their will needs a guardian's consent.
CREATE FUNCTION childguard.duty_difficulty_consent()
	RETURNS TABLE (pass boolean, reason text, objects text[])
	LANGUAGE sql STABLE
	SET search_path = pg_catalog, pg_temp
AS $$
	WITH k AS (
		SELECT k.*, c.child_id, c.can_express, p.purpose
		  FROM childguard.consent k JOIN childguard._child_open c USING (subject_no)
		  JOIN childguard.purpose p USING (purpose_id)
		 WHERE k.decision = 'granted' AND k.withdrawn_at IS NULL AND k.lapsed_at IS NULL
		   AND c.erased_at IS NULL AND c.in_difficulty),
	     bad AS (
		SELECT pg_catalog.format('consent %s (child "%s"): no registered guardian informed', k.consent_id, k.child_id) AS what
		  FROM k
		 WHERE k.giver_kind = 'child'
		   AND NOT EXISTS (SELECT 1 FROM childguard.child_guardian g
		                    WHERE g.subject_no = k.subject_no AND g.guardian_id = k.informed_guardian_id)
		UNION
		SELECT pg_catalog.format('child "%s", purpose "%s": the child cannot express their will and no guardian consented',
		                         k.child_id, k.purpose)
		  FROM k
		 WHERE NOT k.can_express AND k.giver_kind = 'child'
		   AND NOT EXISTS (SELECT 1 FROM k k2
		                    WHERE k2.subject_no = k.subject_no AND k2.purpose_id = k.purpose_id
		                      AND k2.giver_kind = 'guardian'))
	SELECT NOT EXISTS (SELECT 1 FROM bad),
	       CASE WHEN NOT EXISTS (SELECT 1 FROM bad)
	            THEN 'Every consent in force of a child in difficult circumstances has a registered guardian informed, or a guardian''s consent where the child cannot express their will.'
	            ELSE 'Measures Art 12: consents in force of children in difficult circumstances without the guardian the Measures require.' END,
	       coalesce((SELECT pg_catalog.array_agg(bad.what ORDER BY bad.what) FROM bad), '{}')
$$;

-- Art 10: every purpose with consents in force is covered by the current
-- version of a notice carrying the seven items.
CREATE FUNCTION childguard.duty_notices_complete()
	RETURNS TABLE (pass boolean, reason text, objects text[])
	LANGUAGE sql STABLE
	SET search_path = pg_catalog, pg_temp
AS $$
	WITH cur AS (
		SELECT DISTINCT ON (n.notice_id) n.*
		  FROM childguard.notice n ORDER BY n.notice_id, n.version DESC),
	     ok AS (
		SELECT DISTINCT p FROM cur, pg_catalog.unnest(cur.purposes) p
		 WHERE '' <> ALL (ARRAY[cur.purpose_method_scope, cur.storage_location_period,
		                        cur.security_measures, cur.refusal_consequences,
		                        cur.complaint_channels, cur.correction_deletion, cur.other_matters])),
	     bad AS (
		SELECT DISTINCT pg_catalog.format('purpose "%s"', p.purpose) AS what
		  FROM childguard.consent k JOIN childguard.purpose p USING (purpose_id)
		 WHERE k.decision = 'granted' AND k.withdrawn_at IS NULL AND k.lapsed_at IS NULL
		   AND NOT EXISTS (SELECT 1 FROM ok WHERE ok.p = p.purpose))
	SELECT NOT EXISTS (SELECT 1 FROM bad),
	       CASE WHEN NOT EXISTS (SELECT 1 FROM bad)
	            THEN 'Every purpose with consents in force is covered by the current version of a notice with all seven Art 10 items.'
	            ELSE 'Art 10: consents are in force for purposes no current, complete notice covers.' END,
	       coalesce((SELECT pg_catalog.array_agg(bad.what ORDER BY bad.what) FROM bad), '{}')
$$;

-- Art 11: a grant covers only categories its purposes need.
CREATE FUNCTION childguard.duty_collection_necessary()
	RETURNS TABLE (pass boolean, reason text, objects text[])
	LANGUAGE sql STABLE
	SET search_path = pg_catalog, pg_temp
AS $$
	WITH bad AS (
		SELECT pg_catalog.format('grant %s: category "%s"', g.grant_id, k) AS what
		  FROM childguard.access_grant g, pg_catalog.unnest(g.categories) k
		 WHERE g.revoked_at IS NULL AND g.valid_until > pg_catalog.now()
		   AND NOT EXISTS (SELECT 1 FROM childguard.purpose p
		                    WHERE p.purpose = ANY (g.purposes) AND k = ANY (p.categories)))
	SELECT NOT EXISTS (SELECT 1 FROM bad),
	       CASE WHEN NOT EXISTS (SELECT 1 FROM bad)
	            THEN 'Every grant in force covers only categories its purposes need.'
	            ELSE 'Art 11: grants in force cover categories none of their purposes needs.' END,
	       coalesce((SELECT pg_catalog.array_agg(bad.what ORDER BY bad.what) FROM bad), '{}')
$$;

-- Art 12: no consent counts past its purpose's retention.
CREATE FUNCTION childguard.duty_retention_respected()
	RETURNS TABLE (pass boolean, reason text, objects text[])
	LANGUAGE sql STABLE
	SET search_path = pg_catalog, pg_temp
AS $$
	WITH bad AS (
		SELECT pg_catalog.format('child "%s", purpose "%s": retention %s ended %s',
		           c.child_id, p.purpose, p.retention, k.given_at + p.retention) AS what
		  FROM childguard.consent k JOIN childguard.purpose p USING (purpose_id)
		  JOIN childguard.child c ON c.subject_no = k.subject_no
		 WHERE k.decision = 'granted' AND k.withdrawn_at IS NULL AND k.lapsed_at IS NULL
		   AND c.erased_at IS NULL
		   AND k.given_at + p.retention <= pg_catalog.now())
	SELECT NOT EXISTS (SELECT 1 FROM bad),
	       CASE WHEN NOT EXISTS (SELECT 1 FROM bad)
	            THEN 'No consent is still open past its purpose''s retention period.'
	            ELSE 'Art 12: these consents are past their purpose''s retention: reads of the data are refused, but it is still held (erase it, or withdraw the consent).' END,
	       coalesce((SELECT pg_catalog.array_agg(bad.what ORDER BY bad.what) FROM bad), '{}')
$$;

-- Art 13 (invariants 1, 2): every table holding child data is protected.
CREATE FUNCTION childguard.duty_tables_protected()
	RETURNS TABLE (pass boolean, reason text, objects text[])
	LANGUAGE sql STABLE
	SET search_path = pg_catalog, pg_temp
AS $$
	WITH t AS (SELECT DISTINCT p.table_name, p.is_protected FROM childguard.protected_columns p),
	     bad AS (
		SELECT pg_catalog.format('%s: %s', t.table_name,
		           coalesce(childguard.protection_problem(t.table_name),
		                    'not protected (childguard.protect() was not run)')) AS what
		  FROM t WHERE NOT t.is_protected)
	SELECT NOT EXISTS (SELECT 1 FROM bad),
	       CASE WHEN NOT EXISTS (SELECT 1 FROM bad)
	            THEN pg_catalog.format('All %s table(s) holding child data are protected.',
	                                   (SELECT pg_catalog.count(*) FROM t))
	            ELSE 'Art 13: tables with child data columns that are not protected (writes to them are refused, but the protection is missing).' END,
	       coalesce((SELECT pg_catalog.array_agg(bad.what ORDER BY bad.what) FROM bad), '{}')
$$;

-- Art 13: a master key is configured and wraps every live data key.
CREATE FUNCTION childguard.duty_keys_configured()
	RETURNS TABLE (pass boolean, reason text, objects text[])
	LANGUAGE sql VOLATILE
	SET search_path = pg_catalog, pg_temp
AS $$
	WITH m AS (SELECT childguard.master_key_id(false) AS id),
	     bad AS (
		SELECT pg_catalog.format('child "%s": data key version %s', c.child_id, k.key_version) AS what
		  FROM childguard.data_key k JOIN childguard.child c USING (subject_no), m
		 WHERE k.wrapped_key IS NOT NULL AND k.master_key_id IS DISTINCT FROM m.id)
	SELECT (SELECT m.id IS NOT NULL FROM m) AND NOT EXISTS (SELECT 1 FROM bad),
	       CASE WHEN (SELECT m.id IS NULL FROM m)
	            THEN 'Art 13: no master key is configured: child data can be neither written nor read.'
	            WHEN EXISTS (SELECT 1 FROM bad)
	            THEN 'Art 13: live data keys are wrapped by a master key that is not the one configured: their children''s data cannot be read (configure the previous key and run rotate_master_key()).'
	            ELSE pg_catalog.format('A master key is configured and wraps all %s live data key(s).',
	                     (SELECT pg_catalog.count(*) FROM childguard.data_key k WHERE k.wrapped_key IS NOT NULL)) END,
	       coalesce((SELECT pg_catalog.array_agg(bad.what ORDER BY bad.what) FROM bad), '{}')
$$;

-- Art 14: a purpose is not changed once defined.  define_purpose() never
-- redefines one; what each purpose was when it was defined is kept beside
-- it (a row trigger on insert: also a restore's rows, re-recorded as they
-- are loaded), and the check compares.
CREATE TABLE childguard.purpose_definition (
	purpose_id		integer PRIMARY KEY,
	purpose			text NOT NULL,
	kind			text NOT NULL,
	categories		text[] NOT NULL,
	retention		interval NOT NULL,
	forbidden_in_difficulty boolean NOT NULL,
	recorded_at		timestamptz NOT NULL DEFAULT pg_catalog.now()
);
COMMENT ON TABLE childguard.purpose_definition IS
	'Art 14: each purpose as it was defined (recorded when its row is inserted), against which the compliance report checks that it was not changed.';
REVOKE ALL ON childguard.purpose_definition FROM PUBLIC;
-- purposes defined before 1.4: as they are now
INSERT INTO childguard.purpose_definition (purpose_id, purpose, kind, categories, retention,
                                           forbidden_in_difficulty)
SELECT p.purpose_id, p.purpose, p.kind, p.categories, p.retention, p.forbidden_in_difficulty
  FROM childguard.purpose p;

CREATE FUNCTION childguard._purpose_defined() RETURNS trigger
	LANGUAGE plpgsql
	SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	INSERT INTO childguard.purpose_definition (purpose_id, purpose, kind, categories, retention,
	                                           forbidden_in_difficulty)
	VALUES (NEW.purpose_id, NEW.purpose, NEW.kind, NEW.categories, NEW.retention,
	        NEW.forbidden_in_difficulty)
	ON CONFLICT (purpose_id) DO UPDATE
	   SET purpose = EXCLUDED.purpose, kind = EXCLUDED.kind, categories = EXCLUDED.categories,
	       retention = EXCLUDED.retention, forbidden_in_difficulty = EXCLUDED.forbidden_in_difficulty,
	       recorded_at = EXCLUDED.recorded_at;
	RETURN NULL;
END
$$;
REVOKE ALL ON FUNCTION childguard._purpose_defined() FROM PUBLIC;
COMMENT ON FUNCTION childguard._purpose_defined() IS
	'Trigger on childguard.purpose: record a purpose as it is defined (childguard.purpose_definition).';
CREATE TRIGGER purpose_defined AFTER INSERT ON childguard.purpose
	FOR EACH ROW EXECUTE FUNCTION childguard._purpose_defined();
-- also under session_replication_role = replica (a restore may run so)
ALTER TABLE childguard.purpose ENABLE ALWAYS TRIGGER purpose_defined;

CREATE FUNCTION childguard.duty_purposes_unchanged()
	RETURNS TABLE (pass boolean, reason text, objects text[])
	LANGUAGE sql STABLE
	SET search_path = pg_catalog, pg_temp
AS $$
	WITH bad AS (
		SELECT pg_catalog.format('purpose "%s": %s', p.purpose,
		           CASE WHEN d.purpose_id IS NULL THEN 'no definition recorded'
		                ELSE pg_catalog.concat_ws(', ',
		                    CASE WHEN d.purpose IS DISTINCT FROM p.purpose THEN 'renamed' END,
		                    CASE WHEN d.kind IS DISTINCT FROM p.kind THEN pg_catalog.format('kind %s, defined %s', p.kind, d.kind) END,
		                    CASE WHEN d.categories IS DISTINCT FROM p.categories
		                         THEN pg_catalog.format('categories %s, defined %s', p.categories, d.categories) END,
		                    CASE WHEN d.retention IS DISTINCT FROM p.retention
		                         THEN pg_catalog.format('retention %s, defined %s', p.retention, d.retention) END,
		                    CASE WHEN d.forbidden_in_difficulty IS DISTINCT FROM p.forbidden_in_difficulty
		                         THEN 'forbidden_in_difficulty changed' END) END) AS what
		  FROM childguard.purpose p
		  LEFT JOIN childguard.purpose_definition d USING (purpose_id)
		 WHERE d.purpose_id IS NULL
		    OR (d.purpose, d.kind, d.categories, d.retention, d.forbidden_in_difficulty)
		       IS DISTINCT FROM (p.purpose, p.kind, p.categories, p.retention, p.forbidden_in_difficulty))
	SELECT NOT EXISTS (SELECT 1 FROM bad),
	       CASE WHEN NOT EXISTS (SELECT 1 FROM bad)
	            THEN 'Every purpose is as it was defined.'
	            ELSE 'Art 14: these purposes were changed after they were defined: consents given to them did not agree to the purpose as it is now.' END,
	       coalesce((SELECT pg_catalog.array_agg(bad.what ORDER BY bad.what) FROM bad), '{}')
$$;

-- Art 15: every grant in force was approved by an officer who is not, and
-- is not related to, its requester or grantee.
CREATE FUNCTION childguard.duty_grants_two_person()
	RETURNS TABLE (pass boolean, reason text, objects text[])
	LANGUAGE sql STABLE
	SET search_path = pg_catalog, pg_temp
AS $$
	WITH bad AS (
		SELECT pg_catalog.format('grant %s to %s: %s', g.grant_id, coalesce(g.grantee_role::text, g.grantee::text),
		           CASE WHEN g.approver_role IS NULL THEN 'no approving role recorded'
		                WHEN g.grantee_role IS NOT NULL AND childguard._roles_related(g.approver_role, g.grantee_role)
		                THEN pg_catalog.format('approver %s is related to the grantee', g.approver_role)
		                ELSE pg_catalog.format('approver %s is related to the requester', g.approver_role) END) AS what
		  FROM childguard.access_grant g
		 WHERE g.approved_at IS NOT NULL AND g.revoked_at IS NULL AND g.valid_until > pg_catalog.now()
		   AND (g.approver_role IS NULL
		        OR (g.grantee_role IS NOT NULL AND childguard._roles_related(g.approver_role, g.grantee_role))
		        OR (g.requester_role IS NOT NULL AND childguard._roles_related(g.approver_role, g.requester_role))))
	SELECT NOT EXISTS (SELECT 1 FROM bad),
	       CASE WHEN NOT EXISTS (SELECT 1 FROM bad)
	            THEN 'Every grant in force was approved by a role unrelated to its requester and grantee.'
	            ELSE 'Art 15: grants in force whose approver is (now) the same person as the requester or grantee (role membership).' END,
	       coalesce((SELECT pg_catalog.array_agg(bad.what ORDER BY bad.what) FROM bad), '{}')
$$;

-- Art 9, 15: no consent recorder reads for the purposes it records.
CREATE FUNCTION childguard.duty_consent_recorders_separate()
	RETURNS TABLE (pass boolean, reason text, objects text[])
	LANGUAGE sql STABLE
	SET search_path = pg_catalog, pg_temp
AS $$
	WITH bad AS (
		SELECT pg_catalog.format('recorder %s: grant %s', e.role, g.grant_id) AS what
		  FROM childguard.enrollment e, childguard.access_grant g
		 WHERE e.duty = 'consent_recorder' AND childguard._role_alive(e.role)
		   AND g.revoked_at IS NULL AND g.valid_until > pg_catalog.now()
		   AND g.grantee_role IS NOT NULL AND childguard._roles_related(e.role, g.grantee_role))
	SELECT NOT EXISTS (SELECT 1 FROM bad),
	       CASE WHEN NOT EXISTS (SELECT 1 FROM bad)
	            THEN 'No consent recorder holds, or is related to a role holding, a grant in force.'
	            ELSE 'Art 9, 15: consent recorders that can read child data (through a grant, or role membership): consent must not be entered by those who read.' END,
	       coalesce((SELECT pg_catalog.array_agg(bad.what ORDER BY bad.what) FROM bad), '{}')
$$;

-- Art 16: every processor grant in force has an agreement and an
-- assessment for each of its purposes.
CREATE FUNCTION childguard.duty_processors_assessed()
	RETURNS TABLE (pass boolean, reason text, objects text[])
	LANGUAGE sql STABLE
	SET search_path = pg_catalog, pg_temp
AS $$
	WITH bad AS (
		SELECT pg_catalog.format('grant %s to %s: %s', g.grant_id, coalesce(g.grantee_role::text, g.grantee::text),
		           CASE WHEN coalesce(g.agreement, '') = '' THEN 'no agreement'
		                ELSE pg_catalog.format('no assessment of purpose "%s"', p) END) AS what
		  FROM childguard.access_grant g, pg_catalog.unnest(g.purposes) p
		 WHERE g.processor AND g.revoked_at IS NULL AND g.valid_until > pg_catalog.now()
		   AND (coalesce(g.agreement, '') = ''
		        OR NOT EXISTS (SELECT 1 FROM childguard.security_assessment a
		                         JOIN childguard.purpose x USING (purpose_id) WHERE x.purpose = p)))
	SELECT NOT EXISTS (SELECT 1 FROM bad),
	       CASE WHEN NOT EXISTS (SELECT 1 FROM bad)
	            THEN 'Every processor grant in force has an agreement and a security assessment of its purposes.'
	            ELSE 'Art 16: processor grants in force without an agreement or a security assessment.' END,
	       coalesce((SELECT pg_catalog.array_agg(bad.what ORDER BY bad.what) FROM bad), '{}')
$$;

-- Art 17: every transfer purpose that a grant in force can read under has
-- a security assessment.
CREATE FUNCTION childguard.duty_transfers_assessed()
	RETURNS TABLE (pass boolean, reason text, objects text[])
	LANGUAGE sql STABLE
	SET search_path = pg_catalog, pg_temp
AS $$
	WITH bad AS (
		SELECT DISTINCT pg_catalog.format('purpose "%s"', p.purpose) AS what
		  FROM childguard.purpose p
		 WHERE p.kind = 'transfer'
		   AND EXISTS (SELECT 1 FROM childguard.access_grant g
		                WHERE p.purpose = ANY (g.purposes) AND g.approved_at IS NOT NULL
		                  AND g.revoked_at IS NULL AND g.valid_until > pg_catalog.now())
		   AND NOT EXISTS (SELECT 1 FROM childguard.security_assessment a WHERE a.purpose_id = p.purpose_id))
	SELECT NOT EXISTS (SELECT 1 FROM bad),
	       CASE WHEN NOT EXISTS (SELECT 1 FROM bad)
	            THEN 'Every transfer purpose with an approved grant in force has a security assessment.'
	            ELSE 'Art 17: transfer purposes with approved grants in force and no security assessment.' END,
	       coalesce((SELECT pg_catalog.array_agg(bad.what ORDER BY bad.what) FROM bad), '{}')
$$;

-- Measures Art 15: no consent in force of a child in difficulty to a
-- purpose forbidden for such children.
CREATE FUNCTION childguard.duty_difficulty_forbidden()
	RETURNS TABLE (pass boolean, reason text, objects text[])
	LANGUAGE sql STABLE
	SET search_path = pg_catalog, pg_temp
AS $$
	WITH bad AS (
		SELECT pg_catalog.format('child "%s", purpose "%s"', c.child_id, p.purpose) AS what
		  FROM childguard.consent k JOIN childguard.purpose p USING (purpose_id)
		  JOIN childguard._child_open c ON c.subject_no = k.subject_no
		 WHERE k.decision = 'granted' AND k.withdrawn_at IS NULL AND k.lapsed_at IS NULL
		   AND c.erased_at IS NULL AND c.in_difficulty AND p.forbidden_in_difficulty)
	SELECT NOT EXISTS (SELECT 1 FROM bad),
	       CASE WHEN NOT EXISTS (SELECT 1 FROM bad)
	            THEN 'No child in difficult circumstances has a consent in force to a purpose forbidden for them.'
	            ELSE 'Measures Art 15: children in difficult circumstances with consents in force to forbidden purposes (reads are refused; withdraw the consents and erase what was collected).' END,
	       coalesce((SELECT pg_catalog.array_agg(bad.what ORDER BY bad.what) FROM bad), '{}')
$$;

-- Art 15, 21, 22 (invariant 4): the access log's and consent log's hash
-- chains verify.
CREATE FUNCTION childguard.duty_audit_chain()
	RETURNS TABLE (pass boolean, reason text, objects text[])
	LANGUAGE sql VOLATILE
	SET search_path = pg_catalog, pg_temp
AS $$
	WITH a AS (SELECT * FROM childguard.verify_access_log()),
	     k AS (SELECT * FROM childguard.verify_consent_log())
	SELECT a.valid AND k.valid,
	       CASE WHEN a.valid AND k.valid
	            THEN pg_catalog.format('The access log (%s records) and the consent log (%s events) verify.',
	                                   a.records_checked, k.records_checked)
	            ELSE 'Invariant 4: a hash chain does not verify: records were altered, removed or forged.' END,
	       ARRAY(SELECT x FROM pg_catalog.unnest(ARRAY[
	                 CASE WHEN NOT a.valid THEN pg_catalog.format('access_log %s: %s', a.broken_id, a.reason) END,
	                 CASE WHEN NOT k.valid THEN pg_catalog.format('consent_log %s: %s', k.broken_id, k.reason) END]) x
	              WHERE x IS NOT NULL)
	  FROM a, k
$$;

DO $duties$
DECLARE
	f regprocedure;
BEGIN
	FOREACH f IN ARRAY ARRAY[
			'childguard.duty_officer_appointed()', 'childguard.duty_purposes_defined()',
			'childguard.duty_consent_by_entitled()', 'childguard.duty_difficulty_consent()',
			'childguard.duty_notices_complete()',
			'childguard.duty_collection_necessary()', 'childguard.duty_retention_respected()',
			'childguard.duty_tables_protected()', 'childguard.duty_keys_configured()',
			'childguard.duty_purposes_unchanged()', 'childguard.duty_grants_two_person()',
			'childguard.duty_consent_recorders_separate()', 'childguard.duty_processors_assessed()',
			'childguard.duty_transfers_assessed()', 'childguard.duty_difficulty_forbidden()',
			'childguard.duty_audit_chain()']::regprocedure[] LOOP
		EXECUTE pg_catalog.format('REVOKE ALL ON FUNCTION %s FROM PUBLIC', f);
		EXECUTE pg_catalog.format('COMMENT ON FUNCTION %s IS %L', f,
		        'The compliance report''s live check of one duty (childguard.compliance_duty).');
	END LOOP;
END
$duties$;

INSERT INTO childguard.compliance_duty (duty, article, what_is_checked, check_function, test) VALUES
	('officer_appointed', 'Provisions Art 8',
	 'a protection officer is appointed and its role still exists', 'childguard.duty_officer_appointed()', 'sql/compliance_report.sql'),
	('purposes_defined', 'Provisions Art 7',
	 'every grant names defined purposes, every purpose known categories', 'childguard.duty_purposes_defined()', 'sql/compliance_report.sql'),
	('consent_by_entitled', 'Provisions Art 9',
	 'every consent in force was given by a registered guardian of the child, or by the child at 14 or over (Measures Art 12)', 'childguard.duty_consent_by_entitled()', 'sql/compliance_report.sql'),
	('notices_complete', 'Provisions Art 10',
	 'every purpose with consents in force is covered by the current version of a notice with the seven items', 'childguard.duty_notices_complete()', 'sql/compliance_report.sql'),
	('collection_necessary', 'Provisions Art 11',
	 'every grant in force covers only categories its purposes need', 'childguard.duty_collection_necessary()', 'sql/compliance_report.sql'),
	('retention_respected', 'Provisions Art 12',
	 'no consent is still open past its purpose''s retention', 'childguard.duty_retention_respected()', 'sql/compliance_report.sql'),
	('tables_protected', 'Provisions Art 13',
	 'every table with a child_data column is protected (protection_problem() is empty)', 'childguard.duty_tables_protected()', 'sql/compliance_report.sql'),
	('keys_configured', 'Provisions Art 13',
	 'a master key is configured and wraps every live data key', 'childguard.duty_keys_configured()', 'sql/compliance_report.sql'),
	('purposes_unchanged', 'Provisions Art 14',
	 'no purpose was changed after it was defined (its categories, retention, kind, exclusion of children in difficulty)', 'childguard.duty_purposes_unchanged()', 'sql/compliance_report.sql'),
	('grants_two_person', 'Provisions Art 15',
	 'every grant in force was approved by a role unrelated to its requester and grantee', 'childguard.duty_grants_two_person()', 'sql/compliance_report.sql'),
	('consent_recorders_separate', 'Provisions Art 15',
	 'no consent recorder holds or is related to a role holding a grant in force (Art 9)', 'childguard.duty_consent_recorders_separate()', 'sql/compliance_report.sql'),
	('processors_assessed', 'Provisions Art 16',
	 'every processor grant in force has an agreement and an assessment of its purposes', 'childguard.duty_processors_assessed()', 'sql/compliance_report.sql'),
	('transfers_assessed', 'Provisions Art 17',
	 'every transfer purpose with an approved grant in force has a security assessment', 'childguard.duty_transfers_assessed()', 'sql/compliance_report.sql'),
	('difficulty_consent', 'Measures Art 12',
	 'for a child in difficult circumstances, the child''s own consent has a registered guardian informed, and a child who cannot express their will has a guardian''s consent', 'childguard.duty_difficulty_consent()', 'sql/compliance_report.sql'),
	('difficulty_forbidden', 'Measures Art 15',
	 'no child in difficult circumstances has a consent in force to a purpose forbidden for them', 'childguard.duty_difficulty_forbidden()', 'sql/compliance_report.sql'),
	('audit_chain', 'Provisions Art 21, 22',
	 'the access log''s and the consent log''s hash chains verify (invariant 4)', 'childguard.duty_audit_chain()', 'sql/compliance_report.sql');
-------------------------------------------------------------------------------
-- Part 79: who may call the request, incident and report functions (parts
-- 70-76).  Officers handle requests and incidents and read the report;
-- applications, which receive a guardian's request through their own
-- service, may open one.  Roles appointed or enrolled before the update
-- get them, in the order they were appointed or enrolled.
-------------------------------------------------------------------------------

-- The lists are single functions that several parts of 1.4 extend.  So
-- that no part drops another's entries whatever the order they land in,
-- this part adds to the lists as the parts before it left them: each is
-- re-created returning its current value (with schema-qualified names,
-- whatever the search_path) followed by this part's entries.
CREATE FUNCTION childguard._list_literal(items text[]) RETURNS text
	LANGUAGE sql IMMUTABLE
	SET search_path = pg_catalog, pg_temp
AS $$
	SELECT pg_catalog.quote_literal(ARRAY(
		SELECT x.i FROM pg_catalog.unnest(items) WITH ORDINALITY x(i, n)
		 GROUP BY x.i ORDER BY pg_catalog.min(x.n))::text)
$$;
REVOKE ALL ON FUNCTION childguard._list_literal(text[]) FROM PUBLIC;
COMMENT ON FUNCTION childguard._list_literal(text[]) IS
	'Internal to the 1.4 update: a list as a literal, duplicates dropped, first occurrences kept in order.';

-- regprocedure and regclass as schema-qualified text (names resolved
-- with an empty search_path)
CREATE FUNCTION childguard._qualified(fs regprocedure[]) RETURNS text[]
	LANGUAGE sql STABLE
	SET search_path = pg_catalog, pg_temp
AS $$
	SELECT ARRAY(SELECT f::text FROM pg_catalog.unnest(fs) WITH ORDINALITY x(f, n) ORDER BY x.n)
$$;
CREATE FUNCTION childguard._qualified(cs regclass[]) RETURNS text[]
	LANGUAGE sql STABLE
	SET search_path = pg_catalog, pg_temp
AS $$
	SELECT ARRAY(SELECT c::text FROM pg_catalog.unnest(cs) WITH ORDINALITY x(c, n) ORDER BY x.n)
$$;
REVOKE ALL ON FUNCTION childguard._qualified(regprocedure[]) FROM PUBLIC;
REVOKE ALL ON FUNCTION childguard._qualified(regclass[]) FROM PUBLIC;
COMMENT ON FUNCTION childguard._qualified(regprocedure[]) IS
	'Internal to the 1.4 update: functions as schema-qualified signatures.';
COMMENT ON FUNCTION childguard._qualified(regclass[]) IS
	'Internal to the 1.4 update: relations as schema-qualified names.';

DO $lists$
DECLARE
	app text[] := childguard._qualified(childguard._application_functions()) || ARRAY[
		-- the request register
		'childguard.open_request(text,text,timestamp with time zone,text,text)'];
	officer text[];
	views text[];
BEGIN
	EXECUTE pg_catalog.format(
		'CREATE OR REPLACE FUNCTION childguard._application_functions() RETURNS regprocedure[] '
		'LANGUAGE sql IMMUTABLE AS %L',
		pg_catalog.format('SELECT %s::regprocedure[]', childguard._list_literal(app)));
	-- officers call the applications' functions too (1.3's list ended with
	-- them; an earlier part may have written its current value out)
	officer := childguard._qualified(childguard._officer_functions()) || app || ARRAY[
		-- requests, incidents, the compliance report
		'childguard.set_deadline(text,interval)',
		'childguard.start_request(bigint)',
		'childguard.close_request(bigint,text,text)',
		'childguard.correct_child_data(regclass,text,name,text,bigint)',
		'childguard.open_incident(timestamp with time zone,text,text[],timestamp with time zone,timestamp with time zone)',
		'childguard.record_authority_report(bigint,timestamp with time zone,text,text)',
		'childguard.record_notification(bigint,text,text,timestamp with time zone)',
		'childguard.record_public_notice(bigint,timestamp with time zone,text)',
		'childguard.close_incident(bigint)',
		'childguard.compliance_check()'];
	EXECUTE pg_catalog.format(
		'CREATE OR REPLACE FUNCTION childguard._officer_functions() RETURNS regprocedure[] '
		'LANGUAGE sql IMMUTABLE AS %L',
		pg_catalog.format('SELECT %s::regprocedure[]', childguard._list_literal(officer)));
	views := childguard._qualified(childguard._officer_views()) || ARRAY[
		'childguard.deadline', 'childguard.deadline_setting', 'childguard.requests',
		'childguard.request_action', 'childguard.incidents', 'childguard.incident_child',
		'childguard.incident_guardian', 'childguard.incident_event', 'childguard.compliance_duty',
		'childguard.compliance_report'];
	EXECUTE pg_catalog.format(
		'CREATE OR REPLACE FUNCTION childguard._officer_views() RETURNS regclass[] '
		'LANGUAGE sql IMMUTABLE AS %L',
		pg_catalog.format('SELECT %s::regclass[]', childguard._list_literal(views)));
	-- every entry names an object that exists (a typo fails the update here)
	PERFORM childguard._application_functions(), childguard._officer_functions(),
	        childguard._officer_views();
END
$lists$;

DO $grant$
DECLARE
	f regprocedure;
	x record;
BEGIN
	FOREACH f IN ARRAY ARRAY[
			'childguard.set_deadline(text, interval)', 'childguard.open_request(text, text, timestamptz, text, text)',
			'childguard.start_request(bigint)', 'childguard.close_request(bigint, text, text)',
			'childguard.open_incident(timestamptz, text, text[], timestamptz, timestamptz)',
			'childguard.record_authority_report(bigint, timestamptz, text, text)',
			'childguard.record_notification(bigint, text, text, timestamptz)',
			'childguard.record_public_notice(bigint, timestamptz, text)',
			'childguard.close_incident(bigint)']::regprocedure[] LOOP
		EXECUTE pg_catalog.format('REVOKE ALL ON FUNCTION %s FROM PUBLIC', f);
	END LOOP;
	FOR x IN SELECT s.r, s.officer FROM (
	             SELECT o.role::oid AS r, true AS officer, o.appointed_at AS at, o.ctid AS c
	               FROM childguard.officer o WHERE o.role IS NOT NULL
	             UNION ALL
	             SELECT e.role::oid, false, e.enrolled_at, e.ctid FROM childguard.enrollment e) s
	          ORDER BY s.at, s.officer DESC, s.c LOOP
		IF x.officer THEN
			PERFORM childguard._grant_officer_privileges(x.r);
		ELSE
			PERFORM childguard._grant_duties(x.r);
		END IF;
	END LOOP;
END
$grant$;
