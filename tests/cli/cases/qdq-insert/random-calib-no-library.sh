# --random-calib without onnxruntime's library: a clear error, exit 1, no output
C=$CASES/../../fuzz/corpus/fuzz_onnx
QUTILS_ONNXRUNTIME=/nonexistent/libonnxruntime.so.1 qdq-insert --random-calib 2 "$C/valid-matmul.onnx" -o out.onnx
rc=$?
[ -e out.onnx ] && echo "output file left behind"
ls -a | grep -v '^\.\.\?$' | grep -v '^std' | grep -v '^rc$'
exit $rc
