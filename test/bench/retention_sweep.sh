#!/usr/bin/env bash
# The retention sweep under load (issue 11, acceptance): the retention
# worker erases CG_RET_CHILDREN x CG_RET_ROWS expired rows (default
# 20,000 children x 50 rows = 1,000,000 rows) while point reads of other
# children continue (pgbench, CG_RET_CLIENTS clients). Reports the sweep's
# time and the readers' p99 (and median) latency before the sweep and
# during it. Not part of `make check`; figures go into docs/performance.md
# ("Retention sweep").
#
# Env: CG_RET_CHILDREN (20000), CG_RET_ROWS (50 rows a child),
#      CG_RET_READERS (1000 children read), CG_RET_CLIENTS (2),
#      CG_RET_BEFORE (20 s of reads before), CG_RET_BATCH (1000 pairs a
#      transaction), CG_RET_INTERVAL ('1s'), PG_CONFIG / CG_PG_CONFIG,
#      CG_BENCH_NO_BUILD=1 to skip the build.
# Usage: bash test/bench/retention_sweep.sh    (prints a markdown table)
set -euo pipefail
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
# shellcheck source=../cluster.sh
source "$REPO/test/cluster.sh"

CHILDREN=${CG_RET_CHILDREN:-20000}
ROWS=${CG_RET_ROWS:-50}
READERS=${CG_RET_READERS:-1000}
CLIENTS=${CG_RET_CLIENTS:-2}
BEFORE=${CG_RET_BEFORE:-20}
BATCH=${CG_RET_BATCH:-1000}
INTERVAL=${CG_RET_INTERVAL:-1s}
CHUNK=5    # pgbench runs of CHUNK seconds, one after the other

if [ "${CG_BENCH_NO_BUILD:-0}" != 1 ]; then
  make -s -C "$REPO" PG_CONFIG="$CG_PG_CONFIG" >/dev/null
  make -s -C "$REPO" PG_CONFIG="$CG_PG_CONFIG" install >/dev/null
fi

