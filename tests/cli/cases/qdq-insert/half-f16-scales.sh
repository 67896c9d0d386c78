# A float16 model: the scales are float16 and the DequantizeLinear feeds the
# MatMul directly (opset raised to 19, where DequantizeLinear takes float16
# scales); at opset 13 with a ReduceMean(axes), which forbids raising it, the
# scales stay float and a Cast back to float16 follows; MatMulNBits gets
# float16 scales.
C=$CASES/../../fuzz/corpus/fuzz_onnx
qdq-insert -q -w int8 "$C/valid-matmul-f16.onnx" -o a.onnx || exit 1
st-inspect a.onnx | grep -E 'opset ai.onnx|W_scale'
qdq-insert -w uint8 "$C/valid-reducemean-opset13-f16.onnx" -o b.onnx 2>err || exit 1
cat err
st-inspect b.onnx | grep -E 'opset ai.onnx|W_scale|Cast  '
qdq-insert -q --matmulnbits -b 16 "$C/valid-matmul-f16.onnx" -o c.onnx || exit 1
st-inspect c.onnx | grep -E 'W_MatMulNBits_scales'
