#!/usr/bin/env bash
# Large PUTs through mkv against the same three replica PUTs sent straight to
# the volumes in parallel (the work the volumes must do anyway); the master's
# peak RSS; GET throughput through the redirect.
#
#   bash bench/put_large.sh [SIZE_MB...]    (default 256 1024, quick 64; from the
#                                            build directory; knobs in bench/lib.sh)
#
# For each size, on a fresh master: `curl -T` of a random file through mkv (201,
# 3 replicas) against three parallel `curl -T` of the same file straight to the
# three nginx volumes. With local volumes the direct side is three parallel
# writes in the manner of plugins/volume-local: `dd conv=fsync` into a temporary
# name, `mv` into place, `sync` of the directory. Everything is synced to disk
# before each timed run; each side runs 3 times (quick: 2), the sides taking
# turns to go first, and each side's copies are deleted before the other side
# runs (a PUT into memory the other side's copies still held was up to 2x
# slower on this VM, which favoured whichever side ran first); the median
# counts. Then the master's VmHWM, and `curl -L -o /dev/null` of the value
# through mkv against a GET of the direct copy from nginx (for local volumes,
# an nginx serving the first volume's directory).
# With each PUT figure, the CPU the whole machine spent on each side and the
# master's share of it. Then what hashing costs: the MD5 of the value alone,
# and the same PUTs through a master started with -md5sum=false.
# Targets: PUT <= 1.25x the parallel direct PUTs; master peak RSS < 64 MB.
# MKV_BENCH_PERF=DIR adds one more PUT of each size with the master under
# `perf record $MKV_BENCH_PERF_ARGS` (default -g) and `perf stat`
# (DIR/put-SIZE.perf.data, DIR/put-SIZE.stat).
# shellcheck source-path=SCRIPTDIR source=lib.sh disable=SC2119 # start_mkv takes optional flags
source "$(dirname "$0")/lib.sh"

