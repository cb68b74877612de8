#!/usr/bin/env bash
# The per-statement cost of childguard, interleaved A/B (docs/performance.md,
# "Per statement"): W1 (point read of three child_data columns of one child,
# warm caches: few children, every one read before the rounds) against the
# same read of a plain-text table, audit off and on; and W5 (a point read of a
# plain table in the database with the extension) on a cluster with
# childguard preloaded against the same server without it.  Short runs,
# pgbench -M prepared; prints the median ratios.  Not part of make check.
#
#   bash test/bench/statement_ab.sh
# Env: CG_AB_CHILDREN (2000), CG_AB_SECONDS (5), CG_AB_ROUNDS (5),
#      CG_AB_CLIENTS (2), CG_AB_DIR (keep the clusters there and reuse them;
#      default a throwaway directory), CG_PG_CONFIG / PG_CONFIG as for
#      test/cluster.sh (the build must be installed there).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/../.."
REPO=$PWD
# shellcheck source=test/cluster.sh
. "$REPO/test/cluster.sh"

CHILDREN=${CG_AB_CHILDREN:-2000}
SECS=${CG_AB_SECONDS:-5}
ROUNDS=${CG_AB_ROUNDS:-5}
CLIENTS=${CG_AB_CLIENTS:-2}
BASE=${CG_AB_DIR:-/tmp/cgab-$$}
A=$BASE/a B=$BASE/b
[ -n "${CG_AB_DIR:-}" ] || trap 'cg_destroy "$A" >/dev/null 2>&1 || true; cg_destroy "$B" >/dev/null 2>&1 || true; rm -rf -- "$BASE"' EXIT
mkdir -p "$BASE"; chmod 0755 "$BASE"
export PATH="$CG_BINDIR:$PATH"
psql_a() { PGHOST=$A/socket PGPORT=$(cat "$A/port") PGUSER=postgres psql -X -q -v ON_ERROR_STOP=1 "$@"; }
psql_b() { PGHOST=$B/socket PGPORT=$(cat "$B/port") PGUSER=postgres psql -X -q -v ON_ERROR_STOP=1 "$@"; }

fresh=0
if [ ! -f "$A/data/PG_VERSION" ]; then
  fresh=1
  cg_start "$A" "$(cg_free_port 56700)" >/dev/null
  cg_start "$B" "$(cg_free_port $(( $(cat "$A/port") + 1 )))" >/dev/null
  cg_as_server tee -a "$B/data/postgresql.conf" >/dev/null <<<"shared_preload_libraries = ''"
fi
# restart both: A loads the library installed now
for d in "$A" "$B"; do
  cg_as_server "$CG_BINDIR/pg_ctl" -D "$d/data" status >/dev/null 2>&1 &&
    cg_as_server "$CG_BINDIR/pg_ctl" -D "$d/data" -m fast -w stop >/dev/null
  cg_start "$d" "$(cat "$d/port")" >/dev/null
done
if [ $fresh = 1 ]; then
  psql_a -d postgres -c "ALTER SYSTEM SET childguard.audit = off" -c "SELECT pg_reload_conf()" \
    -c "CREATE DATABASE bench" >/dev/null
  psql_a -d bench -v children="$CHILDREN" -v rows="$CHILDREN" -v pool=10 -v flat=0 \
    -f "$REPO/test/bench/setup.sql" >/dev/null
  psql_b -d postgres -c "CREATE DATABASE bench" >/dev/null
  psql_b -d bench >/dev/null <<EOF
CREATE SCHEMA plain;
CREATE TABLE plain.profile (child text PRIMARY KEY, name text, phone text, home text, grade int);
INSERT INTO plain.profile SELECT 'c' || i, '学生' || i, '13' || lpad(i::text, 9, '0'),
	'幸福路' || i || '号 ' || (i % 30 + 1) || '栋 海淀区', i % 6 + 1 FROM generate_series(1, $CHILDREN) i;
CREATE ROLE bench_app LOGIN;
GRANT USAGE ON SCHEMA plain TO bench_app;
GRANT SELECT ON plain.profile TO bench_app;
VACUUM ANALYZE;
EOF
fi

S=$BASE/scripts; mkdir -p "$S"
printf '\\set c random(1, %s)\nSELECT name, phone, home FROM cg.profile WHERE child = %s;\n' "$CHILDREN" "'c' || :c" > "$S/w1_cg.sql"
printf '\\set c random(1, %s)\nSELECT name, phone, home FROM plain.profile WHERE child = %s;\n' "$CHILDREN" "'c' || :c" > "$S/w1_plain.sql"
printf '\\set c random(1, %s)\nSELECT grade, name FROM plain.profile WHERE child = %s;\n' "$CHILDREN" "'c' || :c" > "$S/w5.sql"

pgb() {  # cluster script audit -> tps
  local d=$A; [ "$1" = b ] && d=$B
  PGHOST=$d/socket PGPORT=$(cat "$d/port") \
    PGOPTIONS="-c childguard.purpose=learning${3:+ -c childguard.audit=$3}" \
    pgbench -n -M prepared -U bench_app -c "$CLIENTS" -j "$CLIENTS" -T "$SECS" \
      -f "$2" bench 2>&1 |
    sed -n 's/^tps = \([0-9.]*\).*/\1/p'
}
# W5 and the plain W1 run no childguard read: no warm-up script
pgbp() {
  local d=$A; [ "$1" = b ] && d=$B
  PGHOST=$d/socket PGPORT=$(cat "$d/port") PGOPTIONS="-c childguard.purpose=learning" \
    pgbench -n -M prepared -U bench_app -c "$CLIENTS" -j "$CLIENTS" -T "$SECS" -f "$2" bench 2>&1 |
    sed -n 's/^tps = \([0-9.]*\).*/\1/p'
}
# childguard.audit is superuser-only: set it per database for the rounds
audit() { psql_a -d postgres -c "ALTER SYSTEM SET childguard.audit = $1" -c "SELECT pg_reload_conf()" >/dev/null; sleep 0.3; }

R=$BASE/results.$$; : > "$R"
for r in $(seq 1 "$ROUNDS"); do
  audit off
  w1off=$(pgb a "$S/w1_cg.sql")
  w1p=$(pgbp a "$S/w1_plain.sql")
  audit on
  w1on=$(pgb a "$S/w1_cg.sql")
  audit off
  w5a=$(pgbp a "$S/w5.sql")
  w5b=$(pgbp b "$S/w5.sql")
  echo "$r $w1off $w1on $w1p $w5a $w5b" | tee -a "$R"
done
awk '{ a[NR]=$2/$4; b[NR]=$3/$4; c[NR]=$5/$6; p[NR]=$4; n=NR }
  function med(x,   i,j,t,m) { for (i=1;i<=n;i++) for (j=i+1;j<=n;j++) if (x[j]<x[i]) { t=x[i]; x[i]=x[j]; x[j]=t }
    m = (n % 2) ? x[(n+1)/2] : (x[n/2] + x[n/2+1]) / 2; return m }
  END { printf "W1 audit off / plain: %.3f\nW1 audit on / plain: %.3f\nW5 preloaded, extension created / not preloaded: %.3f\n(plain W1 median tps %.0f; %d rounds of %s s, %s clients, %s children)\n",
    med(a), med(b), med(c), med(p), n, '"$SECS"', '"$CLIENTS"', '"$CHILDREN"' }' "$R"
