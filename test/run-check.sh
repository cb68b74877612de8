#!/usr/bin/env bash
# `make check`: build with warnings as errors, install, then run every test
# suite against throwaway clusters and print a summary.
# `make check-long` (argument "long"): the same build, then the long suites
# instead: TAP files in test/t-long/ and each script test/long/*.sh (soak,
# sanitizer, fuzz), every one its own line in the summary.
#
# Env: CHECK_CFLAGS  overrides the PG_CFLAGS used for the -Werror build
#      PG_CONFIG     pg_config to build against (default: PostgreSQL 15's)
#      CG_KEEP=1     keep the /tmp work dirs even when everything passed
#      CG_SUITES     only these suites, e.g. "tap", "arch", "example" or "regress long" (while
#                    developing; default: all of the mode's suites)
#      CG_REGRESS    only these pg_regress tests, e.g. "bypass audit"
#      CG_ISOLATION  only these isolation specs ("" for none)
#      CG_TAP        only these TAP files, e.g. "test/t/003_master_key.pl"
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
REPO=$PWD
MODE=${1:-check}
case "$MODE" in check | long) ;; *) echo "usage: run-check.sh [long]" >&2; exit 2 ;; esac

# shellcheck source=test/cluster.sh
. "$REPO/test/cluster.sh"
export PG_CONFIG=${PG_CONFIG:-$CG_PG_CONFIG}
CHECK_CFLAGS=${CHECK_CFLAGS:--Wall -Wextra -Werror -Wno-unused-parameter -Wno-missing-field-initializers -Wno-sign-compare}
IS_ROOT=0; [ "$(id -u)" -eq 0 ] && IS_ROOT=1

WORK=/tmp/childguard-check-$$
CLUSTER=$WORK/cluster
TAPDIR=$WORK/tap
NAMES=(); RESULTS=()
record() { NAMES+=("$1"); RESULTS+=("$2"); }

cleanup() {
  cg_stop "$CLUSTER" 2>/dev/null || true
  if [ "${ANY_FAIL:-1}" = 0 ] && [ "${CG_KEEP:-0}" != 1 ]; then
    rm -rf -- "$WORK"
  elif [ -d "$WORK" ]; then
    echo "run-check: work files kept in $WORK"
  fi
}
trap cleanup EXIT

summary() {
  local i pass=0 fail=0
  echo
  echo "===== childguard check summary ====="
  for i in "${!NAMES[@]}"; do
    printf '%-16s %s\n' "${NAMES[$i]}" "${RESULTS[$i]}"
    case "${RESULTS[$i]}" in
      PASS) pass=$((pass + 1)) ;;
      FAIL) fail=$((fail + 1)) ;;
    esac
  done
  ANY_FAIL=0; [ "$fail" -gt 0 ] && ANY_FAIL=1
  echo "$pass passed, $fail failed"
  [ "$fail" -eq 0 ]
}

as_root() {
  if [ "$IS_ROOT" = 1 ]; then "$@"
  elif command -v sudo >/dev/null 2>&1; then sudo "$@"
  else echo "run-check: '$*' needs root and sudo is not available" >&2; return 1
  fi
}

# ---- dependencies, build, install -------------------------------------------
echo "== install-deps"
bash "$REPO/test/install-deps.sh"

echo "== build (PG_CFLAGS=$CHECK_CFLAGS)"
# Clean first: changed CFLAGS do not trigger a rebuild, and objects left by a
# non -Werror build (make demo) would hide warnings.
if ! { make -s PG_CONFIG="$PG_CONFIG" clean &&
       make -s PG_CONFIG="$PG_CONFIG" PG_CFLAGS="$CHECK_CFLAGS" &&
       as_root make -s PG_CONFIG="$PG_CONFIG" install; }; then
  record build FAIL   # counted only when it fails: it is not a test suite
  summary || exit 1
fi

mkdir -p "$WORK"
chmod 0755 "$WORK"

# Citus for the scale-out test (test/t-long/300_citus_scale_out.pl), long
# mode only: built from $CG_CITUS_DIR, else the repository's sibling
# ../shared/citus, else /work/shared/citus, when not installed.  Without
# its source the test skips (saying so); a build that fails fails the test
# (CG_CITUS_BUILD_FAILED), it is not skipped.
if [ "$MODE" = long ]; then
  citus_dir=
  for d in ${CG_CITUS_DIR:-} "$REPO/../shared/citus" /work/shared/citus; do
    if [ -f "$d/build.sh" ]; then citus_dir=$d; break; fi
  done
  if [ -f "$("$PG_CONFIG" --pkglibdir)/citus.so" ]; then
    echo "== citus: installed"
  elif [ -n "$citus_dir" ]; then
    echo "== citus: building from $citus_dir"
    if ! as_root env PG_CONFIG="$PG_CONFIG" bash "$citus_dir/build.sh" "$WORK/citus-build"; then
      echo "citus build failed: the scale-out test fails"
      export CG_CITUS_BUILD_FAILED=1
    fi
  else
    echo "== citus: not installed and no build.sh in \$CG_CITUS_DIR, ../shared/citus or /work/shared/citus: the scale-out test will skip"
  fi
