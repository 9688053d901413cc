#!/usr/bin/env bash
# check-sanitizers.sh - the whole test suite (`make check`: unit, conformance,
# integration and compatibility tests) on a build instrumented with
# AddressSanitizer, LeakSanitizer and UndefinedBehaviorSanitizer.
#
#   bash scripts/check-sanitizers.sh [MAKE CHECK ARGS...]
#   bash scripts/check-sanitizers.sh TESTS=tests/unit/test_store   # one test
#
# The build is separate from the normal one: out of tree in $MKV_SAN_DIR/build
# (default ${TMPDIR:-/tmp}/mkv-sanitizers), configured with
#   CFLAGS="-O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer
#           -fno-sanitize-recover=all"   (and the same -fsanitize in LDFLAGS).
# The plugins are built with the same flags, so the dlopen'd shared objects
# are instrumented too; with gcc they link libasan themselves and share the
# runtime the mkv executable loaded first. The mkv binary the integration
# tests start is the instrumented one, so every request they make runs
# sanitized, and mkv, which exits cleanly on SIGTERM, is leak-checked when
# the harness stops it.
#
# When the source tree itself is configured (./configure run in it, as
# scripts/test.sh does), automake refuses a second, out-of-tree build of it;
# the sources are then copied to $MKV_SAN_DIR/src first (from git: tracked
# and untracked, not ignored files; otherwise the whole tree, then `make
# distclean`), timestamps kept, so a rerun only rebuilds what changed.
#
# Every sanitizer report is fatal (halt_on_error, abort_on_error): a test
# program that hits one fails; an mkv server started by an integration test
# writes its report to its log, which tests/integration/lib.sh checks when
# the test ends. As a last net, the test logs are searched for reports too.
# Known leaks of third-party libraries are suppressed in
# scripts/lsan-suppressions.txt, each entry with the reason.
#
# Environment: CC (default gcc), MKV_SAN_DIR, JOBS (default: the CPU count).
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
dir=${MKV_SAN_DIR:-${TMPDIR:-/tmp}/mkv-sanitizers}
CC=${CC:-gcc}
JOBS=${JOBS:-$(nproc 2>/dev/null || echo 2)}
san_flags="-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all"
cflags="-O1 -g $san_flags"
report_re='ERROR: (AddressSanitizer|LeakSanitizer)|runtime error: |SUMMARY: UndefinedBehaviorSanitizer'

mkdir -p "$dir"

# The source tree to build from: the tree itself, or a copy when it is configured.
srcdir=$top
if [ -e "$top/config.status" ]; then
	srcdir=$dir/src
	rm -rf -- "$srcdir"
	mkdir -p "$srcdir"
	if git -C "$top" rev-parse --git-dir >/dev/null 2>&1; then
		{
			git -C "$top" ls-files -z --cached --others --exclude-standard
			for f in configure Makefile.in aclocal.m4 build-aux m4; do
				[ -e "$top/$f" ] && printf '%s\0' "$f"
			done
		} | (cd "$top" && tar --null -T - --ignore-failed-read -cf - 2>/dev/null) |
			tar -C "$srcdir" -xf -
	else
		cp -a -- "$top/." "$srcdir/"
		(cd "$srcdir" && make -s distclean >/dev/null 2>&1) || true
	fi
	[ -x "$srcdir/configure" ] || (cd "$srcdir" && autoreconf -fi)
fi

build=$dir/build
mkdir -p "$build"
cd "$build"
stamp="CC=$CC CFLAGS=$cflags srcdir=$srcdir"
if [ ! -f config.status ] || [ "$(cat .mkv-san-config 2>/dev/null)" != "$stamp" ]; then
	echo "check-sanitizers.sh: configuring $build ($CC, $san_flags)"
	"$srcdir/configure" -q CC="$CC" CFLAGS="$cflags" LDFLAGS="$san_flags"
	echo "$stamp" >.mkv-san-config
fi

echo "check-sanitizers.sh: building"
make -s -j"$JOBS" >/dev/null

# Options for every instrumented process, test programs and mkv servers alike.
# abort_on_error: a report kills the process at once, so a server cannot carry on.
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:halt_on_error=1:strict_string_checks=1:detect_stack_use_after_return=1
export LSAN_OPTIONS=suppressions=$top/scripts/lsan-suppressions.txt:print_suppressions=0
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
# The integration tests start several instrumented servers: give them time.
export MKV_TEST_WAIT=${MKV_TEST_WAIT:-60}

# Servers' reports land in their logs, which only the harness sees.
lib_checks=true
if ! grep -q 'LeakSanitizer' "$srcdir/tests/integration/lib.sh" 2>/dev/null; then
	lib_checks=false
	echo "check-sanitizers.sh: warning: tests/integration/lib.sh does not look for sanitizer" \
		"reports in the logs of the servers it starts; their reports go unnoticed" >&2
fi

echo "check-sanitizers.sh: make check (ASan, LSan, UBSan) in $build"
status=0
start=$SECONDS
make -j"$JOBS" check "$@" || status=$?

# The last net: a report in any test's log fails the run, whatever the test said.
mapfile -t reported < <(grep -lE "$report_re" tests/*/*.log 2>/dev/null || true)
for log in "${reported[@]}"; do
	echo "==== sanitizer report in $build/$log"
	grep -E -B2 -A30 "$report_re" "$log" | head -n 120
	status=1
done
if [ "$status" -ne 0 ]; then
	for log in tests/*/*.log; do
		grep -q '^:test-result: \(FAIL\|ERROR\)' "${log%.log}.trs" 2>/dev/null || continue
		echo "==== $build/$log (failed)"
		tail -n 60 "$log"
	done
fi
pass=$(cat tests/*/*.trs 2>/dev/null | grep -c '^:test-result: PASS' || true)
fail=$(cat tests/*/*.trs 2>/dev/null | grep -c '^:test-result: \(FAIL\|ERROR\|XPASS\)' || true)
echo "check-sanitizers.sh: $pass passed, $fail failed, ${#reported[@]} logs with sanitizer reports, $((SECONDS - start)) s"
$lib_checks || echo "check-sanitizers.sh: warning: servers' logs were not checked (see above)" >&2
exit "$status"
