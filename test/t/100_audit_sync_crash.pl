# The audit trail across a crash (issue 4).
#
# With childguard.audit_sync = on, a read of child data does not complete
# until its audit record is committed: while the writer is held up (the
# writer process is stopped with SIGSTOP; locking the chain head, which
# this test used before, is now refused by the lock guard) the read waits;
# once it returns, kill -9 of its backend and a restart leave the record
# in the log.  Control: with audit_sync = off, the read returns while its
# record is only queued (so the wait above is what the synchronous mode
# adds, and the first half of the test can fail); since issue 9 the
# postmaster saves the queue at the immediate shutdown that follows and
# the record is written once after the restart (it used to be lost).
# Also: a writer that is terminated is replaced, and the server-log line
# (childguard.audit_log_server) is parseable and holds no plaintext.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::RealBin/../lib";
use PostgreSQL::Test::Utils;
use Test::More;
use ChildguardNode qw(new_node consent_all);
use ChildguardLoad qw(wait_ready);

my ($node) = new_node(
	'audit_sync',
	extra_conf => "childguard.audit_sync = on\n"
	  . "childguard.audit_wait_timeout = '180s'\n"
	  . "restart_after_crash = on\n",
	start => 1);
$node->safe_psql('postgres', q{
	CREATE EXTENSION childguard CASCADE;
	SELECT childguard.register_child('42', '2015-05-01');
	CREATE TABLE students (id text PRIMARY KEY, name childguard.child_data(name));
	SELECT childguard.protect('students', 'id');
});
consent_all($node, 'postgres');
$node->safe_psql('postgres', q{
	SET childguard.purpose = 'regress';
	INSERT INTO students VALUES ('42', '小明');
});
my $subject = $node->safe_psql('postgres',
	q{SELECT subject_no FROM childguard.child WHERE child_id = '42'});

# Read the child's name in a new session while another session holds the
# chain head (so the writer cannot commit), release it, wait for the read
# to return, then kill -9 the reader at once.  Returns (the reader's pid,
# whether the read was seen waiting, what it returned).
sub writer_pid
{
	# a read starts the writer (idle timeout 1h: it stays)
	$node->safe_psql('postgres',
		q{SET childguard.purpose = 'regress'; SELECT name FROM students; SELECT childguard.audit_wait()});
	my $w = $node->safe_psql('postgres',
		q{SELECT pid FROM pg_stat_activity WHERE backend_type = 'childguard audit writer'});
	die "no audit writer" unless $w =~ /^\d+$/;
	return $w;
}

sub read_then_kill
{
	my ($expect_wait) = @_;
	my $writer = writer_pid();
	kill 'STOP', $writer;

	my $reader = $node->background_psql('postgres');
	$reader->query_safe(q{SET childguard.purpose = 'regress'});
	my $pid = $reader->query_safe('SELECT pg_backend_pid()');

	$reader->{stdin} .=
	  "SELECT name FROM students WHERE id = '42';\n\\echo READ-RETURNED\n";
	$reader->{run}->pump_nb();

	my $waited = 0;
	my $out;
	if ($expect_wait)
	{
		# the read is parked on the audit (wait event type Extension)
		$waited = $node->poll_query_until('postgres',
			"SELECT wait_event_type = 'Extension' AND state = 'active' "
			  . "FROM pg_stat_activity WHERE pid = $pid");
		# ... and stays there while the writer is held up
		sleep 1;
		$waited &&= $node->safe_psql('postgres',
			"SELECT wait_event_type FROM pg_stat_activity WHERE pid = $pid") eq
		  'Extension';
		kill 'CONT', $writer;
	}
	# (without audit_sync the read returns at once, the writer still held up)
	$out = $reader->query_until(qr/READ-RETURNED/, '');

	# the read has returned: crash its backend right now
	kill 'KILL', $pid;
	eval { $reader->quit };
	return ($pid, $waited, $out, $writer);
}

sub restart_after_crash
{
	# the postmaster reinitialises after the backend's crash; then a
	# full restart, as the issue asks
	wait_ready($node);
	$node->restart;
}

# ---- synchronous mode: the record survives ----
$node->append_conf('postgresql.conf', "childguard.audit_writer_idle_timeout = '1h'\n");
$node->reload;
my ($pid, $waited, $out) = read_then_kill(1);
ok($waited, 'with audit_sync, the read waits while its record cannot be committed');
like($out, qr/小明/, 'the read returned the name once the record was committed');
restart_after_crash();
is( $node->safe_psql('postgres',
		"SELECT count(*) FROM childguard.access_log WHERE backend_pid = $pid "
		  . "AND command = 'SELECT' AND outcome = 'allowed' "
		  . "AND children_read = ARRAY[$subject]::bigint[]"),
	'1',
	'after kill -9 of the reader and a restart, its record is in the log');
is($node->safe_psql('postgres', 'SELECT valid FROM childguard.verify_access_log()'),
	't', 'and the chain verifies');

# ---- control: asynchronous mode returns before the record is written ----
$node->append_conf('postgresql.conf', "childguard.audit_sync = off\n");
$node->reload;
my $stopped;
($pid, $waited, $out, $stopped) = read_then_kill(0);
like($out, qr/小明/, 'control: without audit_sync, the read returns while the writer is stopped');
# the crash of the reader restarts everything; the stopped writer is
# killed (SIGKILL after SIGQUIT); its queue is saved and queued again
wait_ready($node);
kill 'CONT', $stopped;
$node->stop('immediate');
$node->start;
$node->safe_psql('postgres',
	q{SET childguard.purpose = 'regress'; SELECT name FROM students; SELECT childguard.audit_wait()});
$node->poll_query_until('postgres',
	'SELECT queued_records = 0 FROM childguard.audit_queue_status');
is( $node->safe_psql('postgres',
		"SELECT count(*) FROM childguard.access_log WHERE backend_pid = $pid"),
	'1',
	'its queued record was carried over the crash and written once');

# ---- a terminated writer is replaced ----
$node->append_conf('postgresql.conf',
	"childguard.audit_sync = on\nchildguard.audit_writer_idle_timeout = '1h'\n");
$node->reload;
$node->safe_psql('postgres',
	q{SET childguard.purpose = 'regress'; SELECT name FROM students});
my $writer = $node->safe_psql('postgres',
	q{SELECT pid FROM pg_stat_activity WHERE backend_type = 'childguard audit writer'});
ok($writer =~ /^\d+$/, 'one audit writer runs for the database');
$node->safe_psql('postgres', "SELECT pg_terminate_backend($writer)");
is( $node->safe_psql('postgres',
		q{SET childguard.purpose = 'regress'; SELECT name FROM students}),
	'小明',
	'with the writer terminated, a synchronous read still completes (a new writer)');
isnt(
	$node->safe_psql('postgres',
		q{SELECT pid FROM pg_stat_activity WHERE backend_type = 'childguard audit writer'}),
	$writer,
	'by a new writer process');

# ---- server-log lines ----
$node->append_conf('postgresql.conf', "childguard.audit_log_server = on\n");
$node->reload;
my $offset = -s $node->logfile;
$node->safe_psql('postgres',
	q{SET application_name = 'tap-app'; SET childguard.purpose = 'regress'; SELECT name FROM students});
$node->wait_for_log(
	qr/AUDIT: CHILD,allowed,SELECT,regress,\d+,public\.students,public\.students\.name,1,$subject,,,1,$/m,
	$offset);
ok(1, 'the read is logged as a parseable AUDIT: CHILD line');
my $log = slurp_file($node->logfile, $offset);
unlike($log, qr/小明/, 'the server log holds no plaintext');

$node->stop;
done_testing();