fi

want() { [ -z "${CG_SUITES:-}" ] || [[ " $CG_SUITES " == *" $1 "* ]]; }

# ---- arch: the layering of src/, from the objects just built ----------------
# test/arch/check_layers.pl: no cycle between files, no floor using a higher
# one, no file outside the floors; check_locks.pl: nothing allocates under a
# lock; check_duties.pl: every compliance duty's test breaks and repairs it;
# selftest.sh shows they catch each fault.
if [ "$MODE" = check ] && want arch; then
  echo "== arch"
  if perl test/arch/check_layers.pl && perl test/arch/check_locks.pl &&
     perl test/arch/check_duties.pl && bash test/arch/selftest.sh; then
    record arch PASS
  else
    record arch FAIL
  fi
fi

# ---- cluster ------------------------------------------------------------------
echo "== start cluster"
PORT=$(cg_free_port 55432)
if ! cg_start "$CLUSTER" "$PORT"; then
  record cluster FAIL
  summary || exit 1
fi
cg_export "$CLUSTER"
export PATH="$CG_BINDIR:$PATH"

# ---- a. pg_regress / isolation (PGXS installcheck) ----------------------------
suite_regress() {
  rm -f regression.diffs regression.out output_iso/regression.diffs
  local sel=()
  [ -n "${CG_REGRESS+x}" ] && sel+=("REGRESS=$CG_REGRESS")
  [ -n "${CG_ISOLATION+x}" ] && sel+=("ISOLATION=$CG_ISOLATION")
  if make PG_CONFIG="$PG_CONFIG" "${sel[@]}" installcheck; then
    return 0
  fi
  local f
  for f in regression.diffs output_iso/regression.diffs; do
    if [ -f "$f" ]; then
      echo "----- $f -----"
      cat "$f"
    fi
  done
  return 1
}

