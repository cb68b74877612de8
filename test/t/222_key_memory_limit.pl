# The data-key cache is meant to stay in RAM (docs/keys.md, "The data-key
# cache"): a cache configured larger than the server's locked-memory limit
# cannot, and each backend only notes its failed mlock at DEBUG1.  The
# server therefore says so once, at start, in its log, with the fix; a cache
# that fits says nothing, and reads work either way.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::RealBin/../lib";
use PostgreSQL::Test::Utils;
use Test::More;
use ChildguardNode qw(new_node consent_all);

my $limit_kb = `sh -c 'ulimit -l'`;
chomp $limit_kb;
plan skip_all => "no locked-memory limit here ($limit_kb)"
  if $limit_kb !~ /^\d+$/;
# the setting's maximum is 4,194,304 keys of about 48 bytes
my $keys = int($limit_kb * 1024 / 32) + 1024;
plan skip_all => "the locked-memory limit ($limit_kb kB) is beyond the setting's maximum"
  if $keys > 4 * 1024 * 1024;

my $warning = qr/WARNING:  childguard\.data_key_cache_size needs (\d+) kB of locked memory, more than the server's limit of (\d+) kB/;

# a cache that fits the limit: no warning
my $small = int($limit_kb * 1024 / 64 / 2);
my ($node) = new_node('memlock', start => 0,
	extra_conf => "childguard.data_key_cache_size = $small\n");
$node->start;
my $log = slurp_file($node->logfile);
unlike($log, $warning, "a cache of $small keys within the $limit_kb kB limit: no warning");
$node->stop;

# too large: one warning at start, naming both sizes, the detail and the fix
$node->append_conf('postgresql.conf', "childguard.data_key_cache_size = $keys\n");
my $offset = -s $node->logfile;
$node->start;
$log = substr(slurp_file($node->logfile), $offset);
like($log, $warning, "a cache of $keys keys beyond the limit: a warning at start");
my ($need, $have) = $log =~ $warning;
ok(defined $have && $have == $limit_kb && $need > $have, '... naming the sizes it needs and has');
like($log, qr/DETAIL:  Data keys cached beyond the limit are kept out of core dumps and wiped, but may be swapped out\./,
	'... saying what it means');
like($log, qr/HINT:  Raise the server's locked-memory limit .* or lower childguard\.data_key_cache_size\./,
	'... and what to do');
my @all = $log =~ /$warning/g;
is(scalar(@all) / 2, 1, '... once, from the postmaster');

# reads still work with the large cache, and no backend repeats the warning
$node->safe_psql('postgres', q{
	CREATE EXTENSION childguard CASCADE;
	SELECT childguard.register_child('42', '2015-05-01');
	CREATE TABLE students (id bigint PRIMARY KEY, name childguard.child_data);
	SELECT childguard.protect('students', 'id', '{"name": "name"}');
});
consent_all($node, 'postgres');
$node->safe_psql('postgres',
	q{SET childguard.purpose = 'regress'; INSERT INTO students VALUES (42, '小明');});
is($node->safe_psql('postgres',
	q{SET childguard.purpose = 'regress'; SELECT name FROM students WHERE id = 42;}),
	'小明', 'a read through the oversized cache works');
$log = substr(slurp_file($node->logfile), $offset);
@all = $log =~ /$warning/g;
is(scalar(@all) / 2, 1, 'backends do not repeat the warning');
$node->stop;
done_testing();
