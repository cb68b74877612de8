#!/usr/bin/env bash
# Benchmark (not a pass/fail test): what statement-text masking costs, with
# childguard.statement_masking = off, child_data (the default) and all,
# measured side by side in one run on a private throwaway cluster, as
# ratios.  No logging setting is on: this is the cost every statement pays.
#
#   bash test/bench/statement_masking.sh [SECONDS_PER_RUN] [CLIENTS]
#
# Workloads (pgbench, simple protocol, so every statement is parsed and
# its text reported to pg_stat_activity, one statement per transaction):
#   plain   SELECT abalance FROM pgbench_accounts WHERE aid = <literal>
#           (no child data: child_data pays a cached relation probe, all
#           scans the text)
#   child   SELECT grade FROM students WHERE id = <literal>
#           (a table holding child data: both mask the text)
# Each mode runs twice, interleaved, and the mean is reported, to dampen
# drift; on a shared machine expect several per cent of noise.
# Env: CG_PG_CONFIG / PG_CONFIG as for test/cluster.sh; the build must be
# installed there.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/../.."
REPO=$PWD
# shellcheck source=test/cluster.sh
. "$REPO/test/cluster.sh"

SECS=${1:-10}
CLIENTS=${2:-1}
DIR=/tmp/cgbench-mask-$$
PORT=$(cg_free_port 56200)
trap 'cg_destroy "$DIR" >/dev/null 2>&1 || true' EXIT

cg_start "$DIR" "$PORT" >/dev/null
cg_export "$DIR"
export PATH="$CG_BINDIR:$PATH"
PSQL=(psql -X -q -v ON_ERROR_STOP=1 -d postgres)

pgbench -i -q -s 1 postgres >/dev/null 2>&1
"${PSQL[@]}" <<EOF >/dev/null
CREATE EXTENSION childguard CASCADE;
CREATE TABLE students (id int PRIMARY KEY, child text NOT NULL,
                       name childguard.child_data(name), grade int);
SELECT childguard.protect('students', 'child');
INSERT INTO students SELECT i, 'c' || i, NULL, i % 6 + 1 FROM generate_series(1, 1000) i;
VACUUM ANALYZE students;
EOF

cat > "$DIR/plain.sql" <<EOF
\set id random(1, 100000)
SELECT abalance FROM pgbench_accounts WHERE aid = :id;
EOF
cat > "$DIR/child.sql" <<EOF
\set id random(1, 1000)
SELECT grade FROM students WHERE id = :id;
EOF

set_mode() {
  "${PSQL[@]}" -c "ALTER SYSTEM SET childguard.statement_masking = '$1'" \
    -c "SELECT pg_reload_conf()" >/dev/null
  sleep 0.5
}

run() {  # workload -> tps
  pgbench -n -M simple -c "$CLIENTS" -j "$CLIENTS" -T "$SECS" -f "$DIR/$1.sql" postgres 2>/dev/null |
    sed -n 's/^tps = \([0-9.]*\) .*/\1/p'
}

declare -A TPS
for round in 1 2; do
  for mode in off child_data all; do
    set_mode "$mode"
    for w in plain child; do
      t=$(run "$w")
      TPS[$w.$mode]=$(awk -v a="${TPS[$w.$mode]:-0}" -v b="$t" 'BEGIN { print a + b / 2 }')
      printf 'round %d  %-6s %-10s %10.1f tps\n' "$round" "$w" "$mode" "$t"
    done
  done
done

echo
echo "===== statement masking benchmark: $CLIENTS clients, ${SECS}s per run, $(nproc) CPUs ====="
printf '%-8s %12s %14s %12s %14s %10s\n' workload "off tps" "child_data tps" "all tps" "child_data/off" "all/off"
for w in plain child; do
  awk -v w="$w" -v off="${TPS[$w.off]}" -v cd="${TPS[$w.child_data]}" -v al="${TPS[$w.all]}" \
    'BEGIN { printf "%-8s %12.1f %14.1f %12.1f %14.3f %10.3f\n", w, off, cd, al, cd / off, al / off }'
done
