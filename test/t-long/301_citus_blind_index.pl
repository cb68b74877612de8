# A table with a blind index is never distributed by Citus (round 20,
# loose end 4; docs/scale-out.md, docs/security.md section 13).
#
# On a coordinator Citus does not fire the shell table's seal trigger for a
# distributed table's writes (citus_seal.c seals them and computes no
# hash), so a blind index's hidden column would stay empty for the rows
# written after the table was distributed, and lookups through it would
# miss them.  enable_blind_index() on a distributed table was refused
# (ZC403); distributing a table that had one was not.  Now (ZC563):
#   - create_distributed_table() and create_distributed_table_concurrently()
#     of a table with a blind index are refused, nothing distributed;
#   - should it be distributed anyway (the table named by an expression,
#     Citus's unsafe-trigger setting turned on by a superuser), every
#     lookup through the index by a role under row security and every
#     write through the coordinator are refused; disable_blind_index()
#     makes the table usable again;
#   - enable_blind_index() on a distributed table stays refused (ZC403).
# On the old code the first create_distributed_table() succeeds and the
# lookup after an INSERT through the coordinator misses the new row.
# A coordinator and one worker; skipped without Citus (as t-long/300).
use strict;
use warnings;

use FindBin;
use lib "$FindBin::RealBin/../lib";

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use ChildguardNode;

ChildguardNode::require_citus();

my $key = ChildguardNode::random_key_hex();
my %node;
for my $name (qw(coordinator worker))
{
	($node{$name}) = ChildguardNode::new_node(
		"bi_$name",
		key_hex    => $key,
		extra_conf => "shared_preload_libraries = 'citus,childguard'\n"
		  . "childguard.citus_node = $name\n"
		  . "max_prepared_transactions = 100\n"
		  . "citus.shard_count = 2\n",
		start => 1);
	$node{$name}->safe_psql('postgres', 'CREATE EXTENSION citus');
}
my ($co, $w) = @node{qw(coordinator worker)};
$co->safe_psql('postgres',
	"SELECT citus_set_coordinator_host('" . $co->host . "', " . $co->port . ")");
$co->safe_psql('postgres', "SELECT citus_add_node('" . $w->host . "', " . $w->port . ")");
$co->safe_psql('postgres', 'CREATE EXTENSION childguard CASCADE');
$co->safe_psql('postgres',
	q{SELECT childguard.register_child('c' || i, DATE '2016-01-01' + i) FROM generate_series(1, 3) i});
ChildguardNode::consent_all($co, 'postgres');
$co->safe_psql('postgres', q{
	CREATE ROLE cg_app LOGIN;
	SELECT childguard.enroll_application('cg_app');
});
my $grant = $co->safe_psql('postgres',
	"SELECT childguard.request_access('cg_app', '{regress}', now() + interval '1 day')");
$co->safe_psql('postgres', "SET ROLE regress_fixture_dpo; SELECT childguard.approve_access($grant)");

my $r = "SET childguard.purpose = 'regress';";
for my $t (qw(kids kids2))
{
	$co->safe_psql('postgres', qq{
		CREATE TABLE $t (child_id text NOT NULL, name childguard.child_data, note text);
		SELECT childguard.protect('$t', 'child_id', '{"name": "name"}');
		GRANT SELECT, INSERT ON $t TO cg_app;
		$r
		INSERT INTO $t VALUES ('c1', 'Ann', 'a'), ('c2', 'Bo', 'b');
		SELECT childguard.enable_blind_index('$t', 'name');
	});
}
my $distributed = sub {
	$co->safe_psql('postgres',
		"SELECT count(*) FROM pg_dist_partition WHERE logicalrelid = '$_[0]'::regclass");
};

# 1. distributing a table with a blind index: refused, both functions
my ($ret, $out, $err) = $co->psql('postgres',
	"\\set VERBOSITY verbose\nSELECT create_distributed_table('kids', 'child_id')");
like($err, qr/ZC563.*cannot distribute table "kids" with a blind index/s,
	'create_distributed_table() of a table with a blind index: ZC563');
($ret, $out, $err) = $co->psql('postgres',
	"\\set VERBOSITY verbose\nSELECT create_distributed_table_concurrently('kids', 'child_id')");
like($err, qr/ZC563/, 'create_distributed_table_concurrently(): ZC563');
is($distributed->('kids'), '0', 'the table is not distributed');
is($co->safe_psql('postgres', "SET ROLE cg_app; $r SELECT note FROM kids WHERE name = 'Ann'"),
	'a', 'the local table keeps its lookups');

# 2. distributed anyway: the table named by an expression, the unsafe
# setting turned on by hand (a superuser)
$co->safe_psql('postgres', q{
	SET citus.enable_unsafe_triggers = on;
	SELECT create_distributed_table((SELECT 'kids2'::regclass), 'child_id');
});
is($distributed->('kids2'), '1', 'kids2 distributed through an expression');
($ret, $out, $err) = $co->psql('postgres',
	"\\set VERBOSITY verbose\n$r INSERT INTO kids2 VALUES ('c3', 'Cy', 'c')");
like($err, qr/ZC563.*table "kids2" has a blind index and is distributed by Citus/s,
	'a write through the coordinator: ZC563');
($ret, $out, $err) = $co->psql('postgres',
	"\\set VERBOSITY verbose\nSET ROLE cg_app;\n$r SELECT note FROM kids2 WHERE name = 'Ann'");
like($err, qr/ZC563/, 'a lookup through the blind index: ZC563');
($ret, $out, $err) = $co->psql('postgres',
	"\\set VERBOSITY verbose\nSET ROLE cg_app;\n$r PREPARE q(childguard.child_data) AS SELECT note FROM kids2 WHERE name = \$1; EXECUTE q('Bo')");
like($err, qr/ZC563/, 'a prepared lookup: ZC563');
is($co->safe_psql('postgres', "SET ROLE cg_app; $r SELECT count(*) FROM kids2"), '2',
	'reads that do not use the index still work');
$co->safe_psql('postgres', "SELECT childguard.disable_blind_index('kids2', 'name')");
$co->safe_psql('postgres', "$r INSERT INTO kids2 VALUES ('c3', 'Cy', 'c')");
is($co->safe_psql('postgres', "SET ROLE cg_app; $r SELECT name FROM kids2 WHERE child_id = 'c3'"), 'Cy',
	'after disable_blind_index() the distributed table is written and read as any other');

# 3. the first order stays refused
($ret, $out, $err) = $co->psql('postgres',
	"\\set VERBOSITY verbose\nSELECT childguard.enable_blind_index('kids2', 'name')");
like($err, qr/ZC403/, 'enable_blind_index() on a distributed table: ZC403');

$co->stop;
$w->stop;
done_testing();
