#!/bin/bash
# disk-full.sh - one volume's disk fills up: a PUT that does not fit answers
# 5xx and leaves no live key, no index record and no file on any volume; a PUT
# that fits is stored whole; the values stored before stay intact; and once
# DELETEs free space, PUTs succeed again. Volume 2 is a 20 MB tmpfs (nginx's
# temp files live on it too, in .nginx/); every key has a replica on it.
# shellcheck source=faultlib.sh
. "$(dirname "${BASH_SOURCE[0]}")/faultlib.sh"

need_root "mounting a tmpfs as a volume's disk"
SMALL=$WORK/disk2 # lib.sh keeps volume 2's files in $WORK/disk2/vol
mkdir -p "$SMALL"
mount -t tmpfs -o size=20m tmpfs "$SMALL" ||
	bail "mount -t tmpfs -o size=20m tmpfs $SMALL failed: the test must mount a tmpfs (root with CAP_SYS_ADMIN)"
on_exit "umount '$SMALL' || umount -l '$SMALL'"

start_volume 1
start_volume 2
start_volume 3
[ "$(df --output=target "${VOL_DIR[2]}" | tail -1)" = "$SMALL" ] ||
	bail "volume 2's directory ${VOL_DIR[2]} is not on the tmpfs mounted at $SMALL"
start_mkv -replicas 3 -subvolumes 1
echo "# volume 2 ($SMALL): $(df -h --output=size,avail "$SMALL" | tail -1)"

# on_volumes KEY: which volumes hold a file for KEY, as "1 3", or "none".
on_volumes() {
	local i out=
	for i in 1 2 3; do
		[ -e "$(replica_file "${VOL_NAME[i]}" "$1")" ] && out+="$i "
	done
	echo "${out:-none}"
}

# put_value KEY SIZE: PUT SIZE random bytes (kept in $WORK/values/) to KEY.
mkdir -p "$WORK/values"
put_value() {
	local file=$WORK/values/${1//\//_}
	head -c "$2" /dev/urandom >"$file"
	req PUT "$1" -T "$file" -H 'Expect:' --max-time 60
}

# reads_back KEY: GET KEY answers 302 and curl -L returns the bytes that were PUT.
reads_back() {
	local file=$WORK/values/${1//\//_}
	[ "$(curl "${CURL_OPTS[@]}" -o /dev/null -w '%{http_code}' "$MKV_URL$1")" = 302 ] &&
		[ "$(curl "${CURL_OPTS[@]}" -L "$MKV_URL$1" | md5_hex)" = "$(md5_hex <"$file")" ]
}

# check_no_trace NAME KEY: a failed PUT of KEY left nothing behind.
check_no_trace() {
	req GET "$2"
	check "$1: GET $2 answers 404" 404 "$STATUS"
	req GET "$2?list"
	check "$1: $2 is not in ?list" '{"next":"","keys":[]}' "$(cat "$BODY")"
	req GET "$2?unlinked"
	check "$1: $2 is not in ?unlinked" '{"next":"","keys":[]}' "$(cat "$BODY")"
	check "$1: no file of $2 on any volume" none "$(on_volumes "$2")"
}

# ---- fill it with 1 MB values until a PUT fails --------------------------------------

stored=()
failed=
for ((n = 1; n <= 40; n++)); do
	put_value "/full/mb$n" 1048576
	if [ "$STATUS" = 201 ]; then
		stored+=("/full/mb$n")
		continue
	fi
	failed=/full/mb$n
	break
done
echo "# ${#stored[@]} values of 1 MB fitted; volume 2: $(df -h --output=avail "$SMALL" | tail -1) left"
[ -n "$failed" ] || bail "40 PUTs of 1 MB all fitted on a 20 MB volume"
check_match "volume 2 full: the PUT that does not fit answers 5xx" '^5[0-9][0-9]$' "$STATUS"
echo "# it answered $STATUS: $(cat "$BODY")"
check "volume 2 full: nginx's ENOSPC answer (500) reaches the client as 500, as README's table says" 500 "$STATUS"
check_no_trace "volume 2 full" "$failed"

# ---- keep writing: what fits is stored whole, what does not leaves no trace ----------

bad=0 fitted=0 refused=0
for size in 1048576 524288 2097152 262144 65536 1048576 16384 4096 1024 1048576; do
	n=$((n + 1))
	key=/full/more$n
	put_value "$key" "$size"
	case $STATUS in
	201)
		fitted=$((fitted + 1))
		stored+=("$key")
		reads_back "$key" || {
			bad=$((bad + 1))
			echo "# VIOLATION PUT $key ($size bytes) answered 201 but does not read back"
		}
		;;
	5[0-9][0-9])
		refused=$((refused + 1))
		req GET "$key"
		local_status=$STATUS
		where=$(on_volumes "$key")
		req GET "$key?list"
		if [ "$local_status" != 404 ] || [ "$where" != none ] ||
			[ "$(cat "$BODY")" != '{"next":"","keys":[]}' ]; then
			bad=$((bad + 1))
			echo "# VIOLATION PUT $key ($size bytes) failed, then GET answered $local_status," \
				"files on volumes: $where, ?list: $(cat "$BODY")"
		fi
		;;
	*)
		bad=$((bad + 1))
		echo "# VIOLATION PUT $key ($size bytes) answered $STATUS: $(cat "$BODY")"
		;;
	esac
done
echo "# on a full volume: $fitted PUTs fitted, $refused were refused"
check "volume 2 full: each PUT is stored whole (201) or leaves no trace (5xx)" 0 "$bad"
check "volume 2 full: at least one more PUT was refused" yes "$([ "$refused" -gt 0 ] && echo yes || echo no)"

bad=0
for key in "${stored[@]}"; do
	reads_back "$key" || {
		bad=$((bad + 1))
		echo "# VIOLATION $key was stored (201) but does not read back after the disk filled"
	}
done
check "volume 2 full: the ${#stored[@]} values stored before still read back" 0 "$bad"

# ---- free space: writes succeed again ------------------------------------------------

bad=0
for key in "${stored[@]:0:6}"; do
	req DELETE "$key"
	[ "$STATUS" = 204 ] || {
		bad=$((bad + 1))
		echo "# DELETE $key answered $STATUS: $(cat "$BODY")"
	}
done
check "DELETE of 6 stored values answers 204" 0 "$bad"
echo "# volume 2 after the DELETEs: $(df -h --output=avail "$SMALL" | tail -1) left"
put_value "$failed" 1048576
check "space freed: the PUT that did not fit now answers 201" 201 "$STATUS"
check_cmd "space freed: it reads back" reads_back "$failed"
put_value /full/again 2097152
check "space freed: a PUT of 2 MB answers 201" 201 "$STATUS"
check_cmd "space freed: it reads back" reads_back /full/again

finish
