# values chosen so the figures can be worked out by hand:
# x = [-2, 0, 0, 4, NaN, Inf]: finite -2 0 0 4 -> mean 0.5,
# std = sqrt(((-2.5)^2 + 0.5^2 + 0.5^2 + 3.5^2) / 4) = sqrt(4.75) = 2.17945;
# min -2, max inf, absmax inf, 2 zeros, 1 NaN, 1 Inf
python3 - <<'PY'
import struct, json
h = json.dumps({"x": {"dtype": "F32", "shape": [6], "data_offsets": [0, 24]}}).encode()
d = struct.pack("<6f", -2, 0, 0, 4, float("nan"), float("inf"))
open("s.safetensors", "wb").write(struct.pack("<Q", len(h)) + h + d)
PY
st-inspect --stats -j 3 s.safetensors
st-inspect --stats --json s.safetensors | python3 -c '
import json, sys
s = json.load(sys.stdin)["tensors"][0]["stats"]
assert s["min"] == -2 and s["max"] is None and s["mean"] == 0.5, s
assert abs(s["std"] - 4.75 ** 0.5) < 1e-6 and s["zeros"] == 2 and s["nan"] == 1 and s["inf"] == 1, s
print("json ok")'
