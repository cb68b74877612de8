#!/usr/bin/env bash
# Install the Debian 12 packages that building and testing childguard needs.
# Idempotent: does nothing (and needs no network) when everything is present.
set -euo pipefail

# postgresql-contrib-15 does not exist on Debian 12: pgcrypto ships inside
# postgresql-15 itself, so it is not listed here.
PACKAGES=(
  postgresql-15                          # server, pgcrypto
  postgresql-server-dev-15               # pg_config, PGXS, headers
  postgresql-15-pgtap                    # pgTAP extension
  postgresql-15-pgaudit                  # pgaudit, for test/t/030_statement_text.pl
  libtap-parser-sourcehandler-pgtap-perl # pg_prove
  libipc-run-perl                        # PostgreSQL::Test::Cluster needs IPC::Run
  libssl-dev                             # -lcrypto
  build-essential                        # cc, make
  openssl                                # master key generation
  clang                                  # fuzz targets (test/fuzz/run.sh)
  libclang-rt-dev                        # libFuzzer and clang's sanitizer runtimes
  pgbouncer                              # transaction pooling, for test/t/131_pgbouncer.pl
  gdb                                    # a backend stopped mid-record, for test/t/117_audit_reserve_kill.pl
)

# The example app's tests (examples/children-app) need Node.js and npm;
# Debian's packages unless a node and npm are installed already (e.g.
# another distribution of Node.js, whose nodejs package includes npm).
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  PACKAGES+=(nodejs npm)
fi

missing=()
for pkg in "${PACKAGES[@]}"; do
  # Status is "install ok installed" (or "hold ok installed") only when the
  # package is really there; "unknown ok not-installed" and
  # "deinstall ok config-files" also exit 0, so match the text.
  status=$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)
  case "$status" in
    *" ok installed") ;;
    *) missing+=("$pkg") ;;
  esac
done

if [ "${#missing[@]}" -eq 0 ]; then
  exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
  echo "install-deps: missing packages: ${missing[*]}" >&2
  echo "install-deps: run as root (or: sudo apt-get install ${missing[*]})" >&2
  exit 1
fi

echo "install-deps: installing: ${missing[*]}"
apt-get update
DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}"
