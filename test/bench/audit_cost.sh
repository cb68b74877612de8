#!/usr/bin/env bash
# Benchmark (not a pass/fail test): the CPU an audit record costs the
# reader (the backend that reads child data) and the writer (the audit
# writer background worker), in µs per record, on a private throwaway
# cluster.  Targets (issue 12): reader <= 1 µs, writer <= 2 µs.
#
#   bash test/bench/audit_cost.sh [ROUNDS] [READS]
#
# Reader: one session runs READS (default 20000) audited point reads
# (SELECT name FROM students WHERE id = k, one child_data column, one row)
# as separate top-level statements, with childguard.audit off and on,
# interleaved ROUNDS (default 3) times; the backend's own CPU time
# (utime + stime from /proc/self/stat, read through pg_read_file before
# and after) per read.  Reader cost = median(on) - median(off).
# Writer: the audit writer's CPU time (/proc/<pid>/stat) over the "on"
# runs, until it has drained them, divided by the records it wrote.
# CPU time, not wall time, so other load on the machine matters less; the
# clock tick (usually 10 ms) bounds the resolution: keep READS large.
# Env: CG_PG_CONFIG / PG_CONFIG as for test/cluster.sh; the build must be
# installed there.  Runs as root or as the server's user (reads /proc).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/../.."
REPO=$PWD
# shellcheck source=test/cluster.sh
. "$REPO/test/cluster.sh"

ROUNDS=${1:-3}
READS=${2:-20000}
CHILDREN=${CG_BENCH_CHILDREN:-1000}
DIR=/tmp/cgbench-audit-$$
PORT=$(cg_free_port 56400)
trap 'cg_destroy "$DIR" >/dev/null 2>&1 || true' EXIT
TICK=$(getconf CLK_TCK)

cg_start "$DIR" "$PORT" >/dev/null
cg_export "$DIR"
export PATH="$CG_BINDIR:$PATH"
PSQL=(psql -X -q -At -v ON_ERROR_STOP=1 -d postgres)

"${PSQL[@]}" <<EOF >/dev/null
SET client_min_messages = warning;
CREATE EXTENSION childguard CASCADE;
SELECT childguard.register_child('c' || i, '2015-01-01') FROM generate_series(1, $CHILDREN) i;
\i $REPO/test/fixtures/regress_purpose.psql
SELECT pg_temp.consent_all();
CREATE TABLE students (id int PRIMARY KEY, child text NOT NULL,
                       name childguard.child_data(name), grade int);
SELECT childguard.protect('students', 'child');
SET childguard.purpose = 'regress';
INSERT INTO students SELECT i, 'c' || i, '学生' || i, i % 6 + 1 FROM generate_series(1, $CHILDREN) i;
VACUUM ANALYZE students;
EOF

# the reads, one top-level statement each, between two CPU readings
{
  echo "SET childguard.purpose = 'regress';"
  echo "SELECT 'cpu0 ' || pg_read_file('/proc/self/stat');"
  for i in $(seq 1 "$READS"); do
    echo "SELECT name FROM students WHERE id = $((i % CHILDREN + 1));"
  done
  echo "SELECT 'cpu1 ' || pg_read_file('/proc/self/stat');"
} > "$DIR/reads.sql"

set_audit() {
  "${PSQL[@]}" -c "ALTER SYSTEM SET childguard.audit = $1" >/dev/null
  "${PSQL[@]}" -c "SELECT pg_reload_conf()" >/dev/null
  sleep 0.5
}

# proc_cpu_ticks STATLINE: utime + stime (fields 14, 15; the command name,
# field 2, is in parentheses and may hold spaces)
proc_cpu_ticks() { sed 's/^.*) //' <<<"$1" | awk '{ print $12 + $13 }'; }

writer_pid() {
  "${PSQL[@]}" -c "SELECT pid FROM pg_stat_activity WHERE backend_type = 'childguard audit writer' LIMIT 1"
}

records() { "${PSQL[@]}" -c "SELECT count(*) FROM childguard.access_log"; }

drained() {  # wait until the writer has caught up (the log stops growing)
  local a b
  b=$(records)
  while :; do
    sleep 1
    a=$(records)
    [ "$a" = "$b" ] && return
    b=$a
  done
}

# reader_us: run the reads, print the backend's CPU µs per read
reader_us() {
  local out c0 c1
  out=$(psql -X -q -At -v ON_ERROR_STOP=1 -d postgres -f "$DIR/reads.sql" | grep '^cpu[01] ')
  c0=$(proc_cpu_ticks "$(grep '^cpu0 ' <<<"$out" | cut -c6-)")
  c1=$(proc_cpu_ticks "$(grep '^cpu1 ' <<<"$out" | cut -c6-)")
  awk -v a="$c0" -v b="$c1" -v t="$TICK" -v n="$READS" 'BEGIN { printf "%.3f", (b - a) / t * 1e6 / n }'
}

median() { sort -n | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }

# one writer for the whole run: it must not exit between bursts
"${PSQL[@]}" -c "ALTER SYSTEM SET childguard.audit_writer_idle_timeout = '1h'" >/dev/null
OFF=(); ON=(); WTICKS=0; WRECS=0
set_audit on
# start the writer: an audited read
"${PSQL[@]}" -c "SET childguard.purpose = 'regress'" -c "SELECT name FROM students WHERE id = 1" >/dev/null
drained
for r in $(seq 1 "$ROUNDS"); do
  set_audit off
  off=$(reader_us)
  set_audit on
  drained
  wpid=$(writer_pid)
  [ -n "$wpid" ] || { echo "audit_cost: no audit writer is running" >&2; exit 1; }
  w0=$(proc_cpu_ticks "$(cat /proc/"$wpid"/stat)")
  n0=$(records)
  on=$(reader_us)
  drained
  wpid2=$(writer_pid)
  [ "$wpid" = "$wpid2" ] || { echo "audit_cost: the writer restarted during the run" >&2; exit 1; }
  w1=$(proc_cpu_ticks "$(cat /proc/"$wpid"/stat)")
  n1=$(records)
  WTICKS=$((WTICKS + w1 - w0)); WRECS=$((WRECS + n1 - n0))
  OFF+=("$off"); ON+=("$on")
  printf 'round %d: reader CPU per read: audit off %8.2f µs, on %8.2f µs; writer: %d records, %d ticks\n' \
    "$r" "$off" "$on" "$((n1 - n0))" "$((w1 - w0))"
done
moff=$(printf '%s\n' "${OFF[@]}" | median)
mon=$(printf '%s\n' "${ON[@]}" | median)
valid=$("${PSQL[@]}" -c "SELECT valid FROM childguard.verify_access_log()")
echo
echo "===== audit record cost: $ROUNDS rounds of $READS reads, $(nproc) CPUs, clock tick 1/$TICK s ====="
awk -v off="$moff" -v on="$mon" 'BEGIN { printf "reader: %.2f µs per record (median on %.2f - median off %.2f µs per read)   target <= 1 µs\n", on - off, on, off }'
awk -v t="$WTICKS" -v hz="$TICK" -v n="$WRECS" 'BEGIN { if (n > 0) printf "writer: %.2f µs per record (%d records)   target <= 2 µs\n", t / hz * 1e6 / n, n; else print "writer: no records written" }'
echo "access log chain valid: $valid"
