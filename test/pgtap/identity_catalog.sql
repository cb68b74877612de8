-- Identities, key material and consent duties in the catalog: the anchor,
-- row security on the wrapped keys, the consent chain's guards.
BEGIN;
SELECT plan(12);

SELECT ok(NOT has_function_privilege('public', 'childguard._role_anchor()', 'EXECUTE'),
          'PUBLIC does not hold the identity anchor');
SELECT ok(NOT has_function_privilege('public', 'childguard._anchor_role(oid)', 'EXECUTE'),
          'PUBLIC cannot anchor a role');
SELECT ok(NOT has_function_privilege('public', 'childguard.enroll_consent_recorder(regrole)', 'EXECUTE'),
          'PUBLIC cannot enroll consent recorders');
SELECT ok((SELECT relrowsecurity FROM pg_class WHERE oid = 'childguard.data_key'::regclass),
          'data_key has row-level security');
SELECT is((SELECT count(*)::int FROM pg_policy WHERE polrelid = 'childguard.data_key'::regclass), 0,
          'data_key has no policy: only its owner reads it through SQL');
SELECT is((SELECT tgenabled::text FROM pg_trigger WHERE tgrelid = 'childguard.consent'::regclass
              AND tgname = 'consent_event'), 'A', 'the consent event trigger fires ALWAYS');
SELECT is((SELECT array_agg(tgenabled::text ORDER BY tgname) FROM pg_trigger
            WHERE tgrelid = 'childguard.consent_log'::regclass AND NOT tgisinternal),
          ARRAY['A', 'A'], 'the consent log guards fire ALWAYS');
SELECT ok(NOT has_table_privilege('public', 'childguard.consent_log', 'INSERT')
          AND NOT has_table_privilege('public', 'childguard.consent_log', 'SELECT'),
          'PUBLIC neither writes nor reads the consent log');
SELECT is((SELECT format_type(atttypid, atttypmod) FROM pg_attribute
            WHERE attrelid = 'childguard.access_grant'::regclass AND attname = 'grantee_role'),
          'regrole', 'grants name their grantee by OID');
SELECT is((SELECT array_agg(a.attname::text ORDER BY a.attnum) FROM pg_index i
             JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY (i.indkey)
            WHERE i.indrelid = 'childguard.officer'::regclass AND i.indisprimary),
          ARRAY['role'], 'officers are keyed by role OID');
SELECT ok((SELECT prosecdef AND proconfig @> ARRAY['search_path=pg_catalog, pg_temp'] FROM pg_proc
            WHERE oid = 'childguard._role_released(oid)'::regprocedure),
          '_role_released is SECURITY DEFINER with search_path pinned');
SELECT ok(NOT EXISTS (SELECT 1 FROM unnest(childguard._officer_functions() || childguard._application_functions()) f
                      WHERE f IN ('childguard.record_consent(text, text, text, text, text, integer, text)'::regprocedure,
                                  'childguard.refuse_consent(text, text, text, text)'::regprocedure,
                                  'childguard.withdraw_consent(text, text, text)'::regprocedure)),
          'officers and applications are not given the consent-recording functions');

SELECT * FROM finish();
ROLLBACK;
