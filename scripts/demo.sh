#!/bin/sh
# make demo: the main job on a small model the project makes itself.
set -eu
cd "$(dirname "$0")/.."
echo "demo: nothing to show yet"
