# The audit writer stores its batches without SQL (issue 12: its CPU per
# record; src/audit/audit_log_store.c): the chain head is locked and moved
# with table_tuple_lock/update, and a batch goes into the log by one
# multi-insert, its indexes and constraints maintained by hand.  What that
# path must keep doing:
#   - every record is in the heap and in both indexes (amcheck's
#     heapallindexed check of the primary key; the BRIN index finds every
#     record of the run);
#   - the head stays one row, at the last record's id and hash, across many
#     batches;
#   - the chain verifies, and an edit of one record in the middle of a
#     batch is reported naming that record (not its batch), and so is a
#     deleted one;
#   - a batch is still written after the head's row moved to another page,
#     and the head's index stays right (1.6: the writer first tries where
#     its last batch left the head, then scans);
#   - (1.6) the log's CHECK constraints, prepared once per writer process,
#     are prepared anew when they change: a changed CHECK refuses the next
#     batch of the same writer, and the restored one lets it through.
# These pass on the old SQL path too: they guard the new one (the CHECK
# test fails when the writer keeps a constraint it prepared before the
# change: checked).
use strict;
use warnings;
use FindBin;
use lib "$FindBin::RealBin/../lib";
use PostgreSQL::Test::Utils;
use Test::More;
use ChildguardNode qw(new_node);
use ChildguardLoad qw(setup_children);

my ($node) = new_node(
	'audit_writer_store',
	extra_conf => "childguard.audit_writer_idle_timeout = '1h'\n"
	  . "childguard.audit_writer_delay = '200ms'\n",
	start => 1);
# The row path (one access_log row per record) is the writer's while the
# installed SQL is older than 1.8 (from 1.8 it packs batches: TAP 116)
$node->safe_psql('postgres', "CREATE EXTENSION childguard VERSION '1.7' CASCADE");
setup_children($node, 'postgres', 20);
$node->safe_psql('postgres', 'CREATE EXTENSION IF NOT EXISTS amcheck');
$node->safe_psql('postgres', 'SELECT childguard.audit_wait()');
my $before = $node->safe_psql('postgres', 'SELECT coalesce(max(id), 0) FROM childguard.access_log');

my $reads = 400;
sub read_burst
{
	my ($tag) = @_;
	my $script = "SET application_name = '$tag';\nSET childguard.purpose = 'regress';\n";
	$script .= "SELECT name FROM students WHERE id = '" . ($_ % 20 + 1) . "';\n" for 1 .. $reads;
	$script .= "SELECT childguard.audit_wait();\n";
	my ($ret, $out, $err) = $node->psql('postgres', $script);
	is($ret, 0, "$reads audited reads ($tag)") or diag $err;
}
read_burst('store1');

my ($n, $batches) = split /\|/, $node->safe_psql('postgres', qq{
	SELECT count(*), count(DISTINCT logged_at) FROM childguard.access_log
	 WHERE id > $before AND application_name = 'store1'});
is($n, $reads, 'every read is recorded once');
cmp_ok($batches, '<', $n / 4, "in batches ($n records in $batches batches)");

# every heap tuple has its primary-key entry, and the index is sound
is($node->safe_psql('postgres',
		q{SELECT count(*) FROM (SELECT bt_index_check('childguard.access_log_pkey', true)) c}),
	'1', 'the primary key indexes every record (amcheck, heapallindexed)');
# an index scan of the primary key finds each id
is($node->safe_psql('postgres', qq{
		SET enable_seqscan = off; SET enable_bitmapscan = off;
		SELECT count(*) FROM generate_series($before + 1, $before + $reads) g(i)
		 WHERE EXISTS (SELECT 1 FROM childguard.access_log l WHERE l.id = g.i)}),
	$reads, 'an index scan of the primary key finds each record');
# the BRIN index on statement_at covers the new records
is($node->safe_psql('postgres', qq{
		SET enable_seqscan = off; SET enable_indexscan = off;
		SELECT count(*) FROM childguard.access_log
		 WHERE statement_at >= now() - interval '1 hour' AND application_name = 'store1'}),
	$reads, 'a bitmap scan through the BRIN index finds every record');

# the head: one row, at the last record
is($node->safe_psql('postgres', q{
		SELECT count(*) = 1 AND bool_and(h.last_id = l.id AND h.last_hash = l.hash)
		  FROM childguard.access_log_head h,
		       (SELECT id, hash FROM childguard.access_log ORDER BY id DESC LIMIT 1) l}),
	't', 'the head holds one row, at the last record');
is($node->safe_psql('postgres', 'SELECT valid FROM childguard.verify_access_log()'),
	't', 'the chain verifies');

# the head's row moved to another page (the guard lets no role write the
# head, so the superuser edits the catalog, as an attacker would): the
# writer must lock and update its latest version, found by its scan, and
# keep the head's index right
$node->safe_psql('postgres', q{
	UPDATE pg_trigger SET tgenabled = 'D' WHERE tgrelid = 'childguard.access_log_head'::regclass;
	DO $$ BEGIN FOR i IN 1 .. 400 LOOP
		UPDATE childguard.access_log_head SET purged_upto_id = purged_upto_id;
	END LOOP; END $$;
	UPDATE pg_trigger SET tgenabled = 'A' WHERE tgrelid = 'childguard.access_log_head'::regclass;
});
cmp_ok($node->safe_psql('postgres', 'SELECT (ctid::text::point)[0] FROM childguard.access_log_head'),
	'>', 0, 'the head row is on another page than its first');
