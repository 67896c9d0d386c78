# int4 needs opset 21; ReduceMean(axes) changed at 18: refuse, suggest the ways out
C=$CASES/../../fuzz/corpus/fuzz_onnx
qdq-insert -w int4 "$C/valid-reducemean-opset13.onnx" -o out.onnx
rc=$?
[ -e out.onnx ] && echo "output file left behind"
exit $rc
