#!/usr/bin/env bash
# W2 side by side (docs/performance.md, "1.8: point writes (W2)"): the
# point write of make bench's W2 -- UPDATE one child_data column of one
# child, pgbench -M prepared, as bench_app with a purpose set -- against the
# same UPDATE of the plain-text table in the same database (test/bench/
# setup.sql builds both) and of two controls (below: "wide", the plain
# table as wide as childguard's, and "floor", wide plus a no-op BEFORE
# trigger and the same row security policies), the audit on and off,
# interleaved rounds; prints the medians of the rounds' ratios.  Then, per
# side and per workload, one session running CG_AB_TXNS prepared UPDATEs
# (one transaction each): CPU of its backend per transaction (schedstat;
# user-space instructions where perf has the counter), the CPU of the audit
# writer, and the WAL written per transaction (bytes, records, full-page
# images: the insert LSN before and after, pg_waldump over that range).
# With CG_AB_CALLGRIND=1, instructions per transaction under callgrind
# (exact, whatever the machine's load).  Not part of make check.
#
#   bash test/bench/point_write_ab.sh
#   CG_AB_BEFORE_PG_CONFIG=/tmp/pg-old/.../pg_config bash test/bench/point_write_ab.sh
#       (a second PostgreSQL tree with another build of childguard installed,
#        e.g. main's: measured the same way in the same rounds, "before")
# Env: CG_AB_CHILDREN (10000), CG_AB_SECONDS (4), CG_AB_ROUNDS (5),
#      CG_AB_CLIENTS (2), CG_AB_TXNS (3000), CG_AB_PASSES (3: per-transaction
#      passes, interleaved, medians printed), CG_AB_DIR (keep the clusters
#      there and reuse them; default a throwaway directory), CG_AB_PROFILE=1
#      (also perf record -g the backends of the per-transaction pass, audit
#      off, and print their top symbols), CG_PG_CONFIG / PG_CONFIG as for
#      test/cluster.sh (the build must be installed there),
#      CG_AB_CALLGRIND=1 (instructions per transaction under callgrind:
#      cold, warm and first, see below; CG_AB_CG_TXNS UPDATEs per run,
#      default 600; needs valgrind).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/../.."
REPO=$PWD
# shellcheck source=test/cluster.sh
. "$REPO/test/cluster.sh"

CHILDREN=${CG_AB_CHILDREN:-10000}
SECS=${CG_AB_SECONDS:-4}
ROUNDS=${CG_AB_ROUNDS:-5}
CLIENTS=${CG_AB_CLIENTS:-2}
TXNS=${CG_AB_TXNS:-3000}
PASSES=${CG_AB_PASSES:-3}
BASE=${CG_AB_DIR:-/tmp/cgw2ab-$$}
NEW_BINDIR=$CG_BINDIR
OLD_BINDIR=
[ -n "${CG_AB_BEFORE_PG_CONFIG:-}" ] && OLD_BINDIR=$("$CG_AB_BEFORE_PG_CONFIG" --bindir)
SIDES="a"; [ -n "$OLD_BINDIR" ] && SIDES="a o"
HAVE_PERF=0
command -v perf >/dev/null 2>&1 && perf stat -e instructions:u -- true >/dev/null 2>&1 && HAVE_PERF=1
bindir_of() { if [ "$1" = o ]; then echo "$OLD_BINDIR"; else echo "$NEW_BINDIR"; fi; }
cleanup() {
  for c in a o; do CG_BINDIR=$(bindir_of $c) cg_destroy "$BASE/$c" >/dev/null 2>&1 || true; done
  rm -rf -- "$BASE"
}
[ -n "${CG_AB_DIR:-}" ] || trap cleanup EXIT
mkdir -p "$BASE"; chmod 0755 "$BASE"
psql_c() { local c=$1; shift; PGHOST=$BASE/$c/socket PGPORT=$(cat "$BASE/$c/port") PGUSER=postgres \
  "$(bindir_of "$c")/psql" -X -q -v ON_ERROR_STOP=1 "$@"; }

