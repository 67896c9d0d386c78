#!/bin/sh
# K-quant kernel throughput beside ggml_quantize_chunk (not a test).
#   scripts/bench-kquants.sh [-m MB] [TYPE...]
set -eu
cd "$(dirname "$0")/.."
make -s build/bench/bench_kquants
for simd in avx512 avx2 scalar; do
	QUTILS_SIMD=$simd build/bench/bench_kquants "$@"
done
