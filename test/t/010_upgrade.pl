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
my $describe = q{
	WITH members AS (
	  SELECT d.classid, d.objid, d.objsubid
	    FROM pg_depend d JOIN pg_extension e ON d.refobjid = e.oid
	   WHERE d.refclassid = 'pg_extension'::regclass AND e.extname = 'childguard'
	     AND d.deptype = 'e')
	SELECT pg_describe_object(classid, objid, objsubid)
	       || ' | ' || coalesce(obj_description(objid, classid::regclass::name), '-')
	       || ' | ' || coalesce(CASE classid
	            WHEN 'pg_proc'::regclass THEN
	              (SELECT md5(pg_get_functiondef(objid)) || ' ' || coalesce(proacl::text, '')
	                 FROM pg_proc WHERE oid = objid AND prokind <> 'a')
	            WHEN 'pg_class'::regclass THEN
	              (SELECT relkind::text || ' ' || coalesce(relacl::text, '') || ' '
	                      || coalesce((SELECT string_agg(attname || ':' || format_type(atttypid, atttypmod)
	                                                     || ':' || attnotnull
	                                                     || ':' || coalesce(attacl::text, ''), ',' ORDER BY attname)
	                                     FROM pg_attribute WHERE attrelid = objid AND attnum > 0
	                                      AND NOT attisdropped), '')
	                      || ' ' || coalesce(md5(pg_get_viewdef(objid)), '')
	                 FROM pg_class WHERE oid = objid)
	            WHEN 'pg_namespace'::regclass THEN
	              (SELECT coalesce(nspacl::text, '') FROM pg_namespace WHERE oid = objid)
	            WHEN 'pg_type'::regclass THEN
	              (SELECT coalesce(typacl::text, '') FROM pg_type WHERE oid = objid)
	          END, '')
	  FROM members ORDER BY 1};
my $old_objects = $node->safe_psql('old_db', $describe);
my $new_objects = $node->safe_psql('new_db', $describe);
cmp_ok(scalar(split /\n/, $new_objects), '>', 50, 'the extension has its objects');
is($old_objects, $new_objects,
	'updated and fresh installs have the same objects, definitions, privileges and comments');

# Triggers, policies and indexes on the extension's own tables.
my $attached = q{
	SELECT c.relname || ' ' || t.tgname || ' ' || md5(pg_get_triggerdef(t.oid))
	  FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
	 WHERE c.relnamespace = 'childguard'::regnamespace AND NOT t.tgisinternal
	UNION ALL
	SELECT tablename || ' ' || policyname || ' ' || md5(coalesce(qual, '') || coalesce(with_check, '')
	       || roles::text || cmd || permissive)
	  FROM pg_policies WHERE schemaname = 'childguard'
	UNION ALL
	SELECT tablename || ' ' || indexname || ' ' || md5(indexdef)
	  FROM pg_indexes WHERE schemaname = 'childguard'
	ORDER BY 1};
is($node->safe_psql('old_db', $attached), $node->safe_psql('new_db', $attached),
	'same triggers, row policies and indexes on the registries');

$node->stop;
done_testing();
