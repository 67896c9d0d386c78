#!/bin/sh
# st2gguf -p follows a mixed-precision plan (qcalib --bits-budget among
# ggml's block formats): every weight the plan names gets the plan's type,
# read back by llama.cpp's gguf-py; minmax plans give the bytes of the
# plain quantizer of that type (itself byte-identical to libggml's
# ggml_quantize_chunk, tests/interop/test_gguf_ggml.sh); libllama runs it;
# a plan format GGUF cannot follow is refused.
set -u
SUITE=st2gguf-plan
. tests/interop/lib/ggufpy.sh
mkmodel --layers 2 --hidden 128 --intermediate 256 -o "$T/m" >/dev/null || { echo "FAIL st2gguf-plan: mkmodel"; exit 1; }
# 8 bits: Q4_0 and Q8_0; 12 bits: Q8_0 and float
for budget in 8 12; do
	if ! qcalib -q -m minmax --bits-budget "$budget" --formats q4_0,q8_0,none "$T/m" -o "$T/plan.qp" >/dev/null 2>"$T/err" ||
	   ! st2gguf -q -t Q4_K_M --vocab none -p "$T/plan.qp" "$T/m" -o "$T/plan.gguf" 2>"$T/err" ||
	   ! st2gguf -q -t Q4_0 --pure --vocab none "$T/m" -o "$T/q4_0.gguf" 2>"$T/err" ||
	   ! st2gguf -q -t Q8_0 --pure --vocab none "$T/m" -o "$T/q8_0.gguf" 2>"$T/err"; then
		echo "FAIL st2gguf-plan $budget bits: $(head -c 300 "$T/err")"
		continue
	fi
	PYTHONPATH=$PYPATH $PY - "$T/plan.qp" "$T/plan.gguf" "$T/q4_0.gguf" "$T/q8_0.gguf" <<'PYEOF' >"$T/out" 2>&1
import json, struct, sys
from gguf import GGUFReader
from qp_gguf import module_of

b = open(sys.argv[1], "rb").read()
meta = json.loads(b[8:8 + struct.unpack_from("<Q", b)[0]])["__metadata__"]
plan = json.loads(meta["plan"])
def gguf_name(hf):
    return module_of(hf)[1]
want = {}
for hf in plan["float"]:
    want[gguf_name(hf)] = "F16"
for k, v in meta.items():
    if k.startswith("model.layers."):
        want[gguf_name(k)] = json.loads(v)["format"].upper()
got = {t.name: t for t in GGUFReader(sys.argv[2]).tensors}
ref = {"Q4_0": {t.name: t for t in GGUFReader(sys.argv[3]).tensors},
       "Q8_0": {t.name: t for t in GGUFReader(sys.argv[4]).tensors}}
bad = [n for n, ty in want.items() if got[n].tensor_type.name != ty]
if bad:
    sys.exit("types differ from the plan: " + ", ".join("%s %s not %s" % (n, got[n].tensor_type.name, want[n]) for n in bad))
kinds = sorted(set(want.values()))
if len(kinds) < 2:
    sys.exit("the plan is not mixed: " + " ".join(kinds))
for n, ty in want.items():
    if ty in ref and bytes(got[n].data) != bytes(ref[ty][n].data):
        sys.exit("%s: %s bytes differ from the plain quantizer's" % (n, ty))
print("%d weights as planned (%s), quantized bytes as ggml's" % (len(want), ", ".join(
    "%d %s" % (list(want.values()).count(k), k) for k in kinds)))
PYEOF
	if [ $? -eq 0 ]; then echo "PASS st2gguf-plan $budget bits: $(tail -1 "$T/out")"; else echo "FAIL st2gguf-plan $budget bits: $(tail -c 400 "$T/out" | tr '\n' ' ')"; fi
	llama_runs "st2gguf-plan $budget bits" "$T/plan.gguf"
done
# a plan format that is no GGUF type st2gguf follows is an error, and no file
qcalib -q -m minmax --bits-budget 6 --formats int4-g128,int8,none "$T/m" -o "$T/bad.qp" >/dev/null 2>&1
if st2gguf -q -t Q4_K_M --vocab none -p "$T/bad.qp" "$T/m" -o "$T/bad.gguf" 2>"$T/err"; then
	echo "FAIL st2gguf-plan refusal: an int4-g128 plan was accepted"
elif [ -e "$T/bad.gguf" ] || ! grep -q "is not a type st2gguf follows" "$T/err"; then
	echo "FAIL st2gguf-plan refusal: $(head -c 300 "$T/err")"
else
	echo "PASS st2gguf-plan refusal: $(head -c 200 "$T/err")"
fi
