# Erasure survives restore, replicas and crashes (issue 11, items 4 and 5).
#
#   (a) erase_child() writes one line to the erasure ledger beside the
#       master key (outside the data directory, mode 0600): no child id, no
#       plaintext;
#   (b) a streaming standby replays the erasure: the rows are gone and the
#       data key destroyed there too;
#   (c) restore a base backup taken before the erasure: from server start
#       the child's values do not decrypt and nothing can be written for
#       it, the other children read as before, the compliance duty fails;
#       _reapply_ledger() erases the child again (once), without a second
#       ledger line, and the duty passes;
#   (d) kill -9 of the backend in the middle of erase_child() (an expiry
#       hook sleeping between two tables): after the crash restart the child
#       is untouched everywhere (no half-erased child, no ledger line), and
#       the erasure then completes;
#   (e) the ledger attacked: a line edited, a line removed, the file
#       removed are each reported by verify_erasure_ledger(); an unreadable
#       ledger or one configured inside the data directory refuses the
#       erasure (ZC327) and nothing changes.
# (On the code before 1.4 there is no ledger, erase_child() does not exist,
# and a restored backup reads the erased child's data.)
use strict;
use warnings;

use FindBin;
use lib "$FindBin::RealBin/../lib";

use File::Basename qw(dirname);
use File::Copy qw(copy);
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use ChildguardNode;

my $pg_config = $ENV{PG_CONFIG} // 'pg_config';
chomp(my $pkglibdir = `$pg_config --pkglibdir`);
plan skip_all => "childguard.so is not installed in $pkglibdir"
  unless -e "$pkglibdir/childguard.so";

my ($node, $keyfile) = ChildguardNode::new_node(
	'er_primary',
	allows_streaming => 1,
	extra_conf => 'restart_after_crash = on',
	start => 1);
my $keydir = dirname($keyfile);
my $ledger = "$keydir/childguard_erasure.ledger";
my @kids = ('child-ALPHA-7', 'child-BETA-8', 'child-GAMMA-9');

$node->safe_psql(
	'postgres', q{
	CREATE EXTENSION childguard CASCADE;
	SELECT childguard.register_child(c, '2014-03-01')
	  FROM unnest(ARRAY['child-ALPHA-7', 'child-BETA-8', 'child-GAMMA-9']) c;
	CREATE TABLE pupils (id text PRIMARY KEY, name childguard.child_data, note childguard.child_data);
	SELECT childguard.protect('pupils', 'id', '{"name": "name", "note": "other"}');
	CREATE TABLE marks (id text, k int, mark childguard.child_data);
	SELECT childguard.protect('marks', 'id', '{"mark": "other"}');
});
ChildguardNode::consent_all($node, 'postgres');
$node->safe_psql(
	'postgres', q{
	SET childguard.purpose = 'regress';
	INSERT INTO pupils SELECT c, 'ERMARK-NAME-' || c, 'ERMARK-NOTE-' || c
	  FROM unnest(ARRAY['child-ALPHA-7', 'child-BETA-8', 'child-GAMMA-9']) c;
	INSERT INTO marks SELECT c, k, 'ERMARK-MARK-' || c || '-' || k
	  FROM unnest(ARRAY['child-ALPHA-7', 'child-BETA-8', 'child-GAMMA-9']) c, generate_series(1, 3) k;
});

# one child's state: "pupils rows/marks rows/key destroyed (1)/erased (1)"
sub child_state
{
	my ($n, $child) = @_;
	return $n->safe_psql(
		'postgres', qq{
		SELECT (SELECT count(*) FROM pupils WHERE id = '$child') || '/' ||
		       (SELECT count(*) FROM marks WHERE id = '$child') || '/' ||
		       (SELECT bool_and(k.wrapped_key IS NULL)::int FROM childguard.data_key k
		          JOIN childguard.child c USING (subject_no) WHERE c.child_id = '$child') || '/' ||
		       (SELECT (erased_at IS NOT NULL)::int FROM childguard.child WHERE child_id = '$child')});
}

sub ledger_lines
{
	return 0 unless -e $ledger;
	my @l = split /\n/, slurp_file($ledger);
	return scalar @l;
}

