#!/bin/bash
# malformed.sh - thousands of malformed requests never crash or wedge the
# master: random bytes, truncated request lines, huge headers, invalid methods,
# bad percent escapes, absurd or negative Content-Lengths, chunked bodies with
# bad sizes, bodies on GET, very long URLs, NUL bytes, odd versions and
# queries, sent raw over /dev/tcp by 4 clients at once, then odd requests from
# curl. Afterwards the master is the same process, answers a PUT and a GET
# correctly, has let go of the connections and threads, and its log shows no
# crash.
# shellcheck source=faultlib.sh
. "$(dirname "${BASH_SOURCE[0]}")/faultlib.sh"

CLIENTS=4
PER_CLIENT=${FAULT_MALFORMED:-750} # requests per client
TIME_LIMIT_S=60

start_volume 1
start_volume 2
start_volume 3
start_mkv -voltimeout 500ms
PID=$MKV_PID
MKV_LOG=$LAUNCH_LOG
printf 'before' >"$WORK/before"
req PUT /ok/before --data-binary @"$WORK/before"
check "PUT /ok/before answers 201" 201 "$STATUS"
BASE_THREADS=$(find "/proc/$PID/task" -mindepth 1 -maxdepth 1 | wc -l)

# ---- the requests ----------------------------------------------------------------

