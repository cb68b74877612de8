#!/usr/bin/env bash
# Benchmark (not a pass/fail test): W1 of `make bench` with the audit on and
# off, and what the audit writer costs per record while W1 runs -- for one
# build, or for two builds side by side in one run (before / after).
#
#   bash test/bench/audit_w1.sh
#
# Each build gets a private cluster and the bench database of
# test/bench/setup.sql (CG_BENCH_CHILDREN children, default 10,000; W1
# reads only the profiles, so the activity table holds one row per child).
# Per round, for each build in turn: W1 on the plain table, W1 on the
# childguard table with childguard.audit on, and again with it off
# (pgbench -M prepared, CG_BENCH_CLIENTS clients, CG_BENCH_SECONDS s).
# During the audit-on run the writer's CPU time (/proc/<pid>/schedstat) is
# read until it has written the run's records: writer µs per record.
# Prints per build the medians over CG_BENCH_ROUNDS rounds: tps, the
# ratios audit on / plain and audit off / plain (each the median of the
# rounds' ratios), writer µs per record and records per batch.
#
# Env: CG_PG_CONFIG (the build measured; installed there), and optionally
# CG_PG_CONFIG_BEFORE (a second installation, e.g. of the previous commit,
# measured in the same rounds, interleaved).  Runs as root or as the
# server's user (reads /proc).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/../.."
REPO=$PWD
# shellcheck source=test/cluster.sh
. "$REPO/test/cluster.sh"

CHILDREN=${CG_BENCH_CHILDREN:-10000}
SECS=${CG_BENCH_SECONDS:-5}
ROUNDS=${CG_BENCH_ROUNDS:-3}
CLIENTS=${CG_BENCH_CLIENTS:-2}
BASE=/tmp/cgbench-w1-$$
mkdir -p "$BASE"; chmod 0755 "$BASE"

BUILDS=(after)
declare -A CONF=([after]=$CG_PG_CONFIG)
if [ -n "${CG_PG_CONFIG_BEFORE:-}" ]; then
  BUILDS=(before after)
  CONF[before]=$CG_PG_CONFIG_BEFORE
