# Master-key rotation is invisible to readers (issue 9, item 3), and it is
# crash-safe.
#
#   (a) one statement spans the whole rotation: it decrypts half of its rows
#       under key A, stops at a gate, and meanwhile the configuration moves
#       to B (previous A) and is reloaded, rotate_master_key() rewraps every
#       data key under B, and the previous key is taken out of the
#       configuration again.  The statement's backend applies none of these
#       reloads (SIGHUP is processed between statements); it must still
#       decrypt the other half (data keys now wrapped by B) and succeed, and
#       its audit record names all 40 children as read.  The same for a
#       comparison (WHERE name = ...) and a plaintext COPY TO.
#   (b) a failed read never names, in its error record, a child whose value
#       it did not decrypt: a data key wrapped by an unknown master key, and
#       a tampered value after three good ones.
#   (c) kill -9 of the backend in the middle of rotate_master_key() (after
#       it rewrapped part of the keys, blocked on a row lock): after crash
#       recovery every value reads back; a second rotation completes; the
#       old key can then go.
#   (d) a data key written under the old key by a transaction still open
#       when the rotation starts is rewrapped too (the rotation waits for
#       it); a rotation on an older snapshot (REPEATABLE READ) is refused.
#   (e) a statement that began before the reload and registers children
#       after the rotation committed wraps their keys under the new key.
use strict;
use warnings;

use FindBin;
use lib "$FindBin::RealBin/../lib";

use File::Basename qw(dirname);
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use ChildguardNode;

my $pg_config = $ENV{PG_CONFIG} // 'pg_config';
chomp(my $pkglibdir = `$pg_config --pkglibdir`);
plan skip_all => "childguard.so is not installed in $pkglibdir"
  unless -e "$pkglibdir/childguard.so";

my $n = 40;
my ($node, $key_a) = ChildguardNode::new_node('rot', start => 1,
	extra_conf => 'restart_after_crash = on');
my $keydir = dirname($key_a);

# Replace every childguard key setting in postgresql.conf, reload, and wait
# until new sessions see the new master_key_file.
sub set_keys_and_reload
{
	my (%k) = @_;
	for my $s (
		qw(master_key_file master_key_command previous_master_key_file
		previous_master_key_command))
	{
		$node->adjust_conf('postgresql.conf', "childguard.$s", undef);
	}
	my $conf = '';
	$conf .= "childguard.master_key_file = '$k{file}'\n" if $k{file};
	$conf .= "childguard.previous_master_key_file = '$k{previous}'\n"
	  if $k{previous};
	$node->append_conf('postgresql.conf', $conf);
	$node->reload;
	$node->poll_query_until('postgres',
		"SELECT current_setting('childguard.master_key_file') = '$k{file}'")
	  or die 'reload did not take effect';
	return;
}

$node->safe_psql(
	'postgres', qq{
	CREATE EXTENSION childguard CASCADE;
	SELECT childguard.register_child(i::text, '2014-03-01')
	  FROM generate_series(1, $n) i;
	CREATE TABLE students (id bigint PRIMARY KEY,
	                       name childguard.child_data,
	                       school childguard.child_data);
	SELECT childguard.protect('students', 'id', '{"name":"name","school":"school"}');
	-- blocks the reading statement at row 21 while the test holds the lock
	CREATE FUNCTION gate(i bigint) RETURNS boolean LANGUAGE plpgsql AS \$\$
	BEGIN
		IF i = 21 THEN PERFORM pg_advisory_xact_lock_shared(4242); END IF;
		RETURN true;
	END \$\$;
	CREATE FUNCTION gate_at(i bigint, at bigint) RETURNS boolean LANGUAGE plpgsql AS \$\$
	BEGIN
		IF i = at THEN PERFORM pg_advisory_xact_lock_shared(4242); END IF;
		RETURN true;
	END \$\$;
});
ChildguardNode::consent_all($node, 'postgres');
$node->safe_psql(
	'postgres', qq{
	SET childguard.purpose = 'regress';
	INSERT INTO students SELECT i, 'name ' || i, 'school ' || i
	  FROM generate_series(1, $n) i ORDER BY i;
});
my $expected = join("\n", map { "$_|name $_|school $_" } 1 .. $n);
my $read_sql = q{SET childguard.purpose = 'regress';
	SELECT id, name, school FROM students ORDER BY id};
is($node->safe_psql('postgres', $read_sql), $expected, 'written and read under key A');
my $subjects = $node->safe_psql('postgres',
	q{SELECT string_agg(subject_no::text, ',' ORDER BY subject_no) FROM childguard.data_key});

