# The packed access log (1.8, chain format 4): one row of
# childguard.access_log_batch per writer batch, read through the
# childguard.access_log view.  Attacks below SQL (a superuser switching the
# batches' guard off in pg_trigger) on packed batches, each in a fresh
# session and rolled back, each found by verify_access_log() naming the
# record: a byte edited inside a record in the middle of a batch, a record
# cut out, its stored hash edited, a batch dropped at the start, in the
# middle and at the end, two batches swapped, a batch's records truncated,
# its bounds changed, its format changed, records moved from one batch to
# the next with the first batch's hash recomputed from docs/audit.md, and
# a write through the view under session_replication_role = replica.
# Then retention: whole batches purged, the chain still verifying from the
# head's purged hash.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::RealBin/../lib";
use PostgreSQL::Test::Utils;
use Test::More;
use ChildguardNode qw(new_node consent_all);

# batches gather for a second unless a backend waits: several records each
my ($node) = new_node('packed_log', start => 1,
	extra_conf => "childguard.audit_writer_delay = 1000\n");
$node->safe_psql('postgres', q{
	CREATE EXTENSION childguard CASCADE;
	SELECT childguard.register_child('p-' || i, '2014-01-01') FROM generate_series(1, 4) i;
	CREATE TABLE pupils (id text PRIMARY KEY, name childguard.child_data);
	SELECT childguard.protect('pupils', subject_column => 'id', categories => '{"name": "name"}');
});
consent_all($node, 'postgres');
$node->safe_psql('postgres', q{SET childguard.purpose = 'regress';
	INSERT INTO pupils SELECT 'p-' || i, 'name ' || i FROM generate_series(1, 4) i;
	SELECT childguard.audit_wait();});
# three batches of several records: statements in one session, then a wait
for my $b (1 .. 3)
{
	$node->safe_psql('postgres', q{SET childguard.purpose = 'regress';
		SELECT name FROM pupils WHERE id = 'p-1';
		SELECT name FROM pupils WHERE id = 'p-2';
		SELECT name FROM pupils WHERE id = 'p-3';
		SELECT name FROM pupils WHERE id = 'p-4';
		SELECT name FROM pupils;
		SELECT childguard.audit_wait();});
}
my $batches = $node->safe_psql('postgres', q{
	SELECT string_agg(first_id || ':' || last_id || ':' || records, ' ' ORDER BY first_id)
	  FROM childguard.access_log_batch});
note "batches: $batches";
my @b = map { [ split /:/ ] } split / /, $batches;
cmp_ok(scalar(@b), '>=', 3, 'the writer wrote several batches');
my @multi = grep { $_->[2] >= 3 } @b;
cmp_ok(scalar(@multi), '>=', 1, 'at least one batch holds three records or more');
is($node->safe_psql('postgres', q{
	SELECT count(*) = (SELECT sum(records) FROM childguard.access_log_batch),
	       bool_and(format_version = 4), min(id) = 1,
	       max(id) = (SELECT last_id FROM childguard.access_log_head),
	       count(DISTINCT id) = count(*)
	  FROM childguard.access_log}), 't|t|t|t|t',
	'the view shows every packed record once, in chain order, format 4');
is($node->safe_psql('postgres', 'SELECT valid, records_checked, records_by_format[4] = records_checked FROM childguard.verify_access_log()'),
	"t|$b[-1][1]|t", 'the packed chain verifies');

$node->safe_psql('postgres', 'CREATE EXTENSION amcheck');
is($node->safe_psql('postgres',
		q{SELECT count(*) FROM (SELECT bt_index_check('childguard.access_log_batch_pkey', true)) c}),
	'1', 'the batches are in the heap and in their primary key (amcheck, heapallindexed)');

my $mid_batch = $multi[0];
my $mid = $mid_batch->[0] + 1;    # a record inside a batch (neither end)
my ($first, $second, $last) = ($b[0], $b[1], $b[-1]);

my $fixture = PostgreSQL::Test::Utils::slurp_file("$FindBin::RealBin/../fixtures/packed_log.psql");
$fixture =~ s/^\\set ECHO.*$//mg;

# one attack, in a fresh session, rolled back: the verdict
sub attack
{
	my ($sql) = @_;
	my $out = $node->safe_psql('postgres', qq{
		BEGIN;
		UPDATE pg_trigger SET tgenabled = 'D' WHERE tgrelid = 'childguard.access_log_batch'::regclass;
		$fixture
		$sql;
		SELECT valid, broken_id, reason FROM childguard.verify_access_log();
		ROLLBACK;});
	# the verdict is the last line (the edits' own results come before)
	return (split /\n/, $out)[-1];
}

like(attack("SELECT pg_temp.flip_record_byte($mid, 24)"),
	qr/^f\|$mid\|record $mid was altered/, 'a byte edited inside a record in the middle of a batch: that record');
