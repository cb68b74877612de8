# A logical replication subscriber of the registry: a registry change
# applied there stops the next read of every subscriber backend, as a local
# change does (issue 12, subinval; docs/keys.md "Whatever
# session_replication_role says", docs/security.md section 3).
#
# The registry's cache invalidation runs from statement triggers, which a
# logical replication apply worker does not fire for the inserts, updates
# and deletes it applies; before 1.7 a backend of the subscriber that had
# read a child kept decrypting it after the publisher withdrew the consent,
# destroyed the key or erased the child, and so did a new backend served by
# the cache shared by the backends.  Routes, each checked in the SAME
# subscriber backend that read the plaintext before (its own caches warm),
# and in a new backend (the shared cache warm):
#   - consent withdrawn on the publisher (withdraw_consent: an UPDATE of
#     childguard.consent);
#   - data key destroyed by hand on the publisher (UPDATE of data_key);
#   - child erased on the publisher (childguard.erase: child and data_key);
#   - consent rows deleted on the publisher by a superuser (DELETE);
#   - a withdrawal in a transaction that also changes other children
#     (several rows, several tables in one applied transaction);
#   - a withdrawal in a prepared transaction (a two_phase subscription:
#     applied at PREPARE, visible at COMMIT PREPARED);
#   - a large transaction streamed while in progress (streaming = on);
#   - TRUNCATE of the consents on the publisher;
# and children not touched stay readable (the invalidation withholds
# nothing else).
use strict;
use warnings;

use FindBin;
use lib "$FindBin::RealBin/../lib";

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use ChildguardNode;

my $pg_config = $ENV{PG_CONFIG} // 'pg_config';
chomp(my $pkglibdir = `$pg_config --pkglibdir`);
plan skip_all => "childguard.so is not installed in $pkglibdir"
  unless -e "$pkglibdir/childguard.so";

my @kids = map { "k-$_" } 1 .. 9;
# (a small logical_decoding_work_mem: a large transaction is streamed to
# the subscription, which has streaming = on)
my ($pub, $pub_keyfile) = ChildguardNode::new_node('pub',
	allows_streaming => 'logical', start => 1,
	extra_conf => "logical_decoding_work_mem = 64kB\n");
$pub->safe_psql('postgres', 'CREATE DATABASE lg');
$pub->safe_psql('lg', 'CREATE EXTENSION childguard CASCADE');
$pub->safe_psql('lg',
	"SELECT childguard.register_child('$_', '2015-05-01')") for @kids;
ChildguardNode::consent_all($pub, 'lg');

# the same master key; the same purposes, notice and grant (the fixture run
# in the same order on a fresh install gives them the same ids), so that
# the replicated consents name the subscriber's purpose
chomp(my $pub_key_hex = slurp_file($pub_keyfile));
my ($sub) = ChildguardNode::new_node('sub', start => 1, key_hex => $pub_key_hex);
(my $pub_connstr = $pub->connstr('lg')) =~ s/'/''/g;
$sub->safe_psql('postgres', 'CREATE DATABASE lg');
$sub->safe_psql('lg', 'CREATE EXTENSION childguard CASCADE');
ChildguardNode::consent_all($sub, 'lg');
is( $sub->safe_psql('lg',
		q{SELECT string_agg(purpose_id || purpose, ',' ORDER BY purpose_id) FROM childguard.purpose}),
	$pub->safe_psql('lg',
		q{SELECT string_agg(purpose_id || purpose, ',' ORDER BY purpose_id) FROM childguard.purpose}),
	'the subscriber has the same purposes');

$pub->safe_psql('lg',
	'CREATE PUBLICATION pub_reg FOR TABLE childguard.child, childguard.data_key, '
	  . 'childguard.guardian, childguard.child_guardian, childguard.consent');
$sub->safe_psql('lg',
	"CREATE SUBSCRIPTION s_reg CONNECTION '$pub_connstr' PUBLICATION pub_reg WITH (two_phase = true, streaming = on)");
$sub->wait_for_subscription_sync($pub, 's_reg');
ok( $sub->poll_query_until('lg',
		q{SELECT count(*) = 9 FROM childguard.child}),
	'the subscriber has the children');
ok( $sub->poll_query_until('lg',
		q{SELECT count(*) >= 18 FROM childguard.consent}),
	'the subscriber has the consents');

# the subscriber's own protected table and rows
$sub->safe_psql(
	'lg', q{
	CREATE TABLE pupils (id text PRIMARY KEY, name childguard.child_data(name));
	SELECT childguard.protect('pupils', 'id');
	SET childguard.purpose = 'regress';
	INSERT INTO pupils SELECT id, 'SUBMARK-' || id FROM unnest(
		ARRAY['k-1','k-2','k-3','k-4','k-5','k-6','k-7','k-8','k-9']) id;
});

my $read = q{SET childguard.purpose = 'regress'; SET childguard.denied_read = 'mask';
SELECT string_agg(id || '=' || coalesce(name::text, '-'), ' ' ORDER BY id) FROM pupils;};
sub expect
{
	my (%withheld) = map { $_ => 1 } @_;
	return join ' ',
	  map { $withheld{$_} ? "$_=[withheld]" : "$_=SUBMARK-$_" } @kids;
}

# one backend of the subscriber reads every child: its own caches and the
# shared cache hold them
my $bg = $sub->background_psql('lg');
is($bg->query_safe($read), expect(), 'subscriber backend reads every child');
is($sub->safe_psql('lg', $read), expect(), 'a second backend too');

