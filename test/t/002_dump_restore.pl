# Acceptance (issue 2, "dump and restore"):
#
#   Dump -> restore into a new database -> reads return the original
#   plaintext; the classification is restored.
#
# A database "src" holds two protected tables (different subject column
# types, four data categories) with awkward values: an empty string, NULL,
# multi-byte text and a ~2 MB value that goes to TOAST.  Then:
#   - pg_dump -Fc + pg_restore into "dst";
#   - pg_dump plain + psql into "dst2";
# and in both: the classification (childguard.protected_columns) equals
# src's, the registries (children, data keys) came along, every value reads
# back as the original plaintext with a purpose and as the very same
# envelope without one (the restore decrypted nothing), new plaintext rows
# are sealed (the trigger came back) and register_child() carries on with
# fresh subject numbers.  Finally a binary COPY TO/FROM (no purpose) moves
# the sealed values into an identically protected table.
use strict;
use warnings;

# No "use utf8": the Chinese literals are UTF-8 bytes, like psql's output.

use FindBin;
use lib "$FindBin::RealBin/../lib";

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use ChildguardNode;

my $pg_config = $ENV{PG_CONFIG} // 'pg_config';
chomp(my $pkglibdir = `$pg_config --pkglibdir`);
plan skip_all => "childguard.so is not installed in $pkglibdir"
  unless -e "$pkglibdir/childguard.so";

my ($node) = ChildguardNode::new_node('dump', start => 1);
my $tmp = $PostgreSQL::Test::Utils::tmp_check;

# ---------------------------------------------------------------------------
# Source database
# ---------------------------------------------------------------------------
$node->safe_psql('postgres', 'CREATE DATABASE src');
$node->safe_psql(
	'src', q{
	CREATE EXTENSION childguard CASCADE;
	-- child 6 has no rows yet: the restored databases add some for it
	SELECT childguard.register_child(i::text, '2015-05-01')
	  FROM generate_series(1, 6) i;
	SELECT childguard.register_child('kid-' || i, '2016-06-01')
	  FROM generate_series(1, 3) i;

	-- bigint subject column; three categories
	CREATE TABLE students (id bigint PRIMARY KEY,
	                       name childguard.child_data,
	                       school childguard.child_data,
	                       home childguard.child_data,
	                       grade int);
	SELECT childguard.protect('students', 'id',
	       '{"name": "name", "school": "school", "home": "address"}');

	-- text subject column; another category
	CREATE TABLE contacts (child text NOT NULL, seq int,
	                       phone childguard.child_data,
	                       PRIMARY KEY (child, seq));
	SELECT childguard.protect('contacts', 'child', '{"phone": "contact"}');
});
ChildguardNode::consent_all($node, 'src');

# A 2 MB value: 65,536 distinct md5 hex strings (ciphertext is stored
# uncompressed, STORAGE external, so this is ~2 MB in TOAST).
my $big_sql = q{(SELECT string_agg(md5(i::text), '' ORDER BY i)
                   FROM generate_series(1, 65536) i)};
my $big_md5 = $node->safe_psql('src', "SELECT md5($big_sql)");
like($big_md5, qr/^[0-9a-f]{32}$/, 'md5 of the 2 MB value');

$node->safe_psql(
	'src', qq{
	SET childguard.purpose = 'regress';
	INSERT INTO students VALUES
	  (1, 'Alice DUMPMARK-A1', 'Springfield Elementary', '742 Evergreen Terrace', 3),
	  (2, '', '', '', 4),                      -- empty strings
	  (3, '小明', '第一小学', '北京市海淀区中关村大街1号', 2),
	  (4, NULL, 'NULL-name school', NULL, 1);  -- NULLs
	INSERT INTO students SELECT 5, $big_sql, 'big school', 'big home', 6;
	INSERT INTO contacts VALUES
	  ('kid-1', 1, '+86 138 0000 0001'),
	  ('kid-1', 2, 'kid1\@example.invalid'),
	  ('kid-2', 1, '微信: xiaoming_2016'),
	  ('kid-3', 1, NULL);
});