like(attack("SELECT pg_temp.flip_record_byte($mid, 0)"),
	qr/^f\|$mid\|record $mid was altered/, 'its statement_at edited: that record');
like(attack("SELECT pg_temp.cut_record($mid)"),
	qr/^f\|$mid\|record $mid is missing: it was deleted/, 'a record cut out of the middle of a batch: that record, deleted');
like(attack(qq{UPDATE childguard.access_log_batch
	SET packed = set_byte(packed, pg_temp.record_offset(packed, 1) + 10,
	                      get_byte(packed, pg_temp.record_offset(packed, 1) + 10) # 1)
	WHERE first_id = $mid_batch->[0]}),
	qr/^f\|$mid\|record $mid was altered/, "a byte of a record's stored hash edited: that record");
like(attack(qq{UPDATE childguard.access_log_batch
	SET packed = set_byte(packed, pg_temp.record_offset(packed, 1) + 3,
	                      get_byte(packed, pg_temp.record_offset(packed, 1) + 3) + 1)
	WHERE first_id = $mid_batch->[0]}),
	qr/^f\|$mid\|record $mid (was altered|is missing)/, "a record's length edited: that record");
like(attack("DELETE FROM childguard.access_log_batch WHERE first_id = $first->[0]"),
	qr/^f\|1\|records 1 to $first->[1] are missing: they were deleted|^f\|1\|record 1 is missing/,
	'the first batch deleted: its records, from the start');
like(attack("DELETE FROM childguard.access_log_batch WHERE first_id = $second->[0]"),
	qr/^f\|$second->[0]\|record(s)? $second->[0] (to $second->[1] are|is) missing/,
	'a batch in the middle deleted: its records');
like(attack("DELETE FROM childguard.access_log_batch WHERE first_id = $last->[0]"),
	qr/^f\|$last->[0]\|record(s)? $last->[0] .*newest/, 'the newest batch deleted: the newest records');
like(attack(qq{UPDATE childguard.access_log_batch SET first_id = -1 WHERE first_id = $first->[0];
	UPDATE childguard.access_log_batch SET first_id = $first->[0] WHERE first_id = $second->[0];
	UPDATE childguard.access_log_batch SET first_id = $second->[0] WHERE first_id = -1}),
	qr/^f\|$first->[0]\|/, 'two batches swapped: found at the first');
like(attack(qq{UPDATE childguard.access_log_batch
	SET packed = substring(packed from 1 for pg_temp.record_offset(packed, 1))
	WHERE first_id = $mid_batch->[0]}),
	qr/^f\|$mid\|records? $mid (to \d+ are|is) missing: (they were|it was) deleted/,
	"a batch's records truncated: the first one cut");
like(attack(qq{UPDATE childguard.access_log_batch
	SET packed = substring(packed from 1 for pg_temp.record_offset(packed, 1)),
	    records = 1, last_id = first_id
	WHERE first_id = $mid_batch->[0]}),
	qr/^f\|$mid_batch->[0]\|record $mid_batch->[0]'s batch was altered/,
	"a batch truncated with its bounds made to match: the batch's hash does not");
like(attack(qq{UPDATE childguard.access_log_batch
	SET first_statement_at = first_statement_at - interval '1 hour' WHERE first_id = $mid_batch->[0]}),
	qr/^f\|$mid_batch->[0]\|record $mid_batch->[0]'s batch was altered: its bounds/,
	"a batch's time bounds changed");
like(attack(qq{UPDATE childguard.access_log_batch
	SET last_id = last_id + 1 WHERE first_id = $mid_batch->[0]}),
	qr/^f\|$mid_batch->[0]\|record $mid_batch->[0]'s batch was altered: its bounds/,
	"a batch's last id changed");
like(attack(qq{UPDATE childguard.access_log_batch
	SET format_version = 3 WHERE first_id = $mid_batch->[0]}),
	qr/^f\|$mid_batch->[0]\|record $mid_batch->[0] has chain format 3 after a record of format 4/,
	"a batch's format changed");
like(attack(qq{UPDATE childguard.access_log_batch
	SET hash = sha256(hash) WHERE first_id = $last->[0]}),
	qr/^f\|$last->[1]\|record $last->[0]'s batch was altered: its hash/,
	"the newest batch's hash replaced");

# Records moved between batches, the first batch's hash recomputed as
# docs/audit.md describes: the next batch's first record no longer links.
my $a = $b[0];
my $n = $b[1];
like(attack(qq{
	CREATE FUNCTION pg_temp.batch_hash(last_hash bytea, b childguard.access_log_batch) RETURNS bytea
	  LANGUAGE sql AS \$\$ SELECT sha256(convert_to('childguard access_log v4 batch', 'UTF8') || last_hash
	    || int8send(b.first_id) || int8send(b.last_id) || int4send(b.records)
	    || timestamptz_send(b.first_statement_at) || timestamptz_send(b.last_statement_at)
	    || timestamptz_send(b.logged_at)) \$\$;
	-- the second batch's first record moved to the end of the first
	CREATE TEMP TABLE moved AS
	  SELECT substring(packed from 1 for pg_temp.record_offset(packed, 1)) AS rec,
	         substring(packed from 5 for 32) AS rec_hash
	    FROM childguard.access_log_batch WHERE first_id = $n->[0];
	UPDATE childguard.access_log_batch SET packed = packed || (SELECT rec FROM moved),
	       records = records + 1, last_id = last_id + 1
	 WHERE first_id = $a->[0];
	UPDATE childguard.access_log_batch b SET hash = pg_temp.batch_hash((SELECT rec_hash FROM moved), b)
	 WHERE first_id = $a->[0];
	UPDATE childguard.access_log_batch
	   SET packed = substring(packed from pg_temp.record_offset(packed, 1) + 1),
	       records = records - 1, first_id = first_id + 1,
	       prev_hash = (SELECT hash FROM childguard.access_log_batch WHERE first_id = $a->[0])
	 WHERE first_id = $n->[0]}),
	qr/^f\|$n->[0]\|record $n->[0] (was altered|does not link)/,
	'a record moved from one batch to the one before, that batch rehashed: the moved record');

# the SQL batch hash above is the writer's (docs/audit.md is exact)
is($node->safe_psql('postgres', q{
	CREATE FUNCTION pg_temp.batch_hash(last_hash bytea, b childguard.access_log_batch) RETURNS bytea
	  LANGUAGE sql AS $$ SELECT sha256(convert_to('childguard access_log v4 batch', 'UTF8') || last_hash
	    || int8send(b.first_id) || int8send(b.last_id) || int4send(b.records)
	    || timestamptz_send(b.first_statement_at) || timestamptz_send(b.last_statement_at)
	    || timestamptz_send(b.logged_at)) $$;
	SELECT bool_and(b.hash = pg_temp.batch_hash(l.hash, b))
	  FROM childguard.access_log_batch b JOIN childguard.access_log l ON l.id = b.last_id}),
	't', "every batch's hash is the documented one over its last record's hash and its bounds");

# no write through the view, whatever session_replication_role says
my ($ret, $out, $err) = $node->psql('postgres', q{
	SET session_replication_role = replica;
	DELETE FROM childguard.access_log WHERE id = 1;});
like($err, qr/cannot delete from "childguard.access_log"/, 'a delete through the view is refused (replica role)');
($ret, $out, $err) = $node->psql('postgres', q{
	SET session_replication_role = replica;
	UPDATE childguard.access_log SET purpose = 'x' WHERE false;});
like($err, qr/cannot update "childguard.access_log"/, 'an update through the view is refused, even of no rows');
($ret, $out, $err) = $node->psql('postgres', 'TRUNCATE childguard.access_log');
like($err, qr/cannot truncate "childguard.access_log"/, 'TRUNCATE of the view is refused');
# no row lock through the view either (PostgreSQL would lock nothing there)
($ret, $out, $err) = $node->psql('postgres',
	'SELECT count(*) FROM (SELECT id FROM childguard.access_log FOR KEY SHARE) s');
like($err, qr/cannot lock rows of "childguard.access_log"/, 'a row lock through the view is refused');
($ret, $out, $err) = $node->psql('postgres',
	'SELECT count(*) FROM (SELECT first_id FROM childguard.access_log_batch FOR UPDATE) s');
like($err, qr/cannot lock rows of "childguard.access_log_batch"/, "a row lock on the batches is refused");
is($node->safe_psql('postgres', 'SELECT valid FROM childguard.verify_access_log()'), 't',
	'the log is intact after the attacks');

# Retention purges whole batches: wait past a minute, then purge
sleep 61;
my $before = $node->safe_psql('postgres', 'SELECT last_id FROM childguard.access_log_head');
$node->append_conf('postgresql.conf', "childguard.audit_retention = 1\n");
$node->reload;
$node->safe_psql('postgres', q{SET childguard.purpose = 'regress';
	SELECT name FROM pupils WHERE id = 'p-1'; SELECT childguard.audit_wait();});
$node->poll_query_until('postgres',
	'SELECT purged_upto_id > 0 FROM childguard.access_log_head')
  or die 'retention did not purge';
is($node->safe_psql('postgres', q{
	SELECT h.purged_upto_id = $before::bigint AS upto,
	       NOT EXISTS (SELECT 1 FROM childguard.access_log_batch WHERE first_id <= h.purged_upto_id),
	       (SELECT count(*) FROM childguard.access_log) = h.last_id - h.purged_upto_id
	  FROM childguard.access_log_head h} =~ s/\$before/$before/r), 't|t|t',
	'retention purged the old batches whole, the newer record kept');
is($node->safe_psql('postgres', 'SELECT valid, records_checked FROM childguard.verify_access_log()'),
	't|1', 'the chain verifies from the purged batch\'s hash');

$node->stop;
done_testing();
