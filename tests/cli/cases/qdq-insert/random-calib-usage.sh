# usage errors of --random-calib and --capture-model exit 2 with a hint
C=$CASES/../../fuzz/corpus/fuzz_onnx
M=$C/valid-matmul.onnx
for args in "--random-calib 0" "--random-calib x" "--random-calib 5 --seed -1" \
    "--random-calib 5 --seed 4294967296" "--random-calib 5 --random-dist cauchy" \
    "--static" "--capture-model -p x.qp" "--capture-model --random-calib 3"; do
	qdq-insert $args "$M" -o out.onnx 2>err
	echo "$args: exit $? $(head -1 err | sed 's/^qdq-insert: //')"
done
[ -e out.onnx ] && echo "output file left behind"
exit 0
