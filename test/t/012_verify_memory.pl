# verify_access_log() runs in constant memory: it streams the log in chain
# order (a cursor fetched in batches, each batch freed, each row hashed in
# a context reset per row) instead of holding the table.
#
# The log is made long quickly: a few records come from the audit writer,
# then a chain continuation is computed in SQL from the documented chain
# format 3 (docs/audit.md) and inserted with the log's guard switched off
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
	CREATE EXTENSION childguard CASCADE;
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
my $written = $node->safe_psql('postgres', 'SELECT count(*) FROM childguard.access_log');
cmp_ok($written, '>=', 3, "the writer wrote records ($written)");
is($node->safe_psql('postgres', $canon . q{
	SELECT count(*) FILTER (WHERE format_version = 3),
	       count(*) FILTER (WHERE hash = pg_temp.row_hash(l))
	  FROM childguard.access_log l}),
	"$written|$written", "the writer's records are format 3 and hash as docs/audit.md says (SQL recomputation)");

# Continue the chain in SQL: $records more records, like the writer's.
my $t0 = time;
# (the catalog edit first: the session must load the log's relcache entry,
# triggers included, after it)
$node->safe_psql('postgres', qq{
	BEGIN;
	UPDATE pg_trigger SET tgenabled = 'D'
	 WHERE tgrelid IN ('childguard.access_log'::regclass, 'childguard.access_log_head'::regclass);
	$canon
	DO \$\$
	DECLARE
		h record;
		r childguard.access_log;
		tmpl childguard.access_log;
	BEGIN
		SELECT * INTO h FROM childguard.access_log_head;
		SELECT * INTO tmpl FROM childguard.access_log ORDER BY id DESC LIMIT 1;
		r := tmpl;
		FOR i IN 1..$records LOOP
			r.id := h.last_id + i;
			r.prev_hash := CASE WHEN i = 1 THEN h.last_hash ELSE r.hash END;
			r.hash := NULL;
			r.hash := pg_temp.row_hash(r);
			INSERT INTO childguard.access_log SELECT r.*;
		END LOOP;
		UPDATE childguard.access_log_head SET last_id = r.id, last_hash = r.hash;
	END
	\$\$;
	UPDATE pg_trigger SET tgenabled = 'A'
	 WHERE tgrelid IN ('childguard.access_log'::regclass, 'childguard.access_log_head'::regclass);
	COMMIT;});
my $total = $written + $records;
note sprintf('%d records generated in %d s', $records, time - $t0);
is($node->safe_psql('postgres', 'SELECT count(*) FROM childguard.access_log'), $total,
	"$total records in the log");
is($node->safe_psql('postgres', q{SELECT string_agg(tgenabled::text, '') FROM pg_trigger
	WHERE tgrelid IN ('childguard.access_log'::regclass, 'childguard.access_log_head'::regclass)}),
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
is($verdict, "t|$total|{0,0,$total}", "verify_access_log checked all $total records");
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
