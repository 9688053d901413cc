#!/usr/bin/env bash
# Rebuild and rebalance speed on N small keys (default 10,000; quick 2,000).
#
#   bash bench/rebuild_rebalance.sh [KEYS]   (from the build directory; knobs in bench/lib.sh)
#
# Writes the keys (1,000 bytes each) through a master on 3 of 5 volumes with
# 16 parallel curl transfers, stops it, then times `mkv rebuild` of a new index
# from the 3 volumes (keys/s), and `mkv rebalance` of the index onto all 5
# volumes (keys moved/s). Both run with their default -workers (16).
# Targets: rebuild >= 5,000 keys/s, rebalance >= 3,000 keys moved/s.
# shellcheck source-path=SCRIPTDIR source=lib.sh disable=SC2119 # start_mkv takes optional flags
source "$(dirname "$0")/lib.sh"

keys=${1:-10000}
[ $# -eq 0 ] && quick && keys=2000

start_volumes 5
three=$(IFS=,; echo "${VOLUMES[*]:0:3}")
five=$(IFS=,; echo "${VOLUMES[*]}")
MKV_VOLUMES=3 start_mkv
head -c 1000 /dev/urandom >"$WORK/value"
for ((i = 1; i <= keys; i++)); do
	printf 'url = "%s/bench/key%s"\nupload-file = "%s"\noutput = "/dev/null"\nwrite-out = "%%{http_code}\\n"\n' \
		"$MKV_URL" "$i" "$WORK/value"
done >"$WORK/curl.conf"
t0=$(now)
curl -s --parallel --parallel-max 16 -K "$WORK/curl.conf" >"$WORK/codes" 2>/dev/null || true
t1=$(now)
stop_mkv
written=$(grep -c '^201$' "$WORK/codes" || true)
[ "$written" = "$keys" ] || {
	echo "only $written of $keys PUTs answered 201" >&2
	exit 1
}
report "PUT $keys keys of 1000 B (16 parallel curl)" "$(calc 'sprintf("%.0f", n / (b - a))' n="$keys" a="$t0" b="$t1")" \
	keys/s - - - -

t0=$(now)
mkv_cmd -volumes "$three" -db "$WORK/rebuilt" rebuild 2>"$WORK/rebuild.log"
t1=$(now)
found=$(sed -n 's/.*rebuild: \([0-9]*\) keys.*/\1/p' "$WORK/rebuild.log" | tail -1)
[ "$found" = "$keys" ] || note "rebuild found ${found:-?} keys: $(tail -1 "$WORK/rebuild.log")"
report "rebuild of $keys keys from 3 volumes" "$(calc 'sprintf("%.0f", n / (b - a))' n="$keys" a="$t0" b="$t1")" \
	keys/s - - '>=' 5000

t0=$(now)
mkv_cmd -volumes "$five" -db "$MKV_DB" rebalance 2>"$WORK/rebalance.log"
t1=$(now)
moved=$(sed -n 's/.*rebalance done: [0-9]* keys, \([0-9]*\) moved.*/\1/p' "$WORK/rebalance.log")
note "rebalance 3 -> 5 volumes moved ${moved:-?} of $keys keys in $(calc 'sprintf("%.2f", b - a)' a="$t0" b="$t1") s"
report "rebalance 3 -> 5 volumes" "$(calc 'sprintf("%.0f", n / (b - a))' n="${moved:-0}" a="$t0" b="$t1")" \
	"keys moved/s" - - '>=' 3000
