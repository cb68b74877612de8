#!/usr/bin/env bash
# `make check-long`: fuzz the envelope decoder, child_data's text input and
# the access log's record decoder (the packed log's unpacker)
# for a fixed time each (test/fuzz/run.sh; FUZZ_SECONDS, default 90 here).
set -euo pipefail
REPO=${REPO:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
FUZZ_SECONDS=${FUZZ_SECONDS:-90} exec bash "$REPO/test/fuzz/run.sh"
