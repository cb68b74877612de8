# A request's detail at rest (Provisions Art 13; 1.5): the free text an
# officer or application records with a request (who asked, what about the
# child) is sealed in childguard.request.detail_sealed like the registry's
# facts: neither the data files (WAL included) nor a pg_dump hold it in the
# clear; the requests view opens it for officers; a sealed detail moved to
# another request fails authentication (ZC003).  A positive control -- an
# ordinary table holding the same kind of text -- proves the scans find it
# when it is there.  A database whose requests were recorded under 1.4 is
# sealed by the update, and after VACUUM FULL the request table's file
# holds none of the old plaintext either.
use strict;
use warnings;

use FindBin;
use lib "$FindBin::RealBin/../lib";

use File::Find;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use ChildguardNode;

my $pg_config = $ENV{PG_CONFIG} // 'pg_config';
chomp(my $pkglibdir = `$pg_config --pkglibdir`);
plan skip_all => "childguard.so is not installed in $pkglibdir"
  unless -e "$pkglibdir/childguard.so";

my ($node) = ChildguardNode::new_node('request_detail', start => 1);
my $tag = substr(ChildguardNode::random_key_hex(), 0, 12);
my $marker = "cgreq-$tag-detail";
my $control = "cgctl-$tag-detail";
$node->safe_psql('postgres', qq{
	CREATE EXTENSION childguard CASCADE;
	SELECT childguard.register_child('r-1', '2015-05-01');
	SELECT childguard.register_child('r-2', '2016-05-01');
	SELECT childguard.open_request('r-1', 'correction', now(), 'r-1', 'the guardian says: $marker one');
	SELECT childguard.open_request('r-2', 'query', now(), 'r-2', 'the child asks: $marker two');
	SELECT childguard.open_request('r-2', 'objection', now(), 'r-2');
	CREATE TABLE control_requests (request_id bigint, detail text);
	INSERT INTO control_requests VALUES (1, 'the guardian says: $control');
	CHECKPOINT;
});

sub scan_dir
{
	my ($dir) = @_;
	my (@hits, $control_hit);
	find(
		{
			no_chdir => 1,
			wanted   => sub {
				my $path = $File::Find::name;
				return unless -f $path && !-l $path;
				my $bytes = eval { slurp_file($path) };
				return unless defined $bytes;
				$control_hit = 1 if index($bytes, $control) >= 0;
				push @hits, $path if index($bytes, $marker) >= 0;
			},
		},
		$dir);
	return (\@hits, $control_hit);
}

my ($hits, $control_hit) = scan_dir($node->data_dir);
ok($control_hit, 'positive control: a detail in the clear IS found in the data files');
is(scalar(@$hits), 0, 'no request detail is in the clear in any data file or WAL')
  or diag("@$hits");
is($node->safe_psql('postgres', q{
	SELECT count(*) FILTER (WHERE detail = '' AND detail_sealed IS NOT NULL) || '/' ||
	       count(*) FILTER (WHERE detail = '' AND detail_sealed IS NULL)
	  FROM childguard.request}),
	'2/1', 'each detail is sealed, the plaintext column empty (a request without one has none)');
is($node->safe_psql('postgres', q{SELECT string_agg(detail, '|' ORDER BY request_id) FROM childguard.requests}),
	"the guardian says: $marker one|the child asks: $marker two|",
	'the requests view opens them');

# pg_dump holds no detail in the clear; the dump restores and opens
my $dumpfile = "$PostgreSQL::Test::Utils::tmp_check/233_dump.sql";
$node->command_ok([ 'pg_dump', '--no-sync', '-f', $dumpfile, '-d', $node->connstr('postgres') ],
	'pg_dump succeeds');
my $dump = slurp_file($dumpfile);
ok(index($dump, $control) >= 0, 'positive control: a detail in the clear IS in the dump');
ok(index($dump, $marker) < 0, 'no request detail is in the dump in the clear');
$node->safe_psql('postgres', 'CREATE DATABASE restored');
$node->command_ok([ 'psql', '-X', '-q', '-v', 'ON_ERROR_STOP=1', '-f', $dumpfile, '-d', $node->connstr('restored') ],
	'the dump restores');
is($node->safe_psql('restored', q{SELECT detail FROM childguard.requests WHERE kind = 'query'}),
	"the child asks: $marker two", 'the restored register opens the detail');

# a sealed detail moved to another request: refused, nothing shown
my ($ret, $out, $err) = $node->psql('postgres', q{
	UPDATE childguard.request SET detail_sealed = (SELECT detail_sealed FROM childguard.request WHERE kind = 'correction')
	 WHERE kind = 'query';
	SELECT detail FROM childguard.requests WHERE kind = 'query';});
like($err, qr/detail of request \d+ failed authentication/, 'a detail moved to another request fails authentication');
unlike($out . $err, qr/\Q$marker\E/, 'and shows nothing of it');

# ---------------------------------------------------------------------------
# Recorded under 1.4, updated: sealed by ALTER EXTENSION UPDATE; the old
# plaintext row versions leave the table's file with VACUUM FULL.
# ---------------------------------------------------------------------------
$node->safe_psql('postgres', 'CREATE DATABASE old14');
$node->safe_psql('old14', qq{
	CREATE EXTENSION pgcrypto;
	CREATE EXTENSION childguard VERSION '1.4';
	SELECT childguard.register_child('r-9', '2015-05-01');
	SELECT childguard.open_request('r-9', 'deletion', now(), 'r-9', 'old: $marker nine');
	CHECKPOINT;
});
my $relpath = $node->data_dir . '/' . $node->safe_psql('old14', "SELECT pg_relation_filepath('childguard.request')");
ok(index(slurp_file($relpath), $marker) >= 0, 'under 1.4 the request file holds the detail in the clear');
$node->safe_psql('old14', 'ALTER EXTENSION childguard UPDATE');
is($node->safe_psql('old14', q{SELECT detail FROM childguard.requests}), "old: $marker nine",
	'after the update the register shows the same detail');
is($node->safe_psql('old14', q{SELECT detail = '' AND detail_sealed IS NOT NULL FROM childguard.request}),
	't', 'after the update the row is sealed');
$node->safe_psql('old14', 'VACUUM FULL childguard.request; CHECKPOINT');
$relpath = $node->data_dir . '/' . $node->safe_psql('old14', "SELECT pg_relation_filepath('childguard.request')");
ok(index(slurp_file($relpath), $marker) < 0, 'after VACUUM FULL the request file holds no detail in the clear');

done_testing();
