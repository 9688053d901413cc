# lib.sh - the harness shared by mkv's integration tests (sourced, not run).
#
# A test sources this file, starts volumes and real mkv masters on free
# loopback ports inside one temporary directory, drives them over HTTP with
# curl, asserts with check(), and ends with finish. Whatever happens, the EXIT
# trap stops every process the test started (and waits for it) and removes the
# temporary directory.
#
# The same test runs over every pair of backends: the environment chooses them,
# and the helpers below assert what each pair makes a client see.
#
# Environment (set by `make check`; defaults suit a build in the source tree):
#   top_builddir, top_srcdir    where mkv, mkv-volume and the sources are
#   MKV_TEST_PLUGINDIR          the directory holding the backends' .so files
#   MKV_TEST_INDEX              index backend: leveldb (default) or lmdb
#   MKV_TEST_VOLUME             volume backend: nginx (default: mkv-volume
#                               servers) or local (directories the master
#                               serves itself)
#   MKV_TEST_CONFIG             when set, a file of INI sections (backend
#                               options): start_mkv then starts every master as
#                               `mkv -config FILE server` alone, FILE holding
#                               its settings as top-level keys, then these
#   MKV_TEST_WAIT               seconds a server may take to start (default 20)
#
# Backends:
#   use_backends INDEX VOLUME   the backends masters and commands use from now on
#                               (set from the environment when this file loads)
#   BACKEND_FLAGS               -index ... -volume ...: the backends under test,
#                               for mkv commands a test runs itself
#   LIVE_GET                    what GET/HEAD of a live key answers: 302 (nginx:
#                               a redirect to a replica) or 200 (local: the value)
#   with_nginx_volumes WHAT     true with nginx volumes; otherwise says that WHAT
#                               (something only an nginx volume can do) is skipped
#   require_nginx               exit 77 (skip) when nginx is not installed
#
# Volumes (volume I keeps its files in VOL_DIR[I] = $WORK/diskI/vol):
#   start_volume I [PORT]       nginx: start mkv-volume over VOL_DIR[I] on a free
#                               port (or PORT), sets VOL_PORT[I], VOL_PID[I];
#                               local: create the directory. Sets VOL_NAME[I],
#                               the volume as -volumes and Key-Volumes name it
#                               (127.0.0.1:PORT, or the directory)
#   stop_volume I               the volume dies, its files stay: nginx stops;
#                               local: $WORK/diskI is renamed away, as when a
#                               disk is unmounted (the directory's parent is gone)
#   restart_volume I            stop it, start it again (same port, same files)
#   switch_volumes BACKEND      stop every volume and start each again over the
#                               same directory with BACKEND (nginx or local)
#   pause_volume I / resume_volume I   SIGSTOP / SIGCONT the whole nginx of volume I
#                               (nginx only: a local directory cannot hang)
#   volumes_flag                every started volume's VOL_NAME, comma-joined
#
# Masters:
#   start_mkv [FLAGS...]        start a master with FLAGS plus, unless FLAGS give
#                               them, -port (free), -volumes (every started
#                               volume), -db ($WORK/dbN), -plugindir, -index and
#                               -volume; sets MKV_PORT, MKV_URL, MKV_PID, MKV_DB,
#                               MKV_ARGS (MKV_CONFIG too when MKV_TEST_CONFIG is set)
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
#   read_value URL [CURL ARGS...]   GET as a client reads a value, following a
#                               redirect; STATUS, $HDRS and $BODY are the final
#                               answer's (a volume's with nginx, the master's
#                               with local)
#   hdr NAME [FILE]             a header of the last response (case-insensitive,
#                               \r stripped), or "<absent>"
#   location_port               the port of the last response's Location
#   fetch URL FILE              GET URL into FILE (no redirects); prints the status
#   follow FILE                 the final status of the last answer for a client
#                               that follows it (a redirect fetched), the value
#                               it gets in FILE
#   check_get NAME URLPATH KEY FILE KEYVOLUMES   the checks of a live key's GET
#                               (HEAD with CHECK_METHOD=HEAD): LIVE_GET, the
#                               value's headers, and the bytes of FILE (nginx:
#                               302 to a replica that serves them; local: 200
#                               with them, Content-Length, Accept-Ranges)
#   list_keys / list_next       the decoded keys (one a line) / the next of the
#                               listing in $BODY (with jq). A key that is not
#                               UTF-8 is listed with U+FFFD for each bad byte.
#
# Keys (a key is the decoded URL path, leading / included):
#   key_path KEY                /xx/yy/<base64 of KEY>: its path on a volume
#   md5_hex < FILE              the MD5 of stdin in hex
#   urlencode KEY               KEY percent-encoded for a URL path
#   key_volumes KEY N SUBVOLS VOLUME...   the N replicas rendezvous hashing
#                               picks, comma-joined (what Key-Volumes shows)
#   replica_file REPLICA KEY    the file holding KEY on REPLICA (a Key-Volumes
#                               entry: a VOL_NAME, /svXX appended with subvolumes)
#   volume_files                the number of value files on every volume
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
: "${MKV_TEST_INDEX:=leveldb}"
: "${MKV_TEST_VOLUME:=nginx}"
: "${MKV_TEST_CONFIG:=}"

