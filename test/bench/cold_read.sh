#!/usr/bin/env bash
# Benchmark (not a pass/fail test): what a child's FIRST read in a backend
# costs, in two builds side by side (A, e.g. main; B, this branch), on two
# private throwaway clusters, rounds interleaved A B A B ...
#
#   CG_A_PG_CONFIG=/path/A/pg_config CG_B_PG_CONFIG=/path/B/pg_config \
#     bash test/bench/cold_read.sh [ROUNDS]
#
# Each pg_config names an install holding the build to measure (copy a
# PostgreSQL tree, `make install PG_CONFIG=...` each build into its own).
# Env: CG_BENCH_CHILDREN (default 20000); CG_BENCH_RLS=1 reads as a
# non-superuser holding the grant (the row policy decides each row by the
# child's id, as W1's application does) instead of the superuser (each
# value decided by the subject number its envelope carries).  One protected table of
# CG_BENCH_CHILDREN rows, one per child, three child_data columns; audit
# off, synchronous_commit off.  Each round, on each side:
#   catalog  a session empties the shared cache (an empty UPDATE of
#            childguard.purpose), then scans every row: each child's
#            first read since the registry changed (catalog fetches,
#            unwrap), filling the shared cache;
#   first    a NEW session scans every row: each child's first read in that
#            backend, with the shared cache holding it (the path a pgbench
#            connection of 6-10 s takes for most children at 100,000);
#   warm     the same session scans again (its own caches warm).
# Reported per child (µs): the medians of the rounds, and first - warm
# (what the first read in a backend adds to a read), with B/A.
# CG_BENCH_INSTRUCTIONS=1 (needs valgrind): then, each side's server
# restarted under callgrind, the user-space instructions per child of a
# new backend's first scan of CG_BENCH_IR_ROWS rows (default 5000) and of
# its second -- immune to the machine's load, which moves the times above
# by more than the differences measured.  Backends with 0, 1 and 2 scans
# (after one that fills the shared cache): first = (1) - (0), warm =
# (2) - (1); the first figure includes the backend's exit (wiping its
# data-key cache), which the times above do not.  CG_BENCH_IR_KEEP=DIR
# keeps the callgrind files there (DIR/A, DIR/B: callgrind_annotate them).
# CG_BENCH_PGBENCH=SECONDS (1.8): also, each round on each side, a W1-like
# pgbench (2 clients, -M prepared, the three columns of one random child by
# its id, as cr_app through the row policy) and the same against the same
# rows in a plain table, each run a NEW pgbench (fresh backends: at 100,000
# children most reads are a backend's first read of that child, with the
# shared cache warm); reported: tps, childguard / plain, and B/A.
# CG_BENCH_IR_POINT=N (1.8, with CG_BENCH_INSTRUCTIONS=1): also the
# instructions of W1-like point reads as cr_app (a prepared SELECT of the
# three columns by child id, through the row policy) of N distinct random
# children: a backend's first read of each (the shared cache filled by an
# earlier backend reading them), the same backend's second, and the same
# statements on the plain table; per read, and plain / childguard.
# CG_BENCH_CONNECT=1 (1.9): the W1-like pgbench connects for every
# transaction (-C: each read a new backend's first, and its exit), as an
# application without a pooler does.  CG_BENCH_KEY_CACHE=N sets
# childguard.data_key_cache_size (default: twice the children, at least
# 16,384, as make bench does).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/../.."
REPO=$PWD
ROUNDS=${1:-5}
CHILDREN=${CG_BENCH_CHILDREN:-20000}
: "${CG_A_PG_CONFIG:?set CG_A_PG_CONFIG to the pg_config of build A}"
: "${CG_B_PG_CONFIG:?set CG_B_PG_CONFIG to the pg_config of build B}"
export CG_PG_CONFIG=$CG_A_PG_CONFIG
# shellcheck source=test/cluster.sh
. "$REPO/test/cluster.sh"
BASE=/tmp/cgcr-$$
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
  if [ "$s" = A ]; then PORT[$s]=$(cg_free_port 56400); else PORT[$s]=$(cg_free_port 56450); fi
  cg_start "$BASE-$s" "${PORT[$s]}" >/dev/null
  printf 'childguard.audit = off\nsynchronous_commit = off\nchildguard.data_key_cache_size = %d\n' \
    "${CG_BENCH_KEY_CACHE:-$((CHILDREN * 2 > 16384 ? CHILDREN * 2 : 16384))}" |
    cg_as_server tee -a "$BASE-$s/data/postgresql.conf" >/dev/null
  cg_as_server "$CG_BINDIR/pg_ctl" -D "$BASE-$s/data" reload >/dev/null
  "${BIN[$s]}/psql" -X -q -v ON_ERROR_STOP=1 -h "$BASE-$s/socket" -p "${PORT[$s]}" -U postgres -d postgres <<EOF >/dev/null
