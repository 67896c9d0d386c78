# --imatrix (legacy .dat, GGUF names as llama-imatrix writes them): found
# through the llama architecture's names; blk.0.ffn_down's channels are
# 10^6 times the others', so it is the weight that gets q8_0
"$CASES/../../../scripts/gen-st-model.py" m --hidden 64 --inter 128 --layers 1 || exit 1
/usr/bin/python3 - <<'PY' || exit 1
import struct
ents = [("blk.0.ffn_down.weight", 128, 1e6), ("blk.0.attn_q.weight", 64, 1.0), ("blk.0.ffn_up.weight", 64, 1.0)]
b = struct.pack("<i", len(ents))
for name, n, v in ents:
    b += struct.pack("<i", len(name)) + name.encode() + struct.pack("<ii", 1, n) + struct.pack("<%df" % n, *([v] * n))
b += struct.pack("<i", 1)
open("im.dat", "wb").write(b)
PY
qcalib -q -m mse --bits-budget 5.4 --formats q4_0,q8_0 --imatrix im.dat m -o p.qp >table 2>err || { cat err; exit 1; }
grep -o "[0-9]* of [0-9]* weights have no importance" err
awk '$2 == "q8_0" && $1 != "uniform" { print $1 }' table
st-inspect p.qp | grep -o '"weighted_by":"imatrix"'
