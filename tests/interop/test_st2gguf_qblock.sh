#!/bin/sh
# qcalib -f q4_0 | q4_1 | q5_0 | q5_1 | q8_0, then st2gguf -p (man/qparams.5:
# ggml's d and m in binary32, ggml's code rule).
#  - minmax reproduces ggml's reference scale rule: the GGUF is byte for
#    byte the one st2gguf writes without -p (whose quantizers match
#    libggml's ggml_quantize_chunk, tests/interop/test_gguf_ggml.sh);
#  - mse: llama.cpp's gguf-py dequantizes every block to what numpy
#    computes from the qparams (f16 d and m, ggml's truncating rule), the
#    error against the float weights is lower than minmax's, and libllama
#    loads and runs the file.
set -u
SUITE=st2gguf-qblock
. tests/interop/lib/ggufpy.sh
mkmodel --layers 1 --hidden 64 --dtype bf16 -o "$T/m" >/dev/null || { echo "FAIL st2gguf-qblock: mkmodel"; exit 1; }
for f in q4_0:Q4_0 q4_1:Q4_1 q5_0:Q5_0 q5_1:Q5_1 q8_0:Q8_0; do
	fmt=${f%%:*} type=${f#*:}
	label="st2gguf-qblock $fmt"
	if ! qcalib -q -m minmax -f "$fmt" "$T/m" -o "$T/mm.qp" 2>"$T/err" ||
	   ! qcalib -q -m mse -f "$fmt" "$T/m" -o "$T/mse.qp" 2>"$T/err" ||
	   ! st2gguf -q -t "$type" --pure --vocab none "$T/m" -o "$T/plain.gguf" 2>"$T/err" ||
	   ! st2gguf -q -t "$type" --pure --vocab none -p "$T/mm.qp" "$T/m" -o "$T/mm.gguf" 2>"$T/err" ||
	   ! st2gguf -q -t "$type" --pure --vocab none -p "$T/mse.qp" "$T/m" -o "$T/mse.gguf" 2>"$T/err"; then
		echo "FAIL $label: $(head -c 300 "$T/err")"
		continue
	fi
	if cmp -s "$T/plain.gguf" "$T/mse.gguf"; then
		echo "FAIL $label: st2gguf ignored the mse scales of -p"
	elif cmp -s "$T/plain.gguf" "$T/mm.gguf"; then
		echo "PASS $label minmax: the GGUF is byte-identical to ggml's quantizer's"
	else
		echo "FAIL $label minmax: differs from ggml's quantizer: $(cmp "$T/plain.gguf" "$T/mm.gguf" | head -1)"
	fi
	PYTHONPATH=$PYPATH $PY - "$T/m/model.safetensors" "$T/mse.qp" "$T/mse.gguf" "$T/mm.gguf" "$type" <<'PYEOF' >"$T/out" 2>&1
import sys
import numpy as np
from gguf import GGUFReader
from gguf.quants import dequantize
from qp_gguf import ROPE_HEADS, module_of, permute, st_load

w, qp, typ = st_load(sys.argv[1]), st_load(sys.argv[2]), sys.argv[5]
g, gm = GGUFReader(sys.argv[3]), GGUFReader(sys.argv[4])
tensors = {t.name: t for t in g.tensors}
mm = {t.name: t for t in gm.tensors}
f32 = np.float32
checked = bad = 0
e_mse = e_mm = 0.0
for hf, W in w.items():
    if hf + ".scale" not in qp:
        continue
    mod, gname = module_of(hf)
    D = qp[hf + ".scale"].astype(f32)
    M = qp.get(hf + ".min", np.zeros_like(D)).astype(f32)
    d = np.repeat(D, 32, axis=1); m = np.repeat(M, 32, axis=1)
    with np.errstate(divide="ignore"):
        idd = np.where(d != 0, f32(1) / d, f32(0)).astype(f32)
    dh = np.repeat(D.astype(np.float16).astype(f32), 32, axis=1)
    mh = np.repeat(M.astype(np.float16).astype(f32), 32, axis=1)
    Wf = W.astype(f32)
    if typ in ("Q4_0", "Q5_0"):
        z, hi = (8, 15) if typ == "Q4_0" else (16, 31)
        q = np.clip(np.trunc(np.maximum(Wf * idd + f32(z + 0.5), 0)), 0, hi)
        want = ((q - z).astype(f32) * dh).astype(f32)
    elif typ in ("Q4_1", "Q5_1"):
        hi = 15 if typ == "Q4_1" else 31
        q = np.clip(np.trunc(np.maximum((Wf - m) * idd + f32(0.5), 0)), 0, hi)
        want = (q.astype(f32) * dh + mh).astype(f32)
    else:
        q = np.clip(np.round(Wf * idd), -128, 127)   # roundf: half away from zero, as np.round is not
        q = np.where(np.abs(Wf * idd - np.trunc(Wf * idd)) == 0.5, np.trunc(Wf * idd) + np.sign(Wf * idd), q)
        q = np.clip(q, -128, 127)
        want = (q.astype(f32) * dh).astype(f32)
    ref = Wf
    if mod in ROPE_HEADS:
        want, ref = permute(want, ROPE_HEADS[mod]), permute(ref, ROPE_HEADS[mod])
    t = tensors[gname]
    if t.tensor_type.name != typ:
        print("%s is %s, not %s" % (gname, t.tensor_type.name, typ)); bad += 1; continue
    got = dequantize(t.data, t.tensor_type).reshape(want.shape)
    if not np.array_equal(got, want):
        print("%s: %d of %d values differ" % (gname, int((got != want).sum()), got.size)); bad += 1
    gotm = dequantize(mm[gname].data, mm[gname].tensor_type).reshape(want.shape)
    e_mse += float(((got - ref).astype(np.float64) ** 2).sum())
    e_mm += float(((gotm - ref).astype(np.float64) ** 2).sum())
    checked += 1
gain = 10 * np.log10(e_mm / e_mse) if e_mse > 0 else float("inf")
print("checked %d tensors; error as llama.cpp decodes it: mse %.3f dB below minmax" % (checked, gain))
sys.exit(1 if bad or checked == 0 or not e_mse < e_mm else 0)
PYEOF
	if [ $? -eq 0 ]; then
		echo "PASS $label mse: $(tail -1 "$T/out")"
	else
		echo "FAIL $label mse: $(head -c 400 "$T/out" | tr '\n' ' ')"
	fi
	llama_runs "$label mse" "$T/mse.gguf"
done
