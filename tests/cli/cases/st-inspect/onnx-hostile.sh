# A malformed ONNX file: --check names the problem
st-inspect --check "$CASES/../../fuzz/corpus/fuzz_onnx/raw-data-short.onnx"
