# nvfp4 and mxfp4 with qcalib's mse scales: qpack packs them in
# compressed-tensors' layouts, --dequant reads them back, and every value
# equals what numpy computes from the float weights and the qparams
# (E2M1 round to nearest even, scale / global_scale for nvfp4)
"$CASES/../../../scripts/gen-st-model.py" m --hidden 64 --inter 128 --layers 1 || exit 1
for f in nvfp4 mxfp4; do
	qcalib -q -m mse -f $f m -o $f.qp || exit 1
	qpack -q -p $f.qp m -o $f-packed || exit 1
	qpack -q --dequant $f-packed -o $f-back.safetensors || exit 1
	/usr/bin/python3 - m/model.safetensors $f.qp $f-back.safetensors $f-packed/config.json <<'PY' || exit 1
import json, struct, sys
import numpy as np
def load(p):
    b = open(p, "rb").read(); n = struct.unpack_from("<Q", b)[0]; h = json.loads(b[8:8 + n]); out = {}
    for k, v in h.items():
        if k == "__metadata__": continue
        s, e = v["data_offsets"]; raw = b[8 + n + s:8 + n + e]
        dt = {"F32": "<f4", "BF16": "<u2"}.get(v["dtype"])
        if dt is None: continue
        a = np.frombuffer(raw, dt)
        if v["dtype"] == "BF16": a = (a.astype(np.uint32) << 16).view(np.float32)
        out[k] = a.reshape(v["shape"])
    return out
w, qp, back = load(sys.argv[1]), load(sys.argv[2]), load(sys.argv[3])
fmt = json.load(open(sys.argv[4]))["quantization_config"]["format"]
mag = np.array([0, .5, 1, 1.5, 2, 3, 4, 6], np.float32)
def e2m1(r):   # nearest, ties to the even code (E2M1's rule)
    a = np.minimum(np.abs(r), 6).astype(np.float32)
    d = np.abs(a[..., None] - mag)
    best = d.min(-1, keepdims=True)
    cand = np.where(d == best, np.arange(8), 99)
    even = np.where(cand % 2 == 0, cand, 99).min(-1)
    code = np.where(even < 99, even, cand.min(-1))
    return np.copysign(mag[code], r)
n = bad = 0
for name, W in w.items():
    if name + ".scale" not in qp: continue
    S = qp[name + ".scale"]; g = W.shape[1] // S.shape[1]
    s = np.repeat(S, g, axis=1).astype(np.float32)
    if name + ".global_scale" in qp:
        s = (s / np.float32(qp[name + ".global_scale"])).astype(np.float32)
    want = (e2m1((W / s).astype(np.float32)) * s).astype(np.float32)
    got = back[name]
    bad += int((got != want).sum()); n += 1
print(fmt, "tensors", n, "values differing", bad)
PY
done
