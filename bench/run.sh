#!/usr/bin/env bash
# run.sh - mkv's benchmark suite: what `make bench` runs (not part of `make check`).
#
#   cd BUILD_DIR && bash SRC_DIR/bench/run.sh
#
# Each part is its own script that starts its own cluster (nginx volumes or
# local directories, the master, the index) on loopback in a temporary
# directory, removes it all when done, and prints one line per figure:
#
#   name: value unit (baseline: value unit, ratio R, target OP T)
#
# Every baseline is measured in the same run, on the same machine, interleaved
# with the figure it judges: these machines are shared and noisy, so the ratios
# are what count. The parts:
#   http.sh               GET of a missing and of a live key (wrk) vs nginx's fixed 302
#   cycles.sh             PUT/GET/DELETE cycles, 16 clients, vs the replica work sent direct
#   put_large.sh          256 MB and 1 GB PUT vs 3 parallel direct PUTs; peak RSS; GET MB/s
#   rebuild_rebalance.sh  rebuild and rebalance keys/s on 10,000 keys
#
# Knobs (environment):
#   MKV_BENCH_INDEX    leveldb (default), lmdb, or a list: "leveldb lmdb"
#   MKV_BENCH_VOLUME   nginx (default), local, or a list: "nginx local"
#   MKV_BENCH_QUICK=1  smaller sizes and shorter runs (64 MB, 2,000 keys, 2 s runs)
#   MKV_BENCH_REPS     runs of each measurement, the median counts (default 5 for
#                      the GETs and cycles, 3 for the large PUTs)
#   MKV_BENCH_ARGS     extra flags for every master, e.g. -md5sum=false
#   MKV_BENCH_PARTS    which parts, default "http cycles put_large rebuild_rebalance"
#   MKV_BENCH_PERF=DIR profiled runs after the measured ones (http.sh, cycles.sh),
#                      with MKV_BENCH_PERF_ARGS for perf record (default -g)
#   TMPDIR             where the clusters keep their files (default /tmp; /dev/shm
#                      takes the disk out of the large PUTs)
# wrk is needed for http.sh (skipped without it), a C compiler and the libcurl
# headers for cycles.sh.
#
# Ends with the targets met and missed. Exit status 1 when a part failed to run;
# a missed target is a finding, not a failure.
set -uo pipefail
export LC_ALL=C
bench=$(cd "$(dirname "$0")" && pwd)
: "${top_builddir:=$PWD}"
export top_builddir
indexes=${MKV_BENCH_INDEX:-leveldb}
volumes=${MKV_BENCH_VOLUME:-nginx}
parts=${MKV_BENCH_PARTS:-http cycles put_large rebuild_rebalance}
results=$(mktemp "${TMPDIR:-/tmp}/mkv-bench-results.XXXXXX")
trap 'rm -f "$results"' EXIT

nginx=$(sed -n "s/^NGINX='\(.*\)'$/\1/p" "$top_builddir/mkv-volume" 2>/dev/null)
echo "mkv benchmarks, $(date -u '+%Y-%m-%d %H:%M UTC')$([ "${MKV_BENCH_QUICK:-0}" = 1 ] && echo ', quick')"
echo "# machine: $(nproc) cores ($(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -1))," \
	"$(awk '/^MemTotal/ { printf "%.1f GB", $2 / 1048576 }' /proc/meminfo) memory, Linux $(uname -r)"
echo "# tools: $(wrk --version 2>&1 | head -1 | cut -d' ' -f1-2), $(curl --version | head -1 | cut -d' ' -f1-2)," \
	"$("${nginx:-nginx}" -v 2>&1 | sed 's/.*: //')"

failed=()
start=$SECONDS
for index in ${indexes//,/ }; do
	for volume in ${volumes//,/ }; do
		echo
		echo "== index $index, volumes $volume =="
		for part in $parts; do
			echo "-- $part (load average $(cut -d' ' -f1-3 /proc/loadavg))"
			t0=$SECONDS
			if ! MKV_BENCH_INDEX=$index MKV_BENCH_VOLUME=$volume MKV_BENCH_RESULTS=$results \
				bash "$bench/$part.sh"; then
				failed+=("$part ($index+$volume)")
			fi
			echo "# $part took $((SECONDS - t0)) s"
		done
	done
done

echo
echo "== targets ($((SECONDS - start)) s in all) =="
awk -F'\t' '$2 == "met" { met++ } $2 == "MISSED" { missed++; print "missed (" $1 "): " $3 }
	END { printf "%d met, %d missed\n", met, missed }' "$results"
if [ ${#failed[@]} -gt 0 ]; then
	echo "failed to run: ${failed[*]}"
	exit 1
fi
