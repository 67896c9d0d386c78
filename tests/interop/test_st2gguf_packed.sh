#!/bin/sh
# st2gguf reads packed checkpoints (qpack's compressed-tensors, AWQ, GPTQ,
# Quark): weights whose codes fit a ggml block keep them (Q4_0, Q4_1,
# Q8_0, MXFP4, NVFP4).  Judged by llama.cpp's gguf-py dequantizing the GGUF against
# `qpack --dequant` of the same checkpoint (llama's q/k row order): equal
# values where every scale (and Q4_1 minimum) is an f16 value, else within
# f16 rounding of them; closer than dequantizing and quantizing again
# (--allow-requantize); and libllama runs every file.
set -u
SUITE=st2gguf-packed
. tests/interop/lib/ggufpy.sh
mkmodel --layers 1 --hidden 64 --dtype bf16 -o "$T/m" >/dev/null || { echo "FAIL $SUITE: mkmodel"; exit 1; }

# label, qpack arguments, the GGUF type, "exact" or the least SQNR in dB
while read -r label type want args; do
	P="$T/$label"
	if ! qpack -q $args "$T/m" -o "$P" 2>"$T/err" ||
	   ! qpack -q --dequant "$P" -o "$P.f32.safetensors" 2>>"$T/err" ||
	   ! st2gguf --vocab none "$P" -o "$P.gguf" 2>"$T/say" ||
	   ! st2gguf -q --vocab none --allow-requantize -t "$type" --pure "$P" -o "$P.rq.gguf" 2>>"$T/err"; then
		echo "FAIL $SUITE $label: $(cat "$T/say" "$T/err" | head -c 300)"
		continue
	fi
	PYTHONPATH=$PYPATH $PY - "$P.f32.safetensors" "$P.gguf" "$P.rq.gguf" "$type" "$want" <<'PYEOF' >"$T/out" 2>&1
import sys
import numpy as np
from gguf import GGUFReader
from gguf.quants import dequantize
from qp_gguf import layer_weights, st_load

ref = st_load(sys.argv[1])
kept = {t.name: t for t in GGUFReader(sys.argv[2]).tensors}
again = {t.name: t for t in GGUFReader(sys.argv[3]).tensors}
want_type, want = sys.argv[4], sys.argv[5]

def values(t):
    return dequantize(t.data, t.tensor_type).reshape(t.data.shape[0], -1)

def sqnr(x, y):
    err = float(((x - y) ** 2).sum())
    return float("inf") if err == 0 else 10 * np.log10(float((x ** 2).sum()) / err)

n, worst, worst_rq = 0, float("inf"), float("inf")
for name, w in layer_weights(ref):
    t = kept[name]
    if t.tensor_type.name != want_type:
        sys.exit("%s is %s, not %s" % (name, t.tensor_type.name, want_type))
    got = values(t)
    if want == "exact" and not np.array_equal(got, w):
        sys.exit("%s: %d values differ from qpack --dequant's" % (name, int((got != w).sum())))
    worst = min(worst, sqnr(w, got))
    worst_rq = min(worst_rq, sqnr(w, values(again[name])))
    n += 1
if n == 0:
    sys.exit("no packed weight found")
# without -t the file type is the kept blocks' (gguf-py's names for llama's ids)
import gguf
f = GGUFReader(sys.argv[2]).fields["general.file_type"]
ft = gguf.LlamaFileType(int(f.parts[f.data[0]][0])).name
if ft != {"MXFP4": "MOSTLY_MXFP4_MOE"}.get(want_type, "MOSTLY_" + want_type):
    sys.exit("general.file_type is %s for %s weights" % (ft, want_type))
if want != "exact" and worst < float(want):
    sys.exit("least SQNR %.1f dB < %s" % (worst, want))
if not worst >= worst_rq:
    sys.exit("keeping the codes (%.1f dB) is no closer than quantizing again (%.1f dB)" % (worst, worst_rq))
print("%d weights %s, %s (least SQNR %.1f dB; dequantized and quantized again: %.1f dB)" % (
    n, want_type, "values equal to qpack --dequant's" if want == "exact" else "scales rounded to f16",
    worst, worst_rq))
