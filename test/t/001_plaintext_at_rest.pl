# Acceptance (issue 2, "no plaintext at rest"):
#
#   10,000 rows with unique marker strings written through plain SQL and
#   COPY, then CHECKPOINT; none of the markers appears in any file of the
#   data directory (including pg_wal), nor in pg_dump output; reading back
#   with a purpose returns them all.
#
# Every row carries two markers (a "name" and a "school" column, two
# different data categories), so 20,000 distinct markers are written:
# rows 1..5000 through multi-row INSERT ... VALUES, rows 5001..10000
# through COPY FROM STDIN.  Every third row uses multi-byte (Chinese)
# markers.  The markers are generated here, in Perl, so the test knows
# exactly what to look for.
#
# Positive controls prove that the scans CAN find a marker: the same kind
# of marker written into an ordinary text column of another table is found
# both in the data directory and in the dump.
use strict;
use warnings;

# No "use utf8": every string in this file, the Chinese literals included,
# is a string of UTF-8 *bytes*.  That is what the server stores and what
# the file scan must look for, and what psql returns, so all comparisons
# are byte-exact without any decoding.

use FindBin;
use lib "$FindBin::RealBin/../lib";

use File::Find;
use IPC::Run;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time);
use ChildguardNode;

my $pg_config = $ENV{PG_CONFIG} // 'pg_config';
chomp(my $pkglibdir = `$pg_config --pkglibdir`);
plan skip_all => "childguard.so is not installed in $pkglibdir"
  unless -e "$pkglibdir/childguard.so";

my $NROWS = 10_000;
my $NSQL  = 5_000;    # rows 1..$NSQL by INSERT, the rest by COPY

my ($node) = ChildguardNode::new_node('at_rest', start => 1);
$node->safe_psql('postgres', 'CREATE EXTENSION childguard CASCADE');

# ---------------------------------------------------------------------------
# Markers.  16 random hex digits (64 bits) make every marker unique and
# impossible to hit by chance in a binary file.  All ASCII markers start
# with "CGMARK-", all multi-byte ones contain "标记" ("marker"), so a file
# is searched once for those two prefixes and every hit is then checked
# against the set of markers.
# ---------------------------------------------------------------------------
sub rand_hex { return substr(ChildguardNode::random_key_hex(), 0, 16) }
sub first10  { return @_ > 10 ? @_[0 .. 9] : @_ }

my (%name, %school);    # row id -> marker (bytes)
for my $i (1 .. $NROWS)
{
	if ($i % 3 == 0)
	{
		$name{$i}   = "学生标记-$i-" . rand_hex();
		$school{$i} = "第一小学标记-$i-" . rand_hex();
	}
	else
	{
		$name{$i}   = "CGMARK-N-$i-" . rand_hex();
		$school{$i} = "CGMARK-S-$i-" . rand_hex();
	}
}
my %is_marker = map { $_ => 1 } (values %name, values %school);
is(scalar keys %is_marker, 2 * $NROWS, '20,000 distinct markers generated');

# Matches a whole marker of either shape (and the control markers below).
# No /x here: with /x Perl drops byte 0x85 (NEL, "pattern white space")
# from a byte-string pattern, and "照" is E7 85 A7 in UTF-8.
my $marker_re =
  qr/(?:CGMARK-[A-Z]+-\d+-[0-9a-f]{16}|(?:学生|第一小学|对照)标记-\d+-[0-9a-f]{16})/;
# What the file scan looks for first: either prefix.
my $prefix_re = qr/CGMARK-|标记-/;

# Positive controls: markers of the same shapes in an ordinary text table.
my $control_ascii = 'CGMARK-CONTROL-0-' . rand_hex();
my $control_mb    = '对照标记-0-' . rand_hex();
my %is_control = ($control_ascii => 1, $control_mb => 1);

# ---------------------------------------------------------------------------
# Schema: 10,000 children, a protected table, an unprotected control table.
# ---------------------------------------------------------------------------
my $t0 = time;
is( $node->safe_psql(
		'postgres', qq{
	SELECT count(childguard.register_child(i::text, '2015-01-01'))
	  FROM generate_series(1, $NROWS) i}),
	$NROWS,
	'10,000 children registered in one statement');
note sprintf('register_child x %d: %.1f s', $NROWS, time - $t0);
$t0 = time;
is(ChildguardNode::consent_all($node, 'postgres'),
	2 * $NROWS, 'a guardian\'s consent recorded for every child (two purposes)');
note sprintf('consent x %d: %.1f s', $NROWS, time - $t0);

