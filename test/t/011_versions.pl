# One library, every SQL version: databases at 1.0 and 1.1 served by the
# current library (reads, writes, audit records, verify_access_log), then
# updated 1.0 -> 1.1 -> 1.2 and 1.1 -> 1.2 with data and audit records
# written at each version.  The audit chain verifies across the versions,
# each record under its own chain format (1 before 1.2, 2 after); the
# updated databases have the same objects, privileges and comments as a
# fresh install; changing a record's format_version is found; a function
# bound to the wrong C entry point, and a log whose layout the library does
# not know, fail with their SQLSTATEs and nothing else.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::RealBin/../lib";
use PostgreSQL::Test::Utils;
use Test::More;
use ChildguardNode qw(new_node consent_all create_1_0_database);

my ($node) = new_node('versions', start => 1);
is($node->safe_psql('postgres',
	"SELECT default_version FROM pg_available_extensions WHERE name = 'childguard'"),
	'1.9', 'the current version is 1.9');
# The released scripts the server installs are the committed, frozen ones
# (sql/README.md): a change to either fails here.
{
	use Digest::SHA qw(sha256_hex);
	my $share = `$ENV{PG_CONFIG} --sharedir`;
	chomp $share;
	my %released = (
		'childguard--1.0.sql' => 'bb70230b624326e3221d166dc6a251e8510db38116e2ec61ed7aeae760a66172',
		'childguard--1.0--1.1.sql' => '843221f087f5fd39f6094af6e0b56253fa23f5999e8160a13d3d93fb6ad08699',
		'childguard--1.1--1.2.sql' => 'c38aa61a7e7e22b834c3bc708a8abc513cb80f6ec3645797e166d019ee27f0dc',
		'childguard--1.2--1.3.sql' => '2be09969104560dddc82ba2183edea63dce0ca61bfa910e74b8aa38b01628496',
		'childguard--1.3--1.4.sql' => '5215086d63ae870996242907a759f526e5724fff47ed571d8461c40a87e77951',
		'childguard--1.4--1.5.sql' => '00a5dba5a5c2a46ada0e1eb4cdda5e215a2cbf5beb3ada453cd0c2d1cd9b0a14',
		'childguard--1.5--1.6.sql' => '3e19ff9730547c4029c5f8545afb645892ff8b915c22a6ce161de133834e105d',
		'childguard--1.6--1.7.sql' => 'b8483c81a2ac4f092e45b7ffe85b2b0aa007a77712505ef22689d10565440fc6',
		'childguard--1.7--1.8.sql' => '17212816183c3c7fb739fb20efbd1115615aa0e04228b49a9ebe3ade868ddac8',
		'childguard--1.8--1.9.sql' => '88369cfe502214ac28436869df04c82a0e7bdaf9b5253d26c0f0f23f79516a48');
	for my $f (sort keys %released)
	{
		is(sha256_hex(slurp_file("$share/extension/$f")), $released{$f},
			"the installed $f is the released 1.x script, unchanged");
	}
}
$node->safe_psql('postgres', q{
	CREATE ROLE ver_dpo; CREATE ROLE ver_dpo2; CREATE ROLE ver_app;
	CREATE DATABASE v10; CREATE DATABASE v11; CREATE DATABASE fresh; CREATE DATABASE fresh11;
});

sub log_count { $node->safe_psql($_[0], 'SELECT count(*) FROM childguard.access_log') }
sub version_of
{
	$node->safe_psql($_[0], "SELECT extversion FROM pg_extension WHERE extname = 'childguard'");
}
# read (and write) child data as the application, then wait for the records
sub use_data_10
{
	my ($db, $marker) = @_;
	my $got = $node->safe_psql($db, qq{
		SET ROLE ver_app; SET childguard.purpose = 'tutoring';
		UPDATE students SET name = '$marker' WHERE id = '42';
		SELECT name FROM students WHERE id = '42';
		SELECT childguard.audit_wait();});
	return (split /\n/, $got)[0];
}

