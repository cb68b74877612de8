# The packed log's per-child route (1.9): each batch's subjects column
# lists the children its records name, and child_report() reads only the
# batches it names.  The column is not in the chain's hashes, so
# verify_access_log() checks it against the records.  Attacks below SQL (a
# superuser switching the batches' guard off in pg_trigger), each in a
# fresh session and rolled back: a child's entry deleted from a batch (its
# records vanish from child_report()), a false entry added, the list
# emptied, replaced by another child's, reordered, duplicated; each is
# named by verify_access_log() (the batch), and a chain break in the same
# attack is still named first.  A batch edited so that it no longer
# decodes: reads of the view fail with XX001 naming the batch, without its
# contents.  Retention: the purged batches' entries go with them.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::RealBin/../lib";
use PostgreSQL::Test::Utils;
use Test::More;
use ChildguardNode qw(new_node consent_all);

my ($node) = new_node('log_child_index', start => 1,
	extra_conf => "childguard.audit_writer_delay = 1000\n");
$node->safe_psql('postgres', q{
	CREATE EXTENSION childguard CASCADE;
	SELECT childguard.register_child('p-' || i, '2014-01-01') FROM generate_series(1, 5) i;
	CREATE TABLE pupils (id text PRIMARY KEY, name childguard.child_data);
	SELECT childguard.protect('pupils', subject_column => 'id', categories => '{"name": "name"}');
});
consent_all($node, 'postgres');
$node->safe_psql('postgres', q{SET childguard.purpose = 'regress';
	INSERT INTO pupils SELECT 'p-' || i, 'name ' || i FROM generate_series(1, 4) i;
	SELECT childguard.audit_wait();});
for my $b (1 .. 3)
{
	$node->safe_psql('postgres', q{SET childguard.purpose = 'regress';
		SELECT name FROM pupils WHERE id = 'p-1';
		SELECT name FROM pupils WHERE id = 'p-2';
		SELECT name FROM pupils WHERE id IN ('p-3', 'p-4');
		SELECT childguard.audit_wait();});
}
is($node->safe_psql('postgres', 'SELECT valid FROM childguard.verify_access_log()'), 't',
	'the log verifies');
# a batch that names p-1 and at least one other child
my ($batch, $p1, $other) = split /\|/, $node->safe_psql('postgres', q{
	SELECT b.first_id, c.subject_no, (SELECT max(s) FROM unnest(b.subjects) s WHERE s <> c.subject_no)
	  FROM childguard.access_log_batch b, childguard.child c
	 WHERE c.child_id = 'p-1' AND b.subjects @> ARRAY[c.subject_no] AND cardinality(b.subjects) > 1
	 ORDER BY b.first_id LIMIT 1});
ok($batch, "a batch names p-1 and another child (batch $batch)");
# p-5: registered, never read or written
my $not_named = $node->safe_psql('postgres', qq{
	SELECT c.subject_no FROM childguard.child c, childguard.access_log_batch b
	 WHERE b.first_id = $batch AND c.child_id = 'p-5' AND NOT b.subjects \@> ARRAY[c.subject_no]});
ok($not_named, 'a child the batch does not name');

my $fixture = PostgreSQL::Test::Utils::slurp_file("$FindBin::RealBin/../fixtures/packed_log.psql");
$fixture =~ s/^\\set ECHO.*$//mg;

# one attack in a fresh session, rolled back: the last line of its output
sub attack
{
	my ($sql, $check) = @_;
	$check //= 'SELECT valid, broken_id, reason FROM childguard.verify_access_log()';
	my $out = $node->safe_psql('postgres', qq{
		BEGIN;
		UPDATE pg_trigger SET tgenabled = 'D' WHERE tgrelid = 'childguard.access_log_batch'::regclass;
		$fixture
		$sql;
		$check;
		ROLLBACK;});
	return (split /\n/, $out)[-1];
}

my $report_has_batch = qq{SELECT count(*) FROM jsonb_array_elements(childguard.child_report('p-1')->'accesses') a
	 WHERE (a->>'id')::bigint BETWEEN $batch AND (SELECT last_id FROM childguard.access_log_batch WHERE first_id = $batch)};
cmp_ok($node->safe_psql('postgres', $report_has_batch), '>', 0,
	"child_report('p-1') lists the batch's records of p-1");
# the attack's effect is real: with the entry gone, child_report() misses them
is(attack("UPDATE childguard.access_log_batch SET subjects = array_remove(subjects, $p1) WHERE first_id = $batch",
		$report_has_batch), '0',
	"an entry deleted hides the batch's records from child_report() (what verify must catch)");

