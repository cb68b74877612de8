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
# (the nanoseconds on CPU from /proc/self/schedstat, read through pg_read_file before
# and after) per read.  Reader cost = median(on) - median(off).
# Writer: the audit writer's CPU time (/proc/<pid>/schedstat) over the "on"
# runs, until it has drained them, divided by the records it wrote.
# CPU time, not wall time, so other load on the machine matters less
# (nanoseconds, from the scheduler: short runs resolve too).
# Writer under load: CG_AUDIT_LOAD_CLIENTS (2) pgbench clients reading
# random children for CG_AUDIT_LOAD_SECONDS (5; 0: skip) per round, as W1
# does: the writer's CPU per record with the batches that load makes;
# CG_AUDIT_LOAD_RATE: at most that many reads a second in all (pgbench -R),
# e.g. W1's rate, for W1's batch sizes.
# Reader by profile: with perf, each round also records the backend of a
# further audited run, and the share of its CPU samples whose stack holds
# one of the audit's functions (capture, encoding, queueing) times the
# unrecorded "on" run's CPU per read is the reader's cost too -- steadier
# than on - off on a loaded machine (CG_AUDIT_READER_PROFILE= to skip).
# CG_AUDIT_WRITER_DELAY: childguard.audit_writer_delay for the run.
# CG_AUDIT_READER_PERF=FILE: keep the reader's profiles (FILE.<round>).
# CG_AUDIT_EXT_VERSION: the extension's SQL version to install (e.g. 1.7:
# the writer's row path, one access_log row per record; from 1.8 the
# packed log, one access_log_batch row per batch) -- the same library, so
# the two paths compare side by side (test/bench/audit_pack_ab.sh).
# CG_AUDIT_EXTRA_SQL: SQL run once after the setup (e.g. to measure the
# writer without one of the log's indexes).
# CG_AUDIT_PERF=FILE: perf record the writer during the load rounds
# (FILE.1, FILE.2, ...).
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
LOAD_CLIENTS=${CG_AUDIT_LOAD_CLIENTS:-2}
LOAD_SECONDS=${CG_AUDIT_LOAD_SECONDS:-5}
LOAD_RATE=${CG_AUDIT_LOAD_RATE:-}
DIR=/tmp/cgbench-audit-$$
PORT=$(cg_free_port 56400)
trap 'cg_destroy "$DIR" >/dev/null 2>&1 || true' EXIT

cg_start "$DIR" "$PORT" >/dev/null
cg_export "$DIR"
export PATH="$CG_BINDIR:$PATH"
PSQL=(psql -X -q -At -v ON_ERROR_STOP=1 -d postgres)

"${PSQL[@]}" <<EOF >/dev/null
SET client_min_messages = warning;
CREATE EXTENSION childguard ${CG_AUDIT_EXT_VERSION:+VERSION '$CG_AUDIT_EXT_VERSION'} CASCADE;
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
[ -z "${CG_AUDIT_EXTRA_SQL:-}" ] || "${PSQL[@]}" -c "$CG_AUDIT_EXTRA_SQL" >/dev/null

# the reads, one top-level statement each, between two CPU readings
{
  echo "SET childguard.purpose = 'regress';"
  echo "SELECT 'pid ' || pg_backend_pid();"
  echo "SELECT pg_sleep(0.3);"
  echo "SELECT 'cpu0 ' || pg_read_file('/proc/self/schedstat');"
  for i in $(seq 1 "$READS"); do
    echo "SELECT name FROM students WHERE id = $((i % CHILDREN + 1));"
  done
  echo "SELECT 'cpu1 ' || pg_read_file('/proc/self/schedstat');"
} > "$DIR/reads.sql"

set_audit() {
  "${PSQL[@]}" -c "ALTER SYSTEM SET childguard.audit = $1" >/dev/null
  "${PSQL[@]}" -c "SELECT pg_reload_conf()" >/dev/null
  # a loaded machine may take a while to signal the reload: wait until a
  # new session sees it, or the runs would measure the other setting
  until [ "$("${PSQL[@]}" -c "SHOW childguard.audit")" = "$1" ]; do sleep 0.2; done
}

# proc_cpu_ns SCHEDSTAT: nanoseconds on CPU (the first field of
# /proc/<pid>/schedstat; the clock ticks of /proc/<pid>/stat are too coarse)
proc_cpu_ns() { awk '{ print $1 }' <<<"$1"; }

writer_pid() {
  "${PSQL[@]}" -c "SELECT pid FROM pg_stat_activity WHERE backend_type = 'childguard audit writer' LIMIT 1"
}

