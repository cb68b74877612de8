#!/usr/bin/env bash
# The per-statement cost of childguard, interleaved A/B (docs/performance.md,
# "Per statement"): W1 (point read of the three child_data columns of one
# child; few children, so each backend's caches are warm after its first
# reads) against the same read of the plain-text table in the same database,
# audit off and on; and W5 (a point read of a plain table in the database
# with the extension) against the same server without childguard preloaded.
# pgbench -M prepared, short runs, every workload once per round; prints the
# medians of the rounds' ratios.  Not part of make check.
#
#   bash test/bench/statement_ab.sh
#   CG_AB_BEFORE_PG_CONFIG=/tmp/pg-old/.../pg_config bash test/bench/statement_ab.sh
#       (a second PostgreSQL tree with another build of childguard installed,
#        e.g. main's: measured the same way in the same rounds, "before")
# Env: CG_AB_CHILDREN (2000), CG_AB_SECONDS (4), CG_AB_ROUNDS (5),
#      CG_AB_CLIENTS (2), CG_AB_DIR (keep the clusters there and reuse them;
#      default a throwaway directory), CG_PG_CONFIG / PG_CONFIG as for
#      test/cluster.sh (the build must be installed there).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/../.."
REPO=$PWD
# shellcheck source=test/cluster.sh
. "$REPO/test/cluster.sh"

CHILDREN=${CG_AB_CHILDREN:-2000}
SECS=${CG_AB_SECONDS:-4}
ROUNDS=${CG_AB_ROUNDS:-5}
CLIENTS=${CG_AB_CLIENTS:-2}
BASE=${CG_AB_DIR:-/tmp/cgab-$$}
NEW_BINDIR=$CG_BINDIR
OLD_BINDIR=
[ -n "${CG_AB_BEFORE_PG_CONFIG:-}" ] && OLD_BINDIR=$("$CG_AB_BEFORE_PG_CONFIG" --bindir)
SIDES="a"; [ -n "$OLD_BINDIR" ] && SIDES="a o"
bindir_of() { if [ "$1" = o ]; then echo "$OLD_BINDIR"; else echo "$NEW_BINDIR"; fi; }
cleanup() {
  for c in a o b; do CG_BINDIR=$(bindir_of $c) cg_destroy "$BASE/$c" >/dev/null 2>&1 || true; done
  rm -rf -- "$BASE"
}
[ -n "${CG_AB_DIR:-}" ] || trap cleanup EXIT
mkdir -p "$BASE"; chmod 0755 "$BASE"
export PATH="$NEW_BINDIR:$PATH"
psql_c() { local c=$1; shift; PGHOST=$BASE/$c/socket PGPORT=$(cat "$BASE/$c/port") PGUSER=postgres \
  "$(bindir_of "$c")/psql" -X -q -v ON_ERROR_STOP=1 "$@"; }

port=56700
for c in $SIDES b; do
  (
    CG_BINDIR=$(bindir_of $c)
    d=$BASE/$c
    if [ ! -f "$d/data/PG_VERSION" ]; then
      port=$(cg_free_port $port)
      cg_start "$d" "$port" >/dev/null
      [ $c = b ] && cg_as_server tee -a "$d/data/postgresql.conf" >/dev/null <<<"shared_preload_libraries = ''"
      touch "$d/fresh"
    fi
    # a restart: the library installed now is loaded
    cg_as_server "$CG_BINDIR/pg_ctl" -D "$d/data" status >/dev/null 2>&1 &&
      cg_as_server "$CG_BINDIR/pg_ctl" -D "$d/data" -m fast -w stop >/dev/null
    cg_start "$d" "$(cat "$d/port")" >/dev/null
  )
  port=$(( $(cat "$BASE/$c/port") + 1 ))
  if [ -f "$BASE/$c/fresh" ]; then
    if [ $c = b ]; then
      psql_c b -d postgres -c "CREATE DATABASE bench" >/dev/null
      psql_c b -d bench >/dev/null <<EOF
