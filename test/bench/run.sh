#!/usr/bin/env bash
# `make bench`: childguard against (a) the same schema in plain text and (b)
# the usual hand-built alternative (bytea + pgp_sym_encrypt, a
# pgp_sym_decrypt view, an RLS policy joining a consent table), on private
# throwaway clusters, every comparison interleaved A B A B ... in this one
# run; medians of the rounds, ratios printed beside issue 12's targets and
# written into docs/performance.md between its markers.
#
# Workloads (pgbench -M prepared, custom scripts; setup in test/bench/setup.sql):
#   W1   point read of the 3 child_data columns of one child (every check;
#        audit on, and again with the audit off)
#   W2   point write: UPDATE one child_data column of one child
#   W3   bulk decrypting scan of CG_BENCH_SCAN rows (3 columns), 1 client:
#        microseconds per value above plain, and the speed-up over the
#        pgp_sym_decrypt view
#   W4   (no definition in the issue; defined here) a mixed read/write
#        transaction: read a child's profile, update one child_data column,
#        read the child's activity rows (ROWS/CHILDREN of them)
#   W5   statements touching no child data (point read of a plain table) on
#        a cluster with childguard preloaded (and the extension created) vs
#        a cluster without it, side by side; and in a database of the
#        preloaded cluster without the extension
#   reg  registering CG_BENCH_REG children + a guardian + consents for two
#        purposes (per-row API; a set-based path if the installed SQL has
#        one), extrapolated to 1,000,000
#   flat W1 on a database of CG_BENCH_FLAT_LARGE children vs one of
#        CG_BENCH_FLAT_SMALL
#   and, where installed (1.2), the read-path caches' hit rates of one
#   session after W1's reads (backend_cache_stats())
#
# Env (defaults are the issue's scale; CG_BENCH_QUICK=1 is a small, fast run):
#   CG_BENCH_CHILDREN 100000   CG_BENCH_ROWS 1000000   CG_BENCH_SECONDS 10
#   CG_BENCH_ROUNDS 3          CG_BENCH_CLIENTS 2      CG_BENCH_SCAN 10000
#   CG_BENCH_REG 10000         CG_BENCH_FLAT_SMALL 10000
#   CG_BENCH_FLAT_LARGE = CG_BENCH_CHILDREN (the issue's 1,000,000 needs
#     CG_BENCH_FLAT_LARGE=1000000: registering them per row takes about an
#     hour here, through the set-based path a few minutes)
#   CG_BENCH_POOL 1000 (distinct pgp ciphertexts per column, see setup.sql)
#   CG_BENCH_KEY_CACHE max(2 x children, 16384) (childguard.data_key_cache_size)
#   CG_BENCH_DOC docs/performance.md (file whose marked part is rewritten;
#                "none" to write nothing)
#   CG_BENCH_NO_BUILD=1 skip build + install (make check-long's smoke run)
#   CG_PG_CONFIG / PG_CONFIG as for test/cluster.sh.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/../.."
REPO=$PWD
# shellcheck source=test/cluster.sh
. "$REPO/test/cluster.sh"
export PG_CONFIG=${PG_CONFIG:-$CG_PG_CONFIG}

if [ "${CG_BENCH_QUICK:-0}" = 1 ]; then
  d_children=2000 d_rows=20000 d_seconds=2 d_rounds=2 d_scan=2000 d_reg=500
  d_flat_small=200 d_pool=200
else
  d_children=100000 d_rows=1000000 d_seconds=10 d_rounds=3 d_scan=10000 d_reg=10000
  d_flat_small=10000 d_pool=1000
fi
CHILDREN=${CG_BENCH_CHILDREN:-$d_children}
ROWS=${CG_BENCH_ROWS:-$d_rows}
SECS=${CG_BENCH_SECONDS:-$d_seconds}
ROUNDS=${CG_BENCH_ROUNDS:-$d_rounds}
CLIENTS=${CG_BENCH_CLIENTS:-2}
SCAN=${CG_BENCH_SCAN:-$d_scan}
REG=${CG_BENCH_REG:-$d_reg}
FLAT_SMALL=${CG_BENCH_FLAT_SMALL:-$d_flat_small}
FLAT_LARGE=${CG_BENCH_FLAT_LARGE:-$CHILDREN}
POOL=${CG_BENCH_POOL:-$d_pool}
DOC=${CG_BENCH_DOC:-$REPO/docs/performance.md}
[ "$ROWS" -ge "$SCAN" ] || SCAN=$ROWS
[ "$POOL" -le "$CHILDREN" ] || POOL=$CHILDREN
# the alternative's scan decrypts with pgp_sym_decrypt (~0.1 ms a value):
# it scans fewer rows, and is compared per value
SCAN_ALT=${CG_BENCH_SCAN_ALT:-$(( SCAN / 20 > 0 ? SCAN / 20 : 1 ))}

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"
  elif command -v sudo >/dev/null 2>&1; then sudo "$@"
  else echo "bench: '$*' needs root and sudo is not available" >&2; return 1
  fi
}

