#!/usr/bin/env bash
# Instructions the audit costs per audited read (valgrind's callgrind), for
# docs/performance.md "1.9: the audit's cost per read": immune to the
# machine's load, which moves CPU time per read by more than the audit's
# whole cost.  Uses the clusters statement_ab.sh leaves in CG_AB_DIR ("a",
# and "o" with CG_AB_BEFORE_PG_CONFIG); each is restarted under callgrind
# (autovacuum off, childguard.audit_writer_delay = 1s and
# audit_batch_size = CG_AIR_BATCH, so that every batch holds that many
# records whatever valgrind's speed), then per side:
#   - the reading backend: one pgbench client runs N, then 3N point reads
#     of the three child_data columns (W1), audit on and off; the
#     difference of the two backends' counts over 2N is the per-read
#     figure (start-up and first reads cancel);
#   - the writer: the writer of the N-read run and the writer of the
#     3N-read run (each exits when idle, writing its file): the difference
#     over 2N records is the writer's instructions per record at that
#     batch size.
# User-space instructions only.  Not part of make check.
#
#   CG_AB_DIR=/tmp/ab CG_AB_BEFORE_PG_CONFIG=... bash test/bench/statement_ab.sh
#   CG_AB_DIR=/tmp/ab CG_AB_BEFORE_PG_CONFIG=... bash test/bench/audit_instructions.sh
# Env: CG_AB_DIR (required), CG_AB_BEFORE_PG_CONFIG, CG_AIR_N (300),
#      CG_AIR_BATCH (200), CG_AIR_CHILDREN (50).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/../.."
REPO=$PWD
# shellcheck source=test/cluster.sh
. "$REPO/test/cluster.sh"
command -v valgrind >/dev/null || { echo "audit_instructions.sh: valgrind not found; skipped"; exit 77; }
BASE=${CG_AB_DIR:?set CG_AB_DIR to the directory of statement_ab.sh}
N=${CG_AIR_N:-300}
BATCH=${CG_AIR_BATCH:-200}
K=${CG_AIR_CHILDREN:-50}
NEW_BINDIR=$CG_BINDIR
OLD_BINDIR=
[ -n "${CG_AB_BEFORE_PG_CONFIG:-}" ] && OLD_BINDIR=$("$CG_AB_BEFORE_PG_CONFIG" --bindir)
SIDES="a"; [ -n "$OLD_BINDIR" ] && SIDES="o a"
bindir_of() { if [ "$1" = o ]; then echo "$OLD_BINDIR"; else echo "$NEW_BINDIR"; fi; }
OUT=$BASE/air; rm -rf "$OUT"; mkdir -p "$OUT"; chmod 0777 "$OUT"
S=$BASE/air-scripts; mkdir -p "$S"
printf '\\set c random(1, %s)\nSELECT name, phone, home FROM cg.profile WHERE child = %s;\n' "$K" "'c' || :c" > "$S/w1_cg.sql"
export PATH="$NEW_BINDIR:$PATH"

psql_c() { local c=$1; shift; PGHOST=$BASE/$c/socket PGPORT=$(cat "$BASE/$c/port") PGUSER=postgres \
  "$(bindir_of "$c")/psql" -X -q -At -v ON_ERROR_STOP=1 -d bench -c "$@"; }