port=56900
for c in $SIDES; do
  (
    CG_BINDIR=$(bindir_of $c)
    d=$BASE/$c
    if [ ! -f "$d/data/PG_VERSION" ]; then
      port=$(cg_free_port $port)
      cg_start "$d" "$port" >/dev/null
      touch "$d/fresh"
    fi
    # a restart: the library installed now is loaded
    cg_as_server "$CG_BINDIR/pg_ctl" -D "$d/data" status >/dev/null 2>&1 &&
      cg_as_server "$CG_BINDIR/pg_ctl" -D "$d/data" -m fast -w stop >/dev/null
    cg_start "$d" "$(cat "$d/port")" >/dev/null
  )
  port=$(( $(cat "$BASE/$c/port") + 1 ))
  if [ -f "$BASE/$c/fresh" ]; then
    psql_c $c -d postgres -c "ALTER SYSTEM SET childguard.audit = off" -c "SELECT pg_reload_conf()" \
      -c "CREATE DATABASE bench" >/dev/null
    psql_c $c -d bench -v children="$CHILDREN" -v rows="$CHILDREN" -v pool=10 -v flat=1 \
      -f "$REPO/test/bench/setup.sql" >/dev/null
    rm -f "$BASE/$c/fresh"
  fi
done

# PostgreSQL's own floor for childguard's table shape, as controls in the
# same database: "wide" is the plain table with each text as long as
# childguard's envelope of it (name and phone 61 bytes, home ~109: the
# row's width, hence its pages, full-page images and pruning); "floor" is
# wide plus what protect() puts on a table, with trivial bodies -- a
# BEFORE UPDATE row trigger in C (suppress_redundant_updates_trigger: the
# old row locked first, one more WAL record) and the same three row
# security policies with a built-in predicate.  cg - floor is then
# childguard's own code.
for c in $SIDES; do
  psql_c $c -d bench >/dev/null <<'EOF'
SET client_min_messages = warning;
CREATE SCHEMA IF NOT EXISTS wide;
CREATE SCHEMA IF NOT EXISTS floor;
GRANT USAGE ON SCHEMA wide, floor TO bench_app;
DO $$
BEGIN
	IF to_regclass('wide.profile') IS NULL THEN
		CREATE TABLE wide.profile (child text PRIMARY KEY, name text, phone text, home text, grade int);
		INSERT INTO wide.profile SELECT child, name || repeat('x', 60 - octet_length(name)),
			phone || repeat('x', 60 - octet_length(phone)), home || repeat('x', 108 - octet_length(home)), grade
		  FROM plain.profile;
		CREATE TABLE floor.profile (LIKE wide.profile INCLUDING ALL);
		INSERT INTO floor.profile SELECT * FROM wide.profile;
		CREATE TRIGGER zz_floor BEFORE UPDATE ON floor.profile FOR EACH ROW
			EXECUTE FUNCTION suppress_redundant_updates_trigger();
		ALTER TABLE floor.profile ENABLE ROW LEVEL SECURITY;
		CREATE POLICY base ON floor.profile USING (true) WITH CHECK (true);
		CREATE POLICY sel ON floor.profile AS RESTRICTIVE FOR SELECT USING (length(child) > 0);
		CREATE POLICY upd ON floor.profile AS RESTRICTIVE FOR UPDATE USING (length(child) > 0);
		GRANT SELECT, UPDATE ON wide.profile, floor.profile TO bench_app;
	END IF;
END
$$;
VACUUM ANALYZE wide.profile, floor.profile;
EOF
done

# make bench's cold pass: one session reads every child once, so the
# shared cache holds every child (as in a deployment running for a while);
# each pgbench backend still meets each child for the first time
for c in $SIDES; do
  PGHOST=$BASE/$c/socket PGPORT=$(cat "$BASE/$c/port") PGOPTIONS="-c childguard.purpose=learning" \
    "$(bindir_of "$c")/psql" -X -q -At -v ON_ERROR_STOP=1 -U bench_app -d bench \
    -c "SELECT sum(length(name::text || phone::text || home::text)) FROM cg.profile" >/dev/null
