#!/usr/bin/env bash
# Benchmark (not a pass/fail test): where a set-based registration's time
# goes, statement by statement.  One private cluster, one database at the
# installed (default) version; N children, a guardian each and consent for
# two purposes each (make bench's registration workload, the staging
# tables of registration_ab.sh) registered by register_children(),
# register_guardians() and record_consents() in one session with
# auto_explain logging every nested statement of 30 ms or more (row counts
# only: log_analyze on, log_timing off, so the per-node clock does not
# inflate the durations).  Prints the backend's CPU time per call and each
# statement's duration (wall clock) with the first line of its text, in
# the order they ran ("1.9: registration" in docs/performance.md).
#
#   bash test/bench/registration_statements.sh [N]     (default 100000)
#
# Env: CG_PG_CONFIG / PG_CONFIG as for test/cluster.sh; the build installed.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/../.."
REPO=$PWD
# shellcheck source=test/cluster.sh
. "$REPO/test/cluster.sh"

N=${1:-100000}
DIR=/tmp/cgbench-regstmt-$$
PORT=$(cg_free_port 56600)
trap 'cg_destroy "$DIR" >/dev/null 2>&1 || true' EXIT
cg_start "$DIR" "$PORT" >/dev/null
cg_export "$DIR"
export PATH="$CG_BINDIR:$PATH"
PSQL=(psql -X -q -At -v ON_ERROR_STOP=1)
"${PSQL[@]}" -d postgres -c "CREATE ROLE bench_dpo" -c "CREATE ROLE bench_app" -c "CREATE ROLE bench_rec" \
  -c "CREATE DATABASE reg" >/dev/null
"${PSQL[@]}" -d reg >/dev/null <<SQL
SET client_min_messages = warning;
CREATE EXTENSION childguard CASCADE;
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
  FROM generate_series(1, $N) i;
CREATE TABLE s_g AS SELECT 'g' || i AS guardian_id, 'c' || i AS child_id FROM generate_series(1, $N) i;
CREATE TABLE s_k AS SELECT 'c' || i AS child_id, p AS purpose, 'n1'::text AS notice,
       CASE WHEN i % 3 = 0 THEN 'c' || i ELSE 'g' || i END AS given_by
  FROM generate_series(1, $N) i, (VALUES ('learning'), ('messaging')) v(p);
GRANT SELECT ON s_c, s_g, s_k TO bench_app, bench_rec;
VACUUM ANALYZE s_c, s_g, s_k;
CHECKPOINT;
SQL
LOGSTART=$(wc -c < "$DIR/server.log")
coproc P { "${PSQL[@]}" -d reg 2>&1; }
q() { echo "$1" >&"${P[1]}"; read -r line <&"${P[0]}"; echo "$line"; }
pid=$(q "SELECT pg_backend_pid();")
q "LOAD 'auto_explain'; SET auto_explain.log_min_duration = 30; SET auto_explain.log_analyze = on;
   SET auto_explain.log_timing = off; SET auto_explain.log_nested_statements = on; SELECT 1;" >/dev/null
tck=$(getconf CLK_TCK)
call() {
  local name=$1 sql=$2 c0 c1 r
  c0=$(awk '{print $14 + $15}' "/proc/$pid/stat")
  r=$(q "$sql")
  c1=$(awk '{print $14 + $15}' "/proc/$pid/stat")
  [ "$r" = 0 ] || { echo "$name: $r rows rejected" >&2; exit 1; }
  awk -v n="$name" -v c0="$c0" -v c1="$c1" -v tck="$tck" 'BEGIN { printf "%-10s backend CPU %.2f s\n", n, (c1 - c0) / tck }'
}
echo "$N children, load average $(cut -d' ' -f1 /proc/loadavg)"
call children "SET ROLE bench_app; SELECT count(sqlstate) FROM childguard.register_children('s_c');"
call guardians "SELECT count(sqlstate) FROM childguard.register_guardians('s_g');"
call consents "SET ROLE bench_rec; SELECT count(sqlstate) FROM childguard.record_consents('s_k');"
echo "\\q" >&"${P[1]}"
wait "$P_PID" 2>/dev/null || true
echo "statements of 30 ms or more (wall clock, ms), in the order they ran:"
tail -c +"$((LOGSTART + 1))" "$DIR/server.log" |
  awk '/LOG:  duration: .* plan:/ { d = $0; sub(/.*duration: /, "", d); sub(/ ms.*/, "", d); want = 1; next }
       want && /Query Text:/ { t = $0; sub(/.*Query Text: */, "", t); printf "%10.1f  %s\n", d, substr(t, 1, 100); want = 0 }'
