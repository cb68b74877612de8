-- The extension's catalog: objects, privileges and function properties.
BEGIN;
SELECT plan(22);

SELECT has_type('childguard', 'child_data', 'child_data type exists');
SELECT has_table('childguard', 'child', 'child registry exists');
SELECT has_table('childguard', 'data_key', 'data key store exists');
SELECT has_view('childguard', 'protected_columns', 'protected_columns view exists');
SELECT has_view('childguard', 'master_key_status', 'master_key_status view exists');

-- nobody but the owner reads the registries or the wrapped keys
SELECT ok(NOT has_table_privilege('public', 'childguard.data_key', 'SELECT'), 'PUBLIC cannot read wrapped keys');
SELECT ok(NOT has_table_privilege('public', 'childguard.child', 'SELECT'), 'PUBLIC cannot read the child registry');
SELECT ok(NOT has_table_privilege('public', 'childguard.data_key', 'UPDATE'), 'PUBLIC cannot change keys');
SELECT ok(NOT has_function_privilege('public', 'childguard._new_data_key(bigint, integer)', 'EXECUTE'), 'PUBLIC cannot mint data keys');
SELECT ok(NOT has_function_privilege('public', 'childguard._rewrap_data_key(bigint, integer, bytea, bytea)', 'EXECUTE'), 'PUBLIC cannot rewrap data keys');
SELECT ok(NOT has_function_privilege('public', 'childguard.register_child(text, date, boolean, boolean)', 'EXECUTE'), 'PUBLIC cannot register children');
SELECT ok(NOT has_function_privilege('public', 'childguard.rotate_master_key()', 'EXECUTE'), 'PUBLIC cannot rotate keys');

-- SECURITY DEFINER functions pin their search_path
SELECT is_definer('childguard', 'register_child', ARRAY['text', 'date', 'boolean', 'boolean'], 'register_child is SECURITY DEFINER');
SELECT ok((SELECT proconfig @> ARRAY['search_path=pg_catalog, pg_temp'] FROM pg_proc
            WHERE oid = 'childguard.register_child(text, date, boolean, boolean)'::regprocedure), 'register_child pins search_path');
SELECT ok((SELECT proconfig @> ARRAY['search_path=pg_catalog, pg_temp'] FROM pg_proc
            WHERE oid = 'childguard.rotate_master_key()'::regprocedure), 'rotate_master_key pins search_path');
SELECT isnt_definer('childguard', 'protect', ARRAY['regclass', 'name', 'jsonb'], 'protect runs with the caller''s rights (table owner)');

-- the type's I/O is not parallel safe (keys live in the leader) and not immutable
SELECT is((SELECT proparallel FROM pg_proc WHERE oid = 'childguard.child_data_out(childguard.child_data)'::regprocedure),
          'r', 'output function is parallel restricted');
SELECT is((SELECT provolatile FROM pg_proc WHERE oid = 'childguard.child_data_out(childguard.child_data)'::regprocedure),
          's', 'output function is stable');
SELECT ok(NOT (SELECT proleakproof FROM pg_proc WHERE oid = 'childguard.child_data_eq(childguard.child_data, childguard.child_data)'::regprocedure),
          'equality is not leakproof');

-- registries are dumped with the database
SELECT set_eq($$SELECT c::regclass::text FROM pg_extension e, unnest(e.extconfig) c
                WHERE e.extname = 'childguard'$$,
              ARRAY['childguard.child', 'childguard.child_subject_no_seq', 'childguard.data_key',
                    'childguard.officer', 'childguard.guardian', 'childguard.child_guardian',
                    'childguard.purpose', 'childguard.purpose_purpose_id_seq',
                    'childguard.security_assessment', 'childguard.security_assessment_assessment_id_seq',
                    'childguard.notice', 'childguard.consent', 'childguard.consent_consent_id_seq',
                    'childguard.access_grant', 'childguard.access_grant_grant_id_seq',
                    'childguard.role_event', 'childguard.role_event_event_id_seq',
                    'childguard.enrollment', 'childguard.processor_deletion',
                    -- 1.4, erasure
                    'childguard.erasure_action', 'childguard.erasure_log',
                    'childguard.erasure_log_erasure_id_seq', 'childguard.expiry_hook',
                    'childguard.expiry_hook_hook_id_seq', 'childguard.expiry_hook_pending',
                    'childguard.expiry_hook_pending_pending_id_seq', 'childguard.age_hook_fired',
                    'childguard.age_hook_state', 'childguard.erasure_request',
                    'childguard.erasure_request_request_id_seq', 'childguard.operations_ceased',
                    -- 1.4, retention
                    'childguard.retention_restart', 'childguard.account_closure',
                    'childguard.retention_sweep', 'childguard.retention_sweep_sweep_id_seq',
                    'childguard.retention_failure', 'childguard.retention_failure_failure_id_seq',
                    -- 1.4: requests and incidents (sql/update/1.3--1.4/70, 72)
                    'childguard.deadline_setting', 'childguard.request', 'childguard.request_request_id_seq',
                    'childguard.request_action', 'childguard.request_action_action_id_seq',
                    'childguard.incident', 'childguard.incident_incident_id_seq',
                    'childguard.incident_child', 'childguard.incident_guardian',
                    'childguard.incident_event', 'childguard.incident_event_event_id_seq',
                    -- 1.5: blind indexes (sql/update/1.4--1.5/40)
                    'childguard.blind_index',
                    -- 1.5: inspectors (sql/update/1.4--1.5/72)
                    'childguard.inspector'],
              'every registry table and sequence is dumped with the database');

-- the categories
SELECT is((SELECT count(*)::int FROM childguard.category), 13, 'thirteen categories');
SELECT ok(has_table_privilege('public', 'childguard.category', 'SELECT'), 'anyone can read the category list');

SELECT * FROM finish();
ROLLBACK;