done

S=$BASE/scripts; mkdir -p "$S"
for x in wide floor; do
  cat > "$S/w2_$x.sql" <<EOF
\set c random(1, $CHILDREN)
\set v random(1, 99999999)
UPDATE $x.profile SET phone = '139' || lpad(:v::text, 8, '0') || repeat('x', 49) WHERE child = 'c' || :c;
EOF
done
for x in cg plain; do
  # make bench's W2 (test/bench/run.sh), word for word
  cat > "$S/w2_$x.sql" <<EOF
\set c random(1, $CHILDREN)
\set v random(1, 99999999)
UPDATE $x.profile SET phone = '139' || lpad(:v::text, 8, '0') WHERE child = 'c' || :c;
EOF
done

pgb() {  # cluster script -> tps
  PGHOST=$BASE/$1/socket PGPORT=$(cat "$BASE/$1/port") PGOPTIONS="-c childguard.purpose=learning" \
    "$(bindir_of "$1")/pgbench" -n -M prepared -U bench_app -c "$CLIENTS" -j "$CLIENTS" -T "$SECS" \
    -f "$2" bench 2>&1 | sed -n 's/^tps = \([0-9.]*\).*/\1/p'
}
audit() { psql_c "$1" -d postgres -c "ALTER SYSTEM SET childguard.audit = $2" -c "SELECT pg_reload_conf()" >/dev/null; sleep 0.3; }
drained() {  # wait (up to 20 s) until the audit writer has caught up
  local i
  for i in $(seq 1 100); do
    [ "$(psql_c "$1" -d bench -At -c "SELECT coalesce((SELECT count(*) = 0 FROM pg_stat_activity WHERE backend_type LIKE 'childguard audit%' AND state = 'active'), true)" 2>/dev/null)" = t ] && return 0
    sleep 0.2
  done
}

R=$BASE/results; : > "$R"
for r in $(seq 1 "$ROUNDS"); do
  for c in $SIDES; do
    audit $c off
    if [ $((r % 2)) = 1 ]; then
      offc=$(pgb $c "$S/w2_cg.sql"); offp=$(pgb $c "$S/w2_plain.sql")
    else
      offp=$(pgb $c "$S/w2_plain.sql"); offc=$(pgb $c "$S/w2_cg.sql")
    fi
    audit $c on
    if [ $((r % 2)) = 1 ]; then
      onc=$(pgb $c "$S/w2_cg.sql"); drained $c; onp=$(pgb $c "$S/w2_plain.sql")
    else
      onp=$(pgb $c "$S/w2_plain.sql"); onc=$(pgb $c "$S/w2_cg.sql"); drained $c
    fi
    fl=$(pgb $c "$S/w2_floor.sql")
    echo "$c $r $offc $offp $onc $onp $fl" | tee -a "$R"
  done
done

# ---- per transaction: one session, TXNS prepared UPDATEs -----------------------
# cpuns PID -> nanoseconds on CPU so far (schedstat: finer than utime/stime)
cpuns() { awk '{ print $1 }' "/proc/$1/schedstat" 2>/dev/null || echo 0; }
per_txn() {  # side schema audit -> one line
  local c=$1 x=$2 a=$3 f=$BASE/pt_${c}_${x}_${a}
  local wdir=$BASE/$c/data/pg_wal
  awk -v n="$TXNS" -v c="$CHILDREN" -v x="$x" 'BEGIN { srand(7);
    printf "PREPARE w(int, int) AS UPDATE %s.profile SET phone = %s%s WHERE child = %s;\n", x, "\047139\047 || lpad($2::text, 8, \047\060\047)", (x == "wide" || x == "floor") ? " || repeat(\047x\047, 49)" : "", "\047c\047 || $1";
    print "EXECUTE w(1, 1);";
    print "SELECT pg_backend_pid() AS pid \\gset"; print "\\setenv CGPID :pid";
    print "SELECT pg_current_wal_insert_lsn() AS lsn0 \\gset"; print "\\setenv CGLSN0 :lsn0";
    print "\\! sh \"$CGHOOK\" start";
    for (i = 0; i < n; i++) printf "EXECUTE w(%d, %d);\n", int(rand() * c) + 1, int(rand() * 99999999) + 1;
    print "SELECT pg_current_wal_insert_lsn() AS lsn1 \\gset"; print "\\setenv CGLSN1 :lsn1";
    print "\\! sh \"$CGHOOK\" stop" }' > "$f.sql"
  cat > "$f.hook" <<EOF
