#!/bin/bash
# faults.sh - what clients see when volumes die, hang and come back, and when
# the master restarts: reads keep working from the live replicas within the
# volume timeout, writes that cannot reach every replica fail cleanly and
# leave no trace in the index, and the index survives a restart. A dead nginx
# volume is a stopped server; a dead local volume is an unmounted disk.
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

start_volume 1
start_volume 2
start_volume 3
VOLS=("${VOL_NAME[@]}")
LIMIT_MS=1500 # three times -voltimeout

# A single-replica master, for a key whose only replica will die.
start_mkv -replicas 1 -subvolumes 1 -voltimeout 500ms
SINGLE=$MKV_URL
# The master under test, started last so that restart_mkv restarts it.
start_mkv -subvolumes 1 -voltimeout 500ms
KEYS=(/f/k1 /f/k2 /f/k3 /f/k4 /f/k5 /f/k6)

# now_ms: the time in milliseconds.
now_ms() {
	echo $(($(date +%s%N) / 1000000))
}

# timed_req METHOD URL ARGS...: req, and set ELAPSED to its milliseconds.
timed_req() {
	local t0
	t0=$(now_ms)
	req "$@"
	ELAPSED=$(($(now_ms) - t0))
}

for key in "${KEYS[@]}"; do
	head -c 50000 /dev/urandom >"$WORK/value.${key##*/}"
	req PUT "$key" --data-binary @"$WORK/value.${key##*/}"
	check "PUT $key answers 201" 201 "$STATUS"
done

n=0
while :; do
	n=$((n + 1))
	lone=/single/$n
	[ "$(key_volumes "$lone" 1 1 "${VOLS[@]}")" = "${VOLS[1]}" ] && break
done
printf 'only on volume 2' >"$WORK/lone"
req PUT "$SINGLE$lone" --data-binary @"$WORK/lone"
check "-replicas 1: PUT $lone answers 201" 201 "$STATUS"
check_get "-replicas 1: $lone, on volume 2" "$SINGLE$lone" "$lone" "$WORK/lone" "${VOL_NAME[2]}"

# ---- a dead volume -----------------------------------------------------------------

# read_three KEY: GET KEY three times and follow each answer as a client does.
# Sets READS to the final status of each read, "bad" for one that did not get
# KEY's value, and SLOW to the milliseconds of a master's answer over
# LIMIT_MS, or 0.
read_three() {
	local key=$1 status
	READS='' SLOW=0
	for _ in 1 2 3; do
		timed_req GET "$key"
		[ "$ELAPSED" -lt "$LIMIT_MS" ] || SLOW=$ELAPSED
		status=$(follow "$WORK/got")
		same_bytes "$WORK/value.${key##*/}" "$WORK/got" || status=bad
		READS+="$status "
	done
}

stop_volume 2
for key in "${KEYS[@]}"; do
	read_three "$key"
	# A redirect to the dead volume would fail the read.
	check "volume 2 dead: 3 reads of $key get its value from volume 1 or 3" "200 200 200 " "$READS"
	check "volume 2 dead: GET $key answers within ${LIMIT_MS} ms" 0 "$SLOW"
done

printf 'a new value' >"$WORK/new"
timed_req PUT /f/new --data-binary @"$WORK/new" --max-time 60
check_match "volume 2 dead: PUT of a new key answers 5xx" '^5[0-9][0-9]$' "$STATUS"
req GET /f/new
check "volume 2 dead: GET of the failed key answers 404" 404 "$STATUS"
req GET '/f/new?list'
check "volume 2 dead: the failed key is not in ?list" '{"next":"","keys":[]}' "$(cat "$BODY")"
req GET '/f/new?unlinked'
check "volume 2 dead: the failed key is not in ?unlinked" '{"next":"","keys":[]}' "$(cat "$BODY")"

timed_req GET "$SINGLE$lone"
check "all replicas dead: GET answers 404" 404 "$STATUS"
check "all replicas dead: no redirect" "<absent>" "$(hdr Location)"
check "all replicas dead: Content-Length" 0 "$(hdr Content-Length)"
check "all replicas dead: GET answers within ${LIMIT_MS} ms" yes "$([ "$ELAPSED" -lt "$LIMIT_MS" ] && echo yes || echo "no, $ELAPSED ms")"

# ---- the volume comes back ---------------------------------------------------------

restart_volume 2
req PUT /f/new --data-binary @"$WORK/new"
check "volume 2 back: the failed PUT now answers 201" 201 "$STATUS"
check_get "volume 2 back: the new key" /f/new /f/new "$WORK/new" "$(key_volumes /f/new 3 1 "${VOLS[@]}")"
check_get "volume 2 back: the single-replica key is found again" "$SINGLE$lone" "$lone" \
	"$WORK/lone" "${VOL_NAME[2]}"

# ---- a hung volume: it accepts connections and never answers -----------------------

# A stopped process is the hang; a local directory cannot be made to hang.
if with_nginx_volumes "a hung volume"; then
	pause_volume 3
	for key in "${KEYS[@]}" "${KEYS[@]}"; do
		timed_req GET "$key"
		echo "# GET $key with volume 3 hung took $ELAPSED ms"
		check "volume 3 hung: GET $key answers 302" 302 "$STATUS"
		check_in "volume 3 hung: GET $key redirects to volume 1 or 2" "$(location_port)" \
			"${VOL_PORT[1]}" "${VOL_PORT[2]}"
		check "volume 3 hung: GET $key answers within ${LIMIT_MS} ms" yes \
			"$([ "$ELAPSED" -lt "$LIMIT_MS" ] && echo yes || echo "no, $ELAPSED ms")"
	done
	resume_volume 3
fi

# ---- the master restarts -----------------------------------------------------------

req UNLINK /f/k6
check "UNLINK /f/k6 answers 204" 204 "$STATUS"
restart_mkv
for key in /f/k1 /f/k2 /f/k3 /f/k4 /f/k5; do
	check_get "after a master restart: $key" "$key" "$key" "$WORK/value.${key##*/}" \
		"$(key_volumes "$key" 3 1 "${VOLS[@]}")"
done
req GET /f/k6
check "after a master restart: the unlinked key still answers 404" 404 "$STATUS"
req GET '/f/?list'
check "after a master restart: ?list has every live key" \
	'{"next":"","keys":["/f/k1","/f/k2","/f/k3","/f/k4","/f/k5","/f/new"]}' "$(cat "$BODY")"
req GET '/f/?unlinked'
check "after a master restart: ?unlinked has the unlinked key" \
	'{"next":"","keys":["/f/k6"]}' "$(cat "$BODY")"

finish
