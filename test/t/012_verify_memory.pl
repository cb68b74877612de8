# verify_access_log() runs in constant memory: it streams the log in chain
# order (a cursor fetched in batches, each batch freed, each row hashed in
# a context reset per row) instead of holding the table.
#
# The log is made long quickly: a few records come from the audit writer,
# then a chain continuation is computed in SQL from the documented chain
# format 4 (docs/audit.md: packed batches, 1.8) and inserted with the
# batches' guard switched off
# in the catalogs (superuser, as the tampering tests do).  The SQL
# implementation is first checked against the writer's own records, so the
# test also pins the documented format to the C one.  The verifying
# session's peak resident memory (VmHWM from /proc, read by the superuser)
# is compared before and after; shared_buffers is small so that shared
# pages the scan touches cannot hide or fake a leak.  CG_VERIFY_RECORDS
# sets the size (default 30000; test/t-long/012_verify_memory_large.pl
# runs 200000).
use strict;
use warnings;
use FindBin;
use lib "$FindBin::RealBin/../lib";
use PostgreSQL::Test::Utils;
use Test::More;
use ChildguardNode qw(new_node consent_all);

my $records = $ENV{CG_VERIFY_RECORDS} || 30000;
# The walk's fixed costs (plan, one batch of rows, index pages) stay far
# below this; holding the log would take several hundred bytes per record
# (30000 records: over 10 MB).
my $margin_kb = 3072;

my ($node) = new_node('verify_memory', start => 1,
	extra_conf => "shared_buffers = '1MB'\nwork_mem = '1MB'");
$node->safe_psql('postgres', q{
	CREATE EXTENSION childguard VERSION '1.7' CASCADE;   -- rows (format 3) first
	SELECT childguard.register_child('m-' || i, '2014-01-01') FROM generate_series(1, 4) i;
	CREATE TABLE pupils (id text PRIMARY KEY, name childguard.child_data);
	SELECT childguard.protect('pupils', subject_column => 'id', categories => '{"name": "name"}');
});
consent_all($node, 'postgres');
$node->safe_psql('postgres', q{
	SET childguard.purpose = 'regress';
	INSERT INTO pupils SELECT 'm-' || i, 'name ' || i FROM generate_series(1, 4) i;
	SET childguard.end_user = 'teacher-é1';   -- format 3 hashes it (none on the INSERT)
	SELECT name FROM pupils;
	SELECT name FROM pupils WHERE id = 'm-2';
	SELECT childguard.audit_wait();});

# The canonical form of docs/audit.md, in SQL.
my $canon = q{
	CREATE FUNCTION pg_temp.c_int(x bigint) RETURNS bytea LANGUAGE sql IMMUTABLE AS
	  $$ SELECT CASE WHEN x IS NULL THEN '\x6e'::bytea ELSE '\x69'::bytea || int8send(x) END $$;
	CREATE FUNCTION pg_temp.c_ts(x timestamptz) RETURNS bytea LANGUAGE sql IMMUTABLE AS
	  $$ SELECT CASE WHEN x IS NULL THEN '\x6e'::bytea ELSE '\x74'::bytea || timestamptz_send(x) END $$;
	CREATE FUNCTION pg_temp.c_text(x text) RETURNS bytea LANGUAGE sql IMMUTABLE AS
	  $$ SELECT CASE WHEN x IS NULL THEN '\x6e'::bytea
	                 ELSE '\x73'::bytea || int4send(octet_length(convert_to(x, 'UTF8'))) || convert_to(x, 'UTF8') END $$;
	CREATE FUNCTION pg_temp.c_texts(x text[]) RETURNS bytea LANGUAGE sql IMMUTABLE AS
	  $$ SELECT '\x53'::bytea || int4send(coalesce(cardinality(x), 0))
	            || coalesce((SELECT string_agg(pg_temp.c_text(e), '' ORDER BY o)
	                           FROM unnest(x) WITH ORDINALITY u(e, o)), '') $$;
	CREATE FUNCTION pg_temp.c_ints(x bigint[]) RETURNS bytea LANGUAGE sql IMMUTABLE AS
	  $$ SELECT '\x49'::bytea || int4send(coalesce(cardinality(x), 0))
	            || coalesce((SELECT string_agg(pg_temp.c_int(e), '' ORDER BY o)
	                           FROM unnest(x) WITH ORDINALITY u(e, o)), '') $$;
	CREATE FUNCTION pg_temp.row_hash(r childguard.access_log) RETURNS bytea LANGUAGE sql IMMUTABLE AS
	  $$ SELECT sha256(convert_to('childguard access_log v' || r.format_version, 'UTF8')
	         || coalesce(r.prev_hash, '\x0000000000000000000000000000000000000000000000000000000000000000'::bytea)
	         || pg_temp.c_int(r.id) || pg_temp.c_ts(r.statement_at) || pg_temp.c_ts(r.logged_at)
	         || pg_temp.c_text(r.session_id) || pg_temp.c_int(r.backend_pid)
	         || pg_temp.c_text(r.session_role) || pg_temp.c_text(r.acting_role)
	         || pg_temp.c_text(r.client_addr) || pg_temp.c_text(r.application_name)
	         || pg_temp.c_text(r.command) || pg_temp.c_text(r.purpose) || pg_temp.c_int(r.grant_id)
	         || pg_temp.c_texts(r.relations) || pg_temp.c_texts(r.columns)
	         || pg_temp.c_ints(r.children_read) || pg_temp.c_ints(r.children_denied)
	         || pg_temp.c_ints(r.children_written) || pg_temp.c_int(r.children)
	         || pg_temp.c_int(r.rows) || pg_temp.c_text(r.outcome) || pg_temp.c_text(r.sqlstate)
	         || pg_temp.c_int(r.query_id)
	         || CASE WHEN r.format_version >= 2 THEN pg_temp.c_int(r.format_version) ELSE '' END
	         || CASE WHEN r.format_version >= 3 THEN pg_temp.c_text(r.end_user) ELSE '' END) $$;
};
my $rows = $node->safe_psql('postgres', 'SELECT count(*) FROM childguard.access_log');
cmp_ok($rows, '>=', 3, "the writer wrote rows at 1.7 ($rows)");
is($node->safe_psql('postgres', $canon . q{
	SELECT count(*) FILTER (WHERE format_version = 3),
	       count(*) FILTER (WHERE hash = pg_temp.row_hash(l))
	  FROM childguard.access_log l}),
	"$rows|$rows", "the writer's rows are format 3 and hash as docs/audit.md says (SQL recomputation)");

