#!/bin/bash
# slow-clients.sh - 300 clients that hold connections to the master without
# finishing a request (idle, half a request line, half the headers, a PUT body
# trickling in a byte a second) do not keep a normal GET or PUT from being
# answered within a second; when they go away, their unfinished PUTs leave
# nothing behind and their keys can be written again.
# shellcheck source=faultlib.sh
. "$(dirname "${BASH_SOURCE[0]}")/faultlib.sh"

LIMIT_MS=1000
IDLE=100 PARTIAL_LINE=80 PARTIAL_HEADERS=60 TRICKLE=60
ulimit -n 4096 2>/dev/null || true

start_volume 1
start_volume 2
start_volume 3
start_mkv -voltimeout 500ms
head -c 100000 /dev/urandom >"$WORK/known"
req PUT /slow/known -T "$WORK/known"
check "PUT /slow/known answers 201" 201 "$STATUS"

# ---- open the slow connections -----------------------------------------------------

trap '' PIPE # a connection the master closed is not this test's end
FDS=() TRICKLE_FDS=() refused=0
# connect: open a connection to the master; sets FD, or counts a refusal.
connect() {
	FD=
	if exec {FD}<>"/dev/tcp/127.0.0.1/$MKV_PORT"; then
		FDS+=("$FD")
	else
		refused=$((refused + 1))
		FD=
	fi
} 2>/dev/null

for ((i = 0; i < IDLE; i++)); do
	connect
done
for ((i = 0; i < PARTIAL_LINE; i++)); do
	connect && [ -n "$FD" ] && printf 'GET /slow/partial%d' "$i" >&"$FD"
done
for ((i = 0; i < PARTIAL_HEADERS; i++)); do
	connect && [ -n "$FD" ] && printf 'GET /slow/known HTTP/1.1\r\nHost: x\r\nX-Slow: %d' "$i" >&"$FD"
done
for ((i = 0; i < TRICKLE; i++)); do
	connect
	[ -n "$FD" ] || continue
	printf 'PUT /slow/trickle%d HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000\r\n\r\nfirst bytes' "$i" >&"$FD"
	TRICKLE_FDS+=("$FD")
done
check "$((IDLE + PARTIAL_LINE + PARTIAL_HEADERS + TRICKLE)) slow connections opened" 0 "$refused"
echo "# ${#FDS[@]} connections open to the master (pid $MKV_PID)"

# A byte a second on every trickling PUT, for as long as the test lasts.
(
	trap '' PIPE
	while :; do
		for fd in "${TRICKLE_FDS[@]}"; do
			printf 'x' 1>&"$fd" 2>/dev/null
		done
		sleep 1
	done
) </dev/null >/dev/null 2>&1 &
ALL_PIDS+=("$!")
TRICKLER=$!
sleep 2 # every connection accepted, every trickling PUT under way

# ---- normal clients are answered within a second -------------------------------------

# timed METHOD URL ARGS...: a request; sets STATUS and MS (curl's total time).
timed() {
	local method=$1 url=$2 out
	shift 2
	out=$(curl "${CURL_OPTS[@]}" -X "$method" -o "$BODY" -w '%{http_code} %{time_total}' "$@" "$MKV_URL$url")
	STATUS=${out%% *}
	MS=$(awk -v t="${out#* }" 'BEGIN { printf "%d", t * 1000 }')
}

slow=() worst=0 bad=0
for ((round = 1; round <= 10; round++)); do
	head -c 65536 /dev/urandom >"$WORK/v$round"
	timed PUT "/slow/new$round" -T "$WORK/v$round" -H 'Expect:'
	[ "$STATUS" = 201 ] || bad=$((bad + 1))
	[ "$MS" -lt "$LIMIT_MS" ] || slow+=("PUT /slow/new$round: $MS ms")
	[ "$MS" -gt "$worst" ] && worst=$MS
	for url in /slow/known "/slow/new$round"; do
		timed GET "$url"
		[ "$STATUS" = 302 ] || bad=$((bad + 1))
		[ "$MS" -lt "$LIMIT_MS" ] || slow+=("GET $url: $MS ms")
		[ "$MS" -gt "$worst" ] && worst=$MS
	done
	timed GET '/slow/?list'
	[ "$STATUS" = 200 ] || bad=$((bad + 1))
	[ "$MS" -lt "$LIMIT_MS" ] || slow+=("GET /slow/?list: $MS ms")
	[ "$MS" -gt "$worst" ] && worst=$MS
done
echo "# 40 requests beside the slow clients: the slowest took $worst ms"
check "with 300 slow clients: 10 PUTs, 20 GETs and 10 listings answer as usual" 0 "$bad"
check "with 300 slow clients: each answers within $LIMIT_MS ms" "" "${slow[*]}"
check "with 300 slow clients: the values read back" "$(md5_hex <"$WORK/v10")" \
	"$(curl "${CURL_OPTS[@]}" -L "$MKV_URL/slow/new10" | md5_hex)"

# The trickling PUTs are real writes in progress: they hold their keys.
req PUT /slow/trickle0 --data-binary 'other'
check "a trickling PUT holds its key: another PUT of it answers 409" 409 "$STATUS"
req GET /slow/trickle0
check "a trickling PUT is not live: GET answers 404" 404 "$STATUS"
check "the master is still the same process" yes "$(proc_alive "$MKV_PID" && echo yes || echo no)"

# ---- the slow clients go away -------------------------------------------------------

stop_pid "$TRICKLER"
for fd in "${FDS[@]}"; do
	exec {fd}>&-
done
# The master notices each closed connection and abandons its PUT; give it 20 s.
deadline=$((SECONDS + 20))
while :; do
	req PUT /slow/trickle0 --data-binary 'after the client left'
	if [ "$STATUS" != 409 ] || [ "$SECONDS" -ge "$deadline" ]; then
		break
	fi
	sleep 0.5
done
check "a PUT abandoned by its client releases its key: PUT of it answers 201" 201 "$STATUS"
sleep 1
left=0 listed=
for ((i = 1; i < TRICKLE; i++)); do
	req GET "/slow/trickle$i"
	[ "$STATUS" = 404 ] || left=$((left + 1))
	for v in 1 2 3; do
		[ -e "$(replica_file "${VOL_NAME[v]}" "/slow/trickle$i")" ] && left=$((left + 1))
	done
done
check "abandoned PUTs: no key is live and no file is left on a volume" 0 "$left"
req GET '/slow/?list'
listed=$(grep -o '"/slow/trickle[^"]*"' "$BODY" | tr -d '"' | tr '\n' ' ')
check "abandoned PUTs: ?list names only the one written again" "/slow/trickle0 " "$listed"
req GET '/slow/?unlinked'
check "abandoned PUTs: ?unlinked is empty" '{"next":"","keys":[]}' "$(cat "$BODY")"

finish
