-- The audit trail's catalog: the log's tables, guards, privileges, functions.
BEGIN;
SELECT plan(41);

-- 1.8: access_log is a view over the rows of 1.0-1.7 (access_log_rows) and
-- the packed batches (access_log_batch, chain format 4)
SELECT has_view('childguard', 'access_log', 'access_log exists (a view from 1.8)');
SELECT has_table('childguard', 'access_log_rows', 'the rows of 1.0-1.7 are kept');
SELECT has_table('childguard', 'access_log_batch', 'the packed batches of 1.8');
SELECT col_is_pk('childguard', 'access_log_batch', 'first_id', 'a batch is identified by its first record''s chain position');
SELECT has_table('childguard', 'access_log_head', 'the chain head exists');
SELECT has_view('childguard', 'access_log_children', 'access_log_children view exists');
SELECT has_view('childguard', 'access_summary', 'access_summary view exists');
SELECT col_is_pk('childguard', 'access_log_rows', 'id', 'records are identified by their chain position');
SELECT col_type_is('childguard', 'access_log', 'hash', 'bytea', 'hash is bytea');
SELECT col_type_is('childguard', 'access_log', 'children_read', 'bigint[]', 'children read are subject numbers');
-- 1.2: each record's chain format (docs/audit.md, "Chain formats")
SELECT col_type_is('childguard', 'access_log', 'format_version', 'smallint', 'each record says its chain format');
SELECT col_not_null('childguard', 'access_log_rows', 'format_version', 'the chain format is never missing');
SELECT col_hasnt_default('childguard', 'access_log_rows', 'format_version', 'the writer sets the format (no default)');
SELECT col_not_null('childguard', 'access_log_batch', 'format_version', 'a batch''s chain format is never missing');
SELECT is((SELECT prosrc FROM pg_proc WHERE oid = 'childguard.verify_access_log()'::regprocedure),
          'cg_verify_access_log_1_2', 'verify_access_log() of 1.2 binds the 1.2 C entry point');
SELECT ok((SELECT proconfig @> ARRAY['search_path=pg_catalog, pg_temp'] FROM pg_proc
            WHERE oid = 'childguard.verify_access_log()'::regprocedure), 'verify_access_log pins search_path');

-- the guard triggers exist, fire always, and cover every way of changing rows
SELECT is((SELECT count(*)::int FROM pg_trigger
            WHERE tgrelid = 'childguard.access_log_rows'::regclass AND NOT tgisinternal AND tgenabled = 'A'),
          2, 'access_log_rows has two guard triggers, enabled ALWAYS');
SELECT is((SELECT count(*)::int FROM pg_trigger
            WHERE tgrelid = 'childguard.access_log_batch'::regclass AND NOT tgisinternal AND tgenabled = 'A'),
          2, 'access_log_batch has two guard triggers, enabled ALWAYS');
SELECT ok((SELECT (tgtype & (4 | 8 | 16)) = (4 | 8 | 16) AND (tgtype & 64) = 64 FROM pg_trigger
            WHERE tgname = 'access_log_guard' AND tgrelid = 'childguard.access_log'::regclass),
          'a write through the access_log view meets the guard (INSTEAD OF INSERT, UPDATE, DELETE)');
SELECT is((SELECT count(*)::int FROM pg_trigger
            WHERE tgrelid = 'childguard.access_log_head'::regclass AND NOT tgisinternal AND tgenabled = 'A'),
          2, 'access_log_head has two guard triggers, enabled ALWAYS');
SELECT trigger_is('childguard', 'access_log_rows', 'access_log_guard', 'childguard', '_access_log_guard',
                  'the guard calls _access_log_guard');
SELECT trigger_is('childguard', 'access_log_batch', 'access_log_batch_guard', 'childguard', '_access_log_guard',
                  'the batches'' guard calls _access_log_guard');
