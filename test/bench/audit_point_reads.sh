#!/usr/bin/env bash
# Benchmark (not a pass/fail test): throughput of point reads of child data
# with the audit trail on vs. off, measured side by side in one run on a
# private throwaway cluster, as ratios.
#
#   bash test/bench/audit_point_reads.sh [SECONDS_PER_RUN] [CLIENTS]
#
# Workloads (pgbench, prepared statements, one row per transaction):
#   decrypt   SELECT name FROM students WHERE id = :id   (child data: audited)
#   plain     SELECT grade FROM students WHERE id = :id  (no child data)
# Modes: childguard.audit = off; on (asynchronous, the default); on with
# childguard.audit_sync (each read waits for its record's commit).
# Each mode runs twice, interleaved (off, on, sync, off, on, sync), and
# the mean of the two is reported, to dampen drift.
# Env: CG_PG_CONFIG / PG_CONFIG as for test/cluster.sh; the build must be
# installed there.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/../.."
REPO=$PWD
# shellcheck source=test/cluster.sh
. "$REPO/test/cluster.sh"

SECS=${1:-10}
CLIENTS=${2:-4}
CHILDREN=${CG_BENCH_CHILDREN:-1000}
DIR=/tmp/cgbench-$$
PORT=$(cg_free_port 56100)
trap 'cg_destroy "$DIR" >/dev/null 2>&1 || true' EXIT

cg_start "$DIR" "$PORT" >/dev/null
cg_export "$DIR"
export PATH="$CG_BINDIR:$PATH"
PSQL=(psql -X -q -v ON_ERROR_STOP=1 -d postgres)

"${PSQL[@]}" <<EOF >/dev/null
CREATE EXTENSION childguard CASCADE;
SELECT childguard.register_child('c' || i, '2015-01-01') FROM generate_series(1, $CHILDREN) i;
\i $REPO/test/fixtures/regress_purpose.psql
SELECT pg_temp.consent_all();
CREATE TABLE students (id int PRIMARY KEY, child text NOT NULL,
                       name childguard.child_data(name), grade int);
SELECT childguard.protect('students', 'child');
SET childguard.purpose = 'regress';
INSERT INTO students SELECT i, 'c' || i, '学生' || i, i % 6 + 1 FROM generate_series(1, $CHILDREN) i;
VACUUM ANALYZE students;
EOF

cat > "$DIR/decrypt.sql" <<EOF
\set id random(1, $CHILDREN)
SELECT name FROM students WHERE id = :id;
EOF
cat > "$DIR/plain.sql" <<EOF
\set id random(1, $CHILDREN)
SELECT grade FROM students WHERE id = :id;
EOF

set_mode() {
  case "$1" in
    off)  "${PSQL[@]}" -c "ALTER SYSTEM SET childguard.audit = off" -c "ALTER SYSTEM SET childguard.audit_sync = off" ;;
    on)   "${PSQL[@]}" -c "ALTER SYSTEM SET childguard.audit = on" -c "ALTER SYSTEM SET childguard.audit_sync = off" ;;
    sync) "${PSQL[@]}" -c "ALTER SYSTEM SET childguard.audit = on" -c "ALTER SYSTEM SET childguard.audit_sync = on" ;;
  esac
  "${PSQL[@]}" -c "SELECT pg_reload_conf()" >/dev/null
  sleep 0.5
}

drained() {  # wait until the writer has caught up (the log stops growing)
  local a b
  b=$("${PSQL[@]}" -At -c "SELECT count(*) FROM childguard.access_log")
  while :; do
    sleep 1
    a=$("${PSQL[@]}" -At -c "SELECT count(*) FROM childguard.access_log")
    [ "$a" = "$b" ] && return
    b=$a
  done
}

run() {  # workload -> tps
  PGOPTIONS="-c childguard.purpose=regress" \
    pgbench -n -M prepared -c "$CLIENTS" -j "$CLIENTS" -T "$SECS" -f "$DIR/$1.sql" postgres 2>/dev/null |
    sed -n 's/^tps = \([0-9.]*\) .*/\1/p'
}

declare -A TPS
for round in 1 2; do
  for mode in off on sync; do
    set_mode "$mode"
    drained
    for w in decrypt plain; do
      t=$(run "$w")
      drained
      TPS[$w.$mode]=$(awk -v a="${TPS[$w.$mode]:-0}" -v b="$t" 'BEGIN { print a + b / 2 }')
      printf 'round %d  %-7s %-5s %10.1f tps\n' "$round" "$w" "$mode" "$t"
    done
  done
done
records=$("${PSQL[@]}" -At -c "SELECT count(*) FROM childguard.access_log")
valid=$("${PSQL[@]}" -At -c "SELECT valid FROM childguard.verify_access_log()")

echo
echo "===== audit benchmark: $CLIENTS clients, ${SECS}s per run, $CHILDREN children, $(nproc) CPUs ====="
printf '%-8s %12s %12s %12s %12s %12s\n' workload "off tps" "on tps" "sync tps" "on/off" "sync/off"
for w in decrypt plain; do
  awk -v w="$w" -v off="${TPS[$w.off]}" -v on="${TPS[$w.on]}" -v sy="${TPS[$w.sync]}" \
    'BEGIN { printf "%-8s %12.1f %12.1f %12.1f %12.3f %12.3f\n", w, off, on, sy, on / off, sy / off }'
done
echo "access_log records written: $records (chain valid: $valid)"
