#!/bin/bash
# example.sh - the plugin SDK as a third party uses it, end to end:
#
#   1. `make install DESTDIR=...` of this build into a staging directory;
#   2. the example backend (examples/logindex/), copied out of the tree, built
#      with its own Makefile against the staged mkv.pc and headers alone;
#   3. the staged mkv-plugin-check passes it (and the staged local backend,
#      on the temporary replica it makes itself);
#   4. the staged mkv, with the example loaded by path and local volumes,
#      stores, lists, serves and deletes a value, and finds it again after a
#      restart (the example replays its log).
#
# Everything happens in one temporary directory, removed at the end with the
# processes started here. Needs top_srcdir and top_builddir (set by make check).
set -u
: "${top_srcdir:?}" "${top_builddir:?}"

work=$(mktemp -d "${TMPDIR:-/tmp}/mkv-sdk.XXXXXX") || exit 99
stage=$work/stage
mkv_pid=
failed=0

cleanup() {
	if [ -n "$mkv_pid" ]; then
		kill "$mkv_pid" 2>/dev/null
		wait "$mkv_pid" 2>/dev/null
	fi
	rm -rf -- "$work"
}
trap cleanup EXIT

ok() { echo "ok - $1"; }
not_ok() {
	echo "not ok - $1"
	failed=$((failed + 1))
}
# check NAME EXPECTED ACTUAL
check() {
	if [ "$2" = "$3" ]; then ok "$1"; else not_ok "$1 (expected '$2', got '$3')"; fi
}
# run NAME LOG CMD...: CMD must succeed; its output goes to LOG, shown on failure.
run() {
	local name=$1 log=$2
	shift 2
	if "$@" >"$log" 2>&1; then
		ok "$name"
		return 0
	fi
	sed 's/^/# /' "$log" | tail -n 40
	not_ok "$name"
	return 1
}
bail() {
	echo "Bail out! $1"
	exit 1
}

# ---- 1. install into a staging directory ---------------------------------------

# A make of its own, not a part of the running `make check`'s job server.
run "make install DESTDIR=<staging>" "$work/install.log" \
	env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL \
	make -C "$top_builddir" install DESTDIR="$stage" || bail "cannot install"

find_one() { # DIR NAME: the one file NAME under DIR
	find "$1" -name "$2" \( -type f -o -type l \) | head -n 1
}
pc=$(find_one "$stage" mkv.pc)
mkv=$(find_one "$stage" mkv)
check_bin=$(find_one "$stage" mkv-plugin-check)
[ -n "$pc" ] && [ -x "$mkv" ] && [ -x "$check_bin" ] ||
	bail "the staged install lacks mkv.pc, mkv or mkv-plugin-check"