CREATE SCHEMA plain;
CREATE TABLE plain.profile (child text PRIMARY KEY, name text, phone text, home text, grade int);
INSERT INTO plain.profile SELECT 'c' || i, '学生' || i, '13' || lpad(i::text, 9, '0'),
	'幸福路' || i || '号 ' || (i % 30 + 1) || '栋 海淀区', i % 6 + 1 FROM generate_series(1, $CHILDREN) i;
CREATE ROLE bench_app LOGIN;
GRANT USAGE ON SCHEMA plain TO bench_app;
GRANT SELECT ON plain.profile TO bench_app;
VACUUM ANALYZE;
EOF
    else
      psql_c $c -d postgres -c "ALTER SYSTEM SET childguard.audit = off" -c "SELECT pg_reload_conf()" \
        -c "CREATE DATABASE bench" >/dev/null
      psql_c $c -d bench -v children="$CHILDREN" -v rows="$CHILDREN" -v pool=10 -v flat=0 \
        -f "$REPO/test/bench/setup.sql" >/dev/null
    fi
    rm -f "$BASE/$c/fresh"
  fi
done

S=$BASE/scripts; mkdir -p "$S"
printf '\\set c random(1, %s)\nSELECT name, phone, home FROM cg.profile WHERE child = %s;\n' "$CHILDREN" "'c' || :c" > "$S/w1_cg.sql"
printf '\\set c random(1, %s)\nSELECT name, phone, home FROM plain.profile WHERE child = %s;\n' "$CHILDREN" "'c' || :c" > "$S/w1_plain.sql"
printf '\\set c random(1, %s)\nSELECT grade, name FROM plain.profile WHERE child = %s;\n' "$CHILDREN" "'c' || :c" > "$S/w5.sql"

pgb() {  # cluster script -> tps
  PGHOST=$BASE/$1/socket PGPORT=$(cat "$BASE/$1/port") PGOPTIONS="-c childguard.purpose=learning" \
    pgbench -n -M prepared -U bench_app -c "$CLIENTS" -j "$CLIENTS" -T "$SECS" -f "$2" bench 2>&1 |
    sed -n 's/^tps = \([0-9.]*\).*/\1/p'
}
audit() { psql_c "$1" -d postgres -c "ALTER SYSTEM SET childguard.audit = $2" -c "SELECT pg_reload_conf()" >/dev/null; sleep 0.3; }

R=$BASE/results; : > "$R"
for r in $(seq 1 "$ROUNDS"); do
  w5b=$(pgb b "$S/w5.sql")
  for c in $SIDES; do
    audit $c off
    w1off=$(pgb $c "$S/w1_cg.sql")
    w1p=$(pgb $c "$S/w1_plain.sql")
    audit $c on
    w1on=$(pgb $c "$S/w1_cg.sql")
    audit $c off
    w5=$(pgb $c "$S/w5.sql")
    echo "$c $r $w1off $w1on $w1p $w5 $w5b" | tee -a "$R"
  done
done
for c in $SIDES; do
  name=this; [ $c = o ] && name=before
  awk -v side=$c -v name=$name '$1 == side { n++; a[n]=$3/$5; b[n]=$4/$5; w[n]=$6/$7; p[n]=$5 }
    function med(x,   i,j,t) { for (i=1;i<=n;i++) for (j=i+1;j<=n;j++) if (x[j]<x[i]) { t=x[i]; x[i]=x[j]; x[j]=t }
      return (n % 2) ? x[(n+1)/2] : (x[n/2] + x[n/2+1]) / 2 }
    END { printf "%s build: W1 audit off / plain %.3f; W1 audit on / plain %.3f; W5 preloaded, extension created / not preloaded %.3f (plain W1 median %.0f tps)\n",
      name, med(a), med(b), med(w), med(p) }' "$R"
done
echo "($ROUNDS rounds of $SECS s, $CLIENTS clients, $CHILDREN children, pgbench -M prepared)"
