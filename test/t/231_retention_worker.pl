# The retention worker (issue 11, item 2): a launcher for the cluster that
# starts a sweeper per database every childguard.retention_interval.
#
#  - with a 1-second retention the worker erases expired rows by itself;
#    consent recorded again after the end does not revive them (nor,
#    before the sweep, make them readable);
#  - SIGHUP: the worker off (interval 0) erases nothing; turned on by a
#    reload it sweeps; childguard.retention_databases narrows it, reloaded;
#  - restart: the launcher comes back and sweeps;
#  - each sweep fires the age hooks (a child turning 14) and retries failed
#    expiry hooks (a hook that raised; the erasure itself went through);
#  - kill -9 of the sweeper in the middle of a sweep (a crash-restart of
#    the cluster), and an immediate shutdown in the middle of one: no child
#    is half-erased (each child's erasure in a table is one transaction:
#    its 3 rows are all there or all gone, and the erasure log says so),
#    and the next sweep completes what is left.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::RealBin/../lib";
use PostgreSQL::Test::Utils;
use Test::More;
use ChildguardNode qw(new_node);

my ($node) = new_node(
	'retention',
	extra_conf => "restart_after_crash = on\n"
	  . "childguard.retention_batch_size = 5\n"
	  . "log_min_messages = info\n",
	start => 1);

$node->safe_psql('postgres', q{
	SET client_min_messages = warning;
	CREATE EXTENSION childguard CASCADE;
	CREATE ROLE ret_dpo; CREATE ROLE ret_dpo2; CREATE ROLE ret_app;
	SELECT childguard.appoint_officer('ret_dpo');
	SELECT childguard.appoint_officer('ret_dpo2');
	SELECT childguard.enroll_application('ret_app');
	SET ROLE ret_dpo;
	SELECT childguard.define_purpose('flash', '{name}', '1 second');
	SELECT childguard.define_purpose('bulk', '{name}', '1 hour');
	SELECT childguard.define_purpose('bulk2', '{name}', '1 hour');
	SELECT childguard.publish_notice('n', '{flash,bulk,bulk2}', 'a', 'b', 'c', 'd', 'e', 'f', 'g');
	RESET ROLE;
	SELECT childguard.request_access('ret_app', '{flash,bulk,bulk2}', now() + interval '1 day',
	                                 max_children => 100000);
	SET ROLE ret_dpo;
	SELECT childguard.approve_access(1);
	RESET ROLE;
	CREATE TABLE kids (id text, seq int, name childguard.child_data);
	ALTER TABLE kids OWNER TO ret_app;
	SET ROLE ret_app;
	SELECT childguard.protect('kids', 'id', '{"name": "name"}');
	RESET ROLE;
});

# children prefix.first..last, each consenting to purpose p, with 3 rows in
# kids: in one transaction, so a 1-second retention does not race the load
# (now() is the transaction's start)
sub load_children
{
	my ($prefix, $first, $last, $p) = @_;
	$node->safe_psql('postgres', qq{
		BEGIN;
		SELECT count(childguard.register_child('$prefix' || i, '2016-01-01')) FROM generate_series($first, $last) i;
		SELECT count(childguard.register_guardian('g-$prefix' || i, '$prefix' || i)) FROM generate_series($first, $last) i;
		SELECT count(childguard.record_consent('$prefix' || i, '$p', 'n', 'g-$prefix' || i))
		  FROM generate_series($first, $last) i;
		SET LOCAL ROLE ret_app;
		SET LOCAL childguard.purpose = '$p';
		INSERT INTO kids SELECT '$prefix' || i, s, 'name of $prefix' || i
		  FROM generate_series($first, $last) i, generate_series(1, 3) s;
		COMMIT;
	});
}

sub rows_of
{
	my ($prefix) = @_;
	return $node->safe_psql('postgres',
		"SELECT count(*) FROM kids WHERE id LIKE '$prefix%'");
}

sub readable
{
	my ($prefix, $purpose) = @_;
	return $node->safe_psql('postgres', qq{
		SET ROLE ret_app; SET childguard.purpose = '$purpose';
		SELECT count(*) FROM kids WHERE id LIKE '$prefix%' AND name IS NOT NULL});
}

# ---------------------------------------------------------------------------
# The worker off: expired data is unreadable but stays; re-consent revives nothing
load_children('a', 1, 5, 'flash');
is(rows_of('a'), 15, 'five children, three rows each');
sleep 2;
is(readable('a', 'flash'), 0, 'after the 1-second retention nothing is readable');
$node->safe_psql('postgres',
	q{SELECT childguard.record_consent('a1', 'flash', 'n', 'g-a1')});
