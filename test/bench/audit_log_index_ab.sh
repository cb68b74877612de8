#!/usr/bin/env bash
# Benchmark (not a pass/fail test): the audit writer's CPU per record
# without the per-child index (SQL 1.8: the batch row alone) and with it
# (SQL 1.9: the batch's subjects collected, sorted, stored and inserted
# into their GIN index), side by side: the same installed library,
# test/bench/audit_cost.sh run with CG_AUDIT_EXT_VERSION=1.8 and 1.9,
# alternating, PAIRS times; each run on its own throwaway cluster.  Prints
# each run's summary and the medians' ratio (1.9 / 1.8).
#
#   bash test/bench/audit_log_index_ab.sh [PAIRS] [ROUNDS] [READS]
#
# Env: as test/bench/audit_cost.sh (CG_AUDIT_LOAD_SECONDS, ...).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
PAIRS=${1:-2}
ROUNDS=${2:-2}
READS=${3:-5000}
export CG_AUDIT_READER_PROFILE=${CG_AUDIT_READER_PROFILE-}
W_ROWS=(); W_PACK=(); L_ROWS=(); L_PACK=(); R_ROWS=(); R_PACK=()
for p in $(seq 1 "$PAIRS"); do
  for v in 1.8 1.9; do
    out=$(CG_AUDIT_EXT_VERSION=$v bash test/bench/audit_cost.sh "$ROUNDS" "$READS")
    echo "== pair $p, SQL $v"
    grep -E '^(round|load round|reader|writer|access log)' <<<"$out"
    w=$(sed -n 's/^writer: \([0-9.]*\) µs.*/\1/p' <<<"$out")
    l=$(sed -n 's/^writer under load[^:]*: \([0-9.]*\) µs.*/\1/p' <<<"$out")
    r=$(sed -n 's/^reader: \([-0-9.]*\) µs.*/\1/p' <<<"$out")
    if [ "$v" = 1.8 ]; then W_ROWS+=("$w"); L_ROWS+=("${l:-0}"); R_ROWS+=("$r");
    else W_PACK+=("$w"); L_PACK+=("${l:-0}"); R_PACK+=("$r"); fi
  done
done
median() { sort -n | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }
wr=$(printf '%s\n' "${W_ROWS[@]}" | median); wp=$(printf '%s\n' "${W_PACK[@]}" | median)
lr=$(printf '%s\n' "${L_ROWS[@]}" | median); lp=$(printf '%s\n' "${L_PACK[@]}" | median)
rr=$(printf '%s\n' "${R_ROWS[@]}" | median); rp=$(printf '%s\n' "${R_PACK[@]}" | median)
echo
echo "===== writer µs per record, medians of $PAIRS runs each: without the child index (1.8) vs with it (1.9) ====="
awk -v a="$wr" -v b="$wp" 'BEGIN { printf "one session'"'"'s reads: 1.8 %.2f, 1.9 %.2f  (1.9 / 1.8 %.2f)   target <= 2 µs\n", a, b, (a > 0) ? b / a : 0 }'
awk -v a="$lr" -v b="$lp" 'BEGIN { printf "under load:            1.8 %.2f, 1.9 %.2f  (1.9 / 1.8 %.2f)   target <= 2 µs\n", a, b, (a > 0) ? b / a : 0 }'
awk -v a="$rr" -v b="$rp" 'BEGIN { printf "reader (on - off):     1.8 %.2f, 1.9 %.2f µs per record (the reader path is the same)\n", a, b }'
