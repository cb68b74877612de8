# Streaming hot standby and promotion (issue 9, item 5).
#
#   (a) the registries replicate: on the standby, a set of reads (row policy
#       as an application role, the value-level wall as a superuser, no
#       purpose, an unknown purpose, denied values as NULL) gives exactly
#       what it gives on the primary;
#   (b) a withdrawal committed on the primary stops, once replayed, the next
#       read on the standby, also in a session that had read (and cached)
#       the child's consent before: replayed relcache invalidations reach
#       the standby's caches;
#   (c) each read on the standby leaves its audit record as a server-log
#       line there ("AUDIT: CHILD,...", docs/audit.md "Hot standbys"), with
#       the children read and denied, the role and database in the prefix;
#   (d) a master-key rotation on the primary, with the new key configured
#       on the standby first, is invisible to the standby's readers;
#   (e) promotion: a session open across it and new sessions read; writes
#       work; records now go to childguard.access_log, whose chain (begun on
#       the old primary) verifies.  The standby runs with audit_sync = on
#       throughout: its reads do not wait while it is a standby, and wait
#       for durable records once promoted.
use strict;
use warnings;

use FindBin;
use lib "$FindBin::RealBin/../lib";

use File::Basename qw(dirname);
use File::Copy qw(copy);
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use ChildguardNode;

my $pg_config = $ENV{PG_CONFIG} // 'pg_config';
chomp(my $pkglibdir = `$pg_config --pkglibdir`);
plan skip_all => "childguard.so is not installed in $pkglibdir"
  unless -e "$pkglibdir/childguard.so";

my ($primary, $key_a) = ChildguardNode::new_node(
	'hs_primary',
	allows_streaming => 1,
	start => 1);
my $keydir = dirname($key_a);

$primary->safe_psql(
	'postgres', q{
	CREATE EXTENSION childguard CASCADE;
	SELECT childguard.register_child(i::text, '2014-03-01') FROM generate_series(1, 3) i;
	CREATE TABLE students (id bigint PRIMARY KEY, name childguard.child_data,
	                       school childguard.child_data);
	SELECT childguard.protect('students', 'id', '{"name":"name","school":"school"}');
	CREATE ROLE regress_app LOGIN;
	GRANT SELECT ON students TO regress_app;
});
ChildguardNode::consent_all($primary, 'postgres');
$primary->safe_psql(
	'postgres', q{
	SET childguard.purpose = 'regress';
	INSERT INTO students SELECT i, 'name ' || i, 'school ' || i FROM generate_series(1, 3) i;
	SELECT childguard.request_access('regress_app', '{regress}', now() + interval '1 day')
	  AS g \gset
	SET ROLE regress_fixture_dpo;
	SELECT childguard.approve_access(:g);
});
my %subject = map {
	$_ => $primary->safe_psql('postgres',
		"SELECT subject_no FROM childguard.child WHERE child_id = '$_'")
} 1 .. 3;

# The standby: from a base backup, streaming, with its own copy of the key
# file and a log_line_prefix naming who and where.
$primary->backup('bk');
my $standby = PostgreSQL::Test::Cluster->new('hs_standby');
$standby->init_from_backup($primary, 'bk', has_streaming => 1);
my $standby_key = "$keydir/standby_a.key";
copy($key_a, $standby_key) or die "copy: $!";
chmod 0600, $standby_key;
$standby->append_conf(
	'postgresql.conf', qq{
childguard.master_key_file = '$standby_key'
log_line_prefix = '%m [%p] %c %u\@%d %a %Q '
# no effect while a standby (its records go to the log); after the
# promotion, reads wait until their records are durable in access_log
childguard.audit_sync = on
});
$standby->start;
$primary->wait_for_catchup($standby);
is($standby->safe_psql('postgres', 'SELECT pg_is_in_recovery()'),
	't', 'the standby is a hot standby');

