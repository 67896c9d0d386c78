# captures whose width is not the weight's input channels: error naming the
# capture, no qparams file
/usr/bin/python3 "$CASES/../../tools/awq_data.py" d || exit 1
/usr/bin/python3 - <<'PY' || exit 1
import json, struct
b = open("d/caps.safetensors", "rb").read()
n = struct.unpack("<Q", b[:8])[0]
h = json.loads(b[8:8 + n])
k = "model.layers.0.self_attn.q_proj.weight.input"
h[k]["shape"] = [h[k]["shape"][0] * 2, h[k]["shape"][1] // 2]
j = json.dumps(h).encode(); j += b" " * ((8 - len(j) % 8) % 8)
open("bad.safetensors", "wb").write(struct.pack("<Q", len(j)) + j + b[8 + n:])
PY
qcalib -q -m awq --captures bad.safetensors d/model -o w.qp; rc=$?
[ -e w.qp ] && echo "output left behind"
exit $rc
