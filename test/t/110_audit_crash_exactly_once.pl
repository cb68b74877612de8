# Audit delivery is exactly-once across faults (issue 9, item 1).
#
# For audit_sync on and off, and for each fault -- kill -9 of a reading
# backend, kill -9 of the audit writer, an immediate shutdown, a full
# (fast) restart -- in the middle of a pgbench load of audited reads:
#  - every read the clients saw complete has its record after recovery,
#    and no record is written twice: the load's records number between
#    the reads pgbench counted and that plus one per client (a read in
#    flight at the fault may or may not have been recorded, never twice);
#  - after recovery, N audited reads give exactly N new records (the
#    crash-restart used to make the writer take them for already written:
#    the queue's sequence restarted at 1 under an unchanged epoch);
#  - the chain verifies, nothing is left queued, and
#    childguard.audit_queue_status reports what was carried over.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::RealBin/../lib";
use PostgreSQL::Test::Utils;
use Test::More;
use ChildguardNode qw(new_node);
use ChildguardLoad qw(setup_children start_load finish_load script_file
  queue_drained records_where wait_ready);

my $CLIENTS = 4;
my $AFTER = 40;

my ($node) = new_node(
	'audit_faults',
	extra_conf => "childguard.audit_wait_timeout = '60s'\n"
	  . "restart_after_crash = on\n"
	  . "childguard.audit_writer_restart = 1\n",
	start => 1);
setup_children($node, 'postgres', 20);

my $read = script_file('read',
	"\\set id random(1, 20)\nSELECT name FROM students WHERE id = :id::text;\n");

my $scenario = 0;
sub fault_during_load
{
	my ($sync, $fault) = @_;
	$scenario++;
	my $name = "sync=$sync, $fault";
	$node->append_conf('postgresql.conf', "childguard.audit_sync = $sync\n");
	$node->reload;
	my $app = "load$scenario";
	my $base = $node->safe_psql('postgres',
		'SELECT coalesce(max(id), 0) FROM childguard.access_log');

	my $load = start_load($node, 'postgres',
		scripts => [ [ $read, 1 ] ], clients => $CLIENTS, seconds => 60,
		appname => $app);
	# the load is flowing: records are being written
	$node->poll_query_until('postgres',
		"SELECT count(*) > 100 FROM childguard.access_log WHERE id > $base")
	  or die "the load did not start";

	if ($fault eq 'backend')
	{
		my $pid = $node->safe_psql('postgres',
			"SELECT pid FROM pg_stat_activity WHERE application_name = '$app' LIMIT 1");
		kill 'KILL', $pid;
	}
	elsif ($fault eq 'writer')
	{
		my $pid = $node->safe_psql('postgres',
			"SELECT pid FROM pg_stat_activity WHERE backend_type = 'childguard audit writer' LIMIT 1");
		die "no writer" unless $pid =~ /^\d+$/;
		kill 'KILL', $pid;
	}
	elsif ($fault eq 'immediate')
	{
		$node->stop('immediate');
		$node->start;
	}
	elsif ($fault eq 'restart')
	{
		$node->restart;
	}
	my ($processed, undef, $aborted) = finish_load($load);
	wait_ready($node);
	ok($processed > 0, "$name: the fault ended the load ($processed reads completed)");

	# N reads after recovery
	my $after = "after$scenario";
	$node->safe_psql('postgres',
		"SET application_name = '$after'; SET childguard.purpose = 'regress';\n"
		  . ("SELECT name FROM students WHERE id = '3';\n" x $AFTER)
		  . "SELECT childguard.audit_wait();");
	queue_drained($node);
	is(records_where($node, 'postgres', "application_name = '$after'"),
		$AFTER, "$name: $AFTER reads after recovery give exactly $AFTER records");
	my $recorded = records_where($node, 'postgres', "application_name = '$app'");
	cmp_ok($recorded, '>=', $processed,
		"$name: every read completed before the fault is recorded ($recorded >= $processed)");
	cmp_ok($recorded, '<=', $processed + $CLIENTS,
		"$name: no read is recorded twice ($recorded <= $processed + $CLIENTS in flight)");
	is($node->safe_psql('postgres', 'SELECT valid FROM childguard.verify_access_log()'),
		't', "$name: the chain verifies");
	return;
}

