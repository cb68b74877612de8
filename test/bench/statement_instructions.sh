#!/usr/bin/env bash
# Instructions a backend executes per statement (valgrind's callgrind), for
# docs/performance.md's "Per statement": immune to the machine's load, which
# moves tps and CPU time by more than the few microseconds measured here.
# Uses the clusters statement_ab.sh leaves in CG_AB_DIR (run it first with
# CG_AB_DIR set): each side's server is restarted under callgrind
# (autovacuum off), one pgbench client runs N statements (a warm-up that
# fills the shared cache), then N, then 3N statements of each workload, and
# the difference of the last two backends' instruction counts over 2N is
# the per-statement figure (connection start-up and first reads cancel).
# Kernel time (the socket's send and receive) is not counted: the ratios
# here are of user-space instructions only.  Not part of make check.
#
#   CG_AB_DIR=/tmp/ab bash test/bench/statement_ab.sh     # builds the clusters
#   CG_AB_DIR=/tmp/ab bash test/bench/statement_instructions.sh
# Env: CG_AB_DIR (required), CG_AB_BEFORE_PG_CONFIG (as for
#      statement_ab.sh: also the "before" side), CG_IR_N (500),
#      CG_IR_CHILDREN (50: the children read, at random), CG_IR_SEED
#      (4242: pgbench's --random-seed, so that both builds read the same
#      children in the same order),
#      CG_IR_KEEP (keep the callgrind files in CG_AB_DIR/ir).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/../.."
REPO=$PWD
# shellcheck source=test/cluster.sh
. "$REPO/test/cluster.sh"
command -v valgrind >/dev/null || { echo "statement_instructions.sh: valgrind not found; skipped"; exit 77; }
BASE=${CG_AB_DIR:?set CG_AB_DIR to the directory of statement_ab.sh}
N=${CG_IR_N:-500}
# the same children in the same order on both sides and in every run
# (pgbench's random seed; "time" for a different draw each run)
SEED=${CG_IR_SEED:-4242}
NEW_BINDIR=$CG_BINDIR
OLD_BINDIR=
[ -n "${CG_AB_BEFORE_PG_CONFIG:-}" ] && OLD_BINDIR=$("$CG_AB_BEFORE_PG_CONFIG" --bindir)
SIDES="a"; [ -n "$OLD_BINDIR" ] && SIDES="a o"
bindir_of() { if [ "$1" = o ]; then echo "$OLD_BINDIR"; else echo "$NEW_BINDIR"; fi; }
OUT=$BASE/ir; rm -rf "$OUT"; mkdir -p "$OUT"; chmod 0777 "$OUT"
# the children read: few, so that after the first N statements every one
# is in the backend's caches (warm), and the 2N measured are warm reads
K=${CG_IR_CHILDREN:-50}
S=$BASE/ir-scripts; mkdir -p "$S"
printf '\\set c random(1, %s)\nSELECT name, phone, home FROM cg.profile WHERE child = %s;\n' "$K" "'c' || :c" > "$S/w1_cg.sql"
printf '\\set c random(1, %s)\nSELECT name, phone, home FROM plain.profile WHERE child = %s;\n' "$K" "'c' || :c" > "$S/w1_plain.sql"
printf '\\set c random(1, %s)\nSELECT grade, name FROM plain.profile WHERE child = %s;\n' "$K" "'c' || :c" > "$S/w5.sql"
export PATH="$NEW_BINDIR:$PATH"

stop() { cg_as_server "$(bindir_of "$1")/pg_ctl" -D "$BASE/$1/data" -m fast -w -t 300 stop >/dev/null 2>&1 || true; }
start_plain() { (CG_BINDIR=$(bindir_of "$1"); cg_start "$BASE/$1" "$(cat "$BASE/$1/port")" >/dev/null); }
start_vg() {
  local c=$1 bindir; bindir=$(bindir_of "$c")
  stop "$c"
  cg_as_server bash -c "cd '$BASE/$c' && exec valgrind --tool=callgrind --trace-children=yes \
    --callgrind-out-file='$OUT/$c.%p' '$bindir/postgres' -D '$BASE/$c/data' -c autovacuum=off \
    >'$OUT/$c.server.log' 2>&1" &
  for _ in $(seq 1 600); do
    "$bindir/pg_isready" -q -h "$BASE/$c/socket" -p "$(cat "$BASE/$c/port")" && return 0
    sleep 0.5
  done
  echo "statement_instructions.sh: server under valgrind did not start" >&2; return 1
}
# instructions of the backend that ran n statements of script
ir() {  # cluster script n
  local before after f
  before=$(ls "$OUT")
  PGHOST=$BASE/$1/socket PGPORT=$(cat "$BASE/$1/port") PGOPTIONS="-c childguard.purpose=learning" \
    pgbench -n -M prepared -U bench_app -c 1 -t "$3" --random-seed="$SEED" -f "$2" bench >/dev/null 2>&1
  # the backend's file: the new one that ran a portal (other
  # processes forked meanwhile -- connection checks, workers -- did not)
  f=
  for _ in $(seq 1 600); do
    after=$(ls "$OUT")
    for g in $(comm -13 <(echo "$before") <(echo "$after") | grep -v '\.log$' || true); do
      if grep -q '^totals:' "$OUT/$g" 2>/dev/null && grep -q 'PortalRun' "$OUT/$g"; then
        f=$g; break
      fi
    done
    [ -n "$f" ] && break
    sleep 0.5
  done
  [ -n "$f" ] || { echo "statement_instructions.sh: no callgrind file for the backend" >&2; return 1; }
  sed -n 's/^totals: *\([0-9]*\).*/\1/p' "$OUT/$f"
  mv "$OUT/$f" "$OUT/$(basename "$2" .sql).$3.$f.done"
}
per_stmt() {  # cluster script -> instructions per statement
  local a b
  # a first backend fills the cache shared by the backends (1.5): the two
  # measured ones then pay the same for their first reads of each child
  ir "$1" "$2" "$N" >/dev/null
  a=$(ir "$1" "$2" "$N"); b=$(ir "$1" "$2" $(( 3 * N )))
  echo $(( (b - a) / (2 * N) ))
}

for c in $SIDES; do
  start_vg "$c"
  w1=$(per_stmt "$c" "$S/w1_cg.sql"); p=$(per_stmt "$c" "$S/w1_plain.sql"); w5=$(per_stmt "$c" "$S/w5.sql")
  stop "$c"; start_plain "$c"
  echo "$c $w1 $p $w5" >> "$OUT/results"
done
start_vg b; b5=$(per_stmt b "$S/w5.sql"); stop b; start_plain b
for c in $SIDES; do
  name=this; [ $c = o ] && name=before
  awk -v name=$name -v side=$c -v b5="$b5" '$1 == side {
    printf "%s build, user-space instructions per statement (audit off): W1 %d, plain W1 %d (childguard +%d, plain/W1 %.3f); W5 %d, not preloaded %d (+%d, %.3f)\n",
      name, $2, $3, $2 - $3, $3 / $2, $4, b5, $4 - b5, b5 / $4 }' "$OUT/results"
done
[ -n "${CG_IR_KEEP:-}" ] || rm -f "$OUT"/*.done