# ---- v10: created at 1.0 from the committed script, the new library -------
create_1_0_database($node, 'v10', 'ver_', 'v10-first', 'v10-school');
is(version_of('v10'), '1.0', 'v10 is at 1.0');
is($node->safe_psql('v10',
	"SELECT count(*) FROM pg_attribute WHERE attrelid = 'childguard.access_log'::regclass AND attnum > 0"),
	'24', '1.0: the access log has the 24 columns of 1.0');
is(use_data_10('v10', 'at-1.0'), 'at-1.0', '1.0 SQL, new library: writes and reads');
my $n10 = log_count('v10');
cmp_ok($n10, '>=', 3, "1.0 SQL, new library: the writer writes 1.0 rows ($n10)");
is($node->safe_psql('v10', 'SELECT valid, records_checked, reason FROM childguard.verify_access_log()'),
	"t|$n10|", '1.0 SQL, new library: verify_access_log (1.0 entry point) checks every record');

# ---- 1.0 -> 1.1 ---------------------------------------------------------------
$node->safe_psql('v10', "ALTER EXTENSION childguard UPDATE TO '1.1'");
is(version_of('v10'), '1.1', 'v10 updated to 1.1');
is(use_data_10('v10', 'at-1.1'), 'at-1.1', '1.1 SQL (updated), new library: writes and reads');
my $n11 = log_count('v10');
cmp_ok($n11, '>', $n10, 'records written at 1.1');
is($node->safe_psql('v10', 'SELECT valid, records_checked, reason FROM childguard.verify_access_log()'),
	"t|$n11|", 'the chain written at 1.0 and 1.1 verifies');

# ---- 1.1 -> 1.2 ---------------------------------------------------------------
# an administrator's own grant on verify_access_log() (replaced by 1.2)
$node->safe_psql('postgres', 'CREATE ROLE ver_auditor');
$node->safe_psql('v10', 'GRANT EXECUTE ON FUNCTION childguard.verify_access_log() TO ver_auditor');
$node->safe_psql('v10', "ALTER EXTENSION childguard UPDATE TO '1.2'");
is($node->safe_psql('v10', q{SELECT has_function_privilege('ver_auditor', 'childguard.verify_access_log()', 'EXECUTE'),
	has_function_privilege('ver_dpo', 'childguard.verify_access_log()', 'EXECUTE'),
	has_function_privilege('ver_app', 'childguard.verify_access_log()', 'EXECUTE')}),
	't|t|f', 'the update keeps the privileges on verify_access_log(): officers\' and an administrator\'s, no one else\'s');
$node->safe_psql('v10', 'REVOKE EXECUTE ON FUNCTION childguard.verify_access_log() FROM ver_auditor');
is(version_of('v10'), '1.2', 'v10 updated to 1.2');
is($node->safe_psql('v10',
	'SELECT format_version, count(*) FROM childguard.access_log GROUP BY 1 ORDER BY 1'),
	"1|$n11", 'records written before 1.2 have chain format 1 (the backfill)');
is($node->safe_psql('v10', 'SELECT valid, records_checked, records_by_format FROM childguard.verify_access_log()'),
	"t|$n11|{$n11,0}", 'right after the update the chain verifies (1.2 entry point)');
is(use_data_10('v10', 'at-1.2'), 'at-1.2', '1.2: writes and reads');
my $n12 = log_count('v10');
cmp_ok($n12, '>', $n11, 'records written at 1.2');
is($node->safe_psql('v10',
	"SELECT min(id) > $n11, count(*) = $n12 - $n11 FROM childguard.access_log WHERE format_version = 2"),
	't|t', 'records written at 1.2 have chain format 2');
is($node->safe_psql('v10', 'SELECT valid, records_checked, records_by_format, reason FROM childguard.verify_access_log()'),
	"t|$n12|{$n11," . ($n12 - $n11) . "}|", 'the chain written at 1.0, 1.1 and 1.2 verifies, each record under its format');
