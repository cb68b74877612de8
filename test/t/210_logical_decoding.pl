# Acceptance (issue 8, item 3): logical decoding sees envelopes only.
#
# Decoding runs under a historic catalog snapshot, so a read decision made
# there would look at the past (a consent since withdrawn, a grant since
# revoked, a data key since destroyed).  childguard makes no decision
# there: every output, send function and cast shows the envelope.  Routes:
#   - test_decoding through pg_logical_slot_peek_changes / get_changes /
#     peek_binary_changes, with include-xids, old tuples (REPLICA IDENTITY
#     FULL: UPDATE and DELETE), as a superuser and as a non-superuser role
#     with REPLICATION, each with a purpose declared and consent and grant
#     in force;
#   - the same after the consent is withdrawn, the grant revoked and the
#     child's data key destroyed (purpose from the connection options);
#   - a walsender (pg_recvlogical, purpose in the connection options),
#     and plain SQL in a walsender (replication=database);
#   - pgoutput through real subscriptions (text and binary) to a second
#     node: the subscriber's table holds the very same envelopes, and
#     reads there show them sealed; with the registry replicated as well
#     (and the same master key), they open there only under the
#     subscriber's own purpose, grant and consent.
# The markers LDMARK-* must never appear in any decoded output.
use strict;
use warnings;

use FindBin;
use lib "$FindBin::RealBin/../lib";

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use IPC::Run ();
use ChildguardNode;

my $pg_config = $ENV{PG_CONFIG} // 'pg_config';
chomp(my $pkglibdir = `$pg_config --pkglibdir`);
plan skip_all => "childguard.so is not installed in $pkglibdir"
  unless -e "$pkglibdir/childguard.so";
plan skip_all => "test_decoding is not installed in $pkglibdir"
  unless -e "$pkglibdir/test_decoding.so";

my ($pub, $pub_keyfile) = ChildguardNode::new_node('pub',
	allows_streaming => 'logical', start => 1);

$pub->safe_psql('postgres', 'CREATE DATABASE lg');
$pub->safe_psql(
	'lg', q{
	CREATE EXTENSION childguard CASCADE;
	SELECT childguard.register_child('k-1', '2015-05-01');
	SELECT childguard.register_child('k-2', '2016-06-01');
	CREATE TABLE pupils (id text PRIMARY KEY,
	                     name childguard.child_data(name),
	                     phone childguard.child_data(contact));
	SELECT childguard.protect('pupils', 'id');
	ALTER TABLE pupils REPLICA IDENTITY FULL;
	CREATE ROLE cg_repl LOGIN REPLICATION;
	SELECT childguard.enroll_application('cg_repl');
	GRANT SELECT ON pupils TO cg_repl;
});
ChildguardNode::consent_all($pub, 'lg');
# cg_repl: its own grant for "regress", approved by the fixture's officer
my $grant = $pub->safe_psql(
	'lg', q{
	SELECT childguard.request_access('cg_repl', '{regress}', now() + interval '1 day');
});
$pub->safe_psql('lg',
	"SET ROLE regress_fixture_dpo; SELECT childguard.approve_access($grant);");

$pub->safe_psql('lg',
	q{SELECT pg_create_logical_replication_slot('td', 'test_decoding');});
$pub->safe_psql('lg',
	q{SELECT pg_create_logical_replication_slot('td_wal', 'test_decoding');});
$pub->safe_psql('lg', 'CREATE PUBLICATION pub FOR TABLE pupils');

