#!/usr/bin/env bash
# `make fuzz`: build the fuzz targets (test/fuzz/fuzz_*.c) with clang's
# libFuzzer, AddressSanitizer and UndefinedBehaviorSanitizer, replay each
# target's corpus (test/fuzz/corpus/TARGET/: seeds and every past finding),
# then fuzz each target for FUZZ_SECONDS.  A crash, a sanitizer report, a
# broken rule (the harness aborts), a hang or a memory blow-up fails the run;
# the input that did it is kept and printed in base64, to be added to the
# corpus (and to a pg_regress test) with the fix.
#
#   test/fuzz/run.sh            replay + fuzz
#   test/fuzz/run.sh --seeds    rewrite test/fuzz/corpus/ with make_seeds.c
#
# Env: FUZZ_SECONDS  per target (default 60)
#      FUZZ_TARGETS  default "envelope text_input access_record"
#      PG_CONFIG     headers and libpgcommon/libpgport (default: PG 15's)
#      WORK          scratch dir (default: a temp dir, removed when clean)
#      CLANG         compiler (default clang)
# Exit: 0 clean, 1 a finding or a build failure, 77 no clang/libFuzzer.
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
PG_CONFIG=${PG_CONFIG:-${CG_PG_CONFIG:-/usr/lib/postgresql/15/bin/pg_config}}
FUZZ_SECONDS=${FUZZ_SECONDS:-60}
FUZZ_TARGETS=${FUZZ_TARGETS:-"envelope text_input access_record"}
CLANG=${CLANG:-clang}
OWN_WORK=0
if [ -z "${WORK:-}" ]; then
  WORK=$(mktemp -d /tmp/childguard-fuzz-XXXXXX)
  OWN_WORK=1
fi
OUT=$WORK/fuzz
say() { echo "fuzz: $*"; }

if ! command -v "$CLANG" >/dev/null 2>&1; then
  say "no $CLANG (test/install-deps.sh installs clang and libclang-rt-dev)"
  exit 77
fi

rm -rf -- "$OUT"
mkdir -p "$OUT"

INC=$("$PG_CONFIG" --includedir-server)
LIB=$("$PG_CONFIG" --pkglibdir)
PGLIBS=("$LIB/libpgcommon_shlib.a" "$LIB/libpgport_shlib.a" -lcrypto)
F=$REPO/test/fuzz
S=$REPO/src
COMMON=(-g -O1 -fno-omit-frame-pointer -fno-sanitize-recover=all
        -Wall -Werror -Wno-ignored-attributes -Wno-unused-command-line-argument
        -I"$F" $(for d in "$S" "$S"/*/; do printf -- '-I%s ' "$d"; done) -I"$INC")
# The source files each target links, besides the harness and stand-ins.
declare -A SOURCES=(
  [envelope]="envelope.c crypto.c aesni_gcm.c secure_mem.c categories.c"
  [text_input]="child_data.c pending.c envelope.c crypto.c aesni_gcm.c categories.c"
  [access_record]="audit_record.c"
)

build() {
  local name=$1 flags=$2 main=$3 srcs=() f
  shift 3
  for f in "$@"; do srcs+=("$(ls "$S"/*/"$f")"); done
  # shellcheck disable=SC2086
  "$CLANG" "${COMMON[@]}" $flags -o "$OUT/$name" "$main" "$F/pg_stubs.c" \
    "${srcs[@]}" "${PGLIBS[@]}"
}

# Does clang have libFuzzer at all (clang without libclang-rt-dev has not)?
echo 'int LLVMFuzzerTestOneInput(const char *d, unsigned long n) { return 0; }' > "$OUT/probe.c"
if ! "$CLANG" -fsanitize=fuzzer -o "$OUT/probe" "$OUT/probe.c" 2>/dev/null; then
  say "$CLANG has no libFuzzer (install libclang-rt-dev)"
  exit 77
fi

if [ "${1:-}" = --seeds ]; then
  # shellcheck disable=SC2086
  build make_seeds "-fsanitize=address,undefined" "$F/make_seeds.c" ${SOURCES[envelope]}
  for t in envelope text_input; do
    rm -rf -- "$F/corpus/$t"
    mkdir -p "$F/corpus/$t"
  done
  "$OUT/make_seeds" "$F/corpus"
  say "seeds written to $F/corpus"
  if [ "$OWN_WORK" = 1 ]; then rm -rf -- "$WORK"; fi
  exit 0
fi

rc=0
for t in $FUZZ_TARGETS; do
  say "building $t"
  # shellcheck disable=SC2086
  if ! build "fuzz_$t" "-fsanitize=fuzzer,address,undefined" "$F/fuzz_$t.c" ${SOURCES[$t]}; then
    say "build of $t failed"; rc=1; continue
  fi
  opts=(-error_exitcode=1 -timeout_exitcode=1 -timeout=10 -rss_limit_mb=2048
        -max_len=4096 -dict="$F/childguard.dict" -artifact_prefix="$OUT/$t-")
  # 1. every corpus file once: seeds and past findings must stay clean
  n=$(find "$F/corpus/$t" -type f | wc -l)
  say "$t: replaying $n corpus files"
  if ! "$OUT/fuzz_$t" "${opts[@]}" -runs=0 "$F/corpus/$t" >"$OUT/$t-replay.log" 2>&1; then
    say "$t: a corpus file fails"; tail -n 60 "$OUT/$t-replay.log"; rc=1; continue
  fi
  # 2. fuzz; new inputs go to a scratch corpus, never into the repo
  mkdir -p "$OUT/corpus-$t"
  say "$t: fuzzing for $FUZZ_SECONDS s"
  if "$OUT/fuzz_$t" "${opts[@]}" -max_total_time="$FUZZ_SECONDS" -print_final_stats=1 \
       "$OUT/corpus-$t" "$F/corpus/$t" >"$OUT/$t.log" 2>&1; then
    grep -E '^stat::number_of_executed_units|^stat::new_units_added' "$OUT/$t.log" |
      sed "s/^/fuzz: $t: /"
  else
    say "$t: FINDING"
    tail -n 80 "$OUT/$t.log"
    for a in "$OUT/$t-"*; do
      case "$a" in *.log) continue ;; esac
      [ -f "$a" ] || continue
      echo "----- input $(basename "$a") (base64) -----"
      base64 "$a" | head -n 40
    done
    rc=1
  fi
done

if [ "$rc" = 0 ] && [ "$OWN_WORK" = 1 ]; then
  rm -rf -- "$WORK"
elif [ "$rc" != 0 ]; then
  say "work files kept in $OUT"
fi
exit "$rc"
