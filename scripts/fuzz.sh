#!/usr/bin/env bash
# fuzz.sh - build every libFuzzer harness in fuzz/ and run each for a while.
#
#   bash scripts/fuzz.sh [SECONDS [NAME...]]
#
# Each fuzz/fuzz_NAME.c is compiled with clang -fsanitize=fuzzer,address,undefined
# together with the core (or plugin) sources it exercises, then run for SECONDS
# (default 20) on a scratch copy of its seed corpus fuzz/corpus/NAME/ (the seeds
# in the tree are never modified), with the dictionary fuzz/NAME.dict when there
# is one. NAME... limits the run to those harnesses.
#
# Exit status: 0 when every harness ran clean; 1 when one crashed, leaked, hit
# undefined behaviour, a timeout or an out-of-memory, or did not build. A failure
# keeps the work directory and prints the reproducer's path, its bytes in hex,
# and the command that replays it.
#
# Environment: CC (default clang), FUZZ_FLAGS (more libFuzzer flags), FUZZ_WORK
# (the work directory; default a new temporary one).
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
seconds=${1:-20}
shift || true
case $seconds in '' | *[!0-9]*)
	echo "usage: $0 [SECONDS [NAME...]]" >&2
	exit 2
	;;
esac
CC=${CC:-clang}

if ! command -v "$CC" >/dev/null 2>&1; then
	echo "fuzz.sh: $CC not found (Debian: apt-get install clang libclang-rt-dev)" >&2
	exit 1
fi

# name -> the sources and libraries each harness needs besides itself.
declare -A sources=(
	[url_path]="core/url.c core/hash.c core/strlist.c"
	[url_query]="core/url.c"
	[range]="core/range.c"
	[record]="core/record.c core/strlist.c"
	[config]="core/config.c core/strlist.c core/host.c"
	[nginx_list]="core/host.c"
)
declare -A packages=(
	[url_path]="libcrypto"
	[config]="inih"
	[nginx_list]="jansson libcurl"
)

if [ $# -gt 0 ]; then
	names=("$@")
else
	names=()
	for f in "$top"/fuzz/fuzz_*.c; do
		n=${f##*/fuzz_}
		names+=("${n%.c}")
	done
fi

work=${FUZZ_WORK:-$(mktemp -d "${TMPDIR:-/tmp}/mkv-fuzz.XXXXXX")}
mkdir -p "$work"
failed=()

# shellcheck disable=SC2054 # the commas belong to -fsanitize=
cflags=(-g -O1 -fno-omit-frame-pointer -fsanitize=fuzzer,address,undefined
	-fno-sanitize-recover=all -std=gnu11 -Wall -Wextra -pthread -D_GNU_SOURCE
	-DMKV_PLUGINDIR='"/nonexistent/mkv"' -DMKV_SYSCONFDIR='"/nonexistent/etc"'
	-I"$top/include" -I"$top/core")

# build NAME: compile fuzz_NAME; false when it does not build.
build() {
	local name=$1 pkg_cflags=() pkg_libs=() srcs=()
	if [ -z "${sources[$name]+set}" ]; then
		echo "fuzz.sh: no sources listed for harness '$name' (add it to scripts/fuzz.sh)" >&2
		return 1
	fi
	if [ -n "${packages[$name]:-}" ]; then
		local pkgs
		read -ra pkgs <<<"${packages[$name]}"
		read -ra pkg_cflags <<<"$(pkg-config --cflags "${pkgs[@]}")"
		read -ra pkg_libs <<<"$(pkg-config --libs "${pkgs[@]}")"
	fi
	for s in ${sources[$name]}; do
		srcs+=("$top/$s")
	done
	"$CC" "${cflags[@]}" "${pkg_cflags[@]}" -o "$work/fuzz_$name" \
		"$top/fuzz/fuzz_$name.c" "${srcs[@]}" "${pkg_libs[@]}" >"$work/$name.build.log" 2>&1 || {
		cat "$work/$name.build.log" >&2
		return 1
	}
	[ ! -s "$work/$name.build.log" ] || cat "$work/$name.build.log" >&2
}

# report NAME LOG: print what a failed run left behind.
report() {
	local name=$1 log=$2 artifact
	echo "==== fuzz_$name FAILED; last lines of $log:"
	tail -n 40 "$log"
	for artifact in "$work/artifacts/$name"-*; do
		[ -e "$artifact" ] || continue
		echo "reproducer: $artifact"
		echo "hex: $(od -An -v -tx1 "$artifact" | tr -d ' \n' | head -c 2048)"
		echo "replay: $work/fuzz_$name $artifact"
	done
}

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
mkdir -p "$work/artifacts"
for name in "${names[@]}"; do
	if ! build "$name"; then
		echo "==== fuzz_$name did not build"
		failed+=("$name")
		continue
	fi
	corpus=$work/corpus/$name
	mkdir -p "$corpus"
	[ ! -d "$top/fuzz/corpus/$name" ] || cp -- "$top/fuzz/corpus/$name"/* "$corpus/" 2>/dev/null || true
	dict=()
	[ ! -f "$top/fuzz/$name.dict" ] || dict=(-dict="$top/fuzz/$name.dict")
	log=$work/$name.log
	start=$SECONDS
	# shellcheck disable=SC2086 # FUZZ_FLAGS is a list of flags
	if "$work/fuzz_$name" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
		-print_final_stats=1 -artifact_prefix="$work/artifacts/$name-" "${dict[@]}" \
		${FUZZ_FLAGS:-} "$corpus" >"$log" 2>&1; then
		runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
		echo "ok - fuzz_$name: ${runs:-?} runs in $((SECONDS - start)) s, corpus $(find "$corpus" -type f | wc -l) inputs"
	else
		report "$name" "$log"
		failed+=("$name")
	fi
done

if [ ${#failed[@]} -gt 0 ]; then
	echo "fuzz.sh: ${#failed[@]} harness(es) failed: ${failed[*]}; work directory kept: $work"
	exit 1
fi
[ -n "${FUZZ_WORK:-}" ] || rm -rf -- "$work"
echo "fuzz.sh: all ${#names[@]} harnesses ran clean for $seconds s each"
