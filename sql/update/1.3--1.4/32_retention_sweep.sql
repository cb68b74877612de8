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
