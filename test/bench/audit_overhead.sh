#!/usr/bin/env bash
# Where the audit's cost per read goes (docs/performance.md, "1.9: the
# audit's cost per read").  Not a pass/fail test.
#
# W1 (pgbench -M prepared, point read of the three child_data columns of
# one child) with childguard.audit off and on, interleaved in the same
# rounds on the same cluster, and for each run, per transaction (= per
# audited read):
#   - CPU (user, sys; ms from /proc/PID/stat) of the backends, of the audit
#     writer, of the other server processes (WAL writer, ...) and of pgbench;
#     the server's total also through the postmaster's cutime/cstime, which
#     holds the backends that have exited;
#   - context switches, voluntary and involuntary (/proc/PID/status), of the
#     backends and of the writer (sampled every 0.2 s while they run);
#   - the writer's batches (rows of childguard.access_log_batch) and
#     records per batch; WAL records, writes and syncs (pg_stat_wal).
# With CG_OH_PERF=1 also a system-wide `perf record -a -g` of one on and one
# off run (kernel samples included), reported by process and symbol.
#
#   CG_AB_DIR=/tmp/x bash test/bench/statement_ab.sh   # makes the cluster once
#   CG_OH_DIR=/tmp/x bash test/bench/audit_overhead.sh
#
# Two builds side by side: let statement_ab.sh build both clusters
# (CG_AB_BEFORE_PG_CONFIG: "o", the before build; "a", this one), then
# CG_OH_CLUSTERS="o a": every mode on each cluster in turn, in each round.
#
# Env: CG_OH_DIR (a directory statement_ab.sh built; required),
#      CG_OH_CLUSTERS ("a"; "o a" for before and after),
#      CG_OH_SECONDS (5), CG_OH_ROUNDS (3), CG_OH_CLIENTS (2),
#      CG_OH_CHILDREN (2000, as the cluster was built), CG_OH_PERF (0),
#      CG_OH_MODES ("off on": the childguard.audit settings measured, or
#      any "name=setting;setting" list, e.g. "off on delay50=on;childguard.audit_writer_delay=50").
# Runs as root (reads /proc of the server's processes; perf).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/../.."
REPO=$PWD
# shellcheck source=test/cluster.sh
. "$REPO/test/cluster.sh"

BASE=${CG_OH_DIR:?set CG_OH_DIR to a directory test/bench/statement_ab.sh built}
CLUSTERS=${CG_OH_CLUSTERS:-a}
SECS=${CG_OH_SECONDS:-5}
ROUNDS=${CG_OH_ROUNDS:-3}
CLIENTS=${CG_OH_CLIENTS:-2}
CHILDREN=${CG_OH_CHILDREN:-2000}
MODES=${CG_OH_MODES:-"off on"}
PERF=${CG_OH_PERF:-0}
export PATH="$CG_BINDIR:$PATH"
HZ=$(getconf CLK_TCK)
use_cluster() {  # a or o: sets D, PORT, PM
  D=$BASE/$1; PORT=$(cat "$D/port"); PM=$(head -1 "$D/data/postmaster.pid")
}
use_cluster "${CLUSTERS%% *}"
psql_s() { PGHOST=$D/socket PGPORT=$PORT PGUSER=postgres psql -X -q -At -v ON_ERROR_STOP=1 -d bench "$@"; }
W=$BASE/oh; mkdir -p "$W"
printf '\\set c random(1, %s)\nSELECT name, phone, home FROM cg.profile WHERE child = %s;\n' "$CHILDREN" "'c' || :c" > "$W/w1.sql"

