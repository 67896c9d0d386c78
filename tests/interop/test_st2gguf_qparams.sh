#!/bin/sh
# st2gguf -p: qcalib's int4/int8 group-32 scales become Q4_0/Q8_0 blocks.
# Judged by llama.cpp's gguf-py (reads and dequantizes the GGUF) against
# numpy computing the expected weights from the safetensors and qparams
# files (f16 scale, round half to even, llama's Q/K row permutation), and by
# libllama loading the file.
set -u
SUITE=st2gguf-qparams
. tests/interop/lib/ggufpy.sh
mkmodel --layers 2 --hidden 64 --dtype bf16 -o "$T/m" >/dev/null || { echo "FAIL st2gguf-qparams: mkmodel"; exit 1; }
for f in "int4:Q4_0" "int8:Q8_0"; do
	fmt=${f%%:*} type=${f#*:}
	label="st2gguf-qparams $type"
	if ! qcalib -q -m mse -f "$fmt" -g 32 "$T/m" -o "$T/$fmt.qp" >/dev/null 2>"$T/err" ||
	   ! st2gguf -q -t "$type" --pure --vocab none -p "$T/$fmt.qp" "$T/m" -o "$T/$fmt.gguf" 2>"$T/err"; then
		echo "FAIL $label: $(head -c 300 "$T/err")"
		continue
	fi
	PYTHONPATH=$PYPATH $PY - "$T/m/model.safetensors" "$T/$fmt.qp" "$T/$fmt.gguf" "$type" <<'PYEOF' >"$T/out" 2>&1
import sys
import numpy as np
from gguf import GGUFReader
from gguf.quants import dequantize
from qp_gguf import ROPE_HEADS, module_of, permute, st_load

w, qp, g, typ = st_load(sys.argv[1]), st_load(sys.argv[2]), GGUFReader(sys.argv[3]), sys.argv[4]
tensors = {t.name: t for t in g.tensors}
checked = bad = 0
for hf, W in w.items():
    if hf + ".scale" not in qp:
        continue
    mod, gname = module_of(hf)
    S = qp[hf + ".scale"]
    d = S.astype(np.float16).astype(np.float32)
    dd = np.repeat(d, 32, axis=1)
    if typ == "Q4_0":
        q = np.clip(np.rint(W / dd) + 8, 0, 15) - 8
    else:
        q = np.clip(np.rint(W / dd), -128, 127)
    want = (q * dd).astype(np.float32)
    if mod in ROPE_HEADS:
        want = permute(want, ROPE_HEADS[mod])
    t = tensors[gname]
    if t.tensor_type.name != typ:
        print("%s is %s, not %s" % (gname, t.tensor_type.name, typ)); bad += 1; continue
    got = dequantize(t.data, t.tensor_type).reshape(want.shape)
    if not np.array_equal(got, want):
        print("%s: %d of %d values differ" % (gname, int((got != want).sum()), got.size)); bad += 1
    checked += 1
print("checked %d tensors" % checked)
sys.exit(1 if bad or checked == 0 else 0)
PYEOF
	if [ $? -eq 0 ]; then
		echo "PASS $label: $(tail -1 "$T/out"), every value as numpy computes it from qcalib's scales"
	else
		echo "FAIL $label: $(head -c 400 "$T/out" | tr '\n' ' ')"
	fi
	llama_runs "$label" "$T/$fmt.gguf"
done
