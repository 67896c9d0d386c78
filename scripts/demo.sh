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
