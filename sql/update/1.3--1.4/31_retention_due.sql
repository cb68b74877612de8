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
			        SELECT c.* FROM present p JOIN childguard.child c ON c.child_id = p.child_id
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
