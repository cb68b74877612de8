# Acceptance (issue 2, "master key"): where the key comes from, what the
# server does when it is unusable, online rotation, and a wrong key.
#
#   (a) key file missing            -> the server refuses to start, the log
#                                      names the file
#   (b) key file mode 0644          -> refuses to start: group or world access
#   (c) malformed key (63 hex)      -> refuses to start: "does not hold a valid
#                                      key", and the file's content is not logged
#   (d) key file inside PGDATA      -> refuses to start (also via a symlink)
#   (e) master_key_command          -> works; file and command both set ->
#                                      refuses to start; a failing command too
#   (f) online rotation A -> B      -> reload only; an existing session and new
#                                      sessions keep reading; rotate_master_key()
#                                      rewraps every live data key; then the
#                                      previous key can go away
#   (g) wrong key C                 -> reading plaintext fails with ZC002,
#                                      reading envelopes still works
#   (h) no key configured           -> the server starts with a warning;
#                                      child data cannot be stored or read (ZC001)
#   and no key's hex ever appears in the server log.
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

my $hex_a = ChildguardNode::random_key_hex();
my ($node, $key_a) = ChildguardNode::new_node('mk', key_hex => $hex_a);
my $keydir  = dirname($key_a);    # outside PGDATA, mode 0700
my $datadir = $node->data_dir;

# set_keys(file => ..., command => ..., previous_file => ...,
# previous_command => ...): replace every childguard key setting in
# postgresql.conf with the given ones.
my %setting_of = (
	file             => 'childguard.master_key_file',
	command          => 'childguard.master_key_command',
	previous_file    => 'childguard.previous_master_key_file',
	previous_command => 'childguard.previous_master_key_command');

sub set_keys
{
	my (%k) = @_;
	$node->adjust_conf('postgresql.conf', $_, undef) for values %setting_of;
	my $conf = '';
	for my $name (sort keys %k)
	{
		my $setting = $setting_of{$name} or die "set_keys: unknown $name";
		(my $v = $k{$name}) =~ s/'/''/g;
		$conf .= "$setting = '$v'\n";
	}
	$node->append_conf('postgresql.conf', $conf);
	return;
}

# start_fails($what, $log_re, %opts): the server must refuse to start, and
# the log written by this attempt must match $log_re.  Returns that log.
sub start_fails
{
	my ($what, $log_re) = @_;
	my $offset = -s $node->logfile // 0;
	my $started = $node->start(fail_ok => 1);
	ok(!$started, "$what: the server refuses to start");
	$node->stop if $started;    # keep going with a sane state
	my $log = slurp_file($node->logfile, $offset);
	like($log, $log_re, "$what: the log says why");
	return $log;
}

# psql_err($sql): run $sql expecting an error; returns (exit code, stderr)
# with VERBOSITY verbose so stderr carries the SQLSTATE.
sub psql_err
{
	my ($sql, $db) = @_;
	my ($ret, $out, $err) = $node->psql($db // 'postgres', $sql,
		extra_params => [ '-v', 'VERBOSITY=verbose' ]);
	return ($ret, $err, $out);
}

my $read_sql = q{SET childguard.purpose = 'regress';
	SELECT id, name, school FROM students ORDER BY id};
my $expected_rows = join("\n",
	map { "$_|name $_|school $_" } 1 .. 20);

# ---------------------------------------------------------------------------
# Data written under key A.
# ---------------------------------------------------------------------------
$node->start;
$node->safe_psql(
	'postgres', q{
	CREATE EXTENSION childguard CASCADE;
	SELECT childguard.register_child(i::text, '2014-03-01')
	  FROM generate_series(1, 20) i;
	CREATE TABLE students (id bigint PRIMARY KEY,
	                       name childguard.child_data,
	                       school childguard.child_data);
	SELECT childguard.protect('students', 'id', '{"name":"name","school":"school"}');
});
ChildguardNode::consent_all($node, 'postgres');
$node->safe_psql(
	'postgres', q{
	SET childguard.purpose = 'regress';
	INSERT INTO students SELECT i, 'name ' || i, 'school ' || i
	  FROM generate_series(1, 20) i;
});
is($node->safe_psql('postgres', $read_sql),
	$expected_rows, 'key A: data written and read back');
my $id_a = $node->safe_psql('postgres',
	q{SELECT encode(childguard.master_key_id(), 'hex')});