CREATE EXTENSION childguard CASCADE;
\i $REPO/test/fixtures/regress_purpose.psql
-- the set-based registration (1.2): children, a guardian each, consent for both purposes
CREATE TABLE stage_c AS SELECT 'c' || i AS child_id, date '2015-01-01' AS birth_date FROM generate_series(1, $CHILDREN) i;
CREATE TABLE stage_g AS SELECT 'g-c' || i AS guardian_id, 'c' || i AS child_id FROM generate_series(1, $CHILDREN) i;
CREATE TABLE stage_k AS SELECT 'c' || i AS child_id, p AS purpose, 'regress-notice'::text AS notice,
       'g-c' || i AS given_by, 'g-c' || i AS guardian_informed
  FROM generate_series(1, $CHILDREN) i, (VALUES ('regress'), ('regress_transfer')) v(p);
GRANT SELECT ON stage_g, stage_k TO regress_fixture_recorder;
SELECT count(*) AS bad FROM childguard.register_children('stage_c') r WHERE r.sqlstate IS NOT NULL \gset
SET ROLE regress_fixture_recorder;
SELECT :bad + count(*) AS bad FROM childguard.register_guardians('stage_g') r WHERE r.sqlstate IS NOT NULL \gset
SELECT :bad + count(*) AS bad FROM childguard.record_consents('stage_k') r WHERE r.sqlstate IS NOT NULL \gset
RESET ROLE;
SELECT CASE WHEN :bad > 0 THEN pg_catalog.pg_terminate_backend(pg_backend_pid()) END;
CREATE TABLE t (id int PRIMARY KEY, child text NOT NULL, name childguard.child_data(name),
                school childguard.child_data(school), contact childguard.child_data(contact), grade int);
SELECT childguard.protect('t', 'child');
SET childguard.purpose = 'regress';
INSERT INTO t SELECT i, 'c' || i, '学生' || i, '学校' || (i % 97), '1390000' || i, i % 6 + 1
  FROM generate_series(1, $CHILDREN) i;
CREATE INDEX ON t (child);
CREATE TABLE p (id int PRIMARY KEY, child text NOT NULL, name text, school text, contact text, grade int);
INSERT INTO p SELECT i, 'c' || i, '学生' || i, '学校' || (i % 97), '1390000' || i, i % 6 + 1
  FROM generate_series(1, $CHILDREN) i;
CREATE INDEX ON p (child);
VACUUM ANALYZE t;
VACUUM ANALYZE p;
CREATE ROLE cr_app LOGIN;
SELECT childguard.request_access('cr_app', '{regress}', now() + interval '1 day', max_children => 1000000) AS g \gset
SET ROLE regress_fixture_dpo;
SELECT childguard.approve_access(:g);
RESET ROLE;
GRANT SELECT ON t, p TO cr_app;
EOF
done
READER=postgres
[ "${CG_BENCH_RLS:-0}" = 1 ] && READER=cr_app

W=$BASE-w; mkdir -p "$W"
SCAN="SELECT count(*) FROM t WHERE length(name::text) + length(school::text) + length(contact::text) > 0;"
# an empty UPDATE of a registry table that is not per child (purposes):
# the whole shared cache at commit, in either build
printf 'UPDATE childguard.purpose SET purpose = purpose WHERE false;\n' > "$W/empty.sql"
printf '\\timing on\n%s\n' "$SCAN" > "$W/catalog.sql"
printf '\\timing on\n%s\n%s\n' "$SCAN" "$SCAN" > "$W/first.sql"
# CG_BENCH_FAULTS=1 (superuser reader): the backend's minor page faults
# (/proc/self/stat) around its first and its second scan
if [ "${CG_BENCH_FAULTS:-0}" = 1 ]; then
  FLT="SELECT 'faults ' || split_part(pg_read_file('/proc/self/stat'), ' ', 10);"
  printf '%s\n\\timing on\n%s\n\\timing off\n%s\n\\timing on\n%s\n\\timing off\n%s\n' \
    "$FLT" "$SCAN" "$FLT" "$SCAN" "$FLT" > "$W/first.sql"
fi

