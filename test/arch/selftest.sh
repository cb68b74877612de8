#!/usr/bin/env bash
# test/arch/selftest.sh — check_layers.pl must pass a clean tree and fail,
# naming the offending edge, on each kind of fault: a call upward, an
# #include upward, a cycle inside one floor, a file outside the floors, a
# header name in two floors, an object older than its source, a README
# layout that does not match the tree; and check_locks.pl must catch an
# allocation under a lock, directly, through a helper, or after an early
# exit's release, and pass one after the release.  Builds
# throwaway trees of tiny C files under a temporary directory (cc -c).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
CHECK="$HERE/check_layers.pl"
CC=${CC:-cc}
TMP=$(mktemp -d)
trap 'rm -rf -- "$TMP"' EXIT
fails=0

# write FILE CONTENT: a source file of the tree under $TMP/src
put() { mkdir -p "$(dirname "$TMP/src/$1")"; printf '%s\n' "$2" > "$TMP/src/$1"; }

build() {
  local c
  for c in $(cd "$TMP/src" && find . -name '*.c'); do
    "$CC" -c -I"$TMP/src/base" -I"$TMP/src/keys" -I"$TMP/src/consent" \
      -o "$TMP/src/${c%.c}.o" "$TMP/src/$c"
  done
}

# A clean tree: childguard.c -> consent/decision -> keys/crypto -> base/catalog.
clean_tree() {
  rm -rf "$TMP/src"
  put base/catalog.h 'int cg_catalog(void);'
  put base/catalog.c '#include "catalog.h"
int cg_catalog(void) { return 1; }'
  put keys/crypto.h 'int cg_crypto(void);'
  put keys/crypto.c '#include "catalog.h"
#include "crypto.h"
int cg_crypto(void) { return cg_catalog(); }'
  put consent/decision.h 'int cg_decide(void);'
  put consent/decision.c '#include "crypto.h"
#include "decision.h"
int cg_decide(void) { return cg_crypto(); }'
  put childguard.c '#include "decision.h"
int cg_init(void) { return cg_decide(); }'
}

# expect RC PATTERN TITLE: run the check on $TMP/src, compare
expect() {
  local want_rc=$1 pattern=$2 title=$3 out rc=0
  out=$(perl "$CHECK" --src "$TMP/src" --allow "${ALLOW:-/dev/null}" --readme "${README:-none}" 2>&1) || rc=$?
  if [ "$rc" -ne "$want_rc" ] || ! grep -qE -- "$pattern" <<<"$out"; then
    echo "not ok - $title (exit $rc, wanted $want_rc and /$pattern/)"
    sed 's/^/    /' <<<"$out"
    fails=$((fails + 1))
  else
    echo "ok - $title"
  fi
}

clean_tree; build
expect 0 'check_layers: ok' 'a clean tree passes'

clean_tree
put base/catalog.c '#include "catalog.h"
int cg_decide(void);
int cg_catalog(void) { return cg_decide(); }'
build
expect 1 'base/catalog -> consent/decision' 'a call upward fails (base calls consent)'

clean_tree
put keys/crypto.c '#include "catalog.h"
#include "crypto.h"
#include "decision.h"
int cg_crypto(void) { return cg_catalog(); }'
build
expect 1 '\(b\) upward dependency: floor keys uses floor consent' 'an #include upward fails'

clean_tree
put consent/purposes.h 'int cg_purpose(void);'
put consent/purposes.c '#include "purposes.h"
int cg_decide(void);
int cg_purpose(void) { return cg_decide(); }'
put consent/decision.c '#include "crypto.h"
#include "decision.h"
#include "purposes.h"
int cg_decide(void) { return cg_crypto() + cg_purpose(); }'
build
expect 1 '\(a\) cycle between 2 files: consent/decision consent/purposes' 'a cycle within one floor fails'

clean_tree
put retention.c 'int cg_retention(void) { return 0; }'
build
expect 1 '\(c\) src/retention.c is outside the floors' 'a file outside the floors fails'

clean_tree
put keys/catalog.h 'int cg_catalog(void);'
build
expect 1 'header catalog.h is in two floors' 'a header name in two floors fails'

clean_tree; build
touch -d '+1 minute' "$TMP/src/keys/crypto.c"
expect 1 'keys/crypto.o is older than its source' 'a stale object fails'

# the README's layout section must list the tree, floor by floor
clean_tree; build
printf '%s\n' '## Layout' '' '- `src/base/`: `catalog.c`;' '- `src/keys/`: `crypto.c`;' \
  '- `src/consent/`: `decision.c`;' '- `src/childguard.c`: wiring.' '' '## Next' > "$TMP/README.md"
README=$TMP/README.md expect 0 'check_layers: ok' 'a README layout that lists the tree passes'
printf '%s\n' '## Layout' '' '- `src/base/`: `catalog.c`, `gone.c`;' '- `src/keys/`: `crypto.c`;' \
  '- `src/childguard.c`: wiring.' '' > "$TMP/README.md"
README=$TMP/README.md expect 1 'README layout does not list decision.c under src/consent/' \
  'a README layout missing a file fails'
README=$TMP/README.md expect 1 'README layout lists gone.c under src/base/, which has no such file' \
  'a README layout naming a file not in the tree fails'

