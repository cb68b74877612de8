/* childguard 1.2 -> 1.3 — the upgrade script, one concern per part */
\echo Use "ALTER EXTENSION childguard UPDATE TO '1.3'" to load this file. \quit
-- 40 (1.2 -> 1.3): the read path's caches (issue 12): this backend's data-key cache and
-- per-child verdict cache, as counters
CREATE FUNCTION childguard.backend_cache_stats(
	OUT cache text, OUT capacity bigint, OUT entries bigint, OUT hits bigint,
	OUT misses bigint, OUT evictions bigint, OUT flushes bigint, OUT hit_rate float8)
	RETURNS SETOF record
	LANGUAGE C VOLATILE STRICT PARALLEL RESTRICTED AS 'MODULE_PATHNAME', 'cg_backend_cache_stats';
COMMENT ON FUNCTION childguard.backend_cache_stats() IS
	'This backend''s read-path caches, one row each: data_key (unwrapped data keys; capacity is childguard.data_key_cache_size) and verdict (per child and purpose, what consent and registry decided); keys held, hits, misses, evictions, full flushes and the hit rate. Counts only.';
-- ---------------------------------------------------------------------------
-- Set-based registration (issue 12): children, guardians and consents from
-- a staging table, one statement each, with the same checks and the same
-- outcome per row as register_child(), register_guardian() and
-- record_consent() called row by row in the table's order, except that a
-- rejected row is reported (its SQLSTATE and message) instead of aborting
-- the whole load.
--
--   register_children(children regclass)   columns child_id text, birth_date date
--       [, in_difficulty boolean, can_express boolean] [, row_no bigint]
--   register_guardians(guardians regclass) columns guardian_id text, child_id text
--       [, relation text] [, row_no bigint]
--   record_consents(consents regclass)     columns child_id text, purpose text,
--       notice text, given_by text [, decision text, notice_version integer,
--       guardian_informed text] [, row_no bigint]
--
-- Rows are taken in row_no order if the table has that column (unique, not
-- null), else in the table's physical order (ctid), reported as 1, 2, ...
-- A query is loaded by CREATE TEMP TABLE ... AS first.
--
-- These functions run with the extension owner's rights, so they read the
-- staging table only if the caller may (SELECT privilege), only a plain
-- table (a view or a column type's cast could run the caller's code with
-- the owner's rights), without row security (which the owner would
-- bypass), and only with the exact column types above (no cast runs).
-- The duties are those of the row-by-row functions: register_children for
-- applications (and officers), register_guardians for applications and
-- consent recorders that read no child data, record_consents for enrolled
-- consent recorders that read no child data for the purpose (ZC120, ZC121).
--
-- Consent events: an INSERT into childguard.consent now appends its events
-- to consent_log from one statement-level trigger (a transition table):
-- the head row is locked once per statement, the events are numbered and
-- hashed in one pass (a running SHA-256 window aggregate) and inserted in
-- one INSERT.  Each event's hash is still SHA-256(previous hash || its
-- canonical text), exactly as the row trigger made it, so
-- verify_consent_log() is unchanged and stays exact.  Updates (withdrawal,
-- lapse, other changes) keep the row trigger.
-- ---------------------------------------------------------------------------

-- The staging table's column list, checked: a plain table the caller may
-- read, without row security, each required column of its exact type, each
-- optional one of its type if present.  Returns, per wanted column, the
-- SELECT expression (the quoted column, or the default).
CREATE FUNCTION childguard._staging_columns(source regclass, what text,
											required text[], required_types regtype[],
											optional text[], optional_types regtype[],
											defaults text[])
	RETURNS text[]
	LANGUAGE plpgsql STABLE
	SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	r pg_catalog.pg_class;
	t oid;
	cols text[] := '{}';
	i integer;
