# Acceptance (issue 15): scale-out on Citus, one decision, one audit trail.
#
# A coordinator and two workers on one machine (Citus 13.2.2, built by
# ../shared/citus/build.sh: test/run-check.sh long does it when Citus is
# missing, from $CG_CITUS_DIR, default the repository's sibling
# ../shared/citus; without Citus this test is skipped), all with
# childguard preloaded after Citus and the same master key
# configuration; childguard.citus_node says who plays which part.
# A table holding rows is protected, then distributed; another is
# distributed, then protected.  Then:
#   - reads through the coordinator return plaintext (router, multi-shard,
#     a cursor), the workers hold and return envelopes only (direct reads
#     of the shards show envelopes; plaintext and pending values written
#     straight to a worker are refused, ZC600/ZC601; comparisons on a
#     worker are refused, ZC602);
#   - writes through the coordinator (INSERT one row and many rows, UPDATE
#     of one child) are sealed on the coordinator: the workers' statement
#     logs (log_statement = all) hold envelopes, never the markers; an
#     UPDATE that names no child is refused (ZC604), COPY FROM into the
#     distributed table is refused (ZC603), and so is INSERT ... SELECT
#     computing child data (ZC606), while INSERT ... SELECT of sealed values
#     from a local protected table works;
#   - a consent withdrawn on the coordinator stops the next router and
#     multi-shard read of that child;
#   - each distributed statement leaves exactly one audit record, on the
#     coordinator, naming the distributed table (never a shard) and the
#     children; the workers record nothing; verify_access_log() is valid;
#   - no marker in any node's data directory (after CHECKPOINT) or server
#     log, while a positive control (a marker in a plain text column of the
#     same distributed table) is found in a worker's data directory.
use strict;
use warnings;

use FindBin;
use lib "$FindBin::RealBin/../lib";

use File::Find;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use ChildguardNode;

ChildguardNode::require_citus();

my $key = ChildguardNode::random_key_hex();
my %conf = (
	coordinator => 'coordinator',
	worker1     => 'worker',
	worker2     => 'worker');
my %node;
for my $name (qw(coordinator worker1 worker2))
{
	($node{$name}) = ChildguardNode::new_node(
		$name,
		key_hex    => $key,
		extra_conf => "shared_preload_libraries = 'citus,childguard'\n"
		  . "childguard.citus_node = $conf{$name}\n"
		  . "max_prepared_transactions = 100\n"
		  . "citus.shard_count = 4\n"
		  . "log_statement = 'all'\n",
		start => 1);
	$node{$name}->safe_psql('postgres', 'CREATE EXTENSION citus');
}
my ($co, $w1, $w2) = @node{qw(coordinator worker1 worker2)};

is($co->safe_psql('postgres', 'SHOW childguard.citus_node'), 'coordinator', 'coordinator role');
is($w1->safe_psql('postgres', 'SHOW childguard.citus_node'), 'worker', 'worker role');

# Citus reaches every node through its socket directory.
$co->safe_psql('postgres',
	"SELECT citus_set_coordinator_host('" . $co->host . "', " . $co->port . ")");
for my $w ($w1, $w2)
{
	$co->safe_psql('postgres', "SELECT citus_add_node('" . $w->host . "', " . $w->port . ")");
}
$co->safe_psql('postgres', 'CREATE EXTENSION childguard CASCADE');
is($w2->safe_psql('postgres', "SELECT count(*) FROM pg_extension WHERE extname = 'childguard'"),
	'1', 'CREATE EXTENSION childguard propagated to the workers');

$co->safe_psql('postgres', q{
	SELECT childguard.register_child('c' || i, DATE '2016-01-01' + i) FROM generate_series(1, 6) i;
});
ChildguardNode::consent_all($co, 'postgres');
# an application role (no superuser: row security applies), its own grant
$co->safe_psql('postgres', q{
	CREATE ROLE cg_app LOGIN;
	SELECT childguard.enroll_application('cg_app');
});
my $grant = $co->safe_psql('postgres',
	"SELECT childguard.request_access('cg_app', '{regress}', now() + interval '1 day')");
$co->safe_psql('postgres', "SET ROLE regress_fixture_dpo; SELECT childguard.approve_access($grant)");

# Markers: unique, never to be found anywhere but in a decided read.
my $tag = substr(ChildguardNode::random_key_hex(), 0, 12);
my %mark = map { $_ => "CITUSMARK-$tag-$_" } qw(n1 n2 n3 n4 n5 n6 n7 u3 p2 p3);
my $control = "CITUSCTRL-$tag";