# 1.8: the rows stay; the chain continues into packed batches (format 4)
$node->safe_psql('postgres', 'ALTER EXTENSION childguard UPDATE');
$node->safe_psql('postgres', q{
	SET childguard.purpose = 'regress';
	SELECT name FROM pupils WHERE id = 'm-1';
	SELECT name FROM pupils;
	SELECT childguard.audit_wait();});
is($node->safe_psql('postgres', q{
	SELECT b.prev_hash = r.hash FROM childguard.access_log_batch b, childguard.access_log_rows r
	 WHERE b.first_id = r.id + 1}), 't', "the first batch links to the last row's hash");

# Chain format 4 of docs/audit.md, in SQL: a record's hash over its
# wire form as packed, a batch's hash over its last record's and its bounds.
my $format4 = q{
	CREATE FUNCTION pg_temp.rec_hash(prev bytea, id bigint, logged_at timestamptz, w bytea) RETURNS bytea
	  LANGUAGE sql IMMUTABLE AS
	  $$ SELECT sha256(convert_to('childguard access_log v4', 'UTF8')
	         || coalesce(prev, '\x0000000000000000000000000000000000000000000000000000000000000000'::bytea)
	         || int8send(id) || timestamptz_send(logged_at) || int4send(octet_length(w)) || w) $$;
	CREATE FUNCTION pg_temp.batch_hash(last_hash bytea, first_id bigint, last_id bigint, records int,
	                                   first_at timestamptz, last_at timestamptz, logged_at timestamptz)
	  RETURNS bytea LANGUAGE sql IMMUTABLE AS
	  $$ SELECT sha256(convert_to('childguard access_log v4 batch', 'UTF8') || last_hash
	         || int8send(first_id) || int8send(last_id) || int4send(records)
	         || timestamptz_send(first_at) || timestamptz_send(last_at) || timestamptz_send(logged_at)) $$;
	CREATE FUNCTION pg_temp.len_at(p bytea, o int) RETURNS int LANGUAGE sql IMMUTABLE AS
	  $$ SELECT get_byte(p, o) << 24 | get_byte(p, o + 1) << 16 | get_byte(p, o + 2) << 8 | get_byte(p, o + 3) $$;
	-- every record's and batch's hash recomputed: (records, records whose
	-- stored hash matches, batches, batches whose hash matches)
	CREATE FUNCTION pg_temp.check_log(OUT n bigint, OUT good bigint, OUT nb bigint, OUT goodb bigint)
	  LANGUAGE plpgsql AS $$
	DECLARE
		b record;
		o int;
		len int;
		prev bytea;
		h bytea;
		id bigint;
	BEGIN
		n := 0; good := 0; nb := 0; goodb := 0;
		FOR b IN SELECT * FROM childguard.access_log_batch ORDER BY first_id LOOP
			prev := b.prev_hash; o := 0; id := b.first_id;
			WHILE o < octet_length(b.packed) LOOP
				len := pg_temp.len_at(b.packed, o);
				h := pg_temp.rec_hash(prev, id, b.logged_at, substring(b.packed from o + 37 for len));
				n := n + 1;
				IF h = substring(b.packed from o + 5 for 32) THEN good := good + 1; END IF;
				prev := h; o := o + 36 + len; id := id + 1;
			END LOOP;
			nb := nb + 1;
			IF b.hash = pg_temp.batch_hash(prev, b.first_id, b.last_id, b.records, b.first_statement_at,
			                               b.last_statement_at, b.logged_at) THEN
				goodb := goodb + 1;
			END IF;
		END LOOP;
	END $$;
};
my $written = $node->safe_psql('postgres', 'SELECT count(*) FROM childguard.access_log_batch b, LATERAL generate_series(b.first_id, b.last_id)');
cmp_ok($written, '>=', 2, "the writer wrote packed records ($written)");
my $batches = $node->safe_psql('postgres', 'SELECT count(*) FROM childguard.access_log_batch');
is($node->safe_psql('postgres', $format4 . q{
	SELECT (SELECT count(*) FILTER (WHERE format_version = 4) FROM childguard.access_log), c.*
	  FROM pg_temp.check_log() c}),
	"$written|$written|$written|$batches|$batches",
	"the writer's records are format 4 and hash as docs/audit.md says (SQL recomputation)");

