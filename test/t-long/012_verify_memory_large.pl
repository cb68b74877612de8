# test/t/012_verify_memory.pl with 200000 records: verify_access_log() over a
# large log stays within the same memory margin.
use strict;
use warnings;
use FindBin;

$ENV{CG_VERIFY_RECORDS} = 200000;
my $file = "$FindBin::RealBin/../t/012_verify_memory.pl";
do $file;
die $@ if $@;
