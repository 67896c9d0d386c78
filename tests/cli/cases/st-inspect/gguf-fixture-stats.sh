# llama.cpp's converter output: listing, --stats on F16/F32 tensors, --diff
# against itself.
f=$FIXTURES/llama-cpp-reference/hfconv-f16.gguf
[ -f "$f" ] || { echo "fixtures absent"; exit 77; }
st-inspect "$f" | grep -E '^  (llama.block_count|tokenizer.ggml.tokens|output.weight) '
st-inspect --stats -n output_norm.weight "$f" | tail -1
st-inspect --diff "$f" "$f" | tail -1
# the man page's example: Q8_0 against F16, every tensor compared
st-inspect --diff "${f%f16.gguf}f16.gguf" "${f%f16.gguf}q8_0.gguf" | tail -1
