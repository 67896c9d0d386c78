# What qdq-insert refuses on half-precision models, each with a clear message,
# exit 1 and no output: bfloat16 MatMulNBits (onnxruntime's CPU has no such
# kernel), -w fp16 on a bfloat16 weight beyond float16's range, --static on
# a float16 model (activations of half models are not quantized yet).
C=$CASES/../../fuzz/corpus/fuzz_onnx
qdq-insert --matmulnbits "$C/valid-matmul-bf16.onnx" -o a.onnx; echo "exit $?"
qdq-insert -w fp16 "$C/valid-matmul-bf16-huge.onnx" -o b.onnx; echo "exit $?"
printf '\100\000\000\000\000\000\000\000' > r.qp
printf '%-64s' '{"x.range":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}' >> r.qp
printf '\000\000\200\277\000\000\200\077' >> r.qp
qdq-insert --static -p r.qp "$C/valid-matmul-f16.onnx" -o c.onnx; echo "exit $?"
ls *.onnx 2>/dev/null
exit 0