# What a third party's build sees: the staged mkv.pc, its paths under the stage.
export PKG_CONFIG_PATH=${pc%/*} PKG_CONFIG_SYSROOT_DIR=$stage
unset PKG_CONFIG_LIBDIR
# pkgconf puts the sysroot before path variables too; pkg-config does not.
plugindir=$(pkg-config --variable=plugindir mkv)
case $plugindir in
"$stage"/*) example_destdir= ;;
*) plugindir=$stage$plugindir example_destdir=$stage ;;
esac
check "mkv.pc names a plugin directory holding the bundled backends" yes \
	"$( [ -f "$plugindir/leveldb.so" ] && [ -f "$plugindir/local.so" ] && echo yes)"
cflags=$(pkg-config --cflags mkv | tr -d ' ')
check "pkg-config --cflags mkv points at the installed headers" yes \
	"$( [ -f "${cflags#-I}/mkv/mkv.h" ] && echo yes)"
for page in mkv.1 mkv-volume.1 mkv-plugin-check.1 mkv.conf.5 mkv-plugin.7; do
	check "man page $page installed" yes "$( [ -n "$(find_one "$stage" "$page")" ] && echo yes)"
done
check "example config installed" yes \
	"$( [ -n "$(find_one "$stage" mkv.conf.example)" ] && echo yes)"

# ---- 2. the example, built out of tree with its own Makefile ----------------------

mkdir "$work/logindex"
cp "$top_srcdir/examples/logindex/Makefile" "$top_srcdir/examples/logindex/logindex.c" \
	"$work/logindex/" && chmod u+w "$work/logindex"/*
run "the example builds with nothing but pkg-config --cflags mkv" "$work/build.log" \
	env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL \
	make -C "$work/logindex" CFLAGS="-O2 -g -Wall -Wextra -Werror" ||
	bail "the example does not build"
plugin=$work/logindex/logindex.so
run "make install puts the example in mkv.pc's plugin directory" "$work/example-install.log" \
	env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL make -C "$work/logindex" install \
	DESTDIR="$example_destdir"
check "the example sits beside the bundled backends" yes \
	"$( [ -f "$plugindir/logindex.so" ] && echo yes)"

# ---- 3. mkv-plugin-check ------------------------------------------------------------

run "mkv-plugin-check passes the example (index suite)" "$work/check-example.log" \
	"$check_bin" "$plugin" --good-option sync=true --bad-option sync=maybe
grep -q 'PASSED.* 23 test' "$work/check-example.log" &&
	ok "every index test ran" || not_ok "every index test ran"
run "mkv-plugin-check passes the staged local backend on a temporary replica" \
	"$work/check-local.log" "$check_bin" "$plugindir/local.so" \
	--good-option fsync=false --bad-option fsync=maybe
grep -q 'temporary directory' "$work/check-local.log" &&
	ok "it says the replica is a temporary directory" ||
	not_ok "it says the replica is a temporary directory"
"$check_bin" "$plugin" "$work/replica" >"$work/check-usage.log" 2>&1
check "an index backend given a REPLICA is a usage error" 2 $?
"$check_bin" "$work/missing.so" >"$work/check-missing.log" 2>&1
check "a missing plugin is exit status 2" 2 $?

# ---- 4. mkv with the example loaded by path ----------------------------------------

listening() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
free_port() {
	local port
	for _ in $(seq 200); do
		port=$((20000 + (RANDOM * 32768 + RANDOM) % 40001))
		listening "$port" || { echo "$port"; return 0; }
	done
	return 1
}

mkdir "$work/v1" "$work/v2"
: >"$work/empty.conf"
start_mkv() {
	local port
	for _ in 1 2 3; do
		port=$(free_port) || bail "no free port"
		"$mkv" -config "$work/empty.conf" -port "$port" -index "$plugin" \
			-volume local -plugindir "$plugindir" -volumes "$work/v1,$work/v2" \
			-replicas 2 -subvolumes 1 -db "$work/index" server >>"$work/mkv.log" 2>&1 &
		mkv_pid=$!
		for _ in $(seq 100); do
			if listening "$port"; then
				url=http://127.0.0.1:$port
				return 0
			fi
			kill -0 "$mkv_pid" 2>/dev/null || break
			sleep 0.1
		done
		kill "$mkv_pid" 2>/dev/null
		wait "$mkv_pid" 2>/dev/null
		mkv_pid=
	done
	sed 's/^/# /' "$work/mkv.log" | tail -n 20
	bail "the staged mkv does not start with the example index"
}
stop_mkv() {
	kill "$mkv_pid"
	wait "$mkv_pid" 2>/dev/null
	mkv_pid=
}

head -c 100000 /dev/urandom >"$work/value"
start_mkv
check "PUT through the example index" 201 \
	"$(curl -s -o /dev/null -w '%{http_code}' -X PUT -T "$work/value" "$url/sdk/key")"
check "GET gives the value back" 200 \
	"$(curl -s -o "$work/got" -w '%{http_code}' -L "$url/sdk/key")"
cmp -s "$work/value" "$work/got" && ok "the bytes are the same" || not_ok "the bytes are the same"
check "the key is listed" '{"next":"","keys":["/sdk/key"]}' "$(curl -s "$url/sdk/?list")"
stop_mkv
check "the index is a log file in the db directory" yes \
	"$( [ -s "$work/index/mkv.log" ] && echo yes)"

start_mkv
check "after a restart the example index still has the key" 200 \
	"$(curl -s -o "$work/got2" -w '%{http_code}' -L "$url/sdk/key")"
cmp -s "$work/value" "$work/got2" && ok "with the same bytes" || not_ok "with the same bytes"
check "DELETE removes it" 204 "$(curl -s -o /dev/null -w '%{http_code}' -X DELETE "$url/sdk/key")"
check "GET of the deleted key is 404" 404 \
	"$(curl -s -o /dev/null -w '%{http_code}' "$url/sdk/key")"
stop_mkv

if [ "$failed" -ne 0 ]; then
	echo "# mkv log:"
	sed 's/^/# /' "$work/mkv.log" | tail -n 20
	echo "$failed failed"
	exit 1
fi
echo "all passed"
exit 0
