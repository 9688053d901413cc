#!/usr/bin/env bash
# Set up a fresh Debian machine and run mkv's whole test suite:
# install the dependencies, build, and `make check`.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install-deps.sh
[ -x configure ] || autoreconf -fi
[ -f Makefile ] || ./configure --quiet
make -j2
status=0
make -j2 check || status=$?
# One closing line with the counts of test programs, whatever the harness printed.
pass=$(cat tests/*/*.trs 2>/dev/null | grep -c '^:test-result: PASS' || true)
fail=$(cat tests/*/*.trs 2>/dev/null | grep -c '^:test-result: \(FAIL\|ERROR\|XPASS\)' || true)
if [ "$status" -ne 0 ]; then
	for log in tests/*/*.log; do
		grep -q '^:test-result: \(FAIL\|ERROR\)' "${log%.log}.trs" 2>/dev/null || continue
		echo "==== $log"; tail -n 60 "$log"
	done
fi
echo "$pass passed, $fail failed"
exit "$status"
