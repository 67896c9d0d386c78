# gpt-oss's MXFP4 experts become transformers' [E, in, out] float tensors
[ -d "$FIXTURES/tiny-gpt-oss-mxfp4" ] || { echo "SKIP tiny-gpt-oss-mxfp4 fixture absent"; exit 77; }
qpack -q --dequant "$FIXTURES/tiny-gpt-oss-mxfp4" -o out || exit 1
st-inspect out/model.safetensors | awk '/experts\.(gate_up|down)_proj /{ print $1, $2, $3, $4, $5 }'
st-inspect out/model.safetensors | grep -c '_blocks\|_scales' || true
# every value as numpy computes it the way transformers does (lut by nibble,
# low nibble first, ldexp by scale - 127, experts' [E, out, in] -> [E, in, out])
/usr/bin/python3 - "$FIXTURES/tiny-gpt-oss-mxfp4/model.safetensors" out/model.safetensors <<'PY'
import json, struct, sys
import numpy as np
def load(p):
    b = open(p, "rb").read(); n = struct.unpack_from("<Q", b)[0]; h = json.loads(b[8:8 + n]); out = {}
    for k, v in h.items():
        if k == "__metadata__": continue
        s, e = v["data_offsets"]
        out[k] = np.frombuffer(b[8 + n + s:8 + n + e], {"U8": "u1", "F32": "<f4", "BF16": "<u2"}[v["dtype"]]).reshape(v["shape"])
    return out
src, got = load(sys.argv[1]), load(sys.argv[2])
lut = np.array([0, .5, 1, 1.5, 2, 3, 4, 6, -0., -.5, -1, -1.5, -2, -3, -4, -6], np.float32)
bad = n = 0
for k in src:
    if not k.endswith("_blocks"): continue
    name = k[:-7]; blk = src[k]; sc = src[name + "_scales"].astype(np.int32) - 127
    v = np.stack([lut[blk & 15], lut[blk >> 4]], -1).reshape(*blk.shape[:-1], 32)
    v = np.ldexp(v, sc[..., None]).reshape(blk.shape[0], blk.shape[1], -1).transpose(0, 2, 1)
    bad += int((v.astype(np.float32) != got[name]).sum()); n += 1
print("experts", n, "values differing", bad)
PY
