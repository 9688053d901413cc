#!/bin/bash
# api.sh - every row of mkv's HTTP API table, as a client sees it, against a
# master and three volumes (of the backends lib.sh is told to use); then the
# flags that change the answers (-protect, -fallback, -md5sum=false,
# -replicas/-subvolumes), racing writers, ranges, and a large value.
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

start_volume 1
start_volume 2
start_volume 3
VOLS=("${VOL_NAME[@]}")
start_mkv -subvolumes 1
MAIN=$MKV_URL

# kv KEY [REPLICAS [SUBVOLUMES]]: the Key-Volumes a key must get on these volumes.
kv() {
	key_volumes "$1" "${2:-3}" "${3:-1}" "${VOLS[@]}"
}

# on_volumes KEY [SUFFIX...]: how many volumes hold KEY's file, as ACTUAL for check.
on_volumes() {
	local path i n=0
	path=$(key_path "$1")
	for i in 1 2 3; do
		[ -f "${VOL_DIR[i]}$path" ] && n=$((n + 1))
	done
	echo "$n"
}

# ---- PUT ---------------------------------------------------------------------------

printf 'hello, mkv\n\0binary\377tail' >"$WORK/hello"
req PUT /api/hello --data-binary @"$WORK/hello"
check "PUT of a new key answers 201" 201 "$STATUS"
for i in 1 2 3; do
	check_cmd "PUT wrote the value to volume $i at /xx/yy/<base64 key>" \
		same_bytes "$WORK/hello" "${VOL_DIR[i]}$(key_path /api/hello)"
done

printf 'other value' >"$WORK/other"
req PUT /api/hello --data-binary @"$WORK/other"
check "PUT of an existing key answers 403" 403 "$STATUS"
check_cmd "a refused PUT leaves the stored value alone" \
	same_bytes "$WORK/hello" "${VOL_DIR[1]}$(key_path /api/hello)"

req PUT /api/empty -d ''
check "PUT with an empty body (Content-Length: 0) answers 411" 411 "$STATUS"
req GET /api/empty
check "an empty PUT stores nothing: GET answers 404" 404 "$STATUS"
check "an empty PUT writes no file" 0 "$(on_volumes /api/empty)"

# ---- GET / HEAD --------------------------------------------------------------------

check_get "live key" /api/hello /api/hello "$WORK/hello" "$(kv /api/hello)"
CHECK_METHOD=HEAD check_get "live key" /api/hello /api/hello "$WORK/hello" "$(kv /api/hello)"

# Replicas are tried in random order, so reads spread over all of them. To see
# which replica a read came from, the test rewrites each copy of a key with
# the name of its volume: in 30 reads (each a new connection) every replica
# shows up, barring a 1-in-60000 fluke.
req PUT /api/spread -d 'spread'
check "PUT /api/spread answers 201" 201 "$STATUS"
for i in 1 2 3; do
	printf 'volume %s;' "$i" >"${VOL_DIR[i]}$(key_path /api/spread)"
done
for i in $(seq 1 30); do
	read_value /api/spread
	cat "$BODY"
done | tr ';' '\n' | sort -u | paste -sd ' ' >"$WORK/read-from"
check "30 reads of a key come from each of its 3 replicas" "volume 1 volume 2 volume 3" \
	"$(cat "$WORK/read-from")"

check "curl -L of a live key returns the value" 200 \
	"$(curl "${CURL_OPTS[@]}" -L -o "$WORK/got" -w '%{http_code}' "$MKV_URL/api/hello")"
check_cmd "curl -L of a live key returns its exact bytes" same_bytes "$WORK/hello" "$WORK/got"

# ---- ranges: a client reads part of a value ----------------------------------------

size=$(wc -c <"$WORK/hello")
read_value /api/hello -r 2-5
check "a read of bytes 2-5 answers 206" 206 "$STATUS"
check "  Content-Range" "bytes 2-5/$size" "$(hdr Content-Range)"
check "  the body is bytes 2-5 of the value" "$(tail -c +3 "$WORK/hello" | head -c 4 | od -An -tx1)" \
	"$(od -An -tx1 <"$BODY")"
for range in "$((size - 3))-" -3 "$((size - 3))-$((size + 100))"; do
	read_value /api/hello -r "$range"
	check "a read of bytes=$range (the last 3 bytes) answers 206" 206 "$STATUS"
	check "  Content-Range" "bytes $((size - 3))-$((size - 1))/$size" "$(hdr Content-Range)"
	check "  the body is the value's tail" "$(tail -c 3 "$WORK/hello" | od -An -tx1)" "$(od -An -tx1 <"$BODY")"
done
read_value /api/hello -r "$size-"
check "a read starting at the value's size answers 416" 416 "$STATUS"
check "  Content-Range names the size" "bytes */$size" "$(hdr Content-Range)"