# 1. A table holding rows, protected, then distributed (no unsafe setting).
$co->safe_psql('postgres', qq{
	CREATE TABLE kids (child_id text NOT NULL, name childguard.child_data, note text);
	SELECT childguard.protect('kids', 'child_id', '{"name": "name"}');
	SET childguard.purpose = 'regress';
	INSERT INTO kids VALUES ('c1', '$mark{n1}', '$control'), ('c2', '$mark{n2}', 'b');
	RESET childguard.purpose;
	SELECT create_distributed_table('kids', 'child_id');
});
is($co->safe_psql('postgres', 'SHOW citus.enable_unsafe_triggers'), 'off',
	'citus.enable_unsafe_triggers stays off');
is($co->safe_psql('postgres', "SELECT count(*) FROM citus_shards WHERE table_name = 'kids'::regclass"),
	'4', 'protected table holding rows distributed into 4 shards');
is($co->safe_psql('postgres', "SELECT coalesce(childguard.protection_problem('kids'), 'ok')"),
	'ok', 'the distributed table is still protected on the coordinator');

# 2. A table holding rows, distributed, then given child data and protected.
$co->safe_psql('postgres', q{
	CREATE TABLE visits (child_id text NOT NULL, n int);
	INSERT INTO visits VALUES ('c2', 1), ('c3', 2);
	SELECT create_distributed_table('visits', 'child_id');
	ALTER TABLE visits ADD COLUMN place childguard.child_data;
	SELECT childguard.protect('visits', 'child_id', '{"place": "location"}');
});
is($co->safe_psql('postgres', "SELECT coalesce(childguard.protection_problem('visits'), 'ok')"),
	'ok', 'distributed, then protected');

# Writes through the coordinator: sealed there.
my $r = "SET childguard.purpose = 'regress';";
$co->safe_psql('postgres', qq{$r
	INSERT INTO kids VALUES ('c3', '$mark{n3}', 'c');
	INSERT INTO kids VALUES ('c4', '$mark{n4}', 'd'), ('c5', '$mark{n5}', 'e'), ('c1', '$mark{n6}', 'f');
	PREPARE ins(text, childguard.child_data) AS INSERT INTO kids VALUES (\$1, \$2, 'p');
	EXECUTE ins('c6', '$mark{n7}');
	UPDATE kids SET name = '$mark{u3}' WHERE child_id = 'c3';
	INSERT INTO visits VALUES ('c2', 3, '$mark{p2}');
	UPDATE visits SET place = '$mark{p3}' WHERE child_id = 'c3' AND n = 2;
});

# Reads through the coordinator: plaintext, decided there.
is($co->safe_psql('postgres', "$r SELECT name FROM kids WHERE child_id = 'c3'"),
	$mark{u3}, 'router read: plaintext through the coordinator');
is($co->safe_psql('postgres', "$r SELECT name FROM kids ORDER BY child_id, note"),
	join("\n", @mark{qw(n1 n6 n2 u3 n4 n5 n7)}), 'multi-shard read: plaintext through the coordinator');
is($co->safe_psql('postgres', "$r SELECT child_id, n, place FROM visits ORDER BY n"),
	"c2|1|\nc3|2|$mark{p3}\nc2|3|$mark{p2}", 'the table protected after distribution: written and read');
is($co->safe_psql('postgres', qq{$r
	BEGIN;
	DECLARE cur CURSOR FOR SELECT name FROM kids WHERE child_id IN ('c4', 'c5') ORDER BY child_id;
	FETCH 2 FROM cur;
	COMMIT;}),
	"$mark{n4}\n$mark{n5}", 'cursor over a multi-shard read');
is($co->safe_psql('postgres', "BEGIN; SET LOCAL childguard.purpose = 'regress'; SELECT name FROM kids WHERE child_id = 'c3'; COMMIT;"),
	$mark{u3}, 'a purpose set for the transaction only (behind a pool) reads through the coordinator');
like($co->safe_psql('postgres', "SELECT name FROM kids WHERE child_id = 'c3'"),
	qr/^cg1:/, 'without a purpose the coordinator shows the envelope');

# The workers store and return envelopes only.
my ($ret, $out, $err);
my $shard_w1 = $co->safe_psql('postgres',
	"SELECT shard_name FROM citus_shards WHERE table_name = 'kids'::regclass AND nodeport = " . $w1->port
	  . " ORDER BY shard_name LIMIT 1");