# Built once: bash is slow at making long strings.
printf -v BIG '%*s' 400000 ''
BIG=${BIG// /a}
HEADERS=
for ((j = 0; j < 3000; j++)); do
	HEADERS+="X-H$j: v"$'\r\n'
done

# pick VAR WORD...: set VAR to one of the words, at random.
pick() {
	local var=$1
	shift
	printf -v "$var" '%s' "${@:RANDOM % $# + 1:1}"
}

# malformed I: print the bytes of malformed request number I (\0 in a %b
# argument is a NUL byte) and set WAIT to how long to wait for an answer (0
# for a request that is not over yet: the connection is just closed).
malformed() {
	local i=$1 k=/mal/k$((RANDOM % 50)) a b
	WAIT=0.5
	KIND=$((i % 16))
	case $KIND in
	0) # random bytes
		WAIT=0.05
		head -c $((1 + RANDOM % 2000)) /dev/urandom
		;;
	1) # a request cut anywhere
		WAIT=0
		a="PUT $k HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello"
		printf '%b' "${a:0:$((RANDOM % ${#a}))}"
		;;
	2) # a huge header, or very many headers
		if ((RANDOM % 2)); then
			printf 'GET %s HTTP/1.1\r\nHost: x\r\nX-Big: %s\r\n\r\n' "$k" "${BIG:0:$((1000 + RANDOM * 12))}"
		else
			printf 'GET %s HTTP/1.1\r\nHost: x\r\n%s\r\n' "$k" "$HEADERS"
		fi
		;;
	3) # invalid methods
		pick a get Get 'G\x01T' 'PU T' '' PROPFIND OPTIONS TRACE CONNECT PATCH POST BREW "${BIG:0:5000}" 'DELETE\0' 'GET\t'
		printf '%b %s HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc' "$a" "$k"
		;;
	4) # bad percent escapes
		pick a GET PUT DELETE UNLINK HEAD
		pick b /%zz /% /%4 /a%2 /%%% /%00 /a%00b /%ff%fe /%c0%af/%2e%2e /%252F '/?list&start=%zz' '/?%zz' /mal/%E2%82
		printf '%s %s HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc' "$a" "$b"
		;;
	5) # absurd, negative and duplicate Content-Lengths
		pick a 99999999999999999999999 18446744073709551615 18446744073709551616 -1 -100 1e9 ' 5' 0x10 +5 \
			'5, 5' abc '' 9223372036854775807 4294967296
		printf 'PUT %s HTTP/1.1\r\nHost: x\r\nContent-Length: %s\r\n' "$k" "$a"
		((RANDOM % 3 == 0)) && printf 'Content-Length: 7\r\n'
		((RANDOM % 3 == 0)) && printf 'Transfer-Encoding: chunked\r\n'
		printf '\r\nhello'
		;;
	6) # chunked bodies with bad sizes
		printf 'PUT %s HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n' "$k"
		((RANDOM % 2)) && printf 'Content-Length: 5\r\n'
		pick a 'zz\r\nabc\r\n0\r\n\r\n' 'ffffffffffffffffffff\r\nabc\r\n' '-1\r\nabc\r\n0\r\n\r\n' \
			'5\r\nabc\r\n0\r\n\r\n' '3\r\nabc0\r\n\r\n' '3;ext=\x01\r\nabc\r\n0\r\n\r\n' '0x3\r\nabc\r\n0\r\n\r\n' \
			'3\r\nabc\r\n0\r\nTrailer: \0\r\n\r\n' '\r\n\r\n' '7fffffffffffffff\r\nab'
		printf '\r\n%b' "$a"
		;;
	7) # bodies on GET, HEAD, DELETE, UNLINK, REBALANCE
		pick a GET HEAD DELETE UNLINK REBALANCE
		pick b "$k" "$k?list" /mal/ /
		printf '%s %s HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n0123456789' "$a" "$b"
		;;
	8) # very long URLs
		pick a '' '?list' '/b'
		printf 'GET /%s%s HTTP/1.1\r\nHost: x\r\n\r\n' "${BIG:0:$((200 + RANDOM * 12))}" "$a"
		;;
	9) # NUL bytes everywhere
		pick a 'GET /mal/a\0b HTTP/1.1\r\nHost: x\r\n\r\n' 'GET / HTTP/1.1\r\nHo\0st: x\r\n\r\n' \
			'PUT /mal/n HTTP/1.1\r\nHost: \0\r\nContent-Length: 3\r\n\r\n\0\0\0' '\0\0\0\0\r\n\r\n' \
			'GET /\0 HTTP/1.1\0\r\n\r\n' 'GET / HTTP/1.1\r\nContent-Length: \0003\r\n\r\nabc' \
			'PUT /mal/\0 HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc'
		printf '%b' "$a"
		;;
	10) # odd versions and line endings
		pick a 'GET /\r\n' 'GET / HTTP/2.0\r\n\r\n' 'GET / HTTP/9.9\r\n\r\n' 'GET / http/1.1\r\n\r\n' \
			'GET / HTTP/1.1\n\n' 'GET / HTTP/1.1\r\r\r\r' 'GET   /   HTTP/1.1\r\n\r\n' 'GET / HTTP/1.1 extra\r\n\r\n' \
			'GET / HTTP/1.1\r\nNoColon\r\n\r\n' 'GET / HTTP/1.1\r\nX: a\r\n folded\r\n\r\n' 'GET / HTTP/1.0\r\n\r\n' \
			'GET / HTTP/1.1\r\n: empty name\r\n\r\n' 'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n' 'GET * HTTP/1.1\r\nHost: x\r\n\r\n' \
			'GET http://evil/x HTTP/1.1\r\nHost: x\r\n\r\n' 'GET mal HTTP/1.1\r\n\r\n' '\r\n\r\n\r\nGET / HTTP/1.1\r\n\r\n'
		printf '%b' "$a"
		;;
	11) # pipelined requests with garbage among them
		printf 'GET /ok/before HTTP/1.1\r\nHost: x\r\n\r\nPUT %s HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\nokGARBAGE\r\n\r\nGET / HTTP/1.1\r\n\r\n' "$k"
		;;
	12) # odd queries
		pick a '/?list&limit=-1' '/?list&limit=99999999999999999999' '/?list&limit=' '/?list&limit=abc' \
			'/?list&limit=0' '/?list=x&list' '/?unlinked&start=' '/?&&&' '/?=' '/mal/?list&start=/zzz&limit=1' \
			'/?list&limit=1e3' '/?list&limit=0x10' '/?list&limit=+5' '/??list' '/?list#frag' '/?list&start=%00' \
			"/?${BIG:0:20000}"
		printf 'GET %s HTTP/1.1\r\nHost: x\r\n\r\n' "$a"
		;;
	13) # Expect oddities
		pick a 100-continue 100-Continue foo ''
		printf 'PUT %s HTTP/1.1\r\nHost: x\r\nExpect: %s\r\nContent-Length: 4\r\n\r\n' "$k" "$a"
		((RANDOM % 2)) && printf 'body'
		;;
	14) # a PUT whose body ends early
		WAIT=0
		printf 'PUT %s HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n' "$k" $((1000 + RANDOM))
		head -c $((RANDOM % 1000)) /dev/urandom
		;;
	15) # a PUT whose body is longer than its Content-Length
		printf 'PUT %s HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabcdefghijklmnop\r\n\r\n' "$k"
		;;
	esac
}

