# Registry personal data at rest (issue 14, item 1; Provisions Art 13).
#
# A child's birth date and circumstances are sealed in childguard.child:
# neither the data files (the registry's heap, WAL included) nor a pg_dump
# hold them in the clear.  The scans look for the birth date stored next to
# its child's id, the way a row of the registry held them before 1.4; a
# positive control -- an ordinary table with the same columns -- proves the
# scans find that shape when it is there.  A database registered under 1.3
# and updated to 1.4 is sealed by the update, and after VACUUM FULL its
# registry file holds none of the old plaintext either.
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

my ($node) = ChildguardNode::new_node('registry', start => 1);
$node->safe_psql('postgres', 'CREATE EXTENSION childguard CASCADE');

my $N = 50;
my $tag = substr(ChildguardNode::random_key_hex(), 0, 12);
# children i = 1..N: id "cgreg-<tag>-<i>", born 2010-01-01 + 37*i days
my @ids = map { "cgreg-$tag-$_" } 1 .. $N;
my $values = join(',', map { "('$ids[$_-1]', date '2010-01-01' + " . (37 * $_) . ")" } 1 .. $N);
$node->safe_psql('postgres', qq{
	CREATE TEMP TABLE s (child_id text, birth_date date, in_difficulty boolean, can_express boolean);
	INSERT INTO s SELECT v.*, v.birth_date > '2012-01-01', true FROM (VALUES $values) v(child_id, birth_date);
	SELECT count(*) FROM childguard.register_children('pg_temp.s');
	SELECT childguard.register_child('cgreg-$tag-one', '2013-07-29', true, false);
	-- the positive control: the same columns, in the clear
	CREATE TABLE control_registry (subject_no bigint, child_id text, birth_date date);
	INSERT INTO control_registry VALUES (1, 'cgctl-$tag-one', '2013-07-29');
	CHECKPOINT;
});

# The heap shape of (child_id text, birth_date date): the id's bytes, up to
# three bytes of alignment padding, then the date as a little-endian int32
# of days since 2000-01-01.
sub date_bytes
{
	my ($y, $m, $d) = @_;
	my $days = $node->safe_psql('postgres', "SELECT date '$y-$m-$d' - date '2000-01-01'");
	return pack('l<', $days);
}
my %pattern;    # id => regex of id + date
for my $i (1 .. $N)
{
	my $date = $node->safe_psql('postgres', "SELECT date '2010-01-01' + " . (37 * $i));
	my ($y, $m, $d) = split /-/, $date;
	$pattern{ $ids[ $i - 1 ] } = qr/\Q$ids[$i-1]\E\x00{0,3}\Q${\ date_bytes($y, $m, $d)}\E/;
}
$pattern{"cgreg-$tag-one"} = qr/\Qcgreg-$tag-one\E\x00{0,3}\Q${\ date_bytes(2013, 7, 29)}\E/;
my $control = qr/\Qcgctl-$tag-one\E\x00{0,3}\Q${\ date_bytes(2013, 7, 29)}\E/;

sub scan_dir
{
	my ($dir) = @_;
	my (%hits, $control_hit, $id_hit);
	find(
		{
			no_chdir => 1,
			wanted   => sub {
				my $path = $File::Find::name;
				return unless -f $path && !-l $path;
				my $bytes = eval { slurp_file($path) };
				return unless defined $bytes;
				$control_hit = 1 if $bytes =~ $control;
				return unless index($bytes, "cgreg-$tag-") >= 0;
				$id_hit = 1;
				for my $id (keys %pattern)
				{
					push @{ $hits{$id} }, $path if $bytes =~ $pattern{$id};
				}
			},
		},
		$dir);
	return (\%hits, $control_hit, $id_hit);
}

my ($hits, $control_hit, $id_hit) = scan_dir($node->data_dir);
ok($control_hit, 'positive control: an id next to its birth date IS found in the data files');
ok($id_hit, 'the children\'s ids are in the data files (the scan reads the registry)');
is(scalar(keys %$hits), 0, 'no child\'s birth date is stored next to its id, in any data file or WAL')
  or diag(join "\n", map { "$_: @{$hits->{$_}}" } sort keys %$hits);

