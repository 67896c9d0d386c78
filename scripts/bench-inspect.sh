#!/bin/sh
# st-inspect benchmarks (called by scripts/bench.sh; not a test):
#  1. listing a generated 100-shard checkpoint (headers only, mmap);
#  2. --stats throughput in GB/s beside a plain read of the same bytes
#     (cat > /dev/null) from the page cache, with peak RSS.
# Each line gives wall time and CPU time (user + system): on a shared,
# loaded machine the CPU figure is the one to compare.
# BENCH_SIZE (default 1G) sets the size of the --stats model.
set -eu
cd "$(dirname "$0")/.."
B=${QU_BIN:-build}
W=${BENCH_DIR:-build/bench}
SIZE=${BENCH_SIZE:-1G}
J=$(nproc 2>/dev/null || echo 2)
mkdir -p "$W"

# measure LABEL BYTES command...: wall s, cpu s, GB/s by each, peak RSS
measure() {
	label=$1 bytes=$2; shift 2
	/usr/bin/time -f '%e %U %S %M' -o "$W/time.txt" "$@" >/dev/null
	read -r wall user sys rss <"$W/time.txt"
	awk -v l="$label" -v b="$bytes" -v w="$wall" -v u="$user" -v s="$sys" -v r="$rss" 'BEGIN {
		c = u + s; if (w < 0.01) w = 0.01; if (c < 0.01) c = 0.01
		if (b > 0) printf "%-28s wall %6.2f s (%5.2f GB/s)  cpu %6.2f s (%5.2f GB/s)  peak RSS %6.1f MB\n", l, w, b / w / 1e9, c, b / c / 1e9, r / 1024
		else printf "%-28s wall %6.3f s  cpu %6.3f s  peak RSS %6.1f MB\n", l, w, c, r / 1024 }'
}

echo "== load average: $(cut -d' ' -f1-3 /proc/loadavg), $J processors"
echo "== st-inspect: listing a 100-shard checkpoint"
rm -rf "$W/sharded"
"$B/tools/mkmodel" --layers 12 --hidden 256 --shards 100 -o "$W/sharded"
"$B/st-inspect" "$W/sharded" >/dev/null	# warm the page cache
echo "$("$B/st-inspect" --json "$W/sharded" | grep -c '"name"') tensors in $(ls "$W/sharded" | grep -c 'safetensors$') files"
for i in 1 2 3; do measure "list 100 shards (run $i)" 0 "$B/st-inspect" "$W/sharded"; done

echo "== st-inspect --stats throughput ($SIZE F32 model, page cache warm)"
rm -rf "$W/big"
"$B/tools/mkmodel" --hidden 1024 --intermediate 2816 --heads 16 --kv-heads 4 --vocab 32000 \
	--size "$SIZE" -o "$W/big"
f=$W/big/model.safetensors
bytes=$(wc -c <"$f")
echo "$bytes bytes"
cat "$f" >/dev/null
measure "cat > /dev/null" "$bytes" cat "$f"
measure "st-inspect --stats -j 1" "$bytes" "$B/st-inspect" --stats -q -j 1 "$f"
measure "st-inspect --stats -j $J" "$bytes" "$B/st-inspect" --stats -q -j "$J" "$f"
rm -rf "$W/big" "$W/time.txt"