$pub->safe_psql(
	'lg', q{
	SET childguard.purpose = 'regress';
	INSERT INTO pupils VALUES ('k-1', 'LDMARK-NAME-1', 'LDMARK-PHONE-1'),
	                          ('k-2', 'LDMARK-NAME-2', 'LDMARK-PHONE-2');
	UPDATE pupils SET phone = 'LDMARK-PHONE-1b' WHERE id = 'k-1';
	BEGIN;
	INSERT INTO pupils VALUES ('k-3x', NULL, NULL);
	ROLLBACK;
	DELETE FROM pupils WHERE id = 'k-2';
	INSERT INTO pupils VALUES ('k-2', 'LDMARK-NAME-2c', 'LDMARK-PHONE-2c');
});
# the plaintext is readable in a normal statement with a purpose
is( $pub->safe_psql('lg',
		q{SET childguard.purpose = 'regress'; SELECT name FROM pupils WHERE id = 'k-1'}),
	'LDMARK-NAME-1',
	'a normal read with a purpose decrypts');
my $env_k1 = $pub->safe_psql('lg',
	q{SELECT childguard.envelope(name) FROM pupils WHERE id = 'k-1'});

my $end_lsn = $pub->safe_psql('lg', 'SELECT pg_current_wal_insert_lsn()');

sub check_decoded
{
	my ($out, $what) = @_;
	unlike($out, qr/LDMARK/, "$what: no plaintext");
	like($out, qr/cg1:/, "$what: envelopes");
	like($out, qr/table public\.pupils: (UPDATE|DELETE)/, "$what: the changes are there")
	  if $out =~ /pupils/;
}

# 1. SQL functions, superuser, purpose declared, everything in force
my $opts = q{'include-xids', '1', 'skip-empty-xacts', '0', 'include-timestamp', '1'};
check_decoded(
	$pub->safe_psql('lg',
		"SET childguard.purpose = 'regress'; SELECT string_agg(data, E'\\n') FROM pg_logical_slot_peek_changes('td', NULL, NULL, $opts)"),
	'peek_changes, superuser with a purpose');
check_decoded(
	$pub->safe_psql('lg',
		"SET childguard.purpose = 'regress'; SELECT string_agg(convert_from(data, 'UTF8'), E'\\n') FROM pg_logical_slot_peek_binary_changes('td', NULL, NULL, 'force-binary', '0', 'include-xids', '0')"),
	'peek_binary_changes, superuser with a purpose');
# within a transaction that read the plaintext first (warm caches, memo)
check_decoded(
	$pub->safe_psql('lg',
		"SET childguard.purpose = 'regress'; BEGIN; SELECT count(*) FROM pupils WHERE name::text LIKE 'LDMARK%' HAVING count(*) = 0; SELECT string_agg(data, E'\\n') FROM pg_logical_slot_peek_changes('td', NULL, NULL); COMMIT;"),
	'peek_changes after a read in the same transaction');

# 2. a REPLICATION role with its own grant and a purpose
check_decoded(
	$pub->safe_psql('lg',
		"SET ROLE cg_repl; SET childguard.purpose = 'regress'; SELECT string_agg(data, E'\\n') FROM pg_logical_slot_peek_changes('td', NULL, NULL, $opts)"),
	'peek_changes, REPLICATION role with a grant and a purpose');

# 3. consent withdrawn, grant revoked, k-1's data key destroyed
$pub->safe_psql(
	'lg', qq{
	SET ROLE regress_fixture_dpo;
	SELECT childguard.revoke_access($grant);
	SET ROLE regress_fixture_recorder;
	SELECT childguard.withdraw_consent('k-1', 'regress', 'g-k-1');
	RESET ROLE;
	UPDATE childguard.data_key SET wrapped_key = NULL, destroyed_at = now()
	 WHERE subject_no = (SELECT subject_no FROM childguard.child WHERE child_id = 'k-1');
});
# the purpose comes from the connection options (SET would be refused now)
{
	local $ENV{PGOPTIONS} = '-c childguard.purpose=regress';
	my ($out, $err);
	$pub->psql('lg',
		"SELECT string_agg(data, E'\\n') FROM pg_logical_slot_get_changes('td', NULL, NULL, $opts)",
		stdout => \$out, stderr => \$err, extra_params => [ '-U', 'cg_repl' ]);
	check_decoded($out, 'get_changes after withdrawal etc., REPLICATION role');
	unlike($err, qr/LDMARK/, 'no plaintext in errors');
}

