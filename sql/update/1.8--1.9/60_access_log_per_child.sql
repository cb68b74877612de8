-------------------------------------------------------------------------------
-- Per-child reads of the packed access log (issue 12, flat latency;
-- docs/audit.md "The per-child route (1.9)").  A query on the access_log
-- view that filters by child unpacks every batch: a guardian's request
-- (child_report()) cost what the whole log costs.  Now each batch lists
-- the children its records name (subjects: the sorted, distinct subject
-- numbers read, denied or written), written by the audit writer in the
-- batch's own row and indexed with GIN; the rows of 1.0-1.7 get a GIN
-- index on the same three lists.  _access_log_for_child() reads the
-- child's rows through that index and unpacks only the batches that name
-- the child, forming only the child's records.  The subjects are not in
-- the chain's hashes: verify_access_log() recomputes each batch's list
-- from its verified records and reports a batch whose list differs.
-------------------------------------------------------------------------------

ALTER TABLE childguard.access_log_batch ADD COLUMN subjects bigint[];
-- the batches written before 1.9: their lists from their records
UPDATE childguard.access_log_batch b
   SET subjects = ARRAY(SELECT DISTINCT s
                          FROM childguard._access_log_unpack(b.first_id, b.logged_at,
                                                             b.prev_hash, b.packed) u,
                               pg_catalog.unnest(u.children_read || u.children_denied
                                                 || u.children_written) s
                         ORDER BY s);
ALTER TABLE childguard.access_log_batch ALTER COLUMN subjects SET NOT NULL;
-- kept in the batch's row (MAIN: out of line only if the row would not fit
-- a page), compressed, if at all, with lz4: a batch of a few hundred
-- children is just over the TOAST threshold, and pglz cost the writer more
-- per batch than the list's GIN entries (a writer profile); sorted ids
-- barely compress
DO $compression$
BEGIN
	ALTER TABLE childguard.access_log_batch ALTER COLUMN subjects SET COMPRESSION lz4;
EXCEPTION WHEN feature_not_supported THEN
	NULL;
END
$compression$;
ALTER TABLE childguard.access_log_batch ALTER COLUMN subjects SET STORAGE MAIN;
COMMENT ON COLUMN childguard.access_log_batch.subjects IS
	'the children (subject numbers) its records name, read, denied or written: sorted, each once; indexed (GIN) for per-child reads. Not hashed: verify_access_log() checks it against the records';
CREATE INDEX access_log_batch_subjects_idx ON childguard.access_log_batch
	USING gin (subjects);
COMMENT ON INDEX childguard.access_log_batch_subjects_idx IS
	'The batches that name a child: childguard._access_log_for_child() unpacks only those.';
CREATE INDEX access_log_rows_children_idx ON childguard.access_log_rows
	USING gin ((children_read || children_denied || children_written));
COMMENT ON INDEX childguard.access_log_rows_children_idx IS
	'The records of 1.0-1.7 that name a child (read, denied or written): for childguard._access_log_for_child().';

-- A batch's records that name one child: a pure function of its arguments,
-- as _access_log_unpack() (the others are walked, not formed into rows).
CREATE FUNCTION childguard._access_log_unpack_child(first_id bigint, logged_at timestamptz,
													prev_hash bytea, packed bytea,
													subject_no bigint)
	RETURNS TABLE (id bigint, statement_at timestamptz, logged_at timestamptz,
				   session_id text, backend_pid integer, session_role text,
				   acting_role text, client_addr text, application_name text,
				   command text, purpose text, grant_id bigint, relations text[],
				   columns text[], children_read bigint[], children_denied bigint[],
				   children_written bigint[], children integer, rows bigint,
				   outcome text, sqlstate text, query_id bigint, prev_hash bytea,
				   hash bytea, format_version smallint, end_user text)
	LANGUAGE C IMMUTABLE PARALLEL SAFE ROWS 10
	AS 'MODULE_PATHNAME', 'cg_access_log_unpack_child';
COMMENT ON FUNCTION childguard._access_log_unpack_child(bigint, timestamptz, bytea, bytea, bigint) IS
	'The records of one packed access log batch that name the child (read, denied or written), as rows of childguard.access_log; reads nothing but its arguments.';
GRANT EXECUTE ON FUNCTION childguard._access_log_unpack_child(bigint, timestamptz, bytea, bytea, bigint) TO PUBLIC;

CREATE FUNCTION childguard._access_log_for_child(subject_no bigint)
	RETURNS SETOF childguard.access_log
	LANGUAGE sql STABLE
	SET search_path = pg_catalog, pg_temp
AS $$
	SELECT r.id, r.statement_at, r.logged_at, r.session_id, r.backend_pid, r.session_role,
	       r.acting_role, r.client_addr, r.application_name, r.command, r.purpose,
	       r.grant_id, r.relations, r.columns, r.children_read, r.children_denied,
	       r.children_written, r.children, r.rows, r.outcome, r.sqlstate, r.query_id,
	       r.prev_hash, r.hash, r.format_version, r.end_user
	  FROM childguard.access_log_rows r
	 WHERE (r.children_read || r.children_denied || r.children_written)
	       OPERATOR(pg_catalog.@>) ARRAY[_access_log_for_child.subject_no]
	UNION ALL
	SELECT u.id, u.statement_at, u.logged_at, u.session_id, u.backend_pid, u.session_role,
	       u.acting_role, u.client_addr, u.application_name, u.command, u.purpose,
	       u.grant_id, u.relations, u.columns, u.children_read, u.children_denied,
	       u.children_written, u.children, u.rows, u.outcome, u.sqlstate, u.query_id,
	       u.prev_hash, u.hash, u.format_version, u.end_user
	  FROM childguard.access_log_batch b
	 CROSS JOIN LATERAL childguard._access_log_unpack_child(b.first_id, b.logged_at, b.prev_hash,
	                                                         b.packed, _access_log_for_child.subject_no) u
	 WHERE b.subjects OPERATOR(pg_catalog.@>) ARRAY[_access_log_for_child.subject_no]
$$;
REVOKE ALL ON FUNCTION childguard._access_log_for_child(bigint) FROM PUBLIC;
COMMENT ON FUNCTION childguard._access_log_for_child(bigint) IS
	'The access log''s records that name the child (subject number: read, denied or written): the rows table through its GIN index, and only the packed batches whose subjects name the child, only the child''s records formed. Cost follows the child''s records, not the log. For child_report(); readers of the log use the access_log view.';

-- a guardian's access request: the child's accesses through the index
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
			  FROM childguard._access_log_for_child(c.subject_no) l), '[]'),
		'generated_at', pg_catalog.now());
END
$$;
