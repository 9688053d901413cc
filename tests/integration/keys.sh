#!/bin/bash
# keys.sh - keys that are not plain ASCII words: each must round-trip (PUT, GET,
# listed under its decoded name, DELETE), live on the volumes under the base64
# of its decoded bytes, and keys too long or badly escaped must be refused
# without writing anything.
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

start_volume 1
start_volume 2
start_volume 3
VOLS=("${VOL_NAME[@]}")
start_mkv -subvolumes 1

# round_trip LABEL WIRE KEY [LISTED]: WIRE is the URL path sent, KEY the
# decoded key, LISTED how ?list shows it (KEY unless it is not UTF-8).
round_trip() {
	local label=$1 wire=$2 key=$3 listed
	printf 'the value of %s\n' "$key" >"$WORK/value"
	req PUT "$wire" --data-binary @"$WORK/value"
	check "$label: PUT answers 201" 201 "$STATUS"
	check_get "$label" "$wire" "$key" "$WORK/value" "$(key_volumes "$key" 3 1 "${VOLS[@]}")"
	curl "${CURL_OPTS[@]}" -L -o "$WORK/got" "$MKV_URL$wire"
	check_cmd "$label: curl -L returns the value" same_bytes "$WORK/value" "$WORK/got"
	check_cmd "$label: volume 1 holds it under the base64 of the decoded key" \
		same_bytes "$WORK/value" "${VOL_DIR[1]}$(key_path "$key")"
	req GET "$wire?list"
	check "$label: ?list answers 200" 200 "$STATUS"
	check_cmd "$label: the listing is valid UTF-8" iconv -f UTF-8 -t UTF-8 -o /dev/null "$BODY"
	listed=$(list_keys)
	check "$label: ?list under the key gives exactly the decoded key" "${4:-$key}" "$listed"
	req DELETE "$wire"
	check "$label: DELETE answers 204" 204 "$STATUS"
	req GET "$wire"
	check "$label: GET after DELETE answers 404" 404 "$STATUS"
}

round_trip "unicode" '/h%C3%A9llo/%E4%B8%96%E7%95%8C' '/héllo/世界'
round_trip "a space" '/a%20b' '/a b'
round_trip "a percent sign" '/100%25' '/100%'
round_trip "a plus sign" '/a+b' '/a+b'
round_trip "an escaped question mark and equals" '/what%3Fnot%3Dquery' '/what?not=query'
round_trip "an ampersand and angle brackets" '/tom%26jerry%3C%3E' '/tom&jerry<>'
round_trip "a deep path" '/a/b/c/d/e/f/g' '/a/b/c/d/e/f/g'
# Keys are bytes. A listing is JSON, so (as with Go's encoder) each byte that
# does not start valid UTF-8 is listed as U+FFFD: here \xff, then \xe0 (its
# next byte continues no sequence); \x01 is valid.
round_trip "bytes that are not UTF-8" '/k/%FF%E0%01x' "$(printf '/k/\xff\xe0\x01x')" \
	"$(printf '/k/\xef\xbf\xbd\xef\xbf\xbd\x01x')"

# The file name of "/a b" on a volume is the base64 of the decoded bytes.
printf 'spaced' >"$WORK/value"
req PUT '/a%20b' --data-binary @"$WORK/value"
h=$(printf '/a b' | md5_hex)
check_cmd "/a%20b is stored as /${h:0:2}/${h:2:2}/L2EgYg== (base64 of \"/a b\")" \
	same_bytes "$WORK/value" "${VOL_DIR[1]}/${h:0:2}/${h:2:2}/L2EgYg=="

# A '+' in a path is a plus: /a+b and /a%2Bb are one key, and not "/a b".
req PUT '/a+b' --data-binary @"$WORK/value"
check "PUT /a+b answers 201" 201 "$STATUS"
req GET '/a%2Bb'
check "/a%2Bb is the same key as /a+b" "$LIVE_GET" "$STATUS"
check "/a%2Bb: Key-Volumes of /a+b" "$(key_volumes '/a+b' 3 1 "${VOLS[@]}")" "$(hdr Key-Volumes)"
req PUT '/a%2Bb' --data-binary @"$WORK/value"
check "PUT /a%2Bb over /a+b answers 403" 403 "$STATUS"

# Keys up to 252 base64 characters fit a volume file name; longer ones do not.
long=/long/$(printf '0123456789abcdefghijklmnopqrstuvwxyz%.0s' 1 2 3 4 5 6)
long=${long:0:189}
[ "$(printf '%s' "$long" | base64 -w0 | wc -c)" = 252 ] || bail "test bug: the long key's base64 is not 252 bytes"
round_trip "a 189-byte key" "$long" "$long"

too_long=${long}xyz
[ "$(printf '%s' "$too_long" | base64 -w0 | wc -c)" = 256 ] || bail "test bug: the too long key's base64 is not 256 bytes"
before=$(volume_files)
printf 'too long' >"$WORK/value"
req PUT "$too_long" --data-binary @"$WORK/value"
check "PUT of a 192-byte key (base64 over 255 bytes) answers 414" 414 "$STATUS"
check "a refused long key writes no file" "$before" "$(volume_files)"
req GET '/long/?list'
check "a refused long key is not listed" "" "$(list_keys)"
req GET '/long/?unlinked'
check "a refused long key is not listed as unlinked" "" "$(list_keys)"

# Malformed escapes are bad requests.
before=$(volume_files)
req PUT '/bad%zz' --data-binary @"$WORK/value"
check "PUT /bad%zz (a malformed escape) answers 400" 400 "$STATUS"
req GET '/bad%zz'
check "GET /bad%zz answers 400" 400 "$STATUS"
req PUT '/bad%4' --data-binary @"$WORK/value"
check "PUT /bad%4 (a truncated escape) answers 400" 400 "$STATUS"
check "malformed keys write no file" "$before" "$(volume_files)"
req GET '/bad?list'
check "malformed keys are not listed" "" "$(list_keys)"

finish
