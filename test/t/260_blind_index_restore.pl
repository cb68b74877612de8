# Blind indexes (issue 13, item 1) survive pg_dump and restore: the
# restored database carries childguard.blind_index (the index's identity and
# wrapped key, dumped with the extension) and the hidden hashes, so an
# application role's equality lookup in the restored database still goes
# through the index and finds the same rows; new rows written there are
# hashed with the same key (they match the restored ones); and neither the
# dump nor the hidden column holds the plaintext.
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

my ($node) = ChildguardNode::new_node('blind', start => 1);
my $tmp = $PostgreSQL::Test::Utils::tmp_check;

$node->safe_psql('postgres', 'CREATE DATABASE src; CREATE ROLE blind_app LOGIN');
$node->safe_psql(
	'src', q{
	CREATE EXTENSION childguard CASCADE;
	SELECT childguard.register_child('k' || i, '2015-05-01') FROM generate_series(1, 4) i;
	CREATE TABLE pupils (id text, name childguard.child_data(name));
	SELECT childguard.protect('pupils', 'id');
});
ChildguardNode::consent_all($node, 'src');
$node->safe_psql(
	'src', q{
	SET childguard.purpose = 'regress';
	INSERT INTO pupils VALUES ('k1', 'RESTOREMARK-ann'), ('k2', 'RESTOREMARK-bo'),
	                          ('k3', 'RESTOREMARK-ann'), ('k4', NULL);
	RESET childguard.purpose;
	SELECT childguard.enable_blind_index('pupils', 'name');
});

my $dump = "$tmp/260_src.sql";
$node->command_ok([ 'pg_dump', '--no-sync', '-f', $dump, '-d', $node->connstr('src') ],
	'pg_dump src');
my $sql = slurp_file($dump);
unlike($sql, qr/RESTOREMARK/, 'the dump holds no plaintext');
like($sql, qr/COPY childguard\.blind_index/, 'the dump carries the blind index registry');
like($sql, qr/CREATE INDEX pupils_name_blind_idx/, 'and the index on the hidden column');

$node->safe_psql('postgres', 'CREATE DATABASE dst');
$node->command_ok([ 'psql', '-X', '-q', '-v', 'ON_ERROR_STOP=1', '-d', $node->connstr('dst'), '-f', $dump ],
	'restore into dst');

# the application role, with a grant in the restored database
my $setup = q{
	SELECT childguard.enroll_application('blind_app');
	SELECT childguard.request_access('blind_app', '{regress}', now() + interval '1 day') AS g \gset
	SET ROLE regress_fixture_dpo;
	SELECT childguard.approve_access(:g);
	RESET ROLE;
	GRANT SELECT, INSERT ON pupils TO blind_app;
};
$node->safe_psql('dst', $setup);

my $lookup = q{
	SET childguard.purpose = 'regress';
	SET enable_seqscan = off;
	SELECT string_agg(id, ',' ORDER BY id) FROM pupils WHERE name = 'RESTOREMARK-ann';
};
is($node->safe_psql('dst', $lookup, extra_params => [ '-U', 'blind_app' ]),
	'k1,k3', 'the restored database finds the rows through the blind index');
like(
	$node->safe_psql(
		'dst', "SET childguard.purpose = 'regress'; SET enable_seqscan = off;\n"
		  . "EXPLAIN (COSTS OFF) SELECT id FROM pupils WHERE name = 'RESTOREMARK-ann'",
		extra_params => [ '-U', 'blind_app' ]),
	qr/Index Scan using pupils_name_blind_idx/,
	'through an index scan');

# a row written after the restore is hashed with the same key
$node->safe_psql('dst',
	"SET childguard.purpose = 'regress'; INSERT INTO pupils VALUES ('k4', 'RESTOREMARK-ann')",
	extra_params => [ '-U', 'blind_app' ]);
is($node->safe_psql('dst', $lookup, extra_params => [ '-U', 'blind_app' ]),
	'k1,k3,k4', 'a new row matches the restored ones (same key)');
is( $node->safe_psql(
		'dst', q{SELECT count(DISTINCT name_blind) FROM pupils WHERE name_blind IS NOT NULL}),
	'2', 'two distinct values, two distinct hashes');
is( $node->safe_psql(
		'dst', q{SELECT count(*) FROM pupils
		          WHERE position(convert_to('RESTORE' || 'MARK', 'UTF8') IN name_blind) > 0}),
	'0', 'the hidden column holds no plaintext');

done_testing();
