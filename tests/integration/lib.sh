# lib.sh - the harness shared by mkv's integration tests (sourced, not run).
#
# A test sources this file, starts real nginx volume servers (mkv-volume) and
# real mkv masters on free loopback ports inside one temporary directory,
# drives them over HTTP with curl, asserts with check(), and ends with finish.
# Whatever happens, the EXIT trap stops every process the test started (and
# waits for it) and removes the temporary directory.
#
# Environment (set by `make check`; defaults suit a build in the source tree):
#   top_builddir, top_srcdir    where mkv, mkv-volume and the sources are
#   MKV_TEST_PLUGINDIR          the directory holding leveldb.so and nginx.so
#   MKV_TEST_WAIT               seconds a server may take to start (default 20)
#
# Processes:
#   start_volume I [PORT]       start volume I (dir $WORK/volI) on a free port,
#                               or on PORT; sets VOL_PORT[I], VOL_DIR[I], VOL_PID[I]
#   stop_volume I               stop volume I (its files stay)
#   restart_volume I            stop it, start it again on the same port and dir
#   pause_volume I / resume_volume I   SIGSTOP / SIGCONT the whole nginx of volume I
#   start_mkv [FLAGS...]        start a master with FLAGS plus, unless FLAGS give
#                               them, -port (free), -volumes (every started
#                               volume), -db ($WORK/dbN), -plugindir; sets
#                               MKV_PORT, MKV_URL, MKV_PID, MKV_DB, MKV_ARGS
#   launch_mkv PORT ARGS...     start `mkv ARGS...` exactly as given and wait
#                               until it answers on PORT; sets MKV_PID
#   launch_free WHAT ARGS...    the same on a free port that replaces @PORT@ in
#                               ARGS; sets MKV_PORT, MKV_URL, MKV_PID, MKV_ARGS
#   stop_mkv [PID]              stop a master (default: the last started)
#   restart_mkv                 stop the last master, start it again with the
#                               same arguments (same port, same -db)
#   restart                     the same as restart_mkv
#
# HTTP:
#   req METHOD URL [CURL ARGS...]   one request, redirects not followed; sets
#                               STATUS, headers in $HDRS, body in $BODY. A URL
#                               starting with / is relative to $MKV_URL.
#   hdr NAME [FILE]             a header of the last response (case-insensitive,
#                               \r stripped), or "<absent>"
#   location_port               the port of the last response's Location
#   fetch URL FILE              GET URL into FILE (no redirects); prints the status
#   check_get NAME URLPATH KEY FILE KEYVOLUMES   the checks of a live key's GET:
#                               302 to a replica, its headers, the bytes of FILE
#
# Keys (a key is the decoded URL path, leading / included):
#   key_path KEY                /xx/yy/<base64 of KEY>: its path on a volume
#   md5_hex < FILE              the MD5 of stdin in hex
#   urlencode KEY               KEY percent-encoded for a URL path
#   key_volumes KEY N SUBVOLS VOLUME...   the N replicas rendezvous hashing
#                               picks, comma-joined (what Key-Volumes shows)
#   volume_files                the number of value files on every volume
#   json_keys JSON / json_next JSON     decoded keys (one a line) / next of a listing
#
# Assertions:
#   check NAME EXPECTED ACTUAL  ok when equal
#   check_match NAME REGEX ACTUAL   ok when ACTUAL matches the ERE
#   check_in NAME ACTUAL CHOICE...  ok when ACTUAL is one of the choices
#   check_cmd NAME CMD...       ok when CMD succeeds (same_bytes A B compares files)
#   finish                      print "N passed, N failed", exit 1 if any failed
#   bail REASON                 count a failure and stop the test now
# Each prints "ok - NAME" or "not ok - NAME (expected X, got Y)". Never call
# bail, or what may bail (free_port, start_*), inside $(...): it would only
# leave the subshell.

set -u
set -o pipefail
export LC_ALL=C # byte semantics: ${#s} and ${s:i:1} count bytes

: "${top_srcdir:=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}"
: "${top_builddir:=$top_srcdir}"
: "${MKV_TEST_PLUGINDIR:=$top_builddir/plugins/.libs}"
: "${MKV_TEST_WAIT:=20}"

MKV=$top_builddir/mkv
MKV_VOLUME=$top_builddir/mkv-volume