case "\$1" in
start)
  "$(bindir_of "$c")/psql" -X -At -U bench_app -d bench -c "SELECT pid FROM pg_stat_activity WHERE backend_type = 'childguard audit writer'" > "$f.wpids"
  awk '{ print \$1 }' /proc/\$CGPID/schedstat > "$f.cpu0"
  w=0; for p in \$(cat "$f.wpids"); do w=\$((w + \$(awk '{ print \$1 }' /proc/\$p/schedstat 2>/dev/null || echo 0))); done; echo \$w > "$f.wcpu0"
  if [ $HAVE_PERF = 1 ]; then
    perf stat -x, -e instructions:u -p \$CGPID -o "$f.perf" & echo \$! > "$f.perfpid"
    [ "${CG_AB_PROFILE:-0}" = 1 ] && [ "$a" = off ] && { perf record -q -g -p \$CGPID -o "$BASE/$c.$x.perf.data" >/dev/null 2>&1 & echo \$! > "$f.recpid"; }
    sleep 0.5
  fi ;;
stop)
  awk '{ print \$1 }' /proc/\$CGPID/schedstat > "$f.cpu1"
  [ -f "$f.perfpid" ] && { kill -INT \$(cat "$f.perfpid"); sleep 0.3; }
  [ -f "$f.recpid" ] && { kill -INT \$(cat "$f.recpid"); sleep 1; }
  echo "\$CGLSN0 \$CGLSN1" > "$f.lsn" ;;
esac
EOF
  rm -f "$f.perfpid" "$f.recpid" "$f.perf"
  PGOPTIONS="-c childguard.purpose=learning" CGHOOK="$f.hook" PGHOST=$BASE/$c/socket PGPORT=$(cat "$BASE/$c/port") \
    "$(bindir_of "$c")/psql" -X -q -v ON_ERROR_STOP=1 -U bench_app -d bench -f "$f.sql" >/dev/null
  [ "$a" = on ] && drained "$c"
  local w1=0 p
  for p in $(cat "$f.wpids"); do w1=$((w1 + $(cpuns "$p"))); done
  read -r l0 l1 < "$f.lsn"
  local ins=nan
  [ -s "$f.perf" ] && ins=$(awk -F, '/instructions/ { print $1 }' "$f.perf")
  # pg_waldump over the range (needs the segments still there: short runs)
  local st
  st=$(cg_as_server "$(bindir_of "$c")/pg_waldump" -p "$wdir" -s "$l0" -e "$l1" --stats 2>/dev/null |
       awk '/^Total/ { print $2, $(NF-1) }' | head -1) || true
  local bytes
  bytes=$(psql_c "$c" -d postgres -At -c "SELECT pg_wal_lsn_diff('$l1', '$l0')")
  local fpi
  fpi=$(cg_as_server "$(bindir_of "$c")/pg_waldump" -p "$wdir" -s "$l0" -e "$l1" 2>/dev/null | grep -c 'FPW\|FPI' || true)
  awk -v n="$TXNS" -v side="$c" -v x="$x" -v a="$a" -v i="$ins" -v c0="$(cat "$f.cpu0")" -v c1="$(cat "$f.cpu1")" \
      -v w0="$(cat "$f.wcpu0")" -v w1="$w1" -v b="$bytes" -v st="${st:-nan nan}" -v fpi="$fpi" 'BEGIN {
    split(st, s, " ");
    printf "%s %-5s audit %-3s: %s instructions/txn, backend CPU %5.1f us/txn, audit writer CPU %5.1f us/txn, WAL %6.0f bytes/txn, %5.2f records/txn, %5.3f FPI/txn\n",
      side, x, a, (i ~ /^[0-9]+$/ ? sprintf("%.0f", i / n) : "n/a"), (c1 - c0) / 1e3 / n, (w1 - w0) / 1e3 / n, b / n, s[1] / n, fpi / n }'
}