$node->safe_psql(
	'postgres', q{
	CREATE TABLE students (id bigint PRIMARY KEY,
	                       name childguard.child_data,
	                       school childguard.child_data,
	                       grade int);
	SELECT childguard.protect('students', 'id',
	                          '{"name": "name", "school": "school"}');
	CREATE TABLE control (id int PRIMARY KEY, note text);
});
$node->safe_psql('postgres',
	"INSERT INTO control VALUES (1, '$control_ascii'), (2, '$control_mb')");

# ---------------------------------------------------------------------------
# Rows 1..5000: plain SQL, multi-row INSERT ... VALUES in batches of 500.
# The markers hold no quote or backslash, so they need no escaping.
# ---------------------------------------------------------------------------
$t0 = time;
for (my $from = 1; $from <= $NSQL; $from += 500)
{
	my $to = $from + 499;
	$to = $NSQL if $to > $NSQL;
	my $values = join(",\n",
		map { "($_, '$name{$_}', '$school{$_}', " . ($_ % 6 + 1) . ')' }
		  $from .. $to);
	$node->safe_psql('postgres',
		"SET childguard.purpose = 'regress';\n"
		  . "INSERT INTO students (id, name, school, grade) VALUES\n$values");
}
is($node->safe_psql('postgres', 'SELECT count(*) FROM students'),
	$NSQL, '5,000 rows written with INSERT ... VALUES');
note sprintf('INSERT of %d rows: %.1f s', $NSQL, time - $t0);

# ---------------------------------------------------------------------------
# Rows 5001..10000: COPY FROM STDIN, the data streamed on psql's stdin.
# ---------------------------------------------------------------------------
$t0 = time;
my $copy_data = join('',
	map { "$_\t$name{$_}\t$school{$_}\t" . ($_ % 6 + 1) . "\n" }
	  ($NSQL + 1) .. $NROWS);
my ($copy_out, $copy_err) = ('', '');
my $copy_ok = IPC::Run::run(
	[
		'psql', '-X', '-v', 'ON_ERROR_STOP=1',
		'-d', $node->connstr('postgres'),
		'-c', "SET childguard.purpose = 'regress'",
		'-c', 'COPY students (id, name, school, grade) FROM STDIN'
	],
	'<', \$copy_data,
	'>', \$copy_out,
	'2>', \$copy_err);
ok($copy_ok, 'COPY FROM STDIN of plaintext into the protected table succeeds')
  or diag("psql stderr: $copy_err");
like($copy_out, qr/^COPY 5000$/m, 'COPY reports 5,000 rows');
note sprintf('COPY of %d rows: %.1f s', $NROWS - $NSQL, time - $t0);

is($node->safe_psql('postgres', 'SELECT count(*) FROM students'),
	$NROWS, '10,000 rows in the protected table');

# Every stored value is a sealed (not pending) envelope for its own row's
# child and its column's category; reading the headers decrypts nothing.
is( $node->safe_psql(
		'postgres', q{
	SELECT count(*) FROM students s,
	       childguard.envelope_info(s.name) n,
	       childguard.envelope_info(s.school) c
	 WHERE NOT n.pending AND NOT c.pending
	   AND n.category = 'name' AND c.category = 'school'
	   AND n.subject_no = (SELECT subject_no FROM childguard.child
	                        WHERE child_id = s.id::text)
	   AND c.subject_no = n.subject_no}),
	$NROWS,
	'every value is sealed for its row\'s child and its column\'s category');

# ---------------------------------------------------------------------------
# CHECKPOINT, then scan every regular file of the data directory.
# ---------------------------------------------------------------------------
$node->safe_psql('postgres', 'CHECKPOINT');

# scan_bytes($bytes, \%found): record every marker-prefix hit in %found as
# whole marker => count, or "fragment" => count for a prefix that does not
# begin a whole marker (a marker cut by a page boundary, say).
sub scan_bytes
{
	my ($bytes, $found) = @_;
	while ($bytes =~ /$prefix_re/g)
	{
		my $start = $-[0];
		# the multi-byte shapes have up to 12 bytes before "标记-"
		my $from = $start >= 12 ? $start - 12 : 0;
		my $window = substr($bytes, $from, 80);
		if ($window =~ /($marker_re)/)
		{
			$found->{$1}++;
		}
		else
		{
			$found->{fragment}++;
		}
	}
	return;
}

# Partition what a scan found into protected markers, controls, fragments.
sub classify
{
	my ($found) = @_;
	my %r = (protected => [], control => {}, fragments => 0, other => []);
	for my $hit (sort keys %$found)
	{
		if ($hit eq 'fragment')          { $r{fragments} += $found->{$hit} }
		elsif ($is_marker{$hit})         { push @{ $r{protected} }, $hit }
		elsif ($is_control{$hit})        { $r{control}{$hit} = 1 }
		else                             { push @{ $r{other} }, $hit }
	}
	return \%r;
}

