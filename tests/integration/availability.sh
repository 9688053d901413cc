#!/bin/bash
# availability.sh - writes stay available when a volume is down: the copy for
# the dead volume goes to the next live volume in the key's ranking, the
# record says where the copies really are (Key-Balance: unbalanced), and
# rebalance moves it home once the volume is back; rebuild finds it too.
# -strict keeps the Go minikeyvalue's behaviour: such a PUT fails.
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

for i in 1 2 3 4; do
	start_volume "$i"
done
VOLS=("${VOL_NAME[@]}")
FLAGS=(-replicas 2 -subvolumes 1 -voltimeout 500ms)
DB=$WORK/index
start_mkv -db "$WORK/strict" "${FLAGS[@]}" -strict
STRICT=$MKV_URL
start_mkv -db "$DB" "${FLAGS[@]}"

# A key whose placement includes volume 2, and which volume it would use instead.
n=0
while :; do
	n=$((n + 1))
	key=/avail/$n
	placed=$(key_volumes "$key" 2 1 "${VOLS[@]}")
	[[ ,$placed, == *,${VOLS[1]},* ]] && break
done
ranking=$(key_volumes "$key" 4 1 "${VOLS[@]}")
IFS=, read -ra ranked <<<"$ranking"
spare=${ranked[2]}
expected=${placed/${VOLS[1]}/$spare}
head -c 300000 /dev/urandom >"$WORK/value"

stop_volume 2
req PUT "$key" --data-binary @"$WORK/value"
check "PUT with a placement volume down answers 201" 201 "$STATUS"
req HEAD "$key"
check "  Key-Volumes names the spare in the dead volume's place" "$expected" "$(hdr Key-Volumes)"
check "  Key-Balance says unbalanced" unbalanced "$(hdr Key-Balance)"
curl -s -L -o "$WORK/got" "$MKV_URL$key"
check_cmd "  the value reads back intact" same_bytes "$WORK/value" "$WORK/got"
req GET '/avail/?list'
check_match "  and the key is listed" "\"$key\"" "$(cat "$BODY")"

req PUT "$STRICT$key" --data-binary @"$WORK/value"
check "with -strict the same PUT answers 503" 503 "$STATUS"
req GET "$STRICT$key"
check "  and leaves no live key" 404 "$STATUS"

restart_volume 2
req REBALANCE "$key"
check "REBALANCE once the volume is back answers 204" 204 "$STATUS"
req HEAD "$key"
check "  the key is on its placement" "$placed" "$(hdr Key-Volumes)"
check "  and balanced" balanced "$(hdr Key-Balance)"
curl -s -L -o "$WORK/got" "$MKV_URL$key"
check_cmd "  and reads back intact" same_bytes "$WORK/value" "$WORK/got"
check "  the spare's copy is gone" 2 "$(volume_files)"

# GETs of one key at once share the check of a replica in flight; with one
# replica's volume down, each of them still ends at the live copy.
stop_volume 2
pids=()
for ((n = 0; n < 50; n++)); do
	curl -s -o /dev/null -w '%{http_code} %{redirect_url}\n' "$MKV_URL$key" &
	pids+=($!)
done >"$WORK/answers"
wait "${pids[@]}"
check "50 GETs at once with a replica's volume down all answer $LIVE_GET" 50 \
	"$(grep -c "^$LIVE_GET " "$WORK/answers")"
check "  none of them redirects to the dead volume" 0 "$(grep -c -F "${VOLS[1]}" "$WORK/answers")"
restart_volume 2

# Again through the offline commands: a write while volume 2 is down, then
# rebuild sees the copy where it is, and rebalance moves it home.
for ((n = 0; ; n++)); do
	key2=/avail/again$n
	[[ ,$(key_volumes "$key2" 2 1 "${VOLS[@]}"), == *,${VOLS[1]},* ]] && break
done
stop_volume 2
req PUT "$key2" --data-binary @"$WORK/value"
check "a second PUT with the volume down answers 201" 201 "$STATUS"
req HEAD "$key2"
before=$(hdr Key-Volumes)
stop_mkv
restart_volume 2
OUT=$("$MKV" -volumes "$(volumes_flag)" -db "$WORK/rebuilt" -plugindir "$MKV_TEST_PLUGINDIR" \
	"${BACKEND_FLAGS[@]}" "${FLAGS[@]}" rebuild 2>&1)
check "rebuild after it exits 0" 0 "$?"
OUT=$("$MKV" -volumes "$(volumes_flag)" -db "$DB" -plugindir "$MKV_TEST_PLUGINDIR" \
	"${BACKEND_FLAGS[@]}" "${FLAGS[@]}" rebalance 2>&1)
check "rebalance after it exits 0" 0 "$?"
start_mkv -db "$DB" "${FLAGS[@]}"
req HEAD "$key2"
check "  the key moved home" "$(key_volumes "$key2" 2 1 "${VOLS[@]}")" "$(hdr Key-Volumes)"
check "  from where it was written" true "$([ "$before" != "$(hdr Key-Volumes)" ] && echo true)"
check "  and is balanced" balanced "$(hdr Key-Balance)"
curl -s -L -o "$WORK/got" "$MKV_URL$key2"
check_cmd "  and reads back intact" same_bytes "$WORK/value" "$WORK/got"
start_mkv -db "$WORK/rebuilt" "${FLAGS[@]}"
req HEAD "$key2"
check "the rebuilt index serves the key written to the spare" "$LIVE_GET" "$STATUS"

finish
