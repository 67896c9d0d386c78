# --captures weighs the budget's errors: down_proj's inputs are 1000x the
# others', so it is the one weight that gets q8_0 (+0.8 bits of 0.9 spare)
"$CASES/../../../scripts/gen-st-model.py" m --hidden 64 --inter 128 --layers 1 || exit 1
/usr/bin/python3 - <<'PY' || exit 1
import json, struct
import numpy as np
rng = np.random.default_rng(1)
x = (rng.standard_normal((16, 128)) * 1000).astype("<f4")
h = {"model.layers.0.mlp.down_proj.weight.input": {"dtype": "F32", "shape": [16, 128], "data_offsets": [0, x.nbytes]}}
j = json.dumps(h).encode(); j += b" " * ((8 - len(j) % 8) % 8)
open("capt.safetensors", "wb").write(struct.pack("<Q", len(j)) + j + x.tobytes())
PY
qcalib -q -m mse --bits-budget 5.4 --formats q4_0,q8_0 --captures capt.safetensors m -o p.qp >/dev/null 2>err || { cat err; exit 1; }
grep -q "have no importance" err && echo "others unweighted"
st-inspect p.qp | grep -o '"weighted_by":"captures"'
st-inspect p.qp | grep -E 'mlp.down_proj.weight.scale|"format":"q8_0"' | grep -c q8_0 >/dev/null && echo "q8_0 present"
qcalib -q -m mse --bits-budget 5.4 --formats q4_0,q8_0 --captures capt.safetensors m 2>/dev/null | awk '$2 == "q8_0" && $1 != "uniform" { print $1 }'
# unweighted, the same budget goes elsewhere
qcalib -q -m mse --bits-budget 5.4 --formats q4_0,q8_0 m 2>/dev/null | awk '$2 == "q8_0" && $1 != "uniform" { n++; if ($1 ~ /down_proj/) d = 1 } END { print "unweighted:", n, "at q8_0, down_proj", d ? "among them" : "not" }'
