#!/bin/sh
# make bench: benchmarks against the peers (not tests).
set -eu
cd "$(dirname "$0")/.."
scripts/bench-requant.sh
