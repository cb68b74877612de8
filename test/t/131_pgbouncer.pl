# Acceptance (issue 13, items 2 and 3): an application behind pgbouncer
# (Debian's package) in transaction pooling mode, two clients over ONE
# server connection (pool_size = 1; each psql run is a new client, and the
# test checks they share the server backend).
#
#  - SET LOCAL purpose and end user: client A reads plaintext, client B,
#    which declared nothing, right after on the same server connection,
#    reads nothing; the audit trail records A's read as A's (end_user
#    alice, allowed) and B's as B's (end_user bob, denied).
#  - With childguard.session_purpose = allow (the default), a plain SET by
#    A is still in force for B: B reads plaintext.  This is the hazard (and
#    proves the two clients really share a server connection, so the next
#    checks can fail); refuse closes it.
#  - With session_purpose = refuse: SET, set_config(..., false), SET of the
#    end user, ALTER ROLE ... SET are refused (ZC422); B never reads
#    plaintext after any of A's attempts; a purpose left on the server
#    connection from before refuse is never used (ZC422), and DISCARD ALL /
#    RESET ALL clear it; a purpose passed as a connection option is refused
#    by pgbouncer, and straight to the server is refused by childguard; SET
#    LOCAL still works.
#  - The grant's hourly limit counts A's and B's reads and a direct
#    session's together.
#  - A monitoring role (pg_read_all_stats) reading pg_stat_activity does not
#    see the end user a pooled client's statement sets.
use strict;
use warnings;

use FindBin;
use lib "$FindBin::RealBin/../lib";

use IPC::Run;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use ChildguardNode;

my $pgbouncer = -x '/usr/sbin/pgbouncer' ? '/usr/sbin/pgbouncer' : `command -v pgbouncer`;
chomp $pgbouncer;
plan skip_all => 'pgbouncer is not installed (test/install-deps.sh installs it)'
  unless $pgbouncer && -x $pgbouncer;

my ($node) = ChildguardNode::new_node('pool', start => 1);
$node->safe_psql('postgres', q{
	CREATE EXTENSION childguard CASCADE;
	CREATE ROLE pool_dpo;
	CREATE ROLE pool_recorder;
	CREATE ROLE pool_app LOGIN;
	SELECT childguard.appoint_officer('pool_dpo');
	SELECT childguard.enroll_application('pool_app');
	SELECT childguard.enroll_consent_recorder('pool_recorder');
	SET ROLE pool_dpo;
	SELECT childguard.define_purpose('lessons', '{name}', '1 year');
	SELECT childguard.publish_notice('n', '{lessons}', 'a', 'b', 'c', 'd', 'e', 'f', 'g');
	RESET ROLE;
	SELECT childguard.register_child('k' || i, '2016-01-01') FROM generate_series(1, 3) i;
	SELECT childguard.register_guardian('g' || i, 'k' || i) FROM generate_series(1, 3) i;
	SET ROLE pool_recorder;
	SELECT childguard.record_consent('k' || i, 'lessons', 'n', 'g' || i) FROM generate_series(1, 3) i;
	RESET ROLE;
	SELECT childguard.request_access('pool_app', '{lessons}', now() + interval '1 day');
	SET ROLE pool_dpo;
	SELECT childguard.approve_access(grant_id) FROM childguard.access_grants WHERE grantee = 'pool_app';
	RESET ROLE;
	CREATE TABLE kids (id text PRIMARY KEY, name childguard.child_data);
	SELECT childguard.protect('kids', 'id', '{"name": "name"}');
	GRANT SELECT, INSERT ON kids TO pool_app;
	SET ROLE pool_app;
	SET childguard.purpose = 'lessons';
	INSERT INTO kids VALUES ('k1', 'one'), ('k2', 'two'), ('k3', 'three');
	RESET childguard.purpose;
	RESET ROLE;
});