# What each table reads as with a purpose: COPY text format, so NULL (\N)
# and '' stay distinct; values over 1000 bytes are shown as their md5.
sub show
{
	my ($col) = @_;
	return "CASE WHEN octet_length($col\::text) > 1000 "
	  . "THEN 'md5:' || md5($col\::text) ELSE $col\::text END";
}
my %read_sql = (
	students => 'SELECT id, '
	  . join(', ', map { show($_) } qw(name school home))
	  . ', grade FROM students ORDER BY id',
	contacts => 'SELECT child, seq, ' . show('phone')
	  . ' FROM contacts ORDER BY child, seq',);

sub read_plain
{
	my ($db, $table) = @_;
	return $node->safe_psql($db,
		"SET childguard.purpose = 'regress_transfer';\n"
		  . "COPY ($read_sql{$table}) TO STDOUT");
}

# The stored, sealed form of every value, read without a purpose.
sub read_envelopes
{
	my ($db) = @_;
	return $node->safe_psql(
		$db, q{
	COPY (SELECT 's', id::text, md5(coalesce(childguard.envelope(name), '-')),
	             md5(coalesce(childguard.envelope(school), '-')),
	             md5(coalesce(childguard.envelope(home), '-'))
	        FROM students
	      UNION ALL
	      SELECT 'c', child || '/' || seq, md5(coalesce(childguard.envelope(phone), '-')),
	             NULL, NULL
	        FROM contacts
	      ORDER BY 1, 2) TO STDOUT});
}

sub classification
{
	my ($db) = @_;
	return $node->safe_psql(
		$db, q{
	SELECT table_name::text, column_name, column_type, category,
	       is_protected, subject_column
	  FROM childguard.protected_columns ORDER BY 1, 2});
}

sub registries
{
	my ($db) = @_;
	return $node->safe_psql(
		$db, q{
	SELECT c.subject_no, c.child_id, c.birth_date, c.key_version,
	       k.key_version, encode(k.wrapped_key, 'hex'),
	       encode(k.master_key_id, 'hex')
	  FROM childguard.child c JOIN childguard.data_key k USING (subject_no)
	 ORDER BY c.subject_no, k.key_version});
}

my $src_students = read_plain('src', 'students');
my $src_contacts = read_plain('src', 'contacts');
is( $src_students,
	join("\n",
		"1\tAlice DUMPMARK-A1\tSpringfield Elementary\t742 Evergreen Terrace\t3",
		"2\t\t\t\t4",
		"3\t小明\t第一小学\t北京市海淀区中关村大街1号\t2",
		"4\t\\N\tNULL-name school\t\\N\t1",
		"5\tmd5:$big_md5\tbig school\tbig home\t6"),
	'src: students read back as written (empty, NULL, multi-byte, 2 MB)');
is( $src_contacts,
	join("\n",
		"kid-1\t1\t+86 138 0000 0001",
		"kid-1\t2\tkid1\@example.invalid",
		"kid-2\t1\t微信: xiaoming_2016",
		"kid-3\t1\t\\N"),
	'src: contacts read back as written');

my $src_class = classification('src');
is( $src_class,
	join("\n",
		'contacts|phone|childguard.child_data(contact)|contact|t|child',
		'students|home|childguard.child_data(address)|address|t|id',
		'students|name|childguard.child_data(name)|name|t|id',
		'students|school|childguard.child_data(school)|school|t|id'),
	'src: classification');
my $src_env = read_envelopes('src');
my $src_reg = registries('src');
cmp_ok(scalar(() = $src_reg =~ /\n/g) + 1, '==', 9, 'src: 9 children with data keys');

# The big value really went to TOAST.
cmp_ok(
	$node->safe_psql(
		'src', q{SELECT pg_relation_size(reltoastrelid)
		           FROM pg_class WHERE oid = 'students'::regclass}),
	'>', 2_000_000,
	'src: the 2 MB value is stored out of line in TOAST');

# The values that must never appear in a plain dump, in any form.
my @plain_values = (
	'DUMPMARK-A1',            'Springfield Elementary',
	'742 Evergreen Terrace',  '小明',
	'第一小学',               '北京市海淀区中关村大街1号',
	'+86 138 0000 0001',      'kid1@example.invalid',
	'xiaoming_2016',          'NULL-name school',
	# the first md5 chunks of the big value
	'c4ca4238a0b923820dcc509a6f75849bc81e728d9d4c2f636f067f89cc14862c');

