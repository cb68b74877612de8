# Harness smoke test: a PostgreSQL::Test::Cluster node preloading childguard
# with a master key file kept outside its data directory.
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

my ($node, $keyfile) = ChildguardNode::new_node('harness');

ok(-f $keyfile, 'key file exists');
is((stat $keyfile)[2] & 07777, 0600, 'key file is mode 0600');
like(slurp_file($keyfile), qr/\A[0-9a-f]{64}\n\z/,
	'key file holds 64 lowercase hex chars and a newline');
my $datadir = $node->data_dir;
unlike($keyfile, qr/\A\Q$datadir\E\//, 'key file is outside the data directory');

$node->start;
is($node->safe_psql('postgres', 'SHOW shared_preload_libraries'),
	'childguard', 'childguard is preloaded');
is($node->safe_psql('postgres', 'SHOW childguard.master_key_file'),
	$keyfile, 'master key file setting');
$node->safe_psql('postgres', 'CREATE EXTENSION childguard CASCADE');
isnt($node->safe_psql('postgres',
		"SELECT extversion FROM pg_extension WHERE extname = 'childguard'"),
	'', 'extension created');
$node->stop;

done_testing();
