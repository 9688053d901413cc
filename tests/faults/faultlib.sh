# faultlib.sh - what the fault tests of tests/faults/ share (sourced, not run).
#
# Sources the integration harness (tests/integration/lib.sh: volumes, masters,
# req, check, finish, ...) and adds what breaking things needs:
#
#   on_exit CMD...            run CMD when the test exits, after every process it
#                             started has been stopped and before $WORK is
#                             removed (unmounting a tmpfs, deleting a netns)
#   need_root WHAT            fail the test (not skip it) unless running as root
#   kill_tree PID             SIGKILL PID and every process under it; reap it
#   kill_mkv                  SIGKILL the last started master
#   kill_volume I             SIGKILL every nginx process of volume I
#
# The write storm (tests 1 and 2): writers PUT keys of random content and
# mixed sizes and say, per key, what they sent and what they were answered.
#
#   storm_start PREFIX WRITERS KEYS   WRITERS background writers, KEYS keys each,
#                             named PREFIX/wW/kI, to $MKV_URL (read when each
#                             PUT starts, so a master restarted on the same port
#                             is found again)
#   storm_acked               how many PUTs were acknowledged (201) so far
#   storm_tried               how many PUTs got an answer (or none) so far
#   storm_wait_tried N SECONDS    wait until N PUTs are over; bail after SECONDS
#   storm_wait SECONDS        wait for every writer to finish; bail after SECONDS
#   storm_verify NAME PREFIX  the store keeps its promises about every key the
#                             storm tried: see the comment above it
#   check_takes_writes        after the storm the master takes a PUT and reads it back
set -u
# shellcheck source=../integration/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/../integration/lib.sh"

# Killing, filling and cutting off volume servers needs nginx volumes, whatever
# volume backend the rest of the suite runs over; the index backend may vary.
if [ "$MKV_TEST_VOLUME" != nginx ]; then
	echo "# the fault tests run over nginx volumes, not $MKV_TEST_VOLUME"
	use_backends "$MKV_TEST_INDEX" nginx
	require_nginx
fi

EXIT_HOOKS=()

on_exit() {
	EXIT_HOOKS+=("$*")
}