BEGIN
	IF source IS NULL THEN
		RAISE EXCEPTION 'the table of % must not be null', what USING ERRCODE = '22004';
	END IF;
	SELECT * INTO r FROM pg_catalog.pg_class c WHERE c.oid = source;
	IF r.relkind NOT IN ('r', 'p') THEN
		RAISE EXCEPTION '"%" is not a table', source::text
			USING ERRCODE = '42809',
			      DETAIL = 'Registration reads a plain table (a temporary one will do), never a view or a foreign table.',
			      HINT = pg_catalog.format('Load the query first: CREATE TEMP TABLE ... AS SELECT ...; then pass that table as the %s.', what);
	END IF;
	IF NOT pg_catalog.has_table_privilege(childguard._caller_oid(), source, 'SELECT') THEN
		RAISE EXCEPTION 'permission denied for table %', source::text
			USING ERRCODE = '42501',
			      DETAIL = pg_catalog.format('Role "%s" cannot read the table it passed as the %s.', childguard._caller(), what);
	END IF;
	IF r.relrowsecurity THEN
		RAISE EXCEPTION 'table "%" has row security', source::text
			USING ERRCODE = '42501',
			      DETAIL = 'Registration reads the whole table with the extension owner''s rights, which row security would not bind.',
			      HINT = 'Copy the rows the caller may see into a temporary table and pass that.';
	END IF;
	FOR i IN 1 .. pg_catalog.array_length(required, 1) LOOP
		SELECT a.atttypid INTO t FROM pg_catalog.pg_attribute a
		 WHERE a.attrelid = source AND a.attname = required[i] AND a.attnum > 0 AND NOT a.attisdropped;
		IF t IS NULL THEN
			RAISE EXCEPTION 'table "%" has no column "%"', source::text, required[i]
				USING ERRCODE = '42703',
				      DETAIL = pg_catalog.format('The %s need the columns %s.', what,
				                                 pg_catalog.array_to_string(required, ', ')),
				      HINT = 'See childguard''s reference for the staging tables'' columns.';
		END IF;
		IF t <> required_types[i] THEN
			RAISE EXCEPTION 'column "%" of table "%" is of type %, not %', required[i], source::text,
				t::regtype::text, required_types[i]::text
				USING ERRCODE = '42804',
				      HINT = 'Cast the column when filling the staging table.';
		END IF;
		cols := cols || pg_catalog.quote_ident(required[i]);
	END LOOP;
	FOR i IN 1 .. coalesce(pg_catalog.array_length(optional, 1), 0) LOOP
		SELECT a.atttypid INTO t FROM pg_catalog.pg_attribute a
		 WHERE a.attrelid = source AND a.attname = optional[i] AND a.attnum > 0 AND NOT a.attisdropped;
		IF t IS NULL THEN
			cols := cols || defaults[i];
		ELSIF t <> optional_types[i] THEN
			RAISE EXCEPTION 'column "%" of table "%" is of type %, not %', optional[i], source::text,
				t::regtype::text, optional_types[i]::text
				USING ERRCODE = '42804',
				      HINT = 'Cast the column when filling the staging table.';
		ELSE
			cols := cols || pg_catalog.quote_ident(optional[i]);
		END IF;
	END LOOP;
	RETURN cols;
END
$$;
REVOKE ALL ON FUNCTION childguard._staging_columns(regclass, text, text[], regtype[], text[], regtype[], text[]) FROM PUBLIC;

-- Copy a staging table into the work table pg_temp.<work> (dropped at
-- commit), with row_no: the table's own (checked unique and not null) or
-- the physical order.
CREATE FUNCTION childguard._staging_load(source regclass, work text, cols text[], names text[])
	RETURNS bigint
	LANGUAGE plpgsql
	SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	has_row_no boolean;
	n bigint;
	bad bigint;