# side file [user] -> the statements' times in ms, one a line
times() {
  PGOPTIONS="-c childguard.purpose=regress" \
    "${BIN[$1]}/psql" -X -q -v ON_ERROR_STOP=1 -h "$BASE-$1/socket" -p "${PORT[$1]}" -U "${3:-$READER}" \
    -d postgres -f "$W/$2.sql" | sed -n 's/^Time: \([0-9.]*\) ms.*/\1/p'
}

for x in t p; do
  printf '\\set c random(1, %d)\nSELECT name, school, contact FROM %s WHERE child = '"'c'"' || :c;\n' \
    "$CHILDREN" "$x" > "$W/w1_$x.sql"
done
PGB_SECS=${CG_BENCH_PGBENCH:-0}
PGB_CONNECT=
[ "${CG_BENCH_CONNECT:-0}" = 1 ] && PGB_CONNECT=-C
# side script -> tps of a fresh 2-client pgbench as cr_app
pgb() {
  PGOPTIONS="-c childguard.purpose=regress" "${BIN[$1]}/pgbench" -n -M prepared $PGB_CONNECT -c 2 -j 2 -T "$PGB_SECS" \
    -h "$BASE-$1/socket" -p "${PORT[$1]}" -U cr_app -f "$W/$2.sql" postgres 2>&1 |
    awk '/^tps = / { print $3 }'
}

declare -A R
us() { awk -v ms="$1" -v n="$CHILDREN" 'BEGIN { printf "%.3f", ms * 1000 / n }'; }
for round in $(seq 1 "$ROUNDS"); do
  for s in A B; do
    times "$s" empty postgres >/dev/null
    c=$(times "$s" catalog | tail -1)
    if [ "${CG_BENCH_FAULTS:-0}" = 1 ]; then
      PGOPTIONS="-c childguard.purpose=regress" "${BIN[$s]}/psql" -X -q -At -v ON_ERROR_STOP=1 \
        -h "$BASE-$s/socket" -p "${PORT[$s]}" -U postgres -d postgres -f "$W/first.sql" > "$W/first.out"
      mapfile -t fl < <(sed -n 's/^faults //p' "$W/first.out")
      mapfile -t fw < <(sed -n 's/^Time: \([0-9.]*\) ms.*/\1/p' "$W/first.out")
      R[ffirst.$s]="${R[ffirst.$s]:-} $(awk -v a="${fl[0]}" -v b="${fl[1]}" -v n="$CHILDREN" 'BEGIN { printf "%.3f", (b - a) / n }')"
      R[fwarm.$s]="${R[fwarm.$s]:-} $(awk -v a="${fl[1]}" -v b="${fl[2]}" -v n="$CHILDREN" 'BEGIN { printf "%.3f", (b - a) / n }')"
    else
      mapfile -t fw < <(times "$s" first)
    fi
    f=${fw[0]}; w=${fw[1]}
    R[catalog.$s]="${R[catalog.$s]:-} $(us "$c")"
    R[first.$s]="${R[first.$s]:-} $(us "$f")"
    R[warm.$s]="${R[warm.$s]:-} $(us "$w")"
    R[extra.$s]="${R[extra.$s]:-} $(awk -v f="$f" -v w="$w" -v n="$CHILDREN" 'BEGIN { printf "%.3f", (f - w) * 1000 / n }')"
    printf 'round %d %s: catalog %s, first %s, warm %s us per child\n' "$round" "$s" \
      "$(us "$c")" "$(us "$f")" "$(us "$w")"
    if [ "$PGB_SECS" != 0 ]; then
      tc=$(pgb "$s" w1_t); tp=$(pgb "$s" w1_p)
      R[w1cg.$s]="${R[w1cg.$s]:-} $tc"; R[w1plain.$s]="${R[w1plain.$s]:-} $tp"
      R[w1ratio.$s]="${R[w1ratio.$s]:-} $(awk -v a="$tc" -v b="$tp" 'BEGIN { printf "%.4f", a / b }')"
      printf 'round %d %s: W1-like %s tps, plain %s tps\n' "$round" "$s" "$tc" "$tp"
    fi
  done
done

