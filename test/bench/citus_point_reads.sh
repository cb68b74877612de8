#!/usr/bin/env bash
# Benchmark (not a pass/fail test): point reads through a Citus coordinator,
# a protected distributed table (childguard: values sealed on the
# coordinator, returned by the workers as envelopes, decided, decrypted and
# audited on the coordinator) vs the same table in plain text, distributed
# the same way, on one throwaway cluster of a coordinator and two workers.
# Runs interleaved (childguard, plain, childguard, plain, ...); medians and
# their ratio printed.  `make bench` runs it when Citus is installed
# (test/bench/run.sh); exit 77 when it is not.
#
#   bash test/bench/citus_point_reads.sh [SECONDS_PER_RUN] [ROUNDS]
#
# Env: CG_BENCH_CHILDREN (default 1000), CG_BENCH_CLIENTS (2),
# CG_PG_CONFIG / PG_CONFIG as for test/cluster.sh.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/../.."
REPO=$PWD
# shellcheck source=test/cluster.sh
. "$REPO/test/cluster.sh"

SECS=${1:-10}
ROUNDS=${2:-3}
CHILDREN=${CG_BENCH_CHILDREN:-1000}
CLIENTS=${CG_BENCH_CLIENTS:-2}
if [ ! -f "$("$CG_PG_CONFIG" --pkglibdir)/citus.so" ]; then
  echo "citus_point_reads: Citus is not installed (../shared/citus/build.sh); skipped"
  exit 77
fi
BASE=/tmp/cgbench-citus-$$
PORT0=$(cg_free_port 56300)
PORT1=$(cg_free_port $((PORT0 + 1)))
PORT2=$(cg_free_port $((PORT1 + 1)))
trap 'for n in 0 1 2; do cg_destroy "$BASE/n$n" >/dev/null 2>&1 || true; done; rm -rf "$BASE"' EXIT
export PATH="$CG_BINDIR:$PATH"

ports=("$PORT0" "$PORT1" "$PORT2")
for n in 0 1 2; do
  role=worker; [ "$n" = 0 ] && role=coordinator
  cg_start "$BASE/n$n" "${ports[$n]}" >/dev/null
  cg_stop "$BASE/n$n" >/dev/null
  # Each node has its own master key file: a worker never opens a value.
  cg_as_server tee -a "$BASE/n$n/data/postgresql.conf" >/dev/null <<EOF
shared_preload_libraries = 'citus,childguard'
childguard.citus_node = $role
max_prepared_transactions = 100
citus.shard_count = 8
EOF
  cg_start "$BASE/n$n" "${ports[$n]}" >/dev/null
done
psql_n() { local n=$1; shift; psql -X -q -v ON_ERROR_STOP=1 -h "$BASE/n$n/socket" -p "${ports[$n]}" -U postgres -d postgres "$@"; }
for n in 0 1 2; do psql_n "$n" -c 'CREATE EXTENSION citus'; done
psql_n 0 -c "SELECT citus_set_coordinator_host('$BASE/n0/socket', $PORT0)" >/dev/null
psql_n 0 -c "SELECT citus_add_node('$BASE/n1/socket', $PORT1)" -c "SELECT citus_add_node('$BASE/n2/socket', $PORT2)" >/dev/null
psql_n 0 >/dev/null <<EOF
CREATE EXTENSION childguard CASCADE;
SELECT childguard.register_child('c' || i, '2015-01-01') FROM generate_series(1, $CHILDREN) i;
\i $REPO/test/fixtures/regress_purpose.psql
SELECT pg_temp.consent_all();
CREATE TABLE students (child text PRIMARY KEY, name childguard.child_data(name), grade int);
SELECT childguard.protect('students', 'child');
SELECT create_distributed_table('students', 'child');
CREATE TABLE students_plain (child text PRIMARY KEY, name text, grade int);
SELECT create_distributed_table('students_plain', 'child');
SET childguard.purpose = 'regress';
-- child data is sealed on the coordinator: load a local protected table,
-- then move its sealed values into the distributed one
CREATE TABLE stage (child text PRIMARY KEY, name childguard.child_data(name), grade int);
SELECT childguard.protect('stage', 'child');
INSERT INTO stage SELECT 'c' || i, '学生' || i, i % 6 + 1 FROM generate_series(1, $CHILDREN) i;
INSERT INTO students SELECT * FROM stage;
INSERT INTO students_plain SELECT 'c' || i, '学生' || i, i % 6 + 1 FROM generate_series(1, $CHILDREN) i;
EOF

cat > "$BASE/cg.sql" <<EOF
\set id random(1, $CHILDREN)
SELECT name FROM students WHERE child = 'c' || :id;
EOF
cat > "$BASE/plain.sql" <<EOF
\set id random(1, $CHILDREN)
SELECT name FROM students_plain WHERE child = 'c' || :id;
EOF
# one check that the reads decrypt
got=$(PGOPTIONS="-c childguard.purpose=regress" psql_n 0 -Atc "SELECT name FROM students WHERE child = 'c1'")
[ "$got" = "学生1" ] || { echo "citus_point_reads: read returned '$got'" >&2; exit 1; }

tps() {
  PGOPTIONS="-c childguard.purpose=regress" pgbench -n -M prepared -c "$CLIENTS" -j "$CLIENTS" -T "$SECS" \
    -h "$BASE/n0/socket" -p "$PORT0" -U postgres -f "$BASE/$1.sql" postgres 2>/dev/null |
    sed -n 's/^tps = \([0-9.]*\).*/\1/p'
}
cg=() plain=()
for ((r = 1; r <= ROUNDS; r++)); do
  cg+=("$(tps cg)"); plain+=("$(tps plain)")
done
median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
mc=$(median "${cg[@]}"); mp=$(median "${plain[@]}")
echo "===== Citus point reads through the coordinator ($CHILDREN children, 2 workers, $CLIENTS clients, ${SECS} s x $ROUNDS rounds) ====="
echo "childguard (protected, distributed): $mc tps   (runs: ${cg[*]})"
echo "plain text (distributed):            $mp tps   (runs: ${plain[*]})"
awk -v c="$mc" -v p="$mp" 'BEGIN { printf "ratio childguard / plain: %.2f\n", (p > 0 ? c / p : 0) }'
