# Another extension's install script runs with creating_extension set, as
# childguard's own does.  The access log's guards let childguard's scripts
# build and update the log; they must not let any other extension's script
# (installed by a superuser for its own purpose) delete, change, truncate,
# alter or lock the log.  Each hostile script below fails, and the log and
# its chain are as they were.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::RealBin/../lib";
use PostgreSQL::Test::Utils;
use Test::More;
use ChildguardNode qw(new_node consent_all);

my ($node) = new_node('foreign_ext', start => 1);
$node->safe_psql('postgres', q{
	CREATE EXTENSION childguard CASCADE;
	SELECT childguard.register_child('7', '2016-03-01');
	CREATE TABLE students (id bigint PRIMARY KEY, name childguard.child_data);
	SELECT childguard.protect('students', 'id', '{"name": "name"}');
});
consent_all($node, 'postgres');
$node->safe_psql('postgres', q{
	SET childguard.purpose = 'regress';
	INSERT INTO students VALUES (7, 'x');
	SELECT name FROM students;
	SELECT name FROM students;
	SELECT childguard.audit_wait();});
my $before = $node->safe_psql('postgres',
	'SELECT count(*), max(id) FROM childguard.access_log');
my ($n) = split /\|/, $before;
ok($n >= 2, "the log holds records ($n)");

# The fixture extension cg_hostile (test/fixtures/extension, installed by
# run-check.sh for the TAP suite): each version's script attacks the log.
my %hostile = (
	delete => 'ZC203', update => 'ZC203', truncate => 'ZC203',
	delete_head => 'ZC203', disable_trigger => 'ZC203', drop_trigger => 'ZC203',
	lock_rows => 'ZC204');
is($node->safe_psql('postgres',
	"SELECT count(*) FROM pg_available_extension_versions WHERE name = 'cg_hostile'"),
	scalar(keys %hostile), 'the hostile fixture extension is installed');
for my $v (sort keys %hostile)
{
	my ($ret, $out, $err) = $node->psql('postgres',
		"\\set VERBOSITY sqlstate\nCREATE EXTENSION cg_hostile VERSION '$v';");
	like($err, qr/ERROR:  $hostile{$v}/,
		"another extension's script cannot $v the access log ($hostile{$v})");
	is($node->safe_psql('postgres',
		"SELECT count(*) FROM pg_extension WHERE extname = 'cg_hostile'"), '0', '... and it is not installed');
}
is($node->safe_psql('postgres', 'SELECT count(*), max(id) FROM childguard.access_log'),
	$before, 'the log is unchanged');
is($node->safe_psql('postgres', 'SELECT valid FROM childguard.verify_access_log()'),
	't', 'the chain verifies');
# childguard's own script still builds the log (a fresh database)
$node->safe_psql('postgres', 'CREATE DATABASE again');
$node->safe_psql('again', 'CREATE EXTENSION childguard CASCADE');
is($node->safe_psql('again', 'SELECT valid FROM childguard.verify_access_log()'),
	't', "childguard's own install script still builds the log");
done_testing();