# In the registry's own file, the plaintext columns are empty and every row
# holds one sealed value.
is( $node->safe_psql('postgres', q{
	SELECT count(*) FILTER (WHERE birth_date IS NULL AND in_difficulty IS NULL AND can_express IS NULL
	                          AND octet_length(sealed) = 45) || '/' || count(*)
	  FROM childguard.child}),
	($N + 1) . '/' . ($N + 1), 'every registry row is sealed, its plaintext columns empty');

# pg_dump: the registry's rows carry no birth date, no flags
my $dumpfile = "$PostgreSQL::Test::Utils::tmp_check/230_dump.sql";
$node->command_ok([ 'pg_dump', '--no-sync', '-f', $dumpfile, '-d', $node->connstr('postgres') ],
	'pg_dump succeeds');
my $dump = slurp_file($dumpfile);
like($dump, qr/cgctl-$tag-one\t2013-07-29/, 'positive control: a birth date in the clear IS in the dump');
my ($copy) = $dump =~ /^COPY childguard\.child \(([^)]*)\) FROM stdin;\n(.*?)^\\\.$/ms ? ($2) : ('');
my @rows = split /\n/, $copy;
is(scalar @rows, $N + 1, 'the dump holds every registry row');
my @clear = grep { my @f = split /\t/; $f[2] ne '\\N' || $f[6] ne '\\N' || $f[7] ne '\\N' } @rows;
is(scalar @clear, 0, 'no registry row in the dump has a birth date or circumstances in the clear');
my $dates = () = $dump =~ /\t2013-07-29\n/g;
is($dates, 1, 'the date 2013-07-29 appears once in the dump: the control table\'s row');

# the dump restores, and the restored registry opens with the same key
$node->safe_psql('postgres', 'CREATE DATABASE restored');
$node->command_ok([ 'psql', '-X', '-q', '-v', 'ON_ERROR_STOP=1', '-f', $dumpfile, '-d', $node->connstr('restored') ],
	'the dump restores');
is($node->safe_psql('restored', "SELECT birth_date, in_difficulty, can_express FROM childguard.children WHERE child_id = 'cgreg-$tag-one'"),
	'2013-07-29|t|f', 'the restored registry opens: birth date and circumstances as registered');

# ---------------------------------------------------------------------------
# Registered under 1.3, updated: sealed by ALTER EXTENSION UPDATE, and the
# old plaintext row versions leave the registry's file with VACUUM FULL.
# ---------------------------------------------------------------------------
$node->safe_psql('postgres', 'CREATE DATABASE old13');
$node->safe_psql('old13', qq{
	CREATE EXTENSION pgcrypto;
	CREATE EXTENSION childguard VERSION '1.3';
	SELECT childguard.register_child('cgreg-$tag-old', '2013-07-29', true, true);
	CHECKPOINT;
});
my $relpath = $node->data_dir . '/' . $node->safe_psql('old13', "SELECT pg_relation_filepath('childguard.child')");
my $old = qr/\Qcgreg-$tag-old\E\x00{0,3}\Q${\ date_bytes(2013, 7, 29)}\E/;
like(slurp_file($relpath), $old, 'under 1.3 the registry file holds the birth date in the clear');
$node->safe_psql('old13', 'ALTER EXTENSION childguard UPDATE');
is($node->safe_psql('old13', "SELECT birth_date, in_difficulty, can_express FROM childguard.children"),
	'2013-07-29|t|t', 'after the update the officers\' view shows the same facts');
is($node->safe_psql('old13', "SELECT birth_date IS NULL AND sealed IS NOT NULL FROM childguard.child"),
	't', 'after the update the row is sealed');
$node->safe_psql('old13', 'VACUUM FULL childguard.child; CHECKPOINT');
$relpath = $node->data_dir . '/' . $node->safe_psql('old13', "SELECT pg_relation_filepath('childguard.child')");
my $bytes = slurp_file($relpath);
ok(index($bytes, "cgreg-$tag-old") >= 0, 'the rewritten registry file holds the child');
unlike($bytes, $old, 'after VACUUM FULL the registry file holds no birth date in the clear');

done_testing();
