# ChildguardLoad: audited load for the fault and load tests (issue 9).
#
#   use ChildguardLoad qw(setup_children start_load finish_load ...);
#
# setup_children($node, $db, $n): the extension, $n children ('1'..'$n')
# with consent for purpose "regress", and students(id, name) holding a name
# for each; plus $n_unconsented children without consent (rows hidden:
# reads of them are denied) when asked.
# start_load($node, $db, %opt): pgbench in the background with scripts
# from write_scripts(); finish_load() waits for it and returns the
# per-script transaction counts as pgbench reported them.
package ChildguardLoad;

use strict;
use warnings;

use Carp;
use Exporter 'import';
use IPC::Run ();
use PostgreSQL::Test::Utils;

use lib File::Basename::dirname(__FILE__);
use ChildguardNode qw(consent_all);

our @EXPORT_OK = qw(setup_children start_load finish_load script_file
  queue_drained records_where wait_ready mixed_load);

# setup_children($node, $db, $consented, $unconsented)
sub setup_children
{
	my ($node, $db, $n, $n_without) = @_;
	$n_without //= 0;
	$node->safe_psql($db, qq{
		CREATE EXTENSION IF NOT EXISTS childguard CASCADE;
		SELECT childguard.register_child(i::text, '2015-05-01') FROM generate_series(1, $n) i;
		CREATE TABLE students (id text PRIMARY KEY, name childguard.child_data(name), plain text);
		SELECT childguard.protect('students', 'id');
		CREATE TABLE notes (id bigserial, child text NOT NULL, note childguard.child_data(name));
		SELECT childguard.protect('notes', 'child');
	});
	consent_all($node, $db);
	$node->safe_psql($db, qq{
		SET childguard.purpose = 'regress';
		INSERT INTO students SELECT i::text, 'name ' || i, 'plain ' || i FROM generate_series(1, $n) i;
	});
	if ($n_without > 0)
	{
		# registered, rows present (inserted while consented), consent then withdrawn
		my $from = $n + 1;
		my $to = $n + $n_without;
		$node->safe_psql($db, qq{
			SELECT childguard.register_child(i::text, '2015-05-01') FROM generate_series($from, $to) i;
		});
		consent_all($node, $db);
		$node->safe_psql($db, qq{
			SET childguard.purpose = 'regress';
			INSERT INTO students SELECT i::text, 'name ' || i, 'plain ' || i FROM generate_series($from, $to) i;
			SET ROLE regress_fixture_recorder;    -- consents are entered by the recorder
			SELECT childguard.withdraw_consent(i::text, 'regress', 'g-' || i) FROM generate_series($from, $to) i;
			RESET ROLE;
		});
	}
	return;
}

# script_file($name, $text): a pgbench script in a temp dir; returns its path.
my $script_dir;
my $load_no = 0;
sub script_file
{
	my ($name, $text) = @_;
	$script_dir //= PostgreSQL::Test::Utils::tempdir();
	my $path = "$script_dir/$name.sql";
	open my $fh, '>', $path or croak "cannot write $path: $!";
	print $fh $text;
	close $fh;
	return $path;
}

# start_load($node, $db, scripts => [[path, weight], ...], clients => n,
#            seconds => s, appname => 'load')
sub start_load
{
	my ($node, $db, %opt) = @_;
	my $clients = $opt{clients} // 4;
	my $threads = $clients < 2 ? 1 : 2;
	my @files = map { ('-f', "$_->[0]\@$_->[1]") } @{ $opt{scripts} };
	my %load = (out => '', err => '', nscripts => scalar @{ $opt{scripts} });
	# per-transaction logs: pgbench's per-script summary can miss a few
	# transactions of a -T run; its log has every completed one
	$script_dir //= PostgreSQL::Test::Utils::tempdir();
	$load{log_prefix} = "$script_dir/txlog" . ++$load_no;
	# denied values read as NULL (the load runs as a superuser, who sees
	# every row): a denied read is a record, not an error that ends a client
	local $ENV{PGOPTIONS} = '-c childguard.purpose=regress -c childguard.denied_read=null';
	local $ENV{PGAPPNAME} = $opt{appname} // 'load';
	$load{handle} = IPC::Run::start(
		[
			'pgbench', '-n', '-c', $clients, '-j', $threads,
			'-T', $opt{seconds} // 60, @files,
			'-l', "--log-prefix=$load{log_prefix}",
			'-h', $node->host, '-p', $node->port, $db
		],
		'>', \$load{out}, '2>', \$load{err});
	return \%load;
}

# finish_load($load): wait for pgbench; returns (total processed,
# [per-script counts in the order given, from the per-transaction logs],
# aborted clients)
sub finish_load
{
	my ($load) = @_;
	eval { $load->{handle}->finish; };
	my ($total) = $load->{out} =~ /number of transactions actually processed: (\d+)/;
	croak "pgbench printed no count:\n$load->{out}\n$load->{err}" unless defined $total;
	# completed transactions per script, from the per-transaction logs
	# (client_id transaction_no time script_no ...)
	my @per = (0) x $load->{nscripts};
	my $logged = 0;
	for my $f (glob("$load->{log_prefix}.*"))
	{
		open my $fh, '<', $f or croak "cannot read $f: $!";
		while (my $line = <$fh>)
		{
			my @c = split ' ', $line;
			next unless @c >= 4 && $c[3] =~ /^\d+$/;
			$per[ $c[3] ]++;
			$logged++;
		}
		close $fh;
	}
	Test::More::note("pgbench reported $total transactions, its logs hold $logged")
	  if $logged != $total;
	my $aborted = () = $load->{err} =~ /client \d+ (?:script \d+ )?aborted/g;
	return ($total, \@per, $aborted);
}

