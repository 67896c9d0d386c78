# AWQ factors (-p) with an importance matrix measured before smoothing: refused,
# naming a smoothed weight; and factors that cannot fold (q and k disagree)
/usr/bin/python3 "$CASES/../../tools/awq_data.py" d || exit 1
qcalib -q -m awq -g 16 --captures d/caps.safetensors d/model -o w.qp || exit 1
st2gguf -q --vocab none -t F32 -p w.qp --imatrix whatever.gguf d/model -o out.gguf; echo "rc $?"
/usr/bin/python3 - <<'PY' || exit 1
import json, struct
b = bytearray(open("w.qp", "rb").read()); n = struct.unpack("<Q", b[:8])[0]
off = 8 + n + json.loads(b[8:8 + n])["model.layers.0.self_attn.k_proj.weight.smooth"]["data_offsets"][0]
b[off:off + 4] = struct.pack("<f", 7.0)
open("disagree.qp", "wb").write(b)
PY
st2gguf -q --vocab none -t F32 -p disagree.qp d/model -o out.gguf; echo "rc $?"
[ -e out.gguf ] && echo "output left behind"
exit 0
