# A GPTQ act-order plan (W.g_idx) cannot become ONNX blocks: refused, no output.
/usr/bin/python3 - <<'PY' || { echo "SKIP qdq-insert gidx-plan: python3 onnx/numpy missing"; exit 77; }
import json, struct
import numpy as np
import onnx
from onnx import helper, TensorProto, numpy_helper
W = np.ones((64, 16), np.float32)
g = helper.make_graph([helper.make_node("MatMul", ["x", "W"], ["y"])], "g",
    [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 64])],
    [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 16])], [numpy_helper.from_array(W, "W")])
onnx.save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 21)]), "m.onnx")
t = {"W.scale": ("F32", [2, 16], np.full((2, 16), 0.3, np.float32)),
     "W.g_idx": ("I32", [64], (np.arange(64) % 2).astype(np.int32))}
hdr, off, blobs = {"__metadata__": {"format": "qparams", "version": "1"}}, 0, []
for k, (dt, shape, a) in t.items():
    b = a.tobytes(); hdr[k] = {"dtype": dt, "shape": shape, "data_offsets": [off, off + len(b)]}
    off += len(b); blobs.append(b)
j = json.dumps(hdr).encode(); j += b" " * ((8 - len(j) % 8) % 8)
open("g.qp", "wb").write(struct.pack("<Q", len(j)) + j + b"".join(blobs))
PY
qdq-insert -q -w int4 -b 32 -p g.qp m.onnx -o out.onnx
rc=$?
[ -e out.onnx ] && echo "out.onnx written"
exit $rc
