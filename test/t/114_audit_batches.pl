# Under a steady load the audit writer's batches grow to what
# childguard.audit_writer_delay lets gather (issue 12: the writer's CPU per
# record).  One session reads 5000 times in a loop; with a writer delay of
# 100 ms and the default batch size (500), the records must go in batches
# of 50 or more on average (one transaction per batch; about 400 here).
# Before, records already written but waiting for their asynchronous
# commit's flush counted as pending, so once a batch's worth of them was
# waiting the writer stopped gathering, and it re-claimed at once the few
# records that arrived while a batch was being written: about 8 records
# per transaction in this test (checked on the old code: 5000 records in
# 632 transactions).  The chain stays exact and every read is recorded once.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::RealBin/../lib";
use PostgreSQL::Test::Utils;
use Test::More;
use ChildguardNode qw(new_node);
use ChildguardLoad qw(setup_children);

my $reads = 5000;
my ($node) = new_node(
	'audit_batches',
	extra_conf => "childguard.audit_writer_idle_timeout = '1h'\n"
	  . "childguard.audit_writer_delay = '100ms'\n",
	start => 1);
setup_children($node, 'postgres', 50);
$node->safe_psql('postgres', 'SELECT childguard.audit_wait()');
my $before = $node->safe_psql('postgres', 'SELECT coalesce(max(id), 0) FROM childguard.access_log');

my $script = "SET application_name = 'batches';\nSET childguard.purpose = 'regress';\n";
$script .= "SELECT name FROM students WHERE id = '" . ($_ % 50 + 1) . "';\n" for 1 .. $reads;
my ($ret, $out, $err) = $node->psql('postgres', $script);
is($ret, 0, "$reads audited reads") or diag $err;
ok( $node->poll_query_until('postgres', qq{
		SELECT count(*) >= $reads FROM childguard.access_log
		 WHERE id > $before AND application_name = 'batches'}),
	'the writer writes them');

# a batch is one transaction: its records share logged_at (from 1.8 the
# log is a view, without xmin; its batches are rows of access_log_batch)
my ($n, $batches) = split /\|/, $node->safe_psql('postgres', qq{
	SELECT count(*), count(DISTINCT logged_at) FROM childguard.access_log
	 WHERE id > $before AND application_name = 'batches' AND command = 'SELECT'});
is($n, $reads, 'every read is recorded once');
cmp_ok($n / ($batches || 1), '>=', 50,
	sprintf('records go in large batches (%d records in %d transactions)', $n, $batches));
is($node->safe_psql('postgres', 'SELECT valid FROM childguard.verify_access_log()'),
	't', 'the chain verifies');
$node->stop;
done_testing();
