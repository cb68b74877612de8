#!/usr/bin/env bash
# Benchmark (not a pass/fail test): the cost of padding values to a size
# bucket (envelope format 2) against childguard 1.0's unpadded format 1,
# measured side by side in one run on a private throwaway cluster.
#
#   bash test/bench/envelope_padding.sh [ROWS]
#
# Two identical protected tables get the same plaintexts (names of 6-12
# bytes, phone numbers of 11, addresses of 31-63), one written with
# childguard.envelope_format_version = 1, the other with 2.  Reported, per
# format: table size, time to write, and a bulk scan that decrypts every
# value (best of three, interleaved).  The audit trail is off, to measure
# the envelopes alone.
# Env: CG_PG_CONFIG / PG_CONFIG as for test/cluster.sh; the build must be
# installed there.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/../.."
REPO=$PWD
# shellcheck source=test/cluster.sh
. "$REPO/test/cluster.sh"

ROWS=${1:-100000}
CHILDREN=100
DIR=/tmp/cgbench-pad-$$
PORT=$(cg_free_port 56200)
trap 'cg_destroy "$DIR" >/dev/null 2>&1 || true' EXIT

cg_start "$DIR" "$PORT" >/dev/null
cg_export "$DIR"
export PATH="$CG_BINDIR:$PATH"
PSQL=(psql -X -q -v ON_ERROR_STOP=1 -d postgres)

"${PSQL[@]}" >/dev/null 2>&1 <<EOF
CREATE EXTENSION childguard CASCADE;
SELECT childguard.register_child('c' || i, '2015-01-01') FROM generate_series(1, $CHILDREN) i;
\i $REPO/test/fixtures/regress_purpose.psql
SELECT pg_temp.consent_all();
CREATE TABLE v1 (id int PRIMARY KEY, child text NOT NULL, name childguard.child_data(name),
                 phone childguard.child_data(contact), home childguard.child_data(address));
CREATE TABLE v2 (LIKE v1 INCLUDING ALL);
SELECT childguard.protect('v1', 'child');
SELECT childguard.protect('v2', 'child');
ALTER SYSTEM SET childguard.audit = off;
SELECT pg_reload_conf();
EOF

now_ms() { echo $(( $(date +%s%N) / 1000000 )); }
fill() {   # table, format -> ms to write
  local t0
  t0=$(now_ms)
  "${PSQL[@]}" >/dev/null <<EOF
SET childguard.purpose = 'regress';
SET childguard.envelope_format_version = $2;
INSERT INTO $1 SELECT i, 'c' || (i % $CHILDREN + 1),
       repeat('学', 2 + i % 3), '138' || lpad((i * 7919 % 100000000)::text, 8, '0'),
       repeat('路', 10 + i % 10) || i
  FROM generate_series(1, $ROWS) i;
EOF
  echo $(( $(now_ms) - t0 ))
}
scan() {   # table -> ms of a scan decrypting every value
  "${PSQL[@]}" -At <<EOF | sed -n 's/^Time: \([0-9]*\).*/\1/p' | tail -1
SET childguard.purpose = 'regress';
\timing on
SELECT sum(octet_length(name::text) + octet_length(phone::text) + octet_length(home::text)) FROM $1;
EOF
}
size() { "${PSQL[@]}" -At -c "SELECT pg_total_relation_size('$1')"; }
avg() { "${PSQL[@]}" -At -c "SELECT round(avg(pg_column_size(name) + pg_column_size(phone) + pg_column_size(home)), 1) FROM $1"; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b / a }'; }

w1=$(fill v1 1)
w2=$(fill v2 2)
"${PSQL[@]}" -c 'VACUUM ANALYZE v1' -c 'VACUUM ANALYZE v2'
best1=999999999
best2=999999999
for _ in 1 2 3; do
  m=$(scan v1); [ "$m" -lt "$best1" ] && best1=$m
  m=$(scan v2); [ "$m" -lt "$best2" ] && best2=$m
done
s1=$(size v1)
s2=$(size v2)
printf '%-30s %12s %12s %7s\n' "rows: $ROWS, 3 values each" "format 1" "format 2" "ratio"
printf '%-30s %12s %12s %7s\n' "table size, bytes" "$s1" "$s2" "$(ratio "$s1" "$s2")"
printf '%-30s %12s %12s %7s\n' "stored bytes per row" "$(avg v1)" "$(avg v2)" ""
printf '%-30s %12s %12s %7s\n' "write, ms" "$w1" "$w2" "$(ratio "$w1" "$w2")"
printf '%-30s %12s %12s %7s\n' "decrypting scan, ms (best/3)" "$best1" "$best2" "$(ratio "$best1" "$best2")"