# Replaces lib.sh's EXIT trap: processes first (a mounted tmpfs is busy while
# nginx runs in it), then the hooks, newest first, then lib.sh's cleanup.
fault_cleanup() {
	local rc=$? pid i
	for pid in "${ALL_PIDS[@]}"; do
		stop_pid "$pid"
	done
	for ((i = ${#EXIT_HOOKS[@]} - 1; i >= 0; i--)); do
		eval "${EXIT_HOOKS[i]}" || echo "# cleanup step failed: ${EXIT_HOOKS[i]}"
	done
	set_status "$rc"
	cleanup
}
set_status() {
	return "$1"
}
trap fault_cleanup EXIT
# A write to a socket the master closed must not kill the test without cleanup.
trap 'exit 141' PIPE

need_root() {
	if [ "$(id -u)" -ne 0 ]; then
		bail "$1 needs root (uid 0); this is uid $(id -u). Run the fault tests as root, as CI does"
	fi
}

kill_tree() {
	local pid=$1 tree
	mapfile -t tree < <(descendants "$pid")
	kill -KILL "$pid" "${tree[@]}" 2>/dev/null
	wait "$pid" 2>/dev/null
	return 0
}

kill_mkv() {
	echo "# SIGKILL the master (pid $MKV_PID)"
	kill_tree "$MKV_PID"
}

kill_volume() {
	echo "# SIGKILL volume $1 (nginx pid ${VOL_PID[$1]} and its workers)"
	kill_tree "${VOL_PID[$1]}"
}

# ---- the write storm ----------------------------------------------------------------

STORM_PIDS=()

# storm_size: a random value size: mostly 1-64 KB, some 64-512 KB, a few 512 KB-2 MB.
storm_size() {
	local p=$((RANDOM % 20)) r=$((RANDOM * 32768 + RANDOM))
	if [ "$p" -lt 16 ]; then
		echo $((1024 + r % (65536 - 1024)))
	elif [ "$p" -lt 19 ]; then
		echo $((65536 + r % (524288 - 65536)))
	elif [ $((r % 4)) -ne 0 ]; then
		echo $((524288 + r % (2097152 - 524288)))
	else
		echo 2097152
	fi
}

# storm_writer DIR PREFIX KEYS: PUT KEYS keys of random bytes, one after the
# other. Before a PUT, DIR/sent gets "KEY MD5 SIZE"; after it, DIR/acked gets
# "KEY MD5" when the answer was 201 (and only then), else DIR/unacked gets
# "KEY MD5 STATUS". Each key is tried once: a retry with other bytes would
# make an unacknowledged write's content ambiguous.
storm_writer() {
	local dir=$1 prefix=$2 keys=$3 i key size md5 code
	RANDOM=$((BASHPID % 32768))
	for ((i = 0; i < keys; i++)); do
		key=$prefix/k$i
		size=$(storm_size)
		head -c "$size" /dev/urandom >"$dir/value"
		md5=$(md5sum <"$dir/value")
		md5=${md5%% *}
		echo "$key $md5 $size" >>"$dir/sent"
		code=$(curl -s -g -o /dev/null -w '%{http_code}' --max-time 60 -H 'Expect:' \
			-T "$dir/value" "$MKV_URL$key")
		if [ "$code" = 201 ]; then
			echo "$key $md5" >>"$dir/acked"
		else
			echo "$key $md5 $code" >>"$dir/unacked"
			# No master to talk to: do not burn through the keys meanwhile.
			[ "$code" = 000 ] && sleep 0.2
		fi
	done
	rm -f "$dir/value"
}

storm_start() {
	local prefix=$1 writers=$2 keys=$3 w dir
	STORM=$WORK/storm
	mkdir -p "$STORM"
	STORM_PIDS=()
	for ((w = 1; w <= writers; w++)); do
		dir=$STORM/w$w
		mkdir -p "$dir"
		: >"$dir/sent" && : >"$dir/acked" && : >"$dir/unacked"
		storm_writer "$dir" "$prefix/w$w" "$keys" </dev/null >/dev/null 2>&1 &
		STORM_PIDS+=("$!")
		ALL_PIDS+=("$!")
	done
	STORM_T0=$SECONDS
	echo "# storm: $writers writers, $keys keys each, under $prefix/"
}

storm_acked() {
	cat "$STORM"/w*/acked | wc -l
}

storm_tried() {
	cat "$STORM"/w*/acked "$STORM"/w*/unacked | wc -l
}

# storm_wait_tried N SECONDS: wait until N PUTs were answered (or failed);
# bail after SECONDS.
storm_wait_tried() {
	local n=$1 deadline=$((SECONDS + $2))
	while [ "$(storm_tried)" -lt "$n" ]; do
		[ "$SECONDS" -lt "$deadline" ] ||
			bail "the storm got through only $(storm_tried) of $n PUTs within $2 s"
		sleep 0.1
	done
}

storm_wait() {
	local deadline=$((SECONDS + $1)) pid
	for pid in "${STORM_PIDS[@]}"; do
		while proc_alive "$pid"; do
			[ "$SECONDS" -lt "$deadline" ] ||
				bail "the storm's writers did not finish within $1 s ($(storm_tried) PUTs answered)"
			sleep 0.2
		done
		stop_pid "$pid" # reaps it
	done
	STORM_PIDS=()
	echo "# storm over after $((SECONDS - STORM_T0)) s: $(storm_tried) PUTs, $(storm_acked) acknowledged," \
		"$(grep -c . "$STORM"/w*/unacked | awk -F: '{n += $2} END {print n + 0}') not"
	cut -d' ' -f3 "$STORM"/w*/unacked | sort | uniq -c | sed 's/^ */#   status /'
}

# storm_orphans KEY...: say (for information) how many of the absent keys
# among KEYS still have a file on some volume: writes cut short by a crash,
# left for their deleted index record to name. Uses $master from storm_verify.
storm_orphans() {
	local key i n=0 path files
	for key in "$@"; do
		if [ "${master[$key]:-}" != 404 ] || [ -n "${acked[$key]:-}" ]; then
			continue
		fi
		path=$(key_path "$key")
		files=()
		for i in "${!VOL_DIR[@]}"; do
			files+=("${VOL_DIR[i]}$path" "${VOL_DIR[i]}"/sv??"$path")
		done
		for i in "${files[@]}"; do
			if [ -e "$i" ]; then
				n=$((n + 1))
				break
			fi
		done
	done
	echo "# of them, $n left a file on a volume (an interrupted write; not an error)"
}

# parallel_curl CONFIG OUT: run curl over a config of url/output pairs, at
# most 8 transfers at once; OUT gets one line per transfer from WRITE_OUT.
parallel_curl() {
	curl -s -g --path-as-is --parallel --parallel-max 8 --max-time 60 \
		-w "$WRITE_OUT" -K "$1" >"$2" 2>/dev/null
	return 0
}

# storm_verify NAME PREFIX: for every key the storm tried under PREFIX:
#  - acknowledged (201): GET answers 302 with the Content-Md5 of the bytes sent,
#    and the Location and every replica named by Key-Volumes serve those bytes;
#  - not acknowledged: GET answers 404, or it reads back as above with the
#    bytes its writer sent: never other bytes, never a redirect to nothing;
#  - PREFIX?list names every acknowledged key and no key that does not read
#    back; PREFIX?unlinked names no acknowledged key.
# Each violation is one failed check that says what was asked and answered.
storm_verify() {
	local name=$1 prefix=$2 v=$WORK/verify key md5 size loc cmd5 url code got n
	local -A sent acked readable
	rm -rf "$v" && mkdir -p "$v/got"
	while read -r key md5 size; do
		sent[$key]=$md5
	done < <(cat "$STORM"/w*/sent)
	while read -r key md5; do
		acked[$key]=$md5
	done < <(cat "$STORM"/w*/acked)
	local t0=$SECONDS
	echo "# verifying ${#sent[@]} keys (${#acked[@]} acknowledged)"

	# Pass 1: what the master answers for each key.
	for key in "${!sent[@]}"; do
		printf 'url = "%s%s"\noutput = "/dev/null"\n' "$MKV_URL" "$key"
	done >"$v/ask.conf"
	WRITE_OUT='%{url_effective}|%{http_code}|%{redirect_url}|%header{content-md5}|%header{key-volumes}\n' \
		parallel_curl "$v/ask.conf" "$v/answers"
	local -A master location content_md5 volumes
	while IFS='|' read -r url code loc cmd5 kv; do
		key=${url#"$MKV_URL"}
		master[$key]=$code location[$key]=$loc content_md5[$key]=$cmd5 volumes[$key]=$kv
	done <"$v/answers"

	# Pass 2: the bytes at every replica of each 302 (the Location must be one).
	local -A fetch_key bad_read
	local reps r path
	n=0
	for key in "${!master[@]}"; do
		[ "${master[$key]}" = 302 ] || continue
		IFS=, read -ra reps <<<"${volumes[$key]}"
		path=
		for r in "${reps[@]}"; do
			[[ ${location[$key]} == "http://$r/"* ]] && path=${location[$key]#"http://$r"}
		done
		if [ -z "$path" ]; then
			bad_read[$key]="the Location is not at a replica of Key-Volumes; "
			continue
		fi
		for r in "${reps[@]}"; do
			n=$((n + 1))
			fetch_key[$n]=$key
			printf 'url = "http://%s%s"\noutput = "%s/got/%d"\n' "$r" "$path" "$v" "$n"
		done
	done >"$v/fetch.conf"
	WRITE_OUT='%{http_code} %{url_effective}\n' parallel_curl "$v/fetch.conf" "$v/fetched"
	# Transfers end in any order: codes are matched by URL, bytes by file.
	local -A code_of_url fetch_md5
	local line file
	while read -r code url; do
		code_of_url[$url]=$code
	done <"$v/fetched"
	while read -r got file; do
		fetch_md5[${file##*/}]=$got
	done < <(find "$v/got" -type f -exec md5sum {} +)
	n=0
	while IFS= read -r line && IFS= read -r _; do
		n=$((n + 1))
		url=${line#url = \"}
		url=${url%\"}
		key=${fetch_key[$n]}
		code=${code_of_url[$url]:-none}
		got=${fetch_md5[$n]:-none}
		if [ "$code" != 200 ] || [ "$got" != "${sent[$key]}" ]; then
			bad_read[$key]+="$url answered $code with MD5 $got; "
		fi
	done <"$v/fetch.conf"

	# Judge each key.
	local violations=0 absent=0 unacked_live=0
	for key in "${!sent[@]}"; do
		local what=
		code=${master[$key]:-none}
		if [ -n "${acked[$key]:-}" ]; then
			if [ "$code" != 302 ]; then
				what="acknowledged, but GET answers $code"
			elif [ "${content_md5[$key]}" != "${sent[$key]}" ]; then
				what="acknowledged, but Content-Md5 is ${content_md5[$key]}"
			elif [ -n "${bad_read[$key]:-}" ]; then
				what="acknowledged, but ${bad_read[$key]}"
			fi
		else
			case $code in
			404) absent=$((absent + 1)) ;;
			302)
				if [ "${content_md5[$key]}" != "${sent[$key]}" ]; then
					what="not acknowledged, live with Content-Md5 ${content_md5[$key]}"
				elif [ -n "${bad_read[$key]:-}" ]; then
					what="not acknowledged, live, but ${bad_read[$key]}"
				else
					unacked_live=$((unacked_live + 1))
				fi
				;;
			*) what="not acknowledged, GET answers $code" ;;
			esac
		fi
		if [ -n "$what" ]; then
			violations=$((violations + 1))
			[ "$violations" -le 20 ] &&
				echo "# VIOLATION $key (sent MD5 ${sent[$key]}): $what (Location ${location[$key]:-none}, Key-Volumes ${volumes[$key]:-none})"
		else
			readable[$key]=1
		fi
	done
	echo "# unacknowledged writes: $absent absent, $unacked_live live and intact"
	storm_orphans "${!sent[@]}"
	check "$name: every acknowledged write reads back intact, every other one is absent or intact" \
		"0 violations" "$violations violations"

	# The listings.
	req GET "$prefix/?list"
	check "$name: $prefix/?list answers 200" 200 "$STATUS"
	grep -o '"[^"]*"' "$BODY" | tr -d '"' | grep -v '^next$\|^keys$' | grep . >"$v/listed"
	local unreadable=0 missing=0 unknown=0
	local -A listed
	while read -r key; do
		listed[$key]=1
		if [ -z "${sent[$key]:-}" ]; then
			unknown=$((unknown + 1))
			echo "# VIOLATION ?list names $key, which nobody wrote"
		elif [ -z "${readable[$key]:-}" ] || [ "${master[$key]}" != 302 ]; then
			unreadable=$((unreadable + 1))
			[ "$unreadable" -le 20 ] && echo "# VIOLATION ?list names $key, which does not read back (GET ${master[$key]:-none})"
		fi
	done <"$v/listed"
	for key in "${!acked[@]}"; do
		if [ -z "${listed[$key]:-}" ]; then
			missing=$((missing + 1))
			[ "$missing" -le 20 ] && echo "# VIOLATION ?list lacks the acknowledged key $key"
		fi
	done
	check "$name: ?list names only keys that read back" "0 unreadable, 0 unknown" \
		"$unreadable unreadable, $unknown unknown"
	check "$name: ?list names every acknowledged key" "0 missing" "$missing missing"
	req GET "$prefix/?unlinked"
	check "$name: $prefix/?unlinked answers 200" 200 "$STATUS"
	local in_unlinked=0
	while read -r key; do
		if [ -n "${acked[$key]:-}" ]; then
			in_unlinked=$((in_unlinked + 1))
			echo "# VIOLATION ?unlinked names the acknowledged key $key"
		fi
	done < <(grep -o '"[^"]*"' "$BODY" | tr -d '"' | grep -v '^next$\|^keys$' | grep .)
	check "$name: ?unlinked names no acknowledged key" 0 "$in_unlinked"
	rm -rf "$v/got"
	echo "# verified in $((SECONDS - t0)) s"
}

check_takes_writes() {
	printf 'after the storm' >"$WORK/after"
	req PUT /storm/after --data-binary @"$WORK/after"
	check "after the storm: PUT answers 201" 201 "$STATUS"
	check "after the storm: curl -L reads the value back" "$(md5_hex <"$WORK/after")" \
		"$(curl "${CURL_OPTS[@]}" -L "$MKV_URL/storm/after" | md5_hex)"
}
