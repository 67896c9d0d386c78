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

# qcalib + qpack: scales chosen by an MSE search, packed for vLLM, and
# what the packing cost, read back through a pipe
run qcalib -m mse -f int4 -g 32 --report "$out/model" -o "$out/w.qp"
run st2gguf -q -t Q4_0 -p "$out/w.qp" --vocab none "$out/model" -o "$out/model-q4_0.gguf"
run qpack -q -f int4 -g 32 --layout awq "$out/model" -o "$out/model-awq"
run st-inspect "$out/model-awq"
run qpack -q -p "$out/w.qp" --layout compressed-tensors "$out/model" -o "$out/model-ct"
# ...and that packed checkpoint to a GGUF, its int4 codes kept as Q4_0 blocks
run st2gguf --vocab none "$out/model-ct" -o "$out/model-ct-q4_0.gguf"
echo
echo "\$ qpack --dequant $out/model-awq -o - | st-inspect --diff -n '*.q_proj.*' $out/model -"
qpack -q --dequant "$out/model-awq" -o - | st-inspect --diff -n '*.q_proj.*' "$out/model" - || true

# qdq-insert: a real ONNX model (openWakeWord's classifier, from npm)
onnx=tests/oracles/openwakeword/package/models/alexa_v0.1.onnx
if [ -f "$onnx" ]; then
	run qdq-insert -w int4 -b 32 "$onnx" -o "$out/alexa-int4.onnx"
	run st-inspect "$out/alexa-int4.onnx"
fi

# nnef-quant: a small NNEF model, tract's Q40 with the MSE search
if /usr/bin/python3 -c 'import numpy' 2>/dev/null; then
	/usr/bin/python3 scripts/gen-nnef-fixtures.py model "$out/model.nnef"
	run nnef-quant -f q40 -m mse -v "$out/model.nnef" -o "$out/model-q40.nnef.tgz"
	run st-inspect --diff "$out/model.nnef" "$out/model-q40.nnef.tgz" || true
fi