# the base backup before any erasure, and a streaming standby
$node->backup('before');
my $standby = PostgreSQL::Test::Cluster->new('er_standby');
$standby->init_from_backup($node, 'before', has_streaming => 1);
$standby->start;

# ---------------------------------------------------------------------------
# (a) the erasure and its ledger line
# ---------------------------------------------------------------------------
my $erased = $node->safe_psql('postgres',
	q{SELECT childguard.erase_child('child-ALPHA-7', 'request', 'REQ-77')});
is($erased, '4', 'erase_child deleted the child\'s 4 rows (1 pupil, 3 marks)');
is(child_state($node, 'child-ALPHA-7'), '0/0/1/1', 'primary: rows gone, key destroyed, child erased');
ok(-e $ledger, 'the ledger is beside the master key, outside the data directory');
is((stat $ledger)[2] & 07777, 0600, 'the ledger is readable by the server\'s user only');
my $text = slurp_file($ledger);
is(ledger_lines(), 1, 'one line for one child');
like($text, qr/\Acgl1 1 \d+ 1 [0-9a-f]{32} \d+ request REQ-77 [0-9a-f]{16} [0-9a-f]{64}\n\z/,
	'the line: sequence, database, subject, keyed child hash, time, reason, reference, key id, mac');
unlike($text, qr/ALPHA|ERMARK/, 'no child id and no plaintext in the ledger');

# ---------------------------------------------------------------------------
# (b) the standby replays it
# ---------------------------------------------------------------------------
$node->wait_for_catchup($standby);
is(child_state($standby, 'child-ALPHA-7'), '0/0/1/1', 'standby: the erasure replayed');
is($standby->safe_psql('postgres',
		q{SET childguard.purpose = 'regress'; SELECT name FROM pupils WHERE id = 'child-BETA-8'}),
	'ERMARK-NAME-child-BETA-8', 'standby: another child reads as before');

# ---------------------------------------------------------------------------
# (c) restore the backup taken before the erasure
# ---------------------------------------------------------------------------
my $restored = PostgreSQL::Test::Cluster->new('er_restored');
$restored->init_from_backup($node, 'before');
# the same key and the same ledger (outside the restored data directory)
(my $q_key = $keyfile) =~ s/'/''/g;
(my $q_ledger = $ledger) =~ s/'/''/g;
$restored->append_conf('postgresql.conf',
	"childguard.master_key_file = '$q_key'\nchildguard.erasure_ledger_file = '$q_ledger'\n");
$restored->start;
is(child_state($restored, 'child-ALPHA-7'), '1/3/0/0',
	'restored: the backup still holds the child\'s rows and key');
is($restored->safe_psql('postgres',
		q{SELECT read_at_start, children_held FROM childguard.erasure_ledger_status}),
	't|1', 'restored: the ledger was read at start, one child held');
# a value whose key counts as destroyed shows its envelope only, as a
# shredded one does (docs/keys.md): never its plaintext
my ($ret, $out, $err) = $restored->psql('postgres',
	q{SET childguard.purpose = 'regress';
	  SELECT coalesce(name::text, 'NULL') || '/' || coalesce(note::text, 'NULL') FROM pupils WHERE id = 'child-ALPHA-7'});
like($out, qr{^cg1:[A-Za-z0-9+/=]+/cg1:[A-Za-z0-9+/=]+$}, 'restored: the erased child\'s values do not decrypt');
unlike($out . $err, qr/ERMARK/, 'restored: none of its data is shown');
($ret, $out, $err) = $restored->psql('postgres',
	q{SET childguard.purpose = 'regress';
	  SELECT count(*) FILTER (WHERE mark::text LIKE 'cg1:%') || '/' || count(*) FROM marks WHERE id = 'child-ALPHA-7'});
is($out, '3/3', 'restored: in every table');
($ret, $out, $err) = $restored->psql('postgres',
	q{SET childguard.purpose = 'regress'; SELECT count(*) FROM marks WHERE id = 'child-ALPHA-7' AND mark = 'ERMARK-MARK-child-ALPHA-7-1'});
