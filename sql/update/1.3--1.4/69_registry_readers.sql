-- Readers of the sealed registry in other parts of 1.4 (part 60 seals
-- childguard.child's birth dates and circumstances): the retention age hook
-- (part 21) reads birth dates, so it reads them opened, through
-- childguard._child_open, like every other function that needs them.
CREATE OR REPLACE FUNCTION childguard._fire_age_hooks(max_children integer DEFAULT 10000) RETURNS integer
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
	FOR c IN SELECT x.subject_no, x.child_id FROM childguard._child_open x
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

-- The retention sweep's plan (part 31) decides who must consent from the
-- child's age and circumstances: it reads them opened too.
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
			        SELECT c.* FROM present p JOIN childguard._child_open c ON c.child_id = p.child_id
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
