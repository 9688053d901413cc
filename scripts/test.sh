#!/usr/bin/env bash
# Set up a fresh Debian machine and run mkv's whole test suite: install the
# dependencies, build, then `make check` (unit, conformance, integration over
# every backend pair, Go compatibility, plugin SDK), the fault tests, the
# suite under AddressSanitizer and UBSan, the unit tests under valgrind, every
# parser's fuzzer, and `make distcheck`.
#
#   bash scripts/test.sh            everything (about 15 minutes on 2 cores)
#   bash scripts/test.sh --quick    install, build and make check only
set -uo pipefail
cd "$(dirname "$0")/.."

bash scripts/install-deps.sh || exit 1
[ -x configure ] || autoreconf -fi || exit 1
[ -f Makefile ] || ./configure --quiet || exit 1
make -j2 || exit 1

passed=0
failed=0
failures=()
programs_passed=0
programs_failed=0

# step NAME COMMAND...: run one check, count it, and say how it went.
step() {
	local name=$1 start=$SECONDS
	shift
	echo "=== $name"
	if "$@"; then
		passed=$((passed + 1))
		echo "=== $name: ok ($((SECONDS - start)) s)"
	else
		failed=$((failed + 1))
		failures+=("$name")
		echo "=== $name: FAILED ($((SECONDS - start)) s)"
	fi
}

# make check, printing the logs of the tests that failed.
make_check() {
	local status=0 log
	make -j2 check || status=$?
	if [ "$status" -ne 0 ]; then
		for log in $(grep -l '^:test-result: \(FAIL\|ERROR\)' tests/*.trs tests/*/*.trs tests/*/*/*.trs 2>/dev/null); do
			echo "==== ${log%.trs}.log"
			tail -n 80 "${log%.trs}.log"
		done
	fi
	programs_passed=$(grep -l '^:test-result: PASS' tests/*/*.trs tests/*/*/*.trs 2>/dev/null | wc -l)
	programs_failed=$(grep -l '^:test-result: \(FAIL\|ERROR\)' tests/*/*.trs tests/*/*/*.trs 2>/dev/null | wc -l)
	echo "make check: $programs_passed test programs passed, $programs_failed failed"
	return "$status"
}

step "make check" make_check
if [ "${1:-}" != --quick ]; then
	step "fault tests" bash scripts/check-faults.sh
	step "sanitizers (make check under ASan and UBSan)" bash scripts/check-sanitizers.sh
	step "valgrind (unit and conformance tests)" env MKV_BUILD="$PWD" bash scripts/check-valgrind.sh
	step "fuzzing (every parser, 15 s each)" bash scripts/fuzz.sh 15
	step "make distcheck" make -j2 distcheck
fi

[ ${#failures[@]} -eq 0 ] || printf 'failed: %s\n' "${failures[@]}"
# The closing count: make check's test programs, and each further check as one.
other_passed=$passed other_failed=$failed
if [[ " ${failures[*]} " == *" make check "* ]]; then
	other_failed=$((failed - 1))
else
	other_passed=$((passed - 1))
fi
echo "$((programs_passed + other_passed)) passed, $((programs_failed + other_failed)) failed"
[ "$failed" -eq 0 ]
