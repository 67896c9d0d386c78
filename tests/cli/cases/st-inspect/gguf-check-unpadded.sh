# --check: what ggml's reader lets pass but a careful writer never makes.
cd "$CASES/../../fuzz/corpus/fuzz_gguf" && st-inspect --check odd_v2_scalar_bool2_unpadded.gguf