ok($shard_w1, "worker 1 holds shard $shard_w1");
my $direct = $w1->safe_psql('postgres', "SELECT count(*), count(*) FILTER (WHERE name::text LIKE 'cg1:%') FROM $shard_w1");
my ($rows, $envs) = split /\|/, $direct;
ok($rows > 0 && $rows == $envs, "a direct read on a worker shows envelopes only ($direct)");
($ret, $out, $err) = $w1->psql('postgres', "SET childguard.purpose = 'regress'");
like($err, qr/not defined/, 'a worker has no purposes: it never decides');
($ret, $out, $err) = $w1->psql('postgres', "INSERT INTO $shard_w1 VALUES ('c1', 'CITUSMARK-$tag-direct', 'x')");
like($err, qr/ZC600|does not take plaintext/, 'plaintext written straight to a worker is refused (ZC600)');
($ret, $out, $err) = $w1->psql('postgres', "\\set VERBOSITY verbose\nSELECT name FROM $shard_w1 ORDER BY name");
like($err, qr/ZC602/, 'a worker compares no child data (ZC602)');
($ret, $out, $err) = $co->psql('postgres', "\\set VERBOSITY verbose\n$r SELECT count(*) FROM kids WHERE name = '$mark{u3}'");
like($err, qr/ZC601|ZC602/, 'a condition on child data pushed to a worker is refused');

# A table owner's code on the distributed table is refused on the
# coordinator, even with Citus's unsafe triggers switched on by hand.
($ret, $out, $err) = $co->psql('postgres', q{
	CREATE TABLE loot (v text);
	SELECT create_distributed_table('loot', 'v');
	CREATE FUNCTION steal() RETURNS trigger LANGUAGE plpgsql AS
	  $$BEGIN INSERT INTO loot VALUES (NEW.name::text); RETURN NEW; END$$;
	SET citus.enable_unsafe_triggers = on;
	CREATE TRIGGER steal AFTER INSERT ON kids FOR EACH ROW EXECUTE FUNCTION steal();});
like($err, qr/cannot attach trigger "steal"/, 'planted code on the distributed table is refused on the coordinator');
is($w1->safe_psql('postgres', "SELECT count(*) FROM pg_trigger WHERE tgname = 'steal'"), '0',
	'... and nothing reached the workers');

# What is refused on the coordinator, with its SQLSTATE.
($ret, $out, $err) = $co->psql('postgres', "\\set VERBOSITY verbose\n$r UPDATE kids SET name = 'CITUSMARK-$tag-x'");
like($err, qr/ZC604/, 'an UPDATE of child data naming no child is refused (ZC604)');
($ret, $out, $err) = $co->psql('postgres', "\\set VERBOSITY verbose\n$r COPY kids FROM STDIN;\nc1\tCITUSMARK-$tag-copy\tz\n\\.\n");
like($err, qr/ZC603/, 'COPY FROM into the distributed table is refused (ZC603)');

($ret, $out, $err) = $co->psql('postgres', "\\set VERBOSITY verbose\n$r INSERT INTO kids SELECT 'c' || i, 'GEN-' || i, 'g' FROM generate_series(1, 3) i");
like($err, qr/ZC606/, 'INSERT ... SELECT computing child data for a distributed table is refused (ZC606)');
# sealed values move: a local protected table into the distributed one
$co->safe_psql('postgres', qq{$r
	CREATE TABLE stage (child_id text NOT NULL, name childguard.child_data, note text);
	SELECT childguard.protect('stage', 'child_id', '{"name": "name"}');
	INSERT INTO stage VALUES ('c6', 'CITUSMARK-$tag-st', 'st');
	INSERT INTO kids SELECT * FROM stage;});
is($co->safe_psql('postgres', "$r SELECT name FROM kids WHERE child_id = 'c6' AND note = 'st'"),
	"CITUSMARK-$tag-st", 'INSERT ... SELECT from a local protected table moves sealed values');
my $pending = $co->safe_psql('postgres', "SELECT childguard.envelope('CITUSMARK-$tag-pend'::childguard.child_data)");
($ret, $out, $err) = $w1->psql('postgres', "\\set VERBOSITY verbose\nINSERT INTO $shard_w1 VALUES ('c1', '$pending', 'x')");
like($err, qr/ZC601/, 'a pending value written straight to a worker is refused (ZC601)');

# The same as an application role (row security applies to it).
$co->safe_psql('postgres', q{
	GRANT SELECT, INSERT, UPDATE ON kids, stage TO cg_app;
});
my $app = "SET ROLE cg_app; $r";
$co->safe_psql('postgres', qq{$app
	INSERT INTO kids VALUES ('c5', 'CITUSMARK-$tag-app1', 'app');
	INSERT INTO stage VALUES ('c4', 'CITUSMARK-$tag-app2', 'app2');
	INSERT INTO kids SELECT * FROM stage WHERE note = 'app2';
	UPDATE kids SET name = 'CITUSMARK-$tag-app3' WHERE child_id = 'c4' AND note = 'app2';});
is($co->safe_psql('postgres', "$app SELECT child_id, name FROM kids WHERE note IN ('app', 'app2') ORDER BY note"),
	"c5|CITUSMARK-$tag-app1\nc4|CITUSMARK-$tag-app3", 'an application role writes and reads through the coordinator');