fi
declare -A PORT DIRS BIN
cleanup() {
  for b in "${BUILDS[@]}"; do
    CG_BINDIR=${BIN[$b]:-} cg_destroy "$BASE/$b" >/dev/null 2>&1 || true
  done
  rm -rf -- "$BASE"
}
trap cleanup EXIT
log() { printf '%s  %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }

port=56700
for b in "${BUILDS[@]}"; do
  export CG_PG_CONFIG=${CONF[$b]}
  CG_BINDIR=$("$CG_PG_CONFIG" --bindir)
  BIN[$b]=$CG_BINDIR
  port=$(cg_free_port $((port + 1)))
  PORT[$b]=$port; DIRS[$b]=$BASE/$b
  cg_start "$BASE/$b" "$port" >/dev/null
done

psql_b() { local b=$1; shift
  PGHOST=${DIRS[$b]}/socket PGPORT=${PORT[$b]} PGUSER=postgres \
    "${BIN[$b]}/psql" -X -q -At -v ON_ERROR_STOP=1 "$@"; }

for b in "${BUILDS[@]}"; do
  log "setup ($b): $CHILDREN children"
  psql_b "$b" -d postgres -c "ALTER SYSTEM SET childguard.audit_writer_idle_timeout = '1h'" \
    -c "ALTER SYSTEM SET childguard.data_key_cache_size = $(( 2 * CHILDREN > 16384 ? 2 * CHILDREN : 16384 ))" \
    -c "SELECT pg_reload_conf()" >/dev/null
  psql_b "$b" -d postgres -c "CREATE DATABASE bench" >/dev/null
  psql_b "$b" -d bench -v children="$CHILDREN" -v rows="$CHILDREN" -v pool=100 -v flat=0 \
    -f "$REPO/test/bench/setup.sql" >/dev/null
done

S=$BASE/scripts; mkdir -p "$S"
for x in cg plain; do
  cat > "$S/w1_$x.sql" <<EOF
\set c random(1, $CHILDREN)
SELECT name, phone, home FROM $x.profile WHERE child = 'c' || :c;
EOF
done
PGOPT="-c childguard.purpose=learning"

pgb() {  # build script -> tps
  PGHOST=${DIRS[$1]}/socket PGPORT=${PORT[$1]} PGOPTIONS="$PGOPT" \
    "${BIN[$1]}/pgbench" -n -M prepared -U bench_app -c "$CLIENTS" -j "$CLIENTS" -T "$SECS" -f "$2" bench \
      >"$BASE/pgbench.out" 2>&1 || { cat "$BASE/pgbench.out" >&2; return 1; }
  awk '/^tps = / { printf "%.1f\n", $3 }' "$BASE/pgbench.out"
}

set_audit() {  # build on|off, and wait until a new session sees it
  psql_b "$1" -d postgres -c "ALTER SYSTEM SET childguard.audit = $2" -c "SELECT pg_reload_conf()" >/dev/null
  until [ "$(psql_b "$1" -d postgres -c "SHOW childguard.audit")" = "$2" ]; do sleep 0.2; done
}

queued() { psql_b "$1" -d bench -c "SELECT queued_records FROM childguard.audit_queue_status"; }
# the chain head's last id (from 1.8 access_log is a view that would unpack
# every batch to find its largest id)
last_id() { psql_b "$1" -d bench -c "SELECT last_id FROM childguard.access_log_head"; }
writer_pid() {
  psql_b "$1" -d bench -c "SELECT pid FROM pg_stat_activity WHERE backend_type = 'childguard audit writer' AND datname = 'bench'"
}
drained() {
  until [ "$(queued "$1")" = 0 ]; do sleep 0.2; done
  sleep 0.5
}
cpu_ns() { awk '{ print $1 }' "/proc/$1/schedstat"; }

declare -A R
add() { R[$1]="${R[$1]:-} $2"; }
median() {
  printf '%s\n' $1 | sort -g | awk '{ v[NR] = $1 } END { if (NR == 0) print "nan";
    else if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

# warm up: the writer started, every child's key and verdict cached once
for b in "${BUILDS[@]}"; do
  set_audit "$b" on
  pgb "$b" "$S/w1_cg.sql" >/dev/null
  drained "$b"
done

for round in $(seq "$ROUNDS"); do
  for b in "${BUILDS[@]}"; do
    p=$(pgb "$b" "$S/w1_plain.sql")
    set_audit "$b" on
    drained "$b"
    wpid=$(writer_pid "$b")
    [ -n "$wpid" ] || { echo "audit_w1: no audit writer is running ($b)" >&2; exit 1; }
    w0=$(cpu_ns "$wpid"); l0=$(last_id "$b")
    on=$(pgb "$b" "$S/w1_cg.sql")
    drained "$b"
    [ "$wpid" = "$(writer_pid "$b")" ] || { echo "audit_w1: the writer restarted ($b)" >&2; exit 1; }
    w1=$(cpu_ns "$wpid")
    read -r n nb < <(psql_b "$b" -d bench -F ' ' -c \
      "SELECT count(*), count(DISTINCT logged_at) FROM childguard.access_log WHERE id > $l0")
    set_audit "$b" off
    off=$(pgb "$b" "$S/w1_cg.sql")
    set_audit "$b" on
    wus=$(awk -v t=$((w1 - w0)) -v n="$n" 'BEGIN { printf "%.2f", (n > 0) ? t / 1e3 / n : 0 }')
    add "$b.plain" "$p"; add "$b.on" "$on"; add "$b.off" "$off"
    add "$b.ron" "$(awk -v a="$on" -v b="$p" 'BEGIN { printf "%.3f", a / b }')"
    add "$b.roff" "$(awk -v a="$off" -v b="$p" 'BEGIN { printf "%.3f", a / b }')"
    add "$b.wus" "$wus"; add "$b.batch" "$(awk -v n="$n" -v b="$nb" 'BEGIN { printf "%.1f", (b > 0) ? n / b : 0 }')"
    log "round $round ($b): plain $p tps, audit on $on, off $off; writer $wus µs per record ($n records in $nb batches)"
  done
done

echo
echo "===== W1 with the audit on and off: $CHILDREN children, $CLIENTS clients, ${SECS} s runs, $ROUNDS rounds, $(nproc) CPUs ====="
printf '%-8s %10s %10s %10s %9s %9s %14s %10s\n' build "plain tps" "on tps" "off tps" "on/plain" "off/plain" "writer µs/rec" "rec/batch"
for b in "${BUILDS[@]}"; do
  printf '%-8s %10s %10s %10s %9s %9s %14s %10s\n' "$b" \
    "$(median "${R[$b.plain]}")" "$(median "${R[$b.on]}")" "$(median "${R[$b.off]}")" \
    "$(median "${R[$b.ron]}")" "$(median "${R[$b.roff]}")" "$(median "${R[$b.wus]}")" "$(median "${R[$b.batch]}")"
done
for b in "${BUILDS[@]}"; do
  echo "access log chain valid ($b): $(psql_b "$b" -d bench -c "SELECT valid FROM childguard.verify_access_log()")"
done