# Continue the chain in SQL: $records more records, like the writer's, in
# batches of 500 packed from the last record's wire form.
my $t0 = time;
# (the catalog edit first: the session must load the log's relcache entry,
# triggers included, after it)
$node->safe_psql('postgres', qq{
	BEGIN;
	UPDATE pg_trigger SET tgenabled = 'D'
	 WHERE tgrelid IN ('childguard.access_log_batch'::regclass, 'childguard.access_log_head'::regclass);
	$format4
	DO \$\$
	DECLARE
		h record;
		t record;
		w bytea;
		prev bytea;
		bprev bytea;
		rh bytea;
		id bigint;
		first bigint;
		packed bytea;
		k int;
		logged timestamptz := clock_timestamp();
	BEGIN
		SELECT * INTO h FROM childguard.access_log_head;
		-- (from 1.9 a batch lists its records' children: here that record's)
		SELECT b.packed, l.statement_at,
		       ARRAY(SELECT DISTINCT s FROM unnest(l.children_read || l.children_denied
		                                           || l.children_written) s ORDER BY s) AS subjects
		  INTO t
		  FROM childguard.access_log_batch b JOIN childguard.access_log l ON l.id = b.first_id
		 ORDER BY b.first_id DESC LIMIT 1;
		w := substring(t.packed from 37 for pg_temp.len_at(t.packed, 0));
		bprev := h.last_hash; id := h.last_id;
		WHILE id < h.last_id + $records LOOP
			packed := ''; first := id + 1; k := 0; prev := bprev;
			WHILE k < 500 AND id < h.last_id + $records LOOP
				id := id + 1; k := k + 1;
				rh := pg_temp.rec_hash(prev, id, logged, w);
				packed := packed || int4send(octet_length(w)) || rh || w;
				prev := rh;
			END LOOP;
			rh := pg_temp.batch_hash(prev, first, id, k, t.statement_at, t.statement_at, logged);
			INSERT INTO childguard.access_log_batch
			VALUES (first, id, k, t.statement_at, t.statement_at, logged, 4, bprev, rh, packed,
			        t.subjects);
			bprev := rh;
		END LOOP;
		UPDATE childguard.access_log_head SET last_id = id, last_hash = bprev;
	END
	\$\$;
	UPDATE pg_trigger SET tgenabled = 'A'
	 WHERE tgrelid IN ('childguard.access_log_batch'::regclass, 'childguard.access_log_head'::regclass);
	COMMIT;});
my $total = $rows + $written + $records;
note sprintf('%d records generated in %d s', $records, time - $t0);
is($node->safe_psql('postgres', 'SELECT count(*) FROM childguard.access_log'), $total,
	"$total records in the log");
is($node->safe_psql('postgres', q{SELECT string_agg(tgenabled::text, '') FROM pg_trigger
	WHERE tgrelid IN ('childguard.access_log_batch'::regclass, 'childguard.access_log_head'::regclass)}),
	'AAAA', 'the guard is switched on again');

# In one session: peak RSS before and after verifying the whole log.
my $hwm = q{SELECT substring(pg_read_file('/proc/self/status') from 'VmHWM:\s*(\d+)')::bigint};
$t0 = time;
my $out = $node->safe_psql('postgres', qq{
	SELECT count(*) FROM childguard.access_log WHERE id < 10;   -- catalogs warm
	$hwm;
	SELECT valid, records_checked, records_by_format FROM childguard.verify_access_log();
	$hwm;});
my ($warm, $hwm_before, $verdict, $hwm_after) = split /\n/, $out;
note sprintf('verify_access_log over %d records: %d s; peak RSS %d kB before, %d kB after',
	$total, time - $t0, $hwm_before, $hwm_after);
is($verdict, "t|$total|{0,0,$rows," . ($total - $rows) . "}", "verify_access_log checked all $total records");
cmp_ok($hwm_after - $hwm_before, '<', $margin_kb,
	"the backend's peak memory grew by less than $margin_kb kB ("
	  . ($hwm_after - $hwm_before) . ' kB)');

# the writer carries on from the continued chain
$node->safe_psql('postgres', q{SET childguard.purpose = 'regress';
	SELECT name FROM pupils WHERE id = 'm-3'; SELECT childguard.audit_wait();});
is($node->safe_psql('postgres', 'SELECT valid, records_checked > ' . $total . ' FROM childguard.verify_access_log()'),
	't|t', 'the writer continues the chain after the generated records');

$node->stop;
done_testing();
