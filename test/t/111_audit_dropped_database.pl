# A database that disappears does not jam the audit queue (issue 9, item 2).
#
# DROP DATABASE ... WITH (FORCE) while a session of that database is in the
# middle of a child-data read: the ended session's record is queued for a
# database that no longer exists.  Its records are settled -- written in
# full to the server log, then taken out of the shared ring -- and reads in
# another database go on without ZC200, with a small queue that the
# stranded record would otherwise jam within a few hundred reads.  The
# writer for the dropped database stops retrying.  Routes: a read in
# progress (its record queued at session exit); records carried over a
# crash for a database that is dropped before its writer is back; a
# database whose log is gone (extension dropped); a database closed to
# connections (its writer connects anyway).
use strict;
use warnings;
use FindBin;
use lib "$FindBin::RealBin/../lib";
use PostgreSQL::Test::Utils;
use Test::More;
use ChildguardNode qw(new_node);
use ChildguardLoad qw(setup_children start_load finish_load script_file
  records_where wait_ready);

my ($node) = new_node(
	'audit_dropdb',
	extra_conf => "childguard.audit_queue_size = '256kB'\n"
	  . "childguard.audit_wait_timeout = '3s'\n"
	  . "childguard.audit_writer_restart = 1\n"
	  . "restart_after_crash = on\n"
	  . "childguard.audit_writer_idle_timeout = '300ms'\n",
	start => 1);
setup_children($node, 'postgres', 20);

my $read = script_file('read',
	"\\set id random(1, 20)\nSELECT name FROM students WHERE id = :id::text;\n");

sub reads_continue
{
	my ($what) = @_;
	my $base = records_where($node, 'postgres', 'true');
	my $load = start_load($node, 'postgres',
		scripts => [ [ $read, 1 ] ], clients => 2, seconds => 6, appname => "other-$what");
	my ($processed, undef, $aborted) = finish_load($load);
	is($aborted, 0, "$what: reads in another database never failed (no ZC200)")
	  or diag $load->{err} . "\n"
	  . $node->safe_psql('postgres', 'SELECT * FROM childguard.audit_queue_databases()');
	# 256kB holds a few hundred records: without settling, the ring jams
	cmp_ok($processed, '>', 2000, "$what: and went on ($processed reads, far more than the queue holds)");
	$node->safe_psql('postgres', 'SELECT childguard.audit_wait()');
	$node->poll_query_until('postgres',
		"SELECT count(*) = $processed FROM childguard.access_log WHERE application_name = 'other-$what'");
	is(records_where($node, 'postgres', "application_name = 'other-$what'"),
		$processed, "$what: each of them has its record");
	return;
}

# ---- route 1: a read in progress when the database is dropped ----
$node->safe_psql('postgres', 'CREATE DATABASE victim');
setup_children($node, 'victim', 5);
my $offset = -s $node->logfile;
my $reader = $node->background_psql('victim', on_error_stop => 0);
$reader->query_safe(q{SET childguard.purpose = 'regress'});
my $vpid = $reader->query_safe('SELECT pg_backend_pid()');
# the victim's writer has gone idle and exited: the record queued when the
# reader is terminated finds no writer, and none can connect any more
$node->poll_query_until('postgres',
	"SELECT count(*) = 0 FROM pg_stat_activity WHERE backend_type = 'childguard audit writer' AND datname = 'victim'");
# decrypts (the cast, left of the sleep), then sleeps in the same statement
$reader->{stdin} .= "SELECT name::text, pg_sleep(60) FROM students WHERE id = '1';\n";
$reader->{run}->pump_nb();
$node->poll_query_until('postgres',
	"SELECT wait_event = 'PgSleep' FROM pg_stat_activity WHERE pid = $vpid");
my $victim_oid = $node->safe_psql('postgres',
	"SELECT oid FROM pg_database WHERE datname = 'victim'");
$node->safe_psql('postgres', 'DROP DATABASE victim WITH (FORCE)');
eval { $reader->quit };

reads_continue('read in progress');
$node->wait_for_log(
	qr/AUDIT: CHILD,error,[^\n]*\n[^\n]*DETAIL:  This audit record is not in childguard.access_log: database $victim_oid was dropped before the audit writer wrote it/,
	$offset);
ok(1, 'the dropped database\'s record went to the server log in full');
ok( $node->poll_query_until('postgres',
		'SELECT settled_dropped_databases >= 1 AND queued_records = 0 FROM childguard.audit_queue_status'),
	'audit_queue_status counts it as settled; nothing is left queued');
my $log = slurp_file($node->logfile, $offset);
my $retries = () = $log =~ /database $victim_oid does not exist/g;
cmp_ok($retries, '<=', 3, "the writer stopped trying to connect to the dropped database ($retries attempts)");

# ---- route 2: records carried over a crash for a database dropped before
# its writer came back ----
$node->safe_psql('postgres', 'CREATE DATABASE victim2');
setup_children($node, 'victim2', 5);
$node->append_conf('postgresql.conf', "childguard.audit_writer_idle_timeout = '1h'\n");
$node->reload;
$node->safe_psql('victim2',
	q{SET childguard.purpose = 'regress'; SELECT name FROM students; SELECT childguard.audit_wait()});
