#!/usr/bin/env bash
# CPU profile of a backend running `make bench`'s W1 (point read of three
# child_data columns, audit on) and W3 (bulk decrypting scan), for the
# "profile before / after" of docs/performance.md.  perf records the one
# backend serving pgbench (1 client) for CG_PROFILE_SECONDS and prints its
# top symbols (self time).  Skips (exit 77) without perf.
#
#   bash test/bench/profile.sh            # W1 and W3
#   CG_PROFILE_WORKLOADS=w3 bash test/bench/profile.sh
#   CG_PROFILE_WORKLOADS=w5 ...  (W5: a point read of the plain table, no
#                                  child data, in the database with childguard)
# CG_PROFILE_COLD=1: the profiled backend's own caches are kept small
# (childguard.backend_cache_entries and data_key_cache_size 1024) and the
# shared cache is filled first by one pass over every child, so that W1 and
# W3 measure a backend's first read of children another backend has read
# (the cold path with the shared cache of 1.5).
# CG_PROFILE_AUDIT=off: profile with childguard.audit off (default on).
# Env: CG_BENCH_CHILDREN (default 10000), CG_BENCH_ROWS (100000),
#      CG_PROFILE_SECONDS (10), CG_PROFILE_TOP (25), CG_PROFILE_DIR (keep
#      perf.data there), CG_PG_CONFIG / PG_CONFIG as for test/cluster.sh;
#      the build must be installed there.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/../.."
REPO=$PWD
# shellcheck source=test/cluster.sh
. "$REPO/test/cluster.sh"

PERF=${PERF:-$(command -v perf || echo /usr/bin/perf)}
if ! [ -x "$PERF" ] || ! "$PERF" --version >/dev/null 2>&1; then
  echo "profile.sh: perf not found (install linux-perf); skipped"
  exit 77
fi
CHILDREN=${CG_BENCH_CHILDREN:-10000}
ROWS=${CG_BENCH_ROWS:-100000}
SECS=${CG_PROFILE_SECONDS:-10}
TOP=${CG_PROFILE_TOP:-25}
WORKLOADS=${CG_PROFILE_WORKLOADS:-w1 w3}
SCAN=10000; [ "$ROWS" -ge "$SCAN" ] || SCAN=$ROWS

DIR=/tmp/cgprof-$$
OUT=${CG_PROFILE_DIR:-$DIR/out}
PORT=$(cg_free_port 56500)
trap 'cg_destroy "$DIR" >/dev/null 2>&1 || true' EXIT
cg_start "$DIR" "$PORT" >/dev/null
cg_export "$DIR"
export PATH="$CG_BINDIR:$PATH"
mkdir -p "$OUT"
psql -X -q -v ON_ERROR_STOP=1 -d postgres -c "CREATE DATABASE bench" \
  -c "ALTER SYSTEM SET childguard.audit = off" -c "SELECT pg_reload_conf()" >/dev/null
psql -X -q -v ON_ERROR_STOP=1 -d bench -v children="$CHILDREN" -v rows="$ROWS" -v pool=10 -v flat=0 \
  -f "$REPO/test/bench/setup.sql" >/dev/null
psql -X -q -d postgres -c "ALTER SYSTEM SET childguard.audit = ${CG_PROFILE_AUDIT:-on}" \
  -c "SELECT pg_reload_conf()" >/dev/null
if [ "${CG_PROFILE_COLD:-0}" = 1 ]; then
  psql -X -q -d postgres -c "ALTER SYSTEM SET childguard.backend_cache_entries = 1024" \
    -c "ALTER SYSTEM SET childguard.data_key_cache_size = 1024" -c "SELECT pg_reload_conf()" >/dev/null
  PGOPTIONS="-c childguard.purpose=learning" psql -X -q -U bench_app -d bench \
    -c "SELECT sum(length(name::text || phone::text || home::text)) FROM cg.profile" >/dev/null
fi

cat > "$DIR/w1.sql" <<EOF
\set c random(1, $CHILDREN)
SELECT name, phone, home FROM cg.profile WHERE child = 'c' || :c;
EOF
cat > "$DIR/w5.sql" <<EOF
\set c random(1, $CHILDREN)
SELECT name, phone, home FROM plain.profile WHERE child = 'c' || :c;
EOF
cat > "$DIR/w3.sql" <<EOF
\set lo random(1, $(( ROWS - SCAN + 1 )))
SELECT name, phone, home FROM cg.activity WHERE id BETWEEN :lo AND :lo + $(( SCAN - 1 ));
EOF

for w in $WORKLOADS; do
  PGOPTIONS="-c childguard.purpose=learning" \
    pgbench -n -M prepared -U bench_app -c 1 -T $(( SECS + 4 )) -f "$DIR/$w.sql" bench \
      >"$OUT/$w.pgbench" 2>&1 &
  bpid=$!
  sleep 1.5
  pid=$(psql -X -At -d postgres -c "SELECT pid FROM pg_stat_activity
          WHERE usename = 'bench_app' AND datname = 'bench' ORDER BY backend_start DESC LIMIT 1")
  [ -n "$pid" ] || { echo "profile.sh: no backend found for $w" >&2; kill "$bpid"; exit 1; }
  "$PERF" record -q -g -p "$pid" -o "$OUT/$w.perf.data" -- sleep "$SECS" >/dev/null 2>&1 || true
  wait "$bpid" || true
  echo
  echo "===== $w: top $TOP symbols of backend $pid (self %), $CHILDREN children ====="
  sed -n 's/^tps = \([0-9.]*\).*/tps = \1/p' "$OUT/$w.pgbench"
  "$PERF" report -i "$OUT/$w.perf.data" --stdio --no-children --sort symbol,dso \
      -g none --percent-limit 0.5 2>/dev/null |
    grep -v '^#' | grep -v '^$' | head -n "$TOP" | awk '{ printf "  %7s  %-45s %s\n", $1, $3, $4 }' || true
  echo "--- by object (self %) ---"
  "$PERF" report -i "$OUT/$w.perf.data" --stdio --no-children --sort dso -g none 2>/dev/null |
    grep -v '^#' | grep -v '^$' | head -n 8 | awk '{ printf "  %7s  %s\n", $1, $2 }' || true
  echo "--- childguard.so functions: inclusive of what they call (children %), self % ---"
  "$PERF" report -i "$OUT/$w.perf.data" --stdio --children --sort symbol,dso \
      -g none --percent-limit 1 2>/dev/null |
    grep -v '^#' | grep 'childguard\.so' | head -n 20 |
    awk '{ printf "  %7s  %7s  %s\n", $1, $2, $4 }' || true
done
[ -n "${CG_PROFILE_DIR:-}" ] && echo "(perf data kept in $OUT)"
exit 0