# an exception lets its edge pass and is named; once the edge is gone it fails
clean_tree
printf 'base/catalog -> consent/decision  # test\n' > "$TMP/allow"
put base/catalog.c '#include "catalog.h"
int cg_decide(void);
int cg_catalog(void) { return cg_decide(); }'
build
ALLOW=$TMP/allow expect 0 'EXCEPTION allowed: base/catalog -> consent/decision' \
  'an allowed edge passes, and is named'
clean_tree; build
ALLOW=$TMP/allow expect 1 'allows base/catalog -> consent/decision, which no longer exists' \
  'an exception whose edge is gone fails'

# check_locks.pl: nothing that allocates, raises or logs under a lock
LOCKS="$HERE/check_locks.pl"
# lock_case TITLE WANT_RC PATTERN BODY: one function holding a lock
lock_case() {
  local title=$1 want_rc=$2 pattern=$3 body=$4 out rc=0
  rm -rf "$TMP/src"
  put audit/q.c "static int *shared;
static int
helper(void)
{
	return *(int *) palloc(4);
}

static int
clean(void)
{
	return shared[1];
}

int
f(int x)
{
$body
}"
  out=$(perl "$LOCKS" --src "$TMP/src" 2>&1) || rc=$?
  if [ "$rc" -ne "$want_rc" ] || ! grep -qE -- "$pattern" <<<"$out"; then
    echo "not ok - $title (exit $rc, wanted $want_rc and /$pattern/)"; sed 's/^/    /' <<<"$out"
    fails=$((fails + 1))
  else
    echo "ok - $title"
  fi
}
lock_case 'palloc under an LWLock fails' 1 'f\(\) calls palloc\(\) while holding a lock' \
'	LWLockAcquire(lock, LW_EXCLUSIVE);
	x = *(int *) palloc(8);
	LWLockRelease(lock);
	return x;'
lock_case 'a helper that allocates, called under a lock, fails' 1 'f\(\) calls helper\(\)' \
'	SpinLockAcquire(&mutex);
	x = helper();
	SpinLockRelease(&mutex);
	return x;'
lock_case 'code after an early-exit release is still under the lock' 1 'f\(\) calls ereport\(\)' \
'	LWLockAcquire(lock, LW_EXCLUSIVE);
	if (x > 0)
	{
		LWLockRelease(lock);
		return 0;
	}
	ereport(ERROR, (errmsg("no")));
	LWLockRelease(lock);
	return x;'
lock_case 'allocation after the release passes' 0 'check_locks: ok' \
'	LWLockAcquire(lock, LW_EXCLUSIVE);
	x = clean();
	if (x > 0)
	{
		LWLockRelease(lock);
		return 0;
	}
	LWLockRelease(lock);
	if (x < 0)
		return 1;
	return helper();'
lock_case 'a memory context made without the standard macro fails' 1 'calls AllocSetContextCreateInternal\(\)' \
'	cxt = AllocSetContextCreateInternal(TopMemoryContext, name, ALLOCSET_SMALL_SIZES);
	return x;'
lock_case 'a memory context without ALLOCSET_*_SIZES fails' 1 'without ALLOCSET_\*_SIZES' \
'	cxt = AllocSetContextCreate(TopMemoryContext, "x", 0, 1024, 8192);
	return x;'

# check_duties.pl: a duty whose test does not exist, does not select its
# row, or selects it only once (broken but never repaired) fails; one
# broken and repaired passes.
duty_case() {
  local title=$1 want_rc=$2 pattern=$3 test_body=$4 out rc=0
  rm -rf "$TMP/d"
  mkdir -p "$TMP/d/sql/update/9.0--9.1"
  printf '%s\n' "INSERT INTO childguard.compliance_duty (duty, article, what_is_checked, check_function, test) VALUES
	('some_duty', 'Provisions Art 8', 'something (checked)', 'childguard.duty_some_duty()', 'sql/some_test.sql');" \
    > "$TMP/d/sql/update/9.0--9.1/70_x.sql"
  [ -n "$test_body" ] && printf '%s\n' "$test_body" > "$TMP/d/sql/some_test.sql"
  out=$(perl "$HERE/check_duties.pl" --root "$TMP/d" 2>&1) || rc=$?
  if [ "$rc" -eq "$want_rc" ] && grep -Eq "$pattern" <<<"$out"; then
    echo "ok - $title"
  else
    echo "not ok - $title (rc=$rc): $out"
    fails=$((fails + 1))
  fi
}
duty_case 'a duty broken and repaired passes' 0 '1 duties' \
"SELECT * FROM r WHERE duty = 'some_duty'; -- fail
SELECT * FROM r WHERE duty = 'some_duty'; -- pass"
duty_case 'a duty whose test is missing fails' 1 'test sql/some_test.sql does not exist' ''
duty_case 'a duty only broken fails' 1 'checks it 1 time' "SELECT * FROM r WHERE duty = 'some_duty';"
duty_case 'a duty its test never names fails' 1 'checks it 0 time' "SELECT 1;"
duty_case 'a duty whose check function the test calls twice passes' 0 '1 duties' \
"SELECT * FROM childguard.duty_some_duty(); -- fail
SELECT * FROM childguard.duty_some_duty(); -- pass"

[ "$fails" -eq 0 ] && echo "selftest: all passed" || echo "selftest: $fails failed"
[ "$fails" -eq 0 ]