median() { tr ' ' '\n' | grep -v '^$' | sort -g | awk '{ a[NR] = $1 } END { print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }
echo
echo "===== first read of a child in a backend: A=$CG_A_PG_CONFIG B=$CG_B_PG_CONFIG; $CHILDREN children, 3 columns, read as $READER, $ROUNDS rounds, $(nproc) CPUs, audit off ====="
printf '%-46s %10s %10s %8s\n' "µs per child (median of rounds)" A B "B/A"
for k in catalog first warm extra; do
  case $k in
    catalog) label="registry just changed (catalog, unwrap)";;
    first) label="first read in a backend (shared cache holds it)";;
    warm) label="again in the same backend";;
    extra) label="first read's cost above warm";;
  esac
  a=$(echo "${R[$k.A]}" | median); b=$(echo "${R[$k.B]}" | median)
  r=$(paste <(echo "${R[$k.A]}" | tr ' ' '\n' | grep -v '^$') <(echo "${R[$k.B]}" | tr ' ' '\n' | grep -v '^$') |
      awk '{ if ($1 > 0) printf "%s ", $2 / $1 }' | median)
  awk -v l="$label" -v a="$a" -v b="$b" -v r="$r" 'BEGIN { printf "%-46s %10.3f %10.3f %8.3f\n", l, a, b, r }'
done
if [ "${CG_BENCH_FAULTS:-0}" = 1 ]; then
  for k in ffirst fwarm; do
    case $k in
      ffirst) label="minor page faults per child, first read";;
      fwarm) label="minor page faults per child, again";;
    esac
    a=$(echo "${R[$k.A]}" | median); b=$(echo "${R[$k.B]}" | median)
    awk -v l="$label" -v a="$a" -v b="$b" 'BEGIN { printf "%-46s %10.3f %10.3f\n", l, a, b }'
  done
fi
if [ "$PGB_SECS" != 0 ]; then
  for k in w1cg w1plain w1ratio; do
    case $k in
      w1cg) label="W1-like pgbench, fresh backends (tps)";;
      w1plain) label="the same on the plain table (tps)";;
      w1ratio) label="W1-like / plain";;
    esac
    a=$(echo "${R[$k.A]}" | median); b=$(echo "${R[$k.B]}" | median)
    r=$(paste <(echo "${R[$k.A]}" | tr ' ' '\n' | grep -v '^$') <(echo "${R[$k.B]}" | tr ' ' '\n' | grep -v '^$') |
        awk '{ if ($1 > 0) printf "%s ", $2 / $1 }' | median)
    awk -v l="$label" -v a="$a" -v b="$b" -v r="$r" 'BEGIN { printf "%-46s %10.3f %10.3f %8.3f\n", l, a, b, r }'
  done
fi

[ "${CG_BENCH_INSTRUCTIONS:-0}" = 1 ] || exit 0
command -v valgrind >/dev/null || { echo "cold_read.sh: valgrind not found; no instruction counts"; exit 0; }
IR_ROWS=${CG_BENCH_IR_ROWS:-5000}
IR_SCAN="SELECT count(*) FROM t WHERE id <= $IR_ROWS AND length(name::text) + length(school::text) + length(contact::text) > 0;"
IR_POINT=${CG_BENCH_IR_POINT:-0}
for x in t p; do
  printf 'PREPARE q(text) AS SELECT name, school, contact FROM %s WHERE child = $1;\n' "$x" > "$W/prep_$x.sql"
  seq 1 "$CHILDREN" | awk 'BEGIN { srand(12) } { print rand() "\t" $1 }' | sort -g | awk -v n="$IR_POINT" 'NR <= n' |
    awk -F'\t' '{ print "EXECUTE q('"'c"'" $2 "'"'"');" }' > "$W/point_$x.sql"