PASSED=0
FAILED=0
FINISHED=false
ALL_PIDS=()
USED_PORTS=" "
declare -a VOL_PORT VOL_DIR VOL_PID
# shellcheck disable=SC2034 # for the tests
MKV_PORT='' MKV_URL='' MKV_PID='' MKV_DB='' MKV_ARGS=()
MKV_COUNT=0
STATUS=

# ---- assertions ---------------------------------------------------------------

check() {
	local name=$1 expected=$2 actual=$3
	if [ "$expected" = "$actual" ]; then
		PASSED=$((PASSED + 1))
		echo "ok - $name"
	else
		FAILED=$((FAILED + 1))
		echo "not ok - $name (expected $expected, got $actual)"
	fi
}

check_match() {
	local name=$1 regex=$2 actual=$3
	if [[ $actual =~ $regex ]]; then
		check "$name" "$actual" "$actual"
	else
		check "$name" "a match of /$regex/" "$actual"
	fi
}

check_in() {
	local name=$1 actual=$2 choice
	shift 2
	for choice in "$@"; do
		if [ "$choice" = "$actual" ]; then
			check "$name" "$actual" "$actual"
			return
		fi
	done
	check "$name" "one of {$*}" "$actual"
}

check_cmd() {
	local name=$1
	shift
	if "$@"; then
		check "$name" success success
	else
		check "$name" "success of: $*" "status $?"
	fi
}

bail() {
	FAILED=$((FAILED + 1))
	echo "not ok - $1 (test stopped here)"
	exit 1
}

finish() {
	FINISHED=true
	echo "$PASSED passed, $FAILED failed"
	[ "$FAILED" -eq 0 ] && [ "$PASSED" -gt 0 ]
	exit $?
}

# ---- processes ------------------------------------------------------------------

