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
use ChildguardNode qw(new_node protected_students hostile_versions_refused);

my ($node) = new_node('foreign_ext', start => 1);
protected_students($node, 'postgres', 'x');
$node->safe_psql('postgres', q{
	SET childguard.purpose = 'regress';
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
hostile_versions_refused($node, 'postgres', 'cg_hostile', \%hostile,
	"another extension's script cannot %s the access log");
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