BEGIN
	SELECT a.atttypid = 'bigint'::regtype INTO has_row_no FROM pg_catalog.pg_attribute a
	 WHERE a.attrelid = source AND a.attname = 'row_no' AND a.attnum > 0 AND NOT a.attisdropped;
	IF has_row_no IS NOT NULL AND NOT has_row_no THEN
		RAISE EXCEPTION 'column "row_no" of table "%" is not of type bigint', source::text
			USING ERRCODE = '42804';
	END IF;
	IF pg_catalog.to_regclass(pg_catalog.format('pg_temp.%I', work)) IS NOT NULL THEN
		EXECUTE pg_catalog.format('DROP TABLE pg_temp.%I', work);
	END IF;
	EXECUTE pg_catalog.format('CREATE TEMP TABLE %I ON COMMIT DROP AS SELECT %s AS row_no, %s FROM %s',
	        work,
	        CASE WHEN has_row_no THEN 'row_no' ELSE 'pg_catalog.row_number() OVER (ORDER BY ctid)' END,
	        (SELECT pg_catalog.string_agg(pg_catalog.format('%s AS %I', c, nm), ', ' ORDER BY o)
	           FROM ROWS FROM (pg_catalog.unnest(cols), pg_catalog.unnest(names)) WITH ORDINALITY AS x(c, nm, o)),
	        source);
	GET DIAGNOSTICS n = ROW_COUNT;
	IF has_row_no THEN
		EXECUTE pg_catalog.format('SELECT count(*) - count(DISTINCT row_no) + count(*) FILTER (WHERE row_no IS NULL) FROM pg_temp.%I', work)
		   INTO bad;
		IF bad > 0 THEN
			RAISE EXCEPTION 'the row numbers of table "%" are not unique', source::text
				USING ERRCODE = '23505',
				      DETAIL = 'Column "row_no" orders the rows and names them in the report, so each must be a distinct number.';
		END IF;
	END IF;
	EXECUTE pg_catalog.format('ANALYZE pg_temp.%I', work);
	RETURN n;
END
$$;
REVOKE ALL ON FUNCTION childguard._staging_load(regclass, text, text[], text[]) FROM PUBLIC;

-- ---------------------------------------------------------------------------
-- Children
-- ---------------------------------------------------------------------------

CREATE FUNCTION childguard.register_children(children regclass)
	RETURNS TABLE (row_no bigint, child_id text, subject_no bigint, sqlstate text, message text)
	LANGUAGE plpgsql SECURITY DEFINER
	SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	PERFORM childguard._staging_load(children, 'childguard_children_in',
	        childguard._staging_columns(children, 'children',
	                                    '{child_id,birth_date}', '{text,date}',
	                                    '{in_difficulty,can_express}', '{boolean,boolean}',
	                                    '{false,true}'),
	        '{child_id,birth_date,in_difficulty,can_express}');

	-- each row's first fault, in register_child()'s order: 1 empty id,
	-- 2 birth date, 3 already registered (before, or by an earlier row of
	-- this table that was registered), 4 circumstances
	CREATE TEMP TABLE childguard_children_out ON COMMIT DROP AS
	WITH a AS (
		SELECT i.*,
		       CASE WHEN i.child_id IS NULL OR i.child_id = '' THEN 1
		            WHEN i.birth_date IS NULL OR NOT pg_catalog.isfinite(i.birth_date)
		                 OR i.birth_date > CURRENT_DATE THEN 2
		            WHEN c.subject_no IS NOT NULL THEN 3
		            WHEN i.in_difficulty IS NULL OR i.can_express IS NULL THEN 4
		            ELSE 0 END AS fault
		  FROM pg_temp.childguard_children_in i
		  LEFT JOIN childguard.child c ON c.child_id = i.child_id
	), b AS (
		SELECT a.*, pg_catalog.min(a.row_no) FILTER (WHERE a.fault = 0)
		                OVER (PARTITION BY a.child_id) AS first_ok
		  FROM a
	)
	SELECT b.row_no, b.child_id, b.birth_date, b.in_difficulty, b.can_express,
	       CASE WHEN b.fault IN (0, 4) AND b.first_ok < b.row_no THEN 3 ELSE b.fault END AS fault
	  FROM b;

	RETURN QUERY
	WITH ins AS (
		INSERT INTO childguard.child (child_id, birth_date, in_difficulty, can_express)
		SELECT o.child_id, o.birth_date, o.in_difficulty, o.can_express
		  FROM pg_temp.childguard_children_out o
		 WHERE o.fault = 0
		 ORDER BY o.row_no
		RETURNING childguard.child.subject_no, childguard.child.child_id
	), keys AS (
		INSERT INTO childguard.data_key (subject_no, key_version, wrapped_key, master_key_id)
		SELECT ins.subject_no, 1, k.wrapped_key, k.master_key_id
		  FROM ins CROSS JOIN LATERAL childguard._new_data_key(ins.subject_no, 1) k
		RETURNING 1
	)
	SELECT o.row_no, o.child_id, ins.subject_no,
	       CASE o.fault WHEN 0 THEN NULL WHEN 1 THEN '22023' WHEN 2 THEN '22023'
	                    WHEN 3 THEN '23505' ELSE '22004' END,
	       CASE o.fault WHEN 0 THEN NULL
	                    WHEN 1 THEN 'child id must not be empty'
	                    WHEN 2 THEN pg_catalog.format('invalid birth date for child "%s"', o.child_id)
	                    WHEN 3 THEN pg_catalog.format('child "%s" is already registered', o.child_id)
	                    ELSE 'circumstances must not be null' END
	  FROM pg_temp.childguard_children_out o
	  LEFT JOIN ins ON o.fault = 0 AND ins.child_id = o.child_id
	 ORDER BY o.row_no;

	DROP TABLE pg_temp.childguard_children_in, pg_temp.childguard_children_out;
