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