for pass in $(seq 1 "$PASSES"); do
  for c in $SIDES; do
    for a in off on; do
      audit $c $a
      psql_c $c -d bench -c CHECKPOINT >/dev/null
      for x in plain wide floor cg; do
        [ $a = on ] && [ $x != cg ] && continue
        per_txn $c $x $a
      done
    done
  done
done | tee "$BASE/per_txn"
echo "per transaction, medians of $PASSES passes (backend CPU us, WAL bytes, WAL records):"
awk '{ k = $1 " " $2 " " $4; sub(":", "", k); for (i = 1; i <= NF; i++) { if ($i == "CPU" && $(i-1) == "backend") cpu[k] = cpu[k] " " $(i+1);
         if ($i == "bytes/txn,") wal[k] = wal[k] " " $(i-1); if ($i == "records/txn,") rec[k] = rec[k] " " $(i-1) } }
  function med(s,   a, n, i, j, t) { n = split(s, a, " "); for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (a[j] + 0 < a[i] + 0) { t = a[i]; a[i] = a[j]; a[j] = t }
    return (n % 2) ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2 }
  END { for (k in cpu) printf "  %-18s backend CPU %6.1f us/txn, WAL %6.0f bytes/txn, %5.2f records/txn\n", k, med(cpu[k]), med(wal[k]), med(rec[k]) }' "$BASE/per_txn" | sort