done
declare -A IR
for s in A B; do
  CG_BINDIR=${BIN[$s]}
  OUT=$W/ir-$s; mkdir -p "$OUT"; chmod 0777 "$OUT"
  cg_as_server "$CG_BINDIR/pg_ctl" -D "$BASE-$s/data" -m fast -w stop >/dev/null
  cg_as_server bash -c "cd '$BASE-$s' && exec valgrind --tool=callgrind --trace-children=yes \
    --callgrind-out-file='$OUT/cg.%p' '$CG_BINDIR/postgres' -D '$BASE-$s/data' -c autovacuum=off \
    >'$OUT/server.log' 2>&1" &
  for _ in $(seq 1 600); do
    "$CG_BINDIR/pg_isready" -q -h "$BASE-$s/socket" -p "${PORT[$s]}" && break
    sleep 0.5
  done
  # a backend running n scans -> its instructions (the file is complete at its exit)
  ir_run() {
    local args=() pid f
    for _ in $(seq 1 "$1"); do args+=(-c "$IR_SCAN"); done
    PGOPTIONS="-c childguard.purpose=regress" "${BIN[$s]}/psql" -X -q -At -h "$BASE-$s/socket" \
      -p "${PORT[$s]}" -U "$READER" -d postgres -c "SELECT pg_backend_pid()" "${args[@]}" > "$OUT/psql.out"
    pid=$(head -1 "$OUT/psql.out")
    f=$OUT/cg.$pid
    for _ in $(seq 1 600); do grep -q '^totals:' "$f" 2>/dev/null && break; sleep 0.5; done
    sed -n 's/^totals: *\([0-9]*\).*/\1/p' "$f"
  }
  # W1-like point reads: a backend running point<table>.sql n times
  pt_run() {
    local args=() pid f
    for _ in $(seq 1 "$2"); do args+=(-f "$W/point_$1.sql"); done
    PGOPTIONS="-c childguard.purpose=regress" "${BIN[$s]}/psql" -X -q -At -h "$BASE-$s/socket" \
      -p "${PORT[$s]}" -U cr_app -d postgres -c "SELECT pg_backend_pid()" -f "$W/prep_$1.sql" \
      "${args[@]}" > "$OUT/psql.out"
    pid=$(head -1 "$OUT/psql.out")
    f=$OUT/cg.$pid
    for _ in $(seq 1 600); do grep -q '^totals:' "$f" 2>/dev/null && break; sleep 0.5; done
    sed -n 's/^totals: *\([0-9]*\).*/\1/p' "$f"
  }
  if [ "$IR_POINT" -gt 0 ]; then
    pt_run t 1 >/dev/null
    p0=$(pt_run t 0); p1=$(pt_run t 1); p2=$(pt_run t 2)
    IR[pfirst.$s]=$(( (p1 - p0) / IR_POINT )); IR[pwarm.$s]=$(( (p2 - p1) / IR_POINT ))
    pt_run p 1 >/dev/null
    p0=$(pt_run p 0); p1=$(pt_run p 1)
    IR[pplain.$s]=$(( (p1 - p0) / IR_POINT ))
  fi
  ir_run 1 >/dev/null
  i0=$(ir_run 0); i1=$(ir_run 1); i2=$(ir_run 2)
  IR[first.$s]=$(( (i1 - i0) / IR_ROWS )); IR[warm.$s]=$(( (i2 - i1) / IR_ROWS ))
  IR[extra.$s]=$(( IR[first.$s] - IR[warm.$s] ))
  cg_as_server "$CG_BINDIR/pg_ctl" -D "$BASE-$s/data" -m fast -w stop >/dev/null
  if [ -n "${CG_BENCH_IR_KEEP:-}" ]; then
    mkdir -p "$CG_BENCH_IR_KEEP/$s"; cp "$OUT"/cg.* "$CG_BENCH_IR_KEEP/$s/"
  fi
done
echo
echo "===== user-space instructions per child (callgrind), $IR_ROWS rows, read as $READER ====="
printf '%-46s %10s %10s %8s\n' "instructions per child" A B "B/A"
for k in first warm extra; do
  case $k in
    first) label="first read in a backend (and its exit)";;
    warm) label="again in the same backend";;
    extra) label="first read's cost above warm";;
  esac
  awk -v l="$label" -v a="${IR[$k.A]}" -v b="${IR[$k.B]}" 'BEGIN { printf "%-46s %10d %10d %8.3f\n", l, a, b, b / a }'
done
if [ "$IR_POINT" -gt 0 ]; then
  echo
  echo "===== user-space instructions per W1-like point read (callgrind), $IR_POINT children, as cr_app ====="
  printf '%-46s %10s %10s %8s\n' "instructions per read" A B "B/A"
  for k in pfirst pwarm pplain; do
    case $k in
      pfirst) label="first read of the child in a backend";;
      pwarm) label="again in the same backend";;
      pplain) label="the same read of the plain table";;
    esac
    awk -v l="$label" -v a="${IR[$k.A]}" -v b="${IR[$k.B]}" 'BEGIN { printf "%-46s %10d %10d %8.3f\n", l, a, b, b / a }'
  done
  for k in pfirst pwarm; do
    awk -v l="plain / childguard, $([ $k = pfirst ] && echo first || echo warm) reads" \
      -v a="${IR[pplain.A]}" -v ca="${IR[$k.A]}" -v b="${IR[pplain.B]}" -v cb="${IR[$k.B]}" \
      'BEGIN { printf "%-46s %10.3f %10.3f\n", l, a / ca, b / cb }'
  done
fi