for my $sync ('on', 'off')
{
	for my $fault ('backend', 'writer', 'immediate', 'restart')
	{
		fault_during_load($sync, $fault);
	}
}

# what the faults carried over is on record, and nothing was lost
my $status = $node->safe_psql('postgres',
	'SELECT not_carried_over, unsaved_exits, queued_records FROM childguard.audit_queue_status');
is($status, '0|0|0', 'no saved record was left behind, no postmaster exited without saving');
like(slurp_file($node->logfile),
	qr/childguard queued again \d+ audit records saved/,
	'the server log says when queued records were carried over a fault');

# Saved records that do not fit a smaller queue at the next start go to
# the server log in full and are counted; the rest is written: each of the
# records is in exactly one of the two.
my $w = $node->safe_psql('postgres',
	q{SET childguard.purpose = 'regress'; SELECT name FROM students WHERE id = '1';
	  SELECT childguard.audit_wait();
	  SELECT pid FROM pg_stat_activity WHERE backend_type = 'childguard audit writer'});
$w = (split /\n/, $w)[-1];
kill 'STOP', $w;
my $N = 1500;
$node->safe_psql('postgres',
	"SET application_name = 'overflow'; SET childguard.purpose = 'regress';\n"
	  . ("SELECT name FROM students WHERE id = '4';\n" x $N));
# the stopped writer is killed after SIGQUIT; the postmaster saves the queue
$node->stop('immediate');
$node->append_conf('postgresql.conf', "childguard.audit_queue_size = '256kB'\n");
my $offset = -s $node->logfile;
$node->start;
my ($carried, $not) = split /\|/, $node->safe_psql('postgres',
	'SELECT carried_over, not_carried_over FROM childguard.audit_queue_status');
ok($carried > 0 && $not > 0 && $carried + $not == $N,
	"a smaller queue takes part of the saved records ($carried) and counts the rest ($not)");
my $logged = () = slurp_file($node->logfile, $offset) =~
  /This audit record is not in childguard.access_log: the audit queue at start had no room to queue it again/g;
is($logged, $not, 'the rest is in the server log in full, each once');
$node->safe_psql('postgres',
	q{SET childguard.purpose = 'regress'; SELECT name FROM students WHERE id = '1'; SELECT childguard.audit_wait()});
queue_drained($node);
is(records_where($node, 'postgres', "application_name = 'overflow'"), $carried,
	'the part queued again is written, once');
is($node->safe_psql('postgres', 'SELECT valid FROM childguard.verify_access_log()'),
	't', 'the chain verifies');
$node->append_conf('postgresql.conf', "childguard.audit_queue_size = '8MB'\n");
$node->restart;

# A postmaster killed outright cannot save its queue: the next start says
# so (server log and audit_queue_status), never silently.
$node->append_conf('postgresql.conf', "childguard.audit_sync = off\n");
$node->reload;
my $ckpt = $node->safe_psql('postgres',
	"SELECT pid FROM pg_stat_activity WHERE backend_type = 'checkpointer'");
kill 'KILL', $node->{_pid};
# its children exit when they notice the postmaster died
for (my $i = 0; $i < 300 && kill(0, $ckpt); $i++)
{
	select(undef, undef, undef, 0.1);
}
unlink $node->data_dir . '/postmaster.pid';
$node->_update_pid(0);
$node->start;
is( $node->safe_psql('postgres',
		'SELECT unsaved_exits, last_unsaved_exit_epoch IS NOT NULL FROM childguard.audit_queue_status'),
	'1|t',
	'a postmaster killed outright is reported by audit_queue_status at the next start');
like(slurp_file($node->logfile),
	qr/childguard audit records queued when the server last stopped may be lost/,
	'and in the server log');

$node->stop;
done_testing();
