#!/bin/sh
# Benchmark (not a test): qcalib -m awq and -m smoothquant on a generated
# llama (hidden 512, 2 layers, F32) with captures of 256 rows per input that
# have a few heavy outlier channels (tests/tools/awq_data.py), printing CPU
# seconds, and the layer output SQNR beside round-to-nearest / plain W8A8.
# Usage: scripts/bench-awq.sh [BUILD]
set -eu
cd "$(dirname "$0")/.."
B=${1:-build}
J=${JOBS:-$(nproc)}
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT INT TERM

"$B/tools/mkmodel" --layers 2 --hidden 512 --dtype f32 -o "$T/m" >/dev/null
/usr/bin/python3 tests/tools/awq_data.py "$T/d" "$T/m"
run() {	# label, qcalib arguments...
	label=$1
	shift
	/usr/bin/time -f "%U %S %e %M" -o "$T/time" "$B/qcalib" -q -j "$J" "$@" --report >"$T/rep"
	awk -v l="$label" '$1 == "total" { printf "%-34s output SQNR %6.2f dB, baseline %6.2f dB (%+.2f)", l, $3, $4, $3 - $4 }' "$T/rep"
	awk '{ printf ", %.1f CPU s, %.1f s wall, %d MB peak\n", $1 + $2, $3, $4 / 1024 }' "$T/time"
}
echo "hidden 512, intermediate 1024, 2 layers; 256 captured rows per input; $J threads"
run "awq int4 g128 asym" -m awq --captures "$T/d/caps.safetensors" "$T/d/model" -o "$T/awq.qp"
run "awq int4 g128 asym --duo" -m awq --duo --captures "$T/d/caps.safetensors" "$T/d/model" -o "$T/duo.qp"
run "smoothquant W8A8 alpha 0.5" -m smoothquant --captures "$T/d/caps.safetensors" "$T/d/model" -o "$T/sq.qp"
