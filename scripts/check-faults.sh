#!/usr/bin/env bash
# check-faults.sh - run mkv's fault tests (tests/faults/*.sh, issue 5: an
# acknowledged write is never lost and a wrong value is never served) one
# after the other, each bounded in time, and summarize.
#
#   scripts/check-faults.sh [TEST...]     TEST: a name (master-kill) or a path;
#                                         default: every test in tests/faults/
#
# The tests kill masters and volume servers, mount a tmpfs and create network
# namespaces: run as root (CI does). Each test prints its checks ("ok - ...",
# "not ok - ...") and a closing "N passed, N failed"; this script prints one
# line per test, the output of each test that failed, and a closing
# "N passed, N failed" over the tests. Exit status 0 when all passed.
#
# Environment:
#   top_builddir          the build tree holding mkv and mkv-volume (default:
#                         the current directory when it holds them, else the
#                         source tree)
#   MKV_TEST_PLUGINDIR    the backends (default: $top_builddir/plugins/.libs)
#   MKV_TEST_INDEX        the index backend the masters use (default leveldb)
#   FAULTS_TIMEOUT        seconds a test may run before it is stopped (default 240)
#   FAULTS_LOGS           where each test's output is kept (default: a
#                         temporary directory, removed when every test passed)
set -uo pipefail

top_srcdir=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
if [ -z "${top_builddir:-}" ]; then
	if [ -x ./mkv ] && [ -x ./mkv-volume ]; then
		top_builddir=$(pwd)
	else
		top_builddir=$top_srcdir
	fi
fi
top_builddir=$(cd "$top_builddir" && pwd)
: "${MKV_TEST_PLUGINDIR:=$top_builddir/plugins/.libs}"
: "${FAULTS_TIMEOUT:=240}"
export top_srcdir top_builddir MKV_TEST_PLUGINDIR
export MKV_TEST_VOLUME=nginx

# Quick ones first; the storms and the partition take a minute or more each.
ALL=(disk-full slow-clients malformed master-kill volume-kill partition)

tests=()
for t in "${@:-${ALL[@]}}"; do
	case $t in
	*/*) tests+=("$t") ;;
	*) tests+=("$top_srcdir/tests/faults/${t%.sh}.sh") ;;
	esac
done
for t in "${tests[@]}"; do
	[ -f "$t" ] || {
		echo "check-faults.sh: no such test: $t" >&2
		exit 2
	}
done
for f in "$top_builddir/mkv" "$top_builddir/mkv-volume"; do
	[ -x "$f" ] || {
		echo "check-faults.sh: $f is missing: build mkv first (or set top_builddir)" >&2
		exit 2
	}
done
[ "$(id -u)" -eq 0 ] || echo "# not root: the tests that need root (disk-full, partition) will fail"

keep_logs=${FAULTS_LOGS:+yes}
logs=${FAULTS_LOGS:-$(mktemp -d "${TMPDIR:-/tmp}/mkv-faults.XXXXXX")}
mkdir -p "$logs"

passed=0 failed=0 start=$SECONDS
for t in "${tests[@]}"; do
	name=$(basename "$t" .sh)
	log=$logs/$name.log
	t0=$SECONDS
	timeout -k 15 "$FAULTS_TIMEOUT" bash "$t" >"$log" 2>&1
	rc=$?
	took=$((SECONDS - t0))
	counts=$(grep -E '^[0-9]+ passed, [0-9]+ failed$' "$log" | tail -n 1)
	if [ "$rc" -eq 0 ]; then
		passed=$((passed + 1))
		echo "PASS $name (${took} s: ${counts:-no counts})"
		continue
	fi
	failed=$((failed + 1))
	case $rc in
	124 | 137) why="stopped after $FAULTS_TIMEOUT s" ;;
	77) why="skipped, which counts as a failure here" ;;
	*) why="exit status $rc" ;;
	esac
	echo "FAIL $name (${took} s, $why: ${counts:-no counts})"
	grep -E '^not ok|VIOLATION' "$log" | sed 's/^/    /'
	echo "    ---- the last 60 lines of $log"
	tail -n 60 "$log" | sed 's/^/    | /'
	keep_logs=yes
done

echo "# fault tests took $((SECONDS - start)) s; logs in $logs"
[ "$keep_logs" = yes ] || rm -rf -- "$logs"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