if [ "${CG_BENCH_NO_BUILD:-0}" != 1 ]; then
  bash "$REPO/test/install-deps.sh" >/dev/null
  make -s PG_CONFIG="$PG_CONFIG" >/dev/null
  as_root make -s PG_CONFIG="$PG_CONFIG" install >/dev/null
fi

BASE=/tmp/cgbench-$$
A=$BASE/a   # childguard preloaded
B=$BASE/b   # the same server without childguard (W5)
mkdir -p "$BASE"; chmod 0755 "$BASE"
trap 'cg_destroy "$A" >/dev/null 2>&1 || true; cg_destroy "$B" >/dev/null 2>&1 || true; rm -rf -- "$BASE"' EXIT
PORT_A=$(cg_free_port 56300)
cg_start "$A" "$PORT_A" >/dev/null
PORT_B=$(cg_free_port $((PORT_A + 1)))
cg_start "$B" "$PORT_B" >/dev/null
# B: the same configuration less childguard
cg_as_server tee -a "$B/data/postgresql.conf" >/dev/null <<EOF
shared_preload_libraries = ''
EOF
cg_as_server "$CG_BINDIR/pg_ctl" -D "$B/data" -l "$B/server.log" -w restart >/dev/null
export PATH="$CG_BINDIR:$PATH"

psql_a() { PGHOST=$A/socket PGPORT=$PORT_A PGUSER=postgres psql -X -q -v ON_ERROR_STOP=1 "$@"; }
psql_b() { PGHOST=$B/socket PGPORT=$PORT_B PGUSER=postgres psql -X -q -v ON_ERROR_STOP=1 "$@"; }
now_ns() { date +%s%N; }
log() { printf '%s  %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }

log "bench: children=$CHILDREN rows=$ROWS seconds=$SECS rounds=$ROUNDS clients=$CLIENTS scan=$SCAN/$SCAN_ALT reg=$REG flat=$FLAT_SMALL/$FLAT_LARGE"
# the data-key cache holds every child of the main database (twice the
# children, as its buckets are 4-way): W1's random reads then hit it once warm
KEY_CACHE=${CG_BENCH_KEY_CACHE:-$(( 2 * CHILDREN > 16384 ? 2 * CHILDREN : 16384 ))}
# the cache shared by the backends (1.5, shared_cache.c; a restart): from
# 1.6 one entry per child read (its subject, consent words and wrapped key;
# 1.5 took about four) for the three databases, with room for its 4-way
# buckets (CG_BENCH_SHARED_PER_CHILD, default 2; set it to 5 to measure 1.5);
# each backend's subject, consent and verdict caches hold every child of
# the largest database
SHARED_PER_CHILD=${CG_BENCH_SHARED_PER_CHILD:-2}
SHARED_CACHE=${CG_BENCH_SHARED_CACHE:-$(( SHARED_PER_CHILD * (CHILDREN + FLAT_LARGE + FLAT_SMALL) > 524288 ? SHARED_PER_CHILD * (CHILDREN + FLAT_LARGE + FLAT_SMALL) : 524288 ))}
BIG=$(( CHILDREN > FLAT_LARGE ? CHILDREN : FLAT_LARGE ))
BACKEND_CACHE=$(( 2 * BIG > 131072 ? 2 * BIG : 131072 ))
psql_a -d postgres -c "ALTER SYSTEM SET childguard.audit = off" \
  -c "ALTER SYSTEM SET childguard.data_key_cache_size = $KEY_CACHE" -c "SELECT pg_reload_conf()" >/dev/null
if [ "$(psql_a -d postgres -At -c "SELECT count(*) FROM pg_settings WHERE name = 'childguard.shared_cache_size'")" = 1 ]; then
  psql_a -d postgres -c "ALTER SYSTEM SET childguard.shared_cache_size = $SHARED_CACHE" \
    -c "ALTER SYSTEM SET childguard.backend_cache_entries = $BACKEND_CACHE" >/dev/null
  cg_as_server "$CG_BINDIR/pg_ctl" -D "$A/data" -l "$A/server.log" -w restart >/dev/null
fi
psql_a -d postgres -c "CREATE DATABASE bench" -c "CREATE DATABASE flat_s" -c "CREATE DATABASE flat_l" \
  -c "CREATE DATABASE noext"
psql_b -d postgres -c "CREATE DATABASE bench"

t0=$(now_ns)
log "setup: $CHILDREN children, $ROWS rows (childguard, plain, alternative)"
psql_a -d bench -v children="$CHILDREN" -v rows="$ROWS" -v pool="$POOL" -v flat=0 \
  -f "$REPO/test/bench/setup.sql" >/dev/null
SETUP_S=$(( ($(now_ns) - t0) / 1000000000 ))
log "setup: ${SETUP_S}s; flat-latency databases"
t0=$(now_ns)
psql_a -d flat_s -v children="$FLAT_SMALL" -v rows="$FLAT_SMALL" -v pool=1 -v flat=1 \
  -f "$REPO/test/bench/setup.sql" >/dev/null
# the two sides are built alike (the registry and the profiles only), so
# that only the number of children differs
FLAT_DB=flat_l
psql_a -d flat_l -v children="$FLAT_LARGE" -v rows="$FLAT_LARGE" -v pool=1 -v flat=1 \
  -f "$REPO/test/bench/setup.sql" >/dev/null
FLAT_SETUP_S=$(( ($(now_ns) - t0) / 1000000000 ))
W5SQL=$(cat <<EOF
CREATE SCHEMA plain;
CREATE TABLE plain.profile (child text PRIMARY KEY, name text, phone text, home text, grade int);
INSERT INTO plain.profile SELECT 'c' || i, '学生' || i, '13' || lpad(i::text, 9, '0'),
	'幸福路' || i || '号 ' || (i % 30 + 1) || '栋 海淀区', i % 6 + 1 FROM generate_series(1, $CHILDREN) i;
DO \$\$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'bench_app') THEN
	CREATE ROLE bench_app LOGIN; END IF; END \$\$;
GRANT USAGE ON SCHEMA plain TO bench_app;
GRANT SELECT ON plain.profile TO bench_app;
VACUUM ANALYZE;
EOF
)
# W5's table: on B, and on A in a database without the extension
psql_b -d bench <<<"$W5SQL" >/dev/null
psql_a -d noext <<<"$W5SQL" >/dev/null
psql_a -d postgres -c "ALTER SYSTEM SET childguard.audit = on" -c "SELECT pg_reload_conf()" >/dev/null

