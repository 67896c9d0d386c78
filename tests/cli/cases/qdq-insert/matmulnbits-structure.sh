# --matmulnbits: the MatMul becomes com.microsoft MatMulNBits with K, N,
# bits 4, block_size; B is [N, ceil(K/bs), bs/2] uint8; the domain is imported
C=$CASES/../../fuzz/corpus/fuzz_onnx
command -v protoc >/dev/null || { echo "protoc not installed"; exit 77; }
[ -f /usr/include/onnx/onnx.proto ] || { echo "onnx.proto not installed"; exit 77; }
qdq-insert -q --matmulnbits -b 16 "$C/valid-matmul.onnx" -o out.onnx || exit 1
protoc --decode=onnx.ModelProto -I/usr/include /usr/include/onnx/onnx.proto < out.onnx |
	tr '\n' ' ' | sed 's/  */ /g'; echo
