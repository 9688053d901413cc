#!/bin/bash
# config-file.sh - a store run from its configuration file alone, on the LMDB
# index and local-directory volumes: `mkv -config FILE server` with no other
# flag passes the whole HTTP contract (api.sh, its masters started that way),
# takes its backends and their options from the file, and an option a backend
# does not know stops mkv with a one-line error naming it.
MKV_TEST_INDEX=lmdb MKV_TEST_VOLUME=local
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# The backend sections every master's file ends with.
cat >"$WORK/sections.ini" <<'EOF'
[lmdb]
map_size = 64M

[local]
fsync = false
EOF

# ---- the whole HTTP contract ---------------------------------------------------------

echo "# api.sh with every master started as \`mkv -config FILE server\`:"
MKV_TEST_INDEX=lmdb MKV_TEST_VOLUME=local MKV_TEST_CONFIG=$WORK/sections.ini \
	bash "$(dirname "${BASH_SOURCE[0]}")/api.sh" 2>&1 | sed 's/^/    /'
check "api.sh passes against masters configured by their file alone (lmdb, local)" 0 \
	"${PIPESTATUS[0]}"

# ---- one file, written out --------------------------------------------------------------

start_volume 1
start_volume 2
start_volume 3

# write_config PORT [SECTIONS]: a master's whole configuration: a single machine
# with three local disks and an LMDB index; SECTIONS replaces the backend sections.
write_config() {
	cat >"$WORK/mkv.conf" <<EOF
; a single machine, no nginx
port = $1
db = $WORK/index
index = lmdb
volume = local
volumes = $(volumes_flag)
plugindir = $MKV_TEST_PLUGINDIR
replicas = 2

$(cat "${2:-$WORK/sections.ini}")
EOF
}

# launch_free waits for an answer on the port the file names: a master that
# ignored the file would stop the test there.
LAUNCH_HOOK=write_config launch_free "mkv -config FILE server" -config "$WORK/mkv.conf" server
echo "# --- $WORK/mkv.conf ---"
sed 's/^/# /' "$WORK/mkv.conf"
CFG_PORT=$MKV_PORT
head -c 100000 /dev/urandom >"$WORK/value"
req PUT /cfg/key --data-binary @"$WORK/value"
check "PUT answers 201" 201 "$STATUS"
check_get "the file's master (replicas 2, default subvolumes 10)" /cfg/key /cfg/key "$WORK/value" \
	"$(key_volumes /cfg/key 2 10 "${VOL_NAME[@]}")"
IFS=, read -ra replicas <<<"$(hdr Key-Volumes)"
for r in "${replicas[@]}"; do
	check_cmd "the value is a file in the volume directory $r" \
		same_bytes "$WORK/value" "$(replica_file "$r" /cfg/key)"
done
check "the index is an LMDB environment at the file's db" yes \
	"$([ -f "$WORK/index/data.mdb" ] && echo yes || echo no)"
stop_mkv

# ---- backend options are checked -----------------------------------------------------

# refused NAME WORD SECTIONS: a master whose file has SECTIONS must exit 2 (a bad
# config value) with one line on stderr naming WORD, create nothing at its db,
# and never listen.
refused() {
	local name=$1 word=$2 rc
	printf '%s\n' "$3" >"$WORK/bad-sections.ini"
	rm -rf -- "$WORK/index"
	write_config "$CFG_PORT" "$WORK/bad-sections.ini"
	timeout -k 2 15 "$MKV" -config "$WORK/mkv.conf" server >"$WORK/stdout" 2>"$WORK/stderr" </dev/null
	rc=$?
	echo "# stderr: $(cat "$WORK/stderr")"
	check "$name: exit status 2" 2 "$rc"
	check "$name: one line on stderr" 1 "$(grep -c '' "$WORK/stderr")"
	check_match "$name: the error names $word" "(^|[^A-Za-z0-9_])$word([^A-Za-z0-9_]|\$)" \
		"$(cat "$WORK/stderr")"
	check "$name: nothing is created at the file's db" absent \
		"$([ -e "$WORK/index" ] && echo present || echo absent)"
	check "$name: nothing listens on the file's port" no "$(port_busy "$CFG_PORT" && echo yes || echo no)"
}

refused "an unknown key in [lmdb]" map_sise $'[lmdb]\nmap_sise = 64M'
refused "a map_size below LMDB's minimum" map_size $'[lmdb]\nmap_size = 1K'
refused "an unknown key in [local]" fsynk $'[local]\nfsynk = false'
refused "a bad boolean in [local]" fsync $'[local]\nfsync = maybe'

finish
