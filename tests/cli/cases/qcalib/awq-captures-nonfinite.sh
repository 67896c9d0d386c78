# a NaN in the captures is refused with the row
/usr/bin/python3 "$CASES/../../tools/awq_data.py" d || exit 1
/usr/bin/python3 - <<'PY' || exit 1
import json, struct
b = bytearray(open("d/caps.safetensors", "rb").read())
n = struct.unpack("<Q", b[:8])[0]
h = json.loads(b[8:8 + n])
off = 8 + n + h["model.layers.1.mlp.down_proj.weight.input"]["data_offsets"][0] + 4 * 32 * 3
b[off:off + 4] = struct.pack("<f", float("nan"))
open("bad.safetensors", "wb").write(b)
PY
qcalib -q -m smoothquant --captures bad.safetensors d/model -o w.qp