# The reads compared between the nodes: [ name, role, sql ].
my @reads = (
	[
		'row policy, as the application role', 'regress_app',
		q{SET childguard.purpose = 'regress';
		  SELECT id, name, school FROM students ORDER BY id}
	],
	[
		'row policy, count', 'regress_app',
		q{SET childguard.purpose = 'regress'; SELECT count(*) FROM students}
	],
	[
		'no purpose: no rows for the application role', 'regress_app',
		q{SELECT count(*) FROM students}
	],
	[
		'unknown purpose', 'regress_app',
		q{SET childguard.purpose = 'nope'; SELECT count(*) FROM students}
	],
	[
		'value-level wall: child 3 as a superuser', undef,
		q{SET childguard.purpose = 'regress'; SELECT name FROM students WHERE id = 3}
	],
	[
		'denied values as NULL', undef,
		q{SET childguard.purpose = 'regress'; SET childguard.denied_read = 'null';
		  SELECT id, name, school FROM students ORDER BY id}
	],
	[
		'no purpose: envelopes', undef,
		q{SELECT id, left(name::text, 4) FROM students ORDER BY id}
	]);

# run($node, $role, $sql) -> "stdout / SQLSTATE of the error, if any"
sub run
{
	my ($node, $role, $sql) = @_;
	my ($out, $err) = ('', '');
	$node->psql(
		'postgres', $sql,
		stdout => \$out,
		stderr => \$err,
		extra_params => [ '-v', 'VERBOSITY=sqlstate', ($role ? ('-U', $role) : ()) ]);
	my @codes = $err =~ /ERROR:\s+([0-9A-Z]{5})/g;
	return "$out / @codes";
}

sub compare_nodes
{
	my ($phase, %expect) = @_;
	for my $r (@reads)
	{
		my ($name, $role, $sql) = @$r;
		my $on_primary = run($primary, $role, $sql);
		is(run($standby, $role, $sql), $on_primary,
			"$phase: $name: the standby answers as the primary");
		like($on_primary, $expect{$name}, "$phase: $name: $expect{$name}")
		  if $expect{$name};
	}
}

# ---------------------------------------------------------------------------
# (a) Everyone consented.
# ---------------------------------------------------------------------------
compare_nodes(
	'all consented',
	'row policy, count' => qr{^3 / $},
	'no purpose: no rows for the application role' => qr{^0 / $},
	'unknown purpose' => qr{ZC101},
	'value-level wall: child 3 as a superuser' => qr{^name 3 / $});

# A standby session that reads child 3 now (its caches hold the consent).
my $session = $standby->background_psql('postgres', on_error_stop => 0,
	extra_params => [ '-U', 'regress_app' ]);
$session->query_safe(q{SET childguard.purpose = 'regress'});
my $session_pid = $session->query_safe('SELECT pg_backend_pid()');
is($session->query_safe('SELECT id, name FROM students ORDER BY id'),
	"1|name 1\n2|name 2\n3|name 3", 'standby session reads all three children');

# ---------------------------------------------------------------------------
# (b) Withdrawal on the primary, replayed.
# ---------------------------------------------------------------------------
$primary->safe_psql('postgres',
	q{SELECT childguard.withdraw_consent('3', 'regress', 'g-3')});
$primary->wait_for_catchup($standby);
is($session->query_safe('SELECT id, name FROM students ORDER BY id'),
	"1|name 1\n2|name 2",
	'after the withdrawal is replayed, the open standby session no longer sees child 3');
compare_nodes(
	'after the withdrawal',
	'row policy, count' => qr{^2 / $},
	'value-level wall: child 3 as a superuser' => qr{ZC105},
	'denied values as NULL' => qr{^1\|name 1\|school 1\n2\|name 2\|school 2\n3\|\| / $});

# ---------------------------------------------------------------------------
# (c) The standby's audit records: server-log lines.
# ---------------------------------------------------------------------------
my ($s1, $s2, $s3) = @subject{ 1 .. 3 };
my $log = slurp_file($standby->logfile);
my @lines = grep { /AUDIT: CHILD,/ } split /\n/, $log;
ok(scalar(@lines) >= 10, 'the standby logged an audit line for each read ('
	  . scalar(@lines) . ')');
like($log,
	qr/regress_app\@postgres [^\n]*LOG:  AUDIT: CHILD,allowed,SELECT,regress,\d+,public\.students,public\.students\.name,3,$s1 $s2,$s3,,2,\n[^\n]*DETAIL:  This audit record is not in childguard\.access_log: a hot standby cannot write childguard\.access_log\. Statement at [^,]+, session [0-9a-f]+\.[0-9a-f]+, role regress_app acting as regress_app, client \[local\], application 061_hot_standby\.pl, query id -?\d+\./,
	'the open session\'s read after the withdrawal: children 1 and 2 read, 3 denied (row policy), by regress_app in postgres');
