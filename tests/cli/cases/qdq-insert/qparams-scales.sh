# Scales from a qparams file (safetensors): W.scale [4] replaces min/max for
# the per-channel int8 weight W [8, 4]; the DequantizeLinear reads them as given
C=$CASES/../../fuzz/corpus/fuzz_onnx
qp() { # shape data-bytes: header padded with spaces to 64 bytes
	printf '\100\000\000\000\000\000\000\000'
	printf '%-64s' "{\"W.scale\":{\"dtype\":\"F32\",\"shape\":[$1],\"data_offsets\":[0,$(($1 * 4))]}}"
	printf "$2"
}
qp 4 '\000\000\000\077\000\000\200\076\000\000\200\077\000\000\000\100' > w.qp	# 0.5 0.25 1 2
qdq-insert -q -w int8 -p w.qp "$C/valid-matmul.onnx" -o q.onnx || exit 1
st-inspect --dump W_scale q.onnx
# a scale of the wrong shape is refused
qp 3 '\000\000\000\077\000\000\200\076\000\000\200\077' > bad.qp
qdq-insert -q -w int8 -p bad.qp "$C/valid-matmul.onnx" -o q2.onnx
echo "exit $?"