# ---- user-space instructions per transaction (callgrind) ----------------------
# This VM has no hardware counters for perf (instructions: <not supported>),
# so with CG_AB_CALLGRIND=1 each side's cluster is stopped and one backend in
# single-user mode runs, under valgrind --tool=callgrind, the same prepared
# UPDATE CG_AB_CG_TXNS times per table (the same children, in the same
# order, on both sides), audit off, counting only the statements' execution
# and commit (ExecuteQuery, CommitTransactionCommand): instructions per
# transaction, deterministic, whatever else the machine runs.  "cold" runs
# the UPDATEs in a fresh backend (each child met for the first time, as a
# pgbench backend meets most of them); "warm" first reads every child's
# columns in the same backend (make bench's cold pass), so every cache
# holds them.  Then the top childguard functions (inclusive) of the cg runs.
# (The "warm" single-user backend also fills the shared cache itself; see
# "first" below for make bench's case.)
callgrind_run() {  # side table mode -> Ir per transaction
  local c=$1 x=$2 mode=$3 d=$BASE/cgr
  local f=$d/${c}_${x}_${mode}
  mkdir -p "$d"; [ "$(id -u)" -eq 0 ] && chown "$CG_SERVER_USER" "$d"
  awk -v n="$CG_TXNS" -v c="$CHILDREN" -v x="$x" -v mode="$mode" 'BEGIN { srand(11);
    print "SET ROLE bench_app;"; print "SET childguard.purpose = \047learning\047;";
    if (mode == "warm") print "SELECT sum(length(name::text || phone::text || home::text)) FROM cg.profile;";
    printf "PREPARE w(int, int) AS UPDATE %s.profile SET phone = %s%s WHERE child = %s;\n", x, "\047139\047 || lpad($2::text, 8, \047\060\047)", (x == "wide" || x == "floor") ? " || repeat(\047x\047, 49)" : "", "\047c\047 || $1";
    for (i = 0; i < n; i++) printf "EXECUTE w(%d, %d);\n", int(rand() * c) + 1, int(rand() * 99999999) + 1 }' > "$f.sql"
  CG_BINDIR=$(bindir_of "$c") cg_as_server "$(bindir_of "$c")/pg_ctl" -D "$BASE/$c/data" -m fast -w stop >/dev/null
  cg_as_server valgrind --tool=callgrind --callgrind-out-file="$f.out" \
    --collect-atstart=no --toggle-collect=ExecuteQuery --toggle-collect=CommitTransactionCommand \
    "$(bindir_of "$c")/postgres" --single -D "$BASE/$c/data" -c childguard.audit=off bench < "$f.sql" > "$f.log" 2>&1 || true
  (CG_BINDIR=$(bindir_of "$c"); cg_start "$BASE/$c" "$(cat "$BASE/$c/port")" >/dev/null)
  grep -q ERROR "$f.log" && { echo "callgrind run $c $x $mode failed:" >&2; grep ERROR "$f.log" | head -3 >&2; }
  callgrind_annotate "$f.out" > "$f.ann" 2>/dev/null || true
  awk -v n="$CG_TXNS" '/PROGRAM TOTALS/ { gsub(",", "", $1); printf "%.0f", $1 / n; exit }' "$f.ann"
}
# "first": make bench's case -- the shared cache warm (the cold pass, in
# one session), then another backend meeting the children for the first
# time; the cluster's postmaster runs under callgrind (each backend writes
# its own profile) and the profile of the backend that ran the UPDATEs is
# read.
callgrind_first() {  # side -> Ir per transaction
  local c=$1 d=$BASE/cgr/first_$c bin f best="" bestv=0 v i
  bin=$(bindir_of "$c")
  rm -rf "$d"; mkdir -p "$d"; [ "$(id -u)" -eq 0 ] && chown "$CG_SERVER_USER" "$d"
  cg_as_server "$bin/pg_ctl" -D "$BASE/$c/data" -m fast -w stop >/dev/null
  cg_as_server bash -c "exec valgrind --tool=callgrind --callgrind-out-file='$d/cg.%p' --collect-atstart=no \
    --toggle-collect=ExecuteQuery --toggle-collect=CommitTransactionCommand \
    '$bin/postgres' -D '$BASE/$c/data' -c childguard.audit=off > '$d/postmaster.log' 2>&1 &"
  for i in $(seq 1 120); do
    PGHOST=$BASE/$c/socket PGPORT=$(cat "$BASE/$c/port") "$bin/psql" -X -U postgres -d postgres -c 'SELECT 1' >/dev/null 2>&1 && break
    sleep 1
  done
  PGHOST=$BASE/$c/socket PGPORT=$(cat "$BASE/$c/port") PGOPTIONS="-c childguard.purpose=learning" \
    "$bin/psql" -X -q -U bench_app -d bench \
    -c "SELECT sum(length(name::text || phone::text || home::text)) FROM cg.profile" >/dev/null
  grep -v '^SET\|^SELECT sum' "$BASE/cgr/${c}_cg_cold.sql" > "$d/w.sql"
  PGHOST=$BASE/$c/socket PGPORT=$(cat "$BASE/$c/port") PGOPTIONS="-c childguard.purpose=learning" \
    "$bin/psql" -X -q -v ON_ERROR_STOP=1 -U bench_app -d bench -f "$d/w.sql" >/dev/null
  cg_as_server "$bin/pg_ctl" -D "$BASE/$c/data" -m fast -w stop >/dev/null
  sleep 1
  (CG_BINDIR=$bin; cg_start "$BASE/$c" "$(cat "$BASE/$c/port")" >/dev/null)
  for f in "$d"/cg.*; do
    v=$(callgrind_annotate "$f" 2>/dev/null | awk '/PROGRAM TOTALS/ { gsub(",", "", $1); print $1; exit }')
    case "$v" in ''|*[!0-9]*) continue ;; esac
    if [ "$v" -gt "$bestv" ]; then bestv=$v; best=$f; fi
  done
  [ -n "$best" ] && cp "$best" "$BASE/cgr/${c}_cg_first.out"
  awk -v v="$bestv" -v n="$CG_TXNS" 'BEGIN { printf "%.0f", v / n }'
}
if [ "${CG_AB_CALLGRIND:-0}" = 1 ] && command -v valgrind >/dev/null 2>&1; then
  CG_TXNS=${CG_AB_CG_TXNS:-600}
  echo "user-space instructions per transaction (callgrind, $CG_TXNS UPDATEs, audit off):"
  for c in $SIDES; do
    name=this; [ $c = o ] && name=before
    line="  $name build:"
    for x in plain wide floor cg; do line="$line $x $(callgrind_run $c $x cold)"; done
    line="$line; cg warm $(callgrind_run $c cg warm); cg first $(callgrind_first $c)"
    echo "$line"
  done
  for c in $SIDES; do
    for mode in cold warm first; do
      echo "--- $c: cg $mode, childguard and the executor, inclusive instructions per transaction ---"
      [ -f "$BASE/cgr/${c}_cg_${mode}.out" ] || continue
      callgrind_annotate --inclusive=yes "$BASE/cgr/${c}_cg_${mode}.out" > "$BASE/cgr/${c}_cg_${mode}.incl" 2>/dev/null || true
      awk -v n="$CG_TXNS" '/^ *[0-9,]+ .*[:(]/ { v = $1; gsub(",", "", v); if ($0 ~ /cg_|ExecBRUpdateTriggers|ExecWithCheckOptions|ExecInitModifyTable|heap_update|XLogInsert|heap_lock_tuple|ExecuteQuery|CommitTransactionCommand|standard_ExecutorStart|ExecScan/) { sub(/^ *[0-9,]+ +\([^)]*\) +/, ""); sub(/^ *[0-9,]+ +/, ""); printf "  %8.0f  %s\n", v / n, $0; if (++k >= 40) exit } }' "$BASE/cgr/${c}_cg_${mode}.incl"
    done
  done
