# a sharing group without any capture: error naming the weight
/usr/bin/python3 "$CASES/../../tools/awq_data.py" d || exit 1
/usr/bin/python3 - <<'PY' || exit 1
import json, struct
b = open("d/caps.safetensors", "rb").read()
n = struct.unpack("<Q", b[:8])[0]
h = json.loads(b[8:8 + n])
for m in ("gate_proj", "up_proj"):
    h["model.layers.1.mlp.%s.weight.inpux" % m] = h.pop("model.layers.1.mlp.%s.weight.input" % m)
j = json.dumps(h).encode(); j += b" " * ((8 - len(j) % 8) % 8)
open("bad.safetensors", "wb").write(struct.pack("<Q", len(j)) + j + b[8 + n:])
PY
qcalib -q -m awq --captures bad.safetensors d/model -o w.qp
