#!/usr/bin/env bash
# Rebuild and rebalance speed on N small keys (default 10,000) over nginx volumes.
#
#   bash bench/rebuild_rebalance.sh [KEYS]      (run from the build directory)
#
# Writes the keys through a master on 3 volumes, then times `mkv rebuild` of a
# new index from those volumes (keys/s; target >= 5,000), and `mkv rebalance`
# after adding 2 volumes (keys moved/s; target >= 3,000).
set -euo pipefail
top=${top_builddir:-$PWD}
keys=${1:-10000}
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
now() { date +%s.%N; }
rate() { awk -v n="$1" -v a="$2" -v b="$3" 'BEGIN { printf "%.0f", n / (b - a) }'; }

volumes=()
for i in 1 2 3 4 5; do
	port=$(free_port)
	PORT=$port "$top/mkv-volume" "$work/v$i" >"$work/v$i.log" 2>&1 &
	pids+=($!)
	wait_for "$port"
	volumes+=("127.0.0.1:$port")
done
three=$(IFS=,; echo "${volumes[*]:0:3}")
five=$(IFS=,; echo "${volumes[*]}")
mkv=("$top/mkv" -plugindir "$top/plugins/.libs")

mport=$(free_port)
"${mkv[@]}" -port "$mport" -volumes "$three" -db "$work/index" server >"$work/mkv.log" 2>&1 &
mkv_pid=$!
wait_for "$mport"
head -c 1000 /dev/urandom >"$work/value"
for i in $(seq "$keys"); do
	printf 'url = "http://127.0.0.1:%s/bench/key%s"\nupload-file = "%s"\noutput = "/dev/null"\n' \
		"$mport" "$i" "$work/value"
done >"$work/curl.conf"
t0=$(now)
curl -s --parallel --parallel-max 16 -K "$work/curl.conf" 2>/dev/null
t1=$(now)
kill "$mkv_pid"
wait "$mkv_pid" 2>/dev/null || true
echo "wrote $keys keys through mkv: $(rate "$keys" "$t0" "$t1") keys/s"

t0=$(now)
"${mkv[@]}" -volumes "$three" -db "$work/rebuilt" rebuild 2>"$work/rebuild.log"
t1=$(now)
grep -o 'rebuild: [0-9]* keys' "$work/rebuild.log"
echo "rebuild: $(rate "$keys" "$t0" "$t1") keys/s (target >= 5000)"

t0=$(now)
"${mkv[@]}" -volumes "$five" -db "$work/index" ${WORKERS:+-workers "$WORKERS"} rebalance 2>"$work/rebalance.log"
t1=$(now)
moved=$(sed -n 's/.*rebalance done: [0-9]* keys, \([0-9]*\) moved.*/\1/p' "$work/rebalance.log")
echo "rebalance 3 -> 5 volumes: $moved of $keys keys moved, $(rate "$moved" "$t0" "$t1") keys moved/s (target >= 3000)"
