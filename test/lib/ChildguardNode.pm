# ChildguardNode: PostgreSQL::Test::Cluster nodes set up for childguard.
#
#   use FindBin;
#   use lib "$FindBin::RealBin/../lib";
#   use ChildguardNode;
#   my ($node, $keyfile) = ChildguardNode::new_node('primary');
#   $node->start;
#
# The master key file lives under $PostgreSQL::Test::Utils::tmp_check, never
# inside the data directory (it must not travel with base backups).
package ChildguardNode;

use strict;
use warnings;

use Carp;
use Exporter 'import';
use Fcntl qw(O_WRONLY O_CREAT O_TRUNC);
use File::Basename ();
use File::Spec;
use File::Temp ();
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

our @EXPORT_OK = qw(new_node write_key random_key_hex consent_all
  protected_students hostile_versions_refused create_1_0_database);

# 64 lowercase hex chars (256 bits) from the kernel's CSPRNG.
sub random_key_hex
{
	open my $fh, '<:raw', '/dev/urandom' or croak "open /dev/urandom: $!";
	my $got = read($fh, my $buf, 32);
	close $fh;
	croak "short read from /dev/urandom" unless defined $got && $got == 32;
	return unpack('H*', $buf);
}

# write_key($path [, $hex]): write "$hex\n" to $path with mode 0600
# (a fresh random key when $hex is undef).  Returns $path.
sub write_key
{
	my ($path, $hex) = @_;
	croak "write_key: path required" unless defined $path;
	$hex = random_key_hex() unless defined $hex;
	unlink $path;    # so O_CREAT's mode applies
	sysopen(my $fh, $path, O_WRONLY | O_CREAT | O_TRUNC, 0600)
	  or croak "cannot create key file $path: $!";
	print $fh "$hex\n" or croak "write $path: $!";
	close $fh or croak "close $path: $!";
	chmod 0600, $path or croak "chmod $path: $!";
	return $path;
}

# new_node($name, %opts) -> ($node, $keyfile)
#
# Creates and inits a node, writes a fresh key file outside its data
# directory and appends the childguard settings to postgresql.conf.
# Options (all optional):
#   key_hex    => '...'   use this key instead of a random one
#   preload    => 0       do not preload childguard (default 1)
#   extra_conf => '...'   more postgresql.conf lines, appended last
#   start      => 1       also start the node
# Any other option is passed to $node->init (e.g. allows_streaming => 1).
sub new_node
{
	my ($name, %opts) = @_;
	croak "new_node: name required" unless defined $name;

	my $key_hex    = delete $opts{key_hex};
	my $preload    = exists $opts{preload} ? delete $opts{preload} : 1;
	my $extra_conf = delete $opts{extra_conf};
	my $start      = delete $opts{start};

	my $node = PostgreSQL::Test::Cluster->new($name);
	$node->init(%opts);

	# Absolute path: the server resolves relative paths against PGDATA.
	my $base = File::Spec->rel2abs($PostgreSQL::Test::Utils::tmp_check);
	my $keydir =
	  File::Temp::tempdir("keys_${name}_XXXX", DIR => $base, CLEANUP => 0);
	chmod 0700, $keydir;
	my $keyfile = write_key("$keydir/master.key", $key_hex);

	(my $quoted = $keyfile) =~ s/'/''/g;
	my $conf = '';
	# The documented settings (test/childguard.conf, the same as `make
	# installcheck` and `make check`'s cluster use); then this node's own
	# key file, which overrides the file's relative one.
	if ($preload)
	{
		my $documented = File::Spec->rel2abs(
			File::Basename::dirname(__FILE__) . '/../childguard.conf');
		$conf .= "\n# test/childguard.conf\n" . PostgreSQL::Test::Utils::slurp_file($documented);
	}
	$conf .= "\n# Added by ChildguardNode\n";
	$conf .= "childguard.master_key_file = '$quoted'\n";
	$conf .= "max_prepared_transactions = 10\n";
	$conf .= "$extra_conf\n" if defined $extra_conf;
	$node->append_conf('postgresql.conf', $conf);

	$node->start if $start;
	return ($node, $keyfile);
}

