#!/bin/sh
# st2gguf -p with a GPTQ plan (qcalib -m gptq): the plan's codes become the
# Q4_0 blocks.  Judged by llama.cpp's gguf-py dequantizing the GGUF against
# numpy's codes x f16(scale) from the qparams file (llama's Q/K row order),
# and by the layer output error on the captures beside plain Q4_0 rounding.
# An act-order plan with g_idx is refused: GGUF blocks are consecutive
# inputs, so only --static-groups act-order can go there.
set -u
SUITE=st2gguf-gptq
. tests/interop/lib/ggufpy.sh
mkmodel --layers 1 --hidden 64 --dtype bf16 -o "$T/m" >/dev/null || { echo "FAIL st2gguf-gptq: mkmodel"; exit 1; }
$PY - "$T/m/model.safetensors" "$T/caps.safetensors" <<'PYEOF' || { echo "FAIL st2gguf-gptq: captures"; exit 1; }
import json, struct, sys
import numpy as np
b = open(sys.argv[1], "rb").read()
n = struct.unpack_from("<Q", b)[0]
h = json.loads(b[8:8 + n]); h.pop("__metadata__", None)
rng = np.random.default_rng(5)
hdr, off, blobs = {"__metadata__": {"format": "pt"}}, 0, []
for k, v in h.items():
    if len(v["shape"]) == 2 and ".layers." in k:
        cols = v["shape"][1]
        loud = np.where(np.arange(cols) % 11 == 3, 10.0, 1.0)
        a = ((rng.normal(size=(192, cols)) * loud) @ (np.eye(cols) + 0.2 * rng.uniform(-1, 1, (cols, cols))))
        a = a.astype(np.float32).tobytes()
        hdr[k + ".input"] = {"dtype": "F32", "shape": [192, cols], "data_offsets": [off, off + len(a)]}
        off += len(a); blobs.append(a)
j = json.dumps(hdr).encode(); j += b" " * ((8 - len(j) % 8) % 8)
open(sys.argv[2], "wb").write(struct.pack("<Q", len(j)) + j + b"".join(blobs))
PYEOF

# act-order groups: refused, nothing written
if qcalib -q -m gptq --captures "$T/caps.safetensors" --act-order -f int4 -g 32 "$T/m" -o "$T/dyn.qp" 2>"$T/err" &&
   ! st2gguf -q -t Q4_0 --pure --vocab none -p "$T/dyn.qp" "$T/m" -o "$T/dyn.gguf" 2>"$T/err" &&
   grep -q "g_idx" "$T/err" && [ ! -e "$T/dyn.gguf" ]; then
	echo "PASS st2gguf-gptq: an act-order plan with g_idx is refused: $(head -c 200 "$T/err")"
else
	echo "FAIL st2gguf-gptq: act-order plan not refused clearly: $(head -c 300 "$T/err")"
fi

if ! qcalib -q -m gptq --captures "$T/caps.safetensors" --act-order --static-groups -f int4 -g 32 \
	"$T/m" -o "$T/gptq.qp" 2>"$T/err" ||
   ! st2gguf -q -t Q4_0 --pure --vocab none -p "$T/gptq.qp" "$T/m" -o "$T/gptq.gguf" 2>>"$T/err" ||
   ! st2gguf -q -t Q4_0 --pure --vocab none "$T/m" -o "$T/rtn.gguf" 2>>"$T/err"; then
	echo "FAIL st2gguf-gptq: $(head -c 300 "$T/err")"
	exit 1
fi
PYTHONPATH=$PYPATH $PY - "$T/m/model.safetensors" "$T/gptq.qp" "$T/gptq.gguf" "$T/rtn.gguf" \
	"$T/caps.safetensors" <<'PYEOF'
import json, struct, sys
import numpy as np
from gguf import GGUFReader
from gguf.quants import dequantize
from qp_gguf import st_load

w, qp, caps = st_load(sys.argv[1]), st_load(sys.argv[2]), st_load(sys.argv[5])
g = {t.name: t for t in GGUFReader(sys.argv[3]).tensors}
r = {t.name: t for t in GGUFReader(sys.argv[4]).tensors}
heads, kv = 4, 2    # mkmodel's defaults for hidden 64
names = {"self_attn.q_proj": "attn_q", "self_attn.k_proj": "attn_k", "self_attn.v_proj": "attn_v",
         "self_attn.o_proj": "attn_output", "mlp.gate_proj": "ffn_gate", "mlp.up_proj": "ffn_up",
         "mlp.down_proj": "ffn_down"}
def rope_rows(a, mod):
    if mod not in ("self_attn.q_proj", "self_attn.k_proj"):
        return a
    n = heads if mod == "self_attn.q_proj" else kv
    return a.reshape(n, 2, a.shape[0] // n // 2, -1).swapaxes(1, 2).reshape(a.shape)
def unrope(a, mod):
    if mod not in ("self_attn.q_proj", "self_attn.k_proj"):
        return a
    n = heads if mod == "self_attn.q_proj" else kv
    return a.reshape(n, a.shape[0] // n // 2, 2, -1).swapaxes(1, 2).reshape(a.shape)
bad = checked = 0
eg = er = 0.0
for hf, W in w.items():
    if hf + ".codes" not in qp:
        continue
    mod = ".".join(hf.split(".")[3:5])
    gname = "blk.%s.%s.weight" % (hf.split(".")[2], names[mod])
    d = np.repeat(qp[hf + ".scale"].astype(np.float16).astype(np.float32), 32, axis=1)
    want = rope_rows((qp[hf + ".codes"].astype(np.float32) * d).astype(np.float32), mod)
    got = dequantize(g[gname].data, g[gname].tensor_type).reshape(want.shape)
    if g[gname].tensor_type.name != "Q4_0" or not np.array_equal(got, want):
        print("FAIL st2gguf-gptq: %s is not the plan's codes x f16 scales" % gname); bad += 1
    checked += 1
    x = caps[hf + ".input"].astype(np.float64)
    rtn = unrope(dequantize(r[gname].data, r[gname].tensor_type).reshape(want.shape), mod)
    eg += float(np.sum((x @ (W - unrope(got, mod)).T) ** 2))
    er += float(np.sum((x @ (W - rtn).T) ** 2))
if checked == 0:
    print("FAIL st2gguf-gptq: no tensor with codes in the plan")
elif bad == 0:
    print("PASS st2gguf-gptq: %d Q4_0 tensors are the GPTQ plan's codes (gguf-py)" % checked)
label = "st2gguf-gptq: layer output error Q4_0 rounding %.4g, GPTQ act-order static groups %.4g (%+.2f dB)" % (
    er, eg, 10 * np.log10(er / eg) if eg > 0 else 0)
print(("PASS " if 0 < eg < 0.8 * er else "FAIL ") + label)
PYEOF
