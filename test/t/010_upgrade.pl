# ALTER EXTENSION childguard UPDATE: a database created at 1.0 and holding
# data (registries, protected rows, audit records) is updated to the current
# version; its data still reads, its audit chain still verifies, and the
# extension's objects, privileges and comments are the same as a fresh
# install's.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::RealBin/../lib";
use PostgreSQL::Test::Utils;
use Test::More;
use ChildguardNode qw(new_node create_1_0_database);

my ($node) = new_node('upgrade', start => 1);
my $current = $node->safe_psql('postgres',
	"SELECT default_version FROM pg_available_extensions WHERE name = 'childguard'");
isnt($current, '1.0', "the current version ($current) is later than 1.0");

# ---- a 1.0 database with data, using only the 1.0 interface ----------------
$node->safe_psql('postgres', 'CREATE DATABASE old_db');
$node->safe_psql('old_db', 'CREATE ROLE up_dpo; CREATE ROLE up_dpo2; CREATE ROLE up_app;');
create_1_0_database($node, 'old_db', 'up_', 'up-marker-name', 'up-marker-school');
is($node->safe_psql('old_db', q{
	SET ROLE up_app; SET childguard.purpose = 'tutoring';
	SELECT name FROM students WHERE id = '42'}),
	'up-marker-name', '1.0: the protected value reads under consent');
is($node->safe_psql('old_db',
	"SELECT extversion FROM pg_extension WHERE extname = 'childguard'"),
	'1.0', 'the database is at 1.0');
$node->safe_psql('old_db', 'SELECT childguard.audit_wait()');
my $records_before = $node->safe_psql('old_db',
	'SELECT count(*) FROM childguard.access_log');
cmp_ok($records_before, '>=', 2, "1.0 wrote audit records ($records_before)");
my $envelope_before = $node->safe_psql('old_db',
	'SELECT name::text FROM students');

# ---- the update ----------------------------------------------------------
$node->safe_psql('old_db', 'ALTER EXTENSION childguard UPDATE');
is($node->safe_psql('old_db',
	"SELECT extversion FROM pg_extension WHERE extname = 'childguard'"),
	$current, "updated to $current");

is($node->safe_psql('old_db', 'SELECT name::text FROM students'),
	$envelope_before, 'stored envelopes are untouched by the update');
is($node->safe_psql('old_db', q{
	SET ROLE up_app; SET childguard.purpose = 'tutoring';
	SELECT name || ' / ' || school FROM students WHERE id = '42'}),
	'up-marker-name / up-marker-school',
	'after the update the same role reads under the same grant and consent');
$node->safe_psql('old_db', 'SELECT childguard.audit_wait()');
is($node->safe_psql('old_db',
	'SELECT valid FROM childguard.verify_access_log()'),
	't', 'the audit chain written under 1.0 and continued after the update verifies');
cmp_ok($node->safe_psql('old_db', 'SELECT count(*) FROM childguard.access_log'),
	'>', $records_before, 'reads after the update are recorded');

# ---- same objects as a fresh install ---------------------------------------
$node->safe_psql('postgres', 'CREATE DATABASE new_db');
$node->safe_psql('new_db', q{
	CREATE EXTENSION childguard CASCADE;
	-- the same appointments as old_db, so privileges granted to roles compare
	SELECT childguard.appoint_officer('up_dpo');
	SELECT childguard.appoint_officer('up_dpo2');
	SELECT childguard.enroll_application('up_app');
});

# Every member object, with its definition, privileges and comment.  Role
# names are the same in both databases (roles are cluster-wide).
my $describe = ChildguardNode::extension_members_sql();
my $old_objects = $node->safe_psql('old_db', $describe);
my $new_objects = $node->safe_psql('new_db', $describe);
cmp_ok(scalar(split /\n/, $new_objects), '>', 50, 'the extension has its objects');
is($old_objects, $new_objects,
	'updated and fresh installs have the same objects, definitions, privileges and comments');

# Triggers, constraints, policies and indexes on the extension's own tables.
my $attached = ChildguardNode::extension_attachments_sql();
is($node->safe_psql('old_db', $attached), $node->safe_psql('new_db', $attached),
	'same triggers, constraints, row policies and indexes on the registries');

$node->stop;
done_testing();