like($id_a, qr/^[0-9a-f]+$/, 'key A has a fingerprint');
$node->stop;

# ---------------------------------------------------------------------------
# (a) The key file is missing.
# ---------------------------------------------------------------------------
my $missing = "$keydir/missing.key";
set_keys(file => $missing);
start_fails('missing key file',
	qr/could not access master key file "\Q$missing\E": No such file/);

# ---------------------------------------------------------------------------
# (b) The key file is readable by group and others.
# ---------------------------------------------------------------------------
my $loose = ChildguardNode::write_key("$keydir/loose.key", $hex_a);
chmod 0644, $loose or die "chmod: $!";
set_keys(file => $loose);
start_fails('key file mode 0644',
	qr/master key file "\Q$loose\E" has group or world access/);
chmod 0640, $loose or die "chmod: $!";
start_fails('key file mode 0640 (owned by the server user)',
	qr/master key file "\Q$loose\E" has group or world access/);

# ---------------------------------------------------------------------------
# (c) Malformed content: 63 hex digits.  The message must not echo it.
# ---------------------------------------------------------------------------
my $hex_63 = substr(ChildguardNode::random_key_hex(), 0, 63);
my $short = ChildguardNode::write_key("$keydir/short.key", $hex_63);
set_keys(file => $short);
my $log = start_fails('63 hex digits',
	qr/master key file "\Q$short\E" does not hold a valid key/);
unlike($log, qr/\Q$hex_63\E/, '63 hex digits: the content is not logged');
unlike($log, qr/\Q${\ substr($hex_63, 0, 16)}\E/,
	'63 hex digits: not even a part of the content is logged');

# Other malformed shapes: 64 chars that are not all hex, and a key followed
# by a second line.
my $nonhex = ChildguardNode::write_key("$keydir/nonhex.key",
	substr($hex_a, 0, 63) . 'g');
set_keys(file => $nonhex);
start_fails('64 chars, one not hex',
	qr/master key file "\Q$nonhex\E" does not hold a valid key/);
my $twolines = ChildguardNode::write_key("$keydir/twolines.key",
	"$hex_a\n$hex_a");
set_keys(file => $twolines);
start_fails('a key followed by more text',
	qr/master key file "\Q$twolines\E" does not hold a valid key/);

# ---------------------------------------------------------------------------
# (d) The key file is inside the data directory (directly, or as the
#     target of a symlink kept outside it).
# ---------------------------------------------------------------------------
my $inside = ChildguardNode::write_key("$datadir/master.key", $hex_a);
set_keys(file => $inside);
start_fails('key file inside the data directory',
	qr/master key file "\Q$inside\E" is inside the data directory/);
my $link = "$keydir/link.key";
symlink($inside, $link) or die "symlink: $!";
set_keys(file => $link);
start_fails('symlink to a key file inside the data directory',
	qr/master key file "\Q$link\E" is inside the data directory/);
unlink $link, $inside;

# ---------------------------------------------------------------------------
# (e) master_key_command.
# ---------------------------------------------------------------------------
set_keys(command => "cat '$key_a'");
$node->start;
is($node->safe_psql('postgres', $read_sql),
	$expected_rows, 'master_key_command printing key A: data reads back');
is( $node->safe_psql('postgres',
		q{SELECT encode(childguard.master_key_id(), 'hex')}),
	$id_a,
	'master_key_command: same fingerprint as the key file');
$node->stop;

set_keys(file => $key_a, command => "cat '$key_a'");
start_fails('both master_key_file and master_key_command',
	qr/both "childguard.master_key_file" and "childguard.master_key_command" are set/
);

set_keys(command => 'exit 3');
start_fails('a failing master_key_command',
	qr/master key command from "childguard.master_key_command" failed/);

set_keys(command => "printf '%s' '" . substr($hex_a, 0, 62) . "'");
start_fails('a master_key_command printing a short key',
	qr/did not print a valid key/);

# ---------------------------------------------------------------------------
# (f) Online rotation A -> B.
# ---------------------------------------------------------------------------
set_keys(file => $key_a);
$node->start;

# An existing session, open (and having read) across the whole rotation.
my $session = $node->background_psql('postgres');
$session->query_safe(q{SET childguard.purpose = 'regress'});
my $session_read = q{SELECT id, name, school FROM students ORDER BY id};
is($session->query_safe($session_read),
	$expected_rows, 'existing session: reads under key A');

