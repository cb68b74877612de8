# The consent log's events written the way COPY FROM writes them (1.7,
# table_multi_insert: src/consent/consent_log_append.c) reach logical
# decoding as an INSERT would: with the log in a publication and REPLICA
# IDENTITY FULL, a decoder (test_decoding) sees every event the set-based
# and the row-by-row recording wrote, each with its own number and hash,
# and nothing else of the log (docs/security.md, "Attacks on the 1.7 fast
# paths").  A route found closed; it passes on 1.7's code.
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
plan skip_all => "test_decoding is not installed in $pkglibdir"
  unless -e "$pkglibdir/test_decoding.so";

my ($node) = ChildguardNode::new_node('cld', allows_streaming => 'logical', start => 1);
$node->safe_psql('postgres', 'CREATE DATABASE cld');
$node->safe_psql(
	'cld', q{
	CREATE EXTENSION childguard CASCADE;
	SELECT count(childguard.register_child('d-' || i, (current_date - interval '16 years')::date))
	  FROM generate_series(1, 30) i;
	ALTER TABLE childguard.consent_log REPLICA IDENTITY FULL;
	CREATE PUBLICATION cld_log FOR TABLE childguard.consent_log;
	SELECT 1 FROM pg_create_logical_replication_slot('cld_slot', 'test_decoding');
});

# row by row (every child, both purposes), then set-based (20 more)
my $consents = ChildguardNode::consent_all($node, 'cld');
ok($consents > 0, "consents recorded one by one ($consents)");
is( $node->safe_psql(
		'cld', q{
	SELECT count(childguard.register_child('e-' || i, (current_date - interval '16 years')::date))
	  FROM generate_series(1, 20) i;
	CREATE TABLE public.k AS
		SELECT 'e-' || i AS child_id, 'regress' AS purpose, 'regress-notice'::text AS notice,
		       'e-' || i AS given_by
		  FROM generate_series(1, 20) i;
	GRANT SELECT ON public.k TO regress_fixture_recorder;
	SET ROLE regress_fixture_recorder;
	SELECT count(consent_id) FROM childguard.record_consents('public.k');
}), "20
20", 'consents recorded set-based');
my $events = $node->safe_psql('cld',
	q{SELECT string_agg(event_id || ':' || encode(hash, 'hex'), ',' ORDER BY event_id) FROM childguard.consent_log});
my @events = split /,/, $events;
cmp_ok(scalar(@events), '>=', 30, 'the log holds the events');
is( $node->safe_psql('cld', q{SELECT count(*) FROM childguard.consent_log WHERE prev_hash IS NULL}),
	'1', 'one chain');

my $changes = $node->safe_psql('cld',
	q{SELECT string_agg(data, E'\n') FROM pg_logical_slot_get_changes('cld_slot', NULL, NULL,
	                                                                  'include-xids', '0')
	   WHERE data LIKE 'table childguard.consent_log:%'});
my @decoded;
my $other = 0;
for my $line (split /\n/, $changes)
{
	if ($line !~ /^table childguard\.consent_log: INSERT: /)
	{
		$other++;
		next;
	}
	my ($id) = $line =~ /event_id\[bigint\]:(\d+)/;
	my ($hash) = $line =~ / hash\[bytea\]:'\\x([0-9a-f]+)'/;	# not prev_hash
	push @decoded, "$id:$hash";
}
is($other, 0, 'nothing but INSERTs decoded for the log');
is(scalar(@decoded), scalar(@events), 'one decoded INSERT per event');
is(join(',', sort @decoded), join(',', sort @events), 'the decoded events are the log\'s, numbers and hashes');
is( $node->safe_psql('cld', q{SELECT valid FROM childguard.verify_consent_log()}),
	't', 'the chain verifies');

$node->safe_psql('cld', q{SELECT pg_drop_replication_slot('cld_slot')});
$node->stop;
done_testing();
