#!/bin/sh
# st2gguf HF-folder benchmark (called by scripts/bench.sh; not a test):
# a generated ~1 GB BF16 llama-shaped HF folder to a Q4_K_M GGUF,
#   ours:  st2gguf -t Q4_K_M, one streaming pass;
#   peer:  HF -> F16 GGUF, then llama_model_quantize (the engine behind
#          llama-quantize, from npm @node-llama-cpp/linux-x64) F16 -> Q4_K_M.
# The peer's real first step is convert_hf_to_gguf.py, which needs torch and
# transformers; neither installs here (no PyPI), so the F16 step is our own
# st2gguf -t F16 (the same bytes convert_hf_to_gguf.py writes, see
# tests/interop/test_hf_reference) and its time is a lower bound for the
# Python converter.  Wall time and peak RSS of every step, one run each.
# BENCH_SIZE (default 1G) sets the checkpoint size, BENCH_DIR the scratch.
set -eu
cd "$(dirname "$0")/.."
B=${QU_BIN:-build}
W=${BENCH_DIR:-build/bench}
SIZE=${BENCH_SIZE:-1G}
J=$(nproc 2>/dev/null || echo 2)
mkdir -p "$W"
if [ ! -x "$B/tests/interop/llama_run" ]; then
	make -s "$B/tests/interop/llama_run" >/dev/null 2>&1 || true
fi

measure() { # label command... -> "label: wall s, peak RSS MB"
	label=$1; shift
	/usr/bin/time -f "%e %M" -o "$W/time.txt" "$@" >/dev/null
	awk -v l="$label" '{ printf "%-44s %7.2f s  peak RSS %7.1f MB\n", l, $1, $2 / 1024 }' "$W/time.txt"
	cat "$W/time.txt" >>"$W/times.txt"
}

echo "== st2gguf: HF folder ($SIZE BF16, llama-shaped) to Q4_K_M GGUF, $J threads"
rm -rf "$W/hf" "$W/times.txt"
"$B/tools/mkmodel" --size "$SIZE" --hidden 2048 --intermediate 5632 --heads 32 --kv-heads 4 \
	--vocab 32000 --dtype bf16 -o "$W/hf" >/dev/null
du -sh "$W/hf" | awk '{ print "checkpoint: " $1 }'
"$B/st2gguf" --plan -t Q4_K_M --vocab none "$W/hf" | tail -2
cat "$W/hf"/*.safetensors >/dev/null	# page cache warm for both paths

measure "ours: st2gguf -t Q4_K_M (one pass)" \
	"$B/st2gguf" -q -j "$J" -t Q4_K_M --vocab none "$W/hf" -o "$W/ours.gguf"
ours=$(tail -1 "$W/times.txt" | cut -d' ' -f1)
if [ -x "$B/tests/interop/llama_run" ]; then
	measure "peer step 1: HF -> F16 GGUF (st2gguf -t F16)" \
		"$B/st2gguf" -q -j "$J" -t F16 --vocab none "$W/hf" -o "$W/f16.gguf"
	s1=$(tail -1 "$W/times.txt" | cut -d' ' -f1)
	measure "peer step 2: llama_model_quantize Q4_K_M" \
		"$B/tests/interop/llama_run" quantize "$W/f16.gguf" "$W/peer.gguf" 15 "$J"
	s2=$(tail -1 "$W/times.txt" | cut -d' ' -f1)
	echo "$ours $s1 $s2" | awk '{ printf "end to end: ours %.2f s, peer %.2f s (%.2fx)\n", $1, $2 + $3, ($2 + $3) / $1 }'
	ls -l "$W/ours.gguf" "$W/peer.gguf" | awk '{ print $5, $9 }'
else
	echo "(llama.cpp oracle not installed: no peer figures)"
fi
rm -rf "$W/hf" "$W/f16.gguf"