# the records written: the chain head's last id (the log of 1.8 is a view
# that would unpack every batch to count them)
records() { "${PSQL[@]}" -c "SELECT last_id FROM childguard.access_log_head"; }

drained() {  # wait until the writer has caught up: nothing queued, the log stops growing
  local a b
  until [ "$("${PSQL[@]}" -c "SELECT queued_records FROM childguard.audit_queue_status")" = 0 ]; do
    sleep 0.2
  done
  b=$(records)
  while :; do
    sleep 0.5
    a=$(records)
    [ "$a" = "$b" ] && return
    b=$a
  done
}

# reader_us [profile]: run the reads, print the backend's CPU µs per read;
# with profile (and perf), also record the backend and print, after a
# space, the share of its CPU spent in the audit's own functions
AUDIT_FRAMES='^(emit|capture_first_access|capture_plan[.a-z0-9]*|capture_relation|resolve_names|capture_resource_release|cg_audit_(executor_start|executor_run|executor_end|utility_end|flush_pending|enqueue|admit|record_encode|max_record))$'
reader_us() {
  local out c0 c1 pid perf_pid=
  psql -X -q -At -v ON_ERROR_STOP=1 -d postgres -f "$DIR/reads.sql" > "$DIR/reads.out" &
  local psql_pid=$!
  if [ -n "${1:-}" ] && command -v perf >/dev/null; then
    until grep -q '^pid ' "$DIR/reads.out" 2>/dev/null; do sleep 0.05; done
    pid=$(grep '^pid ' "$DIR/reads.out" | cut -d' ' -f2)
    perf record -F 5000 -g -o "$DIR/reader.perf" -p "$pid" >/dev/null 2>&1 &
    perf_pid=$!
  fi
  wait "$psql_pid"
  out=$(grep '^cpu[01] ' "$DIR/reads.out")
  c0=$(proc_cpu_ns "$(grep '^cpu0 ' <<<"$out" | cut -c6-)")
  c1=$(proc_cpu_ns "$(grep '^cpu1 ' <<<"$out" | cut -c6-)")
  awk -v a="$c0" -v b="$c1" -v n="$READS" 'BEGIN { printf "%.3f", (b - a) / 1e3 / n }'
  if [ -n "$perf_pid" ]; then
    kill -INT "$perf_pid" 2>/dev/null || true
    wait "$perf_pid" 2>/dev/null || true
    # CG_AUDIT_READER_PERF=FILE: keep the reader's profile (FILE.1, FILE.2, ...)
    [ -z "${CG_AUDIT_READER_PERF:-}" ] || cp "$DIR/reader.perf" "$CG_AUDIT_READER_PERF.$r"
    # a sample counts for the audit if any frame of its stack is one of its functions
    perf script -i "$DIR/reader.perf" -F ip,sym 2>/dev/null | awk -v re="$AUDIT_FRAMES" '
      NF == 0 { if (n) { tot++; aud += hit }; n = 0; hit = 0; next }
      { n++; if ($2 ~ re) hit = 1 }
      END { if (n) { tot++; aud += hit }; printf " %.4f", tot ? aud / tot : 0 }'
  fi
  echo
}

median() { sort -n | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }

# one writer for the whole run: it must not exit between bursts
"${PSQL[@]}" -c "ALTER SYSTEM SET childguard.audit_writer_idle_timeout = '1h'" >/dev/null
if [ -n "${CG_AUDIT_WRITER_DELAY:-}" ]; then
  "${PSQL[@]}" -c "ALTER SYSTEM SET childguard.audit_writer_delay = '$CG_AUDIT_WRITER_DELAY'" >/dev/null
fi
OFF=(); ON=(); SHARES=(); OND=(); WNS=0; WRECS=0
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
  w0=$(proc_cpu_ns "$(cat /proc/"$wpid"/schedstat)")
  n0=$(records)
  on=$(reader_us)
  if [ -n "${CG_AUDIT_READER_PROFILE-1}" ] && command -v perf >/dev/null; then
    # a further run, recorded (perf's sampling adds to the backend's CPU,
    # so the recorded run's own CPU time is not used)
    read -r _ share < <(reader_us profile)
    SHARES+=("$share"); OND+=("$on")
  fi
  drained
  wpid2=$(writer_pid)
  [ "$wpid" = "$wpid2" ] || { echo "audit_cost: the writer restarted during the run" >&2; exit 1; }
  w1=$(proc_cpu_ns "$(cat /proc/"$wpid"/schedstat)")
  n1=$(records)
  WNS=$((WNS + w1 - w0)); WRECS=$((WRECS + n1 - n0))
  OFF+=("$off"); ON+=("$on")
  printf 'round %d: reader CPU per read: audit off %8.2f µs, on %8.2f µs; writer: %d records, %.2f µs per record\n' \
    "$r" "$off" "$on" "$((n1 - n0))" "$(awk -v t=$((w1 - w0)) -v n=$((n1 - n0)) 'BEGIN { print (n > 0) ? t / 1e3 / n : 0 }')"
