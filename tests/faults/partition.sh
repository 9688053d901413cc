#!/bin/bash
# partition.sh - volumes on other hosts, and one of them cut off: packets to
# it are dropped, not refused. Each of 4 volumes runs in its own network
# namespace (10.77.I.2, port 8000), reached over a veth pair from the
# masters' namespace (10.77.I.1); nothing is added to the namespace the test
# starts in, and no packet goes anywhere else. Two masters share the volumes
# (2 replicas): one -strict, one with the default spares. With volume 2 cut
# off (its end of the veth down; static neighbour entries keep ARP out of the
# picture): reads of its keys are served from the other replica within
# -voltimeout; PUTs that do not need it succeed; PUTs that need it fail with a
# 5xx in bounded time and leave nothing (-strict), or answer 201 with that
# copy on a spare volume (default). Once it is back, the store recovers fully:
# the failed PUTs succeed, REBALANCE moves spare copies home, volume 2 serves.
#
# The test runs in two parts: as started, it creates the namespaces and
# removes them on exit; then it runs itself again inside the masters'
# namespace (--inside), where the masters, curl and the checks live.
# shellcheck source=faultlib.sh
. "$(dirname "${BASH_SOURCE[0]}")/faultlib.sh"

VOLUMES=4
VOLTIMEOUT_MS=500
GET_LIMIT_MS=$((VOLTIMEOUT_MS * 3 / 2 + 500)) # slack for a loaded machine
# A PUT to a volume that dropped off the network fails when connecting takes
# longer than -voltimeout, or, on a connection opened before, when no byte
# moved for the nginx backend's stall limit (60 s, NGINX_STALL_S in nginx.c,
# which curl measures over a sliding window: about 70 s in all).
PUT_LIMIT_S=${FAULT_PUT_LIMIT_S:-90}

if [ "${1:-}" != --inside ]; then
	need_root "creating network namespaces"
	command -v ip >/dev/null 2>&1 || bail "ip (iproute2) is not installed: apt-get install -y iproute2"
	tag=mkvf$$
	export NS_MASTER=${tag}m
	ip netns add "$NS_MASTER" || bail "ip netns add $NS_MASTER failed: the test must create network namespaces"
	on_exit "ip netns del $NS_MASTER"
	ip -n "$NS_MASTER" link set lo up
	for ((i = 1; i <= VOLUMES; i++)); do
		ns=${tag}v$i a=${tag}a$i b=${tag}b$i
		ip netns add "$ns" || bail "ip netns add $ns failed"
		on_exit "ip netns del $ns"
		ip -n "$ns" link set lo up
		ip link add "$a" netns "$NS_MASTER" type veth peer name "$b" netns "$ns" ||
			bail "cannot create a veth pair between $NS_MASTER and $ns"
		ip -n "$NS_MASTER" addr add "10.77.$i.1/24" dev "$a"
		ip -n "$ns" addr add "10.77.$i.2/24" dev "$b"
		ip -n "$NS_MASTER" link set "$a" up
		ip -n "$ns" link set "$b" up
		mac_a=$(ip -n "$NS_MASTER" -o link show "$a" | grep -o 'link/ether [0-9a-f:]*' | cut -d' ' -f2)
		mac_b=$(ip -n "$ns" -o link show "$b" | grep -o 'link/ether [0-9a-f:]*' | cut -d' ' -f2)
		ip -n "$NS_MASTER" neigh replace "10.77.$i.2" lladdr "$mac_b" dev "$a" nud permanent
		ip -n "$ns" neigh replace "10.77.$i.1" lladdr "$mac_a" dev "$b" nud permanent
		export "NS_VOL$i=$ns" "LINK_VOL$i=$b"
	done
	echo "# namespaces: master $NS_MASTER, volumes ${tag}v1..${tag}v$VOLUMES"
	ip netns exec "$NS_MASTER" bash "${BASH_SOURCE[0]}" --inside
	rc=$?
	# shellcheck disable=SC2034 # read by lib.sh's cleanup
	FINISHED=true # the inner run printed the counts
	exit "$rc"