# ---- pgbouncer on a private port, as this (non-root) user --------------------
my $dir = PostgreSQL::Test::Utils::tempdir();
my $bport = PostgreSQL::Test::Cluster::get_free_port();
my $host = $node->host;
my $port = $node->port;
PostgreSQL::Test::Utils::append_to_file("$dir/userlist.txt", qq{"pool_app" ""\n});
PostgreSQL::Test::Utils::append_to_file("$dir/pgbouncer.ini", <<"EOF");
[databases]
pooldb = host=$host port=$port dbname=postgres user=pool_app pool_size=1

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = $bport
unix_socket_dir =
auth_type = trust
auth_file = $dir/userlist.txt
pool_mode = transaction
default_pool_size = 1
max_client_conn = 20
logfile = $dir/pgbouncer.log
pidfile = $dir/pgbouncer.pid
EOF
my $bouncer = IPC::Run::start([ $pgbouncer, "$dir/pgbouncer.ini" ],
	'>', "$dir/stdout", '2>', "$dir/stderr");

# one client: a fresh psql connection through pgbouncer; returns (rc, out, err)
sub client
{
	my ($sql, %opt) = @_;
	my ($out, $err) = ('', '');
	local $ENV{PGOPTIONS} = $opt{options} if defined $opt{options};
	my @conn = $opt{direct} ?
	  ('-h', $host, '-p', $port, '-U', 'pool_app', '-d', 'postgres') :
	  ('-h', '127.0.0.1', '-p', $bport, '-U', 'pool_app', '-d', 'pooldb');
	IPC::Run::run([ 'psql', '-X', '-A', '-t', '-q', '-v', 'VERBOSITY=verbose', @conn ],
		'<', \$sql, '>', \$out, '2>', \$err);
	my $rc = $? >> 8;
	chomp $out;
	return ($rc, $out, $err);
}

my $up = 0;
for (1 .. 100)
{
	my ($rc, $out) = client('SELECT 1');
	if ($rc == 0 && $out eq '1') { $up = 1; last; }
	select(undef, undef, undef, 0.1);
}
ok($up, 'pgbouncer is up in transaction mode') or BAIL_OUT('pgbouncer did not start');

my $read_all = q{SELECT coalesce(string_agg(name::text, ',' ORDER BY id), '<no rows>') FROM kids;};

# ---- 1. SET LOCAL: transaction-scoped purpose and end user ---------------------
my ($rc, $a_out, $a_err) = client(qq{
	BEGIN;
	SET LOCAL childguard.purpose = 'lessons';
	SET LOCAL childguard.end_user = 'alice';
	SELECT pg_backend_pid();
	$read_all
	COMMIT;});
my ($a_pid, $a_rows) = split /\n/, $a_out;
is($a_rows, 'one,two,three', 'client A, SET LOCAL purpose: reads plaintext');
my ($b_rc, $b_out, $b_err) = client(qq{
	BEGIN;
	SET LOCAL childguard.end_user = 'bob';
	SELECT pg_backend_pid();
	$read_all
	SELECT current_setting('childguard.purpose') = '';
	COMMIT;});
my ($b_pid, $b_rows, $b_nopurpose) = split /\n/, $b_out;
is($b_pid, $a_pid, 'client B is served by the same server connection');
is($b_rows, '<no rows>', 'client B, no purpose: no rows, no plaintext');
is($b_nopurpose, 't', 'A\'s purpose did not outlive its transaction');
like($b_err, qr/ZC423.*no purpose declared/s, 'B is told why it sees nothing (childguard.no_purpose = notice)');
$node->safe_psql('postgres', 'SELECT childguard.audit_wait()');
is($node->safe_psql('postgres', q{
	SELECT end_user, outcome, coalesce(purpose, '-'), cardinality(children_read), cardinality(children_denied)
	  FROM childguard.access_log WHERE end_user IN ('alice', 'bob') ORDER BY id}),
	"alice|allowed|lessons|3|0\nbob|denied|-|0|3",
	'the audit trail records A\'s read as alice\'s (allowed) and B\'s as bob\'s (denied)');