BASE=$(mktemp -d /tmp/cgret-XXXXXX)
C=$BASE/c
mkdir -p "$BASE/logs"; chmod 0777 "$BASE" "$BASE/logs"
trap 'kill $(jobs -p) 2>/dev/null || true; cg_destroy "$C" >/dev/null 2>&1 || true; rm -rf -- "$BASE"' EXIT
PORT=$(cg_free_port 56400)
cg_start "$C" "$PORT" >/dev/null
export PATH="$CG_BINDIR:$PATH"
q() { PGHOST=$C/socket PGPORT=$PORT PGUSER=postgres psql -X -q -A -t -v ON_ERROR_STOP=1 -d postgres "$@"; }
log() { printf '%s  %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }
ms_since() { echo $(( ($(date +%s%N) - $1) / 1000000 )); }

log "retention sweep bench: $CHILDREN children x $ROWS rows = $((CHILDREN * ROWS)) rows; $READERS children read by $CLIENTS clients"
q >/dev/null <<SQL
SET client_min_messages = warning;
CREATE EXTENSION childguard CASCADE;
CREATE ROLE bench_dpo; CREATE ROLE bench_dpo2; CREATE ROLE bench_app LOGIN;
SELECT childguard.appoint_officer('bench_dpo');
SELECT childguard.appoint_officer('bench_dpo2');
SELECT childguard.enroll_application('bench_app');
SET ROLE bench_dpo;
SELECT childguard.define_purpose('sweep', '{name}', '1 hour');
SELECT childguard.define_purpose('keep', '{contact}', '10 years');
SELECT childguard.publish_notice('n', '{sweep,keep}', 'a', 'b', 'c', 'd', 'e', 'f', 'g');
RESET ROLE;
SELECT childguard.request_access('bench_app', '{sweep,keep}', now() + interval '1 day', max_children => 1000000);
SET ROLE bench_dpo;
SELECT childguard.approve_access(1);
RESET ROLE;
CREATE TABLE swept (id text, seq int, name childguard.child_data);
CREATE INDEX swept_id ON swept (id);
CREATE TABLE kept (id text PRIMARY KEY, contact childguard.child_data);
ALTER TABLE swept OWNER TO bench_app;
ALTER TABLE kept OWNER TO bench_app;
SET ROLE bench_app;
SELECT childguard.protect('swept', 'id', '{"name": "name"}');
SELECT childguard.protect('kept', 'id', '{"contact": "contact"}');
RESET ROLE;
SQL
t=$(date +%s%N)
q >/dev/null <<SQL
CREATE TABLE s_children AS
  SELECT 'c' || i AS child_id, date '2016-01-01' AS birth_date FROM generate_series(1, $CHILDREN) i
  UNION ALL SELECT 'k' || i, date '2016-01-01' FROM generate_series(1, $READERS) i;
SELECT count(*) FROM childguard.register_children('s_children');
SELECT count(childguard.register_guardian('g-' || child_id, child_id)) FROM s_children;
SELECT count(childguard.record_consent(child_id, CASE WHEN child_id LIKE 'c%' THEN 'sweep' ELSE 'keep' END,
                                       'n', 'g-' || child_id)) FROM s_children;
DROP TABLE s_children;
SQL
log "registered $((CHILDREN + READERS)) children in $(ms_since "$t") ms"
t=$(date +%s%N)
q >/dev/null <<SQL
BEGIN;
SET LOCAL ROLE bench_app;
SET LOCAL childguard.purpose = 'sweep';
INSERT INTO swept SELECT 'c' || i, s, 'name of child ' || i
  FROM generate_series(1, $CHILDREN) i, generate_series(1, $ROWS) s;
SET LOCAL childguard.purpose = 'keep';
INSERT INTO kept SELECT 'k' || i, '+86 138 0000 ' || i FROM generate_series(1, $READERS) i;
COMMIT;
VACUUM ANALYZE swept;
VACUUM ANALYZE kept;
SQL
log "loaded $((CHILDREN * ROWS)) rows in $(ms_since "$t") ms"

printf '\\set n random(1, %s)\nSELECT contact FROM kept WHERE id = '"'"'k'"'"' || :n;\n' "$READERS" > "$BASE/read.sql"

# pgbench in CHUNK-second runs, logging each transaction's latency, until $1 exists
readers() {  # stopfile logdir
  local i=0
  while [ ! -e "$1" ]; do
    i=$((i + 1))
    mkdir -p "$2/$i"
    (cd "$2/$i" && PGHOST=$C/socket PGPORT=$PORT PGOPTIONS="-c childguard.purpose=keep" \
      pgbench -n -M prepared -U bench_app -c "$CLIENTS" -j "$CLIENTS" -T "$CHUNK" -l \
        -f "$BASE/read.sql" postgres >"$2/$i/out" 2>&1) || { cat "$2/$i/out" >&2; return 1; }
  done
}
# latencies (ms) of the logged transactions: "count median p99"
stats() {
  cat "$1"/*/pgbench_log.* 2>/dev/null | awk '{ print $3 / 1000.0 }' | sort -n |
    awk '{ v[NR] = $1 } END { if (NR == 0) { print 0, 0, 0; exit }
         p = int(NR * 0.99 + 0.5); if (p < 1) p = 1;
         printf "%d %.3f %.3f\n", NR, v[int((NR + 1) / 2)], v[p] }'
}

log "reads before the sweep: $BEFORE s"
( sleep "$BEFORE"; touch "$BASE/stop_before" ) &
readers "$BASE/stop_before" "$BASE/logs/before"
read -r n_before med_before p99_before < <(stats "$BASE/logs/before")

log "sweep: the retention of purpose sweep ends; the worker sweeps every $INTERVAL, $BATCH pairs a batch"
q -c "ALTER SYSTEM SET childguard.retention_batch_size = $BATCH" \
  -c "ALTER SYSTEM SET childguard.retention_interval = '$INTERVAL'" -c "SELECT pg_reload_conf()" >/dev/null
readers "$BASE/stop_during" "$BASE/logs/during" &
RPID=$!
t=$(date +%s%N)
q -c "UPDATE childguard.purpose SET retention = '1 second' WHERE purpose = 'sweep'" >/dev/null
# done when no expired row is left and the sweep is recorded
first_seen=""
while :; do
  left=$(q -c "SELECT count(*) FROM swept")
  running=$(q -c "SELECT count(*) FROM childguard.retention_progress")
  if [ -z "$first_seen" ] && [ "$running" -gt 0 ]; then first_seen=$(ms_since "$t"); fi
  if [ "$left" -eq 0 ] &&
     [ "$(q -c "SELECT count(*) FROM childguard.retention_sweeps WHERE rows_erased > 0")" -gt 0 ]; then
    break
  fi
  sleep 0.5
done
sweep_ms=$(ms_since "$t")
touch "$BASE/stop_during"
wait "$RPID" || true
read -r n_during med_during p99_during < <(stats "$BASE/logs/during")
recorded=$(q -c "SELECT extract(epoch FROM finished_at - started_at)::numeric(10,1) || ' s, ' || children || ' children, ' || rows_erased || ' rows' FROM childguard.retention_sweeps ORDER BY sweep_id DESC LIMIT 1")
log "done"

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }'; }
echo "| retention sweep | value |"
echo "|---|---|"
echo "| rows erased | $((CHILDREN * ROWS)) ($CHILDREN children x $ROWS rows, action delete, batches of $BATCH) |"
echo "| from the end of the retention to the last row gone | $(awk -v m="$sweep_ms" 'BEGIN { printf "%.1f s", m / 1000 }') (a sweep seen running after ${first_seen:-?} ms) |"
echo "| the sweep as recorded (plan, batches, finish) | $recorded |"
echo "| rows erased per second | $(awk -v r=$((CHILDREN * ROWS)) -v m="$sweep_ms" 'BEGIN { printf "%.0f", r / (m / 1000) }') |"
echo "| point reads before: transactions, median, p99 | $n_before, $med_before ms, $p99_before ms |"
echo "| point reads during the sweep: transactions, median, p99 | $n_during, $med_during ms, $p99_during ms |"
echo "| p99 during / before | $(ratio "$p99_during" "$p99_before") |"
echo "| median during / before | $(ratio "$med_during" "$med_before") |"
