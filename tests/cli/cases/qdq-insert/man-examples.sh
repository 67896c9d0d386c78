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
