-- The audit queue's state across faults (issue 9): the view and functions
-- exist, say what they must, and are not open to PUBLIC.
BEGIN;
SELECT plan(8);

SELECT has_view('childguard', 'audit_queue_status', 'audit_queue_status view exists');
SELECT has_function('childguard', 'audit_queue_databases', ARRAY[]::text[], 'audit_queue_databases() exists');
SELECT columns_are('childguard', 'audit_queue_status',
                   ARRAY['epoch', 'queued_records', 'queued_bytes', 'queue_size', 'carried_over',
                         'not_carried_over', 'settled_dropped_databases', 'unsaved_exits',
                         'last_unsaved_exit_epoch', 'written_to_server_log'],
                   'audit_queue_status reports what was carried over, settled, lost or logged instead');
SELECT ok(NOT has_table_privilege('public', 'childguard.audit_queue_status', 'SELECT'),
          'PUBLIC cannot read the queue status');
SELECT ok(NOT has_function_privilege('public', 'childguard.audit_queue_status()', 'EXECUTE'),
          'PUBLIC cannot run audit_queue_status()');
SELECT ok(NOT has_function_privilege('public', 'childguard.audit_queue_databases()', 'EXECUTE'),
          'PUBLIC cannot run audit_queue_databases()');
SELECT is((SELECT queue_size FROM childguard.audit_queue_status),
          (SELECT setting::bigint * 1024 FROM pg_settings WHERE name = 'childguard.audit_queue_size'),
          'the queue size is childguard.audit_queue_size');
SELECT is((SELECT unsaved_exits FROM childguard.audit_queue_status), 0::bigint,
          'this cluster never lost a queue');

SELECT * FROM finish();
ROLLBACK;
