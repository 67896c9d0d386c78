# A GGUF file our writer made (its KVs and tensors are checked against
# llama.cpp's reader by tests/interop/test_gguf_ggml.sh): KVs with arrays
# abbreviated, tensors with ggml type names, shapes outermost first.
cd "$CASES/../../fuzz/corpus/fuzz_gguf" && st-inspect valid_align32.gguf
