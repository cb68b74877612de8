#!/usr/bin/env bash
# Benchmark (not a pass/fail test): the backend CPU of UPDATEs of every row
# of childguard.child (20,000 children) with its child_applied row trigger
# (SQL 1.7 part 50) disabled (A) and enabled ALWAYS as installed (B), in one
# session, interleaved A B A B ...: a normal writer pays the trigger's WHEN
# clause (one C call per row) only.  CPU from /proc/PID/stat (ticks of
# 1/100 s) per three UPDATEs, the warm-up UPDATE after each switch not
# counted.  See also replicated_rows_ab.sh (the set-based registration).
#
#   bash test/bench/replicated_rows_update_ab.sh
# Env: CG_PG_CONFIG / PG_CONFIG as for test/cluster.sh; the build installed.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
. test/cluster.sh  # shellcheck source=test/cluster.sh
DIR=/tmp/cgbench-applied-upd-$$
PORT=$(cg_free_port 56800)
trap 'cg_destroy "$DIR" >/dev/null 2>&1 || true' EXIT
cg_start "$DIR" "$PORT" >/dev/null
cg_export "$DIR"
export PATH="$CG_BINDIR:$PATH"
PSQL=(psql -X -q -At -v ON_ERROR_STOP=1 -d postgres)
"${PSQL[@]}" -c "SET client_min_messages = warning; CREATE EXTENSION childguard CASCADE;" -c "SELECT count(childguard.register_child('c' || i, '2015-01-01')) FROM generate_series(1, 20000) i" >/dev/null
coproc P { "${PSQL[@]}" 2>&1; }
q() { echo "$1" >&"${P[1]}"; read -r line <&"${P[0]}"; echo "$line"; }
pid=$(q "SELECT pg_backend_pid();")
for r in 1 2 3 4 5 6 7 8; do
  for side in A B; do
    if [ $side = A ]; then q "ALTER TABLE childguard.child DISABLE TRIGGER child_applied; SELECT 1;" >/dev/null
    else q "ALTER TABLE childguard.child ENABLE ALWAYS TRIGGER child_applied; SELECT 1;" >/dev/null; fi
    q "UPDATE childguard.child SET birth_date = birth_date; SELECT 1;" >/dev/null   # warm
    c0=$(awk '{print $14 + $15}' /proc/$pid/stat)
    q "UPDATE childguard.child SET birth_date = birth_date; UPDATE childguard.child SET birth_date = birth_date; UPDATE childguard.child SET birth_date = birth_date; SELECT 1;" >/dev/null
    c1=$(awk '{print $14 + $15}' /proc/$pid/stat)
    echo "$side $((c1 - c0))"
  done
done
echo '\q' >&"${P[1]}"