is($node->safe_psql('v10', q{SET ROLE ver_app; SET childguard.purpose = 'tutoring';
	SELECT school FROM students}), 'v10-school', 'data written at 1.0 reads at 1.2');

# ---- v11: created at 1.1, then updated to 1.2 --------------------------------
$node->safe_psql('v11', q{
	CREATE EXTENSION childguard VERSION '1.1' CASCADE;
	SELECT childguard.appoint_officer('ver_dpo');
	SELECT childguard.appoint_officer('ver_dpo2');
	SELECT childguard.enroll_application('ver_app');
	SELECT childguard.register_child('k-' || i, '2014-01-01') FROM generate_series(1, 3) i;
	CREATE TABLE pupils (id text PRIMARY KEY, name childguard.child_data);
	SELECT childguard.protect('pupils', subject_column => 'id', categories => '{"name": "name"}');
});
consent_all($node, 'v11');
my $use_11 = q{
	SET childguard.purpose = 'regress';
	INSERT INTO pupils SELECT 'k-' || i, 'p' || i || '-' || (SELECT count(*) FROM pupils)
	  FROM generate_series(1, 3) i ON CONFLICT (id) DO UPDATE SET name = excluded.name;
	SELECT string_agg(name::text, ',' ORDER BY id) FROM pupils;
	SELECT childguard.audit_wait();};
is((split /\n/, $node->safe_psql('v11', $use_11))[0], 'p1-0,p2-0,p3-0',
	'1.1 SQL (created), new library: writes and reads');
my $m11 = log_count('v11');
is($node->safe_psql('v11', 'SELECT valid, records_checked FROM childguard.verify_access_log()'),
	"t|$m11", '1.1 SQL, new library: the chain verifies');
$node->safe_psql('v11', "ALTER EXTENSION childguard UPDATE TO '1.2'");
is(version_of('v11'), '1.2', 'v11 updated to 1.2');
is((split /\n/, $node->safe_psql('v11', $use_11))[0], 'p1-3,p2-3,p3-3', '1.2: writes and reads');
my $m12 = log_count('v11');
is($node->safe_psql('v11', 'SELECT valid, records_checked, records_by_format FROM childguard.verify_access_log()'),
	"t|$m12|{$m11," . ($m12 - $m11) . "}", 'the chain written at 1.1 and 1.2 verifies');

# ---- 1.2 -> 1.3 -> 1.4 -> 1.5 -> 1.6 -> 1.7 -> 1.8 -> 1.9: the current version -----------
for my $db ('v10', 'v11')
{
	$node->safe_psql($db, 'ALTER EXTENSION childguard UPDATE');
	is(version_of($db), '1.9', "$db updated to 1.9");
}

# ---- same objects, privileges and comments as a fresh install -------------------
$node->safe_psql('fresh', q{
	CREATE EXTENSION childguard CASCADE;
	SELECT childguard.appoint_officer('ver_dpo');
	SELECT childguard.appoint_officer('ver_dpo2');
	SELECT childguard.enroll_application('ver_app');
});
# fresh11: the same duties as v11 (the consent fixture appoints and enrolls
# its own roles), so privileges granted to roles compare
$node->safe_psql('fresh11', q{
	CREATE EXTENSION childguard CASCADE;
	SELECT childguard.appoint_officer('ver_dpo');
	SELECT childguard.appoint_officer('ver_dpo2');
	SELECT childguard.enroll_application('ver_app');
});
consent_all($node, 'fresh11');
my $describe = ChildguardNode::extension_members_sql();
my $fresh = $node->safe_psql('fresh', $describe);
like($fresh, qr/format_version:smallint:true:false/, 'a fresh install has access_log.format_version, with no default');
is($node->safe_psql('v10', $describe), $fresh,
	'1.0 -> 1.1 -> 1.2: the same objects, definitions, privileges and comments as a fresh install');
is($node->safe_psql('v11', $describe), $node->safe_psql('fresh11', $describe),
	'1.1 -> 1.2: the same objects, definitions, privileges and comments as a fresh install');
