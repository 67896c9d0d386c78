"""What the qpack interop tests share: a safetensors reader, FP8 by its bit
definition, fake quantization from qcalib's scales, and each loader's
dequantization written independently in numpy from
spec/safetensors-and-hf-layouts.md (AutoAWQ's reverse order, GPTQ v1's
zeros + 1, compressed-tensors' -8 offset, Quark's orders)."""
import json, struct

import numpy as np

def read_st(path):
    with open(path, "rb") as f:
        b = f.read()
    n = struct.unpack("<Q", b[:8])[0]
    h = json.loads(b[8:8 + n])
    dt = {"F32": np.float32, "F16": np.float16, "BF16": np.uint16, "I32": np.int32, "I64": np.int64,
          "I8": np.int8, "U8": np.uint8, "F8_E4M3": np.uint8, "F8_E5M2": np.uint8}
    out, meta = {}, h.pop("__metadata__", {})
    for k, v in h.items():
        s, e = v["data_offsets"]
        a = np.frombuffer(b[8 + n + s:8 + n + e], dtype=dt[v["dtype"]]).reshape(v["shape"])
        if v["dtype"] == "BF16":
            a = (a.astype(np.uint32) << 16).view(np.float32)
        out[k] = (v["dtype"], a)
    return out, meta

def fp8_table(e4m3):
    mb, bias = (3, 7) if e4m3 else (2, 15)
    t = np.zeros(256, np.float64)
    for c in range(256):
        ex, m = (c >> mb) & ((1 << (7 - mb)) - 1), c & ((1 << mb) - 1)
        if e4m3 and (c & 0x7f) == 0x7f or (not e4m3 and ex == 31):
            v = np.nan
        elif ex == 0:
            v = m * 2.0 ** (1 - bias - mb)
        else:
            v = (1 + m / (1 << mb)) * 2.0 ** (ex - bias)
        t[c] = -v if c & 0x80 else v
    return t

def fp8_round(y, e4m3):
    """nearest finite value, ties to the even code, saturating"""
    t = fp8_table(e4m3)
    pos = np.array([t[c] for c in range(0x7f) if not np.isnan(t[c])])
    codes = np.arange(len(pos))
    a = np.minimum(np.abs(y.astype(np.float64)), pos[-1])
    i = np.clip(np.searchsorted(pos, a), 1, len(pos) - 1)
    lo, hi = pos[i - 1], pos[i]
    pick_hi = (a - lo > hi - a) | ((a - lo == hi - a) & (codes[i] % 2 == 0))
    v = np.where(pick_hi, hi, lo)
    return (np.sign(y) * v).astype(np.float32)

QR = {"int8": (-128, 127), "uint8": (0, 255), "int4": (-8, 7), "uint4": (0, 15)}

def cells(shape, scheme):
    rows, cols = shape
    g = scheme["granularity"]
    if g == "tensor": return rows, cols
    if g == "channel": return 1, cols
    if g == "group": return 1, scheme["group_size"]
    return tuple(scheme["block"])

