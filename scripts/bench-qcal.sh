#!/bin/sh
# Benchmark (not a test): qcalib minmax / mse and qpack throughput in GB/s of
# input, beside a memcpy of the same bytes, with peak RSS, on a generated
# ~1 GB BF16 checkpoint; then qcalib -m mse for the block formats on a
# smaller one (BLOCK_LAYERS layers, default 1: ~55 M weights), each beside
# the sequential reference search (QUTILS_QBLOCK_REF=1, same choices) with
# the speedup.  Usage: scripts/bench-qcal.sh [BUILD] [LAYERS]
set -eu
cd "$(dirname "$0")/.."
B=${1:-build}
LAYERS=${2:-10}
J=${JOBS:-$(nproc)}
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT INT TERM

echo "generating a llama-shaped BF16 model: $LAYERS layers, hidden 2048, intermediate 5632"
/usr/bin/python3 scripts/gen-st-model.py "$T/model" --layers "$LAYERS" --hidden 2048 \
	--inter 5632 --vocab 1024 --dtype BF16
BYTES=$(stat -c %s "$T/model/model.safetensors")
echo "input: $BYTES bytes; threads: $J"

cat >"$T/memcpy.c" <<'C'
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
int main(int argc, char **argv) {
	FILE *f = fopen(argv[1], "rb"); long n; char *a, *b; struct timespec t0, t1;
	fseek(f, 0, SEEK_END); n = ftell(f); fseek(f, 0, SEEK_SET);
	a = malloc(n); b = malloc(n);
	if (fread(a, 1, n, f) != (size_t)n) return 1;
	memset(b, 1, n);
	volatile unsigned long sink = 0;
	void *(*volatile copy)(void *, const void *, size_t) = memcpy;	/* not elided */
	clock_gettime(CLOCK_MONOTONIC, &t0); copy(b, a, n); clock_gettime(CLOCK_MONOTONIC, &t1);
	for (long i = 0; i < n; i += 4096) sink += (unsigned char)b[i];	/* keep the copy */
	printf("%.2f\n", n / 1e9 / ((t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9));
	return 0;
}
C
cc -O2 -o "$T/memcpy" "$T/memcpy.c"
# the machine may be shared: CPU seconds (user + system) are the steadier
# figure, GB/s per CPU second the throughput one core would give
printf '%-44s %8s %8s %8s %9s %10s\n' "job" "wall s" "cpu s" "GB/s" "GB/cpu-s" "peak RSS"
printf '%-44s %8s %8s %8s %9s %10s\n' "memcpy (one thread)" "-" "-" "$("$T/memcpy" "$T/model/model.safetensors")" "-" "-"

run() { # label command...
	label=$1; shift
	/usr/bin/time -f "%e %U %S %M" -o "$T/time" "$@" >/dev/null
	read -r secs usr sys kb <"$T/time"
	cpu=$(awk -v u="$usr" -v s="$sys" 'BEGIN { printf "%.2f", u + s }')
	gbs=$(awk -v b="$BYTES" -v s="$secs" 'BEGIN { printf "%.3f", (s > 0) ? b / 1e9 / s : 0 }')
	gbc=$(awk -v b="$BYTES" -v s="$cpu" 'BEGIN { printf "%.3f", (s > 0) ? b / 1e9 / s : 0 }')
	printf '%-44s %8s %8s %8s %9s %7d MB\n' "$label" "$secs" "$cpu" "$gbs" "$gbc" $((kb / 1024))
}

cat "$T/model/model.safetensors" >/dev/null	# warm the page cache
run "qcalib -m minmax -f int4 -g 128" "$B/qcalib" -q -j "$J" -m minmax -f int4 -g 128 "$T/model" -o "$T/mm.qp"
run "qcalib -m mse -f int4 -g 128" "$B/qcalib" -q -j "$J" -m mse -f int4 -g 128 "$T/model" -o "$T/mse.qp"
run "qcalib -m minmax -f fp8_e4m3 --per-channel" "$B/qcalib" -q -j "$J" -f fp8_e4m3 --per-channel "$T/model" -o "$T/f8.qp"
run "qpack --layout compressed-tensors int4 g128" "$B/qpack" -q -j "$J" -g 128 "$T/model" -o "$T/ct"
run "qpack --layout awq -p (mse scales)" "$B/qpack" -q -j "$J" -p "$T/mse.qp" --layout awq "$T/model" -o "$T/awq"
run "qpack --layout fp8 --block 128x128" "$B/qpack" -q -j "$J" -f fp8_e4m3 --block 128x128 --layout fp8 "$T/model" -o "$T/fp8"
run "qpack --dequant (awq -> BF16)" "$B/qpack" -q -j "$J" --dequant --dtype BF16 "$T/awq" -o "$T/back"

# block formats' mse: the vector search against the reference, same run;
# "search x" discounts what mse and minmax share (reading, the minmax
# baseline, fake-quantizing): (ref - minmax) / (mse - minmax) in CPU seconds
BL=${BLOCK_LAYERS:-1}
/usr/bin/python3 scripts/gen-st-model.py "$T/small" --layers "$BL" --hidden 2048 \
	--inter 5632 --vocab 1024 --dtype BF16
WEIGHTS=$(( $(stat -c %s "$T/small/model.safetensors") / 2 ))
echo
echo "block formats, qcalib -m mse: $BL layer(s), ~$WEIGHTS weights; threads: $J"
printf '%-8s %8s %8s %8s %10s %9s %8s %8s %7s %8s\n' "format" "mm cpu" "wall s" "cpu s" \
	"weights/s" "peak RSS" "ref wall" "ref cpu" "cpu x" "search x"
timed() { # command... -> "wall cpu kb" on stdout
	/usr/bin/time -f "%e %U %S %M" -o "$T/time" "$@" >/dev/null
	read -r secs usr sys kb <"$T/time"
	echo "$secs $(awk -v u="$usr" -v s="$sys" 'BEGIN { printf "%.2f", u + s }') $kb"
}
cat "$T/small/model.safetensors" >/dev/null
for f in q4_0 q4_1 q5_0 q5_1 q8_0 mxfp4 nvfp4; do
	set -- $(timed "$B/qcalib" -q -j "$J" -m minmax -f "$f" "$T/small" -o "$T/mm.qp")
	mc=$2
	set -- $(timed "$B/qcalib" -q -j "$J" -m mse -f "$f" "$T/small" -o "$T/fast.qp")
	fw=$1 fc=$2 fk=$3
	set -- $(timed env QUTILS_QBLOCK_REF=1 "$B/qcalib" -q -j "$J" -m mse -f "$f" "$T/small" -o "$T/ref.qp")
	rw=$1 rc=$2
	cmp -s "$T/fast.qp" "$T/ref.qp" || echo "$f: the vector search chose differently from the reference" >&2
	printf '%-8s %8s %8s %8s %10s %6d MB %8s %8s %6sx %7sx\n' "$f" "$mc" "$fw" "$fc" \
		"$(awk -v n="$WEIGHTS" -v s="$fw" 'BEGIN { printf "%.3g", (s > 0) ? n / s : 0 }')" \
		$((fk / 1024)) "$rw" "$rc" "$(awk -v a="$rc" -v b="$fc" 'BEGIN { printf "%.1f", (b > 0) ? a / b : 0 }')" \
		"$(awk -v a="$rc" -v b="$fc" -v m="$mc" 'BEGIN { printf "%.1f", (b > m) ? (a - m) / (b - m) : 0 }')"
done
set -- $(timed "$B/qcalib" -q -j "$J" -m mse -f int4 -g 32 "$T/small" -o "$T/int4.qp")
printf '%-8s %8s %8s %8s %10s %6d MB   (linear int4 -g 32 mse, for comparison)\n' "int4g32" "-" "$1" "$2" \
	"$(awk -v n="$WEIGHTS" -v s="$1" 'BEGIN { printf "%.3g", (s > 0) ? n / s : 0 }')" $(($3 / 1024))