my $attached = ChildguardNode::extension_attachments_sql();
my $fresh_attached = $node->safe_psql('fresh', $attached);
is($node->safe_psql('v10', $attached), $fresh_attached, '1.0 -> 1.2: same triggers, constraints, policies and indexes');
is($node->safe_psql('v11', $attached), $node->safe_psql('fresh11', $attached), '1.1 -> 1.2: same triggers, constraints, policies and indexes');
is($node->safe_psql('v10', q{SELECT has_function_privilege('ver_dpo', 'childguard.verify_access_log()', 'EXECUTE'),
	has_function_privilege('ver_app', 'childguard.verify_access_log()', 'EXECUTE')}),
	't|f', 'after the update officers, and only they, still run verify_access_log()');

# ---- the format column is covered by the chain ------------------------------------
# (a superuser switching the guard off in the catalogs, as in sql/audit.sql;
# each in a transaction that rolls back, in a fresh session)
sub tampered
{
	my ($change) = @_;
	return $node->safe_psql('v10', qq{
		BEGIN;
		UPDATE pg_trigger SET tgenabled = 'D' WHERE tgrelid = 'childguard.access_log_rows'::regclass;
		$change;
		SELECT valid, broken_id, reason FROM childguard.verify_access_log();
		ROLLBACK;});
}
like(tampered('UPDATE childguard.access_log_rows SET format_version = 2 WHERE id = 2'),
	qr/^f\|2\|record 2 was altered/, 'a format 1 record relabelled format 2 is found');
like(tampered("UPDATE childguard.access_log_rows SET format_version = 1 WHERE id = $n12"),
	qr/^f\|$n12\|record $n12 has chain format 1 after a record of format 2/,
	'a format 2 record relabelled format 1 after format 2 records is found');
my $first2 = $n11 + 1;
like(tampered("UPDATE childguard.access_log_rows SET format_version = 1 WHERE id = $first2"),
	qr/^f\|$first2\|record $first2 was altered/,
	'the first format 2 record relabelled format 1 is found (the hash covers the format)');
like(tampered('UPDATE childguard.access_log_rows SET format_version = 9 WHERE id = 1'),
	qr/^f\|1\|record 1 has an unknown chain format \(9\)/, 'an unknown format is found');
like(tampered("UPDATE childguard.access_log_rows SET rows = rows + 1 WHERE id = $n12"),
	qr/^f\|$n12\|record $n12 was altered/, 'an edit of a format 2 record is found');
like(tampered("UPDATE childguard.access_log_rows SET rows = rows + 1 WHERE id = 1"),
	qr/^f\|1\|record 1 was altered/, 'an edit of a format 1 record is found after the update');
is($node->safe_psql('v10', 'SELECT valid FROM childguard.verify_access_log()'), 't',
	'untampered, the chain still verifies');

# ---- wrong layouts fail cleanly ------------------------------------------------
my ($ret, $out, $err);
# a 1.0 database binding the 1.2 entry point to a 4-column function, and a 1.2
# database binding the 1.0 entry point to a 5-column one
$node->safe_psql('postgres', q{
	CREATE DATABASE v10b;
});
$node->safe_psql('v10b', q{CREATE EXTENSION childguard VERSION '1.0' CASCADE;
	CREATE FUNCTION public.v(OUT valid boolean, OUT records_checked bigint,
	                         OUT broken_id bigint, OUT reason text) RETURNS record
	LANGUAGE C AS '$libdir/childguard', 'cg_verify_access_log_1_2'});
($ret, $out, $err) = $node->psql('v10b', "\\set VERBOSITY sqlstate\nSELECT * FROM public.v()");
is($err, 'psql:<stdin>:2: ERROR:  ZC141', 'the 1.2 entry point under a 1.0 signature: ZC141, no result');
$node->safe_psql('fresh', q{
	CREATE FUNCTION public.v(OUT valid boolean, OUT records_checked bigint,
	                         OUT broken_id bigint, OUT reason text, OUT x bigint[]) RETURNS record
	LANGUAGE C AS '$libdir/childguard', 'cg_verify_access_log'});