like($co->safe_psql('postgres', "SET ROLE cg_app; SELECT name FROM kids WHERE child_id = 'c5' AND note = 'app'"),
	qr/^cg1:/, 'the application role without a purpose gets the envelope');

# One audit record per distributed statement, on the coordinator.
sub audit_count
{
	my ($node) = @_;
	$node->safe_psql('postgres', 'SELECT childguard.audit_wait()');
	return $node->safe_psql('postgres', 'SELECT count(*) FROM childguard.access_log');
}
my $before = audit_count($co);
my $last   = $co->safe_psql('postgres', 'SELECT coalesce(max(id), 0) FROM childguard.access_log');
$co->safe_psql('postgres', "$r SELECT name FROM kids WHERE child_id = 'c2'");
$co->safe_psql('postgres', "$r SELECT name FROM kids WHERE child_id IN ('c4', 'c5', 'c6') AND note IN ('d', 'e', 'p')");
$co->safe_psql('postgres', "$r INSERT INTO kids VALUES ('c2', 'CITUSMARK-$tag-a1', 'a')");
$co->safe_psql('postgres', "$r DELETE FROM kids WHERE child_id = 'c2' AND note = 'a'");
is(audit_count($co) - $before, 4, 'four distributed statements, four audit records on the coordinator');
is($co->safe_psql('postgres', "SELECT string_agg(command || ':' || array_to_string(relations, '|') || ':' || children || ':' || rows || ':' || outcome, ',' ORDER BY id) FROM childguard.access_log WHERE id > $last"),
	'SELECT:public.kids:1:1:allowed,SELECT:public.kids:3:3:allowed,INSERT:public.kids:1:1:allowed,DELETE:public.kids:0:1:allowed',
	'the records name the distributed table, the children (a DELETE: its rows)');
is($co->safe_psql('postgres', "SELECT count(*) FROM childguard.access_log WHERE array_to_string(relations, ',') ~ 'kids_[0-9]'"),
	'0', 'no record names a shard');
is(audit_count($w1) + audit_count($w2), 0, 'the workers record nothing');

# A withdrawal on the coordinator stops the next router and multi-shard read.
$co->safe_psql('postgres', q{
	SET ROLE regress_fixture_recorder;
	SELECT childguard.withdraw_consent('c1', 'regress', 'g-c1');
});
($ret, $out, $err) = $co->psql('postgres', "\\set VERBOSITY verbose\n$r SELECT name FROM kids WHERE child_id = 'c1'");
like($err, qr/ZC105/, 'after the withdrawal a router read of the child is denied');
unlike($out, qr/CITUSMARK/, 'and shows nothing');
($ret, $out, $err) = $co->psql('postgres', "\\set VERBOSITY verbose\n$r SELECT child_id, name FROM kids");
like($err, qr/ZC105/, 'after the withdrawal a multi-shard read is denied');
unlike($out, qr/CITUSMARK/, 'and shows nothing');
is($co->safe_psql('postgres', "$r SET childguard.denied_read = 'mask'; SELECT child_id, name FROM kids WHERE child_id IN ('c1', 'c4') ORDER BY note"),
	"c1|[withheld]\nc4|CITUSMARK-$tag-app3\nc4|$mark{n4}\nc1|[withheld]", 'the other children are still read; the withdrawn one is withheld');
is($co->safe_psql('postgres', "$r SELECT name FROM kids WHERE child_id = 'c2' AND note = 'b'"),
	$mark{n2}, 'another child is still read');
is($co->safe_psql('postgres', "SELECT count(*) FROM childguard.access_log WHERE id > $last AND children_denied <> '{}'"),
	'3', 'the denied reads are recorded on the coordinator');
is($co->safe_psql('postgres', 'SELECT valid FROM childguard.verify_access_log()'),
	't', 'verify_access_log() is valid');

# No marker at rest or in a log, on any node; the control is found.
$_->safe_psql('postgres', 'CHECKPOINT') for ($co, $w1, $w2);
my %found;
my $control_found = 0;
for my $n ($co, $w1, $w2)
{
	for my $where ($n->data_dir, $n->logfile)
	{
		find(
			{
				no_chdir => 1,
				wanted   => sub {
					return unless -f $_;
					open my $fh, '<:raw', $_ or return;
					local $/;
					my $bytes = <$fh>;
					close $fh;
					$found{$_}++ if $bytes =~ /CITUSMARK-$tag/;
					$control_found++ if $bytes =~ /\Q$control\E/ && $_ ne $n->logfile;
				}
			},
			$where);
	}
}
is(join(', ', sort keys %found), '', 'no marker in any data directory or server log');
ok($control_found > 0, 'positive control: a plain text marker is found at rest');

done_testing();