my $datadir = $node->data_dir;
my (%found, %found_in, $nfiles, $nbytes, $saw_wal);
$t0 = time;
find(
	{
		no_chdir => 1,
		wanted   => sub {
			my $path = $File::Find::name;
			return unless -f $path && !-l $path;
			my $bytes = eval { slurp_file($path) };
			# postmaster.pid etc. may be rewritten under us; a vanished
			# file has nothing to leak
			return unless defined $bytes;
			$nfiles++;
			$nbytes += length $bytes;
			$saw_wal = 1 if $path =~ m{/pg_wal/[0-9A-F]{24}\z};
			my %here;
			scan_bytes($bytes, \%here);
			for (keys %here)
			{
				$found{$_} += $here{$_};
				push @{ $found_in{$_} }, substr($path, length($datadir) + 1);
			}
		},
	},
	$datadir);
note sprintf('scanned %d files, %.1f MB in %.1f s',
	$nfiles, $nbytes / 1048576, time - $t0);
ok($saw_wal, 'the scan covered WAL segments in pg_wal');

my $disk = classify(\%found);
is(scalar @{ $disk->{protected} }, 0,
	'no protected marker appears in any file of the data directory')
  or diag('found: '
	  . join(', ', map { "$_ in @{$found_in{$_}}" } first10(@{ $disk->{protected} })));
is($disk->{fragments} + @{ $disk->{other} }, 0,
	'no fragment of a marker appears in the data directory either')
  or diag("fragments: $disk->{fragments}; in: @{$found_in{fragment} // []}");
ok($disk->{control}{$control_ascii},
	'positive control: an ASCII marker in a text column IS found on disk')
  or diag('the scan is broken: it cannot find plaintext that is there');
ok($disk->{control}{$control_mb},
	'positive control: a multi-byte marker in a text column IS found on disk');
ok( (grep { m{^pg_wal/} } @{ $found_in{$control_ascii} // [] }),
	'positive control: the ASCII control marker IS found in pg_wal')
  or diag("control found in: @{$found_in{$control_ascii} // []}");

# ---------------------------------------------------------------------------
# pg_dump (plain format) of the database, as a client with no purpose.
# ---------------------------------------------------------------------------
my $dumpfile = "$PostgreSQL::Test::Utils::tmp_check/001_dump.sql";
$node->command_ok(
	[ 'pg_dump', '--no-sync', '-f', $dumpfile, '-d', $node->connstr('postgres') ],
	'pg_dump (plain) succeeds');
my $dump = slurp_file($dumpfile);
my %dfound;
scan_bytes($dump, \%dfound);
my $indump = classify(\%dfound);
is(scalar @{ $indump->{protected} }, 0, 'no protected marker appears in the dump')
  or diag('found: ' . join(', ', first10(@{ $indump->{protected} })));
is($indump->{fragments} + @{ $indump->{other} }, 0,
	'no fragment of a marker appears in the dump');
ok($indump->{control}{$control_ascii} && $indump->{control}{$control_mb},
	'positive control: the text-column markers ARE in the dump');
my $n_env = () = $dump =~ /\tcg1:[A-Za-z0-9+\/]+=*(?=[\t\n])/g;
cmp_ok($n_env, '>=', 2 * $NROWS,
	'the dump holds the protected values as cg1: envelopes');

# ---------------------------------------------------------------------------
# With a purpose, every value reads back exactly.
# ---------------------------------------------------------------------------
my $back = $node->safe_psql(
	'postgres', q{
	SET childguard.purpose = 'regress';
	SELECT id, name, school FROM students ORDER BY id});
my %got;
for my $line (split /\n/, $back)
{
	my ($id, $n, $s) = split /\|/, $line, -1;
	$got{$id} = [ $n, $s ];
}
is(scalar keys %got, $NROWS, 'with a purpose, 10,000 rows read back');
my @bad = grep {
	!$got{$_} || $got{$_}[0] ne $name{$_} || $got{$_}[1] ne $school{$_}
} 1 .. $NROWS;
is(scalar @bad, 0, 'with a purpose, every row returns exactly its two markers')
  or diag('first mismatching rows: ' . join(', ', first10(@bad)));
my %got_markers = map { ($_->[0] => 1, $_->[1] => 1) } values %got;
is_deeply(\%got_markers, \%is_marker,
	'the set of values read equals the set of 20,000 markers written');

# Without a purpose, the same read shows envelopes only.
is( $node->safe_psql(
		'postgres', q{
	SELECT count(*) FROM students
	 WHERE name::text LIKE 'cg1:%' AND school::text LIKE 'cg1:%'}),
	$NROWS,
	'without a purpose, every value reads as a cg1: envelope');

$node->stop;
done_testing();