PYEOF
	if [ $? -eq 0 ]; then echo "PASS $SUITE $label: $(tail -1 "$T/out")"; else echo "FAIL $SUITE $label: $(tail -c 400 "$T/out" | tr '\n' ' ')"; fi
	llama_runs "$SUITE $label" "$P.gguf"
done <<'CASES'
ct-int4-g32 Q4_0 exact -f int4 -g 32 --layout compressed-tensors
ct-int4-g64 Q4_0 exact -f int4 -g 64 --layout compressed-tensors
ct-int8-channel Q8_0 exact -f int8 --layout compressed-tensors
ct-uint4-asym-g32 Q4_1 60 -f uint4 --asym -g 32 --layout compressed-tensors
gptq-int4-g32 Q4_0 exact -f int4 -g 32 --layout gptq
awq-uint4-g32 Q4_1 60 -f uint4 --asym -g 32 --layout awq
quark-int4-g32 Q4_0 60 -f int4 -g 32 --layout quark
ct-mxfp4 MXFP4 exact -f mxfp4 --layout compressed-tensors
CASES

# groups that are not whole blocks: dequantized and quantized to -t, said so
if qpack -q -f int4 -g 16 --layout compressed-tensors "$T/m" -o "$T/g16" 2>"$T/err" &&
   st2gguf --vocab none -t Q8_0 "$T/g16" -o "$T/g16.gguf" 2>"$T/say" &&
   grep -q "dequantized and quantized again; .*not whole blocks" "$T/say"; then
	echo "PASS $SUITE groups of 16: $(head -c 200 "$T/say" | tr '\n' ' ')"
	llama_runs "$SUITE groups of 16" "$T/g16.gguf"
else
	echo "FAIL $SUITE groups of 16: $(cat "$T/err" "$T/say" | head -c 300)"
fi

# NVFP4 (compressed-tensors nvfp4-pack-quantized): E2M1 codes and E4M3
# block scales kept as ggml NVFP4 blocks, the global scale beside them as
# llama.cpp's "NAME.scale" (1/global, applied to the matrix product); the
# product of the two is qpack --dequant's value to float rounding, and
# libllama's logits follow those of the dequantized model in F32
P="$T/nv"
if qpack -q -f nvfp4 --layout compressed-tensors "$T/m" -o "$P" 2>"$T/err" &&
   qpack -q --dequant "$P" -o "$P.f32.safetensors" 2>"$T/err" &&
   qpack -q --dequant "$P" -o "$P-f32" 2>"$T/err" &&
   st2gguf --vocab none "$P" -o "$P.gguf" 2>"$T/say" &&
   st2gguf -q --vocab none -t F32 "$P-f32" -o "$P-f32.gguf" 2>"$T/err"; then
	PYTHONPATH=$PYPATH $PY - "$P.f32.safetensors" "$P.gguf" <<'PYEOF' >"$T/out" 2>&1
import sys
import numpy as np
from gguf import GGUFReader
from gguf.quants import dequantize
from qp_gguf import layer_weights, st_load
ref = st_load(sys.argv[1])
got = {t.name: t for t in GGUFReader(sys.argv[2]).tensors}
n, worst = 0, 0.0
for name, w in layer_weights(ref):
    t, sc = got[name], got.get(name.replace(".weight", ".scale"))
    if t.tensor_type.name != "NVFP4" or sc is None or sc.tensor_type.name != "F32":
        sys.exit("%s: %s, scale %s" % (name, t.tensor_type.name, sc and sc.tensor_type.name))
    v = dequantize(t.data, t.tensor_type).reshape(w.shape) * np.float32(sc.data[0])
    err = np.abs(v - w).max() / np.abs(w).max()
    if not err <= 1e-6:
        sys.exit("%s: relative error %.3g against qpack --dequant" % (name, err))
    worst, n = max(worst, err), n + 1
