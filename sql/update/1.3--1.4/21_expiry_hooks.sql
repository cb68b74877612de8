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
	FOR c IN SELECT x.subject_no, x.child_id FROM childguard.child x
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