# proc_alive PID: true while PID runs (a zombie, exited but not reaped, is dead).
proc_alive() {
	local stat
	if [ -r "/proc/$1/stat" ]; then
		read -r stat 2>/dev/null <"/proc/$1/stat" || return 1
		stat=${stat##*) }
		[ "${stat%% *}" != Z ]
	else
		kill -0 "$1" 2>/dev/null
	fi
}

# children PID: the pids of PID's children (from /proc, so no procps needed).
children() {
	local f line fields
	if [ ! -d /proc/self ]; then
		pgrep -P "$1" 2>/dev/null
		return 0
	fi
	for f in /proc/[0-9]*/stat; do
		read -r line 2>/dev/null <"$f" || continue
		read -ra fields <<<"${line##*) }"
		[ "${fields[1]:-}" = "$1" ] && echo "${line%% *}"
	done
	return 0
}

# descendants PID: the pids of PID's children, grandchildren, ...
descendants() {
	local child
	for child in $(children "$1"); do
		echo "$child"
		descendants "$child"
	done
}

# stop_pid PID: SIGTERM, wait up to 10 s, then SIGKILL PID and what it started; reap.
stop_pid() {
	local pid=$1 tree i
	[ -n "$pid" ] || return 0
	mapfile -t tree < <(descendants "$pid")
	kill -CONT "$pid" "${tree[@]}" 2>/dev/null
	kill -TERM "$pid" 2>/dev/null
	for ((i = 0; i < 100; i++)); do
		proc_alive "$pid" || break
		sleep 0.1
	done
	if proc_alive "$pid"; then
		echo "# pid $pid ignored SIGTERM for 10 s: killing it" >&2
		kill -KILL "$pid" 2>/dev/null
	fi
	for i in "${tree[@]}"; do
		proc_alive "$i" && kill -KILL "$i" 2>/dev/null
	done
	wait "$pid" 2>/dev/null
	local kept=() p
	for p in "${ALL_PIDS[@]}"; do
		[ "$p" = "$pid" ] || kept+=("$p")
	done
	ALL_PIDS=("${kept[@]}")
	return 0
}

cleanup() {
	local rc=$? pid
	trap - EXIT
	for pid in "${ALL_PIDS[@]}"; do
		stop_pid "$pid"
	done
	if ! $FINISHED; then
		echo "# stopped before the end (status $rc)"
		echo "$PASSED passed, $FAILED failed"
		[ "$rc" -eq 0 ] && rc=1
	fi
	[ -n "${WORK:-}" ] && rm -rf -- "$WORK"
	exit "$rc"
}

# port_busy PORT: true when something accepts connections on 127.0.0.1:PORT.
port_busy() {
	(exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# The kernel's ephemeral ports (the local ports of outgoing connections, busy
# all the time during a test) are avoided: a server cannot bind one of them
# while some client connection uses it.
EPHEMERAL_LOW=0 EPHEMERAL_HIGH=0
read -r EPHEMERAL_LOW EPHEMERAL_HIGH </proc/sys/net/ipv4/ip_local_port_range 2>/dev/null
if [ $((EPHEMERAL_LOW - 20000)) -lt 2000 ] && [ $((60000 - EPHEMERAL_HIGH)) -lt 2000 ]; then
	EPHEMERAL_LOW=0 EPHEMERAL_HIGH=0 # too little left outside it: ignore it
fi

# free_port: set FREE_PORT to a port in 20000-60000, outside the ephemeral range,
# that nobody listens on and this test has not used yet.
free_port() {
	local port i
	for ((i = 0; i < 1000; i++)); do
		port=$((20000 + (RANDOM * 32768 + RANDOM) % 40001))
		[ "$port" -ge "$EPHEMERAL_LOW" ] && [ "$port" -le "$EPHEMERAL_HIGH" ] && continue
		case $USED_PORTS in *" $port "*) continue ;; esac
		if ! port_busy "$port"; then
			USED_PORTS+="$port "
			FREE_PORT=$port
			return 0
		fi
	done
	bail "no free port found"
}

# wait_http PID PORT LOG: wait until PID answers HTTP on PORT. Returns 1 when PID
# died (the caller decides), bails when it is still silent after MKV_TEST_WAIT s.
wait_http() {
	local pid=$1 port=$2 log=$3 deadline code
	deadline=$((SECONDS + MKV_TEST_WAIT))
	while :; do
		proc_alive "$pid" || return 1
		code=$(curl -s -o /dev/null --max-time 2 -w '%{http_code}' "http://127.0.0.1:$port/" 2>/dev/null)
		if [ "$code" != 000 ] && [ -n "$code" ]; then
			proc_alive "$pid" && return 0 # ours, not some other process on the port
			return 1
		fi
		if [ "$SECONDS" -ge "$deadline" ]; then
			echo "# --- $log ---"
			sed 's/^/# /' "$log"
			bail "pid $pid did not answer HTTP on port $port within $MKV_TEST_WAIT s"
		fi
		sleep 0.1
	done
}

# spawn LOG PORT-ENV CMD...: run CMD in the background, output to LOG; sets SPAWNED.
spawn() {
	local log=$1
	shift
	"$@" </dev/null >>"$log" 2>&1 &
	SPAWNED=$!
	ALL_PIDS+=("$SPAWNED")
}

# died LOG WHAT: report a server that exited during startup, and bail.
died() {
	echo "# --- $1 ---"
	sed 's/^/# /' "$1"
	bail "$2 exited during startup"
}

# lost_port LOG LINE PORT: true when the server logging to LOG since line LINE
# could not bind PORT (another test took it, or a stopped server still holds it).
lost_port() {
	tail -n "+$(($2 + 1))" "$1" | grep -qi 'address already in use' || port_busy "$3"
}

start_volume() {
	local i=$1 fixed=${2:-} port attempt log mark
	VOL_DIR[i]=$WORK/vol$i
	mkdir -p -- "${VOL_DIR[i]}"
	log=$WORK/vol$i.log
	for ((attempt = 0; attempt < 5; attempt++)); do
		if [ -n "$fixed" ]; then
			port=$fixed
		else
			free_port
			port=$FREE_PORT
		fi
		echo "# starting volume $i on port $port" >>"$log"
		mark=$(wc -l <"$log")
		PORT=$port spawn "$log" "$MKV_VOLUME" "${VOL_DIR[i]}"
		if wait_http "$SPAWNED" "$port" "$log"; then
			VOL_PORT[i]=$port
			VOL_PID[i]=$SPAWNED
			return 0
		fi
		stop_pid "$SPAWNED"
		lost_port "$log" "$mark" "$port" || died "$log" "volume $i (mkv-volume)"
		[ -n "$fixed" ] && sleep 1
	done
	bail "volume $i: could not get a port"
}

stop_volume() {
	stop_pid "${VOL_PID[$1]}"
	VOL_PID[$1]=
}

restart_volume() {
	stop_volume "$1"
	start_volume "$1" "${VOL_PORT[$1]}"
}

# pause_volume I: stop every nginx process of volume I; its port still accepts
# connections (the kernel queues them) but nothing answers: a hung server.
pause_volume() {
	local pid=${VOL_PID[$1]} tree
	mapfile -t tree < <(descendants "$pid")
	kill -STOP "${tree[@]}" "$pid"
}

resume_volume() {
	local pid=${VOL_PID[$1]} tree
	mapfile -t tree < <(descendants "$pid")
	kill -CONT "$pid" "${tree[@]}"
}

# volumes_flag: the -volumes value listing every volume started so far, in order.
volumes_flag() {
	local i list=
	for i in "${!VOL_PORT[@]}"; do
		list+=${list:+,}127.0.0.1:${VOL_PORT[i]}
	done
	echo "$list"
}

# has_flag NAME ARGS...: true when ARGS set -NAME (any of the -x v, -x=v, --x forms).
has_flag() {
	local name=$1 a
	shift
	for a in "$@"; do
		case $a in -"$name" | --"$name" | -"$name"=* | --"$name"=*) return 0 ;; esac
	done
	return 1
}

# launch_mkv PORT ARGS...: returns 1 when mkv exited before answering (stopped
# and reaped; LAUNCH_LOG and LAUNCH_MARK say where its output is).
launch_mkv() {
	local port=$1
	shift
	LAUNCH_LOG=$WORK/mkv.$port.log
	echo "# mkv $*" >>"$LAUNCH_LOG"
	LAUNCH_MARK=$(wc -l <"$LAUNCH_LOG")
	spawn "$LAUNCH_LOG" "$MKV" "$@"
	if ! wait_http "$SPAWNED" "$port" "$LAUNCH_LOG"; then
		stop_pid "$SPAWNED"
		return 1
	fi
	MKV_PID=$SPAWNED
}

# launch_free WHAT ARGS...: launch_mkv on a free port, ARGS with every @PORT@
# replaced by it; retried on another port when that one was taken meanwhile.
# LAUNCH_HOOK, when set, names a function called with the port first (to write
# a config file, say). Sets MKV_PORT, MKV_URL, MKV_PID, MKV_ARGS, MKV_DB.
launch_free() {
	local what=$1 attempt port args a
	shift
	for ((attempt = 0; attempt < 5; attempt++)); do
		free_port
		port=$FREE_PORT
		args=()
		for a in "$@"; do
			args+=("${a//@PORT@/$port}")
		done
		[ -z "${LAUNCH_HOOK:-}" ] || "$LAUNCH_HOOK" "$port"
		if launch_mkv "$port" "${args[@]}"; then
			MKV_PORT=$port
			MKV_URL=http://127.0.0.1:$port
			MKV_ARGS=("${args[@]}")
			# shellcheck disable=SC2034 # for the tests
			MKV_DB=$(db_of "${args[@]}")
			return 0
		fi
		lost_port "$LAUNCH_LOG" "$LAUNCH_MARK" "$port" || died "$LAUNCH_LOG" "$what"
	done
	bail "$what: could not get a port"
}

start_mkv() {
	local args=("$@")
	MKV_COUNT=$((MKV_COUNT + 1))
	has_flag volumes "$@" || args+=(-volumes "$(volumes_flag)")
	has_flag db "$@" || args+=(-db "$WORK/db$MKV_COUNT")
	has_flag plugindir "$@" || args+=(-plugindir "$MKV_TEST_PLUGINDIR")
	launch_free mkv -port @PORT@ "${args[@]}" server
}

# db_of ARGS...: the -db value among ARGS.
db_of() {
	while [ $# -gt 0 ]; do
		case $1 in
		-db | --db) echo "$2" && return ;;
		-db=* | --db=*) echo "${1#*=}" && return ;;
		esac
		shift
	done
}

