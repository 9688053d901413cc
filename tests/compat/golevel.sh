#!/bin/bash
# golevel.sh - drop-in compatibility with the Go minikeyvalue: the C mkv takes
# over an index written by goleveldb (as the Go mkv writes it) and the nginx
# volume files the Go mkv would have PUT, serves them, and leaves behind an
# index the Go mkv reads back record for record.
#
# The Go side is goindex.go, built here against Debian's goleveldb: it writes
# and dumps the index through goleveldb and computes placement with the Go
# mkv's own key2volume and key2path, so nothing below trusts the C code to
# check the C code. Go is required: without it the test fails (exit 99).
if ! command -v go >/dev/null 2>&1; then
	echo "not ok - go is not installed: the Go compatibility test cannot run" \
		"(apt-get install golang-go golang-github-syndtr-goleveldb-dev)"
	exit 99
fi
GOINDEX_SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/goindex.go
# What the Go mkv runs on, whatever backends the environment asks for.
MKV_TEST_INDEX=leveldb MKV_TEST_VOLUME=nginx
. "$(dirname "${BASH_SOURCE[0]}")/../integration/lib.sh"

: "${MKV_TEST_GOPATH:=/usr/share/gocode}"
GOINDEX=$WORK/goindex
if ! GO111MODULE=off GOFLAGS='' GOPATH=$MKV_TEST_GOPATH GOCACHE=$WORK/gocache \
	go build -o "$GOINDEX" "$GOINDEX_SRC" >"$WORK/gobuild.log" 2>&1; then
	sed 's/^/# /' "$WORK/gobuild.log"
	echo "not ok - goindex.go does not build with goleveldb from $MKV_TEST_GOPATH" \
		"(apt-get install golang-github-syndtr-goleveldb-dev)"
	exit 99
fi

# ---- (d) the Go placement agrees with DESIGN.md's vectors -----------------------

# place KEY VOLUMES REPLICAS SUBVOLUMES: "REPLICAS PATH" as the Go mkv computes them.
place() {
	"$GOINDEX" place "$@" | paste -sd ' '
}

check "Go placement of hello" "larry/sv00 /5d/41/aGVsbG8=" "$(place hello larry,moe,curly 1 3)"
check "Go placement of helloworld" "curly/sv01 /fc/5e/aGVsbG93b3JsZA==" \
	"$(place helloworld larry,moe,curly 1 3)"
check "Go placement of world" "moe/sv02 /7d/79/d29ybGQ=" "$(place world larry,moe,curly 1 3)"
check "Go placement of blah" "curly/sv01 /6f/1e/YmxhaA==" "$(place blah larry,moe,curly 1 3)"

# ---- (a) a Go mkv deployment: three nginx volumes and a goleveldb index -------

start_volume 1
start_volume 2
start_volume 3
VOLUMES=127.0.0.1:${VOL_PORT[1]},127.0.0.1:${VOL_PORT[2]},127.0.0.1:${VOL_PORT[3]}
REPLICAS=2
SUBVOLUMES=16
GODB=$WORK/godb
declare -A VALUE RECORD REPLICAS_OF

# volume_dir HOST:PORT: the directory of the started volume serving HOST:PORT.
volume_dir() {
	local i
	for i in 1 2 3; do
		[ "$1" = "127.0.0.1:${VOL_PORT[i]}" ] && echo "${VOL_DIR[i]}" && return
	done
	bail "no volume serves $1"
}

# replica_files KEY: the file of each of KEY's replicas, one a line.
replica_files() {
	local kv path r rs
	{
		read -r kv
		read -r path
	} < <("$GOINDEX" place "$1" "$VOLUMES" "$REPLICAS" "$SUBVOLUMES")
	IFS=, read -ra rs <<<"$kv"
	for r in "${rs[@]}"; do
		echo "$(volume_dir "${r%%/*}")/${r#*/}$path"
	done
}