fi

if [ "${CG_AB_PROFILE:-0}" = 1 ] && [ $HAVE_PERF = 1 ]; then
  for c in $SIDES; do
    for x in cg floor wide plain; do
      [ -f "$BASE/$c.$x.perf.data" ] || continue
      echo "--- $c: W2 $x backend, audit off: top symbols (self) ---"
      perf report -i "$BASE/$c.$x.perf.data" --no-children --stdio --sort symbol -g none 2>/dev/null |
        grep -v '^#' | grep -v '^$' | head -30 || true
      echo "--- $c: W2 $x backend, audit off: inclusive, user space ---"
      perf report -i "$BASE/$c.$x.perf.data" --children --stdio --sort symbol -g none 2>/dev/null |
        grep -v '^#' | grep -v '^$' | grep -v '\[k\]' | grep -v ' 0x0000' | head -60 || true
    done
  done
fi

for c in $SIDES; do
  name=this; [ $c = o ] && name=before
  awk -v side=$c -v name=$name '$1 == side { n++; a[n]=$3/$4; b[n]=$5/$6; p[n]=$4; q[n]=$6; cc[n]=$3; dd[n]=$5; f[n]=$7/$4; g[n]=$3/$7 }
    function med(x,   i,j,t) { for (i=1;i<=n;i++) for (j=i+1;j<=n;j++) if (x[j]<x[i]) { t=x[i]; x[i]=x[j]; x[j]=t }
      return (n % 2) ? x[(n+1)/2] : (x[n/2] + x[n/2+1]) / 2 }
    END { printf "%s build: W2 audit off / plain %.3f (%.0f / %.0f tps); W2 audit on / plain %.3f (%.0f / %.0f tps); floor (audit off) / plain %.3f; W2 audit off / floor %.3f\n",
      name, med(a), med(cc), med(p), med(b), med(dd), med(q), med(f), med(g) }' "$R"
done
echo "($ROUNDS rounds of $SECS s, $CLIENTS clients, $CHILDREN children, pgbench -M prepared; per transaction: $TXNS UPDATEs in one session)"
