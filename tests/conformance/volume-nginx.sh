#!/bin/bash
# volume-nginx.sh - the volume conformance suite against the nginx backend.
#
# Starts a real nginx volume server (mkv-volume) through the integration
# harness, so on a free loopback port picked as every integration test picks
# them (outside the kernel's ephemeral range, retried if another process takes
# it first), runs volume_conformance over it with a second free port as the
# replica nobody answers on, and passes when the suite does. The harness stops
# nginx and removes its directory whatever happens.
#
# Needs top_builddir and MKV_TEST_PLUGINDIR (set by make check).
: "${top_builddir:?}" "${MKV_TEST_PLUGINDIR:?}"
MKV_TEST_INDEX=leveldb MKV_TEST_VOLUME=nginx
. "$(dirname "${BASH_SOURCE[0]}")/../integration/lib.sh"

start_volume 1
free_port
"$top_builddir/tests/conformance/volume_conformance" "$MKV_TEST_PLUGINDIR/nginx.so" \
	"${VOL_NAME[1]}" "127.0.0.1:$FREE_PORT"
check "the volume conformance suite passes against nginx" 0 "$?"
finish