my $subjects_broken = qr/^f\|$batch\|record ${batch}'s batch was altered: its subjects do not list exactly the children its records name$/;
like(attack("UPDATE childguard.access_log_batch SET subjects = array_remove(subjects, $p1) WHERE first_id = $batch"),
	$subjects_broken, "a child's entry deleted from a batch: the batch named");
like(attack("UPDATE childguard.access_log_batch SET subjects = ARRAY(SELECT DISTINCT s FROM unnest(subjects || ${not_named}::bigint) s ORDER BY s) WHERE first_id = $batch"),
	$subjects_broken, 'a false entry added: the batch named');
like(attack("UPDATE childguard.access_log_batch SET subjects = '{}' WHERE first_id = $batch"),
	$subjects_broken, 'the list emptied: the batch named');
like(attack("UPDATE childguard.access_log_batch SET subjects = ARRAY[${not_named}::bigint] WHERE first_id = $batch"),
	$subjects_broken, "the list replaced by another child's: the batch named");
like(attack("UPDATE childguard.access_log_batch SET subjects = ARRAY(SELECT s FROM unnest(subjects) s ORDER BY s DESC) WHERE first_id = $batch"),
	$subjects_broken, 'the list reordered: the batch named');
like(attack("UPDATE childguard.access_log_batch SET subjects = subjects || subjects[1] WHERE first_id = $batch"),
	$subjects_broken, 'an entry duplicated: the batch named');
like(attack("UPDATE childguard.access_log_batch SET subjects = ARRAY[subjects] WHERE first_id = $batch"),
	$subjects_broken, 'the list made two-dimensional: the batch named');
like(attack("UPDATE childguard.access_log_batch SET subjects = array_append(subjects, NULL) WHERE first_id = $batch"),
	$subjects_broken, 'a NULL entry added: the batch named');
# a newer batch's list also altered: the first (oldest) is named
my $last = $node->safe_psql('postgres', 'SELECT max(first_id) FROM childguard.access_log_batch');
like(attack("UPDATE childguard.access_log_batch SET subjects = '{}' WHERE first_id IN ($batch, $last)"),
	$subjects_broken, 'two batches altered: the first named');
