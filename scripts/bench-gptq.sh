#!/bin/sh
# Benchmark (not a test): GPTQ on one COLS x COLS layer with N captured
# input rows, int4 group 128, wall-clock seconds with 1 and 2 threads:
#   fast       libcommon/gptq.c's tiled, vectorized, threaded path
#   act-order  the same with --act-order
#   before     the unblocked implementation this replaced (commit dc4a169,
#              built from git history; only with BEFORE=1: about 4.5 CPU
#              minutes per run at 4096, skipped when git does not have it)
# The scalar reference path, bit-identical to "fast", is timed at a quarter
# of the size (it is O(cols^3) in plain loops).
# Usage: scripts/bench-gptq.sh [BUILD] [COLS] [N]
set -eu
cd "$(dirname "$0")/.."
B=${1:-build}
C=${2:-4096}
N=${3:-512}
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT INT TERM
make -s "$B/bench/bench_gptq" BUILD="$B" >/dev/null
echo "GPTQ, int4 g128, ${C}x${C} weight, $N captured rows"
echo "                     wall s    CPU s"
for j in 1 2; do
	printf '  fast       -j%s  %s\n' "$j" "$("$B/bench/bench_gptq" "$C" "$C" "$N" "$j")"
done
printf '  act-order  -j2  %s\n' "$("$B/bench/bench_gptq" "$C" "$C" "$N" 2 1)"
q=$((C / 4))
printf '  reference  -j1  %s   (%sx%s)\n' "$("$B/bench/bench_gptq" "$q" "$q" "$N" 1 0 1)" "$q" "$q"
printf '  fast       -j1  %s   (%sx%s)\n' "$("$B/bench/bench_gptq" "$q" "$q" "$N" 1)" "$q" "$q"
# before: the old implementation, with the bench driver's inputs
if [ "${BEFORE:-0}" = 1 ] && git cat-file -e dc4a169:libcommon/gptq.c 2>/dev/null; then
	mkdir -p "$T/old"
	git show dc4a169:libcommon/gptq.c >"$T/old/gptq.c"
	git show dc4a169:libcommon/gptq.h >"$T/old/gptq.h"
	sed -e 's/gptq_run(&s, &g, w, x, n, &o, &co, NULL, sc, NULL, q, gi, &e)/gptq_quantize(\&s, \&g, w, x, n, 0.01, \&co, NULL, sc, NULL, q, jobs, \&e)/' \
	    -e '/gptq_defaults\|o\.jobs\|o\.act_order\|o\.reference\|struct gptq_opts/d' \
	    tests/bench/bench_gptq.c >"$T/old/bench.c"
	# shellcheck disable=SC2046
	if cc -std=c11 -D_DEFAULT_SOURCE -O2 -ffp-contract=off -pthread -I"$T/old" -Ilibcommon \
	    $(pkg-config --cflags libcjson 2>/dev/null) "$T/old/bench.c" "$T/old/gptq.c" "$B/libcommon.a" \
	    $(pkg-config --libs libcjson libprotobuf-c libarchive zlib 2>/dev/null) -lm -o "$T/old/bench" 2>"$T/old/err"; then
		for j in 1 2; do
			printf '  before     -j%s  %s\n' "$j" "$("$T/old/bench" "$C" "$C" "$N" "$j")"
		done
	else
		echo "  before: not built ($(head -c 200 "$T/old/err"))"
	fi
fi