isnt($ret, 0, 'restored: comparing its values is refused');
like($err, qr/erased/, 'restored: as values of an erased child');
($ret, $out, $err) = $restored->psql('postgres',
	q{SET childguard.purpose = 'regress'; INSERT INTO marks VALUES ('child-ALPHA-7', 9, 'new')});
isnt($ret, 0, 'restored: nothing new can be collected for the erased child');
like($err, qr/erased/, 'restored: the write is refused as for an erased child');
is($restored->safe_psql('postgres',
		q{SET childguard.purpose = 'regress'; SELECT string_agg(mark::text, ',' ORDER BY k) FROM marks WHERE id = 'child-GAMMA-9'}),
	'ERMARK-MARK-child-GAMMA-9-1,ERMARK-MARK-child-GAMMA-9-2,ERMARK-MARK-child-GAMMA-9-3',
	'restored: the other children read as before');
is($restored->safe_psql('postgres',
		q{SELECT pass::int || ' ' || array_to_string(objects, ',') FROM childguard.duty_erasure_on_request()}),
	'0 child-ALPHA-7', 'restored: the compliance duty names the child the ledger erased');

is($restored->safe_psql('postgres', q{SELECT childguard._reapply_ledger()}),
	'1', '_reapply_ledger() erases one child again');
is(child_state($restored, 'child-ALPHA-7'), '0/0/1/1', 'restored: rows gone, key destroyed, child erased');
is($restored->safe_psql('postgres', q{SELECT childguard._reapply_ledger()}),
	'0', 'a second _reapply_ledger() has nothing to do');
is(ledger_lines(), 1, 're-applying wrote no second line');
is($restored->safe_psql('postgres',
		q{SELECT pass FROM childguard.duty_erasure_on_request()}), 't',
	'restored: the duty passes again');
is($restored->safe_psql('postgres',
		q{SELECT reason || ' ' || request_ref || ' ' || whole_child::int FROM childguard.erasure_log WHERE tbl IS NULL}),
	'request REQ-77 1', 'restored: the re-applied erasure is logged with its reason and reference');
$restored->stop;

# ---------------------------------------------------------------------------
# (d) kill -9 in the middle of an erasure
# ---------------------------------------------------------------------------
$node->safe_psql(
	'postgres', q{
	CREATE FUNCTION public.slow_hook(tbl regclass, child_id text, reason text) RETURNS void
		LANGUAGE sql AS $$ SELECT pg_sleep(300) $$;
	SELECT childguard.register_expiry_hook('public.slow_hook(regclass, text, text)', 'pupils', 'after');
});
my ($first) = $node->safe_psql('postgres',
	q{SELECT min(tbl::oid)::regclass FROM childguard._protected_tables()});
is($first, 'pupils', 'pupils is erased first (then marks)');
my $bg = $node->background_psql('postgres', on_error_stop => 0);
$bg->query_until(qr/started/,
	"\\echo started\nSELECT childguard.erase_child('child-BETA-8', 'request', 'REQ-88');\n");
$node->poll_query_until('postgres',
	q{SELECT count(*) = 1 FROM pg_stat_activity WHERE wait_event = 'PgSleep'})
  or die 'the erasure did not reach the hook';
# pupils' row is deleted in the open transaction, marks not yet
my $pid = $node->safe_psql('postgres',
	q{SELECT pid FROM pg_stat_activity WHERE wait_event = 'PgSleep'});
kill 'KILL', $pid;
eval { $bg->quit };
$node->poll_query_until('postgres', 'SELECT 1', '1')
  or die 'no restart after the crash';
is(child_state($node, 'child-BETA-8'), '1/3/0/0',
	'after kill -9 mid-erasure: the child is untouched everywhere');
is($node->safe_psql('postgres',
		q{SELECT count(*) FROM childguard.erasure_log e JOIN childguard.child c USING (subject_no)
		   WHERE c.child_id = 'child-BETA-8'}), '0', 'no erasure record for it');
is($node->safe_psql('postgres', q{SELECT count(*) FROM childguard.erasure_request WHERE request_ref = 'REQ-88'}),
	'0', 'no request recorded as received');