END
$$;
REVOKE ALL ON FUNCTION childguard.register_children(regclass) FROM PUBLIC;
COMMENT ON FUNCTION childguard.register_children(regclass) IS
	'Register every child of a staging table (child_id text, birth_date date [, in_difficulty boolean, can_express boolean] [, row_no bigint]) in one statement, with register_child()''s checks; creates the data keys. Returns one row per input row: the subject number, or the SQLSTATE and message of the rejection.';

-- ---------------------------------------------------------------------------
-- Guardians
-- ---------------------------------------------------------------------------

CREATE FUNCTION childguard.register_guardians(guardians regclass)
	RETURNS TABLE (row_no bigint, guardian_id text, child_id text, sqlstate text, message text)
	LANGUAGE plpgsql SECURITY DEFINER
	SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	PERFORM childguard._refuse_reader(NULL, 'register guardians');
	PERFORM childguard._staging_load(guardians, 'childguard_guardians_in',
	        childguard._staging_columns(guardians, 'guardians',
	                                    '{guardian_id,child_id}', '{text,text}',
	                                    '{relation}', '{text}', '{''guardian''::text}'),
	        '{guardian_id,child_id,relation}');

	-- register_guardian()'s order: 1 empty id, 2 empty relation, 3 child
	-- not registered, 4 the guardian id is a child's
	CREATE TEMP TABLE childguard_guardians_out ON COMMIT DROP AS
	SELECT i.*, c.subject_no,
	       CASE WHEN i.guardian_id IS NULL OR i.guardian_id = '' THEN 1
	            WHEN i.relation IS NULL OR i.relation = '' THEN 2
	            WHEN c.subject_no IS NULL THEN 3
	            WHEN g.subject_no IS NOT NULL THEN 4
	            ELSE 0 END AS fault
	  FROM pg_temp.childguard_guardians_in i
	  LEFT JOIN childguard.child c ON c.child_id = i.child_id
	  LEFT JOIN childguard.child g ON g.child_id = i.guardian_id;

	INSERT INTO childguard.guardian (guardian_id)
	SELECT DISTINCT o.guardian_id FROM pg_temp.childguard_guardians_out o WHERE o.fault = 0
	ON CONFLICT DO NOTHING;
	-- the same pair twice: the later row's relation, as row by row
	INSERT INTO childguard.child_guardian (subject_no, guardian_id, relation)
	SELECT DISTINCT ON (o.subject_no, o.guardian_id) o.subject_no, o.guardian_id, o.relation
	  FROM pg_temp.childguard_guardians_out o
	 WHERE o.fault = 0
	 ORDER BY o.subject_no, o.guardian_id, o.row_no DESC
	ON CONFLICT ON CONSTRAINT child_guardian_pkey
	DO UPDATE SET relation = EXCLUDED.relation;

	RETURN QUERY
	SELECT o.row_no, o.guardian_id, o.child_id,
	       CASE o.fault WHEN 0 THEN NULL WHEN 3 THEN 'ZC011' ELSE '22023' END,
	       CASE o.fault WHEN 0 THEN NULL
	                    WHEN 1 THEN 'guardian id must not be empty'
	                    WHEN 2 THEN 'relation must not be empty'
	                    WHEN 3 THEN pg_catalog.format('child "%s" is not registered', coalesce(o.child_id, '<NULL>'))
	                    ELSE pg_catalog.format('guardian id "%s" is already a child''s id', o.guardian_id) END
	  FROM pg_temp.childguard_guardians_out o
	 ORDER BY o.row_no;

	DROP TABLE pg_temp.childguard_guardians_in, pg_temp.childguard_guardians_out;