read_burst('store2');
is($node->safe_psql('postgres', q{SELECT count(*) FROM childguard.access_log WHERE application_name = 'store2'}),
	$reads, 'the next batches are written');
is($node->safe_psql('postgres', q{
		SET enable_seqscan = off;
		SELECT count(*) FROM childguard.access_log_head WHERE one_row}),
	'1', 'the head is found through its index after the writer moved it');
is($node->safe_psql('postgres',
		q{SELECT count(*) FROM (SELECT bt_index_check('childguard.access_log_head_pkey', true)) c}),
	'1', "the head's index is sound");
is($node->safe_psql('postgres', 'SELECT valid FROM childguard.verify_access_log()'),
	't', 'the chain verifies');

# an edit of one record in the middle of a batch names that record
my $mid = $node->safe_psql('postgres', q{
	SELECT ids[array_length(ids, 1) / 2 + 1] FROM (
		SELECT array_agg(id ORDER BY id) AS ids FROM childguard.access_log
		 WHERE application_name = 'store2' GROUP BY logged_at
		HAVING count(*) >= 3 ORDER BY count(*) DESC LIMIT 1) b});
ok($mid =~ /^\d+$/, "a record in the middle of a batch: $mid");
$node->safe_psql('postgres', qq{
	UPDATE pg_trigger SET tgenabled = 'D' WHERE tgrelid = 'childguard.access_log'::regclass;
	UPDATE childguard.access_log SET rows = rows + 1 WHERE id = $mid;
});
is($node->safe_psql('postgres', 'SELECT broken_id, reason FROM childguard.verify_access_log()'),
	"$mid|record $mid was altered: its contents do not match its hash",
	'the edited record is named');
$node->safe_psql('postgres', qq{
	UPDATE childguard.access_log SET rows = rows - 1 WHERE id = $mid;
	DELETE FROM childguard.access_log WHERE id = $mid;
});
is($node->safe_psql('postgres', 'SELECT broken_id, reason FROM childguard.verify_access_log()'),
	"$mid|record $mid is missing: it was deleted",
	'a record deleted from the middle of a batch is named');

# The log's CHECK constraints are prepared once per writer process and
# reused while the relcache shows the same ones: a changed constraint must
# be the one checked at the next batch of the same writer.  The superuser
# edits the catalog (the guard refuses ALTER TABLE on the log): outcome's
# CHECK becomes one that refuses 'allowed', and the table's relcache entry
# is invalidated.  The writer's batches then fail the CHECK, record by
# record, and the records go to the server log instead; with the old CHECK
# back, records are written again.  (A cache that ignored the change would
# write the first burst; one that kept the refusing CHECK, not the second.)
my $writer = $node->safe_psql('postgres',
	q{SELECT pid FROM pg_stat_activity WHERE backend_type = 'childguard audit writer'});
$node->safe_psql('postgres', q{
	CREATE TABLE pg_temp.refusing (LIKE childguard.access_log,
		CONSTRAINT refusing_check CHECK (outcome <> 'allowed'));
	CREATE TABLE public.saved_check AS
		SELECT conbin FROM pg_constraint
		 WHERE conrelid = 'childguard.access_log'::regclass AND contype = 'c';
	UPDATE pg_constraint SET conbin = (SELECT conbin FROM pg_constraint WHERE conname = 'refusing_check')
	 WHERE conrelid = 'childguard.access_log'::regclass AND contype = 'c';
	UPDATE pg_class SET relname = relname WHERE oid = 'childguard.access_log'::regclass;
});
my $logged0 = $node->safe_psql('postgres', 'SELECT written_to_server_log FROM childguard.audit_queue_status');
my $script = "SET application_name = 'store3';\nSET childguard.purpose = 'regress';\n";
$script .= "SELECT name FROM students WHERE id = '" . ($_ % 20 + 1) . "';\n" for 1 .. 5;
$script .= "SELECT childguard.audit_wait();\n";
$node->psql('postgres', $script);
is($node->safe_psql('postgres', q{SELECT count(*) FROM childguard.access_log WHERE application_name = 'store3'}),
	'0', 'a changed CHECK constraint is the one the same writer checks');
# (each refused record is retried a few times, a second apart, before it goes there)
ok($node->poll_query_until('postgres',
		'SELECT written_to_server_log >= ' . ($logged0 + 5) . ' FROM childguard.audit_queue_status'),
	'the refused records went to the server log');
is($node->safe_psql('postgres', q{SELECT count(*) FROM childguard.access_log WHERE application_name = 'store3'}),
	'0', 'none of them is in the log');
$node->safe_psql('postgres', q{
	UPDATE pg_constraint SET conbin = (SELECT conbin FROM public.saved_check)
	 WHERE conrelid = 'childguard.access_log'::regclass AND contype = 'c';
	UPDATE pg_class SET relname = relname WHERE oid = 'childguard.access_log'::regclass;
	DROP TABLE public.saved_check;
});
$script =~ s/store3/store4/;
$node->psql('postgres', $script);
is($node->safe_psql('postgres', q{SELECT count(*) FROM childguard.access_log WHERE application_name = 'store4'}),
	'5', 'with the CHECK restored, the same writer writes again');
is($node->safe_psql('postgres',
		q{SELECT pid FROM pg_stat_activity WHERE backend_type = 'childguard audit writer'}),
	$writer, 'all along one writer process');

$node->stop;
done_testing();
