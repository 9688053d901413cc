#!/usr/bin/env bash
# check-valgrind.sh - every unit test and conformance suite under valgrind's
# memcheck, on a normal (uninstrumented) build.
#
#   bash scripts/check-valgrind.sh [TEST...]
#
# The test programs are the entries of the Makefile's TESTS that are not
# scripts (tests/unit/test_*, tests/conformance/index_conformance, ...), run
# with the environment `make check` gives them. The conformance scripts
# (tests/conformance/*.sh, which set up a volume directory or an nginx server
# and then run tests/conformance/volume_conformance) run unchanged, pointed at
# a shadow build directory whose test programs are valgrind wrappers. The
# integration and compatibility tests are left out: they test the mkv
# program over HTTP, which scripts/check-sanitizers.sh covers.
#
# Each program runs under
#   valgrind --leak-check=full --errors-for-leak-kinds=definite
#            --error-exitcode=1 --child-silent-after-fork=yes
# so a memory error or a definite leak fails it. TEST... (paths as in TESTS)
# limits the run to those.
#
# The build: $MKV_BUILD when set (an already configured build directory, such
# as the in-tree build scripts/test.sh makes), else the source tree when it is
# configured in-tree, else a fresh out-of-tree build in
# ${TMPDIR:-/tmp}/mkv-valgrind. Exit status 0 when every program is clean.
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
JOBS=${JOBS:-$(nproc 2>/dev/null || echo 2)}

if ! command -v valgrind >/dev/null 2>&1; then
	echo "check-valgrind.sh: valgrind not found (Debian: apt-get install valgrind)" >&2
	exit 1
fi

if [ -n "${MKV_BUILD:-}" ]; then
	build=$(cd "$MKV_BUILD" && pwd)
elif [ -e "$top/config.status" ]; then
	build=$top
else
	build=${TMPDIR:-/tmp}/mkv-valgrind
	mkdir -p "$build"
	[ -f "$build/config.status" ] || (cd "$build" && "$top/configure" -q)
fi
cd "$build"
work=$(mktemp -d "${TMPDIR:-/tmp}/mkv-vg.XXXXXX")
trap 'rm -rf -- "$work"' EXIT

# make_var NAME: the value of a variable of the build's Makefile.
# shellcheck disable=SC2016 # make's $($*), not the shell's
printf 'print-%%:\n\t@echo $($*)\n' >"$work/print.mk"
make_var() {
	make -s --no-print-directory -f Makefile -f "$work/print.mk" "print-$1"
}

make -s -j"$JOBS" >/dev/null # also regenerates the Makefile when Makefile.am changed
# shellcheck disable=SC2207 # the variables are lists of words
check_programs=($(make_var check_PROGRAMS) $(make_var check_LTLIBRARIES))
make -s -j"$JOBS" "${check_programs[@]}" >/dev/null

if [ $# -gt 0 ]; then
	tests=("$@")
else
	# shellcheck disable=SC2207
	tests=($(make_var TESTS))
fi

valgrind_cmd=(valgrind -q --leak-check=full --errors-for-leak-kinds=definite
	--error-exitcode=1 --child-silent-after-fork=yes --num-callers=30)

# The shadow build directory the conformance scripts see: the real mkv,
# mkv-volume and plugins, and a valgrind wrapper for each test program that
# writes its report to $VG_LOG_DIR.
shadow=$work/build
mkdir -p "$shadow"
for f in mkv mkv-volume plugins; do
	[ -e "$build/$f" ] && ln -s "$build/$f" "$shadow/$f"
done
for prog in $(make_var check_PROGRAMS); do
	mkdir -p "$shadow/$(dirname "$prog")"
	{
		echo '#!/bin/sh'
		printf 'exec'
		printf ' %q' "${valgrind_cmd[@]}"
		# shellcheck disable=SC2016 # expanded by the wrapper, when it runs
		printf ' --log-file="$VG_LOG_DIR/vg.%%p.log" %q "$@"\n' "$build/$prog"
	} >"$shadow/$prog"
	chmod +x "$shadow/$prog"
done

export top_srcdir=$top top_builddir=$build
export MKV_TEST_PLUGINDIR=$build/plugins/.libs MKV_TEST_BADPLUGINDIR=$build/tests/plugins/.libs
export MKV_TEST_WAIT=${MKV_TEST_WAIT:-60}

# run_one TEST RESULT-DIR: run TEST under valgrind; its output, the reports of
# the wrapped programs and the exit status go to RESULT-DIR.
run_one() {
	local t=$1 res=$2 rc vg t0=$SECONDS
	mkdir -p "$res/vg"
	case $t in
	*.sh) VG_LOG_DIR=$res/vg top_builddir=$shadow bash "$top/$t" >"$res/out" 2>&1 && rc=0 || rc=$? ;;
	*) "${valgrind_cmd[@]}" "$build/$t" >"$res/out" 2>&1 && rc=0 || rc=$? ;;
	esac
	for vg in "$res"/vg/vg.*.log; do
		[ -s "$vg" ] || continue
		{ echo "---- valgrind report ($vg)"; cat "$vg"; } >>"$res/out"
		[ "$rc" -ne 0 ] || rc=1
	done
	echo "$((SECONDS - t0))" >"$res/seconds"
	echo "$rc" >"$res/rc"
}

selected=()
for t in "${tests[@]}"; do
	case $t in
	tests/conformance/*.sh) selected+=("$t") ;;
	*.sh) ;; # integration, compatibility, SDK: not here
	*) selected+=("$t") ;;
	esac
done

start=$SECONDS
i=0
for t in "${selected[@]}"; do
	while [ "$(jobs -rp | wc -l)" -ge "$JOBS" ]; do
		wait -n || true
	done
	run_one "$t" "$work/results/$i" &
	i=$((i + 1))
done
wait

failed=()
i=0
for t in "${selected[@]}"; do
	res=$work/results/$i
	i=$((i + 1))
	rc=$(cat "$res/rc" 2>/dev/null || echo 99)
	if [ "$rc" -eq 0 ] || [ "$rc" -eq 77 ]; then
		echo "ok - $t ($(cat "$res/seconds") s)$([ "$rc" -eq 77 ] && echo ' # skipped')"
	else
		echo "not ok - $t (exit status $rc)"
		tail -n 80 "$res/out" | sed 's/^/# /'
		failed+=("$t")
	fi
done

echo "check-valgrind.sh: ${#selected[@]} programs, ${#failed[@]} failed, $((SECONDS - start)) s"
[ ${#failed[@]} -eq 0 ]
