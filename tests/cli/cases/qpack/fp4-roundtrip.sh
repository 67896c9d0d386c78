# nvfp4 and mxfp4 with qcalib's mse scales: qpack packs them in
# compressed-tensors' layouts, --dequant reads them back, and every value
# equals what numpy computes from the float weights and the qparams
# (E2M1 round to nearest even, scale / global_scale for nvfp4), and what
# numpy decodes from the packed tensors as compressed-tensors defines them
# (low nibble first, E4M3 scale / weight_global_scale, or 2^(byte - 127))
"$CASES/../../../scripts/gen-st-model.py" m --hidden 64 --inter 128 --layers 1 || exit 1
for f in nvfp4 mxfp4; do
	qcalib -q -m mse -f $f m -o $f.qp || exit 1
	qpack -q -p $f.qp m -o $f-packed || exit 1
	qpack -q --dequant $f-packed -o $f-back.safetensors || exit 1
	/usr/bin/python3 - m/model.safetensors $f.qp $f-back.safetensors $f-packed/config.json $f-packed/model.safetensors <<'PY' || exit 1
import json, struct, sys
import numpy as np
def load(p):
    b = open(p, "rb").read(); n = struct.unpack_from("<Q", b)[0]; h = json.loads(b[8:8 + n]); out = {}
    for k, v in h.items():
        if k == "__metadata__": continue
        s, e = v["data_offsets"]; raw = b[8 + n + s:8 + n + e]
        dt = {"F32": "<f4", "BF16": "<u2", "U8": "u1", "F8_E4M3": "u1"}.get(v["dtype"])
        if dt is None: continue
        a = np.frombuffer(raw, dt)
        if v["dtype"] == "BF16": a = (a.astype(np.uint32) << 16).view(np.float32)
        out[k] = a.reshape(v["shape"])
    return out
w, qp, back, pk = load(sys.argv[1]), load(sys.argv[2]), load(sys.argv[3]), load(sys.argv[5])
def e4m3(c):   # by its bit definition: bias 7, 3 mantissa bits, no infinities
    c = c.astype(np.int64); e = (c >> 3) & 15; m = c & 7
    v = np.where(e == 0, m / 8.0 * 2.0 ** -6, (1 + m / 8.0) * 2.0 ** (e - 7))
    return np.where(c & 128, -v, v).astype(np.float32)
lut = np.array([0, .5, 1, 1.5, 2, 3, 4, 6, -0., -.5, -1, -1.5, -2, -3, -4, -6], np.float32)
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
    mod = name[:-len(".weight")]
    P = pk[mod + ".weight_packed"]; SC = pk[mod + ".weight_scale"]
    codes = np.stack([P & 15, P >> 4], -1).reshape(P.shape[0], -1)
    if fmt.startswith("nvfp4"):
        es = (np.repeat(e4m3(SC), 16, axis=1) / pk[mod + ".weight_global_scale"][0]).astype(np.float32)
    else:
        es = np.ldexp(np.float32(1), np.repeat(SC.astype(np.int32) - 127, 32, axis=1)).astype(np.float32)
    dec = (lut[codes] * es).astype(np.float32)
    bad += int((dec != want).sum())
print(fmt, "tensors", n, "values differing", bad)
PY
done
