# The consent log's events written the way COPY FROM writes them (1.7,
# src/consent/consent_log_append.c) must not bypass what an INSERT into
# the log passes through: PostgreSQL's permission check calls
# ExecutorCheckPerms_hook, by which another module checks or audits each
# write (sepgsql's mandatory access control, pgaudit's WRITE class and
# object audit).  With pgaudit loaded and pgaudit.log = 'write', every
# recording of consent -- row by row and set-based -- must show its INSERT
# into childguard.consent_log in pgaudit's trail, as in 1.6; on 1.7 the
# direct route wrote the events with no such entry (docs/security.md,
# "Attacks on the 1.7 fast paths").
use strict;
use warnings;

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
plan skip_all => "pgaudit is not installed in $pkglibdir"
  unless -e "$pkglibdir/pgaudit.so";

my ($node) = ChildguardNode::new_node('clpa',
	extra_conf => "shared_preload_libraries = 'childguard,pgaudit'\n"
	  . "pgaudit.log = 'write'\n",
	start => 1);
$node->safe_psql(
	'postgres', q{
	CREATE EXTENSION childguard CASCADE;
	SELECT count(childguard.register_child('a-' || i, (current_date - interval '16 years')::date))
	  FROM generate_series(1, 6) i;
});
ChildguardNode::consent_all($node, 'postgres');

# each recording: the log's new events, and pgaudit's INSERTs into the log
sub recorded
{
	my ($what, $sql) = @_;
	my $before = $node->safe_psql('postgres', 'SELECT last_id FROM childguard.consent_log_head');
	my $offset = -s $node->logfile;
	$node->safe_psql('postgres', $sql);
	my $events = $node->safe_psql('postgres',
		"SELECT count(*) FROM childguard.consent_log WHERE event_id > $before");
	my $log = slurp_file($node->logfile, $offset);
	my $inserts = () = $log =~ /AUDIT: SESSION,\d+,\d+,WRITE,INSERT,[^\n]*INSERT INTO childguard\.consent_log /g;
	ok($events > 0, "$what: $events events");
	ok($inserts > 0, "$what: pgaudit's trail has the INSERT into the log ($inserts)");
	return;
}

recorded('one consent', q{
	SET ROLE regress_fixture_recorder;
	SELECT childguard.record_consent('a-1', 'regress', 'regress-notice', 'a-1', 'granted');
});
recorded('set-based', q{
	CREATE TABLE public.k AS
		SELECT 'a-' || i AS child_id, 'regress' AS purpose, 'regress-notice'::text AS notice,
		       'a-' || i AS given_by
		  FROM generate_series(2, 6) i;
	GRANT SELECT ON public.k TO regress_fixture_recorder;
	SET ROLE regress_fixture_recorder;
	SELECT count(consent_id) FROM childguard.record_consents('public.k');
});
is($node->safe_psql('postgres', 'SELECT valid FROM childguard.verify_consent_log()'),
	't', 'the chain verifies');

$node->stop;
done_testing();
