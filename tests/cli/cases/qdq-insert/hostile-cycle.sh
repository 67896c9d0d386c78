# malformed input: clear message naming the file, exit 1, no output left behind
C=$CASES/../../fuzz/corpus/fuzz_onnx
qdq-insert -w int8 "$C/cycle.onnx" -o out.onnx
rc=$?
[ -e out.onnx ] && echo "output file left behind"
ls -a | grep -v '^\.\.\?$' | grep -v '^std' | grep -v '^rc$'
exit $rc