# ---- 2. allow (the default): a session SET leaks through the pool ----------------
($rc, $a_out) = client(q{SET childguard.purpose = 'lessons'; SELECT pg_backend_pid();});
is($a_out, $a_pid, 'client A sets a session purpose (allowed by default)');
($rc, $b_out) = client(qq{SELECT pg_backend_pid(); $read_all});
is($b_out, "$a_pid\none,two,three",
	'under allow, client B reads plaintext under A\'s leftover session purpose (the hazard refuse closes)');

# ---- 3. refuse ------------------------------------------------------------------
sub set_refuse
{
	my ($mode) = @_;
	$node->safe_psql('postgres', qq{ALTER SYSTEM SET childguard.session_purpose = '$mode'; SELECT pg_reload_conf();});
	# the server connection picks the reload up at its next command
	for (1 .. 50)
	{
		my ($r, $o) = client('SHOW childguard.session_purpose');
		return if $o eq $mode;
		select(undef, undef, undef, 0.1);
	}
	die "session_purpose did not become $mode";
}
set_refuse('refuse');
# the leftover session purpose from step 2 is still on the server connection
($rc, $b_out, $b_err) = client(qq{SELECT pg_backend_pid(); $read_all});
like($b_err, qr/ZC422.*session-level childguard.purpose/s,
	'under refuse, a purpose left on the pooled connection is never used (ZC422)');
unlike($b_out, qr/one|two|three/, '... and B reads no plaintext');
($rc, $b_out) = client(qq{DISCARD ALL; $read_all});
is($b_out, '<no rows>', 'DISCARD ALL clears it: no purpose, no rows');

my @attempts = (
	[ q{SET childguard.purpose = 'lessons';}, 'SET' ],
	[ q{SELECT set_config('childguard.purpose', 'lessons', false);}, 'set_config(..., false)' ],
	[ q{SELECT childguard.set_purpose('lessons');}, 'set_purpose() for the session' ],
	[ q{BEGIN; SET childguard.purpose = 'lessons'; COMMIT;}, 'SET inside a transaction block' ],
	[ q{BEGIN; SET LOCAL childguard.purpose = 'lessons'; SELECT set_config('childguard.purpose', 'lessons', false); COMMIT;},
	  'SET LOCAL then set_config(..., false)' ],
	[ q{SET childguard.end_user = 'mallory';}, 'SET of the end user' ],
);
for my $t (@attempts)
{
	my ($sql, $what) = @$t;
	my ($r, $o, $e) = client($sql);
	like($e, qr/ZC422/, "refuse: $what is refused (ZC422)");
	($r, $b_out, $b_err) = client(qq{SELECT current_setting('childguard.purpose') || '|' || current_setting('childguard.end_user'); $read_all});
	is($b_out, "|\n<no rows>", "refuse: after A's $what, B has no purpose or end user and reads nothing");
}
($rc, $b_out) = client(q{RESET ALL; SHOW childguard.purpose;});
is($b_out, '', 'RESET ALL leaves no purpose');

($rc, $a_out) = client(qq{BEGIN; SET LOCAL childguard.purpose = 'lessons'; $read_all COMMIT;});
is($a_out, 'one,two,three', 'refuse: SET LOCAL still reads');
($rc, $a_out) = client(qq{BEGIN; SELECT childguard.set_purpose('lessons', is_local => true) IS NOT NULL; $read_all COMMIT;});
is($a_out, "t\none,two,three", 'refuse: set_purpose(p, is_local => true) still reads');

