# --capture-model adds the activations --static reads as graph outputs
# (MatMul's input x is a graph input already, its output y becomes one);
# the model is otherwise unchanged: float weights, no Q/DQ nodes
command -v protoc >/dev/null || { echo "protoc not installed"; exit 77; }
[ -f /usr/include/onnx/onnx.proto ] || { echo "onnx.proto not installed"; exit 77; }
C=$CASES/../../fuzz/corpus/fuzz_onnx
dec() { protoc --decode=onnx.ModelProto -I/usr/include/onnx /usr/include/onnx/onnx.proto < "$1"; }
qdq-insert --capture-model "$C/valid-matmul.onnx" -o cap.onnx || exit 1
dec cap.onnx | awk '/^  output \{/{o=1} o&&/name:/{print "output", $2; o=0}'
dec cap.onnx | grep -c 'op_type: "\(Quantize\|Dequantize\)Linear"'
dec cap.onnx | grep -c 'data_type: 1$'
qdq-insert --capture-all "$C/valid-matmul.onnx" -o all.onnx || exit 1
cmp cap.onnx all.onnx && echo "same with --capture-all"
qdq-insert --capture-model - < "$C/valid-matmul.onnx" -o x.onnx
echo "stdin: exit $?"
