# A failed statement's audit record is built after its error is cleaned
# up (issue 10, item 2): the hooks' error path only marks the statement
# failed; the record is built in the transaction's or subtransaction's
# abort callback, or by the exit callback if the backend exits first.
#
#  - autocommit: one "error" record with the SQLSTATE; the client still
#    gets the record's NOTICE (childguard.audit_log_client) and the error,
#    in whichever order libpq reads them, and the server log its line;
#  - inside a SAVEPOINT (only the subtransaction aborts): the error record,
#    and the statement after ROLLBACK TO its own record;
#  - an error caught by an EXCEPTION block inside the statement: no error
#    record, the statement's normal one;
#  - a session terminated while idle in the aborted transaction, and one
#    terminated (FATAL) in the middle of a statement after reading: each
#    statement recorded exactly once.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::RealBin/../lib";
use PostgreSQL::Test::Utils;
use Test::More;
use ChildguardNode qw(new_node consent_all);

my ($node) = new_node('failed_statement',
	extra_conf => "childguard.audit_log_server = on\n", start => 1);
$node->safe_psql('postgres', q{
	CREATE EXTENSION childguard CASCADE;
	SELECT childguard.register_child('f-1', '2015-05-01');
	SELECT childguard.register_child('f-2', '2016-05-01');
	CREATE TABLE students (id text PRIMARY KEY, name childguard.child_data(name));
	SELECT childguard.protect('students', 'id');
});
consent_all($node, 'postgres');
$node->safe_psql('postgres', q{
	SET childguard.purpose = 'regress';
	INSERT INTO students VALUES ('f-1', '小明'), ('f-2', '小红');
	CREATE FUNCTION read_caught() RETURNS text LANGUAGE plpgsql AS $$
	DECLARE b int;
	BEGIN
		BEGIN
			SELECT name::text::int INTO b FROM students WHERE id = 'f-2';
		EXCEPTION WHEN invalid_text_representation THEN
			b := -1;
		END;
		RETURN b::text;
	END $$;
});

# the records after id $base, as "application|outcome|sqlstate|children_read"
sub records
{
	my ($base, $app) = @_;
	$node->safe_psql('postgres', 'SELECT childguard.audit_wait()');
	return $node->safe_psql('postgres', qq{
		SELECT outcome || '|' || coalesce(sqlstate, '') || '|' || children_read::text
		  FROM childguard.access_log
		 WHERE id > $base AND application_name = '$app' ORDER BY id});
}
sub last_id
{
	$node->safe_psql('postgres', 'SELECT childguard.audit_wait()');
	return $node->safe_psql('postgres',
		'SELECT coalesce(max(id), 0) FROM childguard.access_log');
}

# 1. autocommit
my $base = last_id();
my $log_at = -s $node->logfile;
my ($ret, $out, $err) = $node->psql('postgres', q{
	SET application_name = 'autocommit';
	SET childguard.purpose = 'regress';
	SET childguard.audit_log_client = on;
	SELECT name::text::int FROM students WHERE id = 'f-1';
});
# (its wording only: the value it quoted is child data, and the same report
# goes to the server log -- red team, round 19)
like($err, qr/ERROR:  invalid input syntax for type \*\*\*: "\*\*\*"/, 'the client gets the error');
like($err, qr/NOTICE:  AUDIT: CHILD,error,SELECT,regress,.*,22P02/,
	"and the failed statement's audit line");
is(records($base, 'autocommit'), 'error|22P02|{1}', 'one error record with the SQLSTATE');
my $log = slurp_file($node->logfile, $log_at);
my @lines = ($log =~ /AUDIT: CHILD,error,SELECT,regress,[^\n]*22P02/g);
is(scalar @lines, 1, 'one server-log line for it');

# 2. in a savepoint
$base = last_id();
($ret, $out, $err) = $node->psql('postgres', q{
	SET application_name = 'savepoint';
	SET childguard.purpose = 'regress';
	BEGIN;
	SAVEPOINT s;
	SELECT name::text::int FROM students WHERE id = 'f-1';
	ROLLBACK TO SAVEPOINT s;
	SELECT name FROM students WHERE id = 'f-2';
	COMMIT;
}, on_error_stop => 0);
is($out, '小红', 'the statement after ROLLBACK TO runs');
is(records($base, 'savepoint'), "error|22P02|{1}\nallowed||{2}",
	'error record from the subtransaction abort, then the next statement\'s own');

# 3. caught inside the statement
$base = last_id();
$out = $node->safe_psql('postgres', q{
	SET application_name = 'caught';
	SET childguard.purpose = 'regress';
	SELECT read_caught();
});
is($out, '-1', 'the EXCEPTION block caught the error');
is(records($base, 'caught'), 'allowed||{2}', 'no error record: the statement\'s normal one');

# 4a. terminated while idle in the aborted transaction
$base = last_id();
my $s = $node->background_psql('postgres', on_error_stop => 0);
$s->query_safe(q{SET application_name = 'idle_aborted'});
$s->query_safe(q{SET childguard.purpose = 'regress'});
$s->query_safe('BEGIN');
$s->query(q{SELECT name::text::int FROM students WHERE id = 'f-2'});
$node->safe_psql('postgres',
	q{SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'idle_aborted'});
eval { $s->quit; };
$node->poll_query_until('postgres',
	q{SELECT count(*) = 0 FROM pg_stat_activity WHERE application_name = 'idle_aborted'});
is(records($base, 'idle_aborted'), 'error|22P02|{2}', 'recorded once, at the abort');

# 4b. FATAL in the middle of a statement that has read
$base = last_id();
$s = $node->background_psql('postgres', on_error_stop => 0);
$s->query_safe(q{SET application_name = 'fatal'});
$s->query_safe(q{SET childguard.purpose = 'regress'});
# name::text decrypts before pg_sleep runs (one projection, in order)
$s->{stdin} .= "SELECT name::text, pg_sleep(30) FROM students WHERE id = 'f-1';\n";
$s->{run}->pump_nb();
$node->poll_query_until('postgres',
	q{SELECT count(*) = 1 FROM pg_stat_activity WHERE application_name = 'fatal' AND wait_event = 'PgSleep'});
$node->safe_psql('postgres',
	q{SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'fatal'});
eval { $s->quit; };
$node->poll_query_until('postgres',
	q{SELECT count(*) = 0 FROM pg_stat_activity WHERE application_name = 'fatal'});
is(records($base, 'fatal'), 'error||{1}', 'recorded once, by the exit callback');

is($node->safe_psql('postgres', 'SELECT valid FROM childguard.verify_access_log()'),
	't', 'the chain verifies');
$node->stop;
done_testing();
