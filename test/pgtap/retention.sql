-- The retention catalog: clock, due list, sweep, progress; settings; who may use them.
BEGIN;
SELECT plan(17);

SELECT has_table('childguard', 'retention_restart', 'restarted clocks are recorded');
SELECT col_is_pk('childguard', 'retention_restart', ARRAY['subject_no', 'purpose_id'],
                 'one restart per child and purpose');
SELECT has_table('childguard', 'account_closure', 'closed accounts are recorded');
SELECT has_view('childguard', 'retention_clocks', 'retention_clocks exists');
SELECT has_view('childguard', 'retention_due', 'retention_due exists');
SELECT columns_are('childguard', 'retention_due',
                   ARRAY['child_id', 'table_name', 'reason', 'due_at', 'action', 'is_due'],
                   'retention_due: child, table, reason, due_at, action, is_due');
SELECT has_view('childguard', 'retention_progress', 'retention_progress exists');
SELECT columns_are('childguard', 'retention_progress',
                   ARRAY['pid', 'datid', 'datname', 'run_by', 'phase', 'tables_total', 'tables_done',
                         'children_done', 'rows_erased', 'started_at'],
                   'retention_progress: like pg_stat_progress_*');
SELECT function_returns('childguard', 'run_retention', 'setof record', 'run_retention() returns what it did');
SELECT is_definer('childguard', 'run_retention', ARRAY[]::name[], 'run_retention() acts as the owner');
SELECT ok(NOT has_function_privilege('public', 'childguard.run_retention()', 'EXECUTE'),
          'PUBLIC cannot sweep');
SELECT ok(NOT has_function_privilege('public', 'childguard.close_account(text, text)', 'EXECUTE'),
          'PUBLIC cannot close accounts');
SELECT ok('childguard.close_account(text, text)'::regprocedure = ANY (childguard._application_functions()),
          'enrolled applications close accounts');
SELECT ok('childguard.run_retention()'::regprocedure = ANY (childguard._officer_functions()),
          'officers sweep');
SELECT ok((SELECT bool_and(context = 'sighup') FROM pg_settings
            WHERE name IN ('childguard.retention_interval', 'childguard.retention_databases',
                           'childguard.retention_batch_size')),
          'retention settings are sighup: no session switches erasure off for itself');
SELECT is((SELECT count(*)::int FROM pg_settings
            WHERE name IN ('childguard.retention_interval', 'childguard.retention_databases',
                           'childguard.retention_batch_size')), 3, 'three retention settings');
SELECT is((SELECT count(*)::int FROM childguard.compliance_duty WHERE duty = 'retention_enforced'), 1,
          'the retention duty is registered for the compliance report');

SELECT * FROM finish();
ROLLBACK;
