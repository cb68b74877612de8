# Queries on child_data that spill to disk (issue 13, item 1): a sort or a
# hash aggregate over child_data with a small work_mem writes temporary
# files, and those hold the envelopes, never the plaintext (only the
# comparator decrypts, in memory).  The same sort over name::text -- the
# plaintext, cast -- does write plaintext: the caveat docs/security.md
# states, and the proof that the scan below finds plaintext when it is there.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::RealBin/../lib";
use File::Find;
use PostgreSQL::Test::Utils;
use Test::More;
use ChildguardNode qw(new_node);

my ($node) = new_node('spill', start => 1);
$node->safe_psql('postgres', q{
	CREATE EXTENSION childguard CASCADE;
	SELECT count(childguard.register_child('s-' || i, '2015-05-01')) FROM generate_series(1, 4) i;
	CREATE TABLE notes (id serial PRIMARY KEY, child text, body childguard.child_data(other));
	SELECT childguard.protect('notes', 'child');
});
ChildguardNode::consent_all($node, 'postgres');
$node->safe_psql('postgres', q{
	SET childguard.purpose = 'regress';
	INSERT INTO notes (child, body)
	SELECT 's-' || (1 + i % 4),
	       'SPILL' || 'MARK' || lpad(((i * 7919) % 4000)::text, 6, '0') || repeat('x', 40)
	  FROM generate_series(0, 3999) i;
});

# plaintext markers in the temporary files: (files, bytes, hits)
sub scan_tmp
{
	my ($files, $bytes, $hits) = (0, 0, 0);
	my $dir = $node->data_dir . '/base/pgsql_tmp';
	return (0, 0, 0) unless -d $dir;
	find(
		sub {
			return unless -f $_;
			$files++;
			open my $fh, '<:raw', $_ or return;
			local $/;
			my $data = <$fh>;
			close $fh;
			$bytes += length $data;
			$hits++ while $data =~ /SPILLMARK/g;
		},
		$dir);
	return ($files, $bytes, $hits);
}

my $s = $node->background_psql('postgres');
$s->query_safe(q{SET childguard.purpose = 'regress'});
$s->query_safe(q{SET work_mem = '64kB'});

like(
	$s->query_safe(q{EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF)
	                 SELECT id FROM notes ORDER BY body}),
	qr/Sort Method: external merge/,
	'ORDER BY a child_data column sorts externally with work_mem = 64kB');

# a cursor keeps the sort's runs on disk while it is open
$s->query_safe(q{BEGIN});
$s->query_safe(q{DECLARE c CURSOR FOR SELECT body FROM notes ORDER BY body});
like($s->query_safe(q{FETCH 1 FROM c}), qr/^SPILLMARK000000x/,
	'the sort is by plaintext (the smallest value comes first)');
my ($files, $bytes, $hits) = scan_tmp();
cmp_ok($bytes, '>', 100_000, "the sort spilled ($files files, $bytes bytes)");
is($hits, 0, 'no plaintext in the sort\'s temporary files');
$s->query_safe(q{CLOSE c});
$s->query_safe(q{COMMIT});

# GROUP BY by hashing: the spilled partitions hold envelopes and keyed hashes
$s->query_safe(q{SET enable_sort = off});
like(
	$s->query_safe(q{EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF)
	                 SELECT body, count(*) FROM notes GROUP BY body}),
	qr/HashAggregate.*Batches: [2-9]/s,
	'GROUP BY a child_data column by hashing spills in batches');
$s->query_safe(q{BEGIN});
$s->query_safe(q{DECLARE g CURSOR FOR SELECT body, count(*) FROM notes GROUP BY body});
like($s->query_safe(q{FETCH 1 FROM g}), qr/^SPILLMARK\d{6}x+\|1$/, 'a group by plaintext');
($files, $bytes, $hits) = scan_tmp();
cmp_ok($bytes, '>', 10_000, "the hash aggregate spilled ($files files, $bytes bytes)");
is($hits, 0, 'no plaintext in the hash aggregate\'s temporary files');
$s->query_safe(q{CLOSE g});
$s->query_safe(q{COMMIT});
$s->query_safe(q{RESET enable_sort});

# the documented caveat: sorting the plaintext itself (a cast to text) spills it
$s->query_safe(q{BEGIN});
$s->query_safe(q{DECLARE t CURSOR FOR SELECT body::text FROM notes ORDER BY 1});
$s->query_safe(q{FETCH 1 FROM t});
($files, $bytes, $hits) = scan_tmp();
cmp_ok($hits, '>', 0,
	'a sort of body::text writes plaintext to disk (the scan finds it: docs/security.md)');
$s->query_safe(q{CLOSE t});
$s->query_safe(q{COMMIT});

$s->quit;
$node->stop;
done_testing();