# ---- cold pass ------------------------------------------------------------------
# One session reads every child's three columns once, as the application,
# in each database: what a first read of a child costs when no backend has
# read it since the registry last changed (the cold path), per child; it
# leaves the shared cache (if any) holding every child, as a deployment
# running for a while would.  Registry changes empty it (shared_cache.c):
# the registration rounds therefore run after the read rounds.
cold_pass() {  # db children -> µs per child
  local t0 t1
  t0=$(now_ns)
  PGHOST=$A/socket PGPORT=$PORT_A PGOPTIONS="$PGOPT" psql -X -q -At -v ON_ERROR_STOP=1 -U bench_app -d "$1" \
    -c "SELECT sum(length(name::text || phone::text || home::text)) FROM cg.profile" >/dev/null
  t1=$(now_ns)
  awk -v d=$(( t1 - t0 )) -v n="$2" 'BEGIN { printf "%.1f", d / 1000 / n }'
}

# ---- pgbench scripts ----------------------------------------------------------
S=$BASE/scripts; mkdir -p "$S"
for x in cg plain alt; do
  prof=$x.profile; act=$x.activity
  [ "$x" = alt ] && { prof=alt.profile_v; act=alt.activity_v; }
  phone="'139' || lpad(:v::text, 8, '0')"
  [ "$x" = alt ] && phone="pgp_sym_encrypt('139' || lpad(:v::text, 8, '0'), current_setting('app.key'))"
  home="'新街' || :v || '号'"
  [ "$x" = alt ] && home="pgp_sym_encrypt('新街' || :v || '号', current_setting('app.key'))"
  cat > "$S/w1_$x.sql" <<EOF
\set c random(1, $CHILDREN)
SELECT name, phone, home FROM $prof WHERE child = 'c' || :c;
EOF
  cat > "$S/w2_$x.sql" <<EOF
\set c random(1, $CHILDREN)
\set v random(1, 99999999)
UPDATE $x.profile SET phone = $phone WHERE child = 'c' || :c;
EOF
  cat > "$S/w3_$x.sql" <<EOF
