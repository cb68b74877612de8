#!/usr/bin/env bash
# The sanitizer suite (`make check-sanitize`; CI runs it in `make check-long`):
# build childguard with AddressSanitizer and UndefinedBehaviorSanitizer, put
# it into a private copy of the PostgreSQL installation, start a cluster
# whose postmaster has the matching libasan preloaded, run the pg_regress,
# isolation and pgTAP suites against it, and fail if any sanitizer report
# appears.
#
# PostgreSQL itself is not instrumented: ASan sees our code's accesses to
# stack, globals and malloc'd memory (OpenSSL, libc), and UBSan every
# undefined operation in our code; it cannot see overruns inside palloc'd
# chunks, because palloc carves them out of larger blocks.  The fuzz
# harnesses (test/fuzz/) cover that gap for the decoders, where every
# palloc is its own malloc.
#
# Neither the repo's objects nor the installation behind PG_CONFIG are
# touched: the build runs in a copy of the tree and installs into a copy of
# PostgreSQL under WORK, so `make check`'s -Werror build and later suites
# still load the plain library.
#
# Env (all optional; test/run-check.sh sets the first three):
#   REPO       the source tree (default: this script's ../..)
#   WORK       scratch dir; everything goes to WORK/san (default: a temp dir)
#   PG_CONFIG  the PostgreSQL 15 to copy (default: CG_PG_CONFIG, then PG 15's)
#   CG_REGRESS / CG_ISOLATION  only these tests, as in test/run-check.sh
#              (pgTAP is skipped when CG_REGRESS is set)
#   CG_SAN_CC  compiler (default: gcc; the matching libasan is preloaded)
#   CG_KEEP=1  keep WORK/san even when the suite passed
# Exit: 0 clean, 1 a failed test or any sanitizer report, 77 no sanitizer
# runtime on this machine.
set -euo pipefail

