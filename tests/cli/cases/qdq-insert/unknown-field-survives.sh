# GraphProto field 16 (metadata_props in ONNX >= 1.16, unknown to the 1.12
# schema protobuf-c is generated from) survives quantization
C=$CASES/../../fuzz/corpus/fuzz_onnx
command -v protoc >/dev/null || { echo "protoc not installed"; exit 77; }
qdq-insert -q -w int8 "$C/unknown-field-graph.onnx" -o out.onnx || exit 1
protoc --decode_raw < out.onnx | grep -A3 '^  16 {'