req GET /api/missing
check "GET of a missing key answers 404" 404 "$STATUS"
check "GET of a missing key: Content-Length" 0 "$(hdr Content-Length)"
check "GET of a missing key: no Location" "<absent>" "$(hdr Location)"
req HEAD /api/missing
check "HEAD of a missing key answers 404" 404 "$STATUS"
check "HEAD of a missing key: Content-Length" 0 "$(hdr Content-Length)"

# ---- DELETE ------------------------------------------------------------------------

printf 'to be deleted' >"$WORK/del"
req PUT /api/del --data-binary @"$WORK/del"
check "PUT /api/del answers 201" 201 "$STATUS"
check "PUT /api/del wrote three replicas" 3 "$(on_volumes /api/del)"
req DELETE /api/del
check "DELETE of a live key answers 204" 204 "$STATUS"
req GET /api/del
check "GET after DELETE answers 404" 404 "$STATUS"
check "DELETE removed the file from every volume" 0 "$(on_volumes /api/del)"
req DELETE /api/del
check "DELETE of a deleted key answers 404" 404 "$STATUS"
req DELETE /api/never
check "DELETE of a key never written answers 404" 404 "$STATUS"
req PUT /api/del --data-binary @"$WORK/other"
check "PUT of a deleted key answers 201" 201 "$STATUS"
check_get "re-PUT after DELETE" /api/del /api/del "$WORK/other" "$(kv /api/del)"

# ---- UNLINK ------------------------------------------------------------------------

printf 'to be unlinked' >"$WORK/unl"
req PUT /unl/k --data-binary @"$WORK/unl"
check "PUT /unl/k answers 201" 201 "$STATUS"
req UNLINK /unl/k
check "UNLINK of a live key answers 204" 204 "$STATUS"
req GET /unl/k
check "GET after UNLINK answers 404" 404 "$STATUS"
req HEAD /unl/k
check "HEAD after UNLINK answers 404" 404 "$STATUS"
req GET '/unl/?unlinked'
check "?unlinked lists the unlinked key" '{"next":"","keys":["/unl/k"]}' "$(cat "$BODY")"
req GET '/unl/?list'
check "?list does not list the unlinked key" '{"next":"","keys":[]}' "$(cat "$BODY")"
check "UNLINK keeps the files (soft delete)" 3 "$(on_volumes /unl/k)"
req UNLINK /unl/k
check "UNLINK of an unlinked key answers 404" 404 "$STATUS"
req UNLINK /unl/never
check "UNLINK of a missing key answers 404" 404 "$STATUS"
req DELETE /unl/k
check "DELETE of an unlinked key answers 204" 204 "$STATUS"
check "DELETE after UNLINK removes the files" 0 "$(on_volumes /unl/k)"
req GET '/unl/?unlinked'
check "a deleted key leaves ?unlinked" '{"next":"","keys":[]}' "$(cat "$BODY")"
req GET /unl/k
check "GET after UNLINK + DELETE answers 404" 404 "$STATUS"

req PUT /unl/again --data-binary @"$WORK/unl"
req UNLINK /unl/again
check "UNLINK /unl/again answers 204" 204 "$STATUS"
req PUT /unl/again --data-binary @"$WORK/other"
check "PUT of an unlinked key answers 201" 201 "$STATUS"
check_get "re-PUT after UNLINK" /unl/again /unl/again "$WORK/other" "$(kv /unl/again)"

# ---- listings ----------------------------------------------------------------------

for k in c a e b d z; do
	printf 'list %s' "$k" >"$WORK/list"
	req PUT "/list/$k" --data-binary @"$WORK/list"
	check "PUT /list/$k answers 201" 201 "$STATUS"
done
req PUT /listx --data-binary @"$WORK/list"
req UNLINK /list/z
check "UNLINK /list/z answers 204" 204 "$STATUS"

req GET '/list/?list'
check "?list answers 200" 200 "$STATUS"
check "?list gives the live keys under the prefix, sorted" \
	'{"next":"","keys":["/list/a","/list/b","/list/c","/list/d","/list/e"]}' "$(cat "$BODY")"
req GET '/list?list'
check "?list prefixes match bytes, not path segments" \
	'{"next":"","keys":["/list/a","/list/b","/list/c","/list/d","/list/e","/listx"]}' "$(cat "$BODY")"
req GET '/list/?unlinked'
check "?unlinked gives the unlinked keys under the prefix" '{"next":"","keys":["/list/z"]}' "$(cat "$BODY")"
req GET '/nothing/?list'
check "?list of an empty prefix" '{"next":"","keys":[]}' "$(cat "$BODY")"