\set lo random(1, $(( ROWS - SCAN + 1 )))
SELECT name, phone, home FROM $act WHERE id BETWEEN :lo AND :lo + $(( SCAN - 1 ));
EOF
  cat > "$S/w4_$x.sql" <<EOF
\set c random(1, $CHILDREN)
\set v random(1, 99999999)
BEGIN;
SELECT name, phone, home, grade FROM $prof WHERE child = 'c' || :c;
UPDATE $x.profile SET home = $home WHERE child = 'c' || :c;
SELECT id, name, score FROM $act WHERE child = 'c' || :c;
END;
EOF
done
# alt's scan is shorter (SCAN_ALT rows)
sed -i "s/:lo + [0-9]*;/:lo + $(( SCAN_ALT - 1 ));/" "$S/w3_alt.sql"
cat > "$S/w5.sql" <<EOF
\set c random(1, $CHILDREN)
SELECT grade, name FROM plain.profile WHERE child = 'c' || :c;
EOF
cp "$S/w1_cg.sql" "$S/flat.sql"
sed -i "s/random(1, $CHILDREN)/random(1, :n)/" "$S/flat.sql"

PGOPT="-c childguard.purpose=learning -c app.purpose=learning -c app.key=bench-key"

# pgbench against cluster A (or B) -> "tps latency_ms"
pgb() {  # cluster db script clients
  local host port
  if [ "$1" = a ]; then host=$A/socket port=$PORT_A; else host=$B/socket port=$PORT_B; fi
  PGHOST=$host PGPORT=$port PGOPTIONS="$PGOPT" \
    pgbench -n -M prepared -U bench_app -c "$4" -j "$4" -T "$SECS" ${5:+-D "$5"} -f "$3" "$2" \
      >"$BASE/pgbench.out" 2>&1 || { cat "$BASE/pgbench.out" >&2; return 1; }
  awk '/^latency average/ { l = $4 } /^tps = / { t = $3 } END { print t, l }' "$BASE/pgbench.out"
}

set_audit() {
  psql_a -d postgres -c "ALTER SYSTEM SET childguard.audit = $1" -c "SELECT pg_reload_conf()" >/dev/null
  sleep 0.3
}

# wait until the audit writer has caught up (the log stops growing), at most 60 s
drained() {
  local a b i
  b=$(psql_a -d "${1:-bench}" -At -c "SELECT last_id FROM childguard.access_log_head")
  for i in $(seq 60); do
    sleep 0.5
    a=$(psql_a -d "${1:-bench}" -At -c "SELECT last_id FROM childguard.access_log_head")
    [ "$a" = "$b" ] && return 0
    b=$a
  done
}

# cluster A settled: a checkpoint, and no autovacuum worker running (at most 60 s)
quiesce_a() {
  local i
  psql_a -d postgres -c "CHECKPOINT" >/dev/null
  for i in $(seq 120); do
    [ "$(psql_a -d postgres -At -c "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'autovacuum worker'")" = 0 ] && return 0
    sleep 0.5
  done
}