is(ledger_lines(), 1, 'and no ledger line');
is($node->safe_psql('postgres',
		q{SET childguard.purpose = 'regress'; SELECT name FROM pupils WHERE id = 'child-BETA-8'}),
	'ERMARK-NAME-child-BETA-8', 'its data reads as before');
$node->safe_psql('postgres',
	q{SELECT childguard.unregister_expiry_hook('public.slow_hook(regclass, text, text)', 'pupils', 'after')});
is($node->safe_psql('postgres',
		q{SELECT childguard.erase_child('child-BETA-8', 'request', 'REQ-88')}),
	'4', 'the erasure, run again, completes');
is(child_state($node, 'child-BETA-8'), '0/0/1/1', 'the child is erased as a whole');
is(ledger_lines(), 2, 'its ledger line follows the first');
is($node->safe_psql('postgres', q{SELECT valid FROM childguard.verify_erasure_ledger()}),
	't', 'the ledger verifies');

# ---------------------------------------------------------------------------
# (e) the ledger attacked
# ---------------------------------------------------------------------------
my $good = slurp_file($ledger);
sub put_ledger
{
	my ($content) = @_;
	open my $fh, '>', $ledger or die "write $ledger: $!";
	print $fh $content;
	close $fh;
	chmod 0600, $ledger;
}
sub verify
{
	return $node->safe_psql('postgres',
		q{SELECT valid::int || '|' || coalesce(first_bad_line, 0) || '|' || coalesce(problem, '') || '|' || erased_not_in_ledger
		    FROM childguard.verify_erasure_ledger()});
}

# an edited line: its reference changed
(my $edited = $good) =~ s/ REQ-77 / REQ-70 /;
put_ledger($edited);
like(verify(), qr/^0\|1\|mac mismatch/, 'an edited line breaks the chain at that line');
# an edited subject number: the line now names another child
($edited = $good) =~ s/^(cgl1 1 \d+) 1 /$1 3 /;
put_ledger($edited);
like(verify(), qr/^0\|1\|mac mismatch/, 'an edited subject number breaks the chain');
# a line removed
my @lines = split /(?<=\n)/, $good;
put_ledger($lines[1]);
like(verify(), qr/^0\|1\|sequence broken.*\|2$/, 'a removed line is found (sequence broken; neither child counts as in the ledger)');
# the whole file removed
unlink $ledger;
like(verify(), qr/^0\|0\|2 children erased in this database are missing from the ledger.*\|2$/,
	'a removed ledger is found (every erased child missing)');
put_ledger($good);
is(verify(), '1|0||0', 'the ledger put back verifies');

# unreadable: the erasure is refused and nothing changes
chmod 0000, $ledger;
SKIP:
{
	skip 'running as root: file modes do not stop us', 3 if $> == 0;
	($ret, $out, $err) = $node->psql('postgres',
		q{SELECT childguard.erase_child('child-GAMMA-9', 'request', 'REQ-99')});
	isnt($ret, 0, 'an unwritable ledger refuses the erasure');
	like($err, qr/could not open erasure ledger/, 'saying the ledger cannot be written');
	is(child_state($node, 'child-GAMMA-9'), '1/3/0/0', 'and nothing changed');
}
chmod 0600, $ledger;

# inside the data directory: refused, like a master key there
my $inside = $node->data_dir . '/ledger_inside';
$node->append_conf('postgresql.conf', "childguard.erasure_ledger_file = '$inside'\n");
$node->reload;
$node->poll_query_until('postgres',
	q{SELECT current_setting('childguard.erasure_ledger_file') LIKE '%ledger_inside'})
  or die 'reload did not take effect';
($ret, $out, $err) = $node->psql('postgres',
	q{SELECT childguard.erase_child('child-GAMMA-9', 'request', 'REQ-99')});
isnt($ret, 0, 'a ledger inside the data directory refuses the erasure');
like($err, qr/inside the data directory/, 'saying why');
is(child_state($node, 'child-GAMMA-9'), '1/3/0/0', 'and nothing changed');
ok(!-e $inside, 'no ledger was written inside the data directory');

$standby->stop;
$node->stop;
done_testing();