# consent_all($node, $dbname): set up purpose "regress" (every category),
# its notice and an approved grant for the connecting role (see
# test/fixtures/regress_purpose.psql), then record, through the API and as
# the consent recorder regress_fixture_recorder (the role holding the grant
# may not record consents: separation of duties), the consent each
# registered child needs.  Sessions then read and write with
# SET childguard.purpose = 'regress'.  Returns the number of consents made.
sub consent_all
{
	my ($node, $dbname) = @_;
	my $fixture = File::Spec->rel2abs(
		File::Basename::dirname(__FILE__) . '/../fixtures/regress_purpose.psql');
	my ($stdout, $stderr);
	my $ret = $node->psql(
		$dbname, "\\i $fixture\nSELECT pg_temp.consent_all();",
		stdout => \$stdout, stderr => \$stderr, on_error_stop => 1);
	croak "consent fixture failed: $stderr" if $ret != 0;
	return (split /\n/, $stdout)[-1];
}


# protected_students($node, $dbname): child "7" registered, table students
# (id bigint, name child_data) protected with "name" of category name, the
# consents of consent_all(), and one row (7, $name) written under purpose
# "regress" (TAP 221, 401).
sub protected_students
{
	my ($node, $dbname, $name) = @_;
	$node->safe_psql($dbname, q{
		CREATE EXTENSION childguard CASCADE;
		SELECT childguard.register_child('7', '2016-03-01');
		CREATE TABLE students (id bigint PRIMARY KEY, name childguard.child_data);
		SELECT childguard.protect('students', 'id', '{"name": "name"}');
	});
	consent_all($node, $dbname);
	$node->safe_psql($dbname, qq{
		SET childguard.purpose = 'regress';
		INSERT INTO students VALUES (7, '$name');});
	return;
}

# hostile_versions_refused($node, $dbname, $extension, \%expect, $what):
# the fixture extension (test/fixtures/extension, installed by run-check.sh
# for the TAP suite) has one version per attack on childguard from an
# install script; each CREATE EXTENSION ... VERSION must fail with its
# SQLSTATE ($expect{version}) and leave the extension uninstalled.  $what
# names the attack in the test names, with %s for the version.
sub hostile_versions_refused
{
	my ($node, $dbname, $ext, $expect, $what) = @_;
	is($node->safe_psql($dbname,
		"SELECT count(*) FROM pg_available_extension_versions WHERE name = '$ext'"),
		scalar(keys %$expect), 'the hostile fixture extension is installed');
	for my $v (sort keys %$expect)
	{
		my ($ret, $out, $err) = $node->psql($dbname,
			"\\set VERBOSITY sqlstate\nCREATE EXTENSION $ext VERSION '$v';");
		like($err, qr/ERROR:  $expect->{$v}/,
			sprintf($what, $v) . " ($expect->{$v})");
		is($node->safe_psql($dbname,
			"SELECT count(*) FROM pg_extension WHERE extname = '$ext'"), '0',
			'... and it is not installed');
	}
	return;
}

