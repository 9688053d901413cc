#!/usr/bin/env bash
# Install what mkv needs to build, run and test on Debian (bookworm or later).
# Go and goleveldb serve only the compatibility test with the Go minikeyvalue's index;
# clang, valgrind and jq the fuzzing, memory and integration checks.
# Runs apt-get as root, or through sudo for an ordinary user.
set -euo pipefail

packages=(
	build-essential autoconf automake libtool pkg-config
	libmicrohttpd-dev libcurl4-openssl-dev libleveldb-dev liblmdb-dev
	libinih-dev libjansson-dev libssl-dev libcmocka-dev
	nginx-light curl ca-certificates openssl
	golang-go golang-github-syndtr-goleveldb-dev
	clang libclang-rt-dev valgrind jq iproute2
)

missing=()
for p in "${packages[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
# The packaged nginx service is not wanted: mkv-volume runs nginx itself.
if command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then
	$sudo systemctl disable --now nginx >/dev/null 2>&1 || true
fi
