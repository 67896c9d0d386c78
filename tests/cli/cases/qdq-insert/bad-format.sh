qdq-insert -w int3 x.onnx -o y.onnx
