#!/bin/bash
# rebuild.sh - `mkv rebuild` regenerates a lost index from the volumes alone:
# the rebuilt index serves every key with the same replicas, in the same
# order, as the original (the MD5 only with -rehash), and rebuild refuses to
# run over an index that holds records or that a running server holds.
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

start_volume 1
start_volume 2
start_volume 3
FLAGS=(-replicas 2 -subvolumes 4)
start_mkv "${FLAGS[@]}"
ORIGINAL_DB=$MKV_DB

# maintenance ARGS...: run `mkv ARGS...` in the foreground; sets RC and OUT.
maintenance() {
	OUT=$("$MKV" -volumes "$(volumes_flag)" -plugindir "$MKV_TEST_PLUGINDIR" "${BACKEND_FLAGS[@]}" "$@" 2>&1)
	RC=$?
}

# Keys of every shape: plain, deep, odd bytes, and long ones whose base64
# holds '/' (deeper directories on the volumes).
KEYS=(/r/plain /r/a/b/c/d "/r/with space" /r/100%25 "/r/naïve" /r/plus+sign)
for i in $(seq 1 12); do
	KEYS+=("/r/many/$i")
done
KEYS+=("/r/$(printf '\xff\xe0\x01%.0s' $(seq 40))") # not UTF-8
for key in "${KEYS[@]}"; do
	f=$WORK/v$(printf '%s' "$key" | md5_hex)
	head -c $((1000 + RANDOM)) /dev/urandom >"$f"
	req PUT "$(urlencode "$key")" --data-binary @"$f"
	check "PUT $(printf %q "$key") answers 201" 201 "$STATUS"
done
long=$(printf '%s' "${KEYS[-1]}" | base64 -w0)
check_match "a key whose base64 holds '/' is among them" / "$long"

# A key whose base64 would hold "//" could never be found again on nginx
# (which merges slashes): refused up front, nothing written.
before=$(volume_files)
req PUT "$(urlencode "/r/$(printf '\xff\xff\xff')")" --data-binary x
check "PUT of a key whose file name would hold // answers 400" 400 "$STATUS"
check "  and writes no file" "$before" "$(volume_files)"

declare -A VOLUMES_OF MD5_OF
for key in "${KEYS[@]}"; do
	req HEAD "$(urlencode "$key")"
	VOLUMES_OF[$key]=$(hdr Key-Volumes)
	MD5_OF[$key]=$(hdr Content-Md5)
done
req GET '/?list'
ORIGINAL_LIST=$(list_keys)
# A listing is JSON: each byte of a key that starts no valid UTF-8 shows as U+FFFD.
check "the listing has every key, sorted by bytes" \
	"$(printf '%s\n' "${KEYS[@]}" | sort | sed 's/\xff\xe0/\xef\xbf\xbd\xef\xbf\xbd/g')" "$ORIGINAL_LIST"

maintenance -db "$ORIGINAL_DB" rebuild
check "rebuild refuses the index a running server holds" 1 "$RC"
check_match "  and says it is in use" "in use" "$OUT"
stop_mkv

# A file that is not a value is ignored, wherever it is.
mkdir -p "${VOL_DIR[1]}/sv00/ab/cd"
echo stray >"${VOL_DIR[1]}/sv00/ab/cd/bm90LWEta2V5"
echo stray >"${VOL_DIR[1]}/sv00/README"

maintenance -db "$WORK/rebuilt" "${FLAGS[@]}" rebuild
check "rebuild exits 0" 0 "$RC"
check_match "  and prints a summary" "rebuild: ${#KEYS[@]} keys" "$OUT"

start_mkv -db "$WORK/rebuilt" "${FLAGS[@]}"
req GET '/?list'
check "the rebuilt index lists exactly the original keys" "$ORIGINAL_LIST" "$(list_keys)"
for key in "${KEYS[@]}"; do
	name=$(printf %q "$key")
	req HEAD "$(urlencode "$key")"
	check "$name: rebuilt with the same replicas in the same order" "${VOLUMES_OF[$key]}" "$(hdr Key-Volumes)"
	check "$name: rebuilt without an MD5" "<absent>" "$(hdr Content-Md5)"
	f=$WORK/v$(printf '%s' "$key" | md5_hex)
	curl -s -g -L -o "$WORK/got" "$MKV_URL$(urlencode "$key")"
	check_cmd "$name: reads back intact" same_bytes "$f" "$WORK/got"
done
stop_mkv

maintenance -db "$WORK/rebuilt" "${FLAGS[@]}" rebuild
check "rebuild refuses an index that holds records" 1 "$RC"
check_match "  and says to use a new directory" "new -db" "$OUT"

maintenance -db "$WORK/rehashed" "${FLAGS[@]}" -rehash -workers 3 rebuild
check "rebuild -rehash exits 0" 0 "$RC"
start_mkv -db "$WORK/rehashed" "${FLAGS[@]}"
for key in "${KEYS[@]}"; do
	req HEAD "$(urlencode "$key")"
	check "$(printf %q "$key"): -rehash records the value's MD5" "${MD5_OF[$key]}" "$(hdr Content-Md5)"
done
stop_mkv

# Rebuilding with a volume down writes nothing: an index missing keys would lose them.
stop_volume 3
maintenance -db "$WORK/partial" "${FLAGS[@]}" rebuild
check "rebuild with a volume down fails" 1 "$RC"
check_match "  naming the volume" "${VOL_NAME[3]}" "$OUT"
restart_volume 3

finish
