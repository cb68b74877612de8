-- Consent, purposes and grants: who may call what, and the column layout
-- the C code reads (src/catalog.h).
BEGIN;
SELECT plan(18);

-- registry functions act with the owner's rights, with a pinned search_path
SELECT is(array_agg(p.oid::regprocedure::text ORDER BY 1), NULL,
          'every registry function is SECURITY DEFINER with search_path pinned')
  FROM unnest(childguard._officer_functions() ||
              ARRAY['childguard.appoint_officer(regrole)', 'childguard.dismiss_officer(regrole)']::regprocedure[]) f
  JOIN pg_proc p ON p.oid = f
 WHERE p.proname <> 'consent_in_force'
   AND NOT (p.prosecdef AND p.proconfig @> ARRAY['search_path=pg_catalog, pg_temp']);

SELECT is(array_agg(f::text ORDER BY 1), NULL, 'PUBLIC can execute no registry function')
  FROM unnest(childguard._officer_functions() ||
              ARRAY['childguard.appoint_officer(regrole)', 'childguard.dismiss_officer(regrole)']::regprocedure[]) f
 WHERE has_function_privilege('public', f, 'EXECUTE');

-- 1.4: four relations PUBLIC reads show each role only its own rows (its
-- grants, the migrations of the tables it owns, its rejected loads); 1.5:
-- the blind indexes of the tables it owns; the two tests after this one
-- check how they filter
SELECT is(array_agg(c.relname::text ORDER BY 1), NULL, 'PUBLIC reads no registry table or view but the category list, protected_columns and the per-role views')
  FROM pg_class c
 WHERE c.relnamespace = 'childguard'::regnamespace AND c.relkind IN ('r', 'v')
   AND c.relname NOT IN ('category', 'protected_columns',
                         'my_grants', 'migrations', 'migration_rejects', 'load_reject',
                         'blind_indexes')
   AND has_table_privilege('public', c.oid, 'SELECT');
SELECT is(array_agg(c.relname::text ORDER BY 1), NULL,
          'the per-role views are security barriers filtering on the querying role')
  FROM pg_class c
 WHERE c.oid IN ('childguard.my_grants'::regclass, 'childguard.migrations'::regclass,
                 'childguard.migration_rejects'::regclass, 'childguard.blind_indexes'::regclass)
   AND NOT (c.reloptions @> ARRAY['security_barrier=true']
            AND pg_get_viewdef(c.oid) ~ 'pg_has_role\(CURRENT_USER');
SELECT ok((SELECT c.relrowsecurity FROM pg_class c WHERE c.oid = 'childguard.load_reject'::regclass)
          AND (SELECT array_agg(p.polcmd::text || ':' || pg_get_expr(p.polqual, p.polrelid))
                 FROM pg_policy p WHERE p.polrelid = 'childguard.load_reject'::regclass)
              = ARRAY['*:(loaded_by = (to_regrole((CURRENT_USER)::text))::oid)'],
          'load_reject: row security, each role reads its own rows only');

SELECT is(array_agg(c.relname::text ORDER BY 1), NULL, 'PUBLIC can write no registry table')
  FROM pg_class c
 WHERE c.relnamespace = 'childguard'::regnamespace AND c.relkind = 'r'
   AND (has_table_privilege('public', c.oid, 'INSERT') OR has_table_privilege('public', c.oid, 'UPDATE')
        OR has_table_privilege('public', c.oid, 'DELETE'));

SELECT ok(has_function_privilege('public', 'childguard.set_purpose(text, boolean)', 'EXECUTE'),
          'anyone can declare a purpose (the grant is checked)');
SELECT is((SELECT proparallel FROM pg_proc WHERE oid = 'childguard.row_visible(text)'::regprocedure),
          'r', 'the row predicate is parallel restricted');

-- column positions read by src/catalog.h
SELECT is(ARRAY(SELECT attname::text FROM pg_attribute WHERE attrelid = 'childguard.child'::regclass
                   AND attnum BETWEEN 1 AND 8 ORDER BY attnum),
          '{subject_no,child_id,birth_date,key_version,registered_at,erased_at,in_difficulty,can_express}',
          'childguard.child columns in the order C expects');
SELECT is(ARRAY(SELECT attname::text FROM pg_attribute WHERE attrelid = 'childguard.purpose'::regclass
                   AND attnum BETWEEN 1 AND 6 ORDER BY attnum),
          '{purpose_id,purpose,kind,categories,retention,forbidden_in_difficulty}',
          'childguard.purpose columns in the order C expects');
SELECT is((SELECT attnum::int FROM pg_attribute WHERE attrelid = 'childguard.security_assessment'::regclass
              AND attname = 'purpose_id'), 2, 'security_assessment.purpose_id is column 2');
SELECT is(ARRAY(SELECT attnum::int FROM pg_attribute WHERE attrelid = 'childguard.consent'::regclass
                   AND attname IN ('consent_id', 'subject_no', 'purpose_id', 'decision', 'giver_kind',
                                   'informed_guardian_id', 'given_at', 'withdrawn_at', 'lapsed_at')
                 ORDER BY attnum),
          '{1,2,3,4,5,7,10,12,13}', 'childguard.consent columns where C expects them');
SELECT is(ARRAY(SELECT attnum::int FROM pg_attribute WHERE attrelid = 'childguard.access_grant'::regclass
                   AND attname IN ('grant_id', 'grantee', 'purposes', 'categories', 'max_children',
                                   'valid_from', 'valid_until', 'processor', 'approved_at', 'revoked_at')
                 ORDER BY attnum),
          '{1,2,3,4,5,6,7,8,14,16}', 'childguard.access_grant columns where C expects them');

-- a protected table gets forced row-level security with restrictive policies
CREATE TABLE pgtap_kids (id int PRIMARY KEY, name childguard.child_data);
SELECT childguard.protect('pgtap_kids', 'id', '{"name": "name"}');
SELECT ok((SELECT relrowsecurity AND relforcerowsecurity FROM pg_class WHERE oid = 'pgtap_kids'::regclass),
          'row-level security enabled and forced on the owner');
SELECT policies_are('pgtap_kids', ARRAY['childguard_consent', 'childguard_consent_update', 'childguard_base']);
SELECT is((SELECT polpermissive FROM pg_policy WHERE polrelid = 'pgtap_kids'::regclass
              AND polname = 'childguard_consent'), false, 'the consent policy is restrictive');
-- on purpose, as unprotect() does (plain DDL that unprotects a table is
-- refused at the end of the statement, ZC400: sql/orm_ddl.sql)
DO $$ BEGIN
	PERFORM childguard._unprotect_begin('pgtap_kids');
	ALTER TABLE pgtap_kids NO FORCE ROW LEVEL SECURITY;
END $$;
SELECT is((SELECT is_protected FROM childguard.protected_columns WHERE table_name = 'pgtap_kids'::regclass),
          false, 'without forced row security the table no longer counts as protected');
SELECT throws_ok($$INSERT INTO pgtap_kids VALUES (1, NULL)$$, 'ZC010', NULL,
                 'and it refuses writes');

SELECT * FROM finish();
ROLLBACK;
