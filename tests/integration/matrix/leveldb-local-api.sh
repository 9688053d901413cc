#!/bin/bash
# api.sh over the LevelDB index and local-directory volumes.
MKV_TEST_INDEX=leveldb MKV_TEST_VOLUME=local exec bash "$(dirname "${BASH_SOURCE[0]}")/../api.sh"