# a key destroyed by hand reads as its envelope, not [withheld]: compare
# without the value's shape, only whether it is the plaintext
sub plain_of
{
	my ($out) = @_;
	my %plain = map { /^(k-\d)=SUBMARK-\1$/ ? ($1 => 1) : () } split / /, $out;
	return join ',', sort keys %plain;
}
sub readable_except
{
	my %gone = map { $_ => 1 } @_;
	return join ',', grep { !$gone{$_} } @kids;
}

my @gone;
my $registry_state = q{SELECT
	(SELECT string_agg(consent_id || ':' || subject_no || ':' || coalesce(withdrawn_at::text, '-'), ',' ORDER BY consent_id) FROM childguard.consent)
	|| '/' || (SELECT string_agg(subject_no || ':' || key_version || ':' || (wrapped_key IS NULL), ',' ORDER BY 1) FROM childguard.data_key)
	|| '/' || (SELECT string_agg(child_id || ':' || coalesce(erased_at::text, '-'), ',' ORDER BY child_id) FROM childguard.child)};
sub publisher_does
{
	my ($what, $sql, @now_gone) = @_;
	$pub->safe_psql('lg', $sql);
	$pub->wait_for_catchup('s_reg');
	push @gone, @now_gone;
	# the change is in the subscriber's tables (what the caches must follow)
	is($sub->safe_psql('lg', $registry_state), $pub->safe_psql('lg', $registry_state),
		"$what: the subscriber's registry rows are the publisher's");
	my $out = $bg->query_safe($read);
	is(plain_of($out), readable_except(@gone),
		"$what: the same subscriber backend reads exactly the children still allowed");
	is(plain_of($sub->safe_psql('lg', $read)), readable_except(@gone),
		"$what: a new subscriber backend (shared cache) too");
}

publisher_does('consent withdrawn on the publisher',
	q{SET ROLE regress_fixture_recorder;
	  SELECT childguard.withdraw_consent('k-1', 'regress', 'g-k-1');}, 'k-1');
is($bg->query_safe($read), expect('k-1'), 'the withdrawn child reads [withheld]');

publisher_does('data key destroyed by hand on the publisher',
	q{UPDATE childguard.data_key SET wrapped_key = NULL, destroyed_at = now()
	   WHERE subject_no = (SELECT subject_no FROM childguard.child WHERE child_id = 'k-2');},
	'k-2');

publisher_does('child erased on the publisher',
	q{SELECT childguard.erase('k-3', NULL, 'child_erased');}, 'k-3');

publisher_does('consent rows deleted by a superuser on the publisher',
	q{SET session_replication_role = replica;
	  DELETE FROM childguard.consent
	   WHERE subject_no = (SELECT subject_no FROM childguard.child WHERE child_id = 'k-4');},
	'k-4');

publisher_does('withdrawals of two children in one transaction, with other writes',
	q{BEGIN;
	  SET LOCAL ROLE regress_fixture_recorder;
	  SELECT childguard.register_guardian('g-extra', 'k-9');
	  SELECT childguard.withdraw_consent('k-5', 'regress', 'g-k-5');
	  SELECT childguard.withdraw_consent('k-6', 'regress', 'g-k-6');
	  COMMIT;}, 'k-5', 'k-6');
# a prepared transaction (the subscription is two_phase): applied at
# PREPARE, visible at COMMIT PREPARED, which the apply worker runs without
# a statement; between the two, both backends still read the child (and
# the new one fills the shared cache with it)
$pub->safe_psql('lg', q{BEGIN;
	SET LOCAL ROLE regress_fixture_recorder;
	SELECT childguard.withdraw_consent('k-7', 'regress', 'g-k-7');
	PREPARE TRANSACTION 'cg_w7';});
$pub->wait_for_catchup('s_reg');
ok( $sub->poll_query_until('lg', q{SELECT count(*) = 1 FROM pg_prepared_xacts}),
	'the subscriber holds the prepared transaction');
is(plain_of($bg->query_safe($read)), 'k-7,k-8,k-9', 'prepared, not committed: the same backend still reads k-7');
is(plain_of($sub->safe_psql('lg', $read)), 'k-7,k-8,k-9', 'prepared, not committed: a new backend too');
publisher_does('a prepared transaction committed on the publisher (two_phase subscription)',
	q{COMMIT PREPARED 'cg_w7';}, 'k-7');

# a transaction larger than the publisher's logical_decoding_work_mem is
# streamed while in progress and applied at its commit
publisher_does('a large transaction streamed to the subscriber',
	q{BEGIN;
	  SET LOCAL ROLE regress_fixture_recorder;
	  SELECT count(childguard.register_guardian('g-bulk-' || i, 'k-9')) FROM generate_series(1, 1500) i;
	  SELECT childguard.withdraw_consent('k-8', 'regress', 'g-k-8');
	  COMMIT;}, 'k-8');
ok( $pub->safe_psql('lg',
		q{SELECT stream_count > 0 FROM pg_stat_replication_slots WHERE slot_name = 's_reg'}) eq 't',
	'the large transaction was streamed');

is(plain_of($bg->query_safe($read)), 'k-9', 'only the untouched child stays readable');

# TRUNCATE: the apply worker fires the statement triggers for it (the whole
# cache), which this checks stays so
publisher_does('consents truncated on the publisher', q{TRUNCATE childguard.consent;}, 'k-9');

$bg->quit;
$sub->safe_psql('lg', 'DROP SUBSCRIPTION s_reg');
my @leaks = grep { /SUBMARK/ && !/LOG:  statement: / && !/^\s/ }
  split /\n/, slurp_file($sub->logfile);
is(scalar(@leaks), 0, 'no plaintext in the subscriber\'s log outside statement text')
  or diag(join("\n", @leaks));
$sub->stop;
$pub->stop;
done_testing();