REPO=${REPO:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
PG_CONFIG=${PG_CONFIG:-${CG_PG_CONFIG:-/usr/lib/postgresql/15/bin/pg_config}}
OWN_WORK=0
if [ -z "${WORK:-}" ]; then
  WORK=$(mktemp -d /tmp/childguard-san-XXXXXX)
  OWN_WORK=1
fi
S=$WORK/san
CC_SAN=${CG_SAN_CC:-gcc}
# -fno-sanitize-recover: UB kills the backend as an ASan report does (gcc
# does not halt on UBSAN_OPTIONS alone in a combined build).
SAN_FLAGS="-fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer -g -O1"
# The same warnings as make check, so the two builds agree on the code.
WARN_FLAGS="-Wall -Wextra -Werror -Wno-unused-parameter -Wno-missing-field-initializers -Wno-sign-compare"

say() { echo "sanitize: $*"; }

# ---- the sanitizer runtime -----------------------------------------------------
if ! command -v "$CC_SAN" >/dev/null 2>&1; then
  say "no compiler $CC_SAN"; exit 77
fi
ASAN_LIB=$("$CC_SAN" -print-file-name=libasan.so)
if [ ! -e "$ASAN_LIB" ]; then
  say "no libasan for $CC_SAN"; exit 77
fi
ASAN_LIB=$(readlink -f "$ASAN_LIB")

rm -rf -- "$S"
mkdir -p "$S"
chmod 0755 "$WORK" "$S"

# ---- a private copy of PostgreSQL ------------------------------------------------
# Relative to its binaries, as PostgreSQL finds its files: bindir/.. holds
# bin/ and lib/ (with pgxs), sharedir the extension scripts.
BINDIR=$("$PG_CONFIG" --bindir)
SHAREDIR=$("$PG_CONFIG" --sharedir)
PKGLIBDIR=$("$PG_CONFIG" --pkglibdir)
PRIV=$S/pg
say "copying PostgreSQL ($BINDIR) to $PRIV"
for d in "$(dirname "$BINDIR")" "$SHAREDIR"; do
  mkdir -p "$PRIV$d"
  cp -a "$d/." "$PRIV$d/"
done
rm -f "$PRIV$PKGLIBDIR/childguard.so"
rm -f "$PRIV$SHAREDIR"/extension/childguard*
PRIV_PG_CONFIG=$PRIV$BINDIR/pg_config
[ "$("$PRIV_PG_CONFIG" --pkglibdir)" = "$PRIV$PKGLIBDIR" ] || {
  say "the copy of PostgreSQL does not relocate ($("$PRIV_PG_CONFIG" --pkglibdir))"
  exit 1
}

# ---- build and install the instrumented library -----------------------------------
BUILD=$S/build
mkdir -p "$BUILD"
(cd "$REPO" && tar cf - --exclude=./.git --exclude='*.o' --exclude='*.so' \
   --exclude='*.bc' --exclude=./results --exclude=./output_iso --exclude=./log \
   --exclude='./regression.*' .) | (cd "$BUILD" && tar xf -)
say "building with $CC_SAN $SAN_FLAGS"
# Built against PG_CONFIG's headers, installed into the copy (DESTDIR).
make -C "$BUILD" -s PG_CONFIG="$PG_CONFIG" clean >/dev/null
if ! make -C "$BUILD" -s PG_CONFIG="$PG_CONFIG" CC="$CC_SAN" \
      PG_CFLAGS="$SAN_FLAGS $WARN_FLAGS" PG_LDFLAGS="-fsanitize=address,undefined" ||
   ! make -C "$BUILD" -s PG_CONFIG="$PG_CONFIG" DESTDIR="$PRIV" install; then
  say "build failed"; exit 1
fi
# (not "ldd | grep -q": with pipefail, grep's early exit fails ldd)
if [[ "$(ldd "$PRIV$PKGLIBDIR/childguard.so")" != *libasan* ]]; then
  say "childguard.so is not linked with libasan"; exit 1
fi

# The uninstrumented binaries need ASan initialized before their libraries'
# constructors take a libc lock (see test/sanitize/asan_first_malloc.c).
SHIM=$S/asan_first_malloc.so
"$CC_SAN" -shared -fPIC -O2 -Wall -Werror -o "$SHIM" \
  "$REPO/test/sanitize/asan_first_malloc.c" -ldl

# ---- cluster ----------------------------------------------------------------------------
export CG_PG_CONFIG=$PRIV_PG_CONFIG
# shellcheck source=test/cluster.sh
. "$REPO/test/cluster.sh"
C=$S/c
REPORTS=$S/reports
mkdir -p "$REPORTS"
chmod 0777 "$REPORTS"
# detect_leaks=0: a backend frees nothing at exit, by design.  A report
# goes to REPORTS/asan.PID (or ubsan.PID); abort_on_error makes the backend
# die by SIGABRT (an exit code 1 would pass for a FATAL), so the postmaster
# restarts and the test that caused it fails too.
SAN_ENV=(
  LD_PRELOAD="$ASAN_LIB $SHIM"
  ASAN_OPTIONS="detect_leaks=0:abort_on_error=1:halt_on_error=1:log_path=$REPORTS/asan:detect_stack_use_after_return=1:strict_string_checks=1:check_initialization_order=1"
  UBSAN_OPTIONS="halt_on_error=1:abort_on_error=1:print_stacktrace=1:log_path=$REPORTS/ubsan"
)

rc=0
# After a sanitizer killed a backend a fast shutdown may not finish: then
# an immediate one, so no server outlives the suite.
stop_cluster() {
  cg_stop "$C" && return 0
  cg_as_server "$CG_BINDIR/pg_ctl" -D "$C/data" -m immediate -w -t 60 stop >/dev/null 2>&1 || true
  return 1
}
cleanup() {
  stop_cluster >/dev/null 2>&1 || true
  if [ "$rc" = 0 ] && [ "${CG_KEEP:-0}" != 1 ]; then
    rm -rf -- "$S"
    if [ "$OWN_WORK" = 1 ]; then rm -rf -- "$WORK"; fi
  else
    say "work files kept in $S"
  fi
}
trap cleanup EXIT

PORT=$(cg_free_port 56432)
# cg_start runs initdb and the server as the server user; the environment
# (LD_PRELOAD included) goes with them.
if ! env "${SAN_ENV[@]}" bash -c '. "$1"; cg_start "$2" "$3"' _ \
      "$REPO/test/cluster.sh" "$C" "$PORT"; then
  say "the sanitized cluster did not start"
  rc=1; exit 1
fi
cg_export "$C"
# The postmaster really runs with the runtime: its maps show libasan.
PMPID=$(head -n 1 "$C/data/postmaster.pid")
if ! grep -q libasan "/proc/$PMPID/maps"; then
  say "postmaster $PMPID has no libasan mapped"
  rc=1; exit 1
fi

# ---- pg_regress and isolation against it -----------------------------------------
sel=()
[ -n "${CG_REGRESS+x}" ] && sel+=("REGRESS=$CG_REGRESS")
[ -n "${CG_ISOLATION+x}" ] && sel+=("ISOLATION=$CG_ISOLATION")
say "running pg_regress and isolation"
if ! (cd "$BUILD" && PATH="$CG_BINDIR:$PATH" \
        make PG_CONFIG="$PRIV_PG_CONFIG" "${sel[@]}" installcheck); then
  for f in "$BUILD/regression.diffs" "$BUILD/output_iso/regression.diffs"; do
    [ -f "$f" ] && { echo "----- $f -----"; head -n 300 "$f"; }
  done
  rc=1
fi
# pgTAP too, as make check runs it (the catalog functions' C code)
if compgen -G "$BUILD/test/pgtap/*.sql" >/dev/null && [ -z "${CG_REGRESS+x}" ]; then
  say "running pgTAP"
  if ! (cd "$BUILD" && PATH="$CG_BINDIR:$PATH" &&
        createdb cg_tap &&
        psql -X -q -v ON_ERROR_STOP=1 -d cg_tap -c 'CREATE EXTENSION pgtap' \
          -c 'CREATE EXTENSION childguard CASCADE' &&
        pg_prove -d cg_tap test/pgtap/*.sql); then
    rc=1
  fi
fi
stop_cluster || rc=1

# ---- any sanitizer report fails the suite -------------------------------------------
found=0
for f in "$REPORTS"/*; do
  [ -e "$f" ] || continue
  found=1
  echo "----- sanitizer report $f -----"
  head -n 80 "$f"
done
if grep -nE 'ERROR: AddressSanitizer|runtime error:|UndefinedBehaviorSanitizer|LeakSanitizer' \
     "$C/server.log" >/dev/null; then
  found=1
  echo "----- sanitizer lines in $C/server.log -----"
  grep -nE -A 30 'ERROR: AddressSanitizer|runtime error:|UndefinedBehaviorSanitizer' "$C/server.log" | head -n 120
fi
if grep -nE 'terminated by signal' "$C/server.log" >/dev/null; then
  echo "----- a server process died -----"
  grep -nE 'terminated by signal' "$C/server.log" | head -n 20
  found=1
fi
if [ "$found" = 1 ]; then
  say "sanitizer reports found"
  rc=1
fi
[ "$rc" = 0 ] && say "no sanitizer reports"
exit "$rc"
