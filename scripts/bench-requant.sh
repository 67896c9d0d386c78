#!/bin/sh
# bench-requant: st2gguf against llama.cpp's llama_model_quantize (libllama
# of @node-llama-cpp/linux-x64@3.22.1, the engine of llama-quantize) on a
# generated ~1 GB F16 llama-shaped GGUF (hidden 2048, 7 layers, ff 5632,
# vocab 32000).  Prints one table row per type and thread count: wall time
# of each (best of $REPS), the ratio, peak RSS of each (/usr/bin/time -v)
# and whether the two outputs are byte-identical.
#
# Both sides read and write in $BENCH_DIR (default /dev/shm when it has
# room, so the disk does not decide; st2gguf fsyncs its output, which on
# tmpfs costs nothing, on a disk it is real work llama-quantize skips).
# Not a test: run by `make bench`.
set -eu
cd "$(dirname "$0")/.."
B=${BUILD:-build}
make -s all "$B/tests/interop/requant_driver" >/dev/null
D=$B/tests/interop/requant_driver
REPS=${REPS:-2}
TYPES=${TYPES:-"Q8_0:7 Q4_0:2 Q4_K_M:15 Q6_K:18"}
THREADS=${THREADS:-"1 2"}
if [ -z "${BENCH_DIR:-}" ]; then
	avail=$(df -Pk /dev/shm 2>/dev/null | awk 'NR==2 {print $4}')
	if [ "${avail:-0}" -gt 3500000 ]; then BENCH_DIR=/dev/shm/qutils-bench; else BENCH_DIR=${TMPDIR:-/tmp}/qutils-bench; fi
fi
mkdir -p "$BENCH_DIR"
M=$BENCH_DIR/llama-1g-f16.gguf
if [ ! -f "$M" ]; then
	echo "bench-requant: generating $M" >&2
	"$D" gen "$M" --layers 7 --embd 2048 --ff 5632 --vocab 32000 --heads 16 --kv-heads 16 --seed 11
fi
if ! "$D" gen "$BENCH_DIR/probe.gguf" --layers 1 --embd 32 --ff 32 --vocab 8 --heads 1 --kv-heads 1 2>/dev/null; then
	echo "bench-requant: llama.cpp oracle missing (scripts/deps.sh)"; exit 0
fi
cat "$M" >/dev/null	# page cache warm for both

# run cmd...: sets WALL and CPU (user + system) of the fastest of REPS runs,
# in seconds, and RSS (max KB)
run() {
	WALL="" CPU="" RSS=0
	i=0
	while [ $i -lt "$REPS" ]; do
		/usr/bin/time -v -o "$BENCH_DIR/time.txt" "$@" >/dev/null 2>"$BENCH_DIR/err.txt" || {
			echo "bench-requant: failed: $* ($(tail -c 300 "$BENCH_DIR/err.txt"))" >&2; WALL=nan; return; }
		w=$(awk -F': ' '/Elapsed \(wall clock\)/ { n = split($2, a, ":"); s = 0;
			for (k = 1; k <= n; k++) s = s * 60 + a[k]; print s }' "$BENCH_DIR/time.txt")
		r=$(awk -F': ' '/Maximum resident set size/ { print $2 }' "$BENCH_DIR/time.txt")
		c=$(awk -F': ' '/User time|System time/ { s += $2 } END { print s }' "$BENCH_DIR/time.txt")
		if [ -z "$WALL" ] || awk -v a="$WALL" -v b="$w" 'BEGIN { exit !(b < a) }'; then
			WALL=$w CPU=$c
		fi
		[ "$r" -gt "$RSS" ] && RSS=$r
		i=$((i + 1))
	done
}

echo "input: $(du -m "$M" | cut -f1) MB F16, $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg), dir $BENCH_DIR"
echo "(wall: best of $REPS; cpu: user + system of that run; the machine may be shared, see load)"
printf '| %-7s | %s | %-18s | %-18s | %-13s | %-10s | %-11s | %-9s |\n' type j "llama wall / cpu" \
	"st2gguf wall / cpu" "speedup w / c" "llama RSS" "st2gguf RSS" identical
printf '|---------|---|--------------------|--------------------|---------------|------------|-------------|-----------|\n'
for tj in $TYPES; do
	t=${tj%%:*} id=${tj##*:}
	for j in $THREADS; do
		run "$D" quantize "$M" "$BENCH_DIR/ref.gguf" "$id" -j "$j"
		lw=$WALL lc=$CPU lr=$RSS
		run "$B/st2gguf" -q -j "$j" -t "$t" "$M" -o "$BENCH_DIR/our.gguf"
		ow=$WALL oc=$CPU or=$RSS
		same=no
		cmp -s "$BENCH_DIR/ref.gguf" "$BENCH_DIR/our.gguf" && same=yes
		printf '| %-7s | %s | %7s s / %5s | %7s s / %5s | %5sx / %5sx | %7s MB | %8s MB | %-9s |\n' \
			"$t" "$j" "$lw" "$lc" "$ow" "$oc" \
			"$(awk -v a="$lw" -v b="$ow" 'BEGIN { printf "%.1f", a / b }')" \
			"$(awk -v a="$lc" -v b="$oc" 'BEGIN { printf "%.1f", a / b }')" \
			"$((lr / 1024))" "$((or / 1024))" "$same"
		rm -f "$BENCH_DIR/ref.gguf" "$BENCH_DIR/our.gguf"
	done
done
rm -f "$BENCH_DIR/probe.gguf" "$BENCH_DIR/time.txt" "$BENCH_DIR/err.txt"
[ -n "${KEEP:-}" ] || rm -f "$M"