if [ $# -gt 0 ]; then
	sizes=("$@")
elif quick; then
	sizes=(64)
else
	sizes=(256 1024)
fi
reps 3 2

start_volumes 3
if [ "$MKV_BENCH_VOLUME" = local ]; then
	free_port
	PORT=$FREE_PORT "$MKV_VOLUME" "${VOL_DIRS[0]}" </dev/null >"$WORK/getbase.log" 2>&1 &
	PIDS+=($!)
	wait_http $! "$FREE_PORT" "$WORK/getbase.log"
	get_base=http://127.0.0.1:$FREE_PORT
else
	get_base=${VOL_URLS[0]}
fi

# direct_put FILE NAME: the three replica writes at once, straight to the volumes.
direct_put() {
	local file=$1 name=$2 i pids=() rc=0
	for i in 0 1 2; do
		if [ "$MKV_BENCH_VOLUME" = local ]; then
			(dd if="$file" of="${VOL_DIRS[i]}/.tmp-$name" bs=4M conv=fsync status=none &&
				mv "${VOL_DIRS[i]}/.tmp-$name" "${VOL_DIRS[i]}/$name" && sync "${VOL_DIRS[i]}") &
		else
			curl -sf -o /dev/null -T "$file" "${VOL_URLS[i]}/$name" &
		fi
		pids+=($!)
	done
	for i in "${pids[@]}"; do
		wait "$i" || rc=1
	done
	return $rc
}

direct_delete() {
	local i
	for i in 0 1 2; do
		if [ "$MKV_BENCH_VOLUME" = local ]; then
			rm -f "${VOL_DIRS[i]}/$1"
		else
			curl -sf -o /dev/null -X DELETE "${VOL_URLS[i]}/$1"
		fi
	done
}

mkv_put() {
	local code
	code=$(curl -s -o /dev/null -w '%{http_code}' -T "$1" "$MKV_URL/$2")
	[ "$code" = 201 ] || {
		echo "PUT /$2 through mkv: $code" >&2
		tail "$WORK/mkv$MKV_COUNT.log" >&2
		return 1
	}
}

# timed CMD...: "SECONDS MACHINE_CPU MASTER_CPU" of CMD, the CPU in seconds
# (after a sync, so no earlier write is flushed meanwhile).
timed() {
	local t0 t1 b0 b1 m0 m1
	sync
	b0=$(busy_ticks) m0=$(pid_ticks "$MKV_PID") t0=$(now)
	"$@" || return # errexit does not reach into a command substitution
	b1=$(busy_ticks) m1=$(pid_ticks "$MKV_PID") t1=$(now)
	calc 'sprintf("%.2f %.2f %.2f", t1 - t0, (b1 - b0) / hz, (m1 - m0) / hz)' \
		t0="$t0" t1="$t1" b0="$b0" b1="$b1" m0="$m0" m1="$m1" hz="$TICKS_PER_S"
}

# compare_puts MB NAME OP TARGET: REPS PUTs of the value through the running
# master against the direct PUTs, alternating; reports the times, then the
# CPU the whole machine spent on each side and the master's share of it.
compare_puts() {
	local mb=$1 name=$2 op=$3 target=$4 rep order side out d d_cpu m m_cpu m_master
	local runs_direct=() runs_mkv=() cpu_direct=() cpu_mkv=() cpu_master=()
	for ((rep = 1; rep <= REPS; rep++)); do
		# Each side's copies go before the other side runs, and the sides
		# take turns going first: a PUT while the other side's 3 copies
		# still hold memory ran up to 2x slower here, whichever side it was.
		order=(direct mkv)
		[ $((rep % 2)) = 1 ] || order=(mkv direct)
		for side in "${order[@]}"; do
			if [ "$side" = direct ]; then
				out=$(timed direct_put "$WORK/value" "direct-$mb")
				read -r d d_cpu _ <<<"$out"
				direct_delete "direct-$mb"
			else
				out=$(timed mkv_put "$WORK/value" "big/$mb-$rep")
				read -r m m_cpu m_master <<<"$out"
				curl -sf -o /dev/null -X DELETE "$MKV_URL/big/$mb-$rep"
			fi
		done
		note "$name run $rep: direct ${d} s (CPU ${d_cpu} s), mkv ${m} s (CPU ${m_cpu} s," \
			"of which the master ${m_master} s)"
		runs_direct+=("$d")
		runs_mkv+=("$m")
		cpu_direct+=("$d_cpu")
		cpu_mkv+=("$m_cpu")
		cpu_master+=("$m_master")
	done
	report "$name" "$(printf %.2f "$(median "${runs_mkv[@]}")")" s \
		"$(printf %.2f "$(median "${runs_direct[@]}")")" "s direct parallel PUTs" "$op" "$target"
	report "machine CPU for the $name" "$(printf %.2f "$(median "${cpu_mkv[@]}")")" s \
		"$(printf %.2f "$(median "${cpu_direct[@]}")")" "s direct" - -
	report "master CPU for the $name" "$(printf %.2f "$(median "${cpu_master[@]}")")" s - - - -
}

# get_rate URL SIZE_MB: MB/s of a GET following redirects; fails unless every byte came.
get_rate() {
	local out
	out=$(curl -sfL -o /dev/null -w '%{size_download} %{time_total}' "$1")
	[ "${out%% *}" = "$(($2 << 20))" ] || {
		echo "GET $1: got ${out%% *} bytes, not $(($2 << 20))" >&2
		return 1
	}
	calc 'sprintf("%.0f", s / 1048576 / t)' s="${out%% *}" t="${out##* }"
}

for mb in "${sizes[@]}"; do
	head -c "$((mb << 20))" /dev/urandom >"$WORK/value"
	start_mkv
	compare_puts "$mb" "PUT $mb MB (3 replicas)" '<=' 1.25
	report "master peak RSS after the $mb MB PUTs" "$(peak_rss_mb "$MKV_PID")" MB - - '<' 64

	direct_put "$WORK/value" "direct-$mb"
	mkv_put "$WORK/value" "big/$mb-get"
	runs_direct=() runs_mkv=()
	for ((rep = 1; rep <= REPS; rep++)); do
		runs_direct+=("$(get_rate "$get_base/direct-$mb" "$mb")")
		runs_mkv+=("$(get_rate "$MKV_URL/big/$mb-get" "$mb")")
	done
	report "GET $mb MB through the redirect" "$(printf %.0f "$(median "${runs_mkv[@]}")")" MB/s \
		"$(printf %.0f "$(median "${runs_direct[@]}")")" "MB/s direct from nginx" - -
	report "master peak RSS after the $mb MB GETs" "$(peak_rss_mb "$MKV_PID")" MB - - '<' 64

	if [ -n "${MKV_BENCH_PERF:-}" ]; then
		# One more PUT with the master under perf record and perf stat.
		mkdir -p "$MKV_BENCH_PERF"
		sync
		# shellcheck disable=SC2086 # the knob holds several arguments
		perf record ${MKV_BENCH_PERF_ARGS:--g} -p "$MKV_PID" -o "$MKV_BENCH_PERF/put-$mb.perf.data" \
			2>"$WORK/perf-record.log" &
		perf_record=$!
		perf stat -e task-clock,context-switches -p "$MKV_PID" -o "$MKV_BENCH_PERF/put-$mb.stat" &
		perf_stat=$!
		sleep 0.5
		m=$(timed mkv_put "$WORK/value" "big/$mb-profiled")
		m=${m%% *}
		kill -INT "$perf_record" "$perf_stat"
		wait "$perf_record" "$perf_stat" || true
		note "profiled PUT $mb MB: $m s, master CPU" \
			"$(awk '/task-clock/ { gsub(",", "", $1); printf "%.2f s", $1 / 1000 }' "$MKV_BENCH_PERF/put-$mb.stat")" \
			"($MKV_BENCH_PERF/put-$mb.perf.data)"
		curl -sf -o /dev/null -X DELETE "$MKV_URL/big/$mb-profiled"
	fi

	direct_delete "direct-$mb"
	curl -sf -o /dev/null -X DELETE "$MKV_URL/big/$mb-get"

	# What hashing costs: the MD5 of the value alone (OpenSSL, one core), and
	# the same PUTs through a master that does not hash (-md5sum=false).
	out=$(timed openssl dgst -md5 -out /dev/null "$WORK/value")
	report "MD5 of $mb MB alone (openssl dgst -md5)" "${out%% *}" s - - - -
	stop_mkv
	start_mkv -md5sum=false
	compare_puts "$mb" "PUT $mb MB with -md5sum=false" - -
	stop_mkv
done
