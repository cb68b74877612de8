# One database's writer does not keep another's out (issue 9, item 2: one
# database's trouble never blocks another's reads).  With a single worker
# slot free (max_worker_processes = 3: the logical replication launcher
# and childguard's retention launcher take the others) and writers that would idle for an hour, a synchronous
# read in database B finds no slot for its writer: the idle writer of
# database A leaves at once to make way, and B's read completes -- and then
# the same the other way round.  Before, B's read waited for
# audit_wait_timeout and failed (ZC202).
use strict;
use warnings;
use FindBin;
use lib "$FindBin::RealBin/../lib";
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time);
use ChildguardNode qw(new_node);
use ChildguardLoad qw(setup_children);

my ($node) = new_node(
	'audit_slots',
	extra_conf => "max_worker_processes = 3\n"
	  . "childguard.audit_writer_idle_timeout = '1h'\n"
	  . "childguard.audit_wait_timeout = '30s'\n"
	  . "childguard.audit_sync = on\n",
	start => 1);
$node->safe_psql('postgres', 'CREATE DATABASE a');
$node->safe_psql('postgres', 'CREATE DATABASE b');
setup_children($node, 'a', 3);
setup_children($node, 'b', 3);

sub timed_read
{
	my ($db) = @_;
	my $t0 = time;
	my ($ret, $out, $err) = $node->psql($db,
		"SET application_name = 'slot-$db'; SET childguard.purpose = 'regress'; "
		  . "SELECT name FROM students WHERE id = '1'");
	return ($ret, time - $t0, $err);
}

for my $round (1 .. 2)
{
	for my $db ('a', 'b')
	{
		my ($ret, $secs, $err) = timed_read($db);
		is($ret, 0, "round $round: a synchronous read in $db completes") or diag $err;
		cmp_ok($secs, '<', 15,
			sprintf('round %d: without waiting for the timeout (%.1f s)', $round, $secs));
	}
}
for my $db ('a', 'b')
{
	is( $node->safe_psql($db,
			"SELECT count(*) FROM childguard.access_log WHERE application_name = 'slot-$db'"),
		'2', "both reads in $db are recorded");
}
$node->stop;
done_testing();
