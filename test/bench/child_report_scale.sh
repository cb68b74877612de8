#!/usr/bin/env bash
# Benchmark (not a pass/fail test): a guardian's request about one child as
# the access log grows -- child_report()'s accesses read through the
# access_log view filtered by the child (1.8: every batch unpacked) against
# _access_log_for_child() (1.9: the GIN on the batches' subjects, only the
# batches naming the child unpacked), and child_report() itself, at
# SCALES records (default 10000 100000 1000000), the child's own records
# fixed (its READS reads, default 20).  Interleaved, ROUNDS (3) times per
# scale, medians in ms.  On a private throwaway cluster.
#
#   bash test/bench/child_report_scale.sh [ROUNDS] [SCALES...]
#
# The log: real batches from pgbench reads of the other children (about
# 5,000 records), copied under new ids (the guard switched off in the
# catalogs in the copying session, as TAP 116 does) up to each scale; the
# copies name the same other children, so the measured child's records
# stay as they are.  The chain does not verify after the copies: a bench
# log only.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/../.."
REPO=$PWD
# shellcheck source=test/cluster.sh
. "$REPO/test/cluster.sh"

ROUNDS=${1:-3}
shift || true
SCALES=${*:-10000 100000 1000000}
CHILDREN=1000
READS=${CG_BENCH_CHILD_READS:-20}
DIR=/tmp/cgbench-child-report-$$
PORT=$(cg_free_port 56500)
trap 'cg_destroy "$DIR" >/dev/null 2>&1 || true' EXIT

cg_start "$DIR" "$PORT" >/dev/null
cg_export "$DIR"
export PATH="$CG_BINDIR:$PATH"
PSQL=(psql -X -q -At -v ON_ERROR_STOP=1 -d postgres)
"${PSQL[@]}" -c "ALTER SYSTEM SET childguard.audit_writer_delay = 200" -c "SELECT pg_reload_conf()" >/dev/null

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
# the measured child c1: READS reads; then the others' reads
{
  echo "SET childguard.purpose = 'regress';"
  for i in $(seq 1 "$READS"); do echo "SELECT name FROM students WHERE id = 1;"; done
  echo "SELECT childguard.audit_wait();"
} | "${PSQL[@]}" >/dev/null
cat > "$DIR/others.sql" <<'EOF'
\set k random(2, 1000)
SELECT name FROM students WHERE id = :k;
EOF
PGOPTIONS="-c childguard.purpose=regress" pgbench -n -M prepared -c 2 -j 2 -t 2500 \
  -f "$DIR/others.sql" postgres >/dev/null
"${PSQL[@]}" -c "SELECT childguard.audit_wait()" >/dev/null
S1=$("${PSQL[@]}" -c "SELECT subject_no FROM childguard.child WHERE child_id = 'c1'")
BASE=$("${PSQL[@]}" -c "SELECT sum(records) FROM childguard.access_log_batch WHERE NOT subjects @> ARRAY[$S1::bigint]")
echo "base log: $("${PSQL[@]}" -c "SELECT last_id FROM childguard.access_log_head") records; batches not naming c1 hold $BASE; c1's records: $READS"

copies=0
grow_to() {  # copy the batches not naming c1 until the log holds $1 records
  local want=$1 have k
  have=$("${PSQL[@]}" -c "SELECT sum(records) FROM childguard.access_log_batch")
  k=$(( (want - have + BASE - 1) / BASE ))
  [ "$k" -gt 0 ] || return 0
  "${PSQL[@]}" <<EOF >/dev/null
BEGIN;
UPDATE pg_trigger SET tgenabled = 'D' WHERE tgrelid = 'childguard.access_log_batch'::regclass;
INSERT INTO childguard.access_log_batch
  SELECT b.first_id + c::bigint * 1000000000, b.last_id + c::bigint * 1000000000, b.records, b.first_statement_at,
         b.last_statement_at, b.logged_at, b.format_version, b.prev_hash, b.hash, b.packed, b.subjects
    FROM childguard.access_log_batch b, generate_series($((copies + 1)), $((copies + k))) c
   WHERE b.first_id < 1000000000 AND NOT b.subjects @> ARRAY[$S1::bigint];
UPDATE pg_trigger SET tgenabled = 'A' WHERE tgrelid = 'childguard.access_log_batch'::regclass;
COMMIT;
VACUUM ANALYZE childguard.access_log_batch;
EOF
  copies=$((copies + k))
}

ms() {  # ms SQL: the statement's wall time in ms (psql's \timing)
  "${PSQL[@]}" -c '\timing on' -c "$1" | sed -n 's/^Time: \([0-9.]*\) ms.*/\1/p' | tail -1
}
median() { sort -n | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }

VIEW_Q="SELECT count(*) FROM childguard.access_log l WHERE l.children_read @> ARRAY[$S1::bigint] OR l.children_denied @> ARRAY[$S1::bigint] OR l.children_written @> ARRAY[$S1::bigint]"
INDEX_Q="SELECT count(*) FROM childguard._access_log_for_child($S1)"
REPORT_Q="SELECT jsonb_array_length(childguard.child_report('c1')->'accesses')"
printf '%-10s %-8s %14s %14s %16s\n' records c1 "view (1.8) ms" "index (1.9) ms" "child_report ms"
for scale in $SCALES; do
  grow_to "$scale"
  total=$("${PSQL[@]}" -c "SELECT sum(records) FROM childguard.access_log_batch")
  n1=$("${PSQL[@]}" -c "$INDEX_Q"); n2=$("${PSQL[@]}" -c "$VIEW_Q")
  [ "$n1" = "$n2" ] || { echo "the two reads differ: $n1 vs $n2" >&2; exit 1; }
  V=(); I=(); R=()
  for r in $(seq 1 "$ROUNDS"); do
    V+=("$(ms "$VIEW_Q")"); I+=("$(ms "$INDEX_Q")"); R+=("$(ms "$REPORT_Q")")
  done
  printf '%-10s %-8s %14s %14s %16s\n' "$total" "$n1" \
    "$(printf '%s\n' "${V[@]}" | median)" "$(printf '%s\n' "${I[@]}" | median)" \
    "$(printf '%s\n' "${R[@]}" | median)"
done
