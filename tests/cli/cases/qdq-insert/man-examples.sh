# The man page's examples, on a small model: they run and produce models
C=$CASES/../../fuzz/corpus/fuzz_onnx
cp "$C/valid-matmul.onnx" model.onnx
qdq-insert -q -w int4 -b 32 model.onnx -o model-int4.onnx || exit 1
qdq-insert -q --matmulnbits -b 32 --node-format 'Conv=int8' model.onnx -o model-nbits.onnx || exit 1
qdq-insert -q -w int8 --node-format '*attn*=uint4:64' model.onnx -o mixed.onnx || exit 1
st-inspect --metadata mixed.onnx | grep 'MatMul weight'
qdq-insert -q -w fp8 - < model.onnx | gzip > model-fp8.onnx.gz || exit 1
gzip -dc model-fp8.onnx.gz | st-inspect --metadata /dev/stdin 2>/dev/null | grep -c FLOAT8 >/dev/null
gzip -dc model-fp8.onnx.gz > fp8.onnx && st-inspect fp8.onnx | grep -o 'FLOAT8E4M3FN  *\[8, 4\]'
# captured activations x, y, z (4 values each) -> ranges -> static QDQ
{
	printf '\260\000\000\000\000\000\000\000'
	printf '%-176s' '{"x":{"dtype":"F32","shape":[4],"data_offsets":[0,16]},"y":{"dtype":"F32","shape":[4],"data_offsets":[16,32]},"z":{"dtype":"F32","shape":[4],"data_offsets":[32,48]}}'
	for i in 1 2 3; do printf '\000\000\200\277\000\000\000\077\000\000\200\077\000\000\000\100'; done
} > acts.safetensors
qcalib --captures acts.safetensors -o ranges.qp 2>/dev/null || exit 1
qdq-insert --static -p ranges.qp model.onnx -o model-qdq.onnx 2>&1
cp "$C/valid-matmul-f16.onnx" model-fp16.onnx
qdq-insert -w int4 -b 32 model-fp16.onnx -o model-fp16-int4.onnx 2>&1
st-inspect model-fp16-int4.onnx | grep -o 'W_scale  *FLOAT16'
