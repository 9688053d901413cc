#!/usr/bin/env bash
# GET of a missing key (404) and of a live key through mkv, with wrk (2 threads,
# 100 connections), against nginx answering a fixed 302 on its own. Then the
# same live GETs spread over 1,000 keys at random (bench/spread.lua), where
# GETs of one key seldom share the replica check.
#
#   bash bench/http.sh        (from the build directory; see bench/lib.sh for the knobs)
#
# The baseline is a separate nginx (the binary mkv-volume runs) with
# `worker_processes auto` and `location / { return 302 ...; }`: the cheapest
# answer an HTTP server on this machine gives. A live key's GET costs mkv an
# index read and a HEAD to a replica before its 302. With local volumes the
# master answers a live key itself (200 and the bytes), so that GET is also
# compared with the same nginx serving the same small file.
# Each URL gets 5 runs of 4 s (quick: 3 of 2 s), interleaved with the others so
# that every figure and its baseline see the same moments of a noisy machine;
# the median run counts.
# Targets: missing key >= 0.9x the fixed 302; live key >= 0.5x.
#
# MKV_BENCH_PERF=DIR adds, after the measured runs, two more runs of each mkv
# URL: one with the master under `perf record $MKV_BENCH_PERF_ARGS` (default
# -g), leaving DIR/NAME.perf.data for NAME missing, live and spread, and one
# with the whole machine under `perf record -a -F 999` (which process takes the CPU), leaving
# DIR/NAME.all.perf.data (also for the baselines); read them with
# `perf report -i`. Then `perf stat` counts the master's CPU time and context
# switches during one more run of each (DIR/NAME.stat).
# shellcheck source-path=SCRIPTDIR source=lib.sh disable=SC2119 # start_mkv takes optional flags
source "$(dirname "$0")/lib.sh"

seconds=4
quick && seconds=2
reps 5 3
size=1024
command -v wrk >/dev/null || {
	echo "http: wrk is not installed: skipped"
	exit 0
}

start_volumes 3
start_mkv
head -c "$size" /dev/urandom >"$WORK/value"
curl -sf -o /dev/null -X PUT -T "$WORK/value" "$MKV_URL/bench/live"
live_status=$(curl -s -o /dev/null -w '%{http_code}' "$MKV_URL/bench/live")
spread=1000
for ((i = 1; i <= spread; i++)); do
	printf 'url = "%s/bench/spread/%d"\nupload-file = "%s"\noutput = "/dev/null"\n' \
		"$MKV_URL" "$i" "$WORK/value"
done >"$WORK/spread.curl"
created=$(curl -s -Z --parallel-max 16 -w '%{http_code}\n' -K "$WORK/spread.curl" 2>/dev/null | grep -c '^201$')
if [ "$created" != "$spread" ]; then
	echo "http: only $created of the $spread spread keys were written" >&2
	exit 1
fi
spread_status=$(curl -s -o /dev/null -w '%{http_code}' "$MKV_URL/bench/spread/$spread")
missing_status=$(curl -s -o /dev/null -w '%{http_code}' "$MKV_URL/bench/missing")

# The baseline nginx: a fixed 302, and the same small value as a file.
user_line=
[ "$(id -u)" -eq 0 ] && user_line="user $(id -un) $(id -gn);"
temp_paths=
for module in client_body proxy fastcgi uwsgi scgi; do
	case $("$NGINX" -V 2>&1) in
	*--without-http_${module}_module*) ;;
	*) temp_paths+="    ${module}_temp_path \"@DIR@/${module}_temp\";"$'\n' ;;
	esac
done
cat >"$WORK/base.conf" <<CONF
$user_line
daemon off;
master_process on;
worker_processes auto;
pid "@DIR@/nginx.pid";
lock_file "@DIR@/nginx.lock";
error_log stderr error;
events {
    worker_connections 4096;
}
http {
    access_log off;
    sendfile on;
    tcp_nodelay on;
    server_tokens off;
    keepalive_requests 100000;
    default_type application/octet-stream;
$temp_paths
    server {
        listen 127.0.0.1:@PORT@ default_server backlog=4096;
        location / {
            return 302 http://127.0.0.1:@PORT@/x;
        }
        location /www/ {
            root "@DIR@";
        }
    }
}
CONF
start_nginx base "$WORK/base.conf"
mkdir -p "$WORK/base/www/spread"
cp "$WORK/value" "$WORK/base/www/value"
for ((i = 1; i <= spread; i++)); do
	cp "$WORK/value" "$WORK/base/www/spread/$i"
done