req GET '/list/?list&limit=2'
check "?list&limit=2 answers 200" 200 "$STATUS"
check "?list&limit=2 gives two keys and the next one" \
	'{"next":"/list/c","keys":["/list/a","/list/b"]}' "$(cat "$BODY")"
req GET '/list/?list&limit=2&start=/list/c'
check "&start= resumes at the given key" \
	'{"next":"/list/e","keys":["/list/c","/list/d"]}' "$(cat "$BODY")"

seen=() start='' pages=0
while [ "$pages" -lt 10 ]; do
	req GET "/list/?list&limit=2${start:+&start=$(urlencode "$start")}"
	[ "$STATUS" = 200 ] || break
	pages=$((pages + 1))
	while IFS= read -r k; do seen+=("$k"); done < <(list_keys)
	start=$(list_next)
	[ -n "$start" ] || break
done
check "paging with limit=2 and next visits every key once, in order" \
	"/list/a /list/b /list/c /list/d /list/e" "${seen[*]}"
check "paging five keys two at a time takes three pages" 3 "$pages"

req GET '/list/?list&limit=abc'
check "?list&limit=abc answers 400" 400 "$STATUS"
req GET '/api/hello?foo'
check "GET with an unknown query answers 403" 403 "$STATUS"
req GET '/api/hello?foo'
check "an unknown query redirects nowhere" "<absent>" "$(hdr Location)"

# ---- unknown method ----------------------------------------------------------------

req PATCH /api/hello --data-binary @"$WORK/other"
check "an unknown method (PATCH) answers 405" 405 "$STATUS"
check_get "after PATCH" /api/hello /api/hello "$WORK/hello" "$(kv /api/hello)"

# ---- -protect ----------------------------------------------------------------------

start_mkv -subvolumes 1 -protect
printf 'protected' >"$WORK/prot"
req PUT /protect/k --data-binary @"$WORK/prot"
check "-protect: PUT answers 201" 201 "$STATUS"
req DELETE /protect/k
check "-protect: DELETE of a live key answers 403" 403 "$STATUS"
check_get "-protect: after a refused DELETE" /protect/k /protect/k "$WORK/prot" "$(kv /protect/k)"
req DELETE /protect/never
check "-protect: DELETE of a missing key answers 404" 404 "$STATUS"
req UNLINK /protect/k
check "-protect: UNLINK answers 204" 204 "$STATUS"
req DELETE /protect/k
check "-protect: DELETE after UNLINK answers 204" 204 "$STATUS"
req GET /protect/k
check "-protect: GET after UNLINK + DELETE answers 404" 404 "$STATUS"
check "-protect: DELETE after UNLINK removes the files" 0 "$(on_volumes /protect/k)"

# ---- -fallback ---------------------------------------------------------------------

free_port
FB=$FREE_PORT
start_mkv -subvolumes 1 -fallback "127.0.0.1:$FB"
req GET /fb/missing
check "-fallback: GET of a missing key answers 302" 302 "$STATUS"
check "-fallback: Location is the fallback" "http://127.0.0.1:$FB/fb/missing" "$(hdr Location)"
check "-fallback: Content-Length" 0 "$(hdr Content-Length)"
req HEAD /fb/missing
check "-fallback: HEAD of a missing key answers 302" 302 "$STATUS"
check "-fallback: HEAD Location is the fallback" "http://127.0.0.1:$FB/fb/missing" "$(hdr Location)"
printf 'live in fallback master' >"$WORK/fb"
req PUT /fb/live --data-binary @"$WORK/fb"
check "-fallback: PUT answers 201" 201 "$STATUS"
check_get "-fallback: a live key" /fb/live /fb/live "$WORK/fb" "$(kv /fb/live)"
req UNLINK /fb/live
req GET /fb/live
check "-fallback: GET of an unlinked key answers 302" 302 "$STATUS"
check "-fallback: an unlinked key goes to the fallback" "http://127.0.0.1:$FB/fb/live" "$(hdr Location)"

# ---- -md5sum=false -----------------------------------------------------------------

start_mkv -subvolumes 1 -md5sum=false
printf 'no md5 for me' >"$WORK/nomd5"
req PUT /nomd5/k --data-binary @"$WORK/nomd5"
check "-md5sum=false: PUT answers 201" 201 "$STATUS"
req GET /nomd5/k
check "-md5sum=false: GET answers $LIVE_GET" "$LIVE_GET" "$STATUS"
check "-md5sum=false: no Content-Md5 header" "<absent>" "$(hdr Content-Md5)"
check "-md5sum=false: Key-Volumes" "$(kv /nomd5/k)" "$(hdr Key-Volumes)"
read_value /nomd5/k
check "-md5sum=false: the value reads back" 200 "$STATUS"
check_cmd "-md5sum=false: the value's bytes" same_bytes "$WORK/nomd5" "$BODY"

# ---- -replicas 2 -subvolumes 4 -----------------------------------------------------

