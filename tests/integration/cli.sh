#!/bin/bash
# cli.sh - the mkv command line as an operator meets it: bad flags and bad
# configuration files are one-line errors with exit status 2 that write
# nothing, a configuration file alone can run a master, a flag beats the file,
# and both the -flag=value and --flag value spellings work.
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

FAKE_VOLUMES=127.0.0.1:1,127.0.0.1:2,127.0.0.1:3
N=0

# run_mkv ARGS...: run mkv to completion (killed after 15 s); sets RC and ERR (stderr).
run_mkv() {
	timeout -k 2 15 "$MKV" "$@" >"$WORK/stdout" 2>"$WORK/stderr" </dev/null
	RC=$?
	ERR=$(cat "$WORK/stderr")
}

# refused NAME WORD ARGS...: mkv ARGS... (with -db DB appended, a fresh path) must
# exit 2 with one line on stderr naming WORD, and create nothing at DB.
refused() {
	local name=$1 word=$2 db
	shift 2
	N=$((N + 1))
	db=$WORK/refused$N
	run_mkv "$@"
	echo "# stderr: $ERR"
	check "$name: exit status 2" 2 "$RC"
	check "$name: one line on stderr" 1 "$(grep -c '' "$WORK/stderr")"
	check_match "$name: the error names $word" "(^|[^A-Za-z0-9_])$word([^A-Za-z0-9_]|\$)" "${ERR//$WORK/}"
	check "$name: nothing is created at -db" absent "$([ -e "$db" ] && echo present || echo absent)"
}

# db_path: the -db path the next refused() call checks.
db_path() {
	echo "$WORK/refused$((N + 1))"
}

free_port
P=$FREE_PORT
COMMON=(-volumes "$FAKE_VOLUMES" -plugindir "$MKV_TEST_PLUGINDIR")

refused "-port abc" port -port abc "${COMMON[@]}" -db "$(db_path)" server
refused "-port 70000" port -port 70000 "${COMMON[@]}" -db "$(db_path)" server
refused "no -db" db -port "$P" "${COMMON[@]}" server
refused "no -volumes" volumes -port "$P" -db "$(db_path)" -plugindir "$MKV_TEST_PLUGINDIR" server
refused "an unknown flag" bogus -port "$P" "${COMMON[@]}" -db "$(db_path)" -bogus 1 server
refused "an unknown command" frobnicate -port "$P" "${COMMON[@]}" -db "$(db_path)" frobnicate
refused "-replicas 5 with three volumes" replicas -port "$P" "${COMMON[@]}" -db "$(db_path)" -replicas 5 server
refused "-subvolumes 0" subvolumes -port "$P" "${COMMON[@]}" -db "$(db_path)" -subvolumes 0 server
refused "-voltimeout 5 (no unit)" voltimeout -port "$P" "${COMMON[@]}" -db "$(db_path)" -voltimeout 5 server
refused "-md5sum=maybe" md5sum -port "$P" "${COMMON[@]}" -db "$(db_path)" -md5sum=maybe server
refused "a missing -config file" nosuch.conf -config "$WORK/nosuch.conf" -port "$P" "${COMMON[@]}" -db "$(db_path)" server

# A backend that does not exist: the error names the plugin file it looked for.
db=$WORK/noindex
run_mkv -port "$P" "${COMMON[@]}" -db "$db" -index nosuch server
echo "# stderr: $ERR"
check "-index nosuch: exit status 2 (a bad flag value)" 2 "$RC"
check_match "-index nosuch: the error names the plugin file" 'nosuch\.so' "$ERR"
check "-index nosuch: nothing is created at -db" absent "$([ -e "$db" ] && echo present || echo absent)"

# ---- configuration files -------------------------------------------------------------

start_volume 1
start_volume 2
start_volume 3
VOLS=("${VOL_NAME[@]}")

# write_config PORT: the configuration file of a master on PORT.
# shellcheck disable=SC2317 # called through LAUNCH_HOOK
write_config() {
	cat >"$WORK/mkv.conf" <<EOF
; a master configured by its file alone
port = $1
db = $WORK/cfgdb
volumes = $(volumes_flag)
index = $MKV_TEST_PLUGINDIR/$MKV_TEST_INDEX.so
volume = $MKV_TEST_PLUGINDIR/$MKV_TEST_VOLUME.so
EOF
}

# launch_free waits for an answer on the port the file names: a master that
# ignored the file would stop the test there.
LAUNCH_HOOK=write_config launch_free "mkv -config FILE server" -config "$WORK/mkv.conf" server
CFG_PORT=$MKV_PORT
printf 'configured' >"$WORK/value"
req PUT /cfg/key --data-binary @"$WORK/value"
check "-config FILE: PUT answers 201" 201 "$STATUS"
check_get "-config FILE (default replicas 3, subvolumes 10)" /cfg/key /cfg/key "$WORK/value" \
	"$(key_volumes /cfg/key 3 10 "${VOLS[@]}")"
check "-config FILE: the index is at the file's db" yes "$([ -d "$WORK/cfgdb" ] && echo yes || echo no)"
stop_mkv

launch_free "mkv -config FILE -port P server" -config "$WORK/mkv.conf" -port @PORT@ server
check "-port beats the file's port: nothing on the file's port" no \
	"$(port_busy "$CFG_PORT" && echo yes || echo no)"
check_get "-port beats the file's port: the same index" /cfg/key /cfg/key "$WORK/value" \
	"$(key_volumes /cfg/key 3 10 "${VOLS[@]}")"
stop_mkv

cat >"$WORK/bad.conf" <<EOF
; line 1
port = $CFG_PORT
db = $WORK/baddb
bogus = 1
volumes = $(volumes_flag)
EOF
run_mkv -config "$WORK/bad.conf" -plugindir "$MKV_TEST_PLUGINDIR" server
echo "# stderr: $ERR"
check "a config file with an unknown key: exit status 2" 2 "$RC"
check "a config file with an unknown key: one line on stderr" 1 "$(grep -c '' "$WORK/stderr")"
check_match "a config file with an unknown key: the error names the key" \
	'(^|[^A-Za-z0-9_])bogus([^A-Za-z0-9_]|$)' "$ERR"
check_match "a config file with an unknown key: the error names line 4" \
	'(^|[^0-9])4([^0-9]|$)' "${ERR//$WORK\/bad.conf/}"
check "a config file with an unknown key: nothing is created at its db" absent \
	"$([ -e "$WORK/baddb" ] && echo present || echo absent)"

# ---- flag spellings ------------------------------------------------------------------

launch_free "mkv with --flag value and -flag=value" --port @PORT@ -volumes="$(volumes_flag)" \
	--db "$WORK/formdb" -plugindir="$MKV_TEST_PLUGINDIR" -replicas=2 --subvolumes 1 \
	"${BACKEND_FLAGS[@]}" server
req PUT /forms/key --data-binary @"$WORK/value"
check "--flag value and -flag=value: PUT answers 201" 201 "$STATUS"
check_get "--flag value and -flag=value (-replicas=2, --subvolumes 1)" /forms/key /forms/key \
	"$WORK/value" "$(key_volumes /forms/key 2 1 "${VOLS[@]}")"
check "--db took effect" yes "$([ -d "$WORK/formdb" ] && echo yes || echo no)"

finish