# go_put KEY FILE [md5|nomd5] [live|unlinked]: what the Go mkv leaves after a PUT
# of FILE to KEY (and an UNLINK): the value on each replica, as nginx stores a
# WebDAV PUT, and the record, queued for `goindex write` in $WORK/batch.
go_put() {
	local key=$1 file=$2 hash='' kv f
	kv=$("$GOINDEX" place "$key" "$VOLUMES" "$REPLICAS" "$SUBVOLUMES" | head -n 1)
	while IFS= read -r f; do
		mkdir -p -- "${f%/*}"
		cp -- "$file" "$f"
	done < <(replica_files "$key")
	[ "${3:-md5}" = md5 ] && hash=HASH$(md5_hex <"$file")
	RECORD[$key]=$hash$kv
	[ "${4:-live}" = unlinked ] && RECORD[$key]=DELETED${RECORD[$key]}
	VALUE[$key]=$file
	REPLICAS_OF[$key]=$kv
	printf '%s\t%s\n' "$key" "${RECORD[$key]}" >>"$WORK/batch"
}

# has_journal DB: true when DB holds a non-empty goleveldb journal (*.log).
has_journal() {
	local f
	for f in "$1"/*.log; do
		[ -s "$f" ] && return 0
	done
	return 1
}

# go_write: put the queued records with goleveldb, as the Go mkv's PutRecord does.
go_write() {
	"$GOINDEX" write "$GODB" <"$WORK/batch" || bail "goindex write failed"
	: >"$WORK/batch"
}

HELLO=/compat/hello
SPACE="/compat/with space"
UNICODE="/compat/naïve ☃ 世界"
BIG=/compat/big
NOHASH=/compat/nohash
GONE=/compat/gone
LIVE=("$HELLO" "$SPACE" "$UNICODE" "$BIG" "$NOHASH")

printf 'hello from the Go mkv\n' >"$WORK/v-hello"
printf 'a value\0with a NUL and \377 a high byte' >"$WORK/v-space"
printf 'ünïcödé value ☃\n' >"$WORK/v-unicode"
head -c 1048576 /dev/urandom >"$WORK/v-big"
printf 'written with -md5sum=false' >"$WORK/v-nohash"
printf 'unlinked, files kept' >"$WORK/v-gone"

# Two runs of the Go mkv: goleveldb turns the first run's journal into a table
# when it opens the index again, so the C mkv reads both tables and a journal.
: >"$WORK/batch"
go_put "$HELLO" "$WORK/v-hello"
go_put "$SPACE" "$WORK/v-space"
go_put "$GONE" "$WORK/v-gone" md5 unlinked
go_write
go_put "$UNICODE" "$WORK/v-unicode"
go_put "$BIG" "$WORK/v-big"
go_put "$NOHASH" "$WORK/v-nohash" nomd5
go_write

check_match "the Go index holds a table (.ldb)" '\.ldb' "$(ls "$GODB")"
check_cmd "the Go index holds a non-empty journal (.log)" has_journal "$GODB"
check "goindex dump reads back what goindex wrote" \
	"$(for k in "${!RECORD[@]}"; do printf '%s\t%s\n' "$k" "${RECORD[$k]}"; done | sort)" \
	"$("$GOINDEX" dump "$GODB")"

# ---- (b) the C mkv serves the Go deployment ------------------------------------

start_mkv -db "$GODB" -volumes "$VOLUMES" -replicas "$REPLICAS" -subvolumes "$SUBVOLUMES"

for key in "$HELLO" "$SPACE" "$UNICODE" "$BIG"; do
	check_get "Go key '$key'" "$(urlencode "$key")" "$key" "${VALUE[$key]}" "${REPLICAS_OF[$key]}"
	check "Go key '$key': Content-Md5 is the recorded hash" \
		"${RECORD[$key]:4:32}" "$(hdr Content-Md5)"
done
CHECK_METHOD=HEAD check_get "Go key '$HELLO'" "$HELLO" "$HELLO" "$WORK/v-hello" "${REPLICAS_OF[$HELLO]}"

req GET "$NOHASH"
check "Go key without HASH (-md5sum=false): GET answers 302" 302 "$STATUS"
check "Go key without HASH: no Content-Md5" "<absent>" "$(hdr Content-Md5)"
check "Go key without HASH: Key-Volumes" "${REPLICAS_OF[$NOHASH]}" "$(hdr Key-Volumes)"
check "Go key without HASH: Key-Balance" balanced "$(hdr Key-Balance)"
check "Go key without HASH: the Location answers 200" 200 "$(fetch "$(hdr Location)" "$WORK/got")"
check_cmd "Go key without HASH: the Location serves the value" same_bytes "$WORK/v-nohash" "$WORK/got"

req GET "$GONE"
check "Go unlinked key (DELETEDHASH...): GET answers 404" 404 "$STATUS"
req HEAD "$GONE"
check "Go unlinked key: HEAD answers 404" 404 "$STATUS"
req GET '/compat/?unlinked'
check "?unlinked lists the Go unlinked key" "$GONE" "$(list_keys)"

expected_list=$(printf '%s\n' "${LIVE[@]}" | sort)
req GET '/compat/?list'
check "?list answers 200" 200 "$STATUS"
check "?list gives exactly the Go live keys, in byte order" "$expected_list" "$(list_keys)"
req GET '/?list'
check "?list of / gives the same keys" "$expected_list" "$(list_keys)"

mapfile -t space_files < <(replica_files "$SPACE")
check "both replicas of '$SPACE' are on the volumes" 2 \
	"$(for f in "${space_files[@]}"; do [ -f "$f" ] && echo; done | wc -l)"
req DELETE "$(urlencode "$SPACE")"
check "DELETE of a Go key (from the table) answers 204" 204 "$STATUS"
check "DELETE removed the Go key's files from its replicas" 0 \
	"$(for f in "${space_files[@]}"; do [ -e "$f" ] && echo; done | wc -l)"
req GET "$(urlencode "$SPACE")"
check "GET of the deleted Go key answers 404" 404 "$STATUS"
req GET '/compat/?list'
check "?list no longer lists the deleted key" \
	"$(printf '%s\n' "$HELLO" "$UNICODE" "$BIG" "$NOHASH" | sort)" "$(list_keys)"
req GET '/compat/?unlinked'
check "the deleted key is not listed by ?unlinked" "$GONE" "$(list_keys)"
unset "RECORD[$SPACE]"

# ---- (c) the Go mkv reads what the C mkv wrote ---------------------------------

NEW="/compat/new from C ü"
printf 'written by the C mkv\n\0\377' >"$WORK/v-new"
req PUT "$(urlencode "$NEW")" --data-binary @"$WORK/v-new"
check "PUT of a new key through the C mkv answers 201" 201 "$STATUS"
new_kv=$("$GOINDEX" place "$NEW" "$VOLUMES" "$REPLICAS" "$SUBVOLUMES" | head -n 1)
while IFS= read -r f; do
	check_cmd "the C mkv wrote '$NEW' where the Go mkv puts it: ${f#"$WORK"/}" \
		same_bytes "$WORK/v-new" "$f"
done < <(replica_files "$NEW")
RECORD[$NEW]=HASH$(md5_hex <"$WORK/v-new")$new_kv
stop_mkv

"$GOINDEX" dump "$GODB" >"$WORK/dump" || bail "goindex dump failed"
check "goleveldb reads the C mkv's record of the new key byte for byte" \
	"${RECORD[$NEW]}" "$(awk -F '\t' -v k="$NEW" '$1 == k { print $2 }' "$WORK/dump")"
check "goleveldb no longer sees the deleted key" "" \
	"$(awk -F '\t' -v k="$SPACE" '$1 == k' "$WORK/dump")"
check "goleveldb sees exactly the Go records left, plus the new one" \
	"$(for k in "${!RECORD[@]}"; do printf '%s\t%s\n' "$k" "${RECORD[$k]}"; done | sort)" \
	"$(cat "$WORK/dump")"

# goleveldb has now reopened (and rewritten) the index: the C mkv takes it back.
restart_mkv
check_get "after goleveldb reopened the index, '$NEW'" "$(urlencode "$NEW")" "$NEW" \
	"$WORK/v-new" "$new_kv"
check_get "after goleveldb reopened the index, '$HELLO'" "$HELLO" "$HELLO" "$WORK/v-hello" \
	"${REPLICAS_OF[$HELLO]}"

finish
