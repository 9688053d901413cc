#!/bin/bash
# volume-nginx.sh - the volume conformance suite against the nginx backend.
#
# Starts a real nginx volume server with the built mkv-volume on a free
# loopback port, in a fresh temporary directory, runs volume_conformance over
# it (with a second free port as the replica nobody answers on), and always
# stops nginx and removes the directory. Exits with the suite's status.
#
# Needs top_builddir and MKV_TEST_PLUGINDIR (set by make check).
set -u
: "${top_builddir:?}" "${MKV_TEST_PLUGINDIR:?}"

suite=$top_builddir/tests/conformance/volume_conformance
plugin=$MKV_TEST_PLUGINDIR/nginx.so
dir=$(mktemp -d "${TMPDIR:-/tmp}/mkv-volume-nginx.XXXXXX") || exit 99
nginx_pid=

cleanup() {
	if [ -n "$nginx_pid" ]; then
		kill "$nginx_pid" 2>/dev/null
		wait "$nginx_pid" 2>/dev/null
	fi
	rm -rf -- "$dir"
}
trap cleanup EXIT

# True when something accepts connections on 127.0.0.1:$1.
listening() {
	(exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# A random port in 20000-60000 that nothing listens on.
free_port() {
	local port
	for _ in $(seq 200); do
		port=$((20000 + (RANDOM * 32768 + RANDOM) % 40001))
		if ! listening "$port"; then
			echo "$port"
			return 0
		fi
	done
	return 1
}

# Start nginx on $port; true once it answers, false when it exits first.
start_nginx() {
	PORT=$port HOST=127.0.0.1 "$top_builddir/mkv-volume" "$dir/volume" &
	nginx_pid=$!
	for _ in $(seq 100); do
		listening "$port" && return 0
		if ! kill -0 "$nginx_pid" 2>/dev/null; then
			wait "$nginx_pid"
			nginx_pid=
			return 1
		fi
		sleep 0.1
	done
	kill "$nginx_pid"
	wait "$nginx_pid"
	nginx_pid=
	return 1
}

# Another process may take the chosen port first: try a few.
for _ in 1 2 3; do
	port=$(free_port) || { echo "no free port" >&2; exit 99; }
	start_nginx && break
done
[ -n "$nginx_pid" ] || { echo "nginx did not start" >&2; exit 99; }
dead_port=$(free_port) || { echo "no free port" >&2; exit 99; }

"$suite" "$plugin" "127.0.0.1:$port" "127.0.0.1:$dead_port"
exit $?
