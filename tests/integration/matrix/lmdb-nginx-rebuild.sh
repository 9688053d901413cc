#!/bin/bash
# rebuild.sh over the LMDB index and nginx volumes.
MKV_TEST_INDEX=lmdb MKV_TEST_VOLUME=nginx exec bash "$(dirname "${BASH_SOURCE[0]}")/../rebuild.sh"
