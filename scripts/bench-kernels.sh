#!/bin/sh
# scripts/bench-kernels.sh [MB]: quantize-kernel throughput in GB/s of F32
# input, per type and SIMD level, on 1 and 2 threads, beside memcpy of the
# same bytes and ggml_quantize_chunk (npm libggml-base) on the same rows.
set -eu
cd "$(dirname "$0")/.."
MB=${1:-256}
make -s build/bench/bench_kernels
B=build/bench/bench_kernels
TYPES="F16 BF16 Q8_0 Q4_0 Q4_1 Q5_0 Q5_1 IQ4_NL MXFP4"
printf '%-8s %-7s %8s %8s %8s %8s\n' type simd "j1" "j2" "ggml-j1" "ggml-j2"
levels=$($B -m 1 2>/dev/null | head -0; QUTILS_SIMD= $B -m 1 Q8_0 | awk 'NR==2{print $2}')
first=1
for l in avx512 avx2 scalar; do
	case $levels in
	avx2) [ $l = avx512 ] && continue ;;
	scalar) [ $l = scalar ] || continue ;;
	esac
	if [ $first = 1 ]; then
		QUTILS_SIMD=$l $B -m "$MB" -g $TYPES
		first=0
	else
		QUTILS_SIMD=$l $B -m "$MB" $TYPES | grep -v '^memcpy'
	fi
done