print("%d NVFP4 weights with their .scale: within %.2g of qpack --dequant's values" % (n, worst))
PYEOF
	if [ $? -eq 0 ]; then echo "PASS $SUITE nvfp4: $(tail -1 "$T/out")"; else echo "FAIL $SUITE nvfp4: $(tail -c 300 "$T/out" | tr '\n' ' ')"; fi
	if [ -x "$QU_BIN/tests/interop/llama_run" ]; then
		printf '1 2 3 4 5 6 7 8\n9 10 11 12\n' >"$T/ids"
		"$QU_BIN/tests/interop/llama_run" logits "$P.gguf" <"$T/ids" >"$T/l1" 2>"$T/err" &&
		"$QU_BIN/tests/interop/llama_run" logits "$P-f32.gguf" <"$T/ids" >"$T/l2" 2>>"$T/err" &&
		$PY - "$T/l1" "$T/l2" <<'PYEOF' >"$T/out" 2>&1
import sys
import numpy as np
a, b = (np.loadtxt(f, dtype=np.float64) for f in sys.argv[1:3])
rel = np.linalg.norm(a - b) / np.linalg.norm(b)
if not rel < 0.05:
    sys.exit("logits relative error %.3g against the dequantized model in F32" % rel)
print("libllama's logits within %.2g (relative) of the dequantized model's in F32" % rel)
PYEOF
		if [ $? -eq 0 ]; then echo "PASS $SUITE nvfp4 logits: $(tail -1 "$T/out")"; else echo "FAIL $SUITE nvfp4 logits: $(cat "$T/err" "$T/out" | tail -c 300 | tr '\n' ' ')"; fi
	fi
else
	echo "FAIL $SUITE nvfp4: $(cat "$T/err" "$T/say" | head -c 300)"
fi

# a mixed-precision checkpoint (qcalib --bits-budget, qpack -p: one
# compressed-tensors config group per scheme): each weight keeps the blocks
# of its own scheme, int4 g32 as Q4_0, int8 per channel as Q8_0, float as
# F16, all equal to qpack --dequant's values
if qcalib -q -m minmax --bits-budget 6 --formats int4-g32,int8,none "$T/m" -o "$T/mix.qp" >/dev/null 2>"$T/err" &&
   qpack -q -p "$T/mix.qp" --layout compressed-tensors "$T/m" -o "$T/mix" 2>"$T/err" &&
   qpack -q --dequant "$T/mix" -o "$T/mix.f32.safetensors" 2>"$T/err" &&
   st2gguf --vocab none "$T/mix" -o "$T/mix.gguf" 2>"$T/say"; then
	PYTHONPATH=$PYPATH $PY - "$T/mix.f32.safetensors" "$T/mix.gguf" <<'PYEOF' >"$T/out" 2>&1
import sys
import numpy as np
from gguf import GGUFReader
from gguf.quants import dequantize
from qp_gguf import layer_weights, st_load
ref = st_load(sys.argv[1])
got = {t.name: t for t in GGUFReader(sys.argv[2]).tensors}
types = {}
for name, w in layer_weights(ref):
    t = got[name]
    v = dequantize(t.data, t.tensor_type).reshape(w.shape)
    if not np.array_equal(v, w):
        sys.exit("%s (%s): %d values differ from qpack --dequant's" % (name, t.tensor_type.name, int((v != w).sum())))
    types[t.tensor_type.name] = types.get(t.tensor_type.name, 0) + 1
if not {"Q4_0", "Q8_0"} <= set(types):
    sys.exit("not mixed: %s" % types)
print("weights as their schemes' blocks (%s), values equal to qpack --dequant's" % ", ".join(
    "%d %s" % (n, k) for k, n in sorted(types.items())))
PYEOF
	if [ $? -eq 0 ]; then echo "PASS $SUITE mixed plan: $(tail -1 "$T/out")"; else echo "FAIL $SUITE mixed plan: $(tail -c 300 "$T/out" | tr '\n' ' ')"; fi
	llama_runs "$SUITE mixed plan" "$T/mix.gguf"
else
	echo "FAIL $SUITE mixed plan: $(cat "$T/err" "$T/say" | head -c 300)"
fi

