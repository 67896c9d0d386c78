#!/bin/sh
# make demo: the main job on a small model the project makes itself.
# Later issues extend it down the pipeline (st2gguf, qcalib, qpack, ...).
set -eu
cd "$(dirname "$0")/.."
B=${QU_BIN:-build}
out=demo-out
PATH=$PWD/$B:$PWD/$B/tools:$PATH
rm -rf "$out"
mkdir -p "$out"

run() { echo; echo "\$ $*"; "$@"; }

# a deterministic HF llama checkpoint: config.json + model.safetensors (BF16)
run mkmodel --layers 2 --hidden 64 --dtype bf16 -o "$out/model"
run st-inspect "$out/model"
run st-inspect --stats -n 'model.layers.0.*' "$out/model"
# the same weights in F32 over 3 shards with an index; --diff shows what
# the BF16 rounding cost (and exits 1: the values differ)
run mkmodel --layers 2 --hidden 64 --shards 3 -o "$out/model-f32-sharded"
run st-inspect --metadata "$out/model-f32-sharded"
run st-inspect --diff -n 'lm_head*' "$out/model-f32-sharded" "$out/model" || true
run st-inspect --check "$out/model" "$out/model-f32-sharded"

# st2gguf: the HF folder to a GGUF llama.cpp runs, in one streaming pass.
# The model has no tokenizer, so --vocab none and token ids in and out.
run st2gguf --plan -t Q4_K_M --vocab none "$out/model"
run st2gguf -q -t F32 --vocab none "$out/model" -o "$out/model-f32.gguf"
run st2gguf -q -t Q8_0 --vocab none "$out/model" -o "$out/model-q8_0.gguf"
run st-inspect "$out/model-q8_0.gguf"
# llama.cpp itself (libllama from npm @node-llama-cpp/linux-x64) loads the
# GGUFs and continues a prompt of token ids greedily
if make -s "$B/tests/interop/llama_run" >/dev/null 2>&1 && [ -x "$B/tests/interop/llama_run" ]; then
	for g in model-f32 model-q8_0; do
		echo
		echo "\$ echo '1 2 3 4 5' | llama.cpp greedy, 12 tokens, $g.gguf"
		echo "1 2 3 4 5" | "$B/tests/interop/llama_run" generate "$out/$g.gguf" 12
	done
else
	echo "(llama.cpp oracle not installed: scripts/deps.sh)"
fi