# ---------------------------------------------------------------------------
# (a) One statement spanning reload, rotation and the second reload.
# ---------------------------------------------------------------------------
my $ctl = $node->background_psql('postgres');
$ctl->query_safe('SELECT pg_advisory_lock(4242)');

my $reader = $node->background_psql('postgres', on_error_stop => 0);
$reader->query_safe(q{SET childguard.purpose = 'regress'});
$reader->query_safe(q{\set VERBOSITY verbose});
my $reader_pid = $reader->query_safe('SELECT pg_backend_pid()');
# heap order is insertion order: rows 1..20 are decrypted and sent, then
# the statement waits in gate(21)
$reader->{stdin} .= "SELECT id, name, school FROM students WHERE gate(id);\n";
$reader->{run}->pump_nb();
# two more routes that decrypt: comparison (WHERE name = ...) and a
# plaintext COPY TO under the assessed transfer purpose
my $comparer = $node->background_psql('postgres', on_error_stop => 0);
$comparer->query_safe(q{SET childguard.purpose = 'regress'});
$comparer->query_safe(q{\set VERBOSITY verbose});
my $comparer_pid = $comparer->query_safe('SELECT pg_backend_pid()');
$comparer->{stdin} .=
  "SELECT count(*) FROM students WHERE gate(id) AND name = ('name ' || id)::childguard.child_data;\n";
$comparer->{run}->pump_nb();
my $copier = $node->background_psql('postgres', on_error_stop => 0);
$copier->query_safe(q{SET childguard.purpose = 'regress_transfer'});
$copier->query_safe(q{\set VERBOSITY verbose});
my $copier_pid = $copier->query_safe('SELECT pg_backend_pid()');
$copier->{stdin} .=
  "COPY (SELECT id, name, school FROM students WHERE gate(id)) TO STDOUT WITH (DELIMITER '|');\n";
$copier->{run}->pump_nb();
$node->poll_query_until('postgres', qq{
	SELECT count(*) = 3 FROM pg_locks
	 WHERE locktype = 'advisory' AND NOT granted
	   AND pid IN ($reader_pid, $comparer_pid, $copier_pid)})
  or die 'the reading statements did not reach the gate';

my $key_b = ChildguardNode::write_key("$keydir/master_b.key");
set_keys_and_reload(file => $key_b, previous => $key_a);
is($node->safe_psql('postgres', 'SELECT childguard.rotate_master_key()'),
	$n, 'rotation while the statement runs: every data key rewrapped under B');
set_keys_and_reload(file => $key_b);
is( $node->safe_psql('postgres',
		q{SELECT count(*) FROM childguard.master_key_status WHERE NOT is_current}),
	0, 'no data key is left under A, and A is no longer configured');

$ctl->query_safe('SELECT pg_advisory_unlock(4242)');
my ($out, $failed) = $reader->query(q{SELECT 'end of statement'});
my $stderr = $reader->{stderr};
ok(!$failed, 'the statement spanning the rotation succeeds')
  or diag($stderr);
is($out, "$expected\nend of statement",
	'it returns every row in plaintext, before and after the rotation');
unlike($stderr, qr/ZC00[12]/, 'no key error');
($out, $failed) = $comparer->query(q{SELECT 'end of statement'});
ok(!$failed, 'comparison route: the statement spanning the rotation succeeds')
  or diag($comparer->{stderr});
is($out, "$n\nend of statement", '... and every comparison matched');
($out, $failed) = $copier->query(q{SELECT 'end of statement'});
ok(!$failed, 'COPY TO route: the statement spanning the rotation succeeds')
  or diag($copier->{stderr});
is($out, "$expected\nend of statement", '... and copied every row in plaintext');
$comparer->quit;
$copier->quit;

$reader->query_safe('SELECT childguard.audit_wait()');
is( $node->safe_psql(
		'postgres', qq{
	SELECT outcome || ' ' || array_to_string(children_read, ',')
	  FROM childguard.access_log
	 WHERE backend_pid = $reader_pid AND command = 'SELECT'
	 ORDER BY id DESC LIMIT 1}),
	"allowed $subjects",
	'its audit record names all 40 children as read');

# The same session, after its own reload, and a new session read too.
is($reader->query_safe('SELECT id, name, school FROM students ORDER BY id'),
	$expected, 'the same session reads everything afterwards');
is($node->safe_psql('postgres', $read_sql), $expected,
	'a new session reads everything under B alone');
$reader->quit;

# ---------------------------------------------------------------------------
# (b) An error record names no child that was not decrypted.
# ---------------------------------------------------------------------------
sub last_record
{
	my ($pid) = @_;
	return $node->safe_psql(
		'postgres', qq{
	SELECT outcome || '|' || coalesce(sqlstate, '') || '|' ||
	       array_to_string(children_read, ',') || '|' ||
	       array_to_string(children_denied, ',')
	  FROM childguard.access_log
	 WHERE backend_pid = $pid ORDER BY id DESC LIMIT 1});
}

