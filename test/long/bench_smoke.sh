#!/usr/bin/env bash
# `make check-long`: a smoke run of `make bench` at the quick scale
# (CG_BENCH_QUICK=1, one round of 1 s runs).  It checks that the harness
# works -- every workload produced a number and the table was printed --
# not the ratios, which depend on the machine and its load.
set -euo pipefail
REPO=${REPO:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
WORK=${WORK:-$(mktemp -d)}
mkdir -p "$WORK"
out=$WORK/bench_smoke.out
doc=$WORK/bench_smoke.md
printf '# scratch\n\n<!-- bench:begin -->\nold\n<!-- bench:end -->\n\nkept\n' > "$doc"
command -v "${CG_BINDIR:-/nonexistent}/pgbench" >/dev/null 2>&1 ||
  command -v pgbench >/dev/null 2>&1 || { echo "bench_smoke: no pgbench"; exit 77; }
CG_BENCH_QUICK=1 CG_BENCH_ROUNDS=1 CG_BENCH_SECONDS=1 CG_BENCH_NO_BUILD=1 CG_BENCH_DOC="$doc" \
  CG_PG_CONFIG="${PG_CONFIG:-${CG_PG_CONFIG:-}}" bash "$REPO/test/bench/run.sh" > "$out" 2>&1 || {
  tail -n 40 "$out"; echo "bench_smoke: run.sh failed"; exit 1; }
fail=0
grep -q '^===== childguard benchmark =====$' "$out" || { echo "bench_smoke: no table printed"; fail=1; }
n=0
for w in "W1 point read, 3 columns" "W1 point read, audit off" "W2 point write" "W3 scan" \
         "W3 speed-up" "W4 mixed" "W5 no child data: preloaded, extension" \
         "W5 no child data: preloaded, database without" "registration of" "flat: W1 latency"; do
  line=$(grep -F "| $w" "$out" | head -1 || true)
  if [ -z "$line" ]; then echo "bench_smoke: no row for $w"; fail=1; continue; fi
  # columns: workload, childguard, plain, alternative, ratio, target, met
  ratio=$(printf '%s\n' "$line" | awk -F'|' '{ gsub(/ /, "", $6); print $6 }')
  cgv=$(printf '%s\n' "$line" | awk -F'|' '{ print $3 }')
  if ! [[ "$ratio" =~ ^[0-9]+(\.[0-9]+)?$ ]] || ! [[ "$cgv" =~ [0-9] ]] || [[ "$cgv" =~ nan ]]; then
    echo "bench_smoke: no number for $w: $line"; fail=1; continue
  fi
  n=$((n + 1))
done
grep -q '^kept$' "$doc" && ! grep -q '^old$' "$doc" && grep -q '^| W2 point write' "$doc" ||
  { echo "bench_smoke: docs table not written between the markers only"; fail=1; }
[ "$fail" = 0 ] || { cat "$out"; exit 1; }
echo "bench_smoke: $n workloads measured, table printed and written"