# connection options
($rc, $a_out, $a_err) = client($read_all, options => '-c childguard.purpose=lessons');
isnt($rc, 0, 'a purpose as a connection option through pgbouncer: the connection is refused');
unlike($a_out, qr/one|two|three/, '... and nothing is read');
($rc, $a_out, $a_err) = client($read_all, options => '-c childguard.purpose=lessons', direct => 1);
like($a_err, qr/ZC422/, 'refuse: a purpose as a connection option straight to the server is refused at the read');
unlike($a_out, qr/one|two|three/, '... and nothing is read');

# a role's setting
($rc, $a_out, $a_err) = $node->psql('postgres', q{ALTER ROLE pool_app SET childguard.purpose = 'lessons'});
like($a_err, qr/cannot set childguard.purpose for the session/, 'refuse: ALTER ROLE ... SET childguard.purpose is refused');
set_refuse('allow');
$node->safe_psql('postgres', q{ALTER ROLE pool_app SET childguard.purpose = 'lessons'});
set_refuse('refuse');
($rc, $a_out, $a_err) = client($read_all, direct => 1);
like($a_err, qr/ZC422/, 'refuse: a role setting made before refuse is refused at the read');
unlike($a_out, qr/one|two|three/, '... and nothing is read');
$node->safe_psql('postgres', q{ALTER ROLE pool_app RESET childguard.purpose});

# ---- 4. the grant's hourly limit counts every client and session together ------
$node->safe_psql('postgres', q{
	SET ROLE pool_dpo;
	SELECT childguard.set_grant_limits(grant_id, 2, NULL) FROM childguard.access_grants WHERE grantee = 'pool_app';});
my $one = sub {
	my ($id, %o) = @_;
	return client(qq{BEGIN; SET LOCAL childguard.purpose = 'lessons'; SELECT name FROM kids WHERE id = '$id'; COMMIT;}, %o);
};
# step 1 and the refuse checks have counted nothing: no limits then
($rc, $a_out) = $one->('k1');
is($a_out, 'one', 'limit 2/hour: client A reads k1');
($rc, $b_out) = $one->('k2', direct => 1);
is($b_out, 'two', 'a direct session reads k2');
($rc, $a_out, $a_err) = $one->('k3');
like($a_err, qr/ZC420.*limit of 2 children per hour/s, 'client B\'s third child is refused (ZC420)');
($rc, $a_out) = $one->('k1', direct => 1);
is($a_out, 'one', 'a child already counted stays readable from any session');

# ---- 5. a monitoring role and the end user -----------------------------------------
# A pg_read_all_stats role reads pg_stat_activity while a client's
# statement carrying SET LOCAL childguard.end_user runs: the text is masked
# (utility commands' texts are, docs/security.md section 4).
$node->safe_psql('postgres', q{CREATE ROLE pool_monitor LOGIN IN ROLE pg_read_all_stats;});
my ($s_out, $s_err) = ('', '');
my $sleeper = IPC::Run::start(
	[ 'psql', '-X', '-A', '-t', '-h', '127.0.0.1', '-p', $bport, '-U', 'pool_app', '-d', 'pooldb',
	  '-c', q{BEGIN; SET LOCAL childguard.end_user = 'end-user-marker-4711'; SELECT pg_sleep(3); COMMIT;} ],
	'>', \$s_out, '2>', \$s_err);
my ($seen, $activity) = (0, '');
for (1 .. 50)
{
	$activity = $node->safe_psql('postgres', q{SELECT string_agg(query, ' | ') FROM pg_stat_activity
		WHERE usename = 'pool_app' AND query LIKE '%pg_sleep%'}, extra_params => [ '-U', 'pool_monitor' ]);
	if ($activity ne '') { $seen = 1; last; }
	select(undef, undef, undef, 0.1);
}
ok($seen, 'the monitoring role sees the pooled statement in pg_stat_activity');
unlike($activity, qr/end-user-marker-4711/, '... with the end user masked');
$sleeper->finish;

$node->safe_psql('postgres', q{ALTER SYSTEM RESET childguard.session_purpose; SELECT pg_reload_conf();});
$bouncer->kill_kill;
$node->stop;
done_testing();
