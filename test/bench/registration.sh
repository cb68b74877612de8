#!/usr/bin/env bash
# Benchmark (not a pass/fail test): registering children, one guardian each
# and one consent each, row by row (register_child, register_guardian,
# record_consent) vs. set-based (register_children, register_guardians,
# record_consents from staging tables), on a private throwaway cluster.
#
#   bash test/bench/registration.sh [ROUNDS] [SMALL] [LARGE]
#
# 1. ROUNDS (default 3) interleaved rounds, row by row then set-based, each
#    registering SMALL (default 2000) children: medians in µs per child
#    (child + guardian + consent), and their ratio.
# 2. One set-based load of LARGE (default 100000) children: seconds for each
#    part, µs per child, and the projection for 1,000,000 beside the target
#    (≤ 60 s).  verify_consent_log() must still be valid afterwards.
# A third of the children are 14 or over and consent themselves; the rest
# consent through their guardian.  Staging tables are filled before the
# clock starts (a migration has its data already).
# Env: CG_PG_CONFIG / PG_CONFIG as for test/cluster.sh; the build must be
# installed there.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/../.."
REPO=$PWD
# shellcheck source=test/cluster.sh
. "$REPO/test/cluster.sh"

ROUNDS=${1:-3}
SMALL=${2:-2000}
LARGE=${3:-100000}
DIR=/tmp/cgbench-reg-$$
PORT=$(cg_free_port 56300)
trap 'cg_destroy "$DIR" >/dev/null 2>&1 || true' EXIT

cg_start "$DIR" "$PORT" >/dev/null
cg_export "$DIR"
export PATH="$CG_BINDIR:$PATH"
PSQL=(psql -X -q -At -v ON_ERROR_STOP=1 -d postgres)

"${PSQL[@]}" <<'EOF' >/dev/null
SET client_min_messages = warning;
CREATE EXTENSION childguard CASCADE;
CREATE ROLE bench_dpo;
CREATE ROLE bench_app;
CREATE ROLE bench_rec;
SELECT childguard.appoint_officer('bench_dpo');
SELECT childguard.enroll_application('bench_app');
SELECT childguard.enroll_consent_recorder('bench_rec');
GRANT CREATE ON SCHEMA public TO bench_app, bench_rec;
SET ROLE bench_dpo;
SELECT childguard.define_purpose('tutoring', '{name,school}', '2 years');
SELECT childguard.publish_notice('n1', '{tutoring}', 'a', 'b', 'c', 'd', 'e', 'f', 'g');
RESET ROLE;
EOF

# stage TAG N: staging tables TAG_c, TAG_g, TAG_k for N children
stage() {
  "${PSQL[@]}" <<EOF >/dev/null
CREATE TABLE $1_c AS SELECT '$1-c' || i AS child_id,
       (CURRENT_DATE - CASE WHEN i % 3 = 0 THEN 5500 ELSE 3000 END - i % 300)::date AS birth_date
  FROM generate_series(1, $2) i;
CREATE TABLE $1_g AS SELECT '$1-g' || i AS guardian_id, '$1-c' || i AS child_id FROM generate_series(1, $2) i;
CREATE TABLE $1_k AS SELECT '$1-c' || i AS child_id, 'tutoring'::text AS purpose, 'n1'::text AS notice,
       CASE WHEN i % 3 = 0 THEN '$1-c' || i ELSE '$1-g' || i END AS given_by FROM generate_series(1, $2) i;
GRANT SELECT ON $1_c, $1_g, $1_k TO bench_app, bench_rec;
EOF
}

# now_us: wall clock in µs
now_us() { date +%s%6N; }

# row_by_row TAG: elapsed µs
row_by_row() {
  local t0 t1
  t0=$(now_us)
  "${PSQL[@]}" <<EOF >/dev/null
SET ROLE bench_app;
SELECT count(childguard.register_child(child_id, birth_date)) FROM $1_c;
SELECT count(childguard.register_guardian(guardian_id, child_id)) FROM $1_g;
SET ROLE bench_rec;
SELECT count(childguard.record_consent(child_id, purpose, notice, given_by)) FROM $1_k;
EOF
  t1=$(now_us)
  echo $((t1 - t0))
}

# set_based TAG: "total children guardians consents" elapsed µs; every row must be accepted
set_based() {
  local t0 t1 t2 t3 r
  t0=$(now_us)
  r=$("${PSQL[@]}" -c "SET ROLE bench_app" -c "SELECT count(sqlstate) FROM childguard.register_children('$1_c')")
  [ "$r" = 0 ] || { echo "registration: $r children rejected" >&2; exit 1; }
  t1=$(now_us)
  r=$("${PSQL[@]}" -c "SET ROLE bench_app" -c "SELECT count(sqlstate) FROM childguard.register_guardians('$1_g')")
  [ "$r" = 0 ] || { echo "registration: $r guardians rejected" >&2; exit 1; }
  t2=$(now_us)
  r=$("${PSQL[@]}" -c "SET ROLE bench_rec" -c "SELECT count(sqlstate) FROM childguard.record_consents('$1_k')")
  [ "$r" = 0 ] || { echo "registration: $r consents rejected" >&2; exit 1; }
  t3=$(now_us)
  echo "$((t3 - t0)) $((t1 - t0)) $((t2 - t1)) $((t3 - t2))"
}

median() { sort -n | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }

echo "== registration: $ROUNDS interleaved rounds of $SMALL children (+1 guardian, +1 consent each)"
A=(); B=()
for r in $(seq 1 "$ROUNDS"); do
  stage "r${r}a" "$SMALL"; stage "r${r}b" "$SMALL"
  a=$(row_by_row "r${r}a")
  b=$(set_based "r${r}b" | cut -d' ' -f1)
  A+=("$a"); B+=("$b")
  printf 'round %d: row by row %8.1f µs/child   set-based %8.1f µs/child\n' "$r" \
    "$(echo "$a / $SMALL" | bc -l)" "$(echo "$b / $SMALL" | bc -l)"
done
ma=$(printf '%s\n' "${A[@]}" | median)
mb=$(printf '%s\n' "${B[@]}" | median)
printf 'median:  row by row %8.1f µs/child   set-based %8.1f µs/child   set-based / row by row = %.3f\n' \
  "$(echo "$ma / $SMALL" | bc -l)" "$(echo "$mb / $SMALL" | bc -l)" "$(echo "$mb / $ma" | bc -l)"

echo "== set-based load of $LARGE children"
stage big "$LARGE"
read -r tot tc tg tk < <(set_based big)
printf 'children %6.2f s   guardians %6.2f s   consents %6.2f s   total %6.2f s = %.1f µs/child\n' \
  "$(echo "$tc / 1000000" | bc -l)" "$(echo "$tg / 1000000" | bc -l)" "$(echo "$tk / 1000000" | bc -l)" \
  "$(echo "$tot / 1000000" | bc -l)" "$(echo "$tot / $LARGE" | bc -l)"
printf 'projected for 1,000,000 children: %.0f s   (target <= 60 s)\n' "$(echo "$tot / $LARGE" | bc -l)"
"${PSQL[@]}" -c "SELECT 'verify_consent_log: valid=' || valid || ', events=' || records_checked FROM childguard.verify_consent_log()"
