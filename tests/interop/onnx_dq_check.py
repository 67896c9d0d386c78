#!/usr/bin/python3
"""Independent check of qdq-insert's quantized weights (numpy, not our C).

usage: onnx_dq_check.py ORIG.onnx QUANT.onnx LABEL [ORIG QUANT LABEL ...]

For every DequantizeLinear / Cast / MatMulNBits that reads an initializer
the tool made from a float weight W, recompute from W's float values, with
numpy and the rules of spec/onnx.md (ONNX QuantizeLinear: x / scale in
float32, round half to even, saturate; onnxruntime's scale rules), what the
dequantized weight must be, and compare it bit for bit with what the graph's
stored codes, scales and zero points dequantize to.  Then run onnx 1.12's
checker when the model's opsets are ones it knows.  Prints PASS/FAIL/SKIP.
"""
import sys

import numpy as np
import onnx
from onnx import numpy_helper

FLOAT, UINT8, INT8, INT32, FLOAT16, BFLOAT16, E4M3, UINT4, INT4 = 1, 2, 3, 6, 10, 16, 17, 21, 22


def raw(t):
    if t.raw_data:
        return np.frombuffer(t.raw_data, dtype=np.uint8)
    if t.data_type == FLOAT:
        return np.array(t.float_data, dtype=np.float32).view(np.uint8)
    return np.array(t.int32_data, dtype=np.int64).astype(np.uint8)


def codes(t):
    """Integer codes (or fp8 bytes) of a quantized initializer, dims shape."""
    n = int(np.prod(t.dims)) if len(t.dims) else 1
    b = raw(t)
    if t.data_type in (UINT4, INT4):
        v = np.empty(2 * len(b), dtype=np.int32)
        v[0::2] = b & 15
        v[1::2] = b >> 4
        v = v[:n]
        if t.data_type == INT4:
            v = np.where(v >= 8, v - 16, v)
        return v.reshape(tuple(t.dims))
    if t.data_type == INT8:
        return b.view(np.int8).astype(np.int32).reshape(tuple(t.dims))
    if t.data_type in (UINT8, E4M3):
        return b.astype(np.int32).reshape(tuple(t.dims))
    if t.data_type == INT32:
        return b.view(np.int32).reshape(tuple(t.dims))
    raise ValueError("type %d" % t.data_type)


# all finite positive E4M3FN values, by code
E4M3_POS = np.array([(m / 8.0) * 2.0 ** -6 if e == 0 else (1 + m / 8.0) * 2.0 ** (e - 7)
                     for e in range(16) for m in range(8)][:127], dtype=np.float64)


def e4m3_value(c):
    c = np.asarray(c)
    v = E4M3_POS[np.minimum(c & 0x7f, 126)]
    return np.where(c & 0x80, -v, v).astype(np.float32)


def e4m3_round(x):
    """float32 -> E4M3FN code: nearest, ties to the even code, saturate."""
    a = np.abs(x.astype(np.float64))
    i = np.clip(np.searchsorted(E4M3_POS, a), 1, 126)
    lo, hi = E4M3_POS[i - 1], E4M3_POS[i]
    pick = np.where(a - lo < hi - a, i - 1, np.where(a - lo > hi - a, i,
                    np.where((i - 1) % 2 == 0, i - 1, i)))
    pick = np.where(a >= 448.0, 126, pick)
    pick = np.where(a <= 0, 0, pick)
    return np.where(np.signbit(x), pick | 0x80, pick)


def half_round(x, dt):
    """float32 -> the half type dt (nearest even) -> float32; FLOAT: as is."""
    x = np.asarray(x, np.float32)
    if dt == FLOAT16:
        return x.astype(np.float16).astype(np.float32)
    if dt == BFLOAT16:
        u = x.reshape(-1).view(np.uint32).astype(np.uint64)
        one, half, sh = np.uint64(1), np.uint64(0x7fff), np.uint64(16)
        r = (((u + half + ((u >> sh) & one)) >> sh) << sh).astype(np.uint32)
        return r.view(np.float32).reshape(x.shape)
    return x


def to_f32(t):
    """A FLOAT, FLOAT16 or BFLOAT16 tensor as float32 (exact)."""
    if t.data_type == BFLOAT16:
        if t.raw_data:
            h = np.frombuffer(t.raw_data, dtype=np.uint16)
        else:
            h = np.array(t.int32_data, dtype=np.uint32).astype(np.uint16)
        return (h.astype(np.uint32) << 16).view(np.float32).reshape(tuple(t.dims))
    return numpy_helper.to_array(t).astype(np.float32)


