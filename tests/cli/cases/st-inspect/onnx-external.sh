# Where an ONNX tensor is stored: inline (the .onnx) or in external data at
# a 4096-aligned offset (tensors of 1 KiB or more with --external-data)
M=$CASES/../../oracles/openwakeword/package/models/embedding_model.onnx
[ -f "$M" ] || { echo "openwakeword models not installed (scripts/deps.sh)"; exit 77; }
qdq-insert -q -w int4 -b 32 --external-data "$M" -o q.onnx || exit 1
st-inspect -n 'model/conv2d_[1-4]/*_quantized' q.onnx | sed -n '/^tensors:/,/^totals:/p'
