#!/bin/sh
# make bench: benchmarks against the peers (not tests).
set -eu
cd "$(dirname "$0")/.."
echo "bench: nothing to measure yet"
scripts/bench-kquants.sh -m 16