declare -A R   # R[key] = space-separated values, one per round
add() { R[$1]="${R[$1]:-} $2"; }
median() {
  printf '%s\n' $1 | sort -g | awk '{ v[NR] = $1 } END { if (NR == 0) print "nan";
    else if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

# one pgbench run, recorded under KEY: tps (KEY.tps) and latency (KEY.lat)
runw() {  # key cluster db script clients [var=value]
  local out
  out=$(pgb "$2" "$3" "$4" "$5" "${6:-}")
  add "$1.tps" "${out% *}"; add "$1.lat" "${out#* }"
  log "  $1: ${out% *} tps, ${out#* } ms"
}

COLD_MAIN=$(cold_pass bench "$CHILDREN")
COLD_S=$(cold_pass flat_s "$FLAT_SMALL")
COLD_L=$(cold_pass "$FLAT_DB" "$FLAT_LARGE")
log "cold pass: $COLD_MAIN µs per child (bench), $COLD_S (flat_s), $COLD_L (flat_l)"
drained; drained flat_s; drained "$FLAT_DB"

HAS_SET=$(psql_a -d bench -At -c "SELECT to_regproc('childguard.register_children') IS NOT NULL")
for round in $(seq "$ROUNDS"); do
  log "round $round/$ROUNDS"
  for x in plain cg alt; do runw "w1_$x" a bench "$S/w1_$x.sql" "$CLIENTS"; [ $x = cg ] && drained; done
  set_audit off
  runw w1_cg_noaudit a bench "$S/w1_cg.sql" "$CLIENTS"
  set_audit on
  for x in plain cg alt; do runw "w2_$x" a bench "$S/w2_$x.sql" "$CLIENTS"; [ $x = cg ] && drained; done
  for x in plain cg alt; do runw "w3_$x" a bench "$S/w3_$x.sql" 1; [ $x = cg ] && drained; done
  for x in plain cg alt; do runw "w4_$x" a bench "$S/w4_$x.sql" "$CLIENTS"; [ $x = cg ] && drained; done
  # W5 compares hooks, not background work: the writes just before (W2,
  # W4) leave cluster A with dirty buffers and autovacuum due, which B
  # (reads only) never has; settle A first, and alternate the order
  quiesce_a
  if [ $((round % 2)) = 1 ]; then
    runw w5_pre a bench "$S/w5.sql" "$CLIENTS"
    runw w5_nopre b bench "$S/w5.sql" "$CLIENTS"
    runw w5_noext a noext "$S/w5.sql" "$CLIENTS"
  else
    runw w5_noext a noext "$S/w5.sql" "$CLIENTS"
    runw w5_nopre b bench "$S/w5.sql" "$CLIENTS"
    runw w5_pre a bench "$S/w5.sql" "$CLIENTS"
  fi
  runw flat_s a flat_s "$S/flat.sql" "$CLIENTS" "n=$FLAT_SMALL"; drained flat_s
  runw flat_l a "$FLAT_DB" "$S/flat.sql" "$CLIENTS" "n=$FLAT_LARGE"; drained "$FLAT_DB"
done


# The read path's per-backend caches, where the installed childguard reports
# them (backend_cache_stats(), 1.2): one session doing W1's point reads of
# random children as bench_app, then its counters (read as the superuser:
# bench_app has no rights on the schema childguard).
CACHE_LINE=""
if [ "$(psql_a -d bench -At -c "SELECT to_regproc('childguard.backend_cache_stats') IS NOT NULL")" = t ]; then
  NREAD=$(( CHILDREN * 2 < 20000 ? CHILDREN * 2 : 20000 ))
  awk -v n="$NREAD" -v c="$CHILDREN" 'BEGIN { srand(12); print "\\o /dev/null"; print "SET ROLE bench_app;";
    for (i = 0; i < n; i++) printf "SELECT name, phone, home FROM cg.profile WHERE child = %sc%d%s;\n", "\047", int(rand() * c) + 1, "\047";
    print "\\o"; print "RESET ROLE;"; print "SELECT string_agg(format($$%s: hit rate %s (%s hits, %s misses), %s entries of %s, %s evictions$$, cache, round(hit_rate::numeric, 3), hits, misses, entries, capacity, evictions), $$; $$ ORDER BY cache) FROM childguard.backend_cache_stats();" }' \
    > "$S/cache.sql"
  if PGHOST=$A/socket PGPORT=$PORT_A PGOPTIONS="$PGOPT" psql -X -q -At -v ON_ERROR_STOP=1 -U postgres \
       -d bench -f "$S/cache.sql" > "$BASE/cache.out" 2>&1; then
    CACHE_LINE=$(tail -1 "$BASE/cache.out")
  else
    CACHE_LINE="not measured: $(grep -m1 'ERROR' "$BASE/cache.out" || tail -1 "$BASE/cache.out")"
  fi
  CACHE_LINE="Read-path caches of one backend after $NREAD point reads of random children (W1): $CACHE_LINE."
  drained
fi

# W3 in a backend that has read those children before: one session scans
# the same SCAN rows three times (the values cast to text, as the output
# would); the third scan's time, childguard against plain, per value.  What
# W3's scans cost once a long-lived backend (a pool's) holds its children.
warm_scan() {  # relation -> ms of the third scan
  local q="SELECT count(*) FROM (SELECT name::text, phone::text, home::text FROM $1 WHERE id BETWEEN 1 AND $SCAN) s;"
  printf '\\timing on\n%s\n%s\n%s\n' "$q" "$q" "$q" |
    PGHOST=$A/socket PGPORT=$PORT_A PGOPTIONS="$PGOPT" psql -X -At -v ON_ERROR_STOP=1 -U bench_app -d bench 2>&1 |
    awk '/^Time:/ { t = $2 } END { print t }'
}
W3W_CG=$(warm_scan cg.activity)
W3W_PLAIN=$(warm_scan plain.activity)
log "W3 warm: cg ${W3W_CG} ms, plain ${W3W_PLAIN} ms"
drained

