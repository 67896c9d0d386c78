# an importance vector of the wrong length is refused, naming the weight
"$CASES/../../../scripts/gen-st-model.py" m --hidden 64 --inter 128 --layers 1 || exit 1
/usr/bin/python3 - <<'PY' || exit 1
import struct
name = "blk.0.ffn_down.weight"
b = struct.pack("<i", 1) + struct.pack("<i", len(name)) + name.encode() + struct.pack("<ii", 1, 100)
b += struct.pack("<100f", *([1.0] * 100)) + struct.pack("<i", 1)
open("im.dat", "wb").write(b)
PY
qcalib -q --bits-budget 5 --formats q4_0,q8_0 --imatrix im.dat m -o p.qp