# Same selection as the Makefile's REGRESS / ISOLATION.
has_regress() {
  local f
  for f in sql/*.sql test/isolation/specs/*.spec; do
    [ -e "$f" ] || continue
    case "$f" in sql/childguard--*) continue ;; esac
    return 0
  done
  return 1
}

suite_pgtap() {
  createdb cg_tap || return 1
  psql -X -q -v ON_ERROR_STOP=1 -d cg_tap \
    -c 'CREATE EXTENSION pgtap' \
    -c 'CREATE EXTENSION childguard CASCADE' || return 1
  pg_prove -d cg_tap test/pgtap/*.sql
}

if [ "$MODE" = check ]; then
if want regress; then
echo "== regress"
if ! has_regress; then
  echo "no sql/*.sql tests or test/isolation/specs/*.spec"
  record regress SKIP
elif suite_regress; then
  record regress PASS
else
  record regress FAIL
fi
fi

# ---- b. pgTAP -----------------------------------------------------------------
if want pgtap; then
echo "== pgtap"
if ! compgen -G 'test/pgtap/*.sql' >/dev/null; then
  echo "no test/pgtap/*.sql"
  record pgtap SKIP
elif suite_pgtap; then
  record pgtap PASS
else
  record pgtap FAIL
fi
fi

# ---- b2. the example app (examples/children-app): its own node:test suite ---
# against this cluster; `npm ci` from the committed lock file (~/.npm cache).
if want example; then
echo "== example (examples/children-app)"
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  echo "example: SKIPPED: node and npm are not installed (test/install-deps.sh installs them)"
  record example SKIP
elif (cd examples/children-app &&
      npm ci --prefer-offline --no-audit --no-fund &&
      node --test test/); then
  record example PASS
else
  record example FAIL
fi
fi
fi  # MODE = check

# ---- c. TAP (PostgreSQL::Test::Cluster) ---------------------------------------
# These tests start their own servers, so they cannot run as root, and the
# postgres user may not be able to read the repo (a clone under /root is mode
# 0700): run a copy of test/ under /tmp owned by the user that runs them.
suite_tap() {
  local pgxs_dir perl_lib pg_regress runner=() with
  pgxs_dir=$(dirname "$("$PG_CONFIG" --pgxs)")/..        # .../lib/pgxs/src
  perl_lib=$(cd "$pgxs_dir/test/perl" && pwd)
  pg_regress=$(cd "$pgxs_dir/test/regress" && pwd)/pg_regress

  # (called in an `if`, so set -e is off here: check each step)
  rm -rf "$TAPDIR" && mkdir -p "$TAPDIR/tmp" &&
    cp -a "$REPO/test" "$TAPDIR/test" || return 1
  if [ "$IS_ROOT" = 1 ]; then
    chown -R "$CG_SERVER_USER:$CG_SERVER_USER" "$TAPDIR" || return 1
    runner=(runuser -u "$CG_SERVER_USER" --)
  fi

  # with_* flags tests may consult (e.g. $ENV{with_ssl}), as PGXS's
  # Makefile.global records them for this installation.
  with=()
  while read -r var val; do
    with+=("$var=$val")
  done < <(sed -n 's/^\(with_[a-z_]*\)[[:space:]]*=[[:space:]]*\(.*\)$/\1 \2/p' \
             "$pgxs_dir/Makefile.global")

  # test-only extensions (test/fixtures/extension) beside the installed
  # childguard for the run, removed after it
  local extdir fixture installed_fixtures=() rc
  extdir="$("$PG_CONFIG" --sharedir)/extension"
  for fixture in "$REPO"/test/fixtures/extension/*; do
    cp "$fixture" "$extdir/" && installed_fixtures+=("$extdir/${fixture##*/}")
  done

  (
    cd "$TAPDIR"
    # PG* connection settings point at our cluster; Utils.pm drops them, but
    # keep the environment of the TAP run clean anyway.  TMPDIR: the nodes'
    # socket dirs (tempdir_short) go there, so failed runs leave no litter.
    unset PGHOST PGPORT PGUSER PGDATABASE
    "${runner[@]}" env "${with[@]}" \
      HOME="$TAPDIR" \
      TMPDIR="$TAPDIR/tmp" \
      PATH="$CG_BINDIR:$PATH" \
      PERL5LIB="$perl_lib${PERL5LIB:+:$PERL5LIB}" \
      PG_REGRESS="$pg_regress" \
      PG_CONFIG="$CG_BINDIR/pg_config" \
      TESTDIR="$TAPDIR" \
      prove ${CG_TAP:-"$TAP_GLOB"/*.pl}
  ) 2>&1 | tee "$WORK/prove.out"
  rc=${PIPESTATUS[0]}
  rm -f "${installed_fixtures[@]}"
  [ "$rc" -eq 0 ] && return 0

  # Logs of the failed test files only (prove's "Test Summary Report" lists
  # them); all logs when that list cannot be read.
  local failed f t b show
  failed=$(sed -n 's|^test/t[a-z-]*/\([^ ]*\)\.pl  *(Wstat.*|\1|p' "$WORK/prove.out")
  for f in "$TAPDIR"/tmp_check/log/*; do
    [ -f "$f" ] || continue
    b=${f##*/}
    show=1
    if [ -n "$failed" ]; then
      show=0
      for t in $failed; do
        case "$b" in "regress_log_$t" | "${t}_"*.log) show=1 ;; esac
      done
    fi
    [ "$show" = 1 ] || continue
    echo "----- tail of ${f#"$TAPDIR"/} -----"
    tail -n 60 "$f"
  done
  return 1
}

TAP_GLOB=test/t; [ "$MODE" = long ] && TAP_GLOB=test/t-long
echo "== tap ($TAP_GLOB)"
if ! want tap; then
  :
elif ! compgen -G "$TAP_GLOB/*.pl" >/dev/null; then
  echo "no $TAP_GLOB/*.pl"
  record tap SKIP
elif suite_tap; then
  record tap PASS
else
  record tap FAIL
fi

# ---- d. long scripts (make check-long only) -------------------------------------
# Each test/long/NAME.sh runs with REPO, WORK, PG_CONFIG and CG_BINDIR set,
# the cluster above stopped; exit 0 passes, 77 skips, anything else fails.
if [ "$MODE" = long ] && want long; then
  cg_stop "$CLUSTER" || true
  for script in test/long/*.sh; do
    [ -e "$script" ] || continue
    name=$(basename "$script" .sh)
    echo "== long: $name"
    rc=0
    REPO="$REPO" WORK="$WORK" PG_CONFIG="$PG_CONFIG" CG_BINDIR="$CG_BINDIR" \
      bash "$script" </dev/null || rc=$?
    case "$rc" in
      0) record "$name" PASS ;;
      77) record "$name" SKIP ;;
      *) record "$name" FAIL ;;
    esac
  done
fi

# ---- e. summary ---------------------------------------------------------------
cg_stop "$CLUSTER" || true
summary
