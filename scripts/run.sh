#!/usr/bin/env bash
# Set up a fresh Debian machine and run a working mkv store in the foreground:
# three nginx volumes on ports 3001-3003 and the master on port 3000 with a LevelDB
# index, all data under one directory (default ./mkv-data, or the first argument).
# Ctrl-C stops everything; the data stays for the next run.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install-deps.sh
[ -x configure ] || autoreconf -fi
[ -f Makefile ] || ./configure --quiet
make -j2 >/dev/null

data=$(realpath -m "${1:-mkv-data}")
mkdir -p "$data"
pids=()
stop() {
	trap - EXIT INT TERM
	kill "${pids[@]}" 2>/dev/null || true
	wait 2>/dev/null || true
}
trap stop EXIT INT TERM

wait_for() { # port
	for _ in $(seq 100); do
		curl -s -o /dev/null "http://127.0.0.1:$1/" && return 0
		sleep 0.1
	done
	echo "run.sh: nothing answers on port $1; see $data/*.log" >&2
	exit 1
}

for port in 3001 3002 3003; do
	PORT=$port ./mkv-volume "$data/volume$((port - 3000))" >"$data/volume$((port - 3000)).log" 2>&1 &
	pids+=($!)
	wait_for "$port"
done
./mkv -port 3000 -volumes localhost:3001,localhost:3002,localhost:3003 \
	-db "$data/indexdb" -plugindir "$PWD/plugins/.libs" server > >(tee "$data/mkv.log") 2>&1 &
pids+=($!)
wait_for 3000

cat <<'USAGE'

mkv is running on http://localhost:3000 (Ctrl-C stops it). Try:

  echo "big value" > /tmp/value
  curl -L -X PUT -T /tmp/value localhost:3000/hello     # 201 Created
  curl -L localhost:3000/hello                          # big value
  curl -v localhost:3000/hello                          # 302 to a volume, Content-Md5, Key-Volumes
  curl 'localhost:3000/?list'                           # {"next":"","keys":["/hello"]}
  curl -X UNLINK localhost:3000/hello                   # 204: soft delete
  curl 'localhost:3000/?unlinked'                       # {"next":"","keys":["/hello"]}
  curl -X DELETE localhost:3000/hello                   # 204: gone from the volumes too

USAGE
wait