# wait_ready($node): wait until the server accepts connections again after
# a crash (pg_isready: poll_query_until can die of a broken pipe when psql
# exits before reading its query during the restart).
sub wait_ready
{
	my ($node) = @_;
	for (my $i = 0; $i < 10 * $PostgreSQL::Test::Utils::timeout_default; $i++)
	{
		# ready may be seen just before the postmaster starts its crash
		# cycle: a connection refused then ("in recovery mode") is retried
		return 1
		  if system('pg_isready', '-q', '-h', $node->host, '-p', $node->port) == 0
		  && (eval { $node->safe_psql('postgres', 'SELECT 1') } // '') eq '1';
		select(undef, undef, undef, 0.1);
	}
	croak 'the server did not come back';
}

# queue_drained($node): wait until nothing is queued.
sub queue_drained
{
	my ($node) = @_;
	return $node->poll_query_until('postgres',
		'SELECT queued_records = 0 FROM childguard.audit_queue_status');
}

sub records_where
{
	my ($node, $db, $where) = @_;
	return $node->safe_psql($db, "SELECT count(*) FROM childguard.access_log WHERE $where");
}

# mixed_load($node, seconds => s, clients => n): the issue-9 mixed load in
# database postgres, set up with setup_children($node, 'postgres', 52, 5)
# (children 1..20 read and written, 21..52 one per client whose consent
# is withdrawn and given again, 53..57 withdrawn: denied).  Tests that the
# records equal, exactly, the statements that touched child data as the
# clients counted them, per outcome; the chain verifies.
sub mixed_load
{
	my ($node, %opt) = @_;
	my $clients = $opt{clients} // 32;
	my $app = $opt{appname} // 'mixed';
	my @scripts = (
		[ 'read', 4, "\\set id random(1, 20)\nSELECT name FROM students WHERE id = :id::text;\n" ],
		[ 'denied', 1, "\\set id random(53, 57)\nSELECT name FROM students WHERE id = :id::text;\n" ],
		[ 'write', 2, "\\set id random(1, 20)\nINSERT INTO notes (child, note) VALUES (:id::text, 'a note');\n" ],
		[
			'toggle', 1,
			"\\set c 21 + (:client_id % 32)\n"
			  . "SET ROLE regress_fixture_recorder;\n"
			  . "SELECT childguard.withdraw_consent(:c::text, 'regress', 'g-' || :c);\n"
			  . "RESET ROLE;\n"
			  . "SELECT name FROM students WHERE id = :c::text;\n"
			  . "SET ROLE regress_fixture_recorder;\n"
			  . "SELECT childguard.record_consent(:c::text, 'regress', 'regress-notice', 'g-' || :c, guardian_informed => 'g-' || :c);\n"
			  . "RESET ROLE;\n"
			  . "SELECT name FROM students WHERE id = :c::text;\n"
		],
		[
			'plain', 2,
			"\\set id random(1, 57)\nSELECT plain FROM students WHERE id = :id::text;\n"
			  . "SELECT count(*) FROM pg_class;\nSELECT id FROM students WHERE id = :id::text;\n"
		]);
	my @files = map { [ script_file("mixed_$_->[0]", $_->[2]), $_->[1] ] } @scripts;
	my $load = start_load($node, 'postgres', scripts => \@files,
		clients => $clients, seconds => $opt{seconds}, appname => $app);
	my ($total, $per, $aborted) = finish_load($load);
	Test::More::is($aborted, 0, "mixed load: no client failed ($clients clients, $opt{seconds} s)")
	  or Test::More::diag($load->{err});
	my %n;
	@n{ map { $_->[0] } @scripts } = @$per;
	Test::More::note(join ', ', map { "$_ $n{$_}" } map { $_->[0] } @scripts);
	Test::More::cmp_ok($n{$_}, '>', 0, "mixed load: $_ statements ran ($n{$_})")
	  for map { $_->[0] } @scripts;
	queue_drained($node);
	my $where = "application_name = '$app'";
	Test::More::is(records_where($node, 'postgres', $where),
		$n{read} + $n{denied} + $n{write} + 2 * $n{toggle},
		'mixed load: records = statements that touched child data, exactly');
	Test::More::is(records_where($node, 'postgres', "$where AND outcome = 'allowed'"),
		$n{read} + $n{write} + $n{toggle},
		'mixed load: allowed records = reads, writes and reads after consent was given again');
	Test::More::is(records_where($node, 'postgres', "$where AND outcome = 'denied'"),
		$n{denied} + $n{toggle},
		'mixed load: denied records = reads of withdrawn children, each right after its withdrawal');
	Test::More::is(records_where($node, 'postgres',
			"$where AND cardinality(children_written) = 1 AND command = 'INSERT'"),
		$n{write}, 'mixed load: each write is recorded with its child');
	Test::More::is(records_where($node, 'postgres', "$where AND outcome = 'error'"),
		0, 'mixed load: no statement failed');
	# a statement is its session and start time: none recorded twice
	Test::More::is(
		$node->safe_psql('postgres',
			"SELECT count(*) FROM (SELECT 1 FROM childguard.access_log WHERE $where "
			  . "GROUP BY session_id, statement_at HAVING count(*) > 1) d"),
		'0', 'mixed load: no statement recorded twice');
	Test::More::is($node->safe_psql('postgres', 'SELECT valid FROM childguard.verify_access_log()'),
		't', 'mixed load: the chain verifies');
	return \%n;
}

1;
