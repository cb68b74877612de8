# test/t/012_verify_memory.pl with 200000 records: verify_access_log() over a
# large log stays within the same memory margin.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::RealBin/../lib";
# loaded here, at compile time: their INIT blocks must run before the test
use PostgreSQL::Test::Utils;
use PostgreSQL::Test::Cluster;
use Test::More;
use ChildguardNode;

$ENV{CG_VERIFY_RECORDS} = 200000;
my $file = "$FindBin::RealBin/../t/012_verify_memory.pl";
do $file;
die $@ if $@;
