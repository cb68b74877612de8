# Red team (round 19): child plaintext quoted by an error reaches the
# server log.  A lawful reader's statement that fails on a value
# (name::text::int, ::date, ::jsonb, ::regclass, xmlparse) or RAISEs it
# produces an ERROR or WARNING whose message, detail or context quotes the
# plaintext; PostgreSQL writes that report to the server log (stderr,
# csvlog, jsonlog), where log readers and shippers see it.
#
# Phase "on" (the default childguard.statement_masking): no marker in any
# log file.  Phase "off" (statement_masking = off, PostgreSQL's behaviour,
# which the old code had for these reports whatever the setting): the same
# statements with fresh markers, and each marker IS in the log -- so each
# route is real and the scan finds what it looks for.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::RealBin/../lib";
use PostgreSQL::Test::Utils;
use Test::More;
use ChildguardNode qw(new_node consent_all);

my ($node) = new_node('error_values', start => 1, extra_conf => q{
logging_collector = on
log_destination = 'stderr,csvlog,jsonlog'
log_directory = 'log'
log_error_verbosity = verbose
});
$node->safe_psql('postgres', q{
	CREATE EXTENSION childguard CASCADE;
	SELECT childguard.register_child('v-1', '2015-05-01');
	CREATE TABLE pupils (id text PRIMARY KEY, name childguard.child_data(name));
	SELECT childguard.protect('pupils', 'id');
});
consent_all($node, 'postgres');

# the routes, each with its own marker in the value it reads
my @routes = (
	[ 'int',      q{SELECT name::text::int FROM pupils} ],
	[ 'date',     q{SELECT name::text::date FROM pupils} ],
	[ 'jsonb',    q{SELECT (name::text)::jsonb FROM pupils} ],
	[ 'regclass', q{SELECT name::text::regclass FROM pupils} ],
	[ 'xml',      q{SELECT xmlparse(content '<' || name::text) FROM pupils} ],
	[ 'raise',    q{DO $$DECLARE n text; BEGIN SELECT name::text INTO n FROM pupils;
	                RAISE EXCEPTION 'bad %', n USING DETAIL = n, HINT = n; END$$} ],
	[ 'warning',  q{DO $$DECLARE n text; BEGIN SELECT name::text INTO n FROM pupils;
	                RAISE WARNING 'warned %', n; END$$} ],
);

sub log_text
{
	my $dir = $node->data_dir . '/log';
	my $all = '';
	opendir(my $dh, $dir) or die "no log directory: $!";
	$all .= slurp_file("$dir/$_") for grep { -f "$dir/$_" } readdir $dh;
	closedir $dh;
	return $all;
}

# one phase: write each route's marker as the value, run the route
sub run_phase
{
	my ($phase) = @_;
	my %markers;
	for my $r (@routes)
	{
		my ($name, $sql) = @$r;
		my $marker = "Mk${phase}x$name";
		$markers{$name} = $marker;
		$node->safe_psql('postgres', qq{
			SET childguard.purpose = 'regress';
			UPDATE pupils SET name = '$marker' WHERE id = 'v-1';
		});
		# (the UPDATE's own text is masked in the log: the marker is a constant)
		$node->psql('postgres', "SET childguard.purpose = 'regress';\n$sql;");
	}
	# the log collector writes asynchronously
	$node->safe_psql('postgres', 'SELECT pg_sleep(1)');
	return %markers;
}

my %on = run_phase('on');
my $log = log_text();
for my $r (@routes)
{
	my $name = $r->[0];
	unlike($log, qr/$on{$name}/, "masking on: the $name route's value is not in the server log");
}

$node->safe_psql('postgres', q{
	ALTER SYSTEM SET childguard.statement_masking = off;
	SELECT pg_reload_conf();
});
my %off = run_phase('off');
$log = log_text();
for my $r (@routes)
{
	my $name = $r->[0];
	like($log, qr/$off{$name}/, "masking off (the old behaviour): the $name route's value is in the server log");
}

$node->stop;
done_testing();
