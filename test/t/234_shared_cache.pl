# The read path's cache shared by the backends (src/base/shared_cache.c):
# a backend's first read of children another backend has read is served
# from shared memory (its counters in backend_cache_stats(): hits, no
# misses), with the same plaintext; a committed withdrawal and a committed
# key destruction stop the next read of a backend that never read the
# child before (so it has nothing of it in its own caches) even though the
# shared cache held the child; with childguard.shared_cache_size = 0 there
# is no shared cache and the reads are the same; a table far smaller than
# the working set evicts and still reads right.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::RealBin/../lib";
use PostgreSQL::Test::Utils;
use Test::More;
use ChildguardNode qw(new_node);

my $N = 40;
my ($node) = new_node('sharedcache', extra_conf => "autovacuum = off\n", start => 1);
$node->safe_psql('postgres', qq{
	CREATE EXTENSION childguard CASCADE;
	SELECT count(childguard.register_child('sc' || i, '2015-05-01')) FROM generate_series(1, $N) i;
	CREATE TABLE students (id text PRIMARY KEY, name childguard.child_data, note childguard.child_data);
	SELECT childguard.protect('students', 'id', '{"name": "name", "note": "name"}');
});
ChildguardNode::consent_all($node, 'postgres');
$node->safe_psql('postgres', qq{
	SET childguard.purpose = 'regress';
	INSERT INTO students SELECT 'sc' || i, '名' || i, '注' || i FROM generate_series(1, $N) i;
});

# 1.6: the table's pages are out of core dumps (MADV_DONTDUMP): the
# postmaster and every backend (which inherit the mapping) have a shared
# mapping flagged "dd" at least as large as the default table's slots
# (524,288 entries of about 300 bytes; 1.5 had none)
# largest shared mapping of pid flagged "dd" (not dumped), in kB
sub dont_dump_kb
{
	my ($pid) = @_;
	my ($size, $largest) = (0, 0);
	for my $line (split /\n/, slurp_file("/proc/$pid/smaps"))
	{
		$size = $1 if $line =~ /^Size:\s+(\d+) kB/;
		$largest = $size
		  if $line =~ /^VmFlags:/ && $line =~ /\bsh\b/ && $line =~ /\bdd\b/ && $size > $largest;
	}
	return $largest;
}
SKIP:
{
	my $pmpid = (split /\n/, slurp_file($node->data_dir . '/postmaster.pid'))[0];
	skip 'no /proc smaps here', 2 unless -r "/proc/$pmpid/smaps";
	cmp_ok(dont_dump_kb($pmpid), '>=', 100 * 1024,
		'postmaster: the shared cache\'s pages are excluded from core dumps');
	my $bg = $node->background_psql('postgres');
	my $bepid = $bg->query_safe('SELECT pg_backend_pid()');
	chomp $bepid;
	cmp_ok(dont_dump_kb($bepid), '>=', 100 * 1024,
		'backend: the shared cache\'s pages are excluded from core dumps (inherited)');
	$bg->quit;
}

my $read_all = q{SET childguard.purpose = 'regress';
SELECT count(*) || '/' || string_agg(name::text || note::text, ',' ORDER BY id) FROM students;};
my $expected = $node->safe_psql('postgres', q{
	SELECT count(*) || '/' || string_agg('名' || substr(id, 3) || '注' || substr(id, 3), ',' ORDER BY id)
	FROM students});
my $stats = q{SELECT hits || ' ' || misses FROM childguard.backend_cache_stats() WHERE cache = 'shared';};

# one backend reads every child: it fills the shared cache
is($node->safe_psql('postgres', $read_all), $expected, 'first backend reads every child');
# a new backend: every registry fact it needs comes from the shared cache
my $out = $node->safe_psql('postgres', "$read_all\n$stats");
my ($rows, $counts) = split /\n/, $out;
is($rows, $expected, 'second backend reads the same plaintext');
my ($hits, $misses) = split / /, $counts;
# (1.6: one entry per child holds its subject, consent words and wrapped key)
cmp_ok($hits, '>=', $N, "second backend: a shared-cache hit for each of $N children ($hits)");
cmp_ok($hits, '<=', $N + 2, "second backend: one probe per child, not one per fact ($hits)");
is($misses, 0, 'second backend: no shared-cache miss (no catalog fetch for a registry fact)');

