#!/usr/bin/env bash
# Benchmark (not a pass/fail test): a small set-based registration into a
# large registry, 1.5's path (A) against the installed version's (B), on one
# private cluster with the same library.  Each side's database is filled
# once with LARGE children (a guardian each, consent for two purposes), then
# 3 rounds A B A B ... register SMALL new children with a guardian and two
# consents each (the three calls in one session): the backend's CPU time and
# the wall clock of the three calls together.
#
#   bash test/bench/registration_into_large.sh [LARGE] [SMALL]   (200000 1000)
#
# Env: CG_PG_CONFIG / PG_CONFIG as for test/cluster.sh; the build installed.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
# shellcheck source=test/cluster.sh
. test/cluster.sh
DIR=/tmp/cgbench-reginto-$$; PORT=$(cg_free_port 56700)
cg_start "$DIR" "$PORT" >/dev/null; cg_export "$DIR"; export PATH="$CG_BINDIR:$PATH"
trap 'cg_destroy "$DIR" >/dev/null 2>&1 || true' EXIT
PSQL=(psql -X -q -At -v ON_ERROR_STOP=1)
LARGE=${1:-200000}; SMALL=${2:-1000}
"${PSQL[@]}" -d postgres -c "CREATE ROLE bench_dpo" -c "CREATE ROLE bench_app" -c "CREATE ROLE bench_rec" >/dev/null
B=$("${PSQL[@]}" -d postgres -c "SELECT default_version FROM pg_available_extensions WHERE name = 'childguard'")
stage() { # db prefix n
"${PSQL[@]}" -d $1 >/dev/null <<SQL
SET client_min_messages = warning;
DROP TABLE IF EXISTS s_c, s_g, s_k;
CREATE TABLE s_c AS SELECT '$2c' || i AS child_id, (CURRENT_DATE - CASE WHEN i % 3 = 0 THEN 5500 ELSE 3000 END - i % 300)::date AS birth_date FROM generate_series(1, $3) i;
CREATE TABLE s_g AS SELECT '$2g' || i AS guardian_id, '$2c' || i AS child_id FROM generate_series(1, $3) i;
CREATE TABLE s_k AS SELECT '$2c' || i AS child_id, p AS purpose, 'n1'::text AS notice, CASE WHEN i % 3 = 0 THEN '$2c' || i ELSE '$2g' || i END AS given_by
  FROM generate_series(1, $3) i, (VALUES ('learning'), ('messaging')) v(p);
GRANT SELECT ON s_c, s_g, s_k TO bench_app, bench_rec;
VACUUM ANALYZE s_c, s_g, s_k;
SQL
}
run() { # db -> prints cpu of three calls
  local db=$1
  coproc P { "${PSQL[@]}" -d "$db" 2>&1; }
  q() { echo "$1" >&"${P[1]}"; read -r line <&"${P[0]}"; echo "$line"; }
  pid=$(q "SELECT pg_backend_pid();")
  cpu() { awk '{print $14 + $15}' "/proc/$pid/stat"; }
  c0=$(cpu); t0=$(date +%s%6N)
  q "SET ROLE bench_app; SELECT count(sqlstate) FROM childguard.register_children('s_c');" >/dev/null
  q "SELECT count(sqlstate) FROM childguard.register_guardians('s_g');" >/dev/null
  q "SET ROLE bench_rec; SELECT count(sqlstate) FROM childguard.record_consents('s_k');" >/dev/null
  c1=$(cpu); t1=$(date +%s%6N)
  echo "\\q" >&"${P[1]}"; wait "$P_PID" 2>/dev/null || true
  echo "cpu $(echo "($c1 - $c0) / $(getconf CLK_TCK)" | bc -l | cut -c1-6) s wall $(echo "($t1 - $t0)/1000000" | bc -l | cut -c1-6) s"
}
for side in a b; do
  ver=1.5; [ $side = b ] && ver=$B
  "${PSQL[@]}" -d postgres -c "CREATE DATABASE big_$side" >/dev/null
  "${PSQL[@]}" -d big_$side >/dev/null <<SQL
SET client_min_messages = warning;
CREATE EXTENSION childguard VERSION '$ver' CASCADE;
SELECT childguard.appoint_officer('bench_dpo'); SELECT childguard.enroll_application('bench_app'); SELECT childguard.enroll_consent_recorder('bench_rec');
SET ROLE bench_dpo;
SELECT childguard.define_purpose('learning', '{name,school}', '2 years');
SELECT childguard.define_purpose('messaging', '{name,contact}', '2 years');
SELECT childguard.publish_notice('n1', '{learning,messaging}', 'a', 'b', 'c', 'd', 'e', 'f', 'g');
SQL
  stage big_$side L $LARGE; run big_$side >/dev/null
  "${PSQL[@]}" -d big_$side -c "VACUUM ANALYZE" >/dev/null
done
for r in 1 2 3; do for side in a b; do
  stage big_$side "S$r" $SMALL
  echo "$SMALL into $LARGE, side $side round $r: $(run big_$side)"
done; done
