#!/bin/sh
# st-inspect benchmarks (called by scripts/bench.sh; not a test):
#  1. listing a generated 100-shard checkpoint (headers only, mmap);
#  2. --stats throughput in GB/s beside a plain read of the same bytes
#     (cat > /dev/null) from the page cache, with peak RSS.
# BENCH_SIZE (default 1G) sets the size of the --stats model.
set -eu
cd "$(dirname "$0")/.."
B=${QU_BIN:-build}
W=${BENCH_DIR:-build/bench}
SIZE=${BENCH_SIZE:-1G}
J=$(nproc 2>/dev/null || echo 2)
mkdir -p "$W"

now() { date +%s.%N; }
secs() { echo "$2 - $1" | bc -l; }
rss() { # peak RSS in MB of a command
	/usr/bin/time -v "$@" 2>&1 >/dev/null | awk '/Maximum resident/ { printf "%.1f", $6 / 1024 }'
}

echo "== st-inspect: listing a 100-shard checkpoint"
rm -rf "$W/sharded"
"$B/tools/mkmodel" --layers 12 --hidden 256 --shards 100 -o "$W/sharded"
n=20
"$B/st-inspect" "$W/sharded" >/dev/null	# warm the page cache
t0=$(now)
i=0
while [ $i -lt $n ]; do "$B/st-inspect" "$W/sharded" >/dev/null; i=$((i + 1)); done
t1=$(now)
printf 'list 100 shards, %s tensors: %.1f ms per run (mean of %d), peak RSS %s MB\n' \
	"$("$B/st-inspect" --json "$W/sharded" | grep -c '"name"')" \
	"$(echo "($t1 - $t0) * 1000 / $n" | bc -l)" $n "$(rss "$B/st-inspect" "$W/sharded")"

echo "== st-inspect --stats throughput ($SIZE F32 model)"
rm -rf "$W/big"
"$B/tools/mkmodel" --hidden 1024 --intermediate 2816 --heads 16 --kv-heads 4 --vocab 32000 \
	--size "$SIZE" -o "$W/big"
f=$W/big/model.safetensors
bytes=$(wc -c <"$f")
cat "$f" >/dev/null	# into the page cache, so both sides read memory
t0=$(now); cat "$f" >/dev/null; t1=$(now)
cat_s=$(secs "$t0" "$t1")
t0=$(now); "$B/st-inspect" --stats -q -j 1 "$f" >/dev/null; t1=$(now)
s1=$(secs "$t0" "$t1")
t0=$(now); "$B/st-inspect" --stats -q -j "$J" "$f" >/dev/null; t1=$(now)
sj=$(secs "$t0" "$t1")
gb() { echo "$bytes / $1 / 1000000000" | bc -l; }
printf 'bytes %s\n' "$bytes"
printf 'cat > /dev/null:        %6.2f GB/s (%.2f s)\n' "$(gb "$cat_s")" "$cat_s"
printf 'st-inspect --stats -j1: %6.2f GB/s (%.2f s), peak RSS %s MB\n' "$(gb "$s1")" "$s1" \
	"$(rss "$B/st-inspect" --stats -q -j 1 "$f")"
printf 'st-inspect --stats -j%s: %6.2f GB/s (%.2f s), peak RSS %s MB\n' "$J" "$(gb "$sj")" "$sj" \
	"$(rss "$B/st-inspect" --stats -q -j "$J" "$f")"
rm -rf "$W/big"