# wrk_rate NAME URL [SECONDS]: requests/s of one wrk run; notes errors. A
# URL ending in "spread/" gets one of the spread keys under it per request.
wrk_rate() {
	local name=$1 url=$2 secs=${3:-$seconds} out rate script=()
	[[ $url == */spread/ ]] && script=(-s "$BENCH_DIR/spread.lua")
	out=$(wrk -t2 -c100 -d"${secs}s" "${script[@]}" "$url" -- "$spread" 2>&1)
	rate=$(awk '/^Requests\/sec:/ { print $2 }' <<<"$out")
	if grep -q 'Socket errors' <<<"$out"; then
		note "$name: $(grep 'Socket errors' <<<"$out" | sed 's/^ *//')"
	fi
	if [ "$name" != missing ] && grep -q 'Non-2xx' <<<"$out"; then
		note "$name: $(grep 'Non-2xx' <<<"$out" | sed 's/^ *//')"
	fi
	echo "${rate:-0}"
}

declare -A url runs
url[base302]=$NGINX_URL/
url[missing]=$MKV_URL/bench/missing
url[live]=$MKV_URL/bench/live
url[spread]=$MKV_URL/bench/spread/
names=(base302 missing live spread)
if [ "$MKV_BENCH_VOLUME" = local ]; then
	url[basefile]=$NGINX_URL/www/value
	url[basespread]=$NGINX_URL/www/spread/
	names+=(basefile basespread)
fi
note "status of the missing key: $missing_status, of the live key: $live_status," \
	"of spread key $spread: $spread_status, of the baseline: $(curl -s -o /dev/null -w '%{http_code}' "${url[base302]}")"

for name in "${names[@]}"; do
	wrk_rate "$name" "${url[$name]}" 1 >/dev/null # warm-up
	runs[$name]=
done
for ((rep = 1; rep <= REPS; rep++)); do
	line="run $rep:"
	for name in "${names[@]}"; do
		r=$(wrk_rate "$name" "${url[$name]}")
		line+=" $name $r/s"
		runs[$name]+=" $r"
	done
	note "$line"
done

declare -A med
for name in "${names[@]}"; do
	# shellcheck disable=SC2086 # a list of numbers
	med[$name]=$(printf %.0f "$(median ${runs[$name]})")
done
report "GET missing key ($missing_status)" "${med[missing]}" req/s \
	"${med[base302]}" "req/s nginx fixed 302" '>=' 0.9
if [ "$MKV_BENCH_VOLUME" = local ]; then
	report "GET live key ($live_status, $size B served by the master)" "${med[live]}" req/s \
		"${med[basefile]}" "req/s nginx serving the file" '>=' 0.5
	report "GET of $spread live keys at random (served by the master)" "${med[spread]}" req/s \
		"${med[basespread]}" "req/s nginx serving the $spread files" - -
else
	report "GET live key ($live_status, replica check included)" "${med[live]}" req/s \
		"${med[base302]}" "req/s nginx fixed 302" '>=' 0.5
	report "GET of $spread live keys at random (replica checks seldom shared)" "${med[spread]}" req/s \
		"${med[base302]}" "req/s nginx fixed 302" - -
fi
report "master peak RSS during GETs" "$(peak_rss_mb "$MKV_PID")" MB - - '<' 64

if [ -n "${MKV_BENCH_PERF:-}" ]; then
	mkdir -p "$MKV_BENCH_PERF"
	seconds=10 # each profiled run: wrk runs 9 s inside a 10 s recording
	# profiled NAME OUTPUT PERF-ARGS...: one more wrk run of NAME under perf record.
	profiled() {
		local name=$1 out=$MKV_BENCH_PERF/$2 perf_pid
		shift 2
		perf record "$@" -o "$out" -- sleep "$seconds" 2>"$WORK/perf.log" &
		perf_pid=$!
		sleep 0.5
		note "profiled run of $name: $(wrk_rate "$name" "${url[$name]}" "$((seconds - 1))") req/s ($out)"
		wait "$perf_pid" || cat "$WORK/perf.log" >&2
	}
	for name in missing live spread; do
		# shellcheck disable=SC2086 # the knob holds several arguments
		profiled "$name" "$name.perf.data" ${MKV_BENCH_PERF_ARGS:--g} -p "$MKV_PID"
	done
	for name in "${names[@]}"; do
		profiled "$name" "$name.all.perf.data" -a -F 999
	done
	for name in missing live spread; do
		perf stat -e task-clock,context-switches -p "$MKV_PID" -o "$MKV_BENCH_PERF/$name.stat" \
			-- sleep "$seconds" 2>"$WORK/perf.log" &
		perf_pid=$!
		sleep 0.5
		rate=$(wrk_rate "$name" "${url[$name]}" "$((seconds - 1))")
		wait "$perf_pid" || cat "$WORK/perf.log" >&2
		note "counted run of $name: $rate req/s;" \
			"$(awk '/task-clock/ { gsub(",", "", $1); t = $1 } /context-switches/ { gsub(",", "", $1); c = $1 }
				END { printf "master CPU %.1f us and %.1f context switches per request", t * 1000 / n, c / n }' \
				n="$(calc 'r * s' r="$rate" s="$((seconds - 1))")" "$MKV_BENCH_PERF/$name.stat")"
	done
	note "master pid $MKV_PID, volumes ${VOLUMES[*]}: perf report --sort comm -i $MKV_BENCH_PERF/live.all.perf.data"
fi