# 4. a walsender: pg_recvlogical with a purpose in the connection options
{
	local $ENV{PGOPTIONS} = '-c childguard.purpose=regress';
	my $out = $pub->pg_recvlogical_upto('lg', 'td_wal', $end_lsn,
		$PostgreSQL::Test::Utils::timeout_default,
		'include-xids' => '1', 'skip-empty-xacts' => '1');
	check_decoded($out, 'pg_recvlogical (walsender)');
}

# 4b. plain SQL in a walsender (replication=database), with a purpose:
# a normal session would decrypt k-2 here; the walsender shows envelopes
{
	my ($wout, $werr);
	IPC::Run::run(
		[
			'psql', '-XAt', '-d', $pub->connstr('lg') . ' replication=database',
			'-c', "SET childguard.purpose = 'regress'",
			'-c', "SELECT name::text FROM pupils WHERE id = 'k-2'"
		],
		'>', \$wout, '2>', \$werr);
	unlike("$wout$werr", qr/LDMARK/, 'SQL in a walsender: no plaintext');
	like($wout, qr/^cg1:/m, 'SQL in a walsender: the envelope');
	is( $pub->safe_psql('lg',
			q{SET childguard.purpose = 'regress'; SELECT left(name::text, 6) FROM pupils WHERE id = 'k-2'}),
		'LDMARK', 'the same read in a normal session decrypts');
}

# 5. pgoutput to a subscriber, text and binary.  The subscriber has the same
# master key, so that, once it also has the children's registry (section 6),
# it can decrypt -- under its own decision only.
chomp(my $pub_key_hex = slurp_file($pub_keyfile));
my ($sub) = ChildguardNode::new_node('sub', start => 1, key_hex => $pub_key_hex);
(my $pub_connstr = $pub->connstr('lg')) =~ s/'/''/g;
$sub->safe_psql('postgres', 'CREATE DATABASE lg');
$sub->safe_psql(
	'lg', qq{
	CREATE EXTENSION childguard CASCADE;
	CREATE TABLE pupils (id text PRIMARY KEY,
	                     name childguard.child_data(name),
	                     phone childguard.child_data(contact));
	CREATE TABLE pupils_b (LIKE pupils);
	ALTER TABLE pupils_b ADD PRIMARY KEY (id);
	CREATE SUBSCRIPTION s_text CONNECTION '$pub_connstr' PUBLICATION pub;
});
$sub->wait_for_subscription_sync($pub, 's_text');
# more changes after the initial copy go through the apply stream
$pub->safe_psql(
	'lg', q{
	SET childguard.purpose = 'regress';
	INSERT INTO pupils VALUES ('k-2b', NULL, NULL);
	UPDATE pupils SET name = 'LDMARK-NAME-2d' WHERE id = 'k-2';
});
$pub->wait_for_catchup('s_text');
is( $sub->safe_psql('lg',
		q{SELECT childguard.envelope(name) FROM pupils WHERE id = 'k-1'}),
	$env_k1, 'the subscriber holds the very same envelope');
my $sub_rows = $sub->safe_psql('lg',
	q{SELECT string_agg(id || ' ' || coalesce(name::text, '-') || ' ' || coalesce(phone::text, '-'), E'\n' ORDER BY id) FROM pupils});
unlike($sub_rows, qr/LDMARK/, 'subscriber (text): no plaintext');
like($sub_rows, qr/k-2 cg1:/, 'subscriber (text): the apply stream carried envelopes');

# binary mode uses the send functions
$pub->safe_psql('lg', 'CREATE PUBLICATION pub_b FOR TABLE pupils');
$sub->safe_psql('lg',
	"ALTER TABLE pupils_b RENAME TO pupils_b_tmp; CREATE SCHEMA b; ALTER TABLE pupils_b_tmp SET SCHEMA b; ALTER TABLE b.pupils_b_tmp RENAME TO pupils"
);
$sub->safe_psql('lg', 'DROP SUBSCRIPTION s_text');
$sub->safe_psql('lg', 'TRUNCATE pupils');
$sub->safe_psql('lg',
	"CREATE SUBSCRIPTION s_bin CONNECTION '$pub_connstr' PUBLICATION pub_b WITH (binary = true)");
