#!/usr/bin/env bash
# Benchmark (not a pass/fail test): the read path of two builds side by
# side, in one run, on two private throwaway clusters: A (e.g. main) and
# B (e.g. this branch).  Rounds are interleaved A B A B ...; the medians
# of each side and the median of the per-round ratios B/A are printed.
# The audit is off and synchronous_commit off in both, so the figures are
# the read and write path's own CPU (decision, data key, cryptography), not
# the disk's.
#
#   CG_A_PG_CONFIG=/path/A/pg_config CG_B_PG_CONFIG=/path/B/pg_config \
#     bash test/bench/read_path.sh [SECONDS_PER_RUN] [ROUNDS]
#
# Each pg_config names an install holding the build to measure (copy a
# PostgreSQL tree, `make install PG_CONFIG=...` each build into its own).
# Env: CG_BENCH_CHILDREN (default 20000), CG_BENCH_CLIENTS (default 1).
# Workloads (pgbench -M prepared):
#   W1  SELECT name, school, contact FROM t WHERE id = :id   (3 child_data columns)
#   W2  UPDATE t SET contact = '...' WHERE id = :id         (seals one value)
#   W3  one scan decrypting every value of every row (per-value cost)
#   W5  SELECT grade FROM t WHERE id = :id                  (no child data)
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/../.."
REPO=$PWD
SECS=${1:-5}
ROUNDS=${2:-3}
CHILDREN=${CG_BENCH_CHILDREN:-20000}
CLIENTS=${CG_BENCH_CLIENTS:-1}
: "${CG_A_PG_CONFIG:?set CG_A_PG_CONFIG to the pg_config of build A}"
: "${CG_B_PG_CONFIG:?set CG_B_PG_CONFIG to the pg_config of build B}"
export CG_PG_CONFIG=$CG_A_PG_CONFIG
# shellcheck source=test/cluster.sh
. "$REPO/test/cluster.sh"
BASE=/tmp/cgrp-$$
declare -A BIN PORT
BIN[A]=$("$CG_A_PG_CONFIG" --bindir)
BIN[B]=$("$CG_B_PG_CONFIG" --bindir)
cleanup() {
  for s in A B; do CG_BINDIR=${BIN[$s]}; cg_destroy "$BASE-$s" >/dev/null 2>&1 || true; done
  rm -rf "$BASE-w"
}
trap cleanup EXIT

for s in A B; do
  CG_BINDIR=${BIN[$s]}
  if [ "$s" = A ]; then PORT[$s]=$(cg_free_port 56300); else PORT[$s]=$(cg_free_port 56350); fi
  cg_start "$BASE-$s" "${PORT[$s]}" >/dev/null
  printf 'childguard.audit = off\nsynchronous_commit = off\n' | cg_as_server tee -a "$BASE-$s/data/postgresql.conf" >/dev/null
  cg_as_server "$CG_BINDIR/pg_ctl" -D "$BASE-$s/data" reload >/dev/null
  "${BIN[$s]}/psql" -X -q -v ON_ERROR_STOP=1 -h "$BASE-$s/socket" -p "${PORT[$s]}" -U postgres -d postgres <<EOF >/dev/null
CREATE EXTENSION childguard CASCADE;
SELECT count(childguard.register_child('c' || i, '2015-01-01')) FROM generate_series(1, $CHILDREN) i;
\i $REPO/test/fixtures/regress_purpose.psql
SELECT pg_temp.consent_all();
CREATE TABLE t (id int PRIMARY KEY, child text NOT NULL, name childguard.child_data(name),
                school childguard.child_data(school), contact childguard.child_data(contact), grade int);
SELECT childguard.protect('t', 'child');
SET childguard.purpose = 'regress';
INSERT INTO t SELECT i, 'c' || i, '学生' || i, '学校' || (i % 97), '1390000' || i, i % 6 + 1
  FROM generate_series(1, $CHILDREN) i;
VACUUM ANALYZE t;
EOF
done

W=$BASE-w; mkdir -p "$W"
printf '\\set id random(1, %d)\nSELECT name, school, contact FROM t WHERE id = :id;\n' "$CHILDREN" > "$W/W1.sql"
printf '\\set id random(1, %d)\nUPDATE t SET contact = '"'"'13800000000'"'"' WHERE id = :id;\n' "$CHILDREN" > "$W/W2.sql"
printf 'SELECT count(*) FROM t WHERE length(name::text) + length(school::text) + length(contact::text) > 0;\n' > "$W/W3.sql"
printf '\\set id random(1, %d)\nSELECT grade FROM t WHERE id = :id;\n' "$CHILDREN" > "$W/W5.sql"

run() {  # side workload -> tps
  PGOPTIONS="-c childguard.purpose=regress" \
    "${BIN[$1]}/pgbench" -n -M prepared -c "$CLIENTS" -j "$CLIENTS" -T "$SECS" \
    -h "$BASE-$1/socket" -p "${PORT[$1]}" -U postgres -f "$W/$2.sql" postgres 2>/dev/null |
    sed -n 's/^tps = \([0-9.]*\) .*/\1/p'
}

declare -A R
for round in $(seq 1 "$ROUNDS"); do
  for w in W1 W2 W3 W5; do
    for s in A B; do
      t=$(run "$s" "$w")
      R[$w.$s]="${R[$w.$s]:-} $t"
      printf 'round %d  %-3s %s %12.2f tps\n' "$round" "$w" "$s" "$t"
    done
  done
done

median() { tr ' ' '\n' | grep -v '^$' | sort -g | awk '{ a[NR] = $1 } END { print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }
echo
echo "===== read path: A=$CG_A_PG_CONFIG B=$CG_B_PG_CONFIG; $CHILDREN children, $CLIENTS client(s), ${SECS}s x $ROUNDS rounds, $(nproc) CPUs, audit off ====="
printf '%-4s %14s %14s %14s\n' work "A tps (med)" "B tps (med)" "B/A (med of rounds)"
for w in W1 W2 W3 W5; do
  a=$(echo "${R[$w.A]}" | median); b=$(echo "${R[$w.B]}" | median)
  r=$(paste <(echo "${R[$w.A]}" | tr ' ' '\n' | grep -v '^$') <(echo "${R[$w.B]}" | tr ' ' '\n' | grep -v '^$') |
      awk '{ printf "%s ", $2 / $1 }' | median)
  awk -v w="$w" -v a="$a" -v b="$b" -v r="$r" 'BEGIN { printf "%-4s %14.2f %14.2f %14.3f\n", w, a, b, r }'
done
a=$(echo "${R[W3.A]}" | median); b=$(echo "${R[W3.B]}" | median)
awk -v a="$a" -v b="$b" -v n="$CHILDREN" 'BEGIN { printf "W3 per scan: A %.1f ms, B %.1f ms; per value (3 per row): A %.3f us, B %.3f us\n", 1e3 / a, 1e3 / b, 1e6 / a / (3 * n), 1e6 / b / (3 * n) }'