done

# The writer under a W1-like load: LOAD_CLIENTS pgbench clients (prepared)
# reading random children for LOAD_SECONDS, ROUNDS times; batches are what
# this load makes them (records per batch: records per distinct logged_at,
# one per batch transaction).
LNS=0; LRECS=0; LBATCHES=0
if [ "$LOAD_SECONDS" -gt 0 ]; then
  printf '%s\n' "\\set k random(1, $CHILDREN)" "SELECT name FROM students WHERE id = :k;" > "$DIR/load.sql"
  for r in $(seq 1 "$ROUNDS"); do
    drained
    wpid=$(writer_pid)
    w0=$(proc_cpu_ns "$(cat /proc/"$wpid"/schedstat)")
    l0=$(records)
    PERF_PID=
    if [ -n "${CG_AUDIT_PERF:-}" ]; then  # a CPU profile of the writer under load
      perf record -F 10000 -g -o "$CG_AUDIT_PERF.$r" -p "$wpid" -- sleep "$LOAD_SECONDS" >/dev/null 2>&1 &
      PERF_PID=$!
    fi
    PGOPTIONS="-c childguard.purpose=regress" pgbench -n -M prepared -c "$LOAD_CLIENTS" -j "$LOAD_CLIENTS" \
      ${LOAD_RATE:+-R "$LOAD_RATE"} \
      -T "$LOAD_SECONDS" -f "$DIR/load.sql" postgres >/dev/null 2>&1
    [ -z "$PERF_PID" ] || wait "$PERF_PID" || true
    drained
    [ "$wpid" = "$(writer_pid)" ] || { echo "audit_cost: the writer restarted during the run" >&2; exit 1; }
    w1=$(proc_cpu_ns "$(cat /proc/"$wpid"/schedstat)")
    read -r n b < <("${PSQL[@]}" -F ' ' -c "SELECT count(*), count(DISTINCT logged_at) FROM childguard.access_log WHERE id > $l0 AND logged_at > now() - interval '10 minutes'")
    LNS=$((LNS + w1 - w0)); LRECS=$((LRECS + n)); LBATCHES=$((LBATCHES + b))
    printf 'load round %d: %d clients, %d s: writer: %d records in %d batches, %.2f µs per record\n' \
      "$r" "$LOAD_CLIENTS" "$LOAD_SECONDS" "$n" "$b" "$(awk -v t=$((w1 - w0)) -v n="$n" 'BEGIN { print (n > 0) ? t / 1e3 / n : 0 }')"
  done
fi

moff=$(printf '%s\n' "${OFF[@]}" | median)
mon=$(printf '%s\n' "${ON[@]}" | median)
valid=$("${PSQL[@]}" -c "SELECT valid FROM childguard.verify_access_log()")
echo
echo "===== audit record cost: $ROUNDS rounds of $READS reads, $(nproc) CPUs ====="
awk -v off="$moff" -v on="$mon" 'BEGIN { printf "reader: %.2f µs per record (median on %.2f - median off %.2f µs per read)   target <= 1 µs\n", on - off, on, off }'
if [ "${#SHARES[@]}" -gt 0 ]; then
  # per round: share of the backend's CPU in the audit's functions x CPU per read
  for i in "${!SHARES[@]}"; do awk -v s="${SHARES[$i]}" -v c="${OND[$i]}" 'BEGIN { print s * c }'; done | median |
    awk -v sh="$(printf '%s\n' "${SHARES[@]}" | median)" 'BEGIN { getline m; printf "reader (profile): %.2f µs per record (median share of the backend'"'"'s CPU in the audit'"'"'s functions %.1f%%)   target <= 1 µs\n", m, sh * 100 }'
fi
awk -v t="$WNS" -v n="$WRECS" 'BEGIN { if (n > 0) printf "writer: %.2f µs per record (%d records)   target <= 2 µs\n", t / 1e3 / n, n; else print "writer: no records written" }'
[ "$LRECS" -gt 0 ] && awk -v t="$LNS" -v n="$LRECS" -v b="$LBATCHES" -v c="$LOAD_CLIENTS" \
  'BEGIN { printf "writer under load (%d clients): %.2f µs per record (%d records, %.1f per batch)   target <= 2 µs\n", c, t / 1e3 / n, n, n / b }'
echo "access log chain valid: $valid"
