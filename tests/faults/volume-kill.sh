#!/bin/bash
# volume-kill.sh - SIGKILL a volume's nginx in the middle of a write storm and
# bring it back, then another one: no acknowledged write is lost, no write that
# was not acknowledged reads back wrong, and ?list names only keys that read
# back. 16 writers PUT 2000 keys of 1 KB to 2 MB; 4 volumes, 3 replicas, so a
# quarter of the keys do not need the dead volume (the others may fail with a
# 5xx, or go to a live volume instead: either way the promises hold).
# shellcheck source=faultlib.sh
. "$(dirname "${BASH_SOURCE[0]}")/faultlib.sh"

WRITERS=16
KEYS=${FAULT_STORM_KEYS:-125} # per writer
DOWN_S=3                      # how long a volume stays dead

for i in 1 2 3 4; do
	start_volume "$i"
done
start_mkv -replicas 3 -voltimeout 500ms
echo "# master on port $MKV_PORT"

storm_start /storm "$WRITERS" "$KEYS"
total=$((WRITERS * KEYS))
for step in "2 $((total / 4))" "3 $((total * 3 / 5))"; do
	read -r vol at <<<"$step"
	storm_wait_tried "$at" 120
	kill_volume "$vol"
	before=$(storm_tried)
	sleep "$DOWN_S"
	echo "# $(($(storm_tried) - before)) PUTs answered while volume $vol was dead"
	restart_volume "$vol"
	echo "# volume $vol back on port ${VOL_PORT[$vol]} after $(storm_tried) PUTs"
done
storm_wait 150

check "the master survived" yes "$(proc_alive "$MKV_PID" && echo yes || echo no)"
storm_verify "volumes SIGKILLed mid-storm" /storm

check_takes_writes

finish