fi

# ---- inside the master's namespace ------------------------------------------------------

# start_ns_volume I: mkv-volume in volume I's namespace, on 10.77.I.2:8000.
start_ns_volume() {
	local i=$1 ns log deadline
	ns=NS_VOL$i
	ns=${!ns}
	VOL_DIR[i]=$WORK/disk$i/vol
	mkdir -p "${VOL_DIR[i]}"
	log=$WORK/vol$i.log
	HOST=10.77.$i.2 PORT=8000 spawn "$log" ip netns exec "$ns" "$MKV_VOLUME" "${VOL_DIR[i]}"
	# shellcheck disable=SC2034 # lib.sh's record of the volumes
	VOL_PID[i]=$SPAWNED VOL_PORT[i]=8000 VOL_NAME[i]=10.77.$i.2:8000
	deadline=$((SECONDS + MKV_TEST_WAIT))
	until [ "$(curl -s -o /dev/null --max-time 2 -w '%{http_code}' "http://${VOL_NAME[i]}/")" != 000 ]; do
		proc_alive "$SPAWNED" || died "$log" "volume $i in $ns"
		[ "$SECONDS" -lt "$deadline" ] || bail "volume $i did not answer on ${VOL_NAME[i]}"
		sleep 0.1
	done
}

# cut_off I / reconnect I: volume I's end of its veth goes down (packets dropped) / up.
cut_off() {
	local ns=NS_VOL$1 link=LINK_VOL$1
	ip -n "${!ns}" link set "${!link}" down
}
reconnect() {
	local ns=NS_VOL$1 link=LINK_VOL$1
	ip -n "${!ns}" link set "${!link}" up
}

# timed METHOD URL ARGS...: req, and set MS to curl's total time.
timed() {
	local method=$1 url=$2 out how=(-X "$1")
	shift 2
	[[ $url == /* ]] && url=$MKV_URL$url
	[ "$method" = HEAD ] && how=(-I)
	out=$(curl "${CURL_OPTS[@]}" "${how[@]}" -D "$HDRS" -o "$BODY" -w '%{http_code} %{time_total}' "$@" "$url")
	STATUS=${out%% *}
	MS=$(awk -v t="${out#* }" 'BEGIN { printf "%d", t * 1000 }')
}

for ((i = 1; i <= VOLUMES; i++)); do
	start_ns_volume "$i"
done
COMMON=(-replicas 2 -subvolumes 1 -voltimeout "${VOLTIMEOUT_MS}ms")
start_mkv -strict "${COMMON[@]}"
STRICT=$MKV_URL
STRICT_LOG=$LAUNCH_LOG
start_mkv "${COMMON[@]}"
SPARE=$MKV_URL
SPARE_LOG=$LAUNCH_LOG
VOLS=("${VOL_NAME[@]}")
CUT=${VOL_NAME[2]}
echo "# masters: -strict at $STRICT, default (spares) at $SPARE; volumes ${VOLS[*]}"

# keys_on WANT N PREFIX: N keys under PREFIX whose replicas include volume 2
# (WANT=yes) or not (WANT=no), one a line.
keys_on() {
	local want=$1 n=$2 prefix=$3 i=0 found=0 kv
	while [ "$found" -lt "$n" ] && [ "$i" -lt 1000 ]; do
		i=$((i + 1))
		kv=$(key_volumes "$prefix$i" 2 1 "${VOLS[@]}")
		case ",$kv," in
		*",$CUT,"*) [ "$want" = yes ] || continue ;;
		*) [ "$want" = no ] || continue ;;
		esac
		echo "$prefix$i"
		found=$((found + 1))
	done
}

mkdir -p "$WORK/values"
# value_file KEY: where the bytes PUT to KEY are kept (made on first use).
value_file() {
	local f=$WORK/values/${1//\//_}
	[ -f "$f" ] || head -c 65536 /dev/urandom >"$f"
	echo "$f"
}

# value_at URL KEY: true when URL serves exactly the bytes PUT to KEY.
value_at() {
	[ "$(curl "${CURL_OPTS[@]}" "$1" | md5_hex)" = "$(md5_hex <"$(value_file "$2")")" ]
}

# reads_back MASTER KEY: curl -L of KEY on MASTER returns the bytes PUT to KEY.
reads_back() {
	[ "$(curl "${CURL_OPTS[@]}" -L "$1$2" | md5_hex)" = "$(md5_hex <"$(value_file "$2")")" ]
}

# no_trace MASTER KEY: MASTER neither serves nor lists KEY; prints what it found.
no_trace() {
	local dir=${2%/*}
	req GET "$1$2"
	[ "$STATUS" = 404 ] || echo "GET $2: $STATUS"
	req GET "$1$dir/?list"
	grep -q "\"$2\"" "$BODY" && echo "?list names $2"
	req GET "$1$dir/?unlinked"
	grep -q "\"$2\"" "$BODY" && echo "?unlinked names $2"
	return 0
}

# put_in_background MASTER KEY: PUT KEY; its "STATUS MILLISECONDS" go to $WORK/put.<KEY>.
put_in_background() {
	local f
	f=$(value_file "$2")
	curl "${CURL_OPTS[@]}" -X PUT -T "$f" -H 'Expect:' -o /dev/null --max-time $((PUT_LIMIT_S + 30)) \
		-w '%{http_code} %{time_total}\n' "$1$2" 2>/dev/null |
		awk '{ printf "%s %d\n", $1, $2 * 1000 }' >"$WORK/put.${2//\//_}" &
	PUT_PIDS+=("$!")
}

# Keys with a replica on volume 2, written through both masters, so that each
# has connections open to volume 2 when it is cut off, as a busy master would.
mapfile -t OLD < <(keys_on yes 8 /p/old)
bad=0
for ((i = 0; i < ${#OLD[@]}; i++)); do
	via=$STRICT
	[ $((i % 2)) -eq 0 ] || via=$SPARE
	req PUT "$via${OLD[i]}" -T "$(value_file "${OLD[i]}")"
	[ "$STATUS" = 201 ] || bad=$((bad + 1))
done
check "8 keys with a replica on volume 2 written" 0 "$bad"

# ---- volume 2 is cut off -------------------------------------------------------------

mapfile -t NEW_STRICT < <(keys_on yes 6 /p/strict)
mapfile -t NEW_SPARE < <(keys_on yes 6 /p/spare)
mapfile -t ELSEWHERE < <(keys_on no 4 /p/else)

cut_off 2
echo "# volume 2 ($CUT) cut off"
# PUTs that need volume 2, all at once, through both masters, right away:
# each master still has the connections to volume 2 its last PUTs used.
PUT_PIDS=()
for key in "${NEW_STRICT[@]}"; do
	put_in_background "$STRICT" "$key"
done
for key in "${NEW_SPARE[@]}"; do
	put_in_background "$SPARE" "$key"
done
# Meanwhile GETs of its keys are served by the other replica.
slow=() wrong=() worst=0
for _ in 1 2; do
	for via in "$STRICT" "$SPARE"; do
		for ((i = 0; i < ${#OLD[@]}; i++)); do
			key=${OLD[i]}
			[ "$via" = "$STRICT" ] && [ $((i % 2)) -eq 1 ] && continue
			[ "$via" = "$SPARE" ] && [ $((i % 2)) -eq 0 ] && continue
			timed GET "$via$key"
			[ "$MS" -gt "$worst" ] && worst=$MS
			[ "$MS" -lt "$GET_LIMIT_MS" ] || slow+=("GET $key: $MS ms")
			loc=$(hdr Location)
			if [ "$STATUS" != 302 ] || [[ $loc == "http://$CUT/"* ]] || ! value_at "$loc" "$key"; then
				wrong+=("GET $key: $STATUS to $loc")
			fi
		done
	done
done
echo "# 16 GETs with volume 2 cut off: the slowest took $worst ms"
check "volume 2 cut off: GETs of its keys redirect to the other replica, which serves the bytes" "" "${wrong[*]}"
check "volume 2 cut off: each GET answers within $GET_LIMIT_MS ms (-voltimeout ${VOLTIMEOUT_MS}ms)" "" "${slow[*]}"

# Meanwhile PUTs that do not need volume 2 succeed, and quickly.
bad=()
for ((i = 0; i < ${#ELSEWHERE[@]}; i++)); do
	via=$STRICT
	[ $((i % 2)) -eq 0 ] || via=$SPARE
	timed PUT "$via${ELSEWHERE[i]}" -T "$(value_file "${ELSEWHERE[i]}")" -H 'Expect:'
	[ "$STATUS" = 201 ] && [ "$MS" -lt 2000 ] || bad+=("PUT ${ELSEWHERE[i]}: $STATUS in $MS ms")
done
check "volume 2 cut off: PUTs of keys not placed on it answer 201 within 2 s" "" "${bad[*]}"
wait "${PUT_PIDS[@]}"

# -strict: each PUT that needs volume 2 fails, in bounded time, and leaves nothing.
bad=() trace=()
for key in "${NEW_STRICT[@]}"; do
	read -r code ms <"$WORK/put.${key//\//_}"
	echo "# -strict: PUT $key with volume 2 cut off: $code in $ms ms"
	[[ $code == 5[0-9][0-9] ]] && [ "$ms" -lt $((PUT_LIMIT_S * 1000)) ] || bad+=("PUT $key: $code in $ms ms")
	mapfile -t -O "${#trace[@]}" trace < <(no_trace "$STRICT" "$key")
done
check "-strict, volume 2 cut off: PUTs that need it fail with a 5xx within $PUT_LIMIT_S s" "" "${bad[*]}"
check "-strict, volume 2 cut off: the failed PUTs left no key" "" "${trace[*]}"

# Default: such a PUT writes that copy to a spare volume (201, Key-Volumes
# without volume 2, Key-Balance unbalanced) or fails and leaves nothing.
bad=() slow=() unavailable=() SPARED=()
for key in "${NEW_SPARE[@]}"; do
	read -r code ms <"$WORK/put.${key//\//_}"
	echo "# default: PUT $key with volume 2 cut off: $code in $ms ms"
	[ "$ms" -lt $((PUT_LIMIT_S * 1000)) ] || slow+=("PUT $key: $code in $ms ms")
	case $code in
	201)
		SPARED+=("$key")
		req GET "$SPARE$key"
		kv=$(hdr Key-Volumes)
		if [[ ,$kv, == *",$CUT,"* ]] || [ "$(hdr Key-Balance)" != unbalanced ] || ! reads_back "$SPARE" "$key"; then
			bad+=("$key: 201, then GET $STATUS, Key-Volumes $kv, Key-Balance $(hdr Key-Balance)")
		fi
		;;
	5[0-9][0-9])
		unavailable+=("PUT $key: $code in $ms ms")
		mapfile -t -O "${#bad[@]}" bad < <(no_trace "$SPARE" "$key")
		;;
	*) bad+=("PUT $key: $code") ;;
	esac
done
check "default, volume 2 cut off: PUTs that need it answer within $PUT_LIMIT_S s" "" "${slow[*]}"
check "default, volume 2 cut off: each is stored on a spare and reads back, or fails and leaves no key" "" "${bad[*]}"
check "default, volume 2 cut off: writes stay available (every PUT answers 201, a spare taking volume 2's copy)" \
	"" "${unavailable[*]}"

# ---- volume 2 is back ---------------------------------------------------------------------

reconnect 2
echo "# volume 2 back"
bad=()
for key in "${NEW_STRICT[@]}"; do
	timed PUT "$STRICT$key" -T "$(value_file "$key")" -H 'Expect:' --max-time 30
	[ "$STATUS" = 201 ] || bad+=("PUT $key: $STATUS in $MS ms: $(cat "$BODY")")
done
for key in "${NEW_SPARE[@]}"; do
	[[ " ${SPARED[*]} " == *" $key "* ]] && continue
	timed PUT "$SPARE$key" -T "$(value_file "$key")" -H 'Expect:' --max-time 30
	[ "$STATUS" = 201 ] || bad+=("PUT $key: $STATUS in $MS ms: $(cat "$BODY")")
done
check "volume 2 back: the PUTs that failed now answer 201" "" "${bad[*]}"
bad=()
for key in "${SPARED[@]}"; do
	req REBALANCE "$SPARE$key"
	[ "$STATUS" = 204 ] || bad+=("REBALANCE $key: $STATUS $(cat "$BODY")")
	req GET "$SPARE$key"
	[ "$(hdr Key-Balance)" = balanced ] || bad+=("$key: after REBALANCE, Key-Volumes $(hdr Key-Volumes), $(hdr Key-Balance)")
done
check "volume 2 back: REBALANCE moves the copies written to spares home" "" "${bad[*]}"

# serves_from_cut MASTER KEY: volume 2 holds KEY, and GETs redirect to it again.
serves_from_cut() {
	local try
	value_at "http://$CUT$(key_path "$2")" "$2" || {
		echo "$2: volume 2 does not serve it"
		return
	}
	for ((try = 0; try < 40; try++)); do
		req GET "$1$2"
		[ "$STATUS" = 302 ] && [[ $(hdr Location) == "http://$CUT/"* ]] && return
	done
	echo "$2: 40 GETs never redirected to volume 2"
}
bad=()
for ((i = 0; i < ${#OLD[@]}; i++)); do
	via=$STRICT
	[ $((i % 2)) -eq 0 ] || via=$SPARE
	mapfile -t -O "${#bad[@]}" bad < <(serves_from_cut "$via" "${OLD[i]}")
done
for key in "${NEW_STRICT[@]}"; do
	mapfile -t -O "${#bad[@]}" bad < <(serves_from_cut "$STRICT" "$key")
done
for key in "${NEW_SPARE[@]}"; do
	mapfile -t -O "${#bad[@]}" bad < <(serves_from_cut "$SPARE" "$key")
done
check "volume 2 back: it serves its keys, and GETs redirect to it again" "" "${bad[*]}"
bad=()
for ((i = 0; i < ${#OLD[@]}; i++)); do
	via=$STRICT
	[ $((i % 2)) -eq 0 ] || via=$SPARE
	reads_back "$via" "${OLD[i]}" || bad+=("${OLD[i]}")
done
for key in "${NEW_STRICT[@]}"; do
	reads_back "$STRICT" "$key" || bad+=("$key")
done
for ((i = 0; i < ${#ELSEWHERE[@]}; i++)); do
	via=$STRICT
	[ $((i % 2)) -eq 0 ] || via=$SPARE
	reads_back "$via" "${ELSEWHERE[i]}" || bad+=("${ELSEWHERE[i]}")
done
for key in "${NEW_SPARE[@]}"; do
	reads_back "$SPARE" "$key" || bad+=("$key")
done
check "volume 2 back: every key reads back" "" "${bad[*]}"

if [ "$FAILED" -gt 0 ]; then
	for log in "$STRICT_LOG" "$SPARE_LOG"; do
		echo "# --- $log (PUT lines)"
		grep -a 'PUT\|instead' "$log" | tail -n 30 | sed 's/^/# /'
	done
fi
finish
