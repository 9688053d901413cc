# shellcheck shell=bash
# lib.sh - what mkv's benchmark scripts share (sourced, not run).
#
# A benchmark sources this file, starts its own cluster on free loopback ports
# inside one temporary directory ($WORK), measures, and prints one line per
# figure with report(). Whatever happens, the EXIT trap stops every process the
# benchmark started (by pid, and waits for it) and removes $WORK.
#
# Environment (set by bench/run.sh; the defaults suit a run from the build
# directory):
#   top_builddir            where mkv, mkv-volume and plugins/.libs are ($PWD)
#   MKV_BENCH_INDEX         leveldb (default) or lmdb
#   MKV_BENCH_VOLUME        nginx (default) or local
#   MKV_BENCH_QUICK         1: smaller sizes and shorter runs
#   MKV_BENCH_REPS          runs of each measurement; the median counts (default:
#                           each script's own, set with reps())
#   MKV_BENCH_ARGS          extra flags for every master (e.g. -md5sum=false)
#   TMPDIR                  where the work directory goes (default /tmp)
#   MKV_BENCH_RESULTS       a file every report() line is also appended to
#
# Cluster:
#   start_volumes N         N volumes: nginx (mkv-volume) on free ports, or
#                           directories for local; sets VOLUMES (array of what
#                           -volumes takes), VOL_DIRS, VOL_URLS (nginx only)
#   start_mkv ARGS...       a master on the first N volumes ($MKV_VOLUMES, default
#                           all), the chosen backends, a fresh index; extra ARGS
#                           go to mkv. Sets MKV_PID, MKV_URL, MKV_DB
#   stop_mkv                stop the last master (its index stays)
#   mkv_cmd ARGS...         run `mkv` with the chosen backends and -plugindir
#                           (MKV_CMD: the same as an array)
#   start_nginx NAME CONF   run the nginx of mkv-volume on a config file written
#                           by the caller (with @PORT@ for its port); sets NGINX_URL
#   peak_rss_mb PID         VmHWM of PID in MB
#
# CPU accounting (clock ticks of CLK_TCK per second, from /proc):
#   busy_ticks              CPU time the whole machine has spent busy (user,
#                           nice, system, irq, softirq; not idle, iowait, steal)
#   pid_ticks PID           CPU time of PID, every thread it ran included
#   TICKS_PER_S             the clock tick rate
#
# Figures:
#   report NAME VALUE UNIT BASE_VALUE BASE_UNIT OP TARGET
#       prints "NAME: VALUE UNIT (baseline: BASE_VALUE BASE_UNIT, ratio R, target OP TARGET)"
#       with R = VALUE / BASE_VALUE; OP is >= or <=. BASE_VALUE "-" means no
#       baseline; TARGET "-" means no target.
#   note TEXT               a line of context (prefixed "# ")
#   reps FULL QUICK         how many runs (REPS) each measurement gets
#   median VALUE...         the median of the runs: on a shared, noisy machine one
#                           lucky or unlucky run must not decide a ratio

# The variables set here are for the scripts that source this file.
# shellcheck disable=SC2034
set -euo pipefail
export LC_ALL=C

: "${top_builddir:=$PWD}"
: "${MKV_BENCH_INDEX:=leveldb}"
: "${MKV_BENCH_VOLUME:=nginx}"
: "${MKV_BENCH_QUICK:=0}"
: "${MKV_BENCH_RESULTS:=/dev/null}"
BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
MKV=$top_builddir/mkv
MKV_VOLUME=$top_builddir/mkv-volume
PLUGINDIR=$top_builddir/plugins/.libs

case $MKV_BENCH_INDEX in leveldb | lmdb) ;; *)
	echo "MKV_BENCH_INDEX must be leveldb or lmdb, not '$MKV_BENCH_INDEX'" >&2
	exit 2
	;;
esac
case $MKV_BENCH_VOLUME in nginx | local) ;; *)
	echo "MKV_BENCH_VOLUME must be nginx or local, not '$MKV_BENCH_VOLUME'" >&2
	exit 2
	;;
esac
for f in "$MKV" "$MKV_VOLUME"; do
	[ -x "$f" ] || {
		echo "$f is missing: build mkv first (make)" >&2
		exit 2
	}
done
NGINX=$(sed -n "s/^NGINX='\(.*\)'$/\1/p" "$MKV_VOLUME")
NGINX=${NGINX:-nginx}

quick() { [ "$MKV_BENCH_QUICK" = 1 ]; }

PIDS=()
WORK=$(mktemp -d "${TMPDIR:-/tmp}/mkv-bench.XXXXXX")

cleanup() {
	local rc=$? pid
	trap - EXIT
	for pid in "${PIDS[@]}"; do
		kill -CONT "$pid" 2>/dev/null || true
		kill -TERM "$pid" 2>/dev/null || true
	done
	for pid in "${PIDS[@]}"; do
		wait "$pid" 2>/dev/null || true
	done
	rm -rf -- "$WORK"
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# forget PID: drop PID from the processes cleanup stops.
forget() {
	local kept=() p
	for p in "${PIDS[@]}"; do
		[ "$p" = "$1" ] || kept+=("$p")
	done
	PIDS=("${kept[@]}")
}

# Ports outside the kernel's ephemeral range, which client connections use.
EPH_LOW=0 EPH_HIGH=0
read -r EPH_LOW EPH_HIGH </proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || true
USED_PORTS=" "

# free_port: sets FREE_PORT to a loopback port nobody listens on.
free_port() {
	local port i
	for ((i = 0; i < 1000; i++)); do
		port=$((20000 + (RANDOM * 32768 + RANDOM) % 40001))
		[ "$port" -ge "$EPH_LOW" ] && [ "$port" -le "$EPH_HIGH" ] && continue
		case $USED_PORTS in *" $port "*) continue ;; esac
		if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
			USED_PORTS+="$port "
			FREE_PORT=$port
			return 0
		fi
	done
	echo "no free port found" >&2
	exit 1
}