# create_1_0_database($node, $dbname, $prefix, $name, $school): childguard
# created at 1.0 and given data through the 1.0 interface only (TAP 010,
# 011): officers ${prefix}dpo and ${prefix}dpo2 and application
# ${prefix}app (roles the caller created), purpose "tutoring" with notice
# "privacy", child "42" with guardian "g-7" and consent, grant 1 approved,
# table students (id, name, school, grade) protected, and the row
# ('42', $name, $school, 3) written by the application.
sub create_1_0_database
{
	my ($node, $dbname, $p, $name, $school) = @_;
	$node->safe_psql($dbname, qq{
		GRANT CREATE ON SCHEMA public TO ${p}app;
		CREATE EXTENSION childguard VERSION '1.0' CASCADE;
		SELECT childguard.appoint_officer('${p}dpo');
		SELECT childguard.appoint_officer('${p}dpo2');
		SELECT childguard.enroll_application('${p}app');
		SET ROLE ${p}dpo;
		SELECT childguard.define_purpose('tutoring', '{name,school}', '2 years');
		SELECT childguard.publish_notice('privacy', '{tutoring}', 'what', 'where', 'how safe',
		       'if refused', 'complaints', 'correction', 'other');
		SET ROLE ${p}app;
		SELECT childguard.register_child('42', birth_date => '2015-05-01');
		SELECT childguard.register_guardian('g-7', child => '42');
		SELECT childguard.record_consent(child => '42', purpose => 'tutoring',
		       notice => 'privacy', given_by => 'g-7');
		SELECT childguard.request_access('${p}app', purposes => '{tutoring}',
		       valid_until => now() + interval '1 year');
		SET ROLE ${p}dpo2;
		SELECT childguard.approve_access(1);
		SET ROLE ${p}app;
		CREATE TABLE students (id text PRIMARY KEY, name childguard.child_data,
		                       school childguard.child_data, grade int);
		SELECT childguard.protect('students', subject_column => 'id',
		       categories => '{"name": "name", "school": "school"}');
		SET childguard.purpose = 'tutoring';
		INSERT INTO students VALUES ('42', '$name', '$school', 3);
	});
	return;
}


# extension_members_sql(): a query listing every member object of
# childguard, with its definition (hashed), privileges, comment and, for
# relations, each column's type, NOT NULL, default, privileges and comment
# -- compared between an updated and a fresh install (TAP 010, 011).  Role
# names are the same in both databases (roles are cluster-wide).
sub extension_members_sql
{
	return q{
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
	                                                     || ':' || attnotnull || ':' || atthasdef
	                                                     || ':' || coalesce(attacl::text, '')
	                                                     || ':' || coalesce(col_description(objid, attnum), ''),
	                                                     ',' ORDER BY attname)
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
}

# extension_attachments_sql(): the triggers, constraints, row policies and
# indexes on the extension's own tables (TAP 010, 011).
sub extension_attachments_sql
{
	return q{
	SELECT c.relname || ' ' || t.tgname || ' ' || md5(pg_get_triggerdef(t.oid))
	  FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
	 WHERE c.relnamespace = 'childguard'::regnamespace AND NOT t.tgisinternal
	UNION ALL
	SELECT conrelid::regclass || ' ' || conname || ' ' || md5(pg_get_constraintdef(oid))
	  FROM pg_constraint WHERE connamespace = 'childguard'::regnamespace
	UNION ALL
	SELECT tablename || ' ' || policyname || ' ' || md5(coalesce(qual, '') || coalesce(with_check, '')
	       || roles::text || cmd || permissive)
	  FROM pg_policies WHERE schemaname = 'childguard'
	UNION ALL
	SELECT tablename || ' ' || indexname || ' ' || md5(indexdef)
	  FROM pg_indexes WHERE schemaname = 'childguard'
	ORDER BY 1};
}

# For the scale-out tests (test/t-long/3xx_citus_*): skip unless childguard
# and Citus are installed in PG_CONFIG's library directory; fail when
# run-check found Citus's source but could not build it.
sub require_citus
{
	my $pg_config = $ENV{PG_CONFIG} // 'pg_config';
	chomp(my $pkglibdir = `$pg_config --pkglibdir`);
	plan skip_all => "childguard.so is not installed in $pkglibdir"
	  unless -e "$pkglibdir/childguard.so";
	if ($ENV{CG_CITUS_BUILD_FAILED})
	{
		plan tests => 1;
		fail("Citus's source was found but its build failed (see the check's output)");
		exit 1;
	}
	plan skip_all =>
	  "Citus is not installed in $pkglibdir (make check-long builds it with ../shared/citus/build.sh; set CG_CITUS_DIR if it lives elsewhere)"
	  unless -e "$pkglibdir/citus.so";
	return;
}

1;