my $hex_b = ChildguardNode::random_key_hex();
my $key_b = ChildguardNode::write_key("$keydir/master_b.key", $hex_b);
# A blind index (security.md section 13) made under A: its key is wrapped
# by A, and rotate_master_key() must rewrap it too.
$node->safe_psql('postgres', q{SELECT childguard.enable_blind_index('students', 'name')});
set_keys(file => $key_b, previous_file => $key_a);
$node->reload;
$node->poll_query_until('postgres',
	q{SELECT current_setting('childguard.master_key_file') LIKE '%master_b.key'})
  or die 'reload did not take effect';

my $id_b = $node->safe_psql('postgres',
	q{SELECT encode(childguard.master_key_id(), 'hex')});
isnt($id_b, $id_a, 'after reload: the current key is B');
is( $node->safe_psql('postgres',
		q{SELECT encode(childguard.master_key_id(true), 'hex')}),
	$id_a,
	'after reload: the previous key is A');

is($session->query_safe($session_read),
	$expected_rows, 'existing session: reads after the reload (A is previous)');
is($node->safe_psql('postgres', $read_sql),
	$expected_rows, 'new session: reads data keys wrapped by A');

# A child registered now gets a data key wrapped by B, and can be written.
$node->safe_psql(
	'postgres', q{
	SELECT childguard.register_child('21', '2014-03-01');});
ChildguardNode::consent_all($node, 'postgres');
$node->safe_psql(
	'postgres', q{
	SET childguard.purpose = 'regress';
	INSERT INTO students VALUES (21, 'name 21', 'school 21');});
$expected_rows .= "\n21|name 21|school 21";
is( $node->safe_psql(
		'postgres', q{
	SELECT encode(master_key_id, 'hex'), is_current, live_keys, destroyed_keys
	  FROM childguard.master_key_status ORDER BY is_current}),
	"$id_a|f|20|0\n$id_b|t|1|0",
	'before rotating: 20 keys under A, 1 under B');

my $live_not_current = $node->safe_psql(
	'postgres', q{
	SELECT count(*) FROM childguard.data_key
	 WHERE wrapped_key IS NOT NULL
	   AND master_key_id <> childguard.master_key_id()});
is( $node->safe_psql('postgres', 'SELECT childguard.rotate_master_key()'),
	$live_not_current,
	'rotate_master_key() returns the number of live keys it rewrapped');
is($live_not_current, 20, '... which is the 20 keys wrapped by A');
is( $node->safe_psql(
		'postgres', q{
	SELECT encode(master_key_id, 'hex'), is_current, live_keys
	  FROM childguard.master_key_status}),
	"$id_b|t|21",
	'after rotating: every data key is under B (is_current)');
is($node->safe_psql('postgres', 'SELECT childguard.rotate_master_key()'),
	0, 'a second rotation has nothing left to do');

is($session->query_safe($session_read),
	$expected_rows, 'existing session: reads after the rotation');
is($node->safe_psql('postgres', $read_sql),
	$expected_rows, 'new session: reads after the rotation');
$session->quit;

# The previous key goes away; a restart with B alone reads everything.
set_keys(file => $key_b);
$node->restart;
is($node->safe_psql('postgres',
		q{SELECT childguard.master_key_id(true) IS NULL}),
	't', 'restart without the previous key: none configured');
is($node->safe_psql('postgres', $read_sql),
	$expected_rows, 'restart with key B only: all data reads back');
is( $node->safe_psql(
		'postgres', q{
	SELECT count(*) FROM childguard.blind_index
	 WHERE substr(wrapped_key, 1, 8) <> childguard.master_key_id()}),
	'0', 'the rotation rewrapped the blind-index key under B');
# a write under B alone hashes with the rewrapped key: the same value as a
# row hashed under A gets the same hash, so the index stays valid (the
# lookup itself is tested as a reader without BYPASSRLS in regress
# blind_index; a superuser's statements compare every row)
is( $node->safe_psql(
		'postgres', q{
	SET childguard.purpose = 'regress';
	UPDATE students SET name = 'name 3' WHERE id = 21;
	SELECT (SELECT name_blind FROM students WHERE id = 3) = (SELECT name_blind FROM students WHERE id = 21)
	   AND (SELECT name_blind FROM students WHERE id = 3) <> (SELECT name_blind FROM students WHERE id = 4)}),
	't', 'restart with key B only: a value written now hashes as the same value written under A');
