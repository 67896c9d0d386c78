# --static on a model with one node of every op rule (tests/interop/
# onnx_rules_model.py), every activation given the range [-1, 1]: the pair
# count, folded Relu/Clip and quantized constants in the summary, the op
# counts of the result (also run under ASan by make check).  The interop test
# test_onnx_static.mjs checks the same rules against onnxruntime.
C=$CASES/../../fuzz/corpus/fuzz_onnx
[ -x /usr/bin/python3 ] || { echo "python3 not installed"; exit 77; }
/usr/bin/python3 - <<'PY' || exit 1
import json, struct
names = "x c1 r1 mp c2 cl c3 cl2 cat s1 s2 ad mu re sliced rs pd ap tr rh mm lr probs gap sq gate pw".split()
hdr = {n + ".range": {"dtype": "F32", "shape": [2], "data_offsets": [8 * i, 8 * i + 8]} for i, n in enumerate(names)}
h = json.dumps(hdr).encode()
h += b" " * (-len(h) % 8)
open("r.qp", "wb").write(struct.pack("<Q", len(h)) + h + struct.pack("<2f", -1, 1) * len(names))
PY
qdq-insert --static -p r.qp "$C/valid-static-rules.onnx" -o u8.onnx 2>&1 || exit 1
st-inspect u8.onnx | sed -n '/^ops:/,/^quantization:/p'
qdq-insert --static --act-type int8 -p r.qp "$C/valid-static-rules.onnx" -o i8.onnx 2>&1 || exit 1
