#!/usr/bin/env bash
# Write/read/delete cycles of small values with 16 concurrent clients, through
# mkv against the same replica work sent straight to the volumes.
#
#   bash bench/cycles.sh        (from the build directory; see bench/lib.sh for the knobs)
#
# One cycle through mkv: PUT (201), GET following the redirect and reading the
# bytes (200), DELETE (204). The baseline cycle is the work the volumes do for
# it: three PUTs at once, one GET, three DELETEs at once, straight to the three
# nginx volumes (or, for local volumes, three temp-file+fsync+rename writes at
# once, one read, three unlink+fsync at once in the directories). The client is
# bench/cycles.c (threads with kept connections), compiled here against libcurl.
# A second line compares with another baseline: the same direct work with the
# three PUTs and the three DELETEs sent one after another (cycles -S).
# Each side gets 5 runs of 4 s (quick: 3 of 2 s), alternating; the median counts.
# Target: mkv >= 1.0x the direct replica work.
# Then the CPU of the whole machine per cycle on both sides, the master's
# share of it, and (nginx volumes) the ceiling that puts on the ratio (see
# the comment there).
# MKV_BENCH_PERF=DIR adds profiled runs (see the end of this file).
# shellcheck source-path=SCRIPTDIR source=lib.sh disable=SC2119 # start_mkv takes optional flags
source "$(dirname "$0")/lib.sh"

clients=16
size=1024
seconds=4
quick && seconds=2
reps 5 3

if ! ${CC:-cc} -O2 -o "$WORK/cycles" "$BENCH_DIR/cycles.c" -lcurl -lpthread 2>"$WORK/cc.log"; then
	cat "$WORK/cc.log" >&2
	echo "cycles: cannot build bench/cycles.c (libcurl headers missing?)" >&2
	exit 1
fi

start_volumes 3
start_mkv
if [ "$MKV_BENCH_VOLUME" = local ]; then
	direct=(local "${VOL_DIRS[@]}")
else
	direct=(nginx "${VOL_URLS[@]}")
fi

# run NAME SECONDS MODE TARGET...: "CYCLES_PER_S MACHINE_US MASTER_US BUSY" of one
# run: its rate, the machine's busy CPU and the master's CPU per cycle (in
# microseconds), and the percentage of the machine's CPUs that were busy.
run() {
	local name=$1 secs=$2 out b0 b1 m0 m1 t0 t1 cycles
	shift 2
	b0=$(busy_ticks) m0=$(pid_ticks "$MKV_PID") t0=$(now)
	# || return: errexit does not reach into a command substitution.
	out=$("$WORK/cycles" -c "$clients" -d "$secs" -s "$size" -p "$name" "$@") || return
	b1=$(busy_ticks) m1=$(pid_ticks "$MKV_PID") t1=$(now)
	cycles=${out%% *}
	calc 'sprintf("%s %.0f %.0f %.0f", rate, (b1 - b0) * 1e6 / hz / n, (m1 - m0) * 1e6 / hz / n,
		100 * (b1 - b0) / hz / (t1 - t0) / cpus)' rate="${out##* }" n="$cycles" hz="$TICKS_PER_S" \
		b0="$b0" b1="$b1" m0="$m0" m1="$m1" t0="$t0" t1="$t1" cpus="$(nproc)"
}

run warm-direct 1 "${direct[@]}" >/dev/null
run warm-mkv 1 mkv "$MKV_URL" >/dev/null
runs_direct=() runs_serial=() runs_mkv=() cpu_direct=() cpu_mkv=() cpu_master=() cpu_others=()
for ((rep = 1; rep <= REPS; rep++)); do
	out=$(run "direct$rep" "$seconds" "${direct[@]}")
	read -r d d_cpu _ d_busy <<<"$out"
	out=$(run "mkv$rep" "$seconds" mkv "$MKV_URL")
	read -r m m_cpu m_master m_busy <<<"$out"
	out=$(run "serial$rep" "$seconds" -S "${direct[@]}")
	read -r s _ <<<"$out"
	note "run $rep: direct $d cycles/s, mkv $m cycles/s, direct one replica after another $s cycles/s;" \
		"CPU per cycle: direct $d_cpu us (machine $d_busy% busy), mkv $m_cpu us of which" \
		"the master $m_master us (machine $m_busy% busy)"
	runs_direct+=("$d")
	runs_serial+=("$s")
	runs_mkv+=("$m")
	cpu_direct+=("$d_cpu")
	cpu_mkv+=("$m_cpu")
	cpu_master+=("$m_master")
	cpu_others+=("$((m_cpu - m_master))")
done

report "cycles ($clients clients, $size B values)" "$(printf %.0f "$(median "${runs_mkv[@]}")")" cycles/s \
	"$(printf %.0f "$(median "${runs_direct[@]}")")" cycles/s '>=' 1.0
report "cycles against the replica requests one after another" \
	"$(printf %.0f "$(median "${runs_mkv[@]}")")" cycles/s \
	"$(printf %.0f "$(median "${runs_serial[@]}")")" cycles/s - -
# Where a cycle's CPU goes. With the machine busy in both runs, a rate is the
# inverse of the CPU a cycle costs, so with nginx volumes the direct cost
# over what a cycle through mkv costs outside the master bounds the ratio
# above: it is the ratio a master costing no CPU at all would get on this
# machine. (With local volumes the master does the volumes' work itself.)
report "machine CPU per cycle" "$(median "${cpu_mkv[@]}")" us \
	"$(median "${cpu_direct[@]}")" "us direct" - -
report "master CPU per cycle" "$(median "${cpu_master[@]}")" us - - - -
if [ "$MKV_BENCH_VOLUME" = nginx ]; then
	report "ceiling of the cycles ratio with a master costing no CPU" \
		"$(calc 'sprintf("%.2f", d / o)' d="$(median "${cpu_direct[@]}")" o="$(median "${cpu_others[@]}")")" \
		x - - - -
fi
report "master peak RSS during cycles" "$(peak_rss_mb "$MKV_PID")" MB - - '<' 64

if [ -n "${MKV_BENCH_PERF:-}" ]; then
	# One more run of each side with the whole machine under perf record (which
	# process takes the CPU per cycle), and one with the master under
	# `perf record $MKV_BENCH_PERF_ARGS` (default -g).
	mkdir -p "$MKV_BENCH_PERF"
	perf_seconds=10
	profiled() { # OUTPUT PERF-ARGS... -- CYCLES-ARGS...
		local out=$MKV_BENCH_PERF/$1 args=() perf_pid
		shift
		while [ "$1" != -- ]; do
			args+=("$1")
			shift
		done
		shift
		perf record "${args[@]}" -o "$out" -- sleep "$perf_seconds" 2>"$WORK/perf.log" &
		perf_pid=$!
		sleep 0.5
		note "profiled run: $(run profiled "$((perf_seconds - 1))" "$@") cycles/s ($out)"
		wait "$perf_pid" || cat "$WORK/perf.log" >&2
	}
	profiled cycles-direct.all.perf.data -a -F 999 -- "${direct[@]}"
	profiled cycles-mkv.all.perf.data -a -F 999 -- mkv "$MKV_URL"
	# shellcheck disable=SC2086 # the knob holds several arguments
	profiled cycles-mkv.perf.data ${MKV_BENCH_PERF_ARGS:--g} -p "$MKV_PID" -- mkv "$MKV_URL"
fi