# FP8 weights stay on st2gguf's FP8 path (dequantized with their scales)
# whatever layout holds them: -t F32 gives qpack --dequant's values exactly
for args in "--per-channel --layout compressed-tensors" "--per-channel --layout quark" "--per-tensor --layout fp8"; do
	label="fp8 $(echo "$args" | sed 's/.*--layout //')"
	rm -rf "$T/f8" "$T/f8.safetensors"
	if qpack -q -f fp8_e4m3 $args "$T/m" -o "$T/f8" 2>"$T/err" &&
	   qpack -q --dequant "$T/f8" -o "$T/f8.safetensors" 2>"$T/err" &&
	   st2gguf -q --vocab none -t F32 "$T/f8" -o "$T/f8.gguf" 2>"$T/err"; then
		PYTHONPATH=$PYPATH $PY - "$T/f8.safetensors" "$T/f8.gguf" <<'PYEOF' >"$T/out" 2>&1
import sys
import numpy as np
from gguf import GGUFReader
from qp_gguf import layer_weights, st_load
ref = st_load(sys.argv[1])
got = {t.name: t for t in GGUFReader(sys.argv[2]).tensors}
n = 0
for name, w in layer_weights(ref):
    g = np.asarray(got[name].data, dtype=np.float32).reshape(w.shape)
    if not np.array_equal(g, w):
        sys.exit("%s: %d values differ from qpack --dequant's" % (name, int((g != w).sum())))
    n += 1
print("%d FP8 weights, F32 values equal to qpack --dequant's" % n)
PYEOF
		if [ $? -eq 0 ]; then echo "PASS $SUITE $label: $(tail -1 "$T/out")"; else echo "FAIL $SUITE $label: $(tail -c 300 "$T/out" | tr '\n' ' ')"; fi
	else
		echo "FAIL $SUITE $label: $(head -c 300 "$T/err")"
	fi
done

# mixture of experts (qwen3_moe, tests/interop/hfref.py): every expert is a
# packed module; the stacked expert tensors keep their codes, and each
# dequantizes to what st2gguf writes as F32 from `qpack --dequant`'s floats
# (the float path, checked against llama.cpp's converter elsewhere)
if PYTHONPATH=tests/interop $PY -c "import hfref; cfg, W = hfref.make_model('qwen3_moe'); hfref.write_model('$T/moe', cfg, W, 'BF16')" 2>"$T/err" &&
   qpack -q -f int4 -g 32 --layout compressed-tensors "$T/moe" -o "$T/moe-ct" 2>"$T/err" &&
   qpack -q --dequant "$T/moe-ct" -o "$T/moe-f32" 2>"$T/err" &&
   st2gguf --vocab none "$T/moe-ct" -o "$T/moe.gguf" 2>"$T/say" &&
   st2gguf -q --vocab none -t F32 "$T/moe-f32" -o "$T/moe-f32.gguf" 2>"$T/err"; then
	PYTHONPATH=$PYPATH $PY - "$T/moe.gguf" "$T/moe-f32.gguf" <<'PYEOF' >"$T/out" 2>&1
import sys
import numpy as np
from gguf import GGUFReader
from gguf.quants import dequantize
kept = {t.name: t for t in GGUFReader(sys.argv[1]).tensors}
ref = {t.name: t for t in GGUFReader(sys.argv[2]).tensors}
n = nexp = 0
for name, t in kept.items():
    if t.tensor_type.name != "Q4_0":
        continue
    got = dequantize(t.data, t.tensor_type).reshape(-1)
    want = np.asarray(ref[name].data, dtype=np.float32).reshape(-1)
    if not np.array_equal(got, want):
        sys.exit("%s: %d values differ" % (name, int((got != want).sum())))
    n += 1
    nexp += "_exps" in name
if nexp == 0:
    sys.exit("no expert tensor kept as Q4_0 (%s)" % ", ".join(sorted(kept)))
print("%d Q4_0 tensors (%d of stacked experts) equal to the F32 conversion of the dequantized floats" % (n, nexp))
PYEOF
	if [ $? -eq 0 ]; then echo "PASS $SUITE moe: $(tail -1 "$T/out")"; else echo "FAIL $SUITE moe: $(tail -c 400 "$T/out" | tr '\n' ' ')"; fi
	llama_runs "$SUITE moe" "$T/moe.gguf"
else
	echo "FAIL $SUITE moe: $(cat "$T/err" "$T/say" 2>/dev/null | head -c 300)"
fi