# registration: REG fresh children per variant and round (timed SQL), after
# the read rounds (each registering transaction empties the shared cache)
for round in $(seq "$ROUNDS"); do
  log "registration round $round/$ROUNDS"
  p=r${round}_
  t0=$(now_ns); psql_a -d bench -c "SELECT bench_register_cg('${p}', 1, $REG)" >/dev/null
  add reg_cg.s "$(awk -v d=$(( $(now_ns) - t0 )) 'BEGIN { print d / 1e9 }')"
  if [ "$HAS_SET" = t ]; then
    t0=$(now_ns); psql_a -d bench -c "SELECT bench_register_cg_set('s${p}', 1, $REG)" >/dev/null
    add reg_cgset.s "$(awk -v d=$(( $(now_ns) - t0 )) 'BEGIN { print d / 1e9 }')"
  fi
  t0=$(now_ns); psql_a -d bench >/dev/null <<EOF
BEGIN;
INSERT INTO plain.child SELECT '$p' || i, date '2015-01-01' + i % 1000 FROM generate_series(1, $REG) i;
INSERT INTO plain.guardian SELECT 'g$p' || i, '$p' || i FROM generate_series(1, $REG) i;
INSERT INTO plain.consent SELECT '$p' || i, v.p, 'g$p' || i FROM generate_series(1, $REG) i,
	(VALUES ('learning'), ('messaging')) v(p);
COMMIT;
EOF
  add reg_plain.s "$(awk -v d=$(( $(now_ns) - t0 )) 'BEGIN { print d / 1e9 }')"
  t0=$(now_ns); psql_a -d bench >/dev/null <<EOF
BEGIN;
INSERT INTO alt.child SELECT '$p' || i, date '2015-01-01' + i % 1000 FROM generate_series(1, $REG) i;
INSERT INTO alt.guardian SELECT 'g$p' || i, '$p' || i FROM generate_series(1, $REG) i;
INSERT INTO alt.consent SELECT '$p' || i, v.p, 'g$p' || i FROM generate_series(1, $REG) i,
	(VALUES ('learning'), ('messaging')) v(p);
COMMIT;
EOF
  add reg_alt.s "$(awk -v d=$(( $(now_ns) - t0 )) 'BEGIN { print d / 1e9 }')"
  [ "$HAS_SET" = t ] && log "  reg: cg set-based ${R[reg_cgset.s]##* }s"
  log "  reg: cg ${R[reg_cg.s]##* }s plain ${R[reg_plain.s]##* }s alt ${R[reg_alt.s]##* }s"
  drained
done

RECORDS=$(psql_a -d bench -At -c "SELECT last_id FROM childguard.access_log_head")
VALID=$(psql_a -d bench -At -c "SELECT valid FROM childguard.verify_access_log()" 2>/dev/null || echo "?")

M() { median "${R[$1]}"; }
# median over the rounds of a per-round expression of two series (paired by
# round: each round's A and B ran next to each other).  EXPR uses a and b.
P() {  # key_a key_b awk-expr
  median "$(awk -v A="${R[$1]}" -v B="${R[$2]}" 'BEGIN { n = split(A, a, " "); split(B, b, " ");
    for (i = 1; i <= n; i++) { x = a[i]; y = b[i]; print ('"$3"') } }' | sed 's/^/ /')"
}
# ---- the table ------------------------------------------------------------------
# row: workload cg plain alt ratio target op(ge|le|none) threshold
ROWS_OUT=()
row() {
  local met=n/a
  if [ "$7" != none ]; then
    met=$(awk -v r="$5" -v t="$8" -v op="$7" 'BEGIN {
      if (r == "nan" || r == "") { print "missed"; exit }
      ok = (op == "ge") ? (r >= t) : (r <= t); print ok ? "met" : "missed" }')
  fi
  ROWS_OUT+=("$(printf '| %s | %s | %s | %s | %s | %s | %s |' "$1" "$2" "$3" "$4" "$5" "$6" "$met")")
}
f1() { awk -v v="$1" 'BEGIN { printf "%.1f", v }'; }
f2() { awk -v v="$1" 'BEGIN { printf "%.2f", v }'; }
f3() { awk -v v="$1" 'BEGIN { printf "%.3f", v }'; }
div() { awk -v a="$1" -v b="$2" 'BEGIN { if (b == 0) print "nan"; else printf "%.3f", a / b }'; }
ratio() { f3 "$(P "$1" "$2" 'y == 0 ? "nan" : x / y')"; }   # median of per-round A/B

