#!/bin/sh
# make bench: benchmarks against the peers (not tests).  Each part is a
# scripts/bench-NAME.sh of its own.
set -eu
cd "$(dirname "$0")/.."
for b in scripts/bench-*.sh; do
	[ -x "$b" ] && "$b"
done