start_mkv -replicas 2 -subvolumes 4
for key in /sv/one /sv/two /sv/three; do
	printf 'subvolume value %s' "$key" >"$WORK/sv"
	req PUT "$key" --data-binary @"$WORK/sv"
	check "-replicas 2 -subvolumes 4: PUT $key answers 201" 201 "$STATUS"
	want=$(kv "$key" 2 4)
	check_get "-replicas 2 -subvolumes 4: $key" "$key" "$key" "$WORK/sv" "$want"
	check_match "-replicas 2 -subvolumes 4: $key has two replicas VOLUME/svXX" \
		'^[^,]+/sv0[0-3],[^,]+/sv0[0-3]$' "$(hdr Key-Volumes)"
	path=$(key_path "$key")
	for i in 1 2 3; do
		sv=none
		IFS=, read -ra replicas <<<"$want"
		for r in "${replicas[@]}"; do
			[ "${r%/sv*}" = "${VOL_NAME[i]}" ] && sv=${r##*/}
		done
		found=$(find "${VOL_DIR[i]}" -type f -name "${path##*/}" -path "*$path" | sed "s|^${VOL_DIR[i]}||")
		if [ "$sv" = none ]; then
			check "-replicas 2 -subvolumes 4: no copy of $key on volume $i" "" "$found"
		else
			check "-replicas 2 -subvolumes 4: $key on volume $i at /$sv/xx/yy/<base64>" "/$sv$path" "$found"
			check_cmd "-replicas 2 -subvolumes 4: $key on volume $i holds the value" \
				same_bytes "$WORK/sv" "${VOL_DIR[i]}/$sv$path"
		fi
	done
done

# ---- racing writers ----------------------------------------------------------------

MKV_URL=$MAIN
pids=()
for i in $(seq 1 20); do
	head -c 262144 /dev/urandom >"$WORK/race.$i"
done
for i in $(seq 1 20); do
	curl "${CURL_OPTS[@]}" -X PUT --data-binary @"$WORK/race.$i" -o /dev/null \
		-w '%{http_code}' "$MKV_URL/race/key" >"$WORK/race.$i.status" 2>&1 &
	pids+=($!)
done
wait "${pids[@]}"
created=0 refused=0 winner='' statuses=''
for i in $(seq 1 20); do
	s=$(cat "$WORK/race.$i.status")
	statuses+="$s "
	case $s in
	201) created=$((created + 1)) && winner=$i ;;
	403 | 409) refused=$((refused + 1)) ;;
	esac
done
echo "# statuses of the 20 racing PUTs: $statuses"
check "20 concurrent PUTs of one new key: exactly one answers 201" 1 "$created"
check "20 concurrent PUTs of one new key: the others answer 403 or 409" 19 "$refused"
if [ -n "$winner" ]; then
	check_get "the raced key" /race/key /race/key "$WORK/race.$winner" "$(kv /race/key)"
	for i in 1 2 3; do
		check_cmd "the raced key: volume $i holds the winner's value intact" \
			same_bytes "$WORK/race.$winner" "${VOL_DIR[i]}$(key_path /race/key)"
	done
fi

# ---- a 16 MB value -----------------------------------------------------------------

head -c 16777216 /dev/urandom >"$WORK/big"
check "PUT of a 16 MB value (curl -T) answers 201" 201 \
	"$(curl "${CURL_OPTS[@]}" -T "$WORK/big" -o /dev/null -w '%{http_code}' "$MKV_URL/big/value")"
check_get "a 16 MB value" /big/value /big/value "$WORK/big" "$(kv /big/value)"
check "curl -L of the 16 MB value answers 200" 200 \
	"$(curl "${CURL_OPTS[@]}" -L -o "$WORK/got" -w '%{http_code}' "$MKV_URL/big/value")"
check "the 16 MB value reads back with the same SHA-256" \
	"$(sha256sum <"$WORK/big")" "$(sha256sum <"$WORK/got")"
for i in 1 2 3; do
	check_cmd "the 16 MB value: volume $i holds an identical copy" \
		same_bytes "$WORK/big" "${VOL_DIR[i]}$(key_path /big/value)"
done

# ---- the client round trip with curl -L --------------------------------------------

head -c 100000 /dev/urandom >"$WORK/file"
check "curl -L -X PUT -T file answers 201" 201 \
	"$(curl "${CURL_OPTS[@]}" -L -X PUT -T "$WORK/file" -o /dev/null -w '%{http_code}' "$MKV_URL/user/file.bin")"
curl "${CURL_OPTS[@]}" -L -o "$WORK/got" "$MKV_URL/user/file.bin"
check_cmd "curl -L returns the file that curl -L -X PUT -T stored" same_bytes "$WORK/file" "$WORK/got"

finish