def expand(a, shape, br, bc):
    return np.repeat(np.repeat(a.reshape(-(-shape[0] // br), -(-shape[1] // bc)), br, 0), bc, 1)[:shape[0], :shape[1]]

def fake_quant(x, scheme, scale, zp, scale_dtype):
    br, bc = cells(x.shape, scheme)
    s = scale.astype(scale_dtype).astype(np.float32)
    s = expand(s, x.shape, br, bc)
    f = scheme["format"]
    if f.startswith("fp8"):
        return fp8_round(x / s, f == "fp8_e4m3") * s
    lo, hi = QR[f]
    z = expand(zp, x.shape, br, bc) if zp is not None else np.full(x.shape, 8 if f == "uint4" else 128 if f == "uint8" else 0)
    q = np.clip(np.rint(x / s) + z, lo, hi)
    return ((q - z).astype(np.float32) * s).astype(np.float32)

def nibbles(w, axis_len, order=None, bits=4):
    """int32 words [..., n] -> [..., (32/bits) n] codes; element j of a word
    from field order[j] (bits wide, LSB first)"""
    k = 32 // bits
    u = w.astype(np.int64) & 0xffffffff
    n = np.stack([(u >> (bits * j)) & ((1 << bits) - 1) for j in range(k)], -1)
    if order is not None:
        n = n[..., order]
    return n.reshape(*w.shape[:-1], w.shape[-1] * k)[..., :axis_len]

AWQ_REVERSE = [0, 4, 1, 5, 2, 6, 3, 7]

def dequant(layout, t, p, qc, args=None):
    """args: the module's compressed-tensors \"weights\" or Quark weight spec
    (default: group_0's, global_quant_config's)"""
    g = lambda k: t[p + "." + k][1]
    if layout == "awq":
        qw = g("qweight"); inn, out = qw.shape[0], qw.shape[1] * 8
        iw = nibbles(qw, out, AWQ_REVERSE); iz = nibbles(g("qzeros"), out, AWQ_REVERSE)
        G = qc["group_size"] if qc["group_size"] > 0 else inn
        s = g("scales").astype(np.float32)
        w = (iw - np.repeat(iz, G, 0)).astype(np.float32) * np.repeat(s, G, 0)
        return w.T
    if layout == "gptq":
        bits = (args or qc)["bits"]                           # dynamic overrides it per module
        qw = g("qweight"); out = qw.shape[1]
        iw = nibbles(qw.T, qw.shape[0] * 32 // bits, bits=bits).T   # along in
        iz = nibbles(g("qzeros"), out, bits=bits) + 1         # v1
        gi = g("g_idx")
        s = g("scales").astype(np.float32)
        return ((iw - iz[gi]).astype(np.float32) * s[gi]).T
    if layout == "compressed-tensors":
        w8 = args or qc["config_groups"]["group_0"]["weights"]
        if w8["type"] == "float":
            x = fp8_table(True)[g("weight")].astype(np.float32)
            s = g("weight_scale").astype(np.float32)
            if w8["strategy"] == "block":
                br, bc = w8["block_structure"]
                return x * expand(s, x.shape, br, bc)
            return x * (s.reshape(-1, 1) if s.size > 1 else s.reshape(()))
        out, inn = g("weight_shape")
        q = nibbles(g("weight_packed"), inn) - 8 if w8["num_bits"] == 4 else None
        if q is None:
            u = g("weight_packed").astype(np.int64) & 0xffffffff
            q = np.stack([(u >> (8 * k)) & 0xFF for k in range(4)], -1).reshape(out, -1)[:, :inn] - 128
        s = g("weight_scale").astype(np.float32)
        G = w8["group_size"] or inn
        sfull = np.repeat(s.reshape(out, -1), G, 1)[:, :inn]
        if p + ".weight_zero_point" in t:
            zq = g("weight_zero_point")
            z = nibbles(zq.T, out).T - 8 if w8["num_bits"] == 4 else None
            if z is None:
                u = zq.T.astype(np.int64) & 0xffffffff
                z = np.stack([(u >> (8 * k)) & 0xFF for k in range(4)], -1).reshape(zq.shape[1], -1)[:, :out].T - 128
            zfull = np.repeat(z, G, 1)[:, :inn]
        else:
            zfull = 0
        return (q - zfull).astype(np.float32) * sfull
    if layout == "fp8":
        x = fp8_table(True)[g("weight")].astype(np.float32)
        if p + ".weight_scale_inv" in t:
            br, bc = qc["weight_block_size"]
            return x * expand(g("weight_scale_inv"), x.shape, br, bc)
        return x * g("weight_scale").reshape(())
    if layout == "quark":
        spec = args or qc["global_quant_config"]["weight"]
        order = AWQ_REVERSE if qc["export"]["pack_method"] == "reorder" else None
        dt = spec["dtype"]
        w = g("weight")
        if dt in ("int4", "uint4"):
            G = spec["group_size"]
            q = nibbles(w, w.shape[1] * 8, order)   # [in, out]
            if dt == "int4":
                q = np.where(q >= 8, q - 16, q)
            z = 0
            if p + ".weight_zero_point" in t:
                z = nibbles(g("weight_zero_point"), w.shape[1] * 8, order)
                if dt == "int4":
                    z = np.where(z >= 8, z - 16, z)
                z = np.repeat(z, G, 0)
            s = np.repeat(g("weight_scale").astype(np.float32), G, 0)
            return ((q - z).astype(np.float32) * s).T
        if dt.startswith("fp8"):
            x = fp8_table(dt == "fp8_e4m3")[w].astype(np.float32)
            s = g("weight_scale")
            return x * (s.reshape(-1, 1) if s.ndim == 1 else s)
        q = w.astype(np.int64)
        z = g("weight_zero_point").astype(np.int64) if p + ".weight_zero_point" in t else 0
        s = g("weight_scale").astype(np.float32)
        if spec["qscheme"] == "per_channel":
            return (q - (z.reshape(-1, 1) if np.ndim(z) else z)).astype(np.float32) * s.reshape(-1, 1)
        return (q - z).astype(np.float32) * s
    raise ValueError(layout)
