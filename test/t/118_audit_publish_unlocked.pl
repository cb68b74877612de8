# The audit queue's publish without the lock (1.9, docs/audit.md "The
# audit's cost per read (1.9)"; src/audit/audit_queue.c, "Publishing
# without the lock"), and claims that read the records in place:
#
#  1. The handshake with a claim stopped at an entry being written.  A
#     backend is held by gdb in cg_audit_publish (its entry WRITING);
#     another session's reads queue behind it and are not written (queue
#     order); the writer, having stopped at the held entry, sleeps (its
#     nap is 10 s).  When the held backend publishes, the flag the claim
#     set on its entry makes it wake the writer: every record, the held
#     one's and those behind it, is written within 4 s, without any other
#     wake-up (no audit_wait, no new record).  With the flag ignored the
#     records wait for the writer's nap (checked: the test then fails).
#  2. A flood through a ring of the smallest size (256 kB) with no writer
#     delay: 16 clients of the mixed load; the ring fills, wraps and
#     drains thousands of times while records are published without the
#     lock and claimed in place; every statement has exactly one record,
#     none twice, the chain verifies, nothing is left queued.
# Part 1 needs gdb (and ptrace); without it, only part 2 runs.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::RealBin/../lib";
use IPC::Run ();
use Time::HiRes qw(time);
use PostgreSQL::Test::Utils;
use Test::More;
use ChildguardNode qw(new_node);
use ChildguardLoad qw(setup_children mixed_load queue_drained records_where);

my $gdb = `command -v gdb 2>/dev/null`;
chomp $gdb;
my $why_no_gdb = $gdb eq '' ? 'gdb is not installed' : '';
if ($why_no_gdb eq '')
{
	my $child = fork();
	die "fork: $!" unless defined $child;
	if ($child == 0)
	{
		sleep 30;
		exit 0;
	}
	my $out = `$gdb -p $child -batch -nx -ex 'info inferiors' 2>&1`;
	kill 'KILL', $child;
	waitpid($child, 0);
	$why_no_gdb = 'gdb cannot attach to a process here' unless $out =~ /process $child/;
}

sub proc_state
{
	my ($pid) = @_;
	my $status = eval { slurp_file("/proc/$pid/status") } // '';
	my ($state) = $status =~ /^State:\s+(\S)/m;
	my ($tracer) = $status =~ /^TracerPid:\s+(\d+)/m;
	return ($state // '', $tracer // 0);
}

SKIP:
{
	skip "part 1: $why_no_gdb", 7 if $why_no_gdb ne '';

	my ($node) = new_node(
		'publish_handshake',
		extra_conf => "childguard.audit_sync = off\n"
		  . "childguard.audit_writer_idle_timeout = '1h'\n",
		start => 1);
	setup_children($node, 'postgres', 5);

	sub reads
	{
		my ($node, $app, $n) = @_;
		$node->safe_psql('postgres',
			"SET application_name = '$app'; SET childguard.purpose = 'regress';\n"
			  . ("SELECT name FROM students WHERE id = '1';\n" x $n));
		return;
	}

	# the writer running, idle, nothing waiting for a flush
	reads($node, 'warm', 2);
	$node->safe_psql('postgres', 'SELECT childguard.audit_wait()');
	queue_drained($node);
	sleep 1;

	my $held = $node->background_psql('postgres', on_error_stop => 0);
	$held->query_safe(q{SET application_name = 'held'; SET childguard.purpose = 'regress'});
	my $pid = $held->query_safe('SELECT pg_backend_pid()');
	my $go = PostgreSQL::Test::Utils::tempdir() . '/go';
	my ($gout, $gerr) = ('', '');
	my $timer = IPC::Run::timer($PostgreSQL::Test::Utils::timeout_default);
	# held at the publish (its payload written, the entry WRITING) until
	# the file $go appears, then let go
	my $g = IPC::Run::start(
		[
			$gdb, '-p', $pid, '-batch', '-nx',
			'-ex', 'break cg_audit_publish',
			'-ex', 'continue',
			'-ex', "shell while [ ! -e '$go' ]; do sleep 0.05; done",
			'-ex', 'delete',
			'-ex', 'detach'
		],
		'<', \undef, '>', \$gout, '2>', \$gerr, $timer);
	for (;;)
	{
		$g->pump_nb;
		my ($state, $tracer) = proc_state($pid);
		last if $tracer != 0 && $state ne 't' && $state ne 'T';
		die "gdb did not attach and continue: $gerr" if !$g->pumpable || $timer->is_expired;
		select(undef, undef, undef, 0.05);
	}
	$held->{stdin} .= "SELECT name FROM students WHERE id = '2';\n";
	$held->{run}->pump_nb;
	# stopped at the breakpoint (traced and stopped)
	for (;;)
	{
		my ($state, $tracer) = proc_state($pid);
		last if $state eq 't' || $state eq 'T';
		die "the backend did not reach cg_audit_publish" if $timer->is_expired;
		select(undef, undef, undef, 0.05);
	}

	reads($node, 'behind', 10);
	# the writer was woken by the first of them, gathered, and stopped at
	# the held entry: nothing behind it is written
	sleep 1;
	is(records_where($node, 'postgres', "application_name IN ('held', 'behind')"), 0,
		'records queued behind an entry being written wait for it (queue order)');
	is($node->safe_psql('postgres', 'SELECT queued_records FROM childguard.audit_queue_status'),
		'11', 'the held record and the 10 behind it are queued');

	# let go: its publish alone must wake the writer
	my $t0 = time();
	open(my $fh, '>', $go) or die "cannot create $go: $!";
	close $fh;
	$g->finish;
	like($gout, qr/Breakpoint 1, .*cg_audit_publish/, 'the backend was held in cg_audit_publish');
	my $n = 0;
	while (time() - $t0 < 4)
	{
		$n = records_where($node, 'postgres', "application_name IN ('held', 'behind')");
		last if $n == 11;
		select(undef, undef, undef, 0.1);
	}
	is($n, 11, 'its publish woke the writer: all 11 records written within 4 s');
	note(sprintf('written %.2f s after the held backend was let go', time() - $t0));
	$held->quit;
	is(records_where($node, 'postgres', "application_name = 'held'"), 1,
		'the held statement has its record, once');
	is($node->safe_psql('postgres', 'SELECT valid FROM childguard.verify_access_log()'),
		't', 'the chain verifies');
	# (claimed records stay queued until their asynchronous commit is flushed)
	ok(queue_drained($node), 'nothing is left queued');
	$node->stop;
}

# part 2: a flood through the smallest ring
my ($flood) = new_node(
	'publish_flood',
	extra_conf => "max_connections = 40\n"
	  . "childguard.audit_queue_size = '256kB'\n"
	  . "childguard.audit_writer_delay = 0\n"
	  . "childguard.audit_wait_timeout = '60s'\n",
	start => 1);
setup_children($flood, 'postgres', 52, 5);
my $n = mixed_load($flood, clients => 16, seconds => 6, appname => 'flood');
my $records = $n->{read} + $n->{denied} + $n->{write} + 2 * $n->{toggle};
# each record takes 300 bytes or more in the ring: it went round several times
cmp_ok($records * 300, '>', 4 * 256 * 1024, "the ring of 256 kB went round more than 4 times ($records records)");
is($flood->safe_psql('postgres',
		'SELECT queued_records, written_to_server_log, not_carried_over FROM childguard.audit_queue_status'),
	'0|0|0', 'nothing queued, nothing sent to the server log instead');
$flood->stop;
done_testing();
