# A qcalib plan (per-weight format in the qparams metadata) sets W's format;
# --node-format still wins over it
C=$CASES/../../fuzz/corpus/fuzz_onnx
printf '\120\000\000\000\000\000\000\000' > plan.qp
printf '%-80s' '{"__metadata__":{"format":"qparams","W":"{\"format\":\"uint4\",\"block\":16}"}}' >> plan.qp
qdq-insert -q -p plan.qp "$C/valid-matmul.onnx" -o q.onnx || exit 1
st-inspect --metadata q.onnx | grep 'MatMul weight'
qdq-insert -q -p plan.qp --node-format 'mm=fp8' "$C/valid-matmul.onnx" -o q2.onnx || exit 1
st-inspect --metadata q2.onnx | grep 'MatMul weight'
