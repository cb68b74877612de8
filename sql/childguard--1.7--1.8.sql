/* childguard 1.7 -> 1.8 — the upgrade script, one concern per part */
\echo Use "ALTER EXTENSION childguard UPDATE TO '1.8'" to load this file. \quit

-------------------------------------------------------------------------------
-- The packed access log (chain format 4; issue 12; docs/audit.md "Chain
-- formats" and "CPU per record (1.8)").  One row per batch of the audit
-- writer instead of one row per record: the batch's records in the wire
-- form the backend queued them in (no tuple formed per record), each
-- record still hashed into the chain on its own, so verify_access_log()
-- still names an altered or deleted record.
--
-- The table of 1.0-1.7 keeps its rows (formats 1-3) under a new name,
-- childguard.access_log_rows; childguard.access_log becomes a view over
-- both, with the same columns, comments and grants, so every reader (the
-- reports, the views, the duties, officers, inspectors) reads every record
-- as before.  The chain continues from the last row into the first batch.
-------------------------------------------------------------------------------

ALTER TABLE childguard.access_log RENAME TO access_log_rows;
CREATE TABLE childguard.access_log_batch (
	first_id			bigint PRIMARY KEY,
	last_id				bigint NOT NULL,
	records				integer NOT NULL,
	first_statement_at	timestamptz NOT NULL,
	last_statement_at	timestamptz NOT NULL,
	logged_at			timestamptz NOT NULL,
	format_version		smallint NOT NULL,
	prev_hash			bytea,
	hash				bytea NOT NULL,
	packed				bytea NOT NULL
);
-- a batch's records repeat their roles, relations and columns: lz4 packs
-- them several times smaller, and costs the writer less than the TOAST
-- chunks it saves (docs/audit.md, "CPU per record (1.8)"; pglz costs more
-- than it saves).  A server built without lz4 stores them uncompressed.
DO $compression$
BEGIN
	ALTER TABLE childguard.access_log_batch ALTER COLUMN packed SET COMPRESSION lz4;
EXCEPTION WHEN feature_not_supported THEN
	ALTER TABLE childguard.access_log_batch ALTER COLUMN packed SET STORAGE EXTERNAL;
END
$compression$;
CREATE INDEX access_log_batch_statement_at_idx ON childguard.access_log_batch
	USING brin (first_statement_at);
COMMENT ON TABLE childguard.access_log_batch IS
	'The access log from 1.8 (chain format 4): one row per audit writer batch, its records packed; read them through childguard.access_log. Hash-chained per record; written only by the audit writer.';
COMMENT ON COLUMN childguard.access_log_batch.first_id IS 'the id of the batch''s first record';
COMMENT ON COLUMN childguard.access_log_batch.last_id IS 'the id of the batch''s last record (first_id + records - 1)';
COMMENT ON COLUMN childguard.access_log_batch.records IS 'how many records the batch holds';
COMMENT ON COLUMN childguard.access_log_batch.first_statement_at IS 'the earliest statement_at of its records';
COMMENT ON COLUMN childguard.access_log_batch.last_statement_at IS 'the latest statement_at of its records';
COMMENT ON COLUMN childguard.access_log_batch.logged_at IS 'when the audit writer committed the batch (every record''s logged_at)';
COMMENT ON COLUMN childguard.access_log_batch.format_version IS 'the chain format of its records: 4';
COMMENT ON COLUMN childguard.access_log_batch.prev_hash IS 'the hash the batch''s first record links to: the previous batch''s hash, or the last record''s before 1.8; NULL at the start of the chain';
COMMENT ON COLUMN childguard.access_log_batch.hash IS 'SHA-256 over the last record''s hash and the batch''s bounds (docs/audit.md, chain format 4); the next batch links to it';
COMMENT ON COLUMN childguard.access_log_batch.packed IS 'the records: per record a 4-byte big-endian length, its 32-byte hash and its wire form (docs/audit.md, chain format 4)';

CREATE TRIGGER access_log_batch_guard BEFORE INSERT OR UPDATE OR DELETE
	ON childguard.access_log_batch FOR EACH STATEMENT EXECUTE FUNCTION childguard._access_log_guard();
CREATE TRIGGER access_log_batch_guard_truncate BEFORE TRUNCATE
	ON childguard.access_log_batch FOR EACH STATEMENT EXECUTE FUNCTION childguard._access_log_guard();
ALTER TABLE childguard.access_log_batch ENABLE ALWAYS TRIGGER access_log_batch_guard;
ALTER TABLE childguard.access_log_batch ENABLE ALWAYS TRIGGER access_log_batch_guard_truncate;
REVOKE ALL ON childguard.access_log_batch FROM PUBLIC;

-- A batch's records as rows of the log: a pure function of its arguments
-- (it decodes the bytes it is given, and reads no table), so anyone may run
-- it; the batches themselves are readable only through the view, by those
-- granted the view.
CREATE FUNCTION childguard._access_log_unpack(first_id bigint, logged_at timestamptz,
											  prev_hash bytea, packed bytea)
	RETURNS TABLE (id bigint, statement_at timestamptz, logged_at timestamptz,
				   session_id text, backend_pid integer, session_role text,
				   acting_role text, client_addr text, application_name text,
				   command text, purpose text, grant_id bigint, relations text[],
				   columns text[], children_read bigint[], children_denied bigint[],
				   children_written bigint[], children integer, rows bigint,
				   outcome text, sqlstate text, query_id bigint, prev_hash bytea,
				   hash bytea, format_version smallint, end_user text)
	LANGUAGE C IMMUTABLE PARALLEL SAFE ROWS 100
	AS 'MODULE_PATHNAME', 'cg_access_log_unpack';
COMMENT ON FUNCTION childguard._access_log_unpack(bigint, timestamptz, bytea, bytea) IS
	'The records of one packed access log batch (chain format 4) as rows of childguard.access_log; reads nothing but its arguments.';
GRANT EXECUTE ON FUNCTION childguard._access_log_unpack(bigint, timestamptz, bytea, bytea) TO PUBLIC;

CREATE VIEW childguard.access_log AS
	SELECT r.id, r.statement_at, r.logged_at, r.session_id, r.backend_pid, r.session_role,
	       r.acting_role, r.client_addr, r.application_name, r.command, r.purpose,
	       r.grant_id, r.relations, r.columns, r.children_read, r.children_denied,
	       r.children_written, r.children, r.rows, r.outcome, r.sqlstate, r.query_id,
	       r.prev_hash, r.hash, r.format_version, r.end_user
	  FROM childguard.access_log_rows r
	UNION ALL
	SELECT u.id, u.statement_at, u.logged_at, u.session_id, u.backend_pid, u.session_role,
	       u.acting_role, u.client_addr, u.application_name, u.command, u.purpose,
	       u.grant_id, u.relations, u.columns, u.children_read, u.children_denied,
	       u.children_written, u.children, u.rows, u.outcome, u.sqlstate, u.query_id,
	       u.prev_hash, u.hash, u.format_version, u.end_user
	  FROM childguard.access_log_batch b
	 CROSS JOIN LATERAL childguard._access_log_unpack(b.first_id, b.logged_at, b.prev_hash,
	                                                   b.packed) u;
REVOKE ALL ON childguard.access_log FROM PUBLIC;
-- a write through the view is refused like one into the table (ZC203)
CREATE TRIGGER access_log_guard INSTEAD OF INSERT OR UPDATE OR DELETE
	ON childguard.access_log FOR EACH ROW EXECUTE FUNCTION childguard._access_log_guard();

-- the table's comments and grants (officers) move to the view; the rows
-- table keeps none but its owner's
DO $move$
DECLARE
	c record;
BEGIN
	EXECUTE pg_catalog.format('COMMENT ON VIEW childguard.access_log IS %L',
		pg_catalog.obj_description('childguard.access_log_rows'::pg_catalog.regclass, 'pg_class'));
	COMMENT ON TABLE childguard.access_log_rows IS
		'The access log''s records written before 1.8, one row per record (chain formats 1 to 3); read them, and the newer ones, through childguard.access_log. Written only by the audit writer.';
	FOR c IN SELECT a.attname, d.description
	           FROM pg_catalog.pg_attribute a
	           JOIN pg_catalog.pg_description d
	             ON d.objoid = a.attrelid AND d.classoid = 'pg_catalog.pg_class'::pg_catalog.regclass
	            AND d.objsubid = a.attnum
	          WHERE a.attrelid = 'childguard.access_log_rows'::pg_catalog.regclass
	          ORDER BY a.attnum
	LOOP
		EXECUTE pg_catalog.format('COMMENT ON COLUMN childguard.access_log.%I IS %L',
		                          c.attname, c.description);
	END LOOP;
	FOR c IN SELECT a.grantee::pg_catalog.regrole AS grantee
	           FROM pg_catalog.pg_class k, pg_catalog.aclexplode(k.relacl) a
	          WHERE k.oid = 'childguard.access_log_rows'::pg_catalog.regclass
	            AND a.grantee <> k.relowner AND a.grantee <> 0
	            AND a.privilege_type = 'SELECT'
	LOOP
		EXECUTE pg_catalog.format('GRANT SELECT ON childguard.access_log TO %s', c.grantee);
		EXECUTE pg_catalog.format('REVOKE ALL ON childguard.access_log_rows FROM %s', c.grantee);
	END LOOP;
END
$move$;

-- the views over the log read the view (they followed the table's rename)
CREATE OR REPLACE VIEW childguard.access_log_children AS
	SELECT l.id, l.statement_at, l.session_role, l.acting_role, l.purpose, l.grant_id,
	       l.command, l.outcome, a.access, a.subject_no, c.child_id
	  FROM childguard.access_log l
	 CROSS JOIN LATERAL (
	        SELECT 'read'::text, s FROM pg_catalog.unnest(l.children_read) s
	        UNION ALL
	        SELECT 'denied'::text, s FROM pg_catalog.unnest(l.children_denied) s
	        UNION ALL
	        SELECT 'written'::text, s FROM pg_catalog.unnest(l.children_written) s
	       ) a(access, subject_no)
	  LEFT JOIN childguard.child c ON c.subject_no = a.subject_no;

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

-- processor_deletion_due and register_counts: their definitions, with the
-- log read through the view
DO $views$
DECLARE
	v text;
	def text;
BEGIN
	FOREACH v IN ARRAY ARRAY['childguard.processor_deletion_due', 'childguard.register_counts']
	LOOP
		def := pg_catalog.pg_get_viewdef(v::pg_catalog.regclass);
		IF def !~ '\maccess_log_rows\M' THEN
			RAISE EXCEPTION 'view % does not read childguard.access_log_rows', v;
		END IF;
		EXECUTE pg_catalog.format('CREATE OR REPLACE VIEW %s AS %s', v,
			pg_catalog.regexp_replace(def, '(childguard\.)?\maccess_log_rows\M', 'childguard.access_log', 'g'));
	END LOOP;
END
$views$;

-- D-Art 14's duty checked that disclosures can be recorded as such: the
-- outcome constraint of the table of rows (packed records carry the
-- outcome as the writer decoded it from the backend's record)
CREATE OR REPLACE FUNCTION childguard.duty_disclosure_difficulty()
	RETURNS TABLE (pass boolean, reason text, objects text[])
	LANGUAGE plpgsql STABLE SECURITY DEFINER
	SET search_path = pg_catalog, pg_temp
AS $function$
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
	                WHERE k.conrelid = 'childguard.access_log_rows'::pg_catalog.regclass
	                  AND k.conname = 'access_log_outcome_check'
	                  AND pg_catalog.pg_get_constraintdef(k.oid) LIKE '%disclosed%') THEN
		faults := faults || 'constraint access_log_outcome_check on childguard.access_log_rows'::text;
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
$function$;
-------------------------------------------------------------------------------
-- The log's records in a time window, read through the indexes
--
-- A query on the access_log view cannot push a predicate on statement_at
-- into the packed batches: it unpacks every batch.  breach_impact()'s window
-- needs only the rows the BRIN on statement_at finds and the batches whose
-- bounds meet the window (the BRIN on first_statement_at), so it reads
-- those, and unpacks only them.  A batch's records can start before the
-- previous batch's last (records are queued in completion order), so a
-- batch is taken when [first_statement_at, last_statement_at] meets the
-- window, and its records are filtered one by one.
-------------------------------------------------------------------------------

CREATE FUNCTION childguard._access_log_between(from_time timestamptz, to_time timestamptz)
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
	 WHERE r.statement_at >= from_time AND r.statement_at < to_time
	UNION ALL
	SELECT u.id, u.statement_at, u.logged_at, u.session_id, u.backend_pid, u.session_role,
	       u.acting_role, u.client_addr, u.application_name, u.command, u.purpose,
	       u.grant_id, u.relations, u.columns, u.children_read, u.children_denied,
	       u.children_written, u.children, u.rows, u.outcome, u.sqlstate, u.query_id,
	       u.prev_hash, u.hash, u.format_version, u.end_user
	  FROM childguard.access_log_batch b
	 CROSS JOIN LATERAL childguard._access_log_unpack(b.first_id, b.logged_at, b.prev_hash,
	                                                   b.packed) u
	 WHERE b.first_statement_at < to_time AND b.last_statement_at >= from_time
	   AND u.statement_at >= from_time AND u.statement_at < to_time
$$;
REVOKE ALL ON FUNCTION childguard._access_log_between(timestamptz, timestamptz) FROM PUBLIC;
COMMENT ON FUNCTION childguard._access_log_between(timestamptz, timestamptz) IS
	'The access log''s records whose statement_at is in [from_time, to_time): the rows table through its BRIN, and only the packed batches whose bounds meet the window unpacked. For breach_impact(); readers of the log use the access_log view.';

CREATE OR REPLACE FUNCTION childguard.breach_impact(roles text[], from_time timestamptz, to_time timestamptz)
	RETURNS TABLE (child_id text, subject_no bigint, guardians text[], statements bigint,
	               first_access timestamptz, last_access timestamptz,
	               relations text[], columns text[])
	LANGUAGE plpgsql STABLE SECURITY DEFINER
	SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	PERFORM childguard._require_auditor('assess a breach');
	IF roles IS NULL OR from_time IS NULL OR to_time IS NULL THEN
		RAISE EXCEPTION 'roles, from_time and to_time are required' USING ERRCODE = '22004';
	END IF;
	IF to_time < from_time THEN
		RAISE EXCEPTION 'the window ends before it begins' USING ERRCODE = '22023',
			DETAIL = 'to_time is earlier than from_time.';
	END IF;
	RETURN QUERY
	WITH touched AS (
		SELECT l.id, l.statement_at, l.relations, l.columns, s AS subject_no
		  FROM childguard._access_log_between(from_time, to_time) l
		 CROSS JOIN LATERAL pg_catalog.unnest(l.children_read || l.children_written) s
		 WHERE (l.acting_role = ANY (roles) OR l.session_role = ANY (roles)))
	SELECT c.child_id, t.subject_no,
	       coalesce((SELECT pg_catalog.array_agg(g.guardian_id ORDER BY g.guardian_id)
	                   FROM childguard.child_guardian g WHERE g.subject_no = t.subject_no), '{}'),
	       pg_catalog.count(DISTINCT t.id),
	       pg_catalog.min(t.statement_at), pg_catalog.max(t.statement_at),
	       (SELECT pg_catalog.array_agg(DISTINCT r ORDER BY r)
	          FROM touched t2, pg_catalog.unnest(t2.relations) r WHERE t2.subject_no = t.subject_no),
	       (SELECT pg_catalog.array_agg(DISTINCT x ORDER BY x)
	          FROM touched t2, pg_catalog.unnest(t2.columns) x WHERE t2.subject_no = t.subject_no)
	  FROM touched t
	  LEFT JOIN childguard.child c ON c.subject_no = t.subject_no
	 GROUP BY c.child_id, t.subject_no
	 ORDER BY c.child_id, t.subject_no;
END
$$;
