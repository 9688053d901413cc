#!/bin/bash
# rebalance.sh over the LMDB index and local-directory volumes.
MKV_TEST_INDEX=lmdb MKV_TEST_VOLUME=local exec bash "$(dirname "${BASH_SOURCE[0]}")/../rebalance.sh"