for w in w1 w2 w4; do
  eval "${w}c=\$(M ${w}_cg.tps) ${w}p=\$(M ${w}_plain.tps) ${w}a=\$(M ${w}_alt.tps)"
done
w1n=$(M w1_cg_noaudit.tps)
row "W1 point read, 3 columns, audit on (tps)" "$(f1 "$w1c")" "$(f1 "$w1p")" "$(f1 "$w1a")" \
  "$(ratio w1_cg.tps w1_plain.tps)" "≥ 0.85" ge 0.85
row "W1 point read, audit off (tps)" "$(f1 "$w1n")" "$(f1 "$w1p")" "$(f1 "$w1a")" \
  "$(ratio w1_cg_noaudit.tps w1_plain.tps)" "≥ 0.85" ge 0.85
row "W2 point write, 1 column (tps)" "$(f1 "$w2c")" "$(f1 "$w2p")" "$(f1 "$w2a")" \
  "$(ratio w2_cg.tps w2_plain.tps)" "≥ 0.85" ge 0.85
# W3: latency per scan; per value above plain (µs), speed-up over pgp per value
l3c=$(M w3_cg.lat) l3p=$(M w3_plain.lat) l3a=$(M w3_alt.lat)
pv=$(f3 "$(P w3_cg.lat w3_plain.lat "(x - y) * 1000 / ($SCAN * 3)")")
pva=$(awk -v a="$l3a" -v n="$SCAN_ALT" 'BEGIN { printf "%.3f", a * 1000 / (n * 3) }')
pvc=$(awk -v c="$l3c" -v n="$SCAN" 'BEGIN { printf "%.3f", c * 1000 / (n * 3) }')
row "W3 scan of $SCAN rows: µs per value above plain (scan ms)" "$(f2 "$l3c")" "$(f2 "$l3p")" \
  "$(f2 "$l3a") ($SCAN_ALT rows)" "$pv" "≤ 0.5" le 0.5
row "W3 warm: the same $SCAN rows a third time in one session: µs per value above plain (scan ms)" \
  "$(f2 "$W3W_CG")" "$(f2 "$W3W_PLAIN")" "—" \
  "$(awk -v c="$W3W_CG" -v p="$W3W_PLAIN" -v n="$SCAN" 'BEGIN { printf "%.3f", (c - p) * 1000 / (n * 3) }')" \
  "≤ 0.5 (warm backend)" le 0.5
row "W3 speed-up over the pgp_sym_decrypt view, per value (µs per value)" "$pvc" \
  "$(awk -v p="$l3p" -v n="$SCAN" 'BEGIN { printf "%.3f", p * 1000 / (n * 3) }')" "$pva" \
  "$(f1 "$(P w3_alt.lat w3_cg.lat "y == 0 ? \"nan\" : (x / $SCAN_ALT) / (y / $SCAN)")")" "≥ 200" ge 200
row "W4 mixed read/write transaction (tps)" "$(f1 "$w4c")" "$(f1 "$w4p")" "$(f1 "$w4a")" \
  "$(ratio w4_cg.tps w4_plain.tps)" "none (defined here)" none 0
w5p=$(M w5_pre.tps) w5n=$(M w5_nopre.tps) w5e=$(M w5_noext.tps)
row "W5 no child data: preloaded, extension created / not preloaded (tps)" "$(f1 "$w5p")" \
  "$(f1 "$w5n") (not preloaded)" "—" "$(ratio w5_pre.tps w5_nopre.tps)" "≥ 0.98" ge 0.98
row "W5 no child data: preloaded, database without the extension / not preloaded (tps)" \
  "$(f1 "$w5e")" "$(f1 "$w5n") (not preloaded)" "—" "$(ratio w5_noext.tps w5_nopre.tps)" "≥ 0.98" ge 0.98
rc=$(M reg_cg.s) rp=$(M reg_plain.s) ra=$(M reg_alt.s)
r1m=$(awk -v s="$rc" -v n="$REG" 'BEGIN { printf "%.0f", s * 1000000 / n }')
if [ "$HAS_SET" = t ]; then
  rs=$(M reg_cgset.s)
  row "registration of $REG children, set-based path (s); ratio: s for 1,000,000 at this rate" \
    "$(f2 "$rs")" "$(f2 "$rp")" "$(f2 "$ra")" \
    "$(awk -v s="$rs" -v n="$REG" 'BEGIN { printf "%.0f", s * 1000000 / n }')" "≤ 60" le 60
  row "registration of $REG children, per-row API (s); ratio: s for 1,000,000 at this rate" \
    "$(f2 "$rc")" "$(f2 "$rp")" "$(f2 "$ra")" "$r1m" "none (per-row)" none 0
