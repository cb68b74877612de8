-- ---------------------------------------------------------------------------
-- load_rows()'s rejections (round 20, loose end 1).  _load_reject_add() is
-- SECURITY DEFINER (load_reject is written by no role directly) and was
-- executable by PUBLIC, so that load_rows(), which runs as its caller,
-- could record the rows it rejected: any role could add rows to the
-- register under its own name, naming any load, table, child and
-- SQLSTATE.  Now it is granted like the other application functions (an
-- enrolled application and an officer, directly or through membership),
-- and a call must look like load_rows()'s own (ZC562, nothing written):
-- the load is the one this session numbered last, a purpose is declared,
-- the target is a protected table the caller may insert into, and each
-- SQLSTATE is one load_rows() records.
-- ---------------------------------------------------------------------------

CREATE OR REPLACE FUNCTION childguard._load_reject_add(load_id bigint, target regclass, row_nos bigint[],
													 children text[], states text[])
	RETURNS void
	LANGUAGE plpgsql
	SECURITY DEFINER
	SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_variable
DECLARE
	current_load bigint;
	why text;
BEGIN
	BEGIN
		current_load := pg_catalog.currval('childguard.load_id_seq');
	EXCEPTION WHEN object_not_in_prerequisite_state THEN
		current_load := NULL;
	END;
	why := CASE
		WHEN load_id IS NULL OR current_load IS NULL OR load_id <> current_load
			THEN 'The load is not the one load_rows() numbered last in this session.'
		WHEN childguard.current_purpose() IS NULL
			THEN 'No purpose is declared: a load collects data for one.'
		WHEN target IS NULL OR childguard._seal_subject_column(target) IS NULL
		     OR childguard.protection_problem(target) IS NOT NULL
			THEN 'The target is not a protected table.'
		WHEN NOT pg_catalog.has_table_privilege(childguard._caller_oid(), target, 'INSERT')
			THEN 'The calling role may not insert into the target.'
		WHEN row_nos IS NULL OR children IS NULL OR states IS NULL
		     OR pg_catalog.cardinality(row_nos) <> pg_catalog.cardinality(states)
		     OR pg_catalog.cardinality(children) <> pg_catalog.cardinality(states)
			THEN 'The rows, children and SQLSTATEs are not lists of one length.'
		WHEN EXISTS (SELECT 1 FROM pg_catalog.unnest(states) s
		              WHERE childguard._row_sqlstate_reason(s) IS NULL)
			THEN 'A SQLSTATE is not one load_rows() records for a row.'
	END;
	IF why IS NOT NULL THEN
		RAISE EXCEPTION 'rejected rows are recorded only by load_rows()'
			USING ERRCODE = 'ZC562', DETAIL = why,
			      HINT = 'Load with childguard.load_rows(target, staging); its rejections are recorded for you.';
	END IF;
	INSERT INTO childguard.load_reject (load_id, target, row_no, child, sqlstate, reason, loaded_by)
	SELECT load_id, target, r.n, r.k, r.s, childguard._row_sqlstate_reason(r.s), childguard._caller_oid()
	  FROM ROWS FROM (pg_catalog.unnest(row_nos), pg_catalog.unnest(children), pg_catalog.unnest(states)) r(n, k, s);
END
$$;
REVOKE ALL ON FUNCTION childguard._load_reject_add(bigint, regclass, bigint[], text[], text[]) FROM PUBLIC;
COMMENT ON FUNCTION childguard._load_reject_add(bigint, regclass, bigint[], text[], text[]) IS
	'Internal (load_rows()): records rejected rows of a load as the calling role''s (each role reads only its own). Granted to enrolled applications and officers; refuses (ZC562) a call that is not load_rows()''s own: another load than the session''s last, no purpose, a target that is not protected or the caller may not insert into, a SQLSTATE load_rows() does not record.';

-- the application and officer lists name it, so enrolling and appointing
-- grant it (and unenrolling revokes it); roles enrolled or appointed
-- before get it now, in the order they were enrolled or appointed
DO $lists$
DECLARE
	fn CONSTANT text := 'childguard._load_reject_add(bigint,regclass,bigint[],text[],text[])';
	app text[] := childguard._qualified(childguard._application_functions()) || ARRAY[fn];
	officer text[] := childguard._qualified(childguard._officer_functions()) || ARRAY[fn];
	r record;
BEGIN
	EXECUTE pg_catalog.format(
		'CREATE OR REPLACE FUNCTION childguard._application_functions() RETURNS regprocedure[] '
		'LANGUAGE sql IMMUTABLE AS %L',
		pg_catalog.format('SELECT %s::regprocedure[]', childguard._list_literal(app)));
	EXECUTE pg_catalog.format(
		'CREATE OR REPLACE FUNCTION childguard._officer_functions() RETURNS regprocedure[] '
		'LANGUAGE sql IMMUTABLE AS %L',
		pg_catalog.format('SELECT %s::regprocedure[]', childguard._list_literal(officer)));
	PERFORM childguard._application_functions(), childguard._officer_functions();
	FOR r IN SELECT x.role FROM (
	             SELECT e.role, e.enrolled_at AS at FROM childguard.enrollment e
	              WHERE e.duty = 'application' AND e.role IS NOT NULL
	             UNION ALL
	             SELECT o.role, o.appointed_at FROM childguard.officer o WHERE o.role IS NOT NULL) x
	          WHERE EXISTS (SELECT 1 FROM pg_catalog.pg_roles p WHERE p.oid = x.role::oid)
	          GROUP BY x.role ORDER BY pg_catalog.min(x.at) LOOP
		EXECUTE pg_catalog.format('GRANT EXECUTE ON FUNCTION %s TO %s', fn, r.role);
	END LOOP;
END
$lists$;
