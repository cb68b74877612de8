# The long mixed load (issue 9; make check-long): 32 clients for 3 minutes
# with audit_sync off, then 1 minute with audit_sync on, each followed by
# the exact comparison of ChildguardLoad::mixed_load (records = statements
# that touched child data, per outcome; chain valid).
use strict;
use warnings;
use FindBin;
use lib "$FindBin::RealBin/../lib";
use PostgreSQL::Test::Utils;
use Test::More;
use ChildguardNode qw(new_node);
use ChildguardLoad qw(setup_children mixed_load);

my ($node) = new_node('audit_mixed_long',
	extra_conf => "max_connections = 60\nchildguard.audit_wait_timeout = '60s'\n", start => 1);
setup_children($node, 'postgres', 52, 5);
mixed_load($node, clients => 32, seconds => 180, appname => 'mixed_async');
$node->append_conf('postgresql.conf', "childguard.audit_sync = on\n");
$node->reload;
mixed_load($node, clients => 32, seconds => 60, appname => 'mixed_sync');
$node->stop;
done_testing();