($ret, $out, $err) = $node->psql('fresh', "\\set VERBOSITY sqlstate\nSELECT * FROM public.v()");
is($err, 'psql:<stdin>:2: ERROR:  ZC141', 'the 1.0 entry point under a 1.2 signature: ZC141');
# a log whose columns are not any version's (catalog edit in a transaction)
($ret, $out, $err) = $node->psql('v10', q{
	BEGIN;
	UPDATE pg_attribute SET attname = 'format_v' WHERE attrelid = 'childguard.access_log_rows'::regclass
	   AND attname = 'format_version';
	SELECT * FROM childguard.verify_access_log();
	ROLLBACK;});
like($err, qr/ERROR:  childguard.access_log_rows does not have the layout of any childguard version this library serves\nDETAIL:  The database has childguard version 1.9 installed; The table has 26 columns/,
	'an unknown log layout: an error naming the installed version');
like($err, qr/HINT:  Run ALTER EXTENSION childguard UPDATE/, '... and the fix');
is($node->safe_psql('v10', 'SELECT valid FROM childguard.verify_access_log()'), 't', 'nothing changed');
# a registry whose numbered columns are not the ones the C reads: a read
# that needs it is refused before any numbered read, at any database version
($ret, $out, $err) = $node->psql('v10', q{
	BEGIN;
	UPDATE pg_attribute SET attname = 'child_idx' WHERE attrelid = 'childguard.child'::regclass
	   AND attname = 'child_id';
	SET ROLE ver_app; SET childguard.purpose = 'tutoring';
	SELECT name FROM students;
	ROLLBACK;});
like($err, qr/ERROR:  childguard.child does not have the layout of any childguard version this library serves\nDETAIL:  The database has childguard version 1\.9 installed; Column 2 is not "child_id" of type text/,
	'a registry with an unknown layout is refused (ZC140) before any numbered read, naming the version');
is($out, '', '... and nothing is read');
is($node->safe_psql('v10', q{SET ROLE ver_app; SET childguard.purpose = 'tutoring';
	SELECT name FROM students}), 'at-1.2', 'and reads work again once it is back');

# ---- one C entry point, one SQL signature ------------------------------------
# Across every version's install, a C symbol is bound to one signature only:
# a signature change must name a new entry point (cg_foo_1_2), so that the
# library serves databases not yet updated (sql/README.md).
$node->safe_psql('postgres', 'CREATE DATABASE v11c');
$node->safe_psql('v11c', "CREATE EXTENSION childguard VERSION '1.1' CASCADE");
my %bound;
for my $db ('v10b', 'v11c', 'fresh')
{
	for my $line (split /\n/, $node->safe_psql($db, q{
		SELECT prosrc || '|' || proname || '(' || pg_get_function_arguments(oid) || ') -> '
		       || pg_get_function_result(oid)
		  FROM pg_proc
		 WHERE prolang = (SELECT oid FROM pg_language WHERE lanname = 'c')
		   AND pronamespace = 'childguard'::regnamespace}))
	{
		my ($symbol, $signature) = split /\|/, $line, 2;
		$bound{$symbol}{$signature}{$db} = 1;
	}
}
my @rebound = grep { keys %{ $bound{$_} } > 1 } sort keys %bound;
cmp_ok(scalar(keys %bound), '>', 25, 'the C entry points of 1.0, 1.1 and 1.2 were collected');
is_deeply(\@rebound, [], 'no C entry point is bound to two different SQL signatures across versions');
ok(exists $bound{cg_verify_access_log}{'verify_access_log(OUT valid boolean, OUT records_checked bigint, OUT broken_id bigint, OUT reason text) -> record'}{v11c}
	  && exists $bound{cg_verify_access_log_1_2} && !exists $bound{cg_verify_access_log_1_2}{v11c},
	'verify_access_log: the 1.0/1.1 entry point and the 1.2 one');

$node->stop;
done_testing();