# Everything that must hold in a restored database.
sub check_restored
{
	my ($db, $how) = @_;

	is(classification($db), $src_class,
		"$how: classification (protected_columns) equals src's");
	is(registries($db), $src_reg,
		"$how: children and wrapped data keys restored unchanged");
	is(read_envelopes($db), $src_env,
		"$how: every value restored as the same envelope (nothing re-encrypted)");
	is(read_plain($db, 'students'), $src_students,
		"$how: students read back as the original plaintext");
	is(read_plain($db, 'contacts'), $src_contacts,
		"$how: contacts read back as the original plaintext");
	is( $node->safe_psql(
			$db, q{
		SELECT tgenabled FROM pg_trigger
		 WHERE tgrelid IN ('students'::regclass, 'contacts'::regclass)
		   AND tgname = 'zz_childguard_seal' ORDER BY tgrelid::regclass::text}),
		"A\nA",
		"$how: seal triggers restored, enabled ALWAYS");

	# The trigger works: new plaintext is sealed for its child.
	my $next = $node->safe_psql($db,
		"SELECT childguard.register_child('new-$db', '2017-01-01')");
	my $max_src = $node->safe_psql('src',
		'SELECT max(subject_no) FROM childguard.child');
	cmp_ok($next, '>', $max_src,
		"$how: register_child continues after src's subject numbers");
	is( $node->safe_psql(
			$db, qq{
		SELECT count(*) FROM childguard.child
		 WHERE subject_no = $next AND child_id = 'new-$db'}),
		1,
		"$how: the new child has its own subject number");
	# consents (and the grant) came back with the registry; the new child needs one
	is(ChildguardNode::consent_all($node, $db), 2,
		"$how: only the new child needed consents");
	$node->safe_psql(
		$db, qq{
		SET childguard.purpose = 'regress';
		INSERT INTO students VALUES (6, 'Neo $db', 'New School', NULL, 1);
		INSERT INTO contacts VALUES ('new-$db', 1, 'new phone');
		UPDATE students SET school = '更新的学校' WHERE id = 3;});
	is( $node->safe_psql(
			$db, q{
		SELECT pending, subject_no, category FROM students s,
		       childguard.envelope_info(s.name) WHERE id = 6}),
		'f|'
		  . $node->safe_psql('src',
			q{SELECT subject_no FROM childguard.child WHERE child_id = '6'})
		  . '|name',
		"$how: a new row is sealed for its child and category");
	is( $node->safe_psql(
			$db, q{
		SET childguard.purpose = 'regress';
		SELECT s.name, s.school, c.phone
		  FROM students s, contacts c
		 WHERE s.id = 6 AND c.child = 'new-} . $db . q{'
		UNION ALL
		SELECT name, school, NULL FROM students WHERE id = 3}),
		"Neo $db|New School|new phone\n小明|更新的学校|",
		"$how: new and updated rows read back as plaintext");
	is( $node->safe_psql(
			$db, q{
		SELECT count(*) FROM students s, childguard.envelope_info(s.name) i
		 WHERE i.pending}),
		0,
		"$how: nothing is left pending");

	# Unprotected tables in the restored database still refuse child data.
	my ($ret, $out, $err) = $node->psql($db,
		q{CREATE TABLE loose (id int, v childguard.child_data(name));
		  INSERT INTO loose VALUES (1, 'x');},
		extra_params => [ '-v', 'VERBOSITY=verbose' ]);
	isnt($ret, 0, "$how: writing child data into an unprotected table fails");
	like($err, qr/ZC010/, "$how: ... with SQLSTATE ZC010");
	$node->safe_psql($db, 'DROP TABLE IF EXISTS loose');
	return;
}

# ---------------------------------------------------------------------------
# 1. Custom format: pg_dump -Fc, pg_restore into a new database.
# ---------------------------------------------------------------------------
my $dump_fc = "$tmp/002_src.dump";
$node->command_ok(
	[ 'pg_dump', '--no-sync', '-Fc', '-f', $dump_fc, '-d', $node->connstr('src') ],
	'pg_dump -Fc src');
