#!/usr/bin/env python3
"""Golden check of smoothing folded by qpack -p (independent of qutils' C code).

usage: awq_foldcheck.py MODEL_DIR QPARAMS DEQUANT.safetensors [--f16-scales] CAPTURES

--f16-scales: the layout stores scales as f16 (AWQ's), so they are rounded
first (and the recorded SQNR, from unrounded scales, compared to 0.05 dB).

For every weight W with W.smooth s in the qparams file, from the fold rules
(AutoAWQ's, written again here): the op before it must hold 1/s (a norm:
g / s; v_proj / up_proj: rows / s), W must dequantize to
Q((W / s_next[row]) * s[col]) computed here with numpy (round half to even,
binary32 division), and the layer output on the captured inputs,
(x / s) W_deq^T, must equal x (Q(W diag s) diag(1/s))^T.  Prints one line
per smoothed weight with the output SQNR, which must also match the
"output_sqnr_db" qcalib recorded.  Exit 1 on any mismatch.
"""
import json, re, struct, sys
import numpy as np

def st_read(path):
    b = open(path, "rb").read()
    n = struct.unpack("<Q", b[:8])[0]
    h = json.loads(b[8:8 + n])
    meta = h.pop("__metadata__", {})
    dt = {"F32": "<f4", "I32": "<i4"}
    out = {}
    for k, v in h.items():
        s, e = v["data_offsets"]
        out[k] = np.frombuffer(b[8 + n + s:8 + n + e], dtype=dt[v["dtype"]]).reshape(v["shape"]).copy()
    return out, meta

RULES = [  # weight module, op before, how
    (r"model\.layers\.(\d+)\.self_attn\.[qkv]_proj", "model.layers.{}.input_layernorm", "norm"),
    (r"model\.layers\.(\d+)\.self_attn\.o_proj", "model.layers.{}.self_attn.v_proj", "rows"),
    (r"model\.layers\.(\d+)\.mlp\.(gate|up)_proj", "model.layers.{}.post_attention_layernorm", "norm"),
    (r"model\.layers\.(\d+)\.mlp\.down_proj", "model.layers.{}.mlp.up_proj", "rows"),
]
QR = {"int4": (-8, 7), "uint4": (0, 15), "int8": (-128, 127), "uint8": (0, 255)}

def main():
    f16 = "--f16-scales" in sys.argv
    if f16:
        sys.argv.remove("--f16-scales")
    model, _ = st_read(sys.argv[1] + "/model.safetensors")
    qp, meta = st_read(sys.argv[2])
    deq, _ = st_read(sys.argv[3])
    caps, _ = st_read(sys.argv[4])
    f32 = np.float32
    expect = {k: v.copy() for k, v in model.items()}
    row_div = {}
    bad = 0
    for k in qp:
        if not k.endswith(".smooth"):
            continue
        w = k[:-7]
        mod = w[:-7]
        for pat, pred, how in RULES:
            m = re.fullmatch(pat, mod)
            if m:
                row_div[pred.format(m.group(1)) + ".weight"] = qp[k]
                break
        else:
            print("FAIL %s: smoothed but no rule" % w)
            return 1
    for p, s in row_div.items():
        if model[p].ndim == 1:
            expect[p] = (model[p] / s).astype(f32)
            if not np.array_equal(deq[p], expect[p]):
                print("FAIL %s: not g / s" % p)
                bad += 1
        else:
            expect[p] = (model[p] / s[:, None]).astype(f32)
    for k in qp:
        if not k.endswith(".scale"):
            continue
        w = k[:-6]
        sch = json.loads(meta[w])
        x = expect[w]
        s = qp.get(w + ".smooth")
        if s is not None:
            x = (x * s[None, :]).astype(f32)
        sc = qp[k].astype(np.float16).astype(f32) if f16 else qp[k]
        zp = qp.get(w + ".zero_point")
        g = sch.get("group_size", x.shape[1]) if sch["granularity"] == "group" else x.shape[1]
        rep = lambda a: np.repeat(a.reshape(x.shape[0], -1), g, axis=1)[:, :x.shape[1]]
        scf = rep(sc)
        z = rep(zp) if zp is not None else np.zeros_like(scf, dtype=np.int32)
        if zp is None and sch["format"].startswith("u"):
            z = z + (QR[sch["format"]][1] + 1) // 2
        lo, hi = QR[sch["format"]]
        q = np.clip(np.rint((x / scf).astype(f32)) + z, lo, hi)
        wq = ((q - z).astype(f32) * scf).astype(f32)
        if not np.array_equal(deq[w], wq):
            d = np.abs(deq[w] - wq).max()
            print("FAIL %s: dequantized weight differs from Q(W diag s) (max %g)" % (w, d))
            bad += 1
            continue
        if s is None or w + ".input" not in caps:
            continue
        X = caps[w + ".input"].astype(np.float64)
        rd = row_div.get(w, np.ones(x.shape[0], dtype=f32)).astype(np.float64)
        y_ckpt = ((X / s) @ deq[w].astype(np.float64).T) * rd            # the folded model
        y_ind = X @ (wq.astype(np.float64) / s[None, :] * rd[:, None]).T  # x (Q(W diag s) diag(1/s))^T
        y_ref = X @ model[w].astype(np.float64).T
        if not np.allclose(y_ckpt, y_ind, rtol=1e-6, atol=1e-9 * np.abs(y_ref).max()):
            print("FAIL %s: layer output of the folded checkpoint differs" % w)
            bad += 1
            continue
        sqnr = 10 * np.log10((y_ref ** 2).sum() / ((y_ref - y_ckpt) ** 2).sum())
        # AWQ records the weight-only output SQNR; SmoothQuant's figure is W8A8
        rec = sch.get("output_sqnr_db") if sch.get("method") == "awq" else sqnr
        ok = rec is not None and abs(rec - sqnr) < (0.05 if f16 else 0.01)
        print("%s %s: output SQNR %.2f dB (qcalib recorded %s)" % ("PASS" if ok else "FAIL", w, sqnr,
              "%.2f" % rec if rec is not None else "nothing"))
        bad += not ok
    for k, v in model.items():
        if k in deq and k not in row_div and not np.array_equal(deq[k], v) and k + ".scale" not in qp:
            print("FAIL %s: changed but not smoothed" % k)
            bad += 1
    return 1 if bad else 0

sys.exit(main())
