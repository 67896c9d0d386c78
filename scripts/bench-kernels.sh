#!/bin/sh
# scripts/bench-kernels.sh [MB]: quantize-kernel throughput in GB/s of F32
# input, per type and SIMD level: wall clock on 1 and 2 threads and the
# CPU time of the 1-thread run, beside memcpy of the same bytes and
# ggml_quantize_chunk (npm libggml-base) on the same rows.  ggml is timed
# once, at the best level (its own code does not change with QUTILS_SIMD).
set -eu
cd "$(dirname "$0")/.."
MB=${1:-128}
make -s build/bench/bench_kernels
B=build/bench/bench_kernels
FAST="F16 BF16 Q8_0 Q4_0 Q4_1 Q5_0 Q5_1"
# compute-bound searches: an eighth of the data is plenty
SLOW="IQ4_NL MXFP4 Q4_0:im Q4_1:im Q5_0:im Q5_1:im IQ4_NL:im"
SMB=$((MB / 8))
echo "# rows of 4096 F32, $MB MB ($SMB MB for the searches); GB/s of F32 input; load: $(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-10s %-7s %8s %8s %8s %8s %8s %8s\n' type simd j1 j2 cpu-j1 ggml-j1 ggml-j2 ggml-cpu
first=1
for l in $($B -L); do
	if [ $first = 1 ]; then
		QUTILS_SIMD=$l $B -m "$MB" -g $FAST
		QUTILS_SIMD=$l $B -m "$SMB" -g $SLOW | grep -v '^memcpy'
		first=0
	else
		QUTILS_SIMD=$l $B -m "$MB" $FAST | grep -v '^memcpy'
		QUTILS_SIMD=$l $B -m "$SMB" $SLOW | grep -v '^memcpy'
	fi
done