is(readable('a', 'flash'), 0, 'consent recorded again after the end: still nothing readable');
sleep 2;
is(rows_of('a'), 15, 'with childguard.retention_interval = 0 nothing is erased');

# ---------------------------------------------------------------------------
# SIGHUP turns the worker on: it erases by itself
$node->safe_psql('postgres', q{ALTER SYSTEM SET childguard.retention_interval = '1s'});
$node->reload;
ok($node->poll_query_until('postgres', q{SELECT count(*) = 0 FROM kids WHERE id LIKE 'a%'}),
	'after a reload the worker erased the expired rows by itself');
is($node->safe_psql('postgres',
		q{SELECT sum(children) FROM childguard.retention_sweeps WHERE run_by = 'worker'}),
	5, 'the worker recorded its sweep: five children');
is(readable('a', 'flash'), 0, 'the re-consented child: nothing readable');
is($node->safe_psql('postgres', q{
		SELECT count(*) FROM childguard.erasure_log e JOIN childguard.child c USING (subject_no)
		 WHERE c.child_id LIKE 'a%' AND e.reason = 'retention_expired' AND e.rows_erased = 3}),
	5, 'each erasure is in the erasure log, three rows each');

# SIGHUP narrows the databases
$node->safe_psql('postgres', q{ALTER SYSTEM SET childguard.retention_databases = 'elsewhere'});
$node->reload;
sleep 1;
load_children('b', 1, 3, 'flash');
sleep 4;
is(rows_of('b'), 9, 'retention_databases without this database: not swept');
$node->safe_psql('postgres', q{ALTER SYSTEM SET childguard.retention_databases = 'postgres, elsewhere'});
$node->reload;
ok($node->poll_query_until('postgres', q{SELECT count(*) = 0 FROM kids WHERE id LIKE 'b%'}),
	'named again after a reload: swept');

# ---------------------------------------------------------------------------
# restart: the launcher comes back
$node->restart;
load_children('c', 1, 3, 'flash');
ok($node->poll_query_until('postgres', q{SELECT count(*) = 0 FROM kids WHERE id LIKE 'c%'}),
	'after a restart the worker sweeps again');
is($node->safe_psql('postgres',
		q{SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'childguard retention launcher'}),
	1, 'one launcher');

# ---------------------------------------------------------------------------
# each sweep fires the age hooks and retries failed expiry hooks
$node->safe_psql('postgres', q{
	CREATE TABLE hook_calls (tbl text, child_id text, reason text);
	CREATE TABLE hook_down (down boolean);
	INSERT INTO hook_down VALUES (true);
	CREATE FUNCTION age_hook(tbl regclass, child_id text, reason text) RETURNS void
	LANGUAGE sql AS $$ INSERT INTO public.hook_calls VALUES (coalesce(tbl::text, ''), child_id, reason) $$;
	CREATE FUNCTION flaky_hook(tbl regclass, child_id text, reason text) RETURNS void
	LANGUAGE plpgsql AS $$
	BEGIN
		IF (SELECT down FROM public.hook_down) THEN
			RAISE EXCEPTION 'the notification service is down';
		END IF;
		INSERT INTO public.hook_calls VALUES (tbl::text, child_id, reason);
	END $$;
	SET ROLE ret_dpo;
	SELECT childguard.register_expiry_hook('age_hook(regclass, text, text)', NULL, 'age14');
	SELECT childguard.register_expiry_hook('flaky_hook(regclass, text, text)', 'kids', 'after');
	RESET ROLE;
	SELECT childguard.register_child('teen', (CURRENT_DATE - interval '14 years')::date);
});
ok($node->poll_query_until('postgres',
		q{SELECT count(*) = 1 FROM hook_calls WHERE child_id = 'teen' AND reason = 'turned_14'}),
	'the worker fired the age hook for a child turning 14 today, once');
load_children('h', 1, 2, 'flash');
ok($node->poll_query_until('postgres', q{SELECT count(*) = 0 FROM kids WHERE id LIKE 'h%'}),
	'a failing expiry hook does not stop the erasure');
is($node->safe_psql('postgres', q{
		SELECT count(*) FROM childguard.expiry_hook_pending p JOIN childguard.child c USING (subject_no)
		 WHERE c.child_id LIKE 'h%'}),
	2, 'the failed hook calls are queued');
$node->safe_psql('postgres', q{UPDATE hook_down SET down = false});
ok($node->poll_query_until('postgres', q{
		SELECT count(*) = 2 FROM hook_calls WHERE child_id LIKE 'h%' AND reason = 'retention_expired'}),
	'the worker retried them once the hook works');