# client N: send N malformed requests, each on a new connection; print for
# each its kind and the first line of the answer (or "none").
client() {
	local n=$1 i fd line
	trap '' PIPE
	RANDOM=$((BASHPID % 32768))
	for ((i = 0; i < n; i++)); do
		exec {fd}<>"/dev/tcp/127.0.0.1/$MKV_PORT" || {
			echo "connect-failed"
			continue
		}
		malformed "$i" >&"$fd"
		line=none
		if [ "$WAIT" != 0 ]; then
			IFS= read -r -t "$WAIT" line <&"$fd" || line=${line:-none}
		fi
		exec {fd}>&-
		line=${line%$'\r'}
		echo "kind$KIND ${line:0:12}"
	done 2>/dev/null
}

t0=$SECONDS
pids=()
for ((c = 1; c <= CLIENTS; c++)); do
	client "$PER_CLIENT" >"$WORK/client$c.out" &
	pids+=("$!")
	ALL_PIDS+=("$!")
done
# Meanwhile a normal client is answered, every second.
normal_bad=0 normal_n=0
while :; do
	running=0
	for pid in "${pids[@]}"; do
		proc_alive "$pid" && running=$((running + 1))
	done
	[ "$running" -gt 0 ] || break
	[ $((SECONDS - t0)) -lt "$TIME_LIMIT_S" ] || break
	normal_n=$((normal_n + 1))
	code=$(curl -s -o /dev/null --max-time 5 -w '%{http_code}' "$MKV_URL/ok/before")
	[ "$code" = 302 ] || {
		normal_bad=$((normal_bad + 1))
		echo "# during the barrage: GET /ok/before answered $code"
	}
	sleep 1
done
for pid in "${pids[@]}"; do
	stop_pid "$pid"
done
elapsed=$((SECONDS - t0))
sent=$(cat "$WORK"/client*.out | wc -l)
echo "# $sent malformed requests in $elapsed s; their answers:"
cut -d' ' -f2-3 "$WORK"/client*.out | sort | uniq -c | sort -rn | sed 's/^/#   /'
check "the barrage ended within $TIME_LIMIT_S s" "$((CLIENTS * PER_CLIENT))" "$sent"
check "every connection was accepted" 0 "$(cat "$WORK"/client*.out | grep -c '^connect-failed')"
check "during the barrage a normal GET was answered 302 within 5 s, each of $normal_n times" 0 "$normal_bad"
# 505 (HTTP Version Not Supported) is the right answer to HTTP/2.0 or /9.9;
# any other 5xx says a volume failed, and no volume did.
check "no answer but 505 was a 5xx" "" \
	"$(grep -h ' HTTP/1\.[01] 5' "$WORK"/client*.out | grep -v ' 505$' | sort | uniq -c | tr -s ' \n' ' ')"

# ---- odd requests from curl --------------------------------------------------------

curl_bad=0
while IFS= read -r args; do
	eval "set -- $args"
	code=$(curl -s -g -o /dev/null --max-time 5 -w '%{http_code}' "$@" 2>/dev/null)
	case $code in
	000 | [1-4][0-9][0-9]) ;;
	*)
		curl_bad=$((curl_bad + 1))
		echo "# curl $args answered $code"
		;;
	esac
