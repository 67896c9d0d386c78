# smoothing factors qpack cannot fold: a zero factor, q/k/v disagreeing on
# one norm, a smoothed weight with no op before it; each a clear error and
# no output folder
/usr/bin/python3 "$CASES/../../tools/awq_data.py" d || exit 1
qcalib -q -m awq -g 16 --captures d/caps.safetensors d/model -o w.qp || exit 1
/usr/bin/python3 - <<'PY' || exit 1
import json, os, shutil, struct
def load(p):
    b = bytearray(open(p, "rb").read()); n = struct.unpack("<Q", b[:8])[0]
    return b, n, json.loads(b[8:8 + n])
b, n, h = load("w.qp")
def patched(name, key, value):
    c = bytearray(b); off = 8 + n + h[key]["data_offsets"][0] + 4
    c[off:off + 4] = struct.pack("<f", value); open(name, "wb").write(c)
patched("zero.qp", "model.layers.0.mlp.up_proj.weight.smooth", 0.0)
patched("disagree.qp", "model.layers.1.self_attn.k_proj.weight.smooth", 3.0)
# a weight no rule knows: o_proj renamed x_proj in both files (same length)
open("norule.qp", "wb").write(bytes(b).replace(b"layers.0.self_attn.o_proj", b"layers.0.self_attn.x_proj"))
os.makedirs("m2", exist_ok=True)
shutil.copy("d/model/config.json", "m2/config.json")
open("m2/model.safetensors", "wb").write(open("d/model/model.safetensors", "rb").read()
    .replace(b"layers.0.self_attn.o_proj", b"layers.0.self_attn.x_proj"))
PY
for qp in zero disagree; do
	qpack -q -p $qp.qp d/model -o out; echo "rc $?"
done
qpack -q -p norule.qp m2 -o out; echo "rc $?"
[ -e out ] && echo "output left behind"
exit 0