$node->safe_psql('postgres', 'CREATE DATABASE dst');
$node->command_ok(
	[ 'pg_restore', '--exit-on-error', '-d', $node->connstr('dst'), $dump_fc ],
	'pg_restore into dst');
check_restored('dst', 'pg_restore -Fc');

# The custom-format archive compresses its data, so search the SQL that
# pg_restore makes of it instead.
my $fc_as_sql = "$tmp/002_src_fc.sql";
$node->command_ok([ 'pg_restore', '-f', $fc_as_sql, $dump_fc ],
	'pg_restore -f: the custom dump as SQL');
my $fc_sql = slurp_file($fc_as_sql);
is_deeply([ grep { index($fc_sql, $_) >= 0 } @plain_values ],
	[], 'the custom-format dump holds none of the plaintext values');
like($fc_sql, qr/\tcg1:[A-Za-z0-9+\/]+=*\t/,
	'the custom-format dump holds cg1: envelopes');

# ---------------------------------------------------------------------------
# 2. Plain format, restored with psql; the dump holds envelopes only.
# ---------------------------------------------------------------------------
my $dump_plain = "$tmp/002_src.sql";
$node->command_ok(
	[ 'pg_dump', '--no-sync', '-f', $dump_plain, '-d', $node->connstr('src') ],
	'pg_dump plain src');
my $plain = slurp_file($dump_plain);
my @leaked = grep { index($plain, $_) >= 0 } @plain_values;
is_deeply(\@leaked, [], 'the plain dump holds none of the plaintext values');
like($plain, qr/\tcg1:[A-Za-z0-9+\/]+=*\t/, 'the plain dump holds cg1: envelopes');

$node->safe_psql('postgres', 'CREATE DATABASE dst2');
$node->command_ok(
	[
		'psql', '-X', '-q', '-v', 'ON_ERROR_STOP=1',
		'-d', $node->connstr('dst2'), '-f', $dump_plain
	],
	'plain dump restored with psql into dst2');
check_restored('dst2', 'plain dump + psql');

# ---------------------------------------------------------------------------
# 3. Binary COPY, without a purpose: COPY TO a file and back FROM it into an
#    identically protected table.  The file holds envelopes, not plaintext.
# ---------------------------------------------------------------------------
my $binfile = "$tmp/002_students.bin";
$node->safe_psql(
	'src', qq{
	COPY students TO '$binfile' (FORMAT binary);
	CREATE TABLE students2 (LIKE students);
	SELECT childguard.protect('students2', 'id',
	       '{"name": "name", "school": "school", "home": "address"}');
	COPY students2 FROM '$binfile' (FORMAT binary);
});
my $bin = slurp_file($binfile);
@leaked = grep { index($bin, $_) >= 0 } @plain_values;
is_deeply(\@leaked, [],
	'binary COPY without a purpose writes none of the plaintext values');
like($bin, qr/cg1:/, 'binary COPY without a purpose writes envelopes');
(my $students2_sql = $read_sql{students}) =~ s/FROM students /FROM students2 /;
is( $node->safe_psql(
		'src',
		"SET childguard.purpose = 'regress_transfer';\nCOPY ($students2_sql) TO STDOUT"),
	$src_students,
	'binary COPY round trip: students2 reads back the original plaintext');
is( $node->safe_psql(
		'src', q{
	SELECT count(*) FROM students a JOIN students2 b USING (id)
	 WHERE childguard.envelope(a.name) IS NOT DISTINCT FROM childguard.envelope(b.name)
	   AND childguard.envelope(a.home) IS NOT DISTINCT FROM childguard.envelope(b.home)
	   AND childguard.envelope(a.school) = childguard.envelope(b.school)}),
	5,
	'binary COPY round trip kept every envelope unchanged');

# Sealed values that arrived by binary COPY stay bound to their child:
# re-pointing a row at another (registered) child is refused.
my ($ret, $out, $err) = $node->psql(
	'src', q{UPDATE students2 SET id = 6 WHERE id = 1},
	extra_params => [ '-v', 'VERBOSITY=verbose' ]);
isnt($ret, 0, 'moving copied sealed values to another child is refused');
like($err, qr/ZC003.*belongs to another child/s,
	'... with SQLSTATE ZC003, "belongs to another child"');

$node->stop;
done_testing();
