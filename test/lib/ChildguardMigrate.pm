# ChildguardMigrate: the migrate_column() acceptance run (issue 13, item 5),
# shared by test/t/250_migrate_column.pl (a few thousand rows, make check)
# and test/t-long/250_migrate_column_1m.pl (1,000,000 rows, check-long).
#
#   1. a table of N rows with a unique plaintext marker each (text column),
#      its statistics gathered (so pg_statistic holds markers too); a scan
#      of the data directory finds the markers (the positive control);
#   2. migrate_column() runs while another session reads and writes the
#      table (updates of rows already sealed, inserts, reads); it stops for
#      the rows of unknown children, is decided "null", and finishes;
#   3. every value reads back as the last value written (the writer's
#      updates included), the column keeps its place, no shadow is left;
#   4. the documented final step (migrate_finish()'s commands) runs, and a
#      scan of every file of the data directory except pg_wal finds no
#      marker.  Markers still in pg_wal are counted and reported (WAL
#      segments are recycled and overwritten over time, docs/migration.md).
package ChildguardMigrate;

use strict;
use warnings;

use File::Find;
use IPC::Run;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time);
use ChildguardNode;

# scan($dir, $re, $skip_re) -> { relative file name => hits }
sub scan
{
	my ($dir, $re, $skip_re) = @_;
	my %hits;
	find(
		{
			no_chdir => 1,
			wanted   => sub {
				my $f = $File::Find::name;
				return unless -f $f;
				(my $rel = $f) =~ s{^\Q$dir\E/}{};
				return if defined $skip_re && $rel =~ $skip_re;
				open(my $fh, '<:raw', $f) or return;    # gone meanwhile
				local $/;
				my $bytes = <$fh>;
				close $fh;
				return unless defined $bytes;
				my $n = () = $bytes =~ /$re/g;
				$hits{$rel} = $n if $n;
			}
		},
		$dir);
	return \%hits;
}

