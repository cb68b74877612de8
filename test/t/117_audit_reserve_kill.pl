# A backend killed (kill -9) between reserving its audit record's entry in
# the shared ring and publishing it (1.7: the record is encoded in place,
# cg_audit_reserve / cg_audit_record_write / cg_audit_publish in
# src/audit/audit_queue.c; docs/audit.md, "CPU per record (1.7)";
# docs/security.md, "Attacks on the 1.7 fast paths").  The entry is left
# WRITING, which a writer's claim does not pass; the kill reinitialises
# shared memory, and the postmaster's save must skip that entry and keep
# every published record, this database's and another database's (whose
# writer is stopped, so its records wait in the ring behind the entry):
#  - the records published before the kill are written once each, in both
#    databases; the killed statement's is not (it never completed);
#  - after recovery N reads give exactly N records in each database (no
#    stalled claim), the chains verify, nothing is left queued.
# The kill is made with gdb at a breakpoint on cg_audit_record_write in
# the reading backend; without gdb (or ptrace) the test skips.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::RealBin/../lib";
use IPC::Run ();
use PostgreSQL::Test::Utils;
use Test::More;
use ChildguardNode qw(new_node);
use ChildguardLoad qw(setup_children queue_drained records_where wait_ready);

my $gdb = `command -v gdb 2>/dev/null`;
chomp $gdb;
plan skip_all => 'gdb is not installed' unless $gdb ne '';
plan skip_all => 'needs /proc (Linux)' unless -r "/proc/$$/status";
# can gdb attach to a process here (ptrace allowed)?
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
	plan skip_all => "gdb cannot attach to a process here: $out"
	  unless $out =~ /process $child/;
}

# the state of process $pid (R, S, t, ...) and whether it is traced
sub proc_state
{
	my ($pid) = @_;
	my $status = eval { slurp_file("/proc/$pid/status") } // '';
	my ($state) = $status =~ /^State:\s+(\S)/m;
	my ($tracer) = $status =~ /^TracerPid:\s+(\d+)/m;
	return ($state // '', $tracer // 0);
}

my ($node) = new_node(
	'reserve_kill',
	extra_conf => "restart_after_crash = on\n"
	  . "childguard.audit_sync = off\n"
	  . "childguard.audit_writer_restart = 1\n",
	start => 1);
$node->safe_psql('postgres', 'CREATE DATABASE other');
setup_children($node, 'postgres', 5);
setup_children($node, 'other', 5);

sub reads
{
	my ($db, $app, $n) = @_;
	$node->safe_psql($db,
		"SET application_name = '$app'; SET childguard.purpose = 'regress';\n"
		  . ("SELECT name FROM students WHERE id = '1';\n" x $n));
	return;
}

# both databases' writers running; then the other database's stopped, its
# next records published but left in the ring
reads('postgres', 'warm', 1);
reads('other', 'warm', 1);
$node->safe_psql($_, 'SELECT childguard.audit_wait()') for ('postgres', 'other');
queue_drained($node);
my $w_other = $node->safe_psql('postgres',
	"SELECT pid FROM pg_stat_activity WHERE backend_type = 'childguard audit writer' AND datname = 'other'");
like($w_other, qr/^\d+$/, 'the other database has its writer');
kill 'STOP', $w_other;
reads('other', 'other_before', 3);
reads('postgres', 'pg_before', 2);
$node->safe_psql('postgres', 'SELECT childguard.audit_wait()');
is(records_where($node, 'postgres', "application_name = 'pg_before'"), 2,
	'this database\'s records are written while the other\'s writer is stopped');

# the victim: stopped by gdb inside cg_audit_record_write, then killed
my $victim = $node->background_psql('postgres', on_error_stop => 0);
$victim->query_safe(q{SET application_name = 'victim'; SET childguard.purpose = 'regress'});
my $pid = $victim->query_safe('SELECT pg_backend_pid()');
my ($gout, $gerr) = ('', '');
my $timer = IPC::Run::timer($PostgreSQL::Test::Utils::timeout_default);
my $g = IPC::Run::start(
	[
		$gdb, '-p', $pid, '-batch', '-nx',
		'-ex', 'break cg_audit_record_write',
		'-ex', 'continue',
		'-ex', 'kill'
	],
	'<', \undef, '>', \$gout, '2>', \$gerr, $timer);
# attached, the breakpoint set, and the backend running again (gdb's
# output is buffered in a pipe: read the backend's state instead)
for (;;)
{
	$g->pump_nb;
	my ($state, $tracer) = proc_state($pid);
	last if $tracer != 0 && $state ne 't' && $state ne 'T';
	die "gdb did not attach and continue: $gerr" if !$g->pumpable || $timer->is_expired;
	select(undef, undef, undef, 0.05);
}
$victim->{stdin} .= "SELECT name FROM students WHERE id = '2';\n";
$victim->{run}->pump_nb;
$g->finish;
like($gout, qr/Breakpoint 1, .*cg_audit_record_write/,
	'the backend was stopped between reserve and publish');
eval { $victim->{run}->kill_kill; };
wait_ready($node);
like(slurp_file($node->logfile), qr/\(PID $pid\) was terminated by signal 9/,
	'it was killed there, and the server restarted');

# the stopped writer was killed with the rest; a new one takes the saved records
queue_drained($node);
is(records_where($node, 'other', "application_name = 'other_before'"), 3,
	'the other database\'s published records, behind the entry left WRITING, are written once each');
is(records_where($node, 'postgres', "application_name = 'pg_before'"), 2,
	'this database\'s earlier records once each');
is(records_where($node, 'postgres', "application_name = 'victim'"), 0,
	'the killed statement left no record (it never completed)');

# after recovery: no claim stalls on a leftover entry
reads('postgres', 'pg_after', 7);
reads('other', 'other_after', 5);
$node->safe_psql($_, 'SELECT childguard.audit_wait()') for ('postgres', 'other');
queue_drained($node);
is(records_where($node, 'postgres', "application_name = 'pg_after'"), 7,
	'after recovery, 7 reads give 7 records here');
is(records_where($node, 'other', "application_name = 'other_after'"), 5,
	'and 5 reads give 5 in the other database');
for my $db ('postgres', 'other')
{
	is($node->safe_psql($db, 'SELECT valid FROM childguard.verify_access_log()'),
		't', "$db: the chain verifies");
}
is($node->safe_psql('postgres',
		'SELECT not_carried_over, unsaved_exits, queued_records FROM childguard.audit_queue_status'),
	'0|0|0', 'nothing saved was left behind, nothing is queued');

$node->stop;
done_testing();