END
$$;
REVOKE ALL ON FUNCTION childguard.register_guardians(regclass) FROM PUBLIC;
COMMENT ON FUNCTION childguard.register_guardians(regclass) IS
	'Register every guardian of a staging table (guardian_id text, child_id text [, relation text] [, row_no bigint]) in one statement, with register_guardian()''s checks. Returns one row per input row: NULL SQLSTATE when registered, else the SQLSTATE and message of the rejection.';

-- ---------------------------------------------------------------------------
-- Consents
-- ---------------------------------------------------------------------------

CREATE FUNCTION childguard.record_consents(consents regclass)
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
		  LEFT JOIN childguard.child c ON c.child_id = i.child_id
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
REVOKE ALL ON FUNCTION childguard.record_consents(regclass) FROM PUBLIC;
COMMENT ON FUNCTION childguard.record_consents(regclass) IS
	'Record every consent decision of a staging table (child_id, purpose, notice, given_by text [, decision text, notice_version integer, guardian_informed text] [, row_no bigint]) in one statement, with record_consent()''s checks (an enrolled consent recorder that reads no child data for the purpose). Returns one row per input row: the consent id, or the SQLSTATE and message of the rejection.';

-- ---------------------------------------------------------------------------
-- Who may call them: the duties of the row-by-row functions
-- ---------------------------------------------------------------------------

CREATE OR REPLACE FUNCTION childguard._application_functions() RETURNS regprocedure[]
	LANGUAGE sql IMMUTABLE
AS $$
	SELECT ARRAY[
		'childguard.register_child(text, date, boolean, boolean)',
		'childguard.register_guardian(text, text, text)',
		'childguard.request_access(regrole, text[], timestamptz, text[], integer, text, boolean, text)',
		'childguard.revoke_access(bigint)',
		'childguard.register_children(regclass)',
		'childguard.register_guardians(regclass)'
	]::regprocedure[]
$$;

CREATE OR REPLACE FUNCTION childguard._recorder_functions() RETURNS regprocedure[]
	LANGUAGE sql IMMUTABLE
AS $$
	SELECT ARRAY[
		'childguard.register_guardian(text, text, text)',
		'childguard.record_consent(text, text, text, text, text, integer, text)',
		'childguard.refuse_consent(text, text, text, text)',
		'childguard.withdraw_consent(text, text, text)',
		'childguard.consent_in_force(text, text, date)',
		'childguard.register_guardians(regclass)',
		'childguard.record_consents(regclass)'
	]::regprocedure[]
$$;

-- the roles already appointed or enrolled get the new functions, in the
-- order they were appointed or enrolled (so a privilege list reads as on a
-- fresh install where the same calls were made)
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
-- Consent events of an INSERT: one pass per statement
-- ---------------------------------------------------------------------------

