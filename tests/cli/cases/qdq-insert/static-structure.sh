# --static on x -> MatMul(W) -> y -> Add(B) -> z with ranges for x, y and z
# (z per channel, [C, 2]): pairs on the MatMul's input and output and on the
# Add's output, which is a graph output: its producer writes a new name and
# the DequantizeLinear keeps "z"; the Add's constant B is stored as uint8
# per tensor behind a DequantizeLinear.  Decoded by protoc from Debian's
# onnx.proto.
C=$CASES/../../fuzz/corpus/fuzz_onnx
command -v protoc >/dev/null || { echo "protoc not installed"; exit 77; }
[ -f /usr/include/onnx/onnx.proto ] || { echo "onnx.proto not installed"; exit 77; }
{
	printf '\340\000\000\000\000\000\000\000'
	printf '%-224s' '{"x.range":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"y.range":{"dtype":"F32","shape":[2],"data_offsets":[8,16]},"z.range":{"dtype":"F32","shape":[2,2],"data_offsets":[16,32]}}'
	# x [-1, 1], y [-2, 2], z [-3, 1] and [-1, 3]
	printf '\000\000\200\277\000\000\200\077\000\000\000\300\000\000\000\100'
	printf '\000\000\100\300\000\000\200\077\000\000\200\277\000\000\100\100'
} > r.qp
qdq-insert --static -p r.qp "$C/valid-matmul.onnx" -o out.onnx || exit 1
protoc --decode=onnx.ModelProto -I/usr/include /usr/include/onnx/onnx.proto < out.onnx |
	awk '/^  node \{/ { n = 1 } n && /input:|output:|op_type:/ { printf "%s ", $2 } n && /^  \}/ { print ""; n = 0 }
	     /^  output \{/ { o = 1 } o && /name:/ { print "graph output " $2; o = 0 }'
# z's range is the union [-3, 3]: scale 6/255, zero point round(3 / scale) = 128
st-inspect --dump z_scale out.onnx
st-inspect --dump z_zero_point out.onnx