else
  row "registration of $REG children, per-row API (no set-based path installed) (s); ratio: s for 1,000,000 at this rate" \
    "$(f2 "$rc")" "$(f2 "$rp")" "$(f2 "$ra")" "$r1m" "≤ 60 (set-based path)" le 60
fi
fs=$(M flat_s.lat) fl=$(M flat_l.lat)
row "flat: W1 latency, $FLAT_LARGE vs $FLAT_SMALL children (ms)" "$(f3 "$fl") / $(f3 "$fs")" "—" "—" \
  "$(ratio flat_l.lat flat_s.lat)" "≤ 1.2" le 1.2
row "flat, cold path: first read of a child, $FLAT_LARGE vs $FLAT_SMALL children (µs per child, one pass)" \
  "$COLD_L / $COLD_S" "—" "—" "$(div "$COLD_L" "$COLD_S")" "none (cold path)" none 0

CPU=$(lscpu | sed -n 's/^Model name:[[:space:]]*//p' | head -1)
MEM=$(free -g | awk '/^Mem:/ { print $2 " GiB" }')
PGV=$(psql_a -d postgres -At -c "SHOW server_version")
SETTINGS=$(psql_a -d postgres -At -c "SELECT string_agg(name || ' = ' || current_setting(name), ', ' ORDER BY name)
  FROM pg_settings WHERE source IN ('configuration file', 'command line')
   AND name !~* '(file|director|^port$|listen_addresses|lc_|datestyle|timezone|default_text_search|log_)'")
HEAD=$(git -C "$REPO" log -1 --format='%h %s' 2>/dev/null | cut -c1-80 || echo "?")
TABLE=$(
  echo "Run $(date -u +'%Y-%m-%d %H:%M UTC') on \`$HEAD\`."
  echo
  echo "Machine: $CPU, $(nproc) cores, $MEM memory, $(uname -sr); PostgreSQL $PGV."
  echo "Settings not at their defaults: $SETTINGS; childguard.audit on unless said otherwise"
  echo "(cluster B: the same without shared_preload_libraries)."
  echo "Scale: $CHILDREN children, $ROWS activity rows, three child_data columns, two"
  echo "purposes, one approved grant; pgbench -M prepared, $CLIENTS clients (W3: 1), ${SECS} s"
  echo "per run, $ROUNDS interleaved rounds; values are medians, ratios the median of the"
  echo "rounds' ratios; W3 alternative scans $SCAN_ALT rows;"
  echo "alternative ciphertexts from a pool of $POOL per column. Setup ${SETUP_S} s, flat"
  echo "databases ${FLAT_SETUP_S} s. Access-log records written: $RECORDS, chain valid: $VALID."
  echo "Cold pass before the rounds (one session reading every child's three columns once: the"
  echo "first read of a child no backend has read since the registry last changed): $COLD_MAIN µs per child."
  [ -z "$CACHE_LINE" ] || { echo; echo "$CACHE_LINE"; }
  echo
  echo "| workload | childguard | plain | alternative | ratio | target | met |"
  echo "|---|---|---|---|---|---|---|"
  printf '%s\n' "${ROWS_OUT[@]}"
)
echo
echo "===== childguard benchmark ====="
printf '%s\n' "$TABLE"

if [ "$DOC" != none ]; then
  if [ ! -f "$DOC" ] || ! grep -q '^<!-- bench:begin -->$' "$DOC"; then
    printf '\n<!-- bench:begin -->\n<!-- bench:end -->\n' >> "$DOC"
  fi
  tmp=$(mktemp)
  printf '%s\n' "$TABLE" > "$BASE/table.md"
  awk -v f="$BASE/table.md" '
    /^<!-- bench:begin -->$/ { print; while ((getline l < f) > 0) print l; skip = 1; next }
    /^<!-- bench:end -->$/ { skip = 0 }
    !skip { print }' "$DOC" > "$tmp"
  cat "$tmp" > "$DOC"; rm -f "$tmp"
  echo "(written to $DOC between the bench markers)"
fi
if [ -f "$("$CG_PG_CONFIG" --pkglibdir)/citus.so" ]; then CG_PG_CONFIG="$CG_PG_CONFIG" bash "$REPO/test/bench/citus_point_reads.sh" "$SECS" "$ROUNDS" || echo "citus_point_reads failed"; fi  # issue 15: point reads through a Citus coordinator vs plain
