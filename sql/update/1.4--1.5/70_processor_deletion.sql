-- Part 70 (hygiene): the retention sweep finds ended processor agreements
-- through the compliance data (issue 14) -- processor_deletion_due -- and
-- records what it erased with record_processor_deletion(), so the sweep
-- and the deletion duty cannot disagree.  processor_deletion_due lists, per
-- ended processor grant, the protected tables the processor owns holding
-- the grant's categories (its copy: what the database can delete; the
-- controller's tables it read are not its to delete), and nothing while a
-- renewed processor grant of the same role is in force.
-- Replaces: the view processor_deletion_due, _retention_due_rows() and
-- _retention_finish() (from 1.4).

CREATE OR REPLACE VIEW childguard.processor_deletion_due AS
	SELECT g.grant_id, g.recipient, g.grantee_role AS grantee,
	       CASE WHEN g.revoked_at IS NOT NULL AND g.revoked_at < g.valid_until
	            THEN g.revoked_at ELSE g.valid_until END AS ended_at,
	       g.purposes,
	       coalesce(g.categories, ARRAY(SELECT DISTINCT c FROM childguard.purpose p,
	                                    pg_catalog.unnest(p.categories) c
	                                   WHERE p.purpose = ANY (g.purposes) ORDER BY 1)) AS categories,
	       ARRAY(SELECT DISTINCT t.table_name FROM childguard.protected_columns t
	                JOIN pg_catalog.pg_class rc ON rc.oid = t.table_name::oid
	              WHERE t.is_protected AND rc.relowner = g.grantee_role::oid
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
	   AND NOT EXISTS (SELECT 1 FROM childguard.processor_deletion d WHERE d.grant_id = g.grant_id)
	   -- a renewed agreement (a processor grant of the same role in force)
	   -- carries the processing on: nothing is due while it lasts
	   AND NOT EXISTS (SELECT 1 FROM childguard.access_grant n
	                    WHERE n.processor AND n.grantee_role = g.grantee_role
	                      AND n.approved_at IS NOT NULL AND n.revoked_at IS NULL
	                      AND n.valid_from <= pg_catalog.now() AND n.valid_until > pg_catalog.now());
COMMENT ON VIEW childguard.processor_deletion_due IS
	'Art 16: processor grants that have ended (revoked or expired, and no later processor grant of the role in force) whose deletion is not yet recorded: the recipient, when it ended, the purposes and categories, the protected tables the processor owns holding those categories (what the retention sweep erases, reason processor_ended), and the children (subject numbers) read or written under the grant. The sweep records the deletion with record_processor_deletion() once those tables hold nothing due; a grant with no such table is recorded by an officer.';

CREATE OR REPLACE FUNCTION childguard._retention_due_rows(only_table regclass DEFAULT NULL,
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
		-- Art 16: a table of a processor whose agreement ended, as the
		-- compliance data lists it (processor_deletion_due, 1.5): the same
		-- grants, the same tables, until the deletion is recorded
		SELECT pg_catalog.count(*) > 0, pg_catalog.max(d.ended_at)
		  INTO processor_ended, processor_end
		  FROM childguard.processor_deletion_due d
		 WHERE t.tbl = ANY (d.tables);
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

CREATE OR REPLACE FUNCTION childguard._retention_finish(run_by text, started_at timestamptz, erased jsonb)
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
	-- Art 16: an ended processor grant whose tables hold nothing due any
	-- more has its deletion recorded (processor_deletion), by the same
	-- function an officer uses; a grant whose processor holds no table
	-- here is left to an officer (the deletion happens elsewhere)
	PERFORM childguard.record_processor_deletion(d.grant_id,
	        'retention sweep: erased from ' || pg_catalog.array_to_string(d.tables, ', '))
	  FROM childguard.processor_deletion_due d
	 WHERE pg_catalog.cardinality(d.tables) > 0
	   AND NOT EXISTS (SELECT 1 FROM childguard._retention_due_rows() r
	                    WHERE r.table_name = ANY (d.tables) AND r.reason = 'processor_ended');
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
COMMENT ON FUNCTION childguard._retention_finish(text, timestamptz, jsonb) IS
	'Sweep step 4: record the deletion of ended processor grants whose tables hold nothing due (record_processor_deletion), restart the retention clocks with nothing left, fire the age hooks, retry failed expiry hooks, record the sweep.';
