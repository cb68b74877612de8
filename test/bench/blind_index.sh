#!/usr/bin/env bash
# Benchmark (not a pass/fail test): an equality lookup on a child_data
# column of ROWS rows (default 100,000), with a blind index
# (childguard.enable_blind_index) against the same table without one, on a
# private throwaway cluster.  Prints each side's median time per lookup
# (a random existing value each time, as a parameter) and the ratio.
# Audit off and synchronous_commit off: the lookup's own cost.
#
#   CG_PG_CONFIG=/path/pg_config bash test/bench/blind_index.sh [ROUNDS]
#
# Env: CG_BENCH_ROWS (default 100000), CG_BENCH_CHILDREN (default 2000:
# the rows are spread over them).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/../.."
REPO=$PWD
ROUNDS=${1:-3}
PLAIN_LOOKUPS=${CG_BENCH_PLAIN_LOOKUPS:-5}
ROWS=${CG_BENCH_ROWS:-100000}
CHILDREN=${CG_BENCH_CHILDREN:-2000}
# shellcheck source=test/cluster.sh
. "$REPO/test/cluster.sh"
BASE=/tmp/cgbi-$$
cleanup() { cg_destroy "$BASE" >/dev/null 2>&1 || true; }
trap cleanup EXIT

PORT=$(cg_free_port 56400)
cg_start "$BASE" "$PORT" >/dev/null
printf 'childguard.audit = off\nsynchronous_commit = off\n' | cg_as_server tee -a "$BASE/data/postgresql.conf" >/dev/null
cg_as_server "$CG_BINDIR/pg_ctl" -D "$BASE/data" reload >/dev/null
"$CG_BINDIR/psql" -X -q -v ON_ERROR_STOP=1 -h "$BASE/socket" -p "$PORT" -U postgres -d postgres <<EOF >/dev/null
CREATE EXTENSION childguard CASCADE;
SELECT count(childguard.register_child('c' || i, '2015-01-01')) FROM generate_series(1, $CHILDREN) i;
\i $REPO/test/fixtures/regress_purpose.psql
SELECT pg_temp.consent_all();
CREATE ROLE bench_app LOGIN;
SELECT childguard.enroll_application('bench_app');
SELECT childguard.request_access('bench_app', '{regress}', now() + interval '1 day', max_children => 100000) AS g \gset
SET ROLE regress_fixture_dpo;
SELECT childguard.approve_access(:g);
RESET ROLE;
CREATE TABLE indexed (id int PRIMARY KEY, child text NOT NULL, name childguard.child_data(name));
SELECT childguard.protect('indexed', 'child');
CREATE TABLE plain (id int PRIMARY KEY, child text NOT NULL, name childguard.child_data(name));
SELECT childguard.protect('plain', 'child');
GRANT SELECT ON indexed, plain TO bench_app;
SET childguard.purpose = 'regress';
INSERT INTO indexed SELECT i, 'c' || (i % $CHILDREN + 1), 'name-' || i FROM generate_series(1, $ROWS) i;
INSERT INTO plain SELECT * FROM indexed;
RESET childguard.purpose;
SELECT childguard.enable_blind_index('indexed', 'name', 20000);
VACUUM ANALYZE indexed;
VACUUM ANALYZE plain;
EOF

# the lookup's plan, as the application role sees it
PGOPTIONS="-c childguard.purpose=regress" "$CG_BINDIR/psql" -X -h "$BASE/socket" -p "$PORT" -U bench_app -d postgres \
  -c "EXPLAIN (COSTS OFF) SELECT id FROM indexed WHERE name = 'name-7'" \
  -c "EXPLAIN (COSTS OFF) SELECT id FROM plain WHERE name = 'name-7'"

# ms per lookup: N lookups of random existing values, as a driver sends
# them (name = $1, the parameter typed child_data), timed in one session
run() {  # table lookups -> ms per lookup
  PGOPTIONS="-c childguard.purpose=regress" "$CG_BINDIR/psql" -X -qAt -h "$BASE/socket" -p "$PORT" \
    -U bench_app -d postgres -c "CREATE FUNCTION pg_temp.bench(n int) RETURNS float8 LANGUAGE plpgsql AS \$f\$
DECLARE t0 timestamptz := clock_timestamp(); k int; found int;
BEGIN
  FOR k IN 1 .. n LOOP
    EXECUTE 'SELECT count(*) FROM $1 WHERE name = \$1' INTO found
      USING ('name-' || (1 + floor(random() * $ROWS))::int)::childguard.child_data;
    IF found <> 1 THEN RAISE EXCEPTION 'lookup found % rows', found; END IF;
  END LOOP;
  RETURN extract(epoch FROM clock_timestamp() - t0) * 1000 / n;
END \$f\$" -c "SELECT round(pg_temp.bench($2)::numeric, 3)"
}
median() { tr ' ' '\n' | grep -v '^$' | sort -g | awk '{ a[NR] = $1 } END { print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }
declare -A R
for round in $(seq 1 "$ROUNDS"); do
  a=$(run indexed 2000); b=$(run plain "$PLAIN_LOOKUPS")
  R[indexed]="${R[indexed]:-} $a"; R[plain]="${R[plain]:-} $b"
  printf 'round %d  with blind index %10s ms per lookup, without %10s ms\n' "$round" "$a" "$b"
done
a=$(echo "${R[indexed]}" | median); b=$(echo "${R[plain]}" | median)
echo
echo "===== blind index: equality lookup on $ROWS rows ($CHILDREN children), $ROUNDS rounds, $(nproc) CPUs, audit off ====="
awk -v a="$a" -v b="$b" 'BEGIN { printf "with blind index %.3f ms, without %.3f ms per lookup: %.0fx faster\n", a, b, b / a }'