$node->safe_psql('postgres', q{SET childguard.purpose = 'regress';
	UPDATE students SET name = 'name 21' WHERE id = 21});
# (the checks below are of data keys alone)
$node->safe_psql('postgres', q{SELECT childguard.disable_blind_index('students', 'name')});

# A reload that breaks the key does not stop the server: new sessions get an
# ordinary error (ZC001), and repairing the setting repairs them.
set_keys(file => $missing);
$node->reload;
$node->poll_query_until('postgres',
	q{SELECT current_setting('childguard.master_key_file') LIKE '%missing.key'})
  or die 'reload did not take effect';
my ($ret, $err) = psql_err($read_sql);
isnt($ret, 0, 'reload to a missing key file: reading fails');
like($err, qr/ZC001.*could not access master key file/s,
	'... with ZC001 naming the file');
set_keys(file => $key_b);
$node->reload;
$node->poll_query_until('postgres',
	q{SELECT current_setting('childguard.master_key_file') LIKE '%master_b.key'})
  or die 'reload did not take effect';
is($node->safe_psql('postgres', $read_sql),
	$expected_rows, 'reload back to key B: reads work again');
$node->stop;

# ---------------------------------------------------------------------------
# (g) The wrong key: C, which wrapped none of the data keys, no previous.
# ---------------------------------------------------------------------------
my $hex_c = ChildguardNode::random_key_hex();
my $key_c = ChildguardNode::write_key("$keydir/master_c.key", $hex_c);
set_keys(file => $key_c);
$node->start;
($ret, $err) = psql_err($read_sql);
isnt($ret, 0, 'wrong key: reading plaintext fails');
like($err, qr/ERROR:\s+ZC002/, '... with SQLSTATE ZC002');
like($err, qr/wrapped by a master key that is not configured/,
	'... saying the data key was wrapped by another master key');
is( $node->safe_psql(
		'postgres', q{
	SELECT count(*) FROM students
	 WHERE name::text LIKE 'cg1:%' AND school::text LIKE 'cg1:%'}),
	21,
	'wrong key: without a purpose every value still reads as an envelope');
($ret, $err) = psql_err(
	q{SET childguard.purpose = 'regress';
	  INSERT INTO students VALUES (1, 'x', 'y')
	  ON CONFLICT (id) DO UPDATE SET name = excluded.name});
isnt($ret, 0, 'wrong key: writing for a child whose key is under B fails');
like($err, qr/ZC002/, '... with ZC002');
$node->stop;

# ---------------------------------------------------------------------------
# (h) No key configured at all (docs/keys.md): the server starts with a
#     warning, and storing or reading child data fails with ZC001.
# ---------------------------------------------------------------------------
set_keys();
my $offset = -s $node->logfile;
$node->start;
like(slurp_file($node->logfile, $offset),
	qr/WARNING:\s+childguard has no master key configured/,
	'no key configured: the server starts and logs a warning');
($ret, $err) = psql_err($read_sql);
isnt($ret, 0, 'no key configured: reading plaintext fails');
like($err, qr/ZC001.*master key is not configured/s, '... with ZC001');
($ret, $err) =
  psql_err(q{SELECT childguard.register_child('no-key', '2014-03-01')});
like($err, qr/ZC001/, 'no key configured: register_child fails with ZC001');
is( $node->safe_psql(
		'postgres', q{
	SELECT count(*) FROM students WHERE name::text LIKE 'cg1:%'}),
	21,
	'no key configured: without a purpose values still read as envelopes');
$node->stop;

# And back to B: nothing was damaged.
set_keys(file => $key_b);
$node->start;
is($node->safe_psql('postgres', $read_sql),
	$expected_rows, 'back to key B: all data reads back');
$node->stop;

# ---------------------------------------------------------------------------
# No key material in the server log, ever.
# ---------------------------------------------------------------------------
my $whole_log = slurp_file($node->logfile);
for my $k ([ A => $hex_a ], [ B => $hex_b ], [ C => $hex_c ])
{
	my ($name, $hex) = @$k;
	unlike($whole_log, qr/\Q$hex\E/i, "the hex of key $name is not in the server log");
	unlike($whole_log, qr/\Q${\ substr($hex, 0, 16)}\E/i,
		"no 16-digit part of key $name is in the server log");
}

done_testing();
