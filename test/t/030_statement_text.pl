# Acceptance (issue 8, item 4): statement text and parameters never carry
# child plaintext out of the backend.
#
# Every setting that copies statement text or parameters somewhere is on:
# log_statement = all, log_min_duration_statement = 0, log_min_error_statement
# = info, full bind-parameter logging (also on error), verbose errors,
# stderr + csvlog + jsonlog, auto_explain (analyze, verbose, nested),
# pg_stat_statements (track = all, utility) and pgaudit (log = all,
# log_parameter, log_relation).  Each route by which child data can travel
# in a statement -- a literal, a bound parameter, a function argument, a DO
# block, PREPARE/EXECUTE, a multi-statement string, COPY data, a comparison,
# E''/dollar/U&'' quoting, a number, errors before and after parsing,
# constraint failures -- writes its own marker, through the simple and the
# extended protocol (pgbench -M extended / prepared), allowed and refused.
#
# Phase "on" (the default childguard.statement_masking = child_data) and
# phase "all" (every statement masked): no
# marker is found in any server log file (stderr, csvlog, jsonlog), in
# pg_stat_statements (the view, read by a superuser and by a
# pg_read_all_stats role, and its query-texts file on disk), or in
# pg_stat_activity read by a pg_read_all_stats role, an idle session's last
# statement included.
#
# Phase "off" (statement_masking = off, i.e. PostgreSQL's behaviour, the
# old code): the same routes run again with fresh markers, and each route's
# marker IS found somewhere -- so every route above is a real leak that the
# "on" phase proves closed, and the scans can find what they look for.
use strict;
use warnings;

use FindBin;
use lib "$FindBin::RealBin/../lib";

use File::Find;
use IPC::Run;
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

# new_stmttext_node($name, $preload): a node with every setting on, the
# schema, children and consents of this test.
sub new_stmttext_node
{
	my ($name, $preload) = @_;
	my ($n) = ChildguardNode::new_node(
		$name,
		extra_conf => qq{
shared_preload_libraries = '$preload'
logging_collector = on
log_destination = 'stderr,csvlog,jsonlog'
log_directory = 'log'
log_statement = 'all'
log_min_duration_statement = 0
log_min_error_statement = info
log_parameter_max_length = -1
log_parameter_max_length_on_error = -1
log_error_verbosity = verbose
compute_query_id = on
track_activity_query_size = 4096
log_lock_waits = on
deadlock_timeout = '200ms'
wal_level = replica
max_wal_senders = 4
auto_explain.log_min_duration = 0
auto_explain.log_analyze = on
auto_explain.log_verbose = on
auto_explain.log_nested_statements = on
pg_stat_statements.track = all
pg_stat_statements.track_utility = on
pgaudit.log = 'all'
pgaudit.log_parameter = on
pgaudit.log_relation = on
pgaudit.log_catalog = off
	});
	$n->start;

	$n->safe_psql(
		'postgres', q{
		CREATE EXTENSION childguard CASCADE;
		CREATE EXTENSION pg_stat_statements;
		CREATE EXTENSION pgaudit;
		SELECT count(childguard.register_child(i::text, '2015-01-01'))
		  FROM generate_series(1, 400) i;
	});
	ChildguardNode::consent_all($n, 'postgres');
	$n->safe_psql(
		'postgres', q{
		CREATE TABLE students (id bigint PRIMARY KEY,
		                       name childguard.child_data,
		                       grade int NOT NULL);
		SELECT childguard.protect('students', 'id', '{"name": "name"}');
		CREATE TABLE loose (id int, name childguard.child_data);
		CREATE FUNCTION ins_student(i bigint, n text) RETURNS void
		  LANGUAGE plpgsql AS $f$
		  BEGIN INSERT INTO students VALUES (i, n, 1); END $f$;
		CREATE FUNCTION ins_phone(i bigint, p bigint) RETURNS void
		  LANGUAGE plpgsql AS $f$
		  BEGIN INSERT INTO students VALUES (i, p::text, 1); END $f$;
		CREATE PROCEDURE add_student(i bigint, n text)
		  LANGUAGE plpgsql AS $f$
		  BEGIN INSERT INTO students VALUES (i, n, 1); END $f$;
		CREATE TABLE inbox (id bigint, name text);
		CREATE FUNCTION inbox_copy() RETURNS trigger LANGUAGE plpgsql AS $f$
		  BEGIN INSERT INTO students VALUES (NEW.id, NEW.name, 1); RETURN NULL; END $f$;
		CREATE TRIGGER inbox_copy AFTER INSERT ON inbox
		  FOR EACH ROW EXECUTE FUNCTION inbox_copy();
		CREATE ROLE regress_stats LOGIN IN ROLE pg_read_all_stats;
	});
	return $n;
}
my $node = new_stmttext_node('stmttext', 'childguard,pg_stat_statements,auto_explain,pgaudit');