stop_mkv() {
	stop_pid "${1:-$MKV_PID}"
}

restart_mkv() {
	local attempt
	stop_mkv "$MKV_PID"
	for ((attempt = 0; attempt < 5; attempt++)); do
		launch_mkv "$MKV_PORT" "${MKV_ARGS[@]}" && return 0
		lost_port "$LAUNCH_LOG" "$LAUNCH_MARK" "$MKV_PORT" || died "$LAUNCH_LOG" "restarted mkv"
		sleep 1
	done
	bail "restarted mkv: port $MKV_PORT stayed busy"
}

restart() {
	restart_mkv
}

# ---- HTTP -------------------------------------------------------------------------

CURL_OPTS=(-s -g --path-as-is --max-time 120)

req() {
	local method=$1 url=$2 how=(-X "$1")
	shift 2
	[[ $url == /* ]] && url=$MKV_URL$url
	[ "$method" = HEAD ] && how=(-I)
	: >"$HDRS"
	STATUS=$(curl "${CURL_OPTS[@]}" "${how[@]}" -o "$BODY" -D "$HDRS" -w '%{http_code}' "$@" "$url")
}

hdr() {
	local name=${1,,} file=${2:-$HDRS} line field
	while IFS= read -r line || [ -n "$line" ]; do
		line=${line%$'\r'}
		field=${line%%:*}
		if [ "$field" != "$line" ] && [ "${field,,}" = "$name" ]; then
			line=${line#*:}
			line=${line#"${line%%[! ]*}"}
			echo "$line"
			return 0
		fi
	done <"$file"
	echo "<absent>"
}

# location_port: the port of the last response's Location, or "none".
location_port() {
	local loc
	loc=$(hdr Location)
	if [[ $loc =~ ^http://127\.0\.0\.1:([0-9]+)/ ]]; then
		echo "${BASH_REMATCH[1]}"
	else
		echo none
	fi
}

# fetch URL FILE: GET URL into FILE without following redirects; prints the status.
fetch() {
	curl "${CURL_OPTS[@]}" -o "$2" -w '%{http_code}' "$1"
}

# same_bytes A B: true when files A and B hold the same bytes.
same_bytes() {
	cmp -s -- "$1" "$2"
}

# check_get NAME URLPATH KEY FILE KEYVOLUMES: GET URLPATH answers 302 to one of
# KEYVOLUMES (what Key-Volumes must say) with the value's headers, and the
# Location serves exactly FILE. HEAD when CHECK_METHOD=HEAD.
check_get() {
	local name=$1 url=$2 key=$3 file=$4 kv=$5 path replicas r choices=() method=${CHECK_METHOD:-GET}
	path=$(key_path "$key")
	IFS=, read -ra replicas <<<"$kv"
	for r in "${replicas[@]}"; do
		choices+=("http://$r$path")
	done
	req "$method" "$url"
	check "$name: $method answers 302" 302 "$STATUS"
	check_in "$name: Location is a replica of the key" "$(hdr Location)" "${choices[@]}"
	check "$name: Content-Md5 is the MD5 of the value" "$(md5_hex <"$file")" "$(hdr Content-Md5)"
	check "$name: Key-Volumes lists the replicas" "$kv" "$(hdr Key-Volumes)"
	check "$name: Key-Balance" balanced "$(hdr Key-Balance)"
	check "$name: Content-Length" 0 "$(hdr Content-Length)"
	if [ "$method" = GET ]; then
		local loc
		loc=$(hdr Location)
		check "$name: the Location answers 200" 200 "$(fetch "$loc" "$WORK/fetched")"
		check_cmd "$name: the Location serves the value's bytes" same_bytes "$file" "$WORK/fetched"
	fi
}

# ---- keys -------------------------------------------------------------------------

md5_hex() {
	md5sum | cut -c1-32
}

key_path() {
	local h b
	h=$(printf '%s' "$1" | md5_hex)
	b=$(printf '%s' "$1" | base64 -w0)
	echo "/${h:0:2}/${h:2:2}/$b"
}

key_volumes() {
	local key=$1 n=$2 sv=$3 taken=0 out='' score vol
	shift 3
	while read -r score _ vol; do
		[ "$taken" -lt "$n" ] || break
		if [ "$sv" -ne 1 ]; then
			vol+=$(printf '/sv%02X' $((16#${score:24:8} % sv)))
		fi
		out+=${out:+,}$vol
		taken=$((taken + 1))
	done < <(
		pos=0
		for vol in "$@"; do
			printf '%s %d %s\n' "$(printf '%s%s' "$key" "$vol" | md5_hex)" "$pos" "$vol"
			pos=$((pos + 1))
		done | sort -k1,1r -k2,2n
	)
	echo "$out"
}

# urlencode STRING: every byte but unreserved ones and / percent-encoded.
urlencode() {
	local s=$1 i c out=
	for ((i = 0; i < ${#s}; i++)); do
		c=${s:i:1}
		case $c in
		[A-Za-z0-9._~/-]) out+=$c ;;
		*) out+=$(printf '%%%02X' "'$c") ;;
		esac
	done
	echo "$out"
}

volume_files() {
	local i n=0
	for i in "${!VOL_DIR[@]}"; do
		n=$((n + $(find "${VOL_DIR[i]}" -path "${VOL_DIR[i]}/.nginx" -prune -o -type f -print | wc -l)))
	done
	echo "$n"
}

# utf8 CODEPOINT: the UTF-8 bytes of a code point.
utf8() {
	local c=$1 bytes
	if ((c < 0x80)); then
		bytes=$(printf '\\x%02x' "$c")
	elif ((c < 0x800)); then
		bytes=$(printf '\\x%02x\\x%02x' $((0xC0 | c >> 6)) $((0x80 | (c & 0x3F))))
	elif ((c < 0x10000)); then
		bytes=$(printf '\\x%02x\\x%02x\\x%02x' $((0xE0 | c >> 12)) $((0x80 | (c >> 6 & 0x3F))) \
			$((0x80 | (c & 0x3F))))
	else
		bytes=$(printf '\\x%02x\\x%02x\\x%02x\\x%02x' $((0xF0 | c >> 18)) $((0x80 | (c >> 12 & 0x3F))) \
			$((0x80 | (c >> 6 & 0x3F))) $((0x80 | (c & 0x3F))))
	fi
	printf '%b' "$bytes"
}

# json_string JSON POS: decode the JSON string whose opening quote is at POS;
# sets JSTR to its value and JPOS just past its closing quote.
json_string() {
	local s=$1 i=$(($2 + 1)) c hi lo
	JSTR=
	while [ "$i" -lt "${#s}" ]; do
		c=${s:i:1}
		case $c in
		'"')
			JPOS=$((i + 1))
			return 0
			;;
		\\)
			c=${s:i+1:1}
			i=$((i + 2))
			case $c in
			b) JSTR+=$'\b' ;;
			f) JSTR+=$'\f' ;;
			n) JSTR+=$'\n' ;;
			r) JSTR+=$'\r' ;;
			t) JSTR+=$'\t' ;;
			u)
				hi=$((16#${s:i:4}))
				i=$((i + 4))
				if ((hi >= 0xD800 && hi < 0xDC00)) && [ "${s:i:2}" = '\u' ]; then
					lo=$((16#${s:i+2:4}))
					i=$((i + 6))
					hi=$((0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00)))
				fi
				JSTR+=$(utf8 "$hi")
				;;
			*) JSTR+=$c ;;
			esac
			continue
			;;
		*) JSTR+=$c ;;
		esac
		i=$((i + 1))
	done
	return 1
}

# json_keys JSON: the keys of a listing, decoded, one a line.
json_keys() {
	local s=$1 rest pos
	rest=${s#*\"keys\":}
	[ "$rest" != "$s" ] || return 1
	pos=$((${#s} - ${#rest}))
	while [ "$pos" -lt "${#s}" ]; do
		case ${s:pos:1} in
		'"')
			json_string "$s" "$pos" || return 1
			printf '%s\n' "$JSTR"
			pos=$JPOS
			;;
		']') return 0 ;;
		*) pos=$((pos + 1)) ;;
		esac
	done
}

# json_next JSON: the next of a listing, decoded.
json_next() {
	local s=$1 rest
	rest=${s#*\"next\":}
	[ "$rest" != "$s" ] || return 1
	rest=${rest#"${rest%%[! ]*}"}
	json_string "$rest" 0 && printf '%s\n' "$JSTR"
}

# ---- setup --------------------------------------------------------------------------

trap cleanup EXIT
trap 'exit 130' INT TERM

for f in "$MKV" "$MKV_VOLUME"; do
	[ -x "$f" ] || {
		echo "$f is missing: build it first"
		exit 99
	}
done
command -v curl >/dev/null 2>&1 || {
	echo "curl is not installed: skipping"
	exit 77
}
nginx_bin=$(sed -n "s/^NGINX='\(.*\)'$/\1/p" "$MKV_VOLUME")
if ! command -v "${nginx_bin:-nginx}" >/dev/null 2>&1; then
	echo "nginx (${nginx_bin:-nginx}) is not installed: skipping"
	exit 77
fi

WORK=$(mktemp -d "${TMPDIR:-/tmp}/mkv-it.XXXXXX") || exit 99
HDRS=$WORK/headers
BODY=$WORK/body
echo "# work dir $WORK"