like($log,
	qr/LOG:  AUDIT: CHILD,error,SELECT,regress,\d+,public.students,public.students.name,1,,$s3,,0,ZC105/,
	'the refused read of child 3: child 3 denied, SQLSTATE ZC105');
unlike($log, qr/name [123]|school [123]/, 'no plaintext in the standby\'s log');
$primary->safe_psql('postgres', 'SELECT childguard.audit_wait()');
is($primary->safe_psql('postgres',
		"SELECT count(*) FROM childguard.access_log WHERE backend_pid = $session_pid"),
	0, 'the standby session\'s reads are not in the primary\'s access log');

# ---------------------------------------------------------------------------
# (d) Rotation on the primary; the new key is configured on the standby
#     first (docs/keys.md).
# ---------------------------------------------------------------------------
my $key_b = ChildguardNode::write_key("$keydir/master_b.key");
my $standby_key_b = "$keydir/standby_b.key";
copy($key_b, $standby_key_b) or die "copy: $!";
chmod 0600, $standby_key_b;
$standby->append_conf('postgresql.conf',
	"childguard.master_key_file = '$standby_key_b'\n"
	  . "childguard.previous_master_key_file = '$standby_key'\n");
$standby->reload;
$primary->append_conf('postgresql.conf',
	"childguard.master_key_file = '$key_b'\n"
	  . "childguard.previous_master_key_file = '$key_a'\n");
$primary->reload;
$primary->poll_query_until('postgres',
	"SELECT current_setting('childguard.master_key_file') = '$key_b'")
  or die 'reload did not take effect';
is($primary->safe_psql('postgres', 'SELECT childguard.rotate_master_key()'),
	3, 'rotation on the primary rewraps the three data keys');
$primary->wait_for_catchup($standby);
is($session->query_safe('SELECT id, name FROM students ORDER BY id'),
	"1|name 1\n2|name 2", 'the standby session reads after the rotation');
compare_nodes('after the rotation');

# ---------------------------------------------------------------------------
# (e) Promotion.
# ---------------------------------------------------------------------------
$primary->stop;
$standby->promote;
is($standby->safe_psql('postgres', 'SELECT pg_is_in_recovery()'),
	'f', 'the standby is promoted');
is($session->query_safe('SELECT id, name FROM students ORDER BY id'),
	"1|name 1\n2|name 2", 'the session open across the promotion reads');
$standby->poll_query_until('postgres',
	"SELECT count(*) > 0 FROM childguard.access_log WHERE backend_pid = $session_pid")
  or die 'no record of the read after the promotion';
my $app_records = $standby->safe_psql('postgres',
	qq{SELECT count(*) || ' ' || array_to_string(max(children_read), ',')
	     FROM childguard.access_log WHERE backend_pid = $session_pid});
is($app_records, "1 $s1,$s2",
	'its read after the promotion is recorded in childguard.access_log');
$session->quit;

# writes: a new child, consent, collection, and a read back
$standby->safe_psql('postgres',
	q{SELECT childguard.register_child('4', '2014-03-01')});
ChildguardNode::consent_all($standby, 'postgres');
is( $standby->safe_psql(
		'postgres', q{
	SET childguard.purpose = 'regress';
	INSERT INTO students VALUES (4, 'name 4', 'school 4');
	SELECT id, name FROM students WHERE id = 4;
	SELECT childguard.audit_wait();}),
	"4|name 4\n",
	'the promoted node registers, collects and reads');
is( $standby->safe_psql(
		'postgres', q{
	SELECT string_agg(outcome || ':' || command, ',' ORDER BY id)
	  FROM childguard.access_log
	 WHERE id > (SELECT max(id) FROM childguard.access_log
	              WHERE session_role = 'regress_app')}),
	'allowed:INSERT,allowed:SELECT',
	'the write and the read are recorded');
is( $standby->safe_psql('postgres',
		q{SELECT valid FROM childguard.verify_access_log()}),
	't', 'the access log chain, begun on the old primary, verifies');
is( $standby->safe_psql('postgres',
		q{SELECT count(*) FROM childguard.master_key_status WHERE NOT is_current}),
	0, 'every data key is under the new master key');

$standby->stop;
done_testing();
