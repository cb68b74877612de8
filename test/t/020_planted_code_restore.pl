# Code attached to tables holding child data, across pg_dump and pg_restore
# (docs/security.md, section 2).
#
# A source database holds a protected table with the objects that do not
# reach child data (a primary key, a serial default, a CHECK on another
# column, an index on another column, a foreign key from another table, a
# view applying a built-in function), and code planted behind the guard's
# back by editing the catalogs (as only a superuser can): a trigger and a
# row policy moved onto the protected table, and a table whose column was
# retyped to child_data under its trigger.  There, the protected table
# reports itself unprotected and refuses writes, and reads (which would run
# the policy).  pg_restore, run by a superuser, then
# recreates everything but the planted code, which the guard refuses
# (ZC020): the restored table is protected again and reads back.
use strict;
use warnings;

use FindBin;
use lib "$FindBin::RealBin/../lib";

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use ChildguardNode;

my ($node) = ChildguardNode::new_node('planted', start => 1);
my $tmp = $PostgreSQL::Test::Utils::tmp_check;

$node->safe_psql('postgres', 'CREATE DATABASE src');
$node->safe_psql(
	'src', q{
	CREATE EXTENSION childguard CASCADE;
	SELECT childguard.register_child('k-' || i, '2016-01-01') FROM generate_series(1, 2) i;
	CREATE TABLE kids (id text PRIMARY KEY, name childguard.child_data,
	                   grade int CHECK (grade < 100), n serial);
	CREATE INDEX kids_grade ON kids (grade);
	SELECT childguard.protect('kids', 'id', '{"name": "name"}');
	CREATE TABLE enrol (kid text REFERENCES kids (id), course text);
	CREATE VIEW kids_upper AS SELECT id, upper(name::text) AS name FROM kids;
	CREATE TABLE loot (v text);
	GRANT INSERT, SELECT ON loot TO PUBLIC;
	CREATE FUNCTION leak(v text) RETURNS boolean LANGUAGE plpgsql AS
	  $$ BEGIN INSERT INTO public.loot VALUES (v); RETURN true; END $$;
	CREATE FUNCTION leak_trg() RETURNS trigger LANGUAGE plpgsql AS
	  $$ BEGIN INSERT INTO public.loot VALUES (NEW.name::text); RETURN NEW; END $$;
});
ChildguardNode::consent_all($node, 'src');
$node->safe_psql(
	'src', q{
	SET childguard.purpose = 'regress';
	INSERT INTO kids (id, name, grade) VALUES ('k-1', 'PLANTMARK-1', 1), ('k-2', 'PLANTMARK-2', 2);
	INSERT INTO enrol VALUES ('k-1', 'maths');
});
is($node->safe_psql('src', q{SELECT childguard.protection_problem('kids') IS NULL}),
	't', 'src: the table with its allowed objects is protected');

# Behind the guard's back: a trigger made on another table, then moved onto
# the protected one; a table retyped to child_data under its trigger.
$node->safe_psql(
	'src', q{
	CREATE TABLE decoy (id text, name text);
	CREATE TRIGGER a_leak AFTER INSERT ON decoy FOR EACH ROW EXECUTE FUNCTION leak_trg();
	UPDATE pg_trigger SET tgrelid = 'kids'::regclass WHERE tgname = 'a_leak';
	UPDATE pg_class SET relhastriggers = true WHERE oid = 'kids'::regclass;
	ALTER TABLE decoy ENABLE ROW LEVEL SECURITY;
	CREATE POLICY p_leak ON decoy AS RESTRICTIVE USING (leak(id));
	UPDATE pg_policy SET polrelid = 'kids'::regclass WHERE polname = 'p_leak';
	CREATE TABLE legacy (id text, name text);
	CREATE TRIGGER legacy_leak BEFORE INSERT ON legacy FOR EACH ROW EXECUTE FUNCTION leak_trg();
	UPDATE pg_attribute SET atttypid = 'childguard.child_data'::regtype, attcollation = 0
	 WHERE attrelid = 'legacy'::regclass AND attname = 'name';
});
like($node->safe_psql('src', q{SELECT childguard.protection_problem('kids')}),
	qr/trigger "a_leak" is not childguard's own/,
	'src: a trigger planted by editing the catalogs makes the table unprotected');
