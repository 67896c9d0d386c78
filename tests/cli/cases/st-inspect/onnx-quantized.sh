# An ONNX model after qdq-insert: opsets, op counts, each consumer's weight format
C=$CASES/../../fuzz/corpus/fuzz_onnx
qdq-insert -q -w int4 -b 16 "$C/valid-if-constant-typed.onnx" -o q.onnx || exit 1
st-inspect q.onnx