# wait_http PID PORT LOG: wait until PID answers HTTP on PORT (20 s at most).
wait_http() {
	local i
	for ((i = 0; i < 200; i++)); do
		if ! kill -0 "$1" 2>/dev/null; then
			echo "pid $1 exited during startup:" >&2
			cat "$3" >&2
			exit 1
		fi
		curl -s -o /dev/null --max-time 2 "http://127.0.0.1:$2/" && return 0
		sleep 0.1
	done
	echo "pid $1 does not answer on port $2:" >&2
	cat "$3" >&2
	exit 1
}

start_volumes() {
	local i port
	VOLUMES=() VOL_DIRS=() VOL_URLS=()
	for ((i = 1; i <= $1; i++)); do
		VOL_DIRS+=("$WORK/vol$i")
		mkdir -p "$WORK/vol$i"
		if [ "$MKV_BENCH_VOLUME" = local ]; then
			VOLUMES+=("$WORK/vol$i")
			continue
		fi
		free_port
		port=$FREE_PORT
		PORT=$port "$MKV_VOLUME" "$WORK/vol$i" </dev/null >"$WORK/vol$i.log" 2>&1 &
		PIDS+=($!)
		wait_http $! "$port" "$WORK/vol$i.log"
		VOLUMES+=("127.0.0.1:$port")
		VOL_URLS+=("http://127.0.0.1:$port")
	done
}

MKV_CMD=("$MKV" -plugindir "$PLUGINDIR" -index "$MKV_BENCH_INDEX" -volume "$MKV_BENCH_VOLUME")
mkv_cmd() { "${MKV_CMD[@]}" "$@"; }

MKV_COUNT=0
start_mkv() {
	local n=${MKV_VOLUMES:-${#VOLUMES[@]}} port
	free_port
	port=$FREE_PORT
	MKV_COUNT=$((MKV_COUNT + 1))
	MKV_DB=$WORK/index$MKV_COUNT
	# Not through mkv_cmd: $! must be mkv's own pid (for VmHWM and kill).
	# shellcheck disable=SC2086 # MKV_BENCH_ARGS holds several flags
	"${MKV_CMD[@]}" -port "$port" -db "$MKV_DB" -volumes "$(IFS=,; echo "${VOLUMES[*]:0:n}")" \
		${MKV_BENCH_ARGS:-} "$@" server </dev/null >"$WORK/mkv$MKV_COUNT.log" 2>&1 &
	MKV_PID=$!
	PIDS+=("$MKV_PID")
	wait_http "$MKV_PID" "$port" "$WORK/mkv$MKV_COUNT.log"
	MKV_URL=http://127.0.0.1:$port
}

stop_mkv() {
	kill -TERM "$MKV_PID" 2>/dev/null || true
	wait "$MKV_PID" 2>/dev/null || true
	forget "$MKV_PID"
}

start_nginx() {
	local name=$1 conf=$2 dir=$WORK/$1
	mkdir -p "$dir"
	free_port
	sed -e "s|@PORT@|$FREE_PORT|g" -e "s|@DIR@|$dir|g" "$conf" >"$dir/nginx.conf"
	"$NGINX" -e stderr -p "$dir/" -c "$dir/nginx.conf" </dev/null >"$dir.log" 2>&1 &
	PIDS+=($!)
	wait_http $! "$FREE_PORT" "$dir.log"
	NGINX_URL=http://127.0.0.1:$FREE_PORT
}

# reps FULL QUICK: sets REPS, the runs of each measurement (MKV_BENCH_REPS wins).
reps() {
	REPS=${MKV_BENCH_REPS:-$1}
	quick && REPS=${MKV_BENCH_REPS:-$2}
	return 0
}

# median VALUE...: the middle value (the mean of the two middle ones for an even count).
median() {
	printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 }
		END { print (NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2) }'
}

peak_rss_mb() {
	awk '/^VmHWM:/ { printf "%.1f", $2 / 1024 }' "/proc/$1/status"
}

now() { date +%s.%N; }

TICKS_PER_S=$(getconf CLK_TCK)
busy_ticks() { awk '/^cpu / { print $2 + $3 + $4 + $7 + $8 }' /proc/stat; }
pid_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }

# calc EXPR VAR=VALUE...: an awk expression over the given variables.
calc() {
	local expr=$1 args=() a
	shift
	for a in "$@"; do args+=(-v "$a"); done
	awk "${args[@]}" "BEGIN { print ($expr) }"
}

report() {
	local name=$1 value=$2 unit=$3 base=$4 base_unit=$5 op=$6 target=$7 line ratio verdict
	if [ "$base" = - ]; then
		line="$name: $value $unit"
		ratio=$value
		[ "$target" = - ] || line+=" (target $op $target)"
	else
		ratio=$(calc 'sprintf("%.2f", a / b)' a="$value" b="$base")
		line="$name: $value $unit (baseline: $base $base_unit, ratio $ratio"
		[ "$target" = - ] || line+=", target $op $target"
		line+=")"
	fi
	echo "$line"
	[ "$target" = - ] && verdict=- ||
		verdict=$(calc "(r $op t) ? \"met\" : \"MISSED\"" r="$ratio" t="$target")
	printf '%s\t%s\t%s\n' "$MKV_BENCH_INDEX+$MKV_BENCH_VOLUME" "$verdict" "$line" >>"$MKV_BENCH_RESULTS"
}

note() { echo "# $*"; }