my $PURPOSE = "SET childguard.purpose = 'regress';";

sub rand_hex { return substr(ChildguardNode::random_key_hex(), 0, 12) }

# psql_c($sql, $stdin): one simple-query message (psql -c), errors allowed.
sub psql_c
{
	my ($sql, $stdin) = @_;
	my ($out, $err) = ('', '');
	IPC::Run::run(
		[ 'psql', '-X', '-q', '-d', $node->connstr('postgres'), '-c', $sql ],
		'<', \($stdin // ''), '>', \$out, '2>', \$err);
	return $out . $err;
}

# psql_f($sql): a script, each statement its own message, errors allowed.
sub psql_f
{
	my ($sql) = @_;
	my ($out, $err) = ('', '');
	IPC::Run::run([ 'psql', '-X', '-q', '-d', $node->connstr('postgres'), '-f', '-' ],
		'<', \$sql, '>', \$out, '2>', \$err);
	return $out . $err;
}

# pgbench_run($mode, $script, %vars): the extended protocol, parameters bound.
sub pgbench_run
{
	my ($mode, $script, %vars) = @_;
	my $file = $node->basedir . '/bench_' . rand_hex() . '.sql';
	PostgreSQL::Test::Utils::append_to_file($file, $script);
	my ($out, $err) = ('', '');
	IPC::Run::run(
		[
			'pgbench', '-n', '-t', '1', '-M', $mode, '-f', $file,
			(map { ('-D', "$_=$vars{$_}") } sort keys %vars),
			$node->connstr('postgres')
		],
		'>', \$out, '2>', \$err);
	return $out . $err;
}

# Every route: name => sub($marker, $id) that sends it.  $id is free.
my @routes = (
	[ insert_allowed => sub { psql_f("$PURPOSE INSERT INTO students VALUES ($_[1], '$_[0]', 1);") } ],
	[ insert_refused_no_purpose => sub { psql_f("INSERT INTO students VALUES ($_[1], '$_[0]', 1);") } ],
	[ insert_refused_unprotected => sub { psql_f("INSERT INTO loose VALUES (1, '$_[0]');") } ],
	[ compare_allowed => sub { psql_f("$PURPOSE SELECT count(*) FROM students WHERE name = '$_[0]';") } ],
	[ compare_no_purpose => sub { psql_f("SELECT count(*) FROM students WHERE name = '$_[0]';") } ],
	[ update_where => sub { psql_f("$PURPOSE UPDATE students SET grade = 2 WHERE name = '$_[0]';") } ],
	[ function_argument => sub { psql_f("$PURPOSE SELECT ins_student($_[1], '$_[0]');") } ],
	[ function_refused => sub { psql_f("SELECT ins_student($_[1], '$_[0]');") } ],
	[ do_block => sub { psql_f("$PURPOSE DO \$\$ BEGIN INSERT INTO students VALUES ($_[1], '$_[0]', 1); END \$\$;") } ],
	[ do_block_refused => sub { psql_f("DO \$\$ BEGIN INSERT INTO loose VALUES (1, '$_[0]'); END \$\$;") } ],
	[ prepare_text => sub { psql_f("$PURPOSE PREPARE p AS INSERT INTO students VALUES ($_[1], '$_[0]', 1); EXECUTE p;") } ],
	[ execute_literal => sub { psql_f("$PURPOSE PREPARE p(bigint, text) AS INSERT INTO students VALUES (\$1, \$2, 1); EXECUTE p($_[1], '$_[0]');") } ],
	[ multi_statement => sub { psql_c("$PURPOSE SELECT 1; INSERT INTO students VALUES ($_[1], '$_[0]', 1); SELECT 2") } ],
	[ multi_statement_refused => sub { psql_c("SELECT 1; INSERT INTO loose VALUES (1, '$_[0]'); SELECT 2") } ],
	# COPY data is not statement text: nothing logs it, masked or not
	[ copy_data => sub { psql_f("$PURPOSE COPY students FROM STDIN;\n$_[1]\t$_[0]\t1\n\\.\n") }, 0 ],
	[ copy_data_refused => sub { psql_f("COPY loose FROM STDIN;\n1\t$_[0]\n\\.\n") } ],
	[ copy_data_failing_row => sub { psql_f("$PURPOSE COPY students FROM STDIN;\n$_[1]\t$_[0]\t\\N\n\\.\n") } ],
	[ syntax_error => sub { psql_f("INSERT INTO students VALUES ($_[1], '$_[0]', 1,,);") } ],
	[ unterminated_quote => sub { psql_f("INSERT INTO students VALUES ($_[1], '$_[0]);") } ],
	[ aborted_transaction => sub { psql_f("BEGIN; SELECT 1/0; INSERT INTO students VALUES ($_[1], '$_[0]', 1); ROLLBACK;") } ],
	[ analysis_error => sub { psql_f("INSERT INTO no_such_table VALUES ($_[1], '$_[0]');") } ],
	[ failing_row => sub { psql_f("$PURPOSE INSERT INTO students VALUES ($_[1], '$_[0]', NULL);") } ],
	[ escape_string => sub { psql_f("$PURPOSE INSERT INTO students VALUES ($_[1], E'\\\\\\'$_[0]\\\\t', 1);") } ],
	[ dollar_quoted => sub { psql_f("$PURPOSE INSERT INTO students VALUES ($_[1], \$q\$$_[0]\$q\$, 1);") } ],
	[ unicode_escape => sub { psql_f("$PURPOSE INSERT INTO students VALUES ($_[1], U&'$_[0]\\0041', 1);") } ],
	[ comment_quotes => sub { psql_f("$PURPOSE /* it's */ INSERT INTO students VALUES ($_[1], -- don't\n '$_[0]', 1);") } ],
	[ text_cast => sub { psql_f("$PURPOSE INSERT INTO students SELECT $_[1], '$_[0]'::text::childguard.child_data, 1;") } ],
	[ procedure_call => sub { psql_f("$PURPOSE CALL add_student($_[1], '$_[0]');") } ],
	[ trigger_copy => sub { psql_f("$PURPOSE INSERT INTO inbox VALUES ($_[1], '$_[0]');") } ],
	[ explain_analyze => sub { psql_f("$PURPOSE EXPLAIN ANALYZE INSERT INTO students VALUES ($_[1], '$_[0]', 1);") } ],
	[ cursor => sub { psql_f("$PURPOSE BEGIN; DECLARE c CURSOR FOR SELECT id FROM students WHERE name = '$_[0]'; FETCH c; COMMIT;") } ],
	[ cte_insert => sub { psql_f("$PURPOSE WITH x AS (INSERT INTO students VALUES ($_[1], '$_[0]', 1) RETURNING id) SELECT count(*) FROM x;") } ],
	[ replication_connection => sub {
		my ($out, $err) = ('', '');
		IPC::Run::run([ 'psql', '-X', '-q', '-d', $node->connstr('postgres') . ' replication=database',
			'-c', "$PURPOSE INSERT INTO students VALUES ($_[1], '$_[0]', 1);" ],
			'>', \$out, '2>', \$err);
		return $out . $err;
	} ],
	[ debug_print_trees => sub { psql_f("$PURPOSE SET debug_print_parse = on; SET debug_print_rewritten = on; SET debug_print_plan = on; SELECT ins_student($_[1], '$_[0]');") } ],
	[ extended_literal => sub { pgbench_run('extended', "$PURPOSE\nINSERT INTO students VALUES (:id, '$_[0]', 1);\n", id => $_[1]) } ],
	[ extended_literal_prepared => sub { pgbench_run('prepared', "$PURPOSE\nINSERT INTO students VALUES (:id, '$_[0]', 1);\n", id => $_[1]) } ],
	# the same text prepared and run three times: the 2nd and 3rd are masked
	# from the memo of the 1st (statement_text.c), not by the scanner
	[ extended_literal_prepared_repeated => sub { pgbench_run('prepared', "$PURPOSE\n" . ("SELECT count(*) FROM students WHERE name = '$_[0]';\n" x 3)) } ],
	[ extended_unnamed => sub { pgbench_run('extended', "$PURPOSE\nINSERT INTO students VALUES (:id, :name, 1);\n", id => $_[1], name => $_[0]) } ],
	[ extended_prepared => sub { pgbench_run('prepared', "$PURPOSE\nINSERT INTO students VALUES (:id, :name, 1);\n", id => $_[1], name => $_[0]) } ],
	[ extended_compare => sub { pgbench_run('extended', "$PURPOSE\nSELECT count(*) FROM students WHERE name = :name;\n", name => $_[0]) } ],
	[ extended_refused => sub { pgbench_run('extended', "INSERT INTO loose VALUES (1, :name);\n", name => $_[0]) } ],
	[ extended_failing_row => sub { pgbench_run('prepared', "$PURPOSE\nINSERT INTO students VALUES (:id, :name, NULL);\n", id => $_[1], name => $_[0]) } ],
);

my %leaks = map { $_->[0] => $_->[2] } grep { defined $_->[2] } @routes;

# number: the marker is digits, passed as a number and stored as text
my @number_route = (number_argument => sub { psql_f("$PURPOSE SELECT ins_phone($_[1], $_[0]);") });

# A statement that is still running (pg_sleep) while the stats role reads
# pg_stat_activity; returns what it saw.
my $running_seen = '';
sub running_statement
{
	my ($sql) = @_;
	my ($out, $err) = ('', '');
	my $h = IPC::Run::start(
		[ 'psql', '-X', '-q', '-d', $node->connstr('postgres'), '-c', "$PURPOSE $sql" ],
		'>', \$out, '2>', \$err);
	my $seen = '';
	for (1 .. 100)
	{
		$seen = $node->safe_psql('postgres',
			"SELECT query FROM pg_stat_activity WHERE query LIKE '%pg_sleep(%' AND pid <> pg_backend_pid()",
			extra_params => [ '-U', 'regress_stats' ]);
		last if $seen ne '';
		select(undef, undef, undef, 0.05);
	}
	$h->finish;
	$running_seen .= "$seen\n";
	return $out . $err;
}
sub running_session
{
	my ($m, $id) = @_;
	return running_statement("INSERT INTO students SELECT $id, '$m', 1 FROM pg_sleep(3)");
}
push @routes, [ running_session => \&running_session ];
# the function stores its argument only after the sleep
push @routes, [ running_function => sub { running_statement("SELECT pg_sleep(3), ins_student($_[1], '$_[0]')") } ];

# Two sessions deadlock; the report quotes each one's statement (and
# log_lock_waits logs the waiting one's).
sub deadlock
{
	my ($m) = @_;
	my $id = 398;    # rows 398 and 399, the same in every phase
	my $a = $node->background_psql('postgres', on_error_stop => 0);
	my $b = $node->background_psql('postgres', on_error_stop => 0);
	$node->safe_psql('postgres',
		"$PURPOSE INSERT INTO students VALUES ($id, 'x', 1), ($id + 1, 'x', 1) ON CONFLICT DO NOTHING");
	$a->query_safe("BEGIN; $PURPOSE UPDATE students SET grade = 2 WHERE id = $id");
	$b->query_safe("BEGIN; $PURPOSE UPDATE students SET grade = 2 WHERE id = $id + 1");
	$a->query_until(qr/sent/,
		"\\echo sent\nUPDATE students SET name = '$m' WHERE id = $id + 1;\n");
	$node->poll_query_until('postgres',
		"SELECT count(*) > 0 FROM pg_stat_activity WHERE wait_event_type = 'Lock'");
	my $out = $b->query("UPDATE students SET name = '$m' WHERE id = $id");
	$b->query("ROLLBACK");
	$b->quit;
	$a->query("ROLLBACK");
	$a->quit;
	return $out // '';
}
push @routes, [ deadlock => \&deadlock ];

# Everything a reader outside the backend could see, as one string per place.
sub places
{
	my %p;
	my $logdir = $node->data_dir . '/log';
	my @files = ($node->logfile);
	find(sub { push @files, $File::Find::name if -f $_ }, $logdir);
	for my $f (@files)
	{
		$p{"log file $f"} = PostgreSQL::Test::Utils::slurp_file($f);
	}
	$p{'pg_stat_activity while running (pg_read_all_stats)'} = $running_seen;
	my $pgss = $node->data_dir . '/pg_stat_tmp/pgss_query_texts.stat';
	$p{'pg_stat_statements texts file'} =
	  -e $pgss ? PostgreSQL::Test::Utils::slurp_file($pgss) : '';
	$p{'pg_stat_statements (superuser)'} =
	  $node->safe_psql('postgres', 'SELECT string_agg(query, E\'\n\') FROM pg_stat_statements');
	$p{'pg_stat_statements (pg_read_all_stats)'} = $node->safe_psql('postgres',
		'SELECT string_agg(query, E\'\n\') FROM pg_stat_statements',
		extra_params => [ '-U', 'regress_stats' ]);
	$p{'pg_stat_activity (pg_read_all_stats)'} = $node->safe_psql('postgres',
		'SELECT string_agg(state || \': \' || query, E\'\n\') FROM pg_stat_activity',
		extra_params => [ '-U', 'regress_stats' ]);
	return \%p;
}

# Wait until the log collector has written a line to every destination.
sub flush_logs
{
	my $tag = 'CGFLUSH' . rand_hex();
	$node->safe_psql('postgres', "DO \$\$ BEGIN RAISE LOG '$tag'; END \$\$");
	my $logdir = $node->data_dir . '/log';
	for (1 .. 100)
	{
		my @files;
		find(sub { push @files, $File::Find::name if -f $_ }, $logdir);
		my $n = grep { PostgreSQL::Test::Utils::slurp_file($_) =~ /$tag/ } @files;
		my %kinds = map { (/\.(\w+)$/ ? $1 : '') => 1 } @files;
		return if $n >= 3;
		select(undef, undef, undef, 0.1);
	}
	diag 'log collector did not write the flush line to all three destinations';
}

# run_phase($phase) -> { route => marker }; also leaves an idle session.
my $id = 1;
my @idle;
sub run_phase
{
	my ($phase) = @_;
	my %marker;
	for my $r (@routes)
	{
		my ($name, $send) = @$r;
		my $m = "CGSTMT${phase}x${name}x" . rand_hex();
		$marker{$name} = $m;
		my $out = $send->($m, $id++);
		note "$name: $out" if $out =~ /ERROR/;
	}
	my ($name, $send) = @number_route;
	my $digits = '9' . join('', map { int(rand(10)) } 1 .. 17);
	$marker{$name} = $digits;
	$send->($digits, $id++);

	# an idle session whose last statement wrote a marker, with a control
	# marker in a comment (comments are not masked) to show it is the one read
	# (kept open across the later phases: its timer allows for a loaded machine)
	my $idle = $node->background_psql('postgres',
		timeout => 4 * $PostgreSQL::Test::Utils::timeout_default);
	my $m = "CGSTMT${phase}xidle_sessionx" . rand_hex();
	my $control = "CGCTRL${phase}x" . rand_hex();
	$marker{idle_session} = $m;
	$idle->query_safe("$PURPOSE /* $control */ INSERT INTO students VALUES ($id, '$m', 1)");
	$id++;
	push @idle, $idle;
	flush_logs();
	return (\%marker, $control);
}

# A node dump (debug_print_parse) prints a text constant's bytes as signed
# decimals: " 67 71 83 ..."; the marker's first 12 bytes in that form.
sub as_dump_bytes
{
	my ($m) = @_;
	return ' ' . join(' ', map { $_ > 127 ? $_ - 256 : $_ } unpack('C12', $m)) . ' ';
}

sub where_found
{
	my ($places, $m) = @_;
	my $d = as_dump_bytes($m);
	return grep { index($places->{$_}, $m) >= 0 || index($places->{$_}, $d) >= 0 }
	  sort keys %$places;
}

# ---- phase on: the default -------------------------------------------------
is($node->safe_psql('postgres', 'SHOW childguard.statement_masking'),
	'child_data', 'masking is on by default');
my ($on, $on_control) = run_phase('on');
my $places = places();
ok(scalar(where_found($places, $on_control)) > 0,
	'control: a marker in a comment of the idle session is visible');
like($places->{'pg_stat_activity (pg_read_all_stats)'},
	qr/idle: .*\Q$on_control\E/, 'control: the stats role sees the idle session\'s last statement');
like($places->{'pg_stat_activity while running (pg_read_all_stats)'},
	qr/pg_sleep/, 'control: the stats role saw the running statement');
for my $name (sort keys %$on)
{
	my @where = where_found($places, $on->{$name});
	is(join(', ', @where), '', "masked: $name");
}

# the client is told no plaintext in a failing row's description either
my $m = 'CGSTMTonxclientx' . rand_hex();
my $out = psql_f("$PURPOSE INSERT INTO students VALUES ($id, '$m', NULL);");
$id++;
like($out, qr/Failing row contains/, 'a failing row is described to the client');
unlike($out, qr/\Q$m\E/, 'without the child data value');

# ---- phase quiet: default settings for logging, auditing and explaining -----
# Nothing masks the text on its way to the log now, so pg_stat_statements and
# pg_stat_activity show what the classification (statement_text.c) masked.
$node->safe_psql('postgres', q{
	ALTER SYSTEM SET log_statement = 'none';
	ALTER SYSTEM SET log_min_duration_statement = -1;
	ALTER SYSTEM SET log_min_error_statement = 'error';
	ALTER SYSTEM SET auto_explain.log_min_duration = -1;
	ALTER SYSTEM SET pgaudit.log = 'none';
	SELECT pg_reload_conf();
});
$node->poll_query_until('postgres', "SELECT current_setting('log_statement') = 'none'");
my ($quiet) = run_phase('quiet');
$places = places();
for my $name (sort keys %$quiet)
{
	is(join(', ', where_found($places, $quiet->{$name})), '', "masked (quiet): $name");
}
$node->safe_psql('postgres', q{
	ALTER SYSTEM RESET log_statement;
	ALTER SYSTEM RESET log_min_duration_statement;
	ALTER SYSTEM RESET log_min_error_statement;
	ALTER SYSTEM RESET auto_explain.log_min_duration;
	ALTER SYSTEM RESET pgaudit.log;
	SELECT pg_reload_conf();
});
$node->poll_query_until('postgres', "SELECT current_setting('log_statement') = 'all'");

# ---- phase all: every statement masked --------------------------------------
$node->safe_psql('postgres',
	"ALTER SYSTEM SET childguard.statement_masking = 'all'; SELECT pg_reload_conf();");
$node->poll_query_until('postgres', "SELECT current_setting('childguard.statement_masking') = 'all'");
my ($all) = run_phase('all');
$places = places();
for my $name (sort keys %$all)
{
	is(join(', ', where_found($places, $all->{$name})), '', "masked (all): $name");
}

# ---- phase off: PostgreSQL's behaviour; every route leaks ------------------
$node->safe_psql('postgres',
	"ALTER SYSTEM SET childguard.statement_masking = off; SELECT pg_reload_conf();");
$node->poll_query_until('postgres', "SELECT current_setting('childguard.statement_masking') = 'off'");
my ($off) = run_phase('off');
$places = places();
for my $name (sort keys %$off)
{
	my @where = where_found($places, $off->{$name});
	next unless $leaks{$name} // 1;
	ok(scalar(@where) > 0, "route leaks without masking: $name")
	  or diag "not found anywhere";
}
ok(index($places->{'pg_stat_activity (pg_read_all_stats)'}, $off->{idle_session}) >= 0,
	'without masking, the stats role reads the idle session\'s literal');
ok(index($places->{'pg_stat_activity while running (pg_read_all_stats)'}, $off->{running_session}) >= 0,
	'without masking, the stats role reads the running statement\'s literal');

# the earlier markers are still nowhere (nothing re-exposes masked texts)
for my $name (sort keys %$on)
{
	is(join(', ', where_found($places, $on->{$name}), where_found($places, $all->{$name})),
		'', "still masked: $name");
}

$_->quit for @idle;
@idle = ();
$node->stop;

# ---- the other order in shared_preload_libraries ----------------------------
# childguard's hooks now run first (it is loaded last); masking in place
# makes the order irrelevant, and this shows it.
$node = new_stmttext_node('stmttext_rev', 'pgaudit,auto_explain,pg_stat_statements,childguard');
$running_seen = '';
my ($rev) = run_phase('rev');
$places = places();
for my $name (sort keys %$rev)
{
	is(join(', ', where_found($places, $rev->{$name})), '', "masked (modules in the other order): $name");
}
$_->quit for @idle;
$node->stop;
done_testing();
