#!/bin/sh
# st2gguf reads packed checkpoints (qpack's compressed-tensors, AWQ, GPTQ,
# Quark): weights whose codes fit a ggml block keep them (Q4_0, Q4_1,
# Q8_0).  Judged by llama.cpp's gguf-py dequantizing the GGUF against
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
from qp_gguf import ROPE_HEADS, module_of, permute, st_load

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
for hf, w in ref.items():
    if ".layers." not in hf or w.ndim != 2:
        continue
    mod, name = module_of(hf)
    if mod in ROPE_HEADS:
        w = permute(w, ROPE_HEADS[mod])
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
if want != "exact" and worst < float(want):
    sys.exit("least SQNR %.1f dB < %s" % (worst, want))
if not worst > worst_rq:
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
