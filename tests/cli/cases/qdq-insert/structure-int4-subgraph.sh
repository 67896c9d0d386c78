# The QDQ structure, decoded by protoc from Debian's onnx.proto: W (read by
# MatMuls inside both If branches) gets one DequantizeLinear at top level
# (INT4 = data_type 22, blocked along K, opset 21, IR 10); the Constant C
# (typed float_data in the input) becomes an INT4 weight too; W and the
# Constant node are gone; everything else is as it was.
C=$CASES/../../fuzz/corpus/fuzz_onnx
command -v protoc >/dev/null || { echo "protoc not installed"; exit 77; }
[ -f /usr/include/onnx/onnx.proto ] || { echo "onnx.proto not installed"; exit 77; }
qdq-insert -q -w int4 -b 16 "$C/valid-if-constant-typed.onnx" -o out.onnx || exit 1
protoc --decode=onnx.ModelProto -I/usr/include /usr/include/onnx/onnx.proto < out.onnx |
	grep -v 'raw_data'