done <<CURLS
-X FOO $MKV_URL/mal/x
-X '' $MKV_URL/mal/x
-X 'GET /other' $MKV_URL/mal/x
-X UNLINK $MKV_URL/
-X DELETE $MKV_URL/
-X PUT -d x $MKV_URL/
-X PUT -d x $MKV_URL//
-X PUT -d x $MKV_URL/mal/
-X PUT -d x --path-as-is $MKV_URL/mal/../../etc/passwd
-X PUT -d x --path-as-is $MKV_URL/mal/./x
-X REBALANCE $MKV_URL/ok/before
-X REBALANCE $MKV_URL/mal/missing
-X OPTIONS --request-target '*' $MKV_URL
--request-target 'http://127.0.0.1:1/x' $MKV_URL
--request-target '' $MKV_URL
--request-target 'mal' $MKV_URL
--http2 $MKV_URL/ok/before
--http2-prior-knowledge $MKV_URL/ok/before
--http1.0 $MKV_URL/ok/before
-H 'Host:' $MKV_URL/ok/before
-H 'Transfer-Encoding: chunked' -X PUT -d abc $MKV_URL/mal/chunked
-H 'Content-Length: -5' -X PUT -d abc $MKV_URL/mal/neg
-H 'Range: bytes=99999999999999999999-' $MKV_URL/ok/before
-H 'Range: bytes=-' $MKV_URL/ok/before
-I $MKV_URL/ok/before?list
-X PUT -T /dev/null $MKV_URL/mal/empty
-X PUT --data-binary @$WORK/before $MKV_URL/%ff%fe%fd
-X PUT --data-binary @$WORK/before $MKV_URL/mal/$(printf 'a%.0s' {1..300})
CURLS
check "odd requests from curl are answered, never with a 5xx" 0 "$curl_bad"

# ---- afterwards ---------------------------------------------------------------------

check "the master is the same process, alive" yes "$(proc_alive "$PID" && [ "$MKV_PID" = "$PID" ] && echo yes || echo no)"
printf 'after the barrage' >"$WORK/after"
req PUT /mal/after --data-binary @"$WORK/after"
check "after the barrage: PUT answers 201" 201 "$STATUS"
check "after the barrage: curl -L reads the value back" "$(md5_hex <"$WORK/after")" \
	"$(curl "${CURL_OPTS[@]}" -L "$MKV_URL/mal/after" | md5_hex)"
check "after the barrage: the key stored before reads back" "$(md5_hex <"$WORK/before")" \
	"$(curl "${CURL_OPTS[@]}" -L "$MKV_URL/ok/before" | md5_hex)"
req GET '/mal/?list'
check "after the barrage: ?list answers 200" 200 "$STATUS"

# client_sockets: the master's TCP connections with clients that are not over
# (any state but LISTEN and TIME_WAIT), from /proc/net/tcp and tcp6.
client_sockets() {
	local port
	port=$(printf '%04X' "$MKV_PORT")
	cat /proc/net/tcp /proc/net/tcp6 2>/dev/null |
		awk -v p=":$port" '$2 ~ p"$" && $4 != "0A" && $4 != "06"' | wc -l
}

# Every connection was closed: its thread and socket are gone within 10 s.
deadline=$((SECONDS + 10))
while :; do
	sockets=$(client_sockets)
	threads=$(find "/proc/$PID/task" -mindepth 1 -maxdepth 1 | wc -l)
	[ "$sockets" -eq 0 ] && [ "$threads" -le $((BASE_THREADS + 4)) ] && break
	[ "$SECONDS" -lt "$deadline" ] || break
	sleep 0.5
done
echo "# afterwards the master has $threads threads ($BASE_THREADS before) and $sockets client connections"
check "after the barrage: no client connection is left open" 0 "$sockets"
check "after the barrage: no thread is left (at most 4 over the start)" yes \
	"$([ "$threads" -le $((BASE_THREADS + 4)) ] && echo yes || echo "no, $threads threads (started with $BASE_THREADS)")"
crash=$(grep -Eai 'sanitizer|runtime error|segmentation|aborted|stack smashing|double free|corrupted|assert|core dumped|fatal' "$MKV_LOG" | head -5)
check "the master's log shows no crash" "" "$crash"

finish