my $key_c = ChildguardNode::write_key("$keydir/master_c.key");
set_keys_and_reload(file => $key_c);
my $s = $node->background_psql('postgres', on_error_stop => 0);
my $pid = $s->query_safe('SELECT pg_backend_pid()');
$s->query_safe(q{SET childguard.purpose = 'regress'});
($out, $failed) = $s->query(q{\set VERBOSITY verbose
SELECT name FROM students WHERE id = 5});
ok($failed, 'unknown master key: the read fails');
like($s->{stderr}, qr/ZC002/, '... with ZC002');
$s->{stderr} = '';
$s->query_safe('SELECT childguard.audit_wait()');
is(last_record($pid), 'error|ZC002||',
	'... and its error record names no child as read');

set_keys_and_reload(file => $key_b);
# Tamper with the ciphertext of child 4's name (one bit of the GCM tag).
$node->safe_psql(
	'postgres', q{
	UPDATE students
	   SET name = ('cg1:' || translate(encode(
	           set_byte(b, length(b) - 1, get_byte(b, length(b) - 1) # 1),
	           'base64'), E'\n', ''))::childguard.child_data
	  FROM (SELECT decode(substr(childguard.envelope(name), 5), 'base64') AS b
	          FROM students WHERE id = 4) t
	 WHERE id = 4});
$s->query_safe(q{SELECT 1});    # the session applies the reload
($out, $failed) =
  $s->query(q{SELECT id, name FROM students WHERE id <= 6 ORDER BY id});
ok($failed, 'tampered value: the read fails');
like($s->{stderr}, qr/ZC003/, '... with ZC003');
$s->{stderr} = '';
$s->query_safe('SELECT childguard.audit_wait()');
my @sub = split /,/, $subjects;
is(last_record($pid), "error|ZC003|$sub[0],$sub[1],$sub[2]|",
	'... and its error record names the three children read, not the fourth');
$s->quit;
$node->safe_psql(
	'postgres', q{
	SET childguard.purpose = 'regress';
	UPDATE students SET name = 'name 4' WHERE id = 4});

# ---------------------------------------------------------------------------
# (c) kill -9 in the middle of a rotation.
# ---------------------------------------------------------------------------
my $key_d = ChildguardNode::write_key("$keydir/master_d.key");
set_keys_and_reload(file => $key_d, previous => $key_b);
my $id_b = $node->safe_psql('postgres',
	q{SELECT encode(childguard.master_key_id(true), 'hex')});

# hold a row lock on a data key in the middle of the table
my $locker = $node->background_psql('postgres', on_error_stop => 0);
$locker->query_safe(q{BEGIN});
my $locked = $locker->query_safe(
	q{SELECT subject_no FROM childguard.data_key ORDER BY ctid OFFSET 20 LIMIT 1 FOR UPDATE});

my $rotator = $node->background_psql('postgres', on_error_stop => 0);
my $rot_pid = $rotator->query_safe('SELECT pg_backend_pid()');
$rotator->{stdin} .= "SELECT childguard.rotate_master_key();\n";
$rotator->{run}->pump_nb();
$node->poll_query_until('postgres', qq{
	SELECT wait_event_type = 'Lock' FROM pg_stat_activity WHERE pid = $rot_pid})
  or die 'the rotation did not block on the row lock';
ok(kill('KILL', $rot_pid), 'kill -9 of the backend in the middle of the rotation');
$node->poll_query_until('postgres', 'SELECT 1', '1')
  or die 'the server did not come back';
# both psql clients lost their server: reap them, ignoring the broken pipe
eval { $rotator->quit };
eval { $locker->quit };

is($node->safe_psql('postgres', $read_sql), $expected,
	'after the crash: every value reads back');
is( $node->safe_psql(
		'postgres', q{
	SELECT encode(master_key_id, 'hex') || '|' || live_keys FROM childguard.master_key_status}),
	"$id_b|$n",
	'after the crash: the rotation left no trace, every key still under B');
is($node->safe_psql('postgres', 'SELECT childguard.rotate_master_key()'),
	$n, 'a second rotation completes');
set_keys_and_reload(file => $key_d);
$node->restart;
is($node->safe_psql('postgres', $read_sql), $expected,
	'restart with key D alone: every value reads back');

# ---------------------------------------------------------------------------
# (d) A data key written concurrently is not left behind: a transaction
#     that wrapped a new child's key under the old key (before the reload)
#     and commits while the rotation runs.  The rotation waits for it and
#     rewraps that key too; and it refuses to run on an older snapshot.
# ---------------------------------------------------------------------------
my $writer = $node->background_psql('postgres');
$writer->query_safe(q{BEGIN});
$writer->query_safe(q{SELECT childguard.register_child('41', '2014-03-01')});
my $key_e = ChildguardNode::write_key("$keydir/master_e.key");
set_keys_and_reload(file => $key_e, previous => $key_d);

my ($ret, $rr_out, $rr_err) = $node->psql('postgres',
	q{BEGIN ISOLATION LEVEL REPEATABLE READ; SELECT childguard.rotate_master_key();},
	extra_params => [ '-v', 'VERBOSITY=verbose' ]);
like($rr_err, qr/ZC046.*cannot rotate the master key in a REPEATABLE READ transaction/s,
	'rotation refuses to run in a REPEATABLE READ transaction (ZC046)');

my $rot2 = $node->background_psql('postgres');
my $rot2_pid = $rot2->query_safe('SELECT pg_backend_pid()');
$rot2->{stdin} .= "SELECT 'rewrapped ' || childguard.rotate_master_key();\n";
$rot2->{run}->pump_nb();
$node->poll_query_until('postgres', qq{
	SELECT wait_event_type = 'Lock' FROM pg_stat_activity WHERE pid = $rot2_pid})
  or die 'the rotation did not wait for the writer';
pass('the rotation waits for a transaction writing a data key');
$writer->query_safe(q{COMMIT});
my $rot2_out = $rot2->query_safe(q{SELECT 'done'});
is($rot2_out, 'rewrapped ' . ($n + 1) . "\ndone",
	'it then rewraps every key, the concurrently written one included');
is( $node->safe_psql('postgres',
		q{SELECT count(*) FROM childguard.master_key_status WHERE NOT is_current}),
	0, 'no data key is left under the old key');
$rot2->quit;
$writer->quit;
set_keys_and_reload(file => $key_e);
$node->restart;
is($node->safe_psql('postgres', $read_sql), $expected,
	'restart with key E alone: every value reads back');

# ---------------------------------------------------------------------------
# (e) A statement that began before the reload and registers children only
#     after the rotation committed (and after the old key left the
#     configuration) wraps their data keys under the rotation's key, not
#     under the key its own settings still name.
# ---------------------------------------------------------------------------
$ctl = $node->background_psql('postgres');
$ctl->query_safe('SELECT pg_advisory_lock(4242)');
my $late = $node->background_psql('postgres', on_error_stop => 0);
my $late_pid = $late->query_safe('SELECT pg_backend_pid()');
$late->{stdin} .= "SELECT count(childguard.register_child(i::text, '2014-03-01'))
	FROM generate_series(50, 59) i WHERE gate_at(i, 50);\n";
$late->{run}->pump_nb();
$node->poll_query_until('postgres', qq{
	SELECT count(*) = 1 FROM pg_locks
	 WHERE locktype = 'advisory' AND NOT granted AND pid = $late_pid})
  or die 'the registering statement did not reach the gate';
my $key_f = ChildguardNode::write_key("$keydir/master_f.key");
set_keys_and_reload(file => $key_f, previous => $key_e);
is($node->safe_psql('postgres', 'SELECT childguard.rotate_master_key()'),
	$n + 1, 'rotation to F while a registering statement waits');
set_keys_and_reload(file => $key_f);
$ctl->query_safe('SELECT pg_advisory_unlock(4242)');
($out, $failed) = $late->query(q{SELECT 'end of statement'});
ok(!$failed, 'the registering statement completes') or diag($late->{stderr});
is($out, "10\nend of statement", '... registering 10 children');
is( $node->safe_psql('postgres',
		q{SELECT count(*) FROM childguard.master_key_status WHERE NOT is_current}),
	0, 'their data keys are wrapped under F, not under the key the statement began with');
$late->quit;
$ctl->quit;
$node->restart;
ChildguardNode::consent_all($node, 'postgres');
is( $node->safe_psql(
		'postgres', q{
	SET childguard.purpose = 'regress';
	INSERT INTO students VALUES (50, 'name 50', 'school 50');
	SELECT name FROM students WHERE id = 50}),
	'name 50', 'with F alone, data is written and read for one of them');

# No key's hex in the server log.
my $log = slurp_file($node->logfile);
for my $f ($key_a, $key_b, $key_c, $key_d, $key_e, $key_f)
{
	chomp(my $hex = slurp_file($f));
	unlike($log, qr/\Q$hex\E/i, "the key in " . File::Basename::basename($f) . " is not in the log");
}

$node->stop;
done_testing();
