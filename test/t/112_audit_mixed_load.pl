# A 32-client mixed load for a fixed time (issue 9; short form -- the long
# one is test/t-long/100_audit_mixed_load.pl): reads, denied reads, writes,
# consent withdrawals (each client withdraws its own child's consent,
# reads, gives it again, reads), and statements without child data.  The
# access log then holds exactly one record per statement that touched
# child data, as the clients counted them, with the right outcome, and the
# chain verifies.  See ChildguardLoad::mixed_load.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::RealBin/../lib";
use PostgreSQL::Test::Utils;
use Test::More;
use ChildguardNode qw(new_node);
use ChildguardLoad qw(setup_children mixed_load);

my ($node) = new_node('audit_mixed', extra_conf => "max_connections = 60\n", start => 1);
setup_children($node, 'postgres', 52, 5);
mixed_load($node, clients => 32, seconds => 10);
$node->stop;
done_testing();