# a broken chain is named before a wrong list
like(attack("UPDATE childguard.access_log_batch SET subjects = '{}' WHERE first_id = $last;
		SELECT pg_temp.flip_record_byte($batch, 24)"),
	qr/^f\|$batch\|record $batch was altered/, 'a record altered too: the chain break is named first');

# a batch that no longer decodes: XX001 naming the batch, none of its bytes
my $multi = $node->safe_psql('postgres',
	'SELECT min(first_id) FROM childguard.access_log_batch WHERE records >= 2');
ok($multi, "a batch of several records ($multi)");
my ($ret, $out, $err) = $node->psql('postgres', qq{
	BEGIN;
	UPDATE pg_trigger SET tgenabled = 'D' WHERE tgrelid = 'childguard.access_log_batch'::regclass;
	$fixture
	SELECT pg_temp.set_wire($multi + 1, '\\x0102'::bytea);
	\\set VERBOSITY verbose
	SELECT count(*) FROM childguard.access_log;
	ROLLBACK;});
like($err, qr/ERROR:  XX001: childguard access log batch $multi is malformed at record @{[$multi + 1]}/,
	'a batch that does not decode: XX001 naming the batch and the record');
like($err, qr/HINT:  Run childguard.verify_access_log\(\)/, 'the hint says to run verify_access_log()');
unlike($err, qr/name \d|regress|pupils/, 'no record contents in the error');
($ret, $out, $err) = $node->psql('postgres', qq{
	BEGIN;
	UPDATE pg_trigger SET tgenabled = 'D' WHERE tgrelid = 'childguard.access_log_batch'::regclass;
	$fixture
	UPDATE childguard.access_log_batch SET packed = substring(packed from 1 for 50) WHERE first_id = $multi;
	\\set VERBOSITY verbose
	SELECT childguard.child_report('p-1');
	ROLLBACK;});
like($err, qr/ERROR:  XX001: childguard access log batch $multi is malformed at record $multi/,
	"a batch cut short: child_report() fails with XX001 naming the batch");

is($node->safe_psql('postgres', 'SELECT valid FROM childguard.verify_access_log()'), 't',
	'the log is intact after the attacks');

# The update from 1.8: batches written without lists get them from their
# records; the writer lists the children of the batches after it
$node->safe_psql('postgres', 'CREATE DATABASE old18');
$node->safe_psql('old18', q{
	SET client_min_messages = warning;
	CREATE EXTENSION childguard VERSION '1.8' CASCADE;
	SELECT childguard.register_child('o-' || i, '2014-01-01') FROM generate_series(1, 4) i;
	CREATE TABLE pupils (id text PRIMARY KEY, name childguard.child_data);
	SELECT childguard.protect('pupils', subject_column => 'id', categories => '{"name": "name"}');
});
consent_all($node, 'old18');
my $reads = q{SET childguard.purpose = 'regress';
	SELECT name FROM pupils WHERE id = 'o-1';
	SELECT name FROM pupils WHERE id IN ('o-2', 'o-3');
	UPDATE pupils SET name = 'renamed' WHERE id = 'o-2';
	SELECT childguard.audit_wait();};
$node->safe_psql('old18', q{SET childguard.purpose = 'regress';
	INSERT INTO pupils SELECT 'o-' || i, 'name ' || i FROM generate_series(1, 4) i;});
$node->safe_psql('old18', $reads) for 1 .. 2;
is($node->safe_psql('old18', q{
	SELECT count(*) > 1, (SELECT count(*) FROM pg_attribute
	                       WHERE attrelid = 'childguard.access_log_batch'::regclass AND attname = 'subjects')
	  FROM childguard.access_log_batch}), 't|0', '1.8: packed batches, without lists');
$node->safe_psql('old18', 'ALTER EXTENSION childguard UPDATE');
$node->safe_psql('old18', $reads);
my $lists_differ = q{
	SELECT count(*) FROM childguard.access_log_batch b
	 WHERE b.subjects IS DISTINCT FROM ARRAY(
		SELECT DISTINCT s FROM childguard.access_log l,
		       unnest(l.children_read || l.children_denied || l.children_written) s
		 WHERE l.id BETWEEN b.first_id AND b.last_id ORDER BY s)};
is($node->safe_psql('old18', qq{
	SELECT (SELECT extversion FROM pg_extension WHERE extname = 'childguard'),
	       (SELECT count(*) FROM childguard.access_log_batch), ($lists_differ),
	       (SELECT valid FROM childguard.verify_access_log())}),
	'1.9|' . $node->safe_psql('old18', 'SELECT count(*) FROM childguard.access_log_batch') . '|0|t',
	"updated to 1.9: every batch's list (backfilled and new) is its records' children; the chain verifies");
is($node->safe_psql('old18', q{
	SELECT count(*) FILTER (WHERE r IS DISTINCT FROM v), count(*) FILTER (WHERE cardinality(v) > 0)
	  FROM (SELECT (SELECT array_agg((a->>'id')::bigint ORDER BY (a->>'id')::bigint)
	                  FROM jsonb_array_elements(childguard.child_report(c.child_id)->'accesses') a) AS r,
	               (SELECT array_agg(l.id ORDER BY l.id) FROM childguard.access_log l
	                 WHERE c.subject_no = ANY (l.children_read || l.children_denied || l.children_written)) AS v
	          FROM childguard.child c) x}), '0|4',
	"after the update child_report() lists each child's accesses, from before and after it");

# Retention purges whole batches: their entries go with them
sleep 61;
$node->append_conf('postgresql.conf', "childguard.audit_retention = 1\n");
$node->reload;
$node->safe_psql('postgres', q{SET childguard.purpose = 'regress';
	SELECT name FROM pupils WHERE id = 'p-2'; SELECT childguard.audit_wait();});
$node->poll_query_until('postgres',
	'SELECT purged_upto_id > 0 FROM childguard.access_log_head')
  or die 'retention did not purge';
is($node->safe_psql('postgres', q{
	SELECT (SELECT count(*) FROM childguard.access_log_batch),
	       (SELECT count(*) FROM childguard.access_log_batch WHERE subjects @> ARRAY[c.subject_no]),
	       jsonb_array_length(childguard.child_report('p-1')->'accesses'),
	       jsonb_array_length(childguard.child_report('p-2')->'accesses')
	  FROM childguard.child c WHERE c.child_id = 'p-1'}), '1|0|0|1',
	"retention purged the batches and their entries: p-1's accesses gone, p-2's new one listed");
is($node->safe_psql('postgres', 'SELECT valid FROM childguard.verify_access_log()'), 't',
	'the chain verifies after the purge');

$node->stop;
done_testing();
