#!/bin/bash
# master-kill.sh - SIGKILL the master in the middle of a write storm, twice, and
# restart it on the same index: no acknowledged write is lost, no write that
# was not acknowledged reads back wrong, and ?list names only keys that read
# back. 16 writers PUT 2000 keys of 1 KB to 2 MB to 4 nginx volumes.
# shellcheck source=faultlib.sh
. "$(dirname "${BASH_SOURCE[0]}")/faultlib.sh"

WRITERS=16
KEYS=${FAULT_STORM_KEYS:-125} # per writer

for i in 1 2 3 4; do
	start_volume "$i"
done
start_mkv -replicas 3
echo "# master on port $MKV_PORT, db $MKV_DB"

storm_start /storm "$WRITERS" "$KEYS"
total=$((WRITERS * KEYS))
for at in $((total / 4)) $((total * 3 / 5)); do
	storm_wait_tried "$at" 120
	kill_mkv
	sleep 0.5 # writers meet a dead master for a while
	restart_mkv
	echo "# master restarted (pid $MKV_PID) after $(storm_tried) PUTs"
done
storm_wait 150

check "the master is the one restarted last" yes "$(proc_alive "$MKV_PID" && echo yes || echo no)"
storm_verify "master SIGKILLed twice mid-storm" /storm

check_takes_writes

finish
