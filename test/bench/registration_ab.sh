#!/usr/bin/env bash
# Benchmark (not a pass/fail test): the set-based registration path of the
# installed SQL against that of an older version, side by side on one
# private cluster with the same library: each load goes into a new database
# created with `CREATE EXTENSION childguard VERSION '$CG_REG_A'` (A, default
# 1.6: that version's register_children, register_guardians, record_consents
# and consent-log trigger) or at the default version (B).  Per load: N children, a guardian each, consent for
# two purposes each (2N consents, a third given by the child), staging
# tables filled and analysed before the clock starts, the three calls in
# one session; wall-clock time and the backend's CPU time (/proc/PID/stat)
# per call, and verify_consent_log() afterwards.
#
#   bash test/bench/registration_ab.sh [ROUNDS] SIZE...
#
# ROUNDS (default 3) interleaved rounds A B A B ... for each SIZE (default
# 10000 100000); each line also prints the load average.  A SIZE written
# as 1000000:1 runs that size in 1 round.
# Env: CG_REG_A (A's version, default 1.6); CG_REG_A_LIB: A's
# childguard.so (e.g. main's build), so that A is the old code whole, its C
# included: the cluster is restarted with A's library before each A load and
# with the installed one (B's, put back on exit) before each B load;
# CG_PG_CONFIG / PG_CONFIG as for test/cluster.sh; the build installed.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/../.."
REPO=$PWD
# shellcheck source=test/cluster.sh
. "$REPO/test/cluster.sh"

