#!/usr/bin/env bash
# Large PUT through the master against the same PUT straight to one nginx volume,
# measured in the same run; and the master's peak RSS over the whole run.
#
#   bash bench/put_large.sh [SIZE_MB]      (default 256; run from the build directory)
#
# Prints the times, their ratio (the issue's target: mkv <= 3x one direct PUT) and
# the master's VmHWM (target: under 64 MB).
set -euo pipefail
top=${top_builddir:-$PWD}
size_mb=${1:-256}
work=$(mktemp -d /tmp/mkv-bench.XXXXXX)
pids=()
cleanup() {
	kill "${pids[@]}" 2>/dev/null || true
	wait 2>/dev/null || true
	rm -rf "$work"
}
trap cleanup EXIT

free_port() {
	local p
	while :; do
		p=$((20000 + RANDOM % 40000))
		(exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null || { echo "$p"; return; }
	done
}
wait_for() {
	for _ in $(seq 100); do
		curl -s -o /dev/null "http://127.0.0.1:$1/" && return 0
		sleep 0.1
	done
	echo "nothing answers on port $1" >&2
	exit 1
}
seconds() { # command...: wall time in seconds
	local t0 t1
	t0=$(date +%s.%N)
	"$@" >/dev/null
	t1=$(date +%s.%N)
	awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }'
}

volumes=()
for i in 1 2 3; do
	port=$(free_port)
	PORT=$port "$top/mkv-volume" "$work/v$i" >"$work/v$i.log" 2>&1 &
	pids+=($!)
	wait_for "$port"
	volumes+=("127.0.0.1:$port")
done
mport=$(free_port)
"$top/mkv" -port "$mport" -volumes "$(IFS=,; echo "${volumes[*]}")" -db "$work/index" \
	-plugindir "$top/plugins/.libs" server >"$work/mkv.log" 2>&1 &
mkv_pid=$!
pids+=($mkv_pid)
wait_for "$mport"

head -c "$((size_mb << 20))" /dev/urandom >"$work/value"
direct=$(seconds curl -sf -X PUT -T "$work/value" "http://${volumes[0]}/direct-bench")
via=$(seconds curl -sf -L -X PUT -T "$work/value" "http://127.0.0.1:$mport/bench")
rss_kb=$(awk '/VmHWM/ {print $2}' "/proc/$mkv_pid/status")
curl -sf -L "http://127.0.0.1:$mport/bench" | cmp - "$work/value"

printf 'PUT %d MB direct to one volume: %.2f s\n' "$size_mb" "$direct"
printf 'PUT %d MB through mkv (3 replicas): %.2f s\n' "$size_mb" "$via"
printf 'ratio mkv/direct: %.2f (target <= 3)\n' "$(awk -v a="$via" -v b="$direct" 'BEGIN { print a / b }')"
printf 'master peak RSS: %d MB (target < 64)\n' "$((rss_kb / 1024))"
