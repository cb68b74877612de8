#!/usr/bin/env bash
# `make demo`: build, install, start a throwaway cluster and play
# test/demo/scenario.sql with every statement echoed, so the output reads as
# a story.  Errors do not stop the scenario (some steps show refusals).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
REPO=$PWD

# shellcheck source=test/cluster.sh
. "$REPO/test/cluster.sh"
export PG_CONFIG=${PG_CONFIG:-$CG_PG_CONFIG}
SCENARIO=test/demo/scenario.sql
CLUSTER=/tmp/childguard-demo-$$

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"
  elif command -v sudo >/dev/null 2>&1; then sudo "$@"
  else echo "run-demo: '$*' needs root and sudo is not available" >&2; return 1
  fi
}

cleanup() { cg_destroy "$CLUSTER" 2>/dev/null || true; }
trap cleanup EXIT

bash "$REPO/test/install-deps.sh"
make -s PG_CONFIG="$PG_CONFIG"
as_root make -s PG_CONFIG="$PG_CONFIG" install

if [ ! -f "$SCENARIO" ]; then
  # Placeholder until the real scenario is written.
  mkdir -p "$(dirname "$SCENARIO")"
  cat > "$SCENARIO" <<'SQL'
CREATE EXTENSION childguard CASCADE;
SELECT extversion FROM pg_extension WHERE extname = 'childguard';
SQL
fi

cg_start "$CLUSTER" "$(cg_free_port 55432)"
cg_export "$CLUSTER"
"$CG_BINDIR/createdb" demo
echo "===== childguard demo: $SCENARIO ====="
# 2>&1: errors appear in order, next to the statement that caused them.
"$CG_BINDIR/psql" -X -v ON_ERROR_STOP=0 -e -f "$SCENARIO" demo 2>&1