SELECT ok((SELECT (tgtype & (4 | 8 | 16)) = (4 | 8 | 16) AND (tgtype & 2) = 2 AND (tgtype & 1) = 0 FROM pg_trigger
            WHERE tgname = 'access_log_guard' AND tgrelid = 'childguard.access_log_rows'::regclass),
          'the guard fires BEFORE INSERT, UPDATE and DELETE (each statement, whatever the rows)');
SELECT ok((SELECT (tgtype & (4 | 8 | 16)) = (4 | 8 | 16) AND (tgtype & 2) = 2 AND (tgtype & 1) = 0 FROM pg_trigger
            WHERE tgname = 'access_log_batch_guard' AND tgrelid = 'childguard.access_log_batch'::regclass),
          'the batches'' guard fires BEFORE INSERT, UPDATE and DELETE (each statement)');
SELECT ok((SELECT (tgtype & 32) = 32 FROM pg_trigger
            WHERE tgname = 'access_log_guard_truncate' AND tgrelid = 'childguard.access_log_rows'::regclass),
          'the statement guard fires on TRUNCATE');
SELECT ok((SELECT (tgtype & 32) = 32 FROM pg_trigger
            WHERE tgname = 'access_log_batch_guard_truncate' AND tgrelid = 'childguard.access_log_batch'::regclass),
          'the batches'' statement guard fires on TRUNCATE');

-- nobody but the owner may even try
SELECT ok(NOT has_table_privilege('public', 'childguard.access_log', 'SELECT'), 'PUBLIC cannot read the log');
SELECT ok(NOT has_table_privilege('public', 'childguard.access_log', 'UPDATE'), 'PUBLIC cannot update the log');
SELECT ok(NOT has_table_privilege('public', 'childguard.access_log', 'DELETE'), 'PUBLIC cannot delete from the log');
SELECT ok(NOT has_table_privilege('public', 'childguard.access_log_head', 'UPDATE'), 'PUBLIC cannot move the chain head');
SELECT ok(NOT has_table_privilege('public', 'childguard.access_log_rows', 'SELECT'), 'PUBLIC cannot read the rows table');
SELECT ok(NOT has_table_privilege('public', 'childguard.access_log_batch', 'SELECT'), 'PUBLIC cannot read the batches');
SELECT ok(NOT has_table_privilege('public', 'childguard.access_log_batch', 'UPDATE'), 'PUBLIC cannot update the batches');
SELECT ok(NOT has_table_privilege('public', 'childguard.access_summary', 'SELECT'), 'PUBLIC cannot read the summary');
SELECT ok(NOT has_function_privilege('public', 'childguard.verify_access_log()', 'EXECUTE'), 'PUBLIC cannot run verify_access_log');
SELECT ok(NOT has_function_privilege('public', 'childguard.child_report(text)', 'EXECUTE'), 'PUBLIC cannot run child_report');
SELECT ok(NOT has_function_privilege('public', 'childguard.breach_impact(text[], timestamptz, timestamptz)', 'EXECUTE'),
          'PUBLIC cannot run breach_impact');

-- definer functions pin their search_path
SELECT is_definer('childguard', 'verify_access_log', ARRAY[]::text[], 'verify_access_log is SECURITY DEFINER');
SELECT ok((SELECT proconfig @> ARRAY['search_path=pg_catalog, pg_temp'] FROM pg_proc
            WHERE oid = 'childguard.child_report(text)'::regprocedure), 'child_report pins search_path');
SELECT ok((SELECT proconfig @> ARRAY['search_path=pg_catalog, pg_temp'] FROM pg_proc
            WHERE oid = 'childguard.breach_impact(text[], timestamptz, timestamptz)'::regprocedure),
          'breach_impact pins search_path');

-- security-relevant settings cannot be changed by a session
SELECT ok((SELECT bool_and(context = 'sighup' OR context = 'postmaster') FROM pg_settings
            WHERE name IN ('childguard.audit', 'childguard.audit_sync', 'childguard.audit_queue_full',
                           'childguard.audit_wait_timeout', 'childguard.audit_queue_size',
                           'childguard.audit_retention', 'childguard.audit_log_server')),
          'audit settings are sighup or postmaster');

SELECT * FROM finish();
ROLLBACK;