stop() { cg_as_server "$(bindir_of "$1")/pg_ctl" -D "$BASE/$1/data" -m fast -w -t 300 stop >/dev/null 2>&1 || true; }
start_plain() { (CG_BINDIR=$(bindir_of "$1"); cg_start "$BASE/$1" "$(cat "$BASE/$1/port")" >/dev/null); }
start_vg() {
  local c=$1 bindir; bindir=$(bindir_of "$c")
  stop "$c"
  cg_as_server bash -c "cd '$BASE/$c' && exec valgrind --tool=callgrind --trace-children=yes \
    --callgrind-out-file='$OUT/$c.%p' '$bindir/postgres' -D '$BASE/$c/data' -c autovacuum=off \
    -c childguard.audit_writer_delay=1000 -c childguard.audit_batch_size=$BATCH \
    -c childguard.audit_writer_idle_timeout=2s -c log_connections=on >'$OUT/$c.server.log' 2>&1" &
  for _ in $(seq 1 600); do
    "$bindir/pg_isready" -q -h "$BASE/$c/socket" -p "$(cat "$BASE/$c/port")" && return 0
    sleep 0.5
  done
  echo "audit_instructions.sh: server under valgrind did not start" >&2; return 1
}
# the finished callgrind file of process $1 (its path), once written
file_of() {
  local f=$OUT/$2.$1
  for _ in $(seq 1 1200); do
    grep -q '^totals:' "$f" 2>/dev/null && { echo "$f"; return 0; }
    sleep 0.5
  done
  echo "audit_instructions.sh: no callgrind file for process $1" >&2; return 1
}
# the new finished callgrind file holding function $2 (after the listing $1)
new_file() {
  local before=$1 fn=$2 g after
  for _ in $(seq 1 1200); do
    after=$(ls "$OUT")
    for g in $(comm -13 <(echo "$before") <(echo "$after") | grep -v -e '\.log$' -e '\.done$' || true); do
      if grep -q '^totals:' "$OUT/$g" 2>/dev/null && grep -q "$fn" "$OUT/$g"; then echo "$OUT/$g"; return 0; fi
    done
    sleep 0.5
  done
  echo "audit_instructions.sh: no callgrind file with $fn" >&2; return 1
}
# (one psql session per change: each backend's start costs much under valgrind)
audit() { psql_c "$1" "ALTER SYSTEM SET childguard.audit = $2" -c "SELECT pg_reload_conf()" >/dev/null; sleep 1; }
# one run of n reads: the backend's instructions; with audit on, the
# writer's too (the writer of the run before has exited: idle timeout)
run() {  # cluster n audit -> "backend writer"
  local c=$1 n=$2 a=$3 before fb fw ib iw=0 pid
  audit "$c" "$a"
  before=$(ls "$OUT")
  PGHOST=$BASE/$c/socket PGPORT=$(cat "$BASE/$c/port") PGOPTIONS="-c childguard.purpose=learning" \
    pgbench -n -M prepared -U bench_app -c 1 -t "$n" -f "$S/w1_cg.sql" bench >/dev/null 2>&1
  # pgbench's backend: the last connection of bench_app in the server log
  pid=$(sed -n 's/^.*\[\([0-9]*\)\] LOG:  connection authorized: user=bench_app.*$/\1/p' "$OUT/$c.server.log" | tail -1)
  fb=$(file_of "$pid" "$c")
  ib=$(sed -n 's/^totals: *\([0-9]*\).*/\1/p' "$fb"); mv "$fb" "$fb.done"
  if [ "$a" = on ]; then
    fw=$(new_file "$before" cg_audit_writer_main)
    iw=$(sed -n 's/^totals: *\([0-9]*\).*/\1/p' "$fw"); mv "$fw" "$fw.done"
  fi
  echo "$ib $iw"
}

for c in $SIDES; do
  start_vg "$c"
  run "$c" "$N" on >/dev/null        # warm: the shared cache, the log's pages
  read -r b1 w1 < <(run "$c" "$N" on)
  read -r b3 w3 < <(run "$c" $((3 * N)) on)
  read -r o1 _ _ < <(run "$c" "$N" off)
  read -r o3 _ _ < <(run "$c" $((3 * N)) off)
  audit "$c" on
  stop "$c"; start_plain "$c"
  name=this; [ "$c" = o ] && name=before
  awk -v name=$name -v b1="$b1" -v b3="$b3" -v o1="$o1" -v o3="$o3" -v w1="$w1" -v w3="$w3" \
      -v r1="$N" -v r3="$((3 * N))" -v n="$N" -v batch="$BATCH" 'BEGIN {
    on = (b3 - b1) / (2 * n); off = (o3 - o1) / (2 * n)
    printf "%s build: backend instructions per read, audit on %d, off %d: the audit +%d; writer %d per record (batches of %d; %d and %d records)\n",
      name, on, off, on - off, (w3 - w1) / (r3 - r1), batch, r1, r3 }' | tee -a "$OUT/results"
done
[ -n "${CG_AIR_KEEP:-}" ] || rm -f "$OUT"/*.done