MKV=$top_builddir/mkv
MKV_VOLUME=$top_builddir/mkv-volume

PASSED=0
FAILED=0
FINISHED=false
ALL_PIDS=()
USED_PORTS=" "
declare -a VOL_PORT VOL_DIR VOL_PID VOL_NAME
# shellcheck disable=SC2034 # for the tests
MKV_PORT='' MKV_URL='' MKV_PID='' MKV_DB='' MKV_ARGS=() MKV_CONFIG=''
MKV_COUNT=0
STATUS=
# What AddressSanitizer, LeakSanitizer and UBSan print when they find something.
SANITIZER_REPORT='ERROR: (AddressSanitizer|LeakSanitizer)|runtime error: '

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
	# A sanitizer's report in a server's log fails the test (scripts/check-sanitizers.sh).
	local logs log
	if [ -n "${WORK:-}" ] && logs=$(grep -lsE "$SANITIZER_REPORT" "$WORK"/*.log); then
		for log in $logs; do
			echo "# --- sanitizer report in $log ---"
			sed 's/^/# /' "$log"
		done
		echo "not ok - a process of this test reported a sanitizer error (see its log above)"
		rc=1
	fi
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

# ---- backends -----------------------------------------------------------------------

use_backends() {
	case $1 in
	leveldb | lmdb) ;;
	*) bail "MKV_TEST_INDEX must be leveldb or lmdb, not '$1'" ;;
	esac
	MKV_TEST_INDEX=$1
	case $2 in
	nginx) LIVE_GET=302 ;;
	local) LIVE_GET=200 ;;
	*) bail "MKV_TEST_VOLUME must be nginx or local, not '$2'" ;;
	esac
	MKV_TEST_VOLUME=$2
	# shellcheck disable=SC2034 # for the tests
	BACKEND_FLAGS=(-index "$MKV_TEST_INDEX" -volume "$MKV_TEST_VOLUME")
}

with_nginx_volumes() {
	[ "$MKV_TEST_VOLUME" = nginx ] && return 0
	echo "# skipped with $MKV_TEST_VOLUME volumes (nginx volumes only): $1"
	return 1
}

require_nginx() {
	local nginx_bin
	nginx_bin=$(sed -n "s/^NGINX='\(.*\)'$/\1/p" "$MKV_VOLUME")
	if ! command -v "${nginx_bin:-nginx}" >/dev/null 2>&1; then
		echo "nginx (${nginx_bin:-nginx}) is not installed: skipping"
		exit 77
	fi
}

# ---- volumes --------------------------------------------------------------------------

start_volume() {
	local i=$1
	VOL_DIR[i]=$WORK/disk$i/vol
	if [ -d "$WORK/disk$i.unmounted" ]; then # unmounted by stop_volume: mount it again
		mv -- "$WORK/disk$i.unmounted" "$WORK/disk$i" || bail "volume $i: cannot mount it again"
	fi
	mkdir -p -- "${VOL_DIR[i]}"
	case $MKV_TEST_VOLUME in
	nginx) start_nginx_volume "$@" ;;
	local)
		unset 'VOL_PORT[i]' 'VOL_PID[i]'
		VOL_NAME[i]=${VOL_DIR[i]}
		;;
	esac
}

# start_nginx_volume I [PORT]: mkv-volume over VOL_DIR[I].
start_nginx_volume() {
	local i=$1 fixed=${2:-} port attempt log mark
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
			VOL_NAME[i]=127.0.0.1:$port
			return 0
		fi
		stop_pid "$SPAWNED"
		lost_port "$log" "$mark" "$port" || died "$log" "volume $i (mkv-volume)"
		[ -n "$fixed" ] && sleep 1
	done
	bail "volume $i: could not get a port"
}

stop_volume() {
	case $MKV_TEST_VOLUME in
	nginx)
		stop_pid "${VOL_PID[$1]:-}"
		VOL_PID[$1]=
		;;
	local)
		if [ -d "$WORK/disk$1" ]; then
			mv -- "$WORK/disk$1" "$WORK/disk$1.unmounted" || bail "volume $1: cannot unmount it"
		fi
		;;
	esac
}

restart_volume() {
	stop_volume "$1"
	start_volume "$1" "${VOL_PORT[$1]:-}"
}

switch_volumes() {
	local i
	for i in "${!VOL_DIR[@]}"; do
		stop_volume "$i"
	done
	use_backends "$MKV_TEST_INDEX" "$1"
	for i in "${!VOL_DIR[@]}"; do
		start_volume "$i"
	done
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

volumes_flag() {
	local IFS=,
	echo "${VOL_NAME[*]}"
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
	has_flag index "$@" || args+=(-index "$MKV_TEST_INDEX")
	has_flag volume "$@" || args+=(-volume "$MKV_TEST_VOLUME")
	if [ -z "$MKV_TEST_CONFIG" ]; then
		launch_free mkv -port @PORT@ "${args[@]}" server
		return
	fi
	MKV_CONFIG=$WORK/mkv$MKV_COUNT.conf
	CONFIG_FLAGS=("${args[@]}")
	LAUNCH_HOOK=write_config_of_flags launch_free "mkv -config $MKV_CONFIG server" \
		-config "$MKV_CONFIG" server
	# shellcheck disable=SC2034 # for the tests
	MKV_DB=$(db_of "${args[@]}")
}

# write_config_of_flags PORT: write MKV_CONFIG, a master's configuration: port
# PORT, CONFIG_FLAGS as top-level keys (a flag without a value is "= true"),
# then the sections of the file MKV_TEST_CONFIG.
# shellcheck disable=SC2317 # called through LAUNCH_HOOK
write_config_of_flags() {
	local flags=("${CONFIG_FLAGS[@]}") i=0 name
	{
		echo "; one master's settings, written by the test harness"
		echo "port = $1"
		while [ "$i" -lt "${#flags[@]}" ]; do
			name=${flags[i]#-}
			name=${name#-}
			if [[ $name == *=* ]]; then
				echo "${name%%=*} = ${name#*=}"
			elif [ $((i + 1)) -lt "${#flags[@]}" ] && [[ ${flags[i + 1]} != -* ]]; then
				i=$((i + 1))
				echo "$name = ${flags[i]}"
			else
				echo "$name = true"
			fi
			i=$((i + 1))
		done
		echo
		cat -- "$MKV_TEST_CONFIG"
	} >"$MKV_CONFIG"
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

# read_value URL [CURL ARGS...]: see the top of this file.
read_value() {
	local url=$1
	shift
	[[ $url == /* ]] && url=$MKV_URL$url
	STATUS=$(curl "${CURL_OPTS[@]}" -L -o "$BODY" -D "$WORK/all-headers" -w '%{http_code}' "$@" "$url")
	# Each answer's headers start with its status line: keep the last answer's.
	awk '/^HTTP\// { n = 0 } { line[n++] = $0 } END { for (i = 0; i < n; i++) print line[i] }' \
		"$WORK/all-headers" >"$HDRS"
}

# follow FILE: prints the status of the last answer (req) as a client ends up
# with it, with the value it leads to in FILE: a redirect's Location fetched,
# or the answer itself.
follow() {
	case $STATUS in
	301 | 302 | 303 | 307 | 308) fetch "$(hdr Location)" "$1" ;;
	*) cp -- "$BODY" "$1" && echo "$STATUS" ;;
	esac
}

# check_get NAME URLPATH KEY FILE KEYVOLUMES: GET URLPATH of live KEY answers
# what the volume backend answers (LIVE_GET) with the value's headers
# (Key-Volumes must be KEYVOLUMES), and the client gets exactly FILE's bytes.
# HEAD when CHECK_METHOD=HEAD.
check_get() {
	local name=$1 url=$2 key=$3 file=$4 kv=$5 method=${CHECK_METHOD:-GET}
	req "$method" "$url"
	check "$name: $method answers $LIVE_GET" "$LIVE_GET" "$STATUS"
	check "$name: Content-Md5 is the MD5 of the value" "$(md5_hex <"$file")" "$(hdr Content-Md5)"
	check "$name: Key-Volumes lists the replicas" "$kv" "$(hdr Key-Volumes)"
	check "$name: Key-Balance" balanced "$(hdr Key-Balance)"
	case $MKV_TEST_VOLUME in
	nginx) check_redirect "$name" "$key" "$file" "$kv" "$method" ;;
	local) check_served "$name" "$file" "$method" ;;
	esac
}

# check_redirect NAME KEY FILE KEYVOLUMES METHOD: the last answer is an empty
# redirect to one of KEYVOLUMES, which serves FILE's bytes.
check_redirect() {
	local name=$1 key=$2 file=$3 kv=$4 method=$5 path replicas r choices=() loc
	path=$(key_path "$key")
	IFS=, read -ra replicas <<<"$kv"
	for r in "${replicas[@]}"; do
		choices+=("http://$r$path")
	done
	loc=$(hdr Location)
	check_in "$name: Location is a replica of the key" "$loc" "${choices[@]}"
	check "$name: Content-Length" 0 "$(hdr Content-Length)"
	if [ "$method" = GET ]; then
		check "$name: the Location answers 200" 200 "$(fetch "$loc" "$WORK/fetched")"
		check_cmd "$name: the Location serves the value's bytes" same_bytes "$file" "$WORK/fetched"
	fi
}

# check_served NAME FILE METHOD: the last answer is the master sending FILE itself.
check_served() {
	local name=$1 file=$2 method=$3
	check "$name: no Location" "<absent>" "$(hdr Location)"
	check "$name: Content-Length is the value's size" "$(wc -c <"$file")" "$(hdr Content-Length)"
	check "$name: Accept-Ranges" bytes "$(hdr Accept-Ranges)"
	if [ "$method" = GET ]; then
		check_cmd "$name: the body is the value's bytes" same_bytes "$file" "$BODY"
	fi
}

list_keys() {
	jq -r '.keys[]' "$BODY"
}

list_next() {
	jq -r '.next' "$BODY"
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

replica_file() {
	local replica=$1 key=$2 i
	for i in "${!VOL_NAME[@]}"; do
		case $replica in
		"${VOL_NAME[i]}") echo "${VOL_DIR[i]}$(key_path "$key")" && return ;;
		"${VOL_NAME[i]}"/sv??) echo "${VOL_DIR[i]}/${replica##*/}$(key_path "$key")" && return ;;
		esac
	done
	echo "<$replica is no volume of this test>"
}

# volume_files: hidden files (nginx's state, unfinished writes) are no values.
volume_files() {
	local i n=0
	for i in "${!VOL_DIR[@]}"; do
		n=$((n + $(find "${VOL_DIR[i]}" -name '.*' -prune -o -type f -print 2>/dev/null | wc -l)))
	done
	echo "$n"
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
command -v jq >/dev/null 2>&1 || {
	echo "jq is not installed: the tests read listings with it (apt-get install jq)"
	exit 99
}
use_backends "$MKV_TEST_INDEX" "$MKV_TEST_VOLUME"
[ "$MKV_TEST_VOLUME" = nginx ] && require_nginx

WORK=$(mktemp -d "${TMPDIR:-/tmp}/mkv-it.XXXXXX") || exit 99
HDRS=$WORK/headers
BODY=$WORK/body
echo "# work dir $WORK"
echo "# backends: index $MKV_TEST_INDEX, volume $MKV_TEST_VOLUME${MKV_TEST_CONFIG:+, masters configured by file}"