is($node->safe_psql('postgres', q{
		SELECT count(*) FROM childguard.expiry_hook_pending p JOIN childguard.child c USING (subject_no)
		 WHERE c.child_id LIKE 'h%' AND (p.done_at IS NULL OR p.outcome <> 'succeeded')}),
	0, 'nothing left pending: both retries succeeded');
is($node->safe_psql('postgres', q{SELECT count(*) FROM hook_calls WHERE child_id = 'teen'}), 1,
	'the age hook fired once only');
$node->safe_psql('postgres', q{
	SET ROLE ret_dpo;
	SELECT childguard.unregister_expiry_hook('flaky_hook(regclass, text, text)', 'kids', 'after');
});

# ---------------------------------------------------------------------------
# kill -9 of the sweeper, and an immediate shutdown, in the middle of a sweep
$node->safe_psql('postgres', q{
	-- an expiry hook that takes a while, so a sweep of many children lasts
	CREATE FUNCTION slow_hook(tbl regclass, child_id text, reason text) RETURNS void
	LANGUAGE sql AS $$ SELECT pg_sleep(0.02) $$;
	SET ROLE ret_dpo;
	SELECT childguard.register_expiry_hook('slow_hook(regclass, text, text)', 'kids', 'after');
});

# every child of prefix: all 3 rows or none; none left with rows but logged
# as erased, none gone without its log row
sub check_whole
{
	my ($prefix, $what) = @_;
	my $torn = $node->safe_psql('postgres', qq{
		SELECT count(*) FROM (SELECT id, count(*) n FROM kids WHERE id LIKE '$prefix%' GROUP BY id) x
		 WHERE n <> 3});
	is($torn, 0, "$what: no child has part of its rows");
	my $mismatch = $node->safe_psql('postgres', qq{
		SELECT count(*) FROM childguard.child c
		 WHERE c.child_id LIKE '$prefix%'
		   AND EXISTS (SELECT 1 FROM kids k WHERE k.id = c.child_id)
		     = EXISTS (SELECT 1 FROM childguard.erasure_log e
		                WHERE e.subject_no = c.subject_no AND e.rows_erased = 3)});
	is($mismatch, 0, "$what: the erasure log matches the rows exactly");
}

sub sweep_in_progress
{
	my ($min_done) = @_;
	$node->poll_query_until('postgres', qq{
		SELECT count(*) > 0 FROM childguard.retention_progress
		 WHERE run_by = 'worker' AND phase = 'erasing' AND children_done >= $min_done})
	  or die 'no sweep in progress';
	return $node->safe_psql('postgres',
		q{SELECT pid FROM childguard.retention_progress WHERE run_by = 'worker' LIMIT 1});
}

for my $case (['d', 'bulk', 'kill -9 of the sweeper'], ['e', 'bulk2', 'immediate shutdown'])
{
	my ($prefix, $purpose, $what) = @$case;
	load_children($prefix, 1, 300, $purpose);
	is(rows_of($prefix), 900, "$what: 300 children loaded");
	# the retention shortened by hand (loading 300 children must not race it)
	$node->safe_psql('postgres',
		qq{UPDATE childguard.purpose SET retention = '1 second' WHERE purpose = '$purpose'});
	my $pid = sweep_in_progress(10);
	my $progress = $node->safe_psql('postgres', q{
		SELECT tables_total, datname FROM childguard.retention_progress WHERE run_by = 'worker'});
	is($progress, '1|postgres', "$what: the progress view shows the sweep");
	if ($prefix eq 'd')
	{
		kill 'KILL', $pid;
		# the postmaster restarts the cluster after the crash
		$node->poll_query_until('postgres', 'SELECT 1', '1') or die 'no restart';
	}
	else
	{
		$node->stop('immediate');
		$node->start;
	}
	my $left = rows_of($prefix);
	ok($left > 0 && $left < 900, "$what: interrupted with part done ($left rows left)");
	check_whole($prefix, $what);
	ok($node->poll_query_until('postgres', qq{SELECT count(*) = 0 FROM kids WHERE id LIKE '$prefix%'}),
		"$what: the next sweep completed what was left");
	check_whole($prefix, "$what, completed");
	is($node->safe_psql('postgres', qq{
			SELECT count(DISTINCT e.subject_no) FROM childguard.erasure_log e
			  JOIN childguard.child c USING (subject_no)
			 WHERE c.child_id LIKE '$prefix%' AND e.rows_erased = 3}),
		300, "$what: each of the 300 children erased once");
}

unlike(slurp_file($node->logfile), qr/name of [a-e]\d/, 'no plaintext in the server log');
$node->stop;
done_testing();
