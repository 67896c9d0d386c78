# --json: arrays complete, 64-bit integers exact, non-finite floats null.
cd "$CASES/../../fuzz/corpus/fuzz_gguf" && st-inspect --json -n norm valid_align64.gguf
