#!/bin/sh
# st2gguf -p: qcalib's int4/int8 group-32 scales become Q4_0/Q8_0 blocks.
# Judged by llama.cpp's gguf-py (reads and dequantizes the GGUF) against
# numpy computing the expected weights from the safetensors and qparams
# files (f16 scale, round half to even, llama's Q/K row permutation), and by
# libllama loading the file.
set -u
PY=/usr/bin/python3
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
GGUFPY=tests/oracles/llama-src/gguf-py
if ! $PY -c 'import numpy' 2>/dev/null || [ ! -d "$GGUFPY" ]; then
	echo "SKIP st2gguf-qparams: numpy or gguf-py missing (scripts/deps.sh)"
	exit 0
fi
mkmodel --layers 2 --hidden 64 --dtype bf16 -o "$T/m" >/dev/null || { echo "FAIL st2gguf-qparams: mkmodel"; exit 1; }
for f in "int4:Q4_0" "int8:Q8_0"; do
	fmt=${f%%:*} type=${f#*:}
	label="st2gguf-qparams $type"
	if ! qcalib -q -m mse -f "$fmt" -g 32 "$T/m" -o "$T/$fmt.qp" >/dev/null 2>"$T/err" ||
	   ! st2gguf -q -t "$type" --pure --vocab none -p "$T/$fmt.qp" "$T/m" -o "$T/$fmt.gguf" 2>"$T/err"; then
		echo "FAIL $label: $(head -c 300 "$T/err")"
		continue
	fi
	PYTHONPATH=$GGUFPY $PY - "$T/m/model.safetensors" "$T/$fmt.qp" "$T/$fmt.gguf" "$type" <<'PYEOF' >"$T/out" 2>&1
import json, struct, sys
import numpy as np
from gguf import GGUFReader
from gguf.quants import dequantize

def st_load(path):
    b = open(path, "rb").read()
    n = struct.unpack_from("<Q", b)[0]
    h = json.loads(b[8:8 + n])
    out = {}
    for k, v in h.items():
        if k == "__metadata__":
            continue
        s, e = v["data_offsets"]
        raw = b[8 + n + s:8 + n + e]
        if v["dtype"] == "BF16":
            a = (np.frombuffer(raw, "<u2").astype(np.uint32) << 16).view(np.float32)
        elif v["dtype"] == "F32":
            a = np.frombuffer(raw, "<f4")
        else:
            continue
        out[k] = a.reshape(v["shape"])
    return out

w, qp, g, typ = st_load(sys.argv[1]), st_load(sys.argv[2]), GGUFReader(sys.argv[3]), sys.argv[4]
heads, kv = 4, 2    # mkmodel's defaults for hidden 64
tensors = {t.name: t for t in g.tensors}
names = {"self_attn.q_proj": "attn_q", "self_attn.k_proj": "attn_k", "self_attn.v_proj": "attn_v",
         "self_attn.o_proj": "attn_output", "mlp.gate_proj": "ffn_gate", "mlp.up_proj": "ffn_up",
         "mlp.down_proj": "ffn_down"}
checked = bad = 0
for hf, W in w.items():
    if hf + ".scale" not in qp:
        continue
    layer = hf.split(".")[2]
    mod = ".".join(hf.split(".")[3:5])
    gname = "blk.%s.%s.weight" % (layer, names[mod])
    S = qp[hf + ".scale"]
    d = S.astype(np.float16).astype(np.float32)
    dd = np.repeat(d, 32, axis=1)
    if typ == "Q4_0":
        q = np.clip(np.rint(W / dd) + 8, 0, 15) - 8
    else:
        q = np.clip(np.rint(W / dd), -128, 127)
    want = (q * dd).astype(np.float32)
    if mod in ("self_attn.q_proj", "self_attn.k_proj"):   # llama's rotary row order
        n = heads if mod == "self_attn.q_proj" else kv
        want = want.reshape(n, 2, want.shape[0] // n // 2, -1).swapaxes(1, 2).reshape(want.shape)
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
	if [ -x "$QU_BIN/tests/interop/llama_run" ]; then
		if echo "1 2 3" | "$QU_BIN/tests/interop/llama_run" generate "$T/$fmt.gguf" 4 >"$T/gen" 2>&1; then
			echo "PASS $label: llama.cpp loads and runs it"
		else
			echo "FAIL $label: llama.cpp: $(head -c 300 "$T/gen")"
		fi
	fi
done