ROUNDS=${1:-3}
AVER=${CG_REG_A:-1.6}
shift || true
SIZES=("$@")
[ ${#SIZES[@]} -gt 0 ] || SIZES=(10000 100000)
DIR=/tmp/cgbench-regab-$$
PORT=$(cg_free_port 56500)
PKGLIB=$("$CG_PG_CONFIG" --pkglibdir)
ALIB=${CG_REG_A_LIB:-}
mkdir -p "$DIR.libs"
cp "$PKGLIB/childguard.so" "$DIR.libs/b.so"
[ -z "$ALIB" ] || cp "$ALIB" "$DIR.libs/a.so"
# use_lib a|b: that side's library installed (a new file, never written in
# place: running backends have the old one mapped) and the cluster restarted
CUR=b
use_lib() {
  [ -n "$ALIB" ] && [ "$1" != "$CUR" ] || return 0
  cp "$DIR.libs/$1.so" "$PKGLIB/.childguard.so.new" && mv -f "$PKGLIB/.childguard.so.new" "$PKGLIB/childguard.so"
  cg_as_server "$CG_BINDIR/pg_ctl" -D "$DIR/data" -l "$DIR/server.log" -w -t 120 restart >/dev/null
  CUR=$1
}
cleanup() {
  cp "$DIR.libs/b.so" "$PKGLIB/.childguard.so.new" && mv -f "$PKGLIB/.childguard.so.new" "$PKGLIB/childguard.so"
  cg_destroy "$DIR" >/dev/null 2>&1 || true
  rm -rf "$DIR.libs"
}
trap cleanup EXIT

cg_start "$DIR" "$PORT" >/dev/null
cg_export "$DIR"
export PATH="$CG_BINDIR:$PATH"
PSQL=(psql -X -q -At -v ON_ERROR_STOP=1)
"${PSQL[@]}" -d postgres -c "CREATE ROLE bench_dpo" -c "CREATE ROLE bench_app" -c "CREATE ROLE bench_rec" >/dev/null

now_us() { date +%s%6N; }

# load DB VERSION N: prints "wall cpu wall_c wall_g wall_k cpu_c cpu_g cpu_k log"
load() {
  local db=$1 ver=$2 n=$3 pid c0 c1 c2 c3 t0 t1 t2 t3 r v tck
  "${PSQL[@]}" -d postgres -c "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db" >/dev/null 2>&1
  "${PSQL[@]}" -d "$db" >/dev/null <<SQL
SET client_min_messages = warning;
CREATE EXTENSION childguard VERSION '$ver' CASCADE;
SELECT childguard.appoint_officer('bench_dpo');
SELECT childguard.enroll_application('bench_app');
SELECT childguard.enroll_consent_recorder('bench_rec');
SET ROLE bench_dpo;
SELECT childguard.define_purpose('learning', '{name,school}', '2 years');
SELECT childguard.define_purpose('messaging', '{name,contact}', '2 years');
SELECT childguard.publish_notice('n1', '{learning,messaging}', 'a', 'b', 'c', 'd', 'e', 'f', 'g');
RESET ROLE;
CREATE TABLE s_c AS SELECT 'c' || i AS child_id,
       (CURRENT_DATE - CASE WHEN i % 3 = 0 THEN 5500 ELSE 3000 END - i % 300)::date AS birth_date
  FROM generate_series(1, $n) i;
CREATE TABLE s_g AS SELECT 'g' || i AS guardian_id, 'c' || i AS child_id FROM generate_series(1, $n) i;
CREATE TABLE s_k AS SELECT 'c' || i AS child_id, p AS purpose, 'n1'::text AS notice,
       CASE WHEN i % 3 = 0 THEN 'c' || i ELSE 'g' || i END AS given_by
  FROM generate_series(1, $n) i, (VALUES ('learning'), ('messaging')) v(p);
GRANT SELECT ON s_c, s_g, s_k TO bench_app, bench_rec;
VACUUM ANALYZE s_c, s_g, s_k;
CHECKPOINT;
SQL
  coproc P { "${PSQL[@]}" -d "$db" 2>&1; }
  q() { echo "$1" >&"${P[1]}"; read -r line <&"${P[0]}"; echo "$line"; }
  pid=$(q "SELECT pg_backend_pid();")
  cpu() { awk '{print $14 + $15}' "/proc/$pid/stat"; }
  c0=$(cpu); t0=$(now_us)
  r=$(q "SET ROLE bench_app; SELECT count(sqlstate) FROM childguard.register_children('s_c');")
  [ "$r" = 0 ] || { echo "children rejected: $r" >&2; exit 1; }
  c1=$(cpu); t1=$(now_us)
  r=$(q "SELECT count(sqlstate) FROM childguard.register_guardians('s_g');")
  [ "$r" = 0 ] || { echo "guardians rejected: $r" >&2; exit 1; }
  c2=$(cpu); t2=$(now_us)
  r=$(q "SET ROLE bench_rec; SELECT count(sqlstate) FROM childguard.record_consents('s_k');")
  [ "$r" = 0 ] || { echo "consents rejected: $r" >&2; exit 1; }
  c3=$(cpu); t3=$(now_us)
  v=$(q "RESET ROLE; SELECT valid::text || '/' || records_checked FROM childguard.verify_consent_log();")
  echo "\\q" >&"${P[1]}"
  wait "$P_PID" 2>/dev/null || true
  "${PSQL[@]}" -d postgres -c "DROP DATABASE $db" >/dev/null
  tck=$(getconf CLK_TCK)
  awk -v t0="$t0" -v t1="$t1" -v t2="$t2" -v t3="$t3" -v c0="$c0" -v c1="$c1" -v c2="$c2" -v c3="$c3" \
      -v tck="$tck" -v v="$v" 'BEGIN {
        printf "%.2f %.2f %.2f %.2f %.2f %.2f %.2f %.2f %s\n", (t3 - t0) / 1e6, (c3 - c0) / tck,
          (t1 - t0) / 1e6, (t2 - t1) / 1e6, (t3 - t2) / 1e6, (c1 - c0) / tck, (c2 - c1) / tck, (c3 - c2) / tck, v }'
}

median() { sort -n | awk '{a[NR] = $1} END {print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2}'; }

B=$("${PSQL[@]}" -d postgres -c "SELECT default_version FROM pg_available_extensions WHERE name = 'childguard'")
echo "A = $AVER's set-based path${ALIB:+ with $ALIB}, B = $B's; per call: children / guardians / consents; load = 1-minute load average"
for spec in "${SIZES[@]}"; do
  n=${spec%%:*}; rounds=$ROUNDS
  [ "$spec" != "$n" ] && rounds=${spec#*:}
  ra=(); rb=()
  for r in $(seq 1 "$rounds"); do
    for side in A B; do
      ver=$AVER; [ $side = B ] && ver=$B
      use_lib "${side,,}"
      read -r wall cpu wc wg wk cc cg ck v < <(load "reg_${side,,}_$n" "$ver" "$n")
      printf '%-9s %s round %d: wall %7.2f s (%.2f %.2f %.2f)  cpu %7.2f s (%.2f %.2f %.2f)  log %s  load %s\n' \
        "$n" "$side" "$r" "$wall" "$wc" "$wg" "$wk" "$cpu" "$cc" "$cg" "$ck" "$v" "$(cut -d' ' -f1 /proc/loadavg)"
      if [ $side = A ]; then ra+=("$cpu"); else rb+=("$cpu"); fi
    done
  done
  ma=$(printf '%s\n' "${ra[@]}" | median); mb=$(printf '%s\n' "${rb[@]}" | median)
  printf '%-9s median backend CPU: A %.2f s  B %.2f s  B/A %.3f  (B per 1,000,000 children: %.0f s)\n' \
    "$n" "$ma" "$mb" "$(echo "$mb / $ma" | bc -l)" "$(echo "$mb * 1000000 / $n" | bc -l)"
done
