#!/bin/bash
# volume-local.sh - the volume conformance suite against the local backend.
#
# Runs volume_conformance over a fresh temporary directory as the replica,
# with a directory whose parent does not exist as the replica that is gone
# (a local volume is "unreachable" when its directory is missing), checks
# that no temporary file was left behind, and always removes the directory.
# Exits with the suite's status.
#
# Needs top_builddir and MKV_TEST_PLUGINDIR (set by make check).
set -u
: "${top_builddir:?}" "${MKV_TEST_PLUGINDIR:?}"

suite=$top_builddir/tests/conformance/volume_conformance
plugin=$MKV_TEST_PLUGINDIR/local.so
dir=$(mktemp -d "${TMPDIR:-/tmp}/mkv-volume-local.XXXXXX") || exit 99
trap 'rm -rf -- "$dir"' EXIT

mkdir "$dir/volume" || exit 99
"$suite" --good-option fsync=false --bad-option fsync=maybe \
	"$plugin" "$dir/volume" "$dir/missing/volume"
rc=$?

# Failed and aborted puts must not leave their temporary files behind.
leftovers=$(find "$dir" -name '.mkv-tmp.*')
if [ -n "$leftovers" ]; then
	echo "temporary files left behind:" >&2
	echo "$leftovers" >&2
	[ "$rc" -ne 0 ] || rc=1
fi
exit "$rc"