-- One step of a hash chain: SHA-256(previous hash || text), the previous
-- hash of the first step being seed (the head's hash before the batch).
CREATE FUNCTION childguard._hash_chain_step(state bytea, seed bytea, t text) RETURNS bytea
	LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
	SELECT pg_catalog.sha256(coalesce(state, seed, '\x'::bytea) || pg_catalog.convert_to(t, 'UTF8'))
$$;
REVOKE ALL ON FUNCTION childguard._hash_chain_step(bytea, bytea, text) FROM PUBLIC;

-- As a window aggregate over the events in order, each row's running value
-- is its hash.
CREATE AGGREGATE childguard._hash_chain(bytea, text) (
	SFUNC = childguard._hash_chain_step,
	STYPE = bytea
);
REVOKE ALL ON FUNCTION childguard._hash_chain(bytea, text) FROM PUBLIC;

CREATE FUNCTION childguard._consent_events_inserted() RETURNS trigger
	LANGUAGE plpgsql SECURITY DEFINER
	SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	h childguard.consent_log_head;
	n bigint;
	caller oid := childguard._caller_oid();
	sess oid := childguard._session_oid();
	caller_name name := childguard._role_name(childguard._caller_oid());
	sess_name name := childguard._role_name(childguard._session_oid());
BEGIN
	-- a row inserted whole (restore, or a superuser's INSERT) brings its
	-- history: its decision and, if so, its withdrawal and lapse
	SELECT pg_catalog.count(*) + pg_catalog.count(k.withdrawn_at) + pg_catalog.count(k.lapsed_at)
	  INTO n FROM inserted_consents k;
	IF n = 0 THEN
		RETURN NULL;
	END IF;
	-- the head's row lock serialises appenders, as one row at a time did
	UPDATE childguard.consent_log_head x SET last_id = x.last_id + n
	 RETURNING * INTO h;
	INSERT INTO childguard.consent_log
	WITH ev AS (
		SELECT (h.last_id - n + pg_catalog.row_number() OVER (ORDER BY k.consent_id, e.ord))::bigint AS event_id,
		       e.at, k.consent_id, k.subject_no, k.purpose_id, e.event, k.giver_kind, k.guardian_id,
		       k.notice_id, k.notice_version, e.by_role::regrole AS by_role,
		       CASE WHEN e.by_role = caller THEN caller_name
		            ELSE childguard._role_name(e.by_role) END AS by_role_name,
		       sess_name AS session_role_name
		  FROM inserted_consents k
		 CROSS JOIN LATERAL (VALUES (k.decision, k.given_at, coalesce(k.recorded_by_role::oid, caller), 1),
		                            ('withdrawn', k.withdrawn_at, k.withdrawn_by::oid, 2),
		                            ('lapsed', k.lapsed_at, NULL::oid, 3)) AS e(event, at, by_role, ord)
		 WHERE e.ord = 1 OR e.at IS NOT NULL
	), hashed AS (
		-- the text is _consent_event_text()'s, written out: that function
		-- (SET search_path) is not inlined and would cost more than the rest
		-- of the event; verify_consent_log() checks the two agree
		SELECT ev.*,
		       childguard._hash_chain(h.last_hash,
		           pg_catalog.jsonb_build_array(
		               ev.event_id, (EXTRACT(epoch FROM ev.at) * 1000000)::bigint,
		               ev.consent_id, ev.subject_no, ev.purpose_id, ev.event, ev.giver_kind, ev.guardian_id,
		               ev.notice_id, ev.notice_version, ev.by_role::oid, ev.by_role_name::text,
		               ev.session_role_name::text)::text)
		           OVER (ORDER BY ev.event_id) AS hash
		  FROM ev
	)
	SELECT x.event_id, x.at, x.consent_id, x.subject_no, x.purpose_id, x.event, x.giver_kind,
	       x.guardian_id, x.notice_id, x.notice_version, x.by_role, x.by_role_name,
	       x.session_role_name,
	       coalesce(pg_catalog.lag(x.hash) OVER (ORDER BY x.event_id), h.last_hash),
	       x.hash
	  FROM hashed x
	 ORDER BY x.event_id;
	UPDATE childguard.consent_log_head x
	   SET last_hash = (SELECT l.hash FROM childguard.consent_log l WHERE l.event_id = h.last_id);
	RETURN NULL;
END
$$;
REVOKE ALL ON FUNCTION childguard._consent_events_inserted() FROM PUBLIC;

DROP TRIGGER consent_event ON childguard.consent;
CREATE TRIGGER consent_event AFTER UPDATE ON childguard.consent
	FOR EACH ROW EXECUTE FUNCTION childguard._consent_event();
ALTER TABLE childguard.consent ENABLE ALWAYS TRIGGER consent_event;
CREATE TRIGGER consent_event_insert AFTER INSERT ON childguard.consent
	REFERENCING NEW TABLE AS inserted_consents
	FOR EACH STATEMENT EXECUTE FUNCTION childguard._consent_events_inserted();
ALTER TABLE childguard.consent ENABLE ALWAYS TRIGGER consent_event_insert;
