#!/usr/bin/env bash
# Benchmark (not a pass/fail test): the cost of reading packed access log
# records through childguard._access_log_unpack() (the access_log view's
# decoder), with two builds of the library side by side -- e.g. 1.8's and
# 1.9's, which checks every record's lengths before decoding it (docs/
# security.md, "Attacks on the 1.8 fast paths").  One throwaway cluster;
# each round installs one library (copied over the installed
# childguard.so), restarts, and measures the backend's CPU time
# (/proc/PID/schedstat; this VM has no counters for perf) and the wall
# time while it unpacks
# a batch of N records (a real record of this cluster, repeated) REPS
# times; sides alternate, ROUNDS rounds each.  Prints the medians per
# record and the ratio B / A.  The installed library is put back at the
# end.
#
#   bash test/bench/unpack_check_ab.sh LIB_A LIB_B [ROUNDS] [N] [REPS]
#
# Build the two libraries first, e.g.:
#   git stash; make -s; cp childguard.so /tmp/a.so; git stash pop
#   make -s; cp childguard.so /tmp/b.so
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
REPO=$PWD
# shellcheck source=test/cluster.sh
. "$REPO/test/cluster.sh"
LIB_A=${1:?usage: unpack_check_ab.sh LIB_A LIB_B [ROUNDS] [N] [REPS]}
LIB_B=${2:?usage: unpack_check_ab.sh LIB_A LIB_B [ROUNDS] [N] [REPS]}
ROUNDS=${3:-3}
N=${4:-100000}
REPS=${5:-3}
PKGLIB=$("$PG_CONFIG" --pkglibdir)
INSTALLED=$PKGLIB/childguard.so
DIR=/tmp/cg-unpack-ab-$$
PORT=$(cg_free_port)
SAVED=$DIR.saved.so
cp "$INSTALLED" "$SAVED"
cleanup() {
  cg_stop "$DIR" >/dev/null 2>&1 || true
  cp "$SAVED" "$INSTALLED.ab" && mv -f "$INSTALLED.ab" "$INSTALLED" || true
  rm -rf -- "$DIR" "$SAVED"
}
trap cleanup EXIT
cg_start "$DIR" "$PORT" >/dev/null
psql_() { "$CG_BINDIR/psql" -X -q -At -h "$DIR/socket" -p "$PORT" -U postgres -d postgres "$@"; }
psql_ -c "SET client_min_messages = warning" -c "CREATE EXTENSION childguard CASCADE" >/dev/null
psql_ <<'EOF' >/dev/null
SET client_min_messages = warning;
SELECT childguard.register_child('ab-1', '2015-05-01');
\i test/fixtures/regress_purpose.psql
SELECT pg_temp.consent_all();
CREATE TABLE ab_kids (id text PRIMARY KEY, name childguard.child_data(name));
SELECT childguard.protect('ab_kids', 'id');
SET childguard.purpose = 'regress';
INSERT INTO ab_kids VALUES ('ab-1', 'a');
SELECT count(*) FROM ab_kids WHERE name::text > '';
RESET childguard.purpose;
SELECT childguard.audit_wait();
EOF
# the batch: the log's last record (a read) repeated N times
psql_ -v n="$N" <<'EOF' >/dev/null
CREATE TABLE ab_batch AS
  SELECT string_agg(r.rec, ''::bytea) AS packed
    FROM (SELECT substring(packed FROM 1 FOR 36 + (get_byte(packed, 0) << 24 | get_byte(packed, 1) << 16
                           | get_byte(packed, 2) << 8 | get_byte(packed, 3))) AS rec
            FROM childguard.access_log_batch ORDER BY first_id DESC LIMIT 1) r,
         generate_series(1, :n);
EOF
[ "$(psql_ -c "SELECT count(*) FROM ab_batch, childguard._access_log_unpack(1, now(), NULL, packed)")" = "$N" ] ||
  { echo "unpack_check_ab.sh: the batch does not unpack to $N records" >&2; exit 1; }
run_side() {
  local lib=$1 pid c0 c1 t0 t1
  # stopped first, and a new file renamed into place: a library mapped by
  # running processes must never be overwritten in place
  cg_as_server "$CG_BINDIR/pg_ctl" -D "$DIR/data" -w -m fast stop >/dev/null
  cp "$lib" "$INSTALLED.ab" && mv -f "$INSTALLED.ab" "$INSTALLED"
  cg_as_server "$CG_BINDIR/pg_ctl" -D "$DIR/data" -w start -l "$DIR/server.log" >/dev/null
  coproc PSQL { "$CG_BINDIR/psql" -X -q -At -h "$DIR/socket" -p "$PORT" -U postgres -d postgres 2>&1; }
  echo "SELECT pg_backend_pid();" >&"${PSQL[1]}"
  read -r pid <&"${PSQL[0]}"
  # warm: the table's pages and the function's first call
  echo "SELECT count(*) FROM ab_batch, childguard._access_log_unpack(1, now(), NULL, packed);" >&"${PSQL[1]}"
  read -r _ <&"${PSQL[0]}"
  # the backend's CPU time (ns on the CPU, /proc/PID/schedstat): this VM
  # has no hardware counters for perf, and wall time moves with the load
  c0=$(awk '{print $1}' "/proc/$pid/schedstat")
  t0=$(date +%s%N)
  for _r in $(seq 1 "$REPS"); do
    echo "SELECT count(*) FROM ab_batch, childguard._access_log_unpack(1, now(), NULL, packed);" >&"${PSQL[1]}"
    read -r _ <&"${PSQL[0]}"
  done
  t1=$(date +%s%N)
  c1=$(awk '{print $1}' "/proc/$pid/schedstat")
  echo '\q' >&"${PSQL[1]}"; wait "$PSQL_PID" 2>/dev/null || true
  awk -v n="$N" -v reps="$REPS" -v c="$((c1 - c0))" -v w="$((t1 - t0))" \
    'BEGIN { printf "%.1f %.1f\n", c / (n * reps), w / (n * reps) }'
}
IA=(); IB=(); TA=(); TB=()
for r in $(seq 1 "$ROUNDS"); do
  read -r i t < <(run_side "$LIB_A"); IA+=("$i"); TA+=("$t")
  echo "round $r A: $i ns CPU, $t ns wall per record"
  read -r i t < <(run_side "$LIB_B"); IB+=("$i"); TB+=("$t")
  echo "round $r B: $i ns CPU, $t ns wall per record"
done
median() { sort -n | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }
ia=$(printf '%s\n' "${IA[@]}" | median); ib=$(printf '%s\n' "${IB[@]}" | median)
ta=$(printf '%s\n' "${TA[@]}" | median); tb=$(printf '%s\n' "${TB[@]}" | median)
echo
echo "===== _access_log_unpack per record, medians of $ROUNDS rounds ($N records x $REPS) ====="
awk -v a="$ia" -v b="$ib" 'BEGIN { printf "backend CPU: A %.1f, B %.1f ns per record (B / A %.3f)\n", a, b, b / a }'
awk -v a="$ta" -v b="$tb" 'BEGIN { printf "wall time:   A %.1f, B %.1f ns per record (B / A %.3f)\n", a, b, b / a }'