sub run
{
	my (%o) = @_;
	my $N     = $o{rows};
	my $batch = $o{batch_size};
	my $name  = $o{name} // 'migrate';
	my $t0;

	my ($node) = ChildguardNode::new_node($name, start => 1,
		extra_conf => "max_wal_size = 1GB\ncheckpoint_timeout = 30min");
	my $tag = substr(ChildguardNode::random_key_hex(), 0, 12);
	my $marker = "MIGMK$tag";
	my $re = qr/\Q$marker\E/;

	# roles: the app (owns the table, reads and writes under a grant), the
	# consent desk, two officers
	$t0 = time;
	$node->safe_psql('postgres', qq{
		CREATE EXTENSION childguard CASCADE;
		CREATE ROLE mig_app; CREATE ROLE mig_rec; CREATE ROLE mig_dpo;
		SELECT childguard.appoint_officer('mig_dpo');
		SELECT childguard.enroll_application('mig_app');
		SELECT childguard.enroll_consent_recorder('mig_rec');
		GRANT CREATE ON SCHEMA public TO mig_app, mig_rec;
		SET ROLE mig_dpo;
		SELECT childguard.define_purpose('tutoring', '{name}', '2 years');
		SELECT childguard.publish_notice('n1', '{tutoring}', 'a', 'b', 'c', 'd', 'e', 'f', 'g');
		RESET ROLE;
		-- N children, and more for the rows inserted during the migration
		SET ROLE mig_app;
		CREATE TABLE s_children AS
			SELECT i::text AS child_id, (current_date - 3000)::date AS birth_date
			  FROM generate_series(1, $N + $o{writer_rounds} + 1000) i;
		SELECT count(*) FROM childguard.register_children('s_children') WHERE sqlstate IS NOT NULL;
		GRANT SELECT ON s_children TO mig_rec;
		RESET ROLE;
		SET ROLE mig_rec;
		CREATE TABLE s_guardians AS SELECT 'g' || child_id AS guardian_id, child_id FROM s_children;
		SELECT count(*) FROM childguard.register_guardians('s_guardians') WHERE sqlstate IS NOT NULL;
		CREATE TABLE s_consents AS
			SELECT child_id, 'tutoring'::text AS purpose, 'n1'::text AS notice, 'g' || child_id AS given_by
			  FROM s_children;
		SELECT count(*) FROM childguard.record_consents('s_consents') WHERE sqlstate IS NOT NULL;
		RESET ROLE;
		SET ROLE mig_app;
		SELECT childguard.request_access('mig_app', '{tutoring}', now() + interval '1 day',
		                                 max_children => 10000000);
		RESET ROLE;
		SET ROLE mig_dpo;
		SELECT childguard.approve_access(g.grant_id) FROM childguard.access_grants g;
		RESET ROLE;
	});
	note sprintf('%d children registered with consent: %.1f s', $N + $o{writer_rounds} + 1000, time - $t0);

	# the table as the app had it: ids 1..N, and three rows of children
	# nobody registered (-1, -2, -3)
	$t0 = time;
	$node->safe_psql('postgres', qq{
		SET ROLE mig_app;
		CREATE TABLE kids (id bigint PRIMARY KEY, name text, grade int);
		INSERT INTO kids SELECT i, '$marker-' || i, i % 6 FROM generate_series(1, $N) i;
		INSERT INTO kids VALUES (-1, '$marker-u1', 1), (-2, '$marker-u2', 1), (-3, '$marker-u3', 1);
		RESET ROLE;
		-- test only: pg_statistic's value arrays are compressed (pglz), which
		-- would hide them from a byte scan; stored uncompressed, the scan
		-- can show that they hold plaintext until the final step
		SET allow_system_table_mods = on;
		ALTER TABLE pg_catalog.pg_statistic ALTER COLUMN stavalues1 SET STORAGE EXTERNAL,
			ALTER COLUMN stavalues2 SET STORAGE EXTERNAL, ALTER COLUMN stavalues3 SET STORAGE EXTERNAL,
			ALTER COLUMN stavalues4 SET STORAGE EXTERNAL, ALTER COLUMN stavalues5 SET STORAGE EXTERNAL;
		RESET allow_system_table_mods;
		SET ROLE mig_app;
		ANALYZE kids;
	});
	$node->safe_psql('postgres', 'CHECKPOINT');
	note sprintf('table of %d rows: %.1f s', $N + 3, time - $t0);

	my $pgdata = $node->data_dir;
	my $stat_file = $node->safe_psql('postgres',
		q{SELECT pg_relation_filepath('pg_catalog.pg_statistic')});
	my $before = scan($pgdata, $re, qr{^pg_wal/});
	my $kids_file = $node->safe_psql('postgres', q{SELECT pg_relation_filepath('kids')});
	ok($before->{$kids_file}, "control: the scan finds the markers in the table's file ($kids_file)");
	my $stat_toast = $node->safe_psql('postgres',
		q{SELECT pg_relation_filepath(reltoastrelid) FROM pg_class WHERE oid = 'pg_catalog.pg_statistic'::regclass});
	ok($before->{$stat_toast}, "control: and in pg_statistic's TOAST table ($stat_toast)");
	note('before the migration, markers in: ' . join(', ', map { "$_ ($before->{$_})" } sort keys %$before));

	# ---- the writer: another session reads and writes all along ----------
	# Updates of rows spread over the table (many of them after their batch
	# was sealed), inserts of new rows, reads; it must never fail.
	my %expect;    # id -> last value written by the writer
	my @stmts = ("SET ROLE mig_app;", "SET childguard.purpose = 'tutoring';");
	my $rounds = $o{writer_rounds};
	for my $k (1 .. $rounds)
	{
		my $id = 1 + int(($k * 7919) % $N);
		my $new = $N + $k;
		push @stmts,
		  "UPDATE kids SET name = '$marker-upd-$k' WHERE id = $id;",
		  "INSERT INTO kids VALUES ($new, '$marker-new-$k', 2);",
		  "SELECT count(*) FROM kids WHERE id IN ($id, $new) AND name IS NOT NULL;",
		  "SELECT pg_sleep($o{writer_sleep});";
		$expect{$id}  = "$marker-upd-$k";
		$expect{$new} = "$marker-new-$k";
	}
	push @stmts, "SELECT 'writer done';";
	my ($w_out, $w_err) = ('', '');
	my $writer = IPC::Run::start(
		[ 'psql', '-X', '-q', '-v', 'ON_ERROR_STOP=1', '-d', $node->connstr('postgres') ],
		'<', \join("\n", @stmts), '>', \$w_out, '2>', \$w_err);

	# ---- the migration, while the writer runs --------------------------
	# by the procedure (a commit per batch), or step by step with pauses
	# (migrate_step(), the function the caller repeats), so that the small
	# run's batches interleave with the writer
	$t0 = time;
	my $call = $o{steps}
	  ? join("\n", map {
			"SELECT state FROM childguard.migrate_step('kids', 'name', 'name', $batch, 'id'); SELECT pg_sleep(0.02);"
		} 1 .. $o{steps})
	  : "CALL childguard.migrate_column('kids', 'name', 'name', batch_size => $batch, subject_column => 'id');";
	my ($ret, $out, $err) = $node->psql('postgres', qq{
		SET ROLE mig_app;
		SET childguard.purpose = 'tutoring';
		$call
	});
	note sprintf('migrate_column, first run: %.1f s', time - $t0);
	like($out, qr/filling/, 'the migration went through batches') if $o{steps};
	like($err, qr/ZC440|stopped for a decision/, 'the migration stops for the rows of unknown children')
	  or diag($err);
	$writer->finish;
	is($?, 0, 'the other session read and wrote all along without an error') or diag($w_err);
	like($w_out, qr/writer done/, 'the other session ran to its end');
	is($node->safe_psql('postgres', q{
		SELECT string_agg(child || ':' || sqlstate, ',' ORDER BY child) FROM childguard.migration_rejects}),
		'-1:ZC011,-2:ZC011,-3:ZC011', 'the rejected rows are listed by child id, with the reason');
	is($node->safe_psql('postgres', qq{
		SELECT count(*) FROM childguard.migration_reject r WHERE r::text LIKE '%$marker%'}),
		'0', 'no plaintext in the rejects');

	# ---- the decision, and the end -----------------------------------------
	$t0 = time;
	$node->safe_psql('postgres', q{
		SET ROLE mig_app;
		SET childguard.purpose = 'tutoring';
		SELECT childguard.migrate_decide('kids', 'name', 'null');
		CALL childguard.migrate_column('kids', 'name', 'name');
	});
	note sprintf('migrate_column, after the decision: %.1f s', time - $t0);
	is($node->safe_psql('postgres', q{SELECT state FROM childguard.migrations}), 'done', 'migration done');
	my ($sealed, $batches) = split /\|/, $node->safe_psql('postgres',
		q{SELECT rows_sealed, batches FROM childguard.migrations});
	note "rows sealed: $sealed in $batches batches";
	cmp_ok($sealed, '>', $N + $o{writer_rounds},
		'rows the other session wrote after their batch were sealed again at the end (the writes overlapped the batches)');
	is($node->safe_psql('postgres', q{
		SELECT string_agg(attname || ' ' || format_type(atttypid, atttypmod), ', ' ORDER BY attnum)
		  FROM pg_attribute WHERE attrelid = 'kids'::regclass AND attnum > 0 AND NOT attisdropped}),
		'id bigint, name childguard.child_data(name), grade integer',
		'converted in place: same columns in the same order, no shadow left');

	# ---- every value reads back as last written ---------------------------
	$t0 = time;
	my $total = $N + $rounds;
	my ($ok, $bad, $seen) = (0, 0, 0);
	for (my $from = -3; $from <= $total; $from += 50_000)
	{
		my $to = $from + 49_999;
		my $rows = $node->safe_psql('postgres', qq{
			SET ROLE mig_app;
			SET childguard.purpose = 'tutoring';
			SELECT id || '|' || coalesce(name::text, '<null>') FROM kids WHERE id BETWEEN $from AND $to});
		for my $line (split /\n/, $rows)
		{
			my ($id, $v) = split /\|/, $line, 2;
			$seen++;
			my $want = $expect{$id} // ($id < 0 ? '<null>' : "$marker-$id");
			if ($v eq $want) { $ok++ } else { $bad++; diag("row $id: got $v, want $want") if $bad < 5 }
		}
	}
	note sprintf('read back %d rows: %.1f s', $seen, time - $t0);
	is($seen, $total, 'every row is there (the unknown children\'s rows are invisible to the app)');
	is($node->safe_psql('postgres', q{SELECT string_agg(id || ':' || (name IS NULL), ',' ORDER BY id) FROM kids WHERE id < 0}),
		'-3:true,-2:true,-1:true', 'the unknown children\'s rows are kept, their value NULL as decided');
	is($bad, 0, "every value reads back as last written ($ok rows; the unknown children's are NULL, as decided)");
	is($node->safe_psql('postgres', q{
		SELECT count(*) FROM kids k, childguard.envelope_info(k.name) e
		 WHERE e.pending OR e.subject_no <> (SELECT subject_no FROM childguard.child WHERE child_id = k.id::text)}),
		'0', 'every value is sealed for its own row\'s child');

	# ---- before the final step: the table is clean, pg_statistic is not ---
	$node->safe_psql('postgres', 'CHECKPOINT');
	my $mid = scan($pgdata, $re, qr{^pg_wal/});
	my $kids_now = $node->safe_psql('postgres', q{SELECT pg_relation_filepath('kids')});
	ok(!$mid->{$kids_now}, 'after the conversion the table\'s new file holds no marker');
	ok(!$mid->{$kids_file}, 'and its old file holds none either');
	ok($mid->{$stat_toast}, 'before the final step, pg_statistic still holds markers (dead rows)');
	note('before the final step, markers remain in: ' . join(', ', map { "$_ ($mid->{$_})" } sort keys %$mid));

	# ---- the documented final step ----------------------------------------
	my @steps = split /\n/, $node->safe_psql('postgres', q{
		SELECT command FROM childguard.migrate_finish('kids') WHERE step < 4 ORDER BY step});
	is(scalar @steps, 3, 'migrate_finish() lists the commands');
	$node->safe_psql('postgres', $_) for @steps;

	my $after = scan($pgdata, $re, qr{^pg_wal/});
	is_deeply($after, {}, 'after the final step no file of the data directory (pg_wal aside) holds a marker')
	  or diag('found in: ' . join(', ', map { "$_ ($after->{$_})" } sort keys %$after));
	my $wal = scan("$pgdata/pg_wal", $re);
	my $wal_hits = 0;
	$wal_hits += $_ for values %$wal;
	note sprintf('pg_wal: %d markers in %d segments (written before the conversion; recycled over time)',
		$wal_hits, scalar keys %$wal);

	# ---- the writer's reads and the app still work after ----------------
	is($node->safe_psql('postgres', qq{
		SET ROLE mig_app;
		SET childguard.purpose = 'tutoring';
		INSERT INTO kids VALUES ($N + $o{writer_rounds} + 999, 'late', 3);
		SELECT name FROM kids WHERE id = $N + $o{writer_rounds} + 999}), 'late', 'positional INSERTs and reads work after');
	$node->stop;
	return;
}

1;
