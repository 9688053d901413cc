#!/bin/bash
# local-to-nginx.sh - a volume directory moves between the two volume backends
# without conversion. Values written through local volumes sit exactly where
# nginx volumes put them (DIR/svXX/xx/yy/<base64 key>), so nginx volumes
# started over the same directories serve every key once `mkv rebuild` has
# indexed them: the records name the same copies, the volumes now called
# host:port instead of by their directories, and a rebalance then moves each
# value to its placement under the new names. A value written through nginx
# volumes is served the other way round, by a master on local volumes.
MKV_TEST_VOLUME=local
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
require_nginx

FLAGS=(-replicas 2 -subvolumes 4)

# offline COMMAND DB [ARGS...]: `mkv COMMAND` (rebuild or rebalance) on the
# index DB over the volumes as they are now served; sets RC and OUT.
offline() {
	local command=$1 db=$2
	shift 2
	OUT=$("$MKV" -volumes "$(volumes_flag)" -db "$db" "${FLAGS[@]}" -plugindir "$MKV_TEST_PLUGINDIR" \
		"${BACKEND_FLAGS[@]}" "$@" "$command" 2>&1)
	RC=$?
}

value_of() {
	echo "$WORK/value$(printf '%s' "$1" | md5_hex)"
}

# switch_to BACKEND: switch_volumes, keeping each volume's name before it in OLD_NAME.
switch_to() {
	local i
	for i in "${!VOL_NAME[@]}"; do
		OLD_NAME[i]=${VOL_NAME[i]}
	done
	switch_volumes "$1"
}

# renamed REPLICAS: REPLICAS (comma-joined, named as before the last
# switch_to) under the volumes' new names, sorted, one a line.
renamed() {
	local r rs i
	IFS=, read -ra rs <<<"$1"
	for r in "${rs[@]}"; do
		for i in "${!OLD_NAME[@]}"; do
			[ "${r%/sv*}" = "${OLD_NAME[i]}" ] && r=${VOL_NAME[i]}/${r##*/}
		done
		echo "$r"
	done | sort
}

# check_moved NAME KEY: after the volumes changed names and the index was
# rebuilt, KEY's record names the copies it had (WAS_ON[KEY]) under the new
# names, Key-Balance says whether they are its new placement, and a client
# reads the value.
check_moved() {
	local name=$1 key=$2 placement balance=unbalanced
	req GET "$(urlencode "$key")"
	check "$name: GET answers $LIVE_GET" "$LIVE_GET" "$STATUS"
	check "$name: Key-Volumes names the same copies under the new names" \
		"$(renamed "${WAS_ON[$key]}")" "$(tr , '\n' <<<"$(hdr Key-Volumes)" | sort)"
	placement=$(key_volumes "$key" 2 4 "${VOL_NAME[@]}")
	[ "$(hdr Key-Volumes)" = "$placement" ] && balance=balanced
	check "$name: Key-Balance is $balance (placement $placement)" "$balance" "$(hdr Key-Balance)"
	check "$name: Content-Md5 (rebuild -rehash)" "$(md5_hex <"$(value_of "$key")")" "$(hdr Content-Md5)"
	read_value "$(urlencode "$key")"
	check "$name: a client reads it" 200 "$STATUS"
	check_cmd "$name: its exact bytes" same_bytes "$(value_of "$key")" "$BODY"
}

# ---- written through local volumes -----------------------------------------------------

for i in 1 2 3; do
	start_volume "$i"
done
start_mkv "${FLAGS[@]}"
KEYS=(/move/plain /move/a/b/c "/move/with space" "/move/naïve ☃" /move/100%25)
for i in $(seq 1 10); do
	KEYS+=("/move/many/$i")
done
declare -A WAS_ON
for key in "${KEYS[@]}"; do
	head -c $((1000 + RANDOM)) /dev/urandom >"$(value_of "$key")"
	req PUT "$(urlencode "$key")" --data-binary @"$(value_of "$key")"
	check "local: PUT $key answers 201" 201 "$STATUS"
	req HEAD "$(urlencode "$key")"
	WAS_ON[$key]=$(hdr Key-Volumes)
done

# Where nginx keeps a value: its volume's directory, the subvolume, then the
# key's MD5 and base64 path.
for key in "${KEYS[@]}"; do
	IFS=, read -ra replicas <<<"$(key_volumes "$key" 2 4 "${VOL_NAME[@]}")"
	for r in "${replicas[@]}"; do
		check_match "local: replica $r of $key is a subvolume of a volume directory" \
			"^$WORK/disk[1-3]/vol/sv0[0-3]\$" "$r"
		check_cmd "local: $key is at ${r#"$WORK"/}$(key_path "$key")" \
			same_bytes "$(value_of "$key")" "$r$(key_path "$key")"
	done
done
check "local: no other value file was written" $((2 * ${#KEYS[@]})) "$(volume_files)"
stop_mkv

# ---- served by nginx volumes over the same directories ---------------------------------

switch_to nginx
offline rebuild "$WORK/rebuilt" -rehash
check "rebuild from nginx volumes over the local directories exits 0" 0 "$RC"
check_match "  and finds every key" "rebuild: ${#KEYS[@]} keys" "$OUT"
start_mkv -db "$WORK/rebuilt" "${FLAGS[@]}"
for key in "${KEYS[@]}"; do
	check_moved "nginx, rebuilt: $key" "$key"
done
req GET '/move/?list'
check "nginx, rebuilt: ?list gives every key written through local volumes" \
	"$(printf '%s\n' "${KEYS[@]}" | sort)" "$(list_keys)"
stop_mkv

offline rebalance "$WORK/rebuilt"
check "rebalance to the nginx placement exits 0" 0 "$RC"
start_mkv -db "$WORK/rebuilt" "${FLAGS[@]}"
for key in "${KEYS[@]}"; do
	check_get "nginx, rebalanced: $key" "$(urlencode "$key")" "$key" "$(value_of "$key")" \
		"$(key_volumes "$key" 2 4 "${VOL_NAME[@]}")"
done
check "nginx, rebalanced: two copies of each value, no other" $((2 * ${#KEYS[@]})) "$(volume_files)"

# ---- and back: written through nginx, served by local volumes ----------------------------

BACK=/back/from/nginx
head -c 300000 /dev/urandom >"$(value_of "$BACK")"
req PUT "$BACK" --data-binary @"$(value_of "$BACK")"
check "nginx: PUT $BACK answers 201" 201 "$STATUS"
req HEAD "$BACK"
WAS_ON[$BACK]=$(hdr Key-Volumes)
stop_mkv

switch_to local
offline rebuild "$WORK/rebuilt-local" -rehash
check "rebuild from local volumes over the nginx directories exits 0" 0 "$RC"
check_match "  and finds every key" "rebuild: $((${#KEYS[@]} + 1)) keys" "$OUT"
start_mkv -db "$WORK/rebuilt-local" "${FLAGS[@]}"
check_moved "local, rebuilt: $BACK (written through nginx)" "$BACK"

finish