# one line per server process: pid role utime stime vcsw ivcsw (ticks, counts)
snap() {
  local p role
  for p in $(cat /proc/"$PM"/task/*/children 2>/dev/null); do
    [ -r /proc/$p/stat ] || continue
    role=$(tr '\0' ' ' < /proc/$p/cmdline 2>/dev/null) || continue
    case $role in
      *"audit writer"*) role=writer ;;
      *bench_app*) role=backend ;;
      *walwriter*) role=walwriter ;;
      *) role=other ;;
    esac
    { read -r _ _ _ _ _ _ _ _ _ _ _ _ _ ut st _ < <(sed 's/^.*) //; s/^/x x /' /proc/$p/stat)
      echo "$p $role $ut $st $(awk '/^voluntary_ctxt_switches/ {v=$2} /^nonvoluntary_ctxt_switches/ {n=$2} END {print v, n}' /proc/$p/status)"
    } 2>/dev/null || true
  done
}
# the postmaster's own and its reaped children's ticks
pm_ticks() { sed 's/^.*) //' /proc/"$PM"/stat | awk '{print $12 + $13 + $14 + $15}'; }
live_ticks() { snap | awk '{s += $3 + $4} END {print s + 0}'; }
wal() { psql_s -c "SELECT wal_records, wal_write, wal_sync FROM pg_stat_wal" | tr '|' ' '; }
batches() { psql_s -c "SELECT count(*), coalesce(sum(records), 0) FROM childguard.access_log_batch" 2>/dev/null | tr '|' ' ' || echo "0 0"; }
setmode() {  # name=setting;setting...  or a plain value of childguard.audit
  local spec=$1 s
  case $spec in *=*) spec=${spec#*=} ;; esac
  psql_s -d postgres -c "ALTER SYSTEM RESET ALL" >/dev/null
  IFS=';' read -ra parts <<<"$spec"
  for s in "${parts[@]}"; do
    case $s in
      *=*) psql_s -d postgres -c "ALTER SYSTEM SET ${s%%=*} = '${s#*=}'" >/dev/null ;;
      *) psql_s -d postgres -c "ALTER SYSTEM SET childguard.audit = $s" >/dev/null ;;
    esac
  done
  psql_s -d postgres -c "SELECT pg_reload_conf()" >/dev/null
  sleep 0.5
}
modename() { case $1 in *=*) echo "${1%%=*}" ;; *) echo "$1" ;; esac; }

run() {  # mode round -> one result line
  local mode=$1 r=$2 name pb pa w0 w1 b0 b1 tps n pgpid
  name=$C:$(modename "$mode")
  setmode "$mode"
  psql_s -c "SELECT childguard.audit_wait()" >/dev/null 2>&1 || true
  snap > "$W/before"; pb=$(( $(pm_ticks) + $(live_ticks) )); w0=$(wal); b0=$(batches)
  : > "$W/samples"
  PGHOST=$D/socket PGPORT=$PORT PGOPTIONS="-c childguard.purpose=learning" \
    pgbench -n -M prepared -U bench_app -c "$CLIENTS" -j "$CLIENTS" -T "$SECS" -f "$W/w1.sql" bench \
    > "$W/pgbench.out" 2>&1 &
  pgpid=$!
  while kill -0 $pgpid 2>/dev/null; do
    snap | sed 's/^/S /' >> "$W/samples"
    if [ -r /proc/$pgpid/stat ]; then
      echo "P $(sed 's/^.*) //' /proc/$pgpid/stat | awk '{print $12, $13}')" >> "$W/samples"
    fi
    sleep 0.2
  done
  wait $pgpid || true
  # the backends' exit, and the writer writing the run's records
  sleep 0.5
  psql_s -c "SELECT childguard.audit_wait()" >/dev/null 2>&1 || true
  sleep 0.3
  snap > "$W/after"; pa=$(( $(pm_ticks) + $(live_ticks) )); w1=$(wal); b1=$(batches)
  tps=$(sed -n 's/^tps = \([0-9.]*\).*/\1/p' "$W/pgbench.out")
  n=$(sed -n 's/^number of transactions actually processed: \([0-9]*\).*/\1/p' "$W/pgbench.out")
  # per role: the last sample (or the final snapshot) minus the first snapshot, per pid
  awk -v n="$n" -v hz="$HZ" -v name="$name" -v r="$r" -v tps="$tps" \
      -v srv=$((pa - pb)) -v w0="$w0" -v w1="$w1" -v b0="$b0" -v b1="$b1" '
    FILENAME ~ /before$/ { bu[$1]=$3; bs[$1]=$4; bv[$1]=$5; bn[$1]=$6; next }
    FILENAME ~ /samples$/ && $1 == "P" { pu=$2; ps=$3; next }
    FILENAME ~ /samples$/ { $1=""; $0=$0 }
    { role[$1]=$2; u[$1]=$3; s[$1]=$4; v[$1]=$5; nv[$1]=$6 }
    END {
      for (p in role) { k=role[p]; U[k]+=u[p]-bu[p]; S[k]+=s[p]-bs[p]; V[k]+=v[p]-bv[p]; N[k]+=nv[p]-bn[p] }
      split(w0, a); split(w1, b); split(b0, c); split(b1, d)
      us = 1e6 / hz / n
      printf "%s %s tps %.0f | us/read: server %.2f backends u %.2f s %.2f writer u %.2f s %.2f walwriter %.2f other %.2f pgbench u %.2f s %.2f", \
        name, r, tps, srv*us, U["backend"]*us, S["backend"]*us, U["writer"]*us, S["writer"]*us, \
        (U["walwriter"]+S["walwriter"])*us, (U["other"]+S["other"])*us, pu*us, ps*us
      printf " | csw/read: backends v %.3f iv %.3f writer v %.4f iv %.4f", V["backend"]/n, N["backend"]/n, V["writer"]/n, N["writer"]/n
      nb = d[1]-c[1]
      printf " | batches/s %.1f rec/batch %.0f writer wakeups/s %.0f | wal rec/read %.3f writes/s %.1f syncs/s %.1f\n", \
        nb/(n/tps), (nb > 0 ? (d[2]-c[2])/nb : 0), V["writer"]/(n/tps), (b[1]-a[1])/n, (b[2]-a[2])/(n/tps), (b[3]-a[3])/(n/tps)
    }' "$W/before" "$W/samples" "$W/after"
}

R=$W/results; : > "$R"
for r in $(seq 1 "$ROUNDS"); do
  for m in $MODES; do
    for C in $CLUSTERS; do
      use_cluster "$C"
      run "$m" "$r" | tee -a "$R"
    done
  done
done
# medians per mode of tps and of the server's CPU per read
for C in $CLUSTERS; do for m in $MODES; do
  name=$C:$(modename "$m")
  awk -v name="$name" '$1 == name { n++; t[n]=$4; c[n]=$8 }
    function med(x,   i,j,tmp) { for (i=1;i<=n;i++) for (j=i+1;j<=n;j++) if (x[j]<x[i]) { tmp=x[i]; x[i]=x[j]; x[j]=tmp }
      return (n % 2) ? x[(n+1)/2] : (x[n/2] + x[n/2+1]) / 2 }
    END { if (n) printf "median %s: tps %.0f, server CPU %.2f us/read\n", name, med(t), med(c) }' "$R"
done; done

if [ "$PERF" = 1 ]; then
  for C in $CLUSTERS; do for m in $MODES; do
    use_cluster "$C"
    name=$C:$(modename "$m")
    setmode "$m"
    PGHOST=$D/socket PGPORT=$PORT PGOPTIONS="-c childguard.purpose=learning" \
      pgbench -n -M prepared -U bench_app -c "$CLIENTS" -j "$CLIENTS" -T "$SECS" -f "$W/w1.sql" bench \
      > "$W/pgbench.perf.$name" 2>&1 &
    pgpid=$!
    sleep 1
    # this cluster's processes and pgbench only (other sessions share the machine)
    pids=$(cat /proc/"$PM"/task/*/children /dev/null; ls /proc/"$pgpid"/task)
    pids=$(echo $pids | tr " " ",")
    perf record -a -g -o "$W/perf.$name.data" -- sleep $((SECS - 2)) 2>/dev/null >/dev/null
    wait $pgpid || true
    echo "== perf $name: $(grep -h -e '^tps' -e 'actually processed' "$W/pgbench.perf.$name" | tr '\n' ' ')"
    echo "== perf $name: by process (cpu-clock samples, kernel included)"
    perf report -i "$W/perf.$name.data" --tid "$pids" -n --no-children --sort pid,comm --stdio -g none 2>/dev/null |
      grep -v '^#' | grep -v '^$' | head -12 || true
    echo "== perf $name: top symbols of this cluster's processes and pgbench"
    perf report -i "$W/perf.$name.data" --tid "$pids" -n --no-children --sort dso,sym --stdio -g none 2>/dev/null |
      grep -v '^#' | grep -v '^$' | head -${CG_OH_PERF_LINES:-45} || true
  done; done
fi
for C in $CLUSTERS; do
  use_cluster "$C"
  psql_s -d postgres -c "ALTER SYSTEM RESET ALL" -c "SELECT pg_reload_conf()" >/dev/null
done
