# Malformed activation ranges in the qparams file of --static: a wrong
# shape, a wrong dtype, min > max, a NaN.  Each: exit 1, a message naming the
# file and the tensor, no output.
C=$CASES/../../fuzz/corpus/fuzz_onnx
qp() { # name dtype shape data-bytes bytes: header padded with spaces to 96 bytes
	printf '\140\000\000\000\000\000\000\000'
	printf '%-96s' "{\"$1\":{\"dtype\":\"$2\",\"shape\":[$3],\"data_offsets\":[0,$5]}}"
	printf "$4"
}
qp x.range F32 3 '\000\000\200\277\000\000\200\077\000\000\000\000' 12 > shape.qp
qp x.range F16 2 '\000\274\000\074' 4 > dtype.qp
qp x.range F32 2 '\000\000\200\077\000\000\200\277' 8 > reversed.qp	# 1, -1
qp x.range F32 2 '\000\000\300\177\000\000\200\077' 8 > nan.qp
for f in shape dtype reversed nan; do
	qdq-insert -q --static -p $f.qp "$C/valid-matmul.onnx" -o $f.onnx
	echo "$f: exit $?"
done
ls *.onnx 2>/dev/null
exit 0