def expected(w, kind, axis, block, scale_dt=FLOAT):
    """Dequantized weight the rules give, from float32 w.  Scales stored
    as float16 are chosen in float32, rounded (kept positive), then used to
    quantize; zero points come from the float32 scale."""
    w = w.astype(np.float32)
    moved = np.moveaxis(w, axis, 0)
    d = moved.shape[0]
    if block:
        nb = -(-d // block)
        pad = np.zeros((nb * block,) + moved.shape[1:], np.float32)
        pad[:d] = moved
        g = pad.reshape((nb, block) + moved.shape[1:])
        lo = np.minimum(g.min(axis=1), 0)
        hi = np.maximum(g.max(axis=1), 0)
        spread = lambda s: np.repeat(s, block, axis=0)[:d]
    else:
        flat = moved.reshape(d, -1)
        lo = np.minimum(flat.min(axis=1), 0)
        hi = np.maximum(flat.max(axis=1), 0)
        shp = (d,) + (1,) * (moved.ndim - 1)
        spread = lambda s: s.reshape(shp)
    lo, hi = lo.astype(np.float32), hi.astype(np.float32)
    sym = {"int8": np.float32(127), "int4": np.float32(7), "fp8": np.float32(448)}
    rng = {"int8": (-127, 127), "uint8": (0, 255), "int4": (-8, 7), "uint4": (0, 15)}
    if kind in sym:
        scale = np.maximum(-lo, hi) / sym[kind]
        zp = np.zeros_like(scale)
    else:
        qmin, qmax = rng[kind]
        scale = (hi - lo) / np.float32(qmax - qmin)
        with np.errstate(divide="ignore", invalid="ignore"):
            zp = np.where(scale > 0, np.clip(np.rint(np.float32(qmin) - lo / scale), qmin, qmax), 0)
    scale = np.where(scale > 0, scale, np.float32(1)).astype(np.float32)
    zp = zp.astype(np.float32)
    if scale_dt == FLOAT16:
        scale = half_round(scale, FLOAT16)
        scale = np.where(scale > 0, scale, np.float32(2.0 ** -24))
        scale = np.where(np.isfinite(scale), scale, np.float32(65504)).astype(np.float32)
    s, z = spread(scale), spread(zp)
    if kind == "fp8":
        deq = e4m3_value(e4m3_round((moved / s).astype(np.float32))) * s
    else:
        qmin, qmax = rng[kind]
        q = np.clip(np.rint((moved / s).astype(np.float32)) + z, qmin, qmax)
        deq = ((q - z) * s).astype(np.float32)
    return np.moveaxis(deq.astype(np.float32), 0, axis)


def stored_dq(inits, node):
    q = inits[node.input[0]]
    c = codes(q)
    scale = to_f32(inits[node.input[1]])
    zp = codes(inits[node.input[2]]) if len(node.input) > 2 and node.input[2] else None
    attrs = {a.name: a.i for a in node.attribute}
    axis = attrs.get("axis", 1) % max(c.ndim, 1)
    block = attrs.get("block_size", 0)
    if q.data_type == E4M3:
        v = e4m3_value(c)
    else:
        v = c.astype(np.float32)
    def bc(s):
        if s.ndim == 0:
            return s
        if block:
            return np.repeat(s, block, axis=axis).take(range(c.shape[axis]), axis=axis)
        shp = [1] * c.ndim
        shp[axis] = -1
        return s.reshape(shp)
    if zp is not None:
        v = v - bc(zp.astype(np.float32))
    # DequantizeLinear computes in float32 and rounds to its scale's type
    sdt = inits[node.input[1]].data_type
    return half_round((v * bc(scale)).astype(np.float32), sdt), axis, block, q.data_type


SUB_DIR = None


def write_subgraph(quant, finals, label):
    """For onnxruntime to recompute the weights: the DequantizeLinear and
    Cast nodes that make each checked weight (what its consumer reads), each
    result Cast to float as a graph output; the expected values beside it
    (float32, in output order) and the output names."""
    g = quant.graph
    producer = {o: n for n in g.node for o in n.output}
    inits = {t.name: t for t in g.initializer}
    keep, need, seen = [], set(), set()

    def take(name):
        if name in inits:
            need.add(name)
            return
        n = producer[name]
        if id(n) in seen:
            return
        seen.add(id(n))
        for i in n.input:
            if i:
                take(i)
        keep.append(n)
    outs, nodes, want = [], [], []
    for name, w in finals:
        if name not in producer:
            continue
        take(name)
        outs.append(onnx.helper.make_tensor_value_info(name + "_f32", FLOAT, None))
        want.append(w.astype(np.float32).reshape(-1))
    nodes = list(keep) + [onnx.helper.make_node("Cast", [o.name[:-4]], [o.name], to=FLOAT) for o in outs]
    sub = onnx.helper.make_graph(nodes, "weights", [], outs, [inits[n] for n in sorted(need)])
    m = onnx.helper.make_model(sub, opset_imports=list(quant.opset_import))
    m.ir_version = quant.ir_version
    base = "%s/%s" % (SUB_DIR, label.replace("/", "_"))
    onnx.save(m, base + ".onnx")
    np.concatenate(want).astype("<f4").tofile(base + ".bin")
    with open(base + ".names", "w") as f:
        f.write("\n".join("%s %d" % (o.name, w.size) for o, w in zip(outs, want)))


def main():
    global SUB_DIR
    args = sys.argv[1:]
    if args and args[0] == "--sub":
        SUB_DIR, args = args[1], args[2:]
    for i in range(0, len(args) - 2, 3):
        try:
            check_one(args[i], args[i + 1], args[i + 2])
        except Exception as e:  # one broken output must not hide the others
            print("FAIL onnx-dq-exact %s: %s" % (args[i + 2], str(e).replace("\n", " ")[:300]))


def check_one(orig_path, quant_path, label):
    orig = onnx.load(orig_path)
    quant = onnx.load(quant_path)
    floats = {}
    def gather(g, into):
        for t in g.initializer:
            into[t.name] = t
        for n in g.node:
            if n.op_type == "Constant":
                for a in n.attribute:
                    if a.name == "value":
                        c = onnx.TensorProto()
                        c.CopyFrom(a.t)
                        c.name = n.output[0]
                        into[c.name] = c
            for a in n.attribute:
                if a.type == onnx.AttributeProto.GRAPH:
                    gather(a.g, into)
    gather(orig.graph, floats)
    transposed = set()
    def find_trans(g):
        for n in g.node:
            if n.op_type == "Gemm" and any(a.name == "transB" and a.i for a in n.attribute):
                transposed.add(n.input[1])
            for a in n.attribute:
                if a.type == onnx.AttributeProto.GRAPH:
                    find_trans(a.g)
    find_trans(orig.graph)
    inits = {}
    gather(quant.graph, inits)
    nodes = []
    def walk(g):
        for n in g.node:
            nodes.append(n)
            for a in n.attribute:
                if a.type == onnx.AttributeProto.GRAPH:
                    walk(a.g)
    walk(quant.graph)
    cast_of = {n.input[0]: n for n in nodes if n.op_type == "Cast" and n.input}
    finals = []  # (tensor the consumer reads, its expected value)
    kinds = {INT8: "int8", UINT8: "uint8", INT4: "int4", UINT4: "uint4", E4M3: "fp8"}
    checked, bad = 0, []
    for n in nodes:
        src = None
        for suffix in ("_quantized", "_fp16", "_bf16", "_MatMulNBits_B"):
            if n.input and n.input[0 if n.op_type != "MatMulNBits" else 1].endswith(suffix):
                src = n.input[0 if n.op_type != "MatMulNBits" else 1][:-len(suffix)]
        if src is None or src not in floats or floats[src].data_type not in (FLOAT, FLOAT16, BFLOAT16):
            continue
        w = to_f32(floats[src])
        wdt = floats[src].data_type
        if n.op_type == "DequantizeLinear" and inits[n.input[0]].data_type == INT32:
            # int32 bias: q = round(b / scale), scale = x_scale * w_scale
            got, axis, block, dt = stored_dq(inits, n)
            s = numpy_helper.to_array(inits[n.input[1]]).astype(np.float32)
            want = (np.clip(np.rint((w / s).astype(np.float32)), -2**31, 2**31 - 1) * s).astype(np.float32)
        elif n.op_type == "DequantizeLinear":
            got, axis, block, dt = stored_dq(inits, n)
            sdt = inits[n.input[1]].data_type
            if len(inits[n.input[1]].dims) == 0:   # per tensor: a constant input of Add, Mul...
                want = expected(w.reshape(1, -1), kinds[dt], 0, 0).reshape(w.shape)
            else:
                want = half_round(expected(w, kinds[dt], axis, block, sdt), sdt)
            # a half weight must reach its consumer in its own type: directly
            # (float16 scales) or through a Cast after a float DequantizeLinear
            after = cast_of.get(n.output[0])
            if wdt != FLOAT and sdt != wdt:
                to = next((a.i for a in after.attribute if a.name == "to"), None) if after else None
                if to != wdt:
                    bad.append("%s: DequantizeLinear gives type %d, no Cast back to %d" % (src, sdt, wdt))
                    continue
                got, want = half_round(got, wdt), half_round(want, wdt)
                finals.append((after.output[0], want))
            else:
                finals.append((n.output[0], want))
        elif n.op_type == "Cast":
            t = inits[n.input[0]]
            got = to_f32(t).reshape(w.shape)
            want = half_round(w, t.data_type)
            to = next((x.i for x in n.attribute if x.name == "to"), None)
            if to != wdt:
                bad.append("%s: Cast to type %s, the weight is %d" % (src, to, wdt))
                continue
            finals.append((n.output[0], want))
        elif n.op_type == "MatMulNBits":
            a = {x.name: x.i for x in n.attribute}
            K, N, bs, bits = a["K"], a["N"], a["block_size"], a["bits"]
            B = raw(inits[n.input[1]]).reshape(N, -1)
            sc = to_f32(inits[n.input[2]]).reshape(N, -1)
            if inits[n.input[2]].data_type != wdt:
                bad.append("%s: MatMulNBits scales of type %d for a weight of type %d" % (src, inits[n.input[2]].data_type, wdt))
                continue
            kb = sc.shape[1]
            if bits == 4:
                c = np.empty((N, B.shape[1] * 2), np.int32)
                c[:, 0::2] = B & 15
                c[:, 1::2] = B >> 4
            else:
                c = B.astype(np.int32)
            c = c[:, :K]
            if len(n.input) > 3 and n.input[3]:
                zb = raw(inits[n.input[3]]).reshape(N, -1)
                if bits == 4:
                    z = np.empty((N, zb.shape[1] * 2), np.int32)
                    z[:, 0::2] = zb & 15
                    z[:, 1::2] = zb >> 4
                else:
                    z = zb.astype(np.int32)
                z = z[:, :kb]
                kind = "uint4" if bits == 4 else "uint8"
            else:
                z = np.full((N, kb), 1 << (bits - 1), np.int32)
                kind = "int4" if bits == 4 else "int8"
            zs = np.repeat(z, bs, axis=1)[:, :K].astype(np.float32)
            ss = np.repeat(sc, bs, axis=1)[:, :K]
            got = ((c - zs) * ss).astype(np.float32)           # [N, K]
            wk = w.T if src in transposed else w                # Gemm transB: [N, K]
            want = expected(wk, kind, 0, bs, inits[n.input[2]].data_type).T
        else:
            continue
        checked += 1
        if got.shape != want.shape or not np.array_equal(got.view(np.uint32), want.view(np.uint32)):
            diff = np.abs(got - want).max() if got.shape == want.shape else "shape"
            bad.append("%s (%s): max diff %s" % (src, n.op_type, diff))
    if SUB_DIR and finals and not bad:
        write_subgraph(quant, finals, label)
    if bad:
        print("FAIL onnx-dq-exact %s: %d of %d differ: %s" % (label, len(bad), checked, "; ".join(bad[:3])))
    elif checked == 0:
        print("FAIL onnx-dq-exact %s: no quantized weight found" % label)
    else:
        print("PASS onnx-dq-exact %s (%d weights equal numpy's recomputation)" % (label, checked))
    known = all((o.domain in ("", "ai.onnx") and o.version <= 17) or o.domain == "ai.onnx.ml"
                for o in quant.opset_import) and quant.ir_version <= 8
    if not known:
        print("SKIP onnx-checker %s: opset or IR beyond onnx 1.12" % label)
        return
    try:
        onnx.checker.check_model(quant)
        print("PASS onnx-checker %s" % label)
    except Exception as e:  # the checker's verdict is the test
        print("FAIL onnx-checker %s: %s" % (label, str(e).replace("\n", " ")[:300]))


if __name__ == "__main__":
    main()