$sub->wait_for_subscription_sync($pub, 's_bin');
$pub->safe_psql('lg',
	q{SET childguard.purpose = 'regress'; UPDATE pupils SET name = 'LDMARK-NAME-2e' WHERE id = 'k-2';});
$pub->wait_for_catchup('s_bin');
$sub_rows = $sub->safe_psql('lg',
	q{SELECT string_agg(id || ' ' || coalesce(name::text, '-') || ' ' || coalesce(phone::text, '-'), E'\n' ORDER BY id) FROM pupils});
unlike($sub_rows, qr/LDMARK/, 'subscriber (binary): no plaintext');
like($sub_rows, qr/k-2 cg1:/, 'subscriber (binary): envelopes');
is($sub->safe_psql('lg', q{SELECT count(*) FROM pupils}),
	'3', 'subscriber (binary): all rows arrived');

# 6. with the registry replicated too (children and data keys, not consents
# or grants), the subscriber's envelopes open only under its own decision:
# its own purpose, grant and consents; k-1's destroyed key stays destroyed
$pub->safe_psql('lg',
	'CREATE PUBLICATION pub_reg FOR TABLE childguard.child, childguard.data_key');
$sub->safe_psql('lg',
	"CREATE SUBSCRIPTION s_reg CONNECTION '$pub_connstr' PUBLICATION pub_reg");
$sub->wait_for_subscription_sync($pub, 's_reg');
# (polled: under load the table sync can still be committing when
# wait_for_subscription_sync returns)
ok( $sub->poll_query_until('lg',
		q{SELECT count(*) = 2 FROM childguard.child}),
	'the subscriber has the registry');
ok( $sub->poll_query_until('lg',
		q{SELECT count(*) > 0 FROM childguard.data_key}),
	'the subscriber has the data keys');
my ($out, $err);
$sub->psql('lg',
	q{SET childguard.purpose = 'regress'; SELECT name FROM pupils WHERE id = 'k-2'},
	stdout => \$out, stderr => \$err);
unlike("$out$err", qr/LDMARK/, 'subscriber: no decision of its own (no purpose defined there): no plaintext');
ChildguardNode::consent_all($sub, 'lg');
is( $sub->safe_psql('lg',
		q{SET childguard.purpose = 'regress'; SELECT name FROM pupils WHERE id = 'k-2'}),
	'LDMARK-NAME-2e',
	"subscriber: its own purpose, grant and consent decrypt");
like(
	$sub->safe_psql('lg',
		q{SET childguard.purpose = 'regress'; SELECT name FROM pupils WHERE id = 'k-1'}),
	qr/^cg1:/,
	"subscriber: k-1's key, destroyed on the publisher, is destroyed there too");
$sub->safe_psql('lg',
	q{SET ROLE regress_fixture_recorder; SELECT childguard.withdraw_consent('k-2', 'regress', 'g-k-2')});
$sub->psql('lg',
	q{SET childguard.purpose = 'regress'; SET childguard.denied_read = 'mask'; SELECT name FROM pupils WHERE id = 'k-2'},
	stdout => \$out, stderr => \$err);
is($out, '[withheld]', "subscriber: after its own withdrawal, withheld");
$sub->safe_psql('lg', 'DROP SUBSCRIPTION s_reg');

# nothing in either server's log shows plaintext, but for this test's own
# statement text (log_statement = all; masking it is another section's
# concern)
my @leaks = grep { /LDMARK/ && !/LOG:  statement: / && !/^\s/ }
  split /\n/, slurp_file($pub->logfile) . slurp_file($sub->logfile);
is(scalar(@leaks), 0, 'no plaintext in the server logs outside statement text')
  or diag(join("\n", @leaks));

$sub->stop;
$pub->stop;
done_testing();