my ($ret, $out, $err) = $node->psql('src',
	q{SET childguard.purpose = 'regress'; UPDATE kids SET grade = 3 WHERE id = 'k-1'});
like($err, qr/is not protected by childguard/, 'src: and it refuses writes');
($ret, $out, $err) = $node->psql('src',
	q{SET childguard.purpose = 'regress'; SELECT count(*) FROM kids});
like($err, qr/has code attached that could read child data/,
	'src: and reads, which would run the planted policy');
($ret, $out, $err) = $node->psql('src', q{SELECT count(*) FROM kids_upper});
like($err, qr/has code attached that could read child data/, 'src: also through a view');
is($node->safe_psql('src', 'SELECT count(*) FROM loot'), '0', 'src: nothing leaked');

# pg_dump; pg_restore by a superuser into a new database, going on after
# errors: only the planted triggers fail.
my $dump = "$tmp/planted.dump";
$node->command_ok([ 'pg_dump', '--no-sync', '-Fc', '-f', $dump, '-d', $node->connstr('src') ],
	'pg_dump src');
$node->safe_psql('postgres', 'CREATE DATABASE dst');
my ($stdout, $stderr) = ('', '');
IPC::Run::run([ 'pg_restore', '-d', $node->connstr('dst'), $dump ],
	'>', \$stdout, '2>', \$stderr);
my @refused = ($stderr =~ /cannot attach trigger "(\w+)"/g);
is_deeply([ sort @refused ], [ 'a_leak', 'legacy_leak' ],
	'pg_restore: the guard refuses exactly the planted triggers');
like($stderr, qr/cannot attach row policy "p_leak"/, 'pg_restore: and the planted policy');
my @errors = ($stderr =~ /ERROR:  (.*)/g);
is(scalar(grep { !/cannot attach (trigger|row policy)/ } @errors), 0,
	'pg_restore: no other object failed')
  or diag($stderr);

is($node->safe_psql('dst', q{SELECT childguard.protection_problem('kids') IS NULL}),
	't', 'dst: the restored table is protected');
is( $node->safe_psql(
		'dst', q{SELECT string_agg(tgname, ',' ORDER BY tgname) FROM pg_trigger
		          WHERE tgrelid IN ('kids'::regclass, 'legacy'::regclass) AND NOT tgisinternal}),
	'zz_childguard_deleted,zz_childguard_seal,zz_childguard_truncate',
	'dst: only childguard\'s triggers came back (seal; from 1.4 also DELETE and TRUNCATE)');
is( $node->safe_psql(
		'dst', q{SELECT (SELECT count(*) FROM pg_constraint WHERE conrelid = 'kids'::regclass)
		             || ',' || (SELECT count(*) FROM pg_index WHERE indrelid = 'kids'::regclass)
		             || ',' || (SELECT count(*) FROM pg_constraint WHERE conrelid = 'enrol'::regclass)
		             || ',' || (SELECT count(*) FROM pg_views WHERE viewname = 'kids_upper')}),
	'2,2,1,1',
	'dst: the check, key, index, foreign key and view came back');
ChildguardNode::consent_all($node, 'dst');
is( $node->safe_psql(
		'dst', q{SET childguard.purpose = 'regress';
		         UPDATE kids SET grade = 5, name = 'PLANTMARK-1' WHERE id = 'k-1';
		         SELECT string_agg(name, ',' ORDER BY id) FROM kids_upper WHERE name IS NOT NULL}),
	'PLANTMARK-1,PLANTMARK-2',
	'dst: writes are accepted and the data reads back through the view');
is($node->safe_psql('dst', 'SELECT count(*) FROM loot'), '0', 'dst: nothing leaked');

done_testing();