my $w2 = $node->safe_psql('postgres',
	q{SELECT pid FROM pg_stat_activity WHERE backend_type = 'childguard audit writer' AND datname = 'victim2'});
ok($w2 =~ /^\d+$/, 'victim2 has its writer');
kill 'STOP', $w2;
$node->safe_psql('victim2',
	qq{SET childguard.purpose = 'regress';\n} . (qq{SELECT name FROM students WHERE id = '2';\n} x 5));
my $v2_oid = $node->safe_psql('postgres', "SELECT oid FROM pg_database WHERE datname = 'victim2'");
# the stopped writer is killed (SIGKILL follows SIGQUIT); the five records
# are saved and queued again at the start
$node->stop('immediate');
$offset = -s $node->logfile;
$node->start;
is($node->safe_psql('postgres', 'SELECT carried_over FROM childguard.audit_queue_status'),
	'5', 'the five records of victim2 were carried over the crash');
$node->safe_psql('postgres', 'DROP DATABASE victim2');
reads_continue('carried over');
ok( $node->poll_query_until('postgres',
		'SELECT queued_records = 0 FROM childguard.audit_queue_status'),
	'nothing of victim2 is left in the queue')
  or diag $node->safe_psql('postgres', 'SELECT * FROM childguard.audit_queue_databases()');
$log = slurp_file($node->logfile, $offset);
my $settled = () = $log =~ /database $v2_oid was dropped before the audit writer wrote it/g;
is($settled, 5, 'each of the five went to the server log in full');
is($node->safe_psql('postgres', 'SELECT settled_dropped_databases FROM childguard.audit_queue_status'),
	'5', 'and audit_queue_status counts them');

# ---- route 3: a database whose log cannot be written any more (the
# extension dropped while its records wait): the writer retries the batch
# whole, then writes each record to the server log; other databases go on.
$node->safe_psql('postgres', 'CREATE DATABASE victim3');
setup_children($node, 'victim3', 5);
$node->safe_psql('victim3',
	q{SET childguard.purpose = 'regress'; SELECT name FROM students; SELECT childguard.audit_wait()});
my $w3 = $node->safe_psql('postgres',
	q{SELECT pid FROM pg_stat_activity WHERE backend_type = 'childguard audit writer' AND datname = 'victim3'});
ok($w3 =~ /^\d+$/, 'victim3 has its writer');
my $given_up = $node->safe_psql('postgres', 'SELECT written_to_server_log FROM childguard.audit_queue_status');
kill 'STOP', $w3;
$node->safe_psql('victim3',
	qq{SET childguard.purpose = 'regress';\n} . (qq{SELECT name FROM students WHERE id = '3';\n} x 3));
$node->safe_psql('victim3', 'DROP EXTENSION childguard CASCADE');
$offset = -s $node->logfile;
kill 'CONT', $w3;
reads_continue('log gone');
ok( $node->poll_query_until('postgres',
		"SELECT written_to_server_log - $given_up = 3 AND queued_records = 0 FROM childguard.audit_queue_status"),
	'the three records went to the server log and left the queue; audit_queue_status counts them');
$log = slurp_file($node->logfile, $offset);
my $lines = () = $log =~ /This audit record is not in childguard.access_log: the audit writer could not write it \(relation "childguard.access_log" does not exist\)/g;
is($lines, 3, 'each in full, with the reason');

# ---- route 4: a database closed to connections (ALLOW_CONNECTIONS false)
# while its records wait: its writer still connects and writes them.
$node->safe_psql('postgres', 'CREATE DATABASE closed');
setup_children($node, 'closed', 5);
$node->safe_psql('closed',
	q{SET childguard.purpose = 'regress'; SELECT name FROM students; SELECT childguard.audit_wait()});
my $w4 = $node->safe_psql('postgres',
	q{SELECT pid FROM pg_stat_activity WHERE backend_type = 'childguard audit writer' AND datname = 'closed'});
ok($w4 =~ /^\d+$/, 'the database "closed" has its writer');
kill 'STOP', $w4;
$node->safe_psql('closed',
	qq{SET application_name = 'closed-reads'; SET childguard.purpose = 'regress';\n}
	  . (qq{SELECT name FROM students WHERE id = '2';\n} x 3));
$node->safe_psql('postgres', 'ALTER DATABASE closed ALLOW_CONNECTIONS false');
# the writer dies (a crash-restart: the three records are carried over)
kill 'KILL', $w4;
wait_ready($node);
reads_continue('closed to connections');
$node->poll_query_until('postgres',
	'SELECT queued_records = 0 FROM childguard.audit_queue_status');
$node->safe_psql('postgres', 'ALTER DATABASE closed ALLOW_CONNECTIONS true');
is(records_where($node, 'closed', "application_name = 'closed-reads'"), '3',
	'its writer connected anyway and wrote the three records');

is($node->safe_psql('postgres', 'SELECT valid FROM childguard.verify_access_log()'),
	't', 'the chain of the other database verifies');
$node->stop;
done_testing();