# VACUUM and ANALYZE of the registry tables send the same relcache
# invalidation as a change, but change nothing: the cache stays
$node->safe_psql('postgres', 'VACUUM ANALYZE childguard.child, childguard.consent, childguard.data_key');
$out = $node->safe_psql('postgres', "$read_all\n$stats");
($rows, $counts) = split /\n/, $out;
is($rows, $expected, 'after VACUUM ANALYZE of the registry: the same plaintext');
($hits, $misses) = split / /, $counts;
is($misses, 0, 'after VACUUM ANALYZE of the registry: still no shared-cache miss');

# a committed withdrawal, the shared cache warm: a new backend is denied
$node->safe_psql('postgres', q{
	SELECT cg.guardian_id AS g FROM childguard.child_guardian cg
	  JOIN childguard.child c USING (subject_no) WHERE c.child_id = 'sc1' \gset
	SET ROLE regress_fixture_recorder;
	SELECT childguard.withdraw_consent('sc1', 'regress', :'g');
});
my ($stdout, $stderr);
$node->psql('postgres', q{SET childguard.purpose = 'regress';
SELECT name::text FROM students WHERE id = 'sc1';}, stdout => \$stdout, stderr => \$stderr);
like($stderr, qr/No guardian's consent for this purpose is in force/,
	'after a committed withdrawal a new backend is denied the child');
unlike($stdout, qr/名1/, 'and gets no plaintext of it');
is($node->safe_psql('postgres', q{SET childguard.purpose = 'regress';
SELECT name::text FROM students WHERE id = 'sc2';}), '名2', 'another child is still read');

$read_all =~ s/FROM students;/FROM students WHERE id <> 'sc1';/;

# a committed key destruction: a new backend gets the sealed form
$node->safe_psql('postgres', q{
	UPDATE childguard.data_key SET wrapped_key = NULL, destroyed_at = now()
	 WHERE subject_no = childguard._subject_of('sc3');
});
$out = $node->safe_psql('postgres', q{SET childguard.purpose = 'regress';
SELECT name::text LIKE 'cg%' FROM students WHERE id = 'sc3';});
is($out, 't', 'after a committed key destruction a new backend gets the sealed form');

# a withdrawal prepared for two-phase commit and committed from another
# session (which wrote nothing itself): the next read is denied
$node->safe_psql('postgres', q{SET childguard.purpose = 'regress';
SELECT count(name::text) FROM students WHERE id = 'sc4';});
$node->safe_psql('postgres', q{
	SELECT cg.guardian_id AS g FROM childguard.child_guardian cg
	  JOIN childguard.child c USING (subject_no) WHERE c.child_id = 'sc4' \gset
	BEGIN;
	SET LOCAL ROLE regress_fixture_recorder;
	SELECT childguard.withdraw_consent('sc4', 'regress', :'g');
	PREPARE TRANSACTION 'sc_withdraw';
});
is($node->safe_psql('postgres', q{SET childguard.purpose = 'regress';
SELECT name::text FROM students WHERE id = 'sc4';}), '名4', 'a prepared withdrawal does not deny yet');
$node->safe_psql('postgres', q{COMMIT PREPARED 'sc_withdraw'});
($stdout, $stderr) = ('', '');
$node->psql('postgres', q{SET childguard.purpose = 'regress';
SELECT name::text FROM students WHERE id = 'sc4';}, stdout => \$stdout, stderr => \$stderr);
like($stderr, qr/No guardian's consent for this purpose is in force/,
	'after COMMIT PREPARED from another session a new backend is denied the child');
$read_all =~ s/WHERE id <> 'sc1';/WHERE id NOT IN ('sc1', 'sc4');/;

# no shared cache: the same reads, nothing shared
my $after = $node->safe_psql('postgres', $read_all);
$node->append_conf('postgresql.conf', "childguard.shared_cache_size = 0\n");
$node->restart;
$out = $node->safe_psql('postgres', "$read_all\n$stats");
($rows, $counts) = split /\n/, $out;
is($rows, $after, 'without the shared cache: the same reads');
is($counts, '0 0', 'without the shared cache: no shared probe');
is($node->safe_psql('postgres', q{SELECT capacity FROM childguard.backend_cache_stats() WHERE cache = 'shared'}),
	'0', 'without the shared cache: capacity 0');

# a table far smaller than the working set: evictions, the same reads
$node->append_conf('postgresql.conf', "childguard.shared_cache_size = 8\n");
$node->restart;
is($node->safe_psql('postgres', $read_all), $after, 'tiny shared cache: first backend reads right');
is($node->safe_psql('postgres', $read_all), $after, 'tiny shared cache: second backend reads right');

$node->stop;
done_testing();
