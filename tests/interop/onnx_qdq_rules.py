#!/usr/bin/python3
"""Independent check of qdq-insert --static's activation pairs.

usage: onnx_qdq_rules.py ORIG.onnx RANGES.qp QUANT.onnx LABEL ASYM(1|0) [...]

From the float model and the tensors that have a range in the qparams
file, work out with onnxruntime quantize_static's QDQ rules (as documented
in man/qdq-insert.1, written here separately from the C) which activations
must get a QuantizeLinear -> DequantizeLinear pair, which share their
input's scale, which Relu/Clip are folded away and which biases become
int32; then read the quantized model and compare, per op type: the inputs
and outputs that go through a pair.  Prints PASS/FAIL lines.
"""
import json
import struct
import sys
from collections import Counter

import numpy as np
import onnx
from onnx import numpy_helper

OWN, SHARED, FOLD, UNIT = "own", "shared", "fold", "unit"
# op: (activation inputs ("all" or indices), output rule, acts only when
# input 0 is already quantized, has a weight, rule for every output)
RULES = {
    "Conv": ([0], OWN, False, True, False),
    "ConvTranspose": ([0], OWN, False, True, False),
    "Gemm": ([0, 1], OWN, False, True, False),
    "MatMul": ([0, 1], OWN, False, True, False),
    "Add": ([0, 1], OWN, False, False, False),
    "Mul": ([0, 1], OWN, False, False, False),
    "Concat": ("all", OWN, False, False, False),
    "Softmax": ([0], UNIT, False, False, False),  # [0, 1], no range needed
    "Sigmoid": ([0], OWN, False, False, False),
    "LeakyRelu": ([0], OWN, False, False, False),
    "GlobalAveragePool": ([0], OWN, False, False, False),
    "Relu": ([0], FOLD, True, False, False),
    "Clip": ([0], FOLD, True, False, False),
    "Split": ([0], SHARED, False, False, True),
    "Pad": ([0], SHARED, False, False, False),
}
for op in ("Reshape", "Transpose", "Squeeze", "Unsqueeze", "Slice", "AveragePool", "MaxPool",
           "Resize", "Gather"):
    RULES[op] = ([0], SHARED, True, False, False)
MIN_RANK = {"Conv": 3, "ConvTranspose": 3, "Gemm": 2, "MatMul": 2}


def qp_ranges(path):
    with open(path, "rb") as f:
        data = f.read()
    (n,) = struct.unpack("<Q", data[:8])
    hdr = json.loads(data[8:8 + n])
    return {k[:-6] for k in hdr if k.endswith(".range")}


def plan(m, ranged, asym):
    g = m.graph
    consts = {t.name: t for t in g.initializer}
    for n in g.node:
        if n.op_type == "Constant":
            for a in n.attribute:
                if a.name == "value":
                    consts[n.output[0]] = a.t
    uses = Counter(i for n in g.node for i in n.input if i)
    io = {v.name for v in g.input} | {v.name for v in g.output}
    root = {}          # tensor -> the tensor whose scale it uses
    cq = set()         # float constants read by Add, Mul, Concat...: stored quantized
    unit = []          # Softmax outputs: range [0, 1]
    folded = []
    weighted = []      # (node, bias index) whose weight was quantized

    def own(x):
        if x and x not in root and x not in consts and x in ranged:
            root[x] = x

    for n in g.node:
        if n.domain not in ("", "ai.onnx") or n.op_type not in RULES:
            continue
        ins, out, direct, weight, every = RULES[n.op_type]
        if weight:
            w = consts.get(n.input[1]) if len(n.input) > 1 else None
            if w is not None:
                if w.data_type != 1 or len(w.dims) < MIN_RANK[n.op_type]:
                    continue
                weighted.append(n)
            elif any(i in consts for i in n.input[:2]):
                continue
        if direct and n.input[0] not in root:
            continue
        if out == FOLD:
            ok = asym and uses[n.input[0]] == 1 and n.input[0] not in io and n.output[0] in ranged
            if ok and n.op_type == "Clip":
                lo, hi = -np.inf, np.inf
                for a in n.attribute:
                    lo = a.f if a.name == "min" else lo
                    hi = a.f if a.name == "max" else hi
                for k, x in enumerate(n.input[1:3], 1):
                    if x:
                        v = numpy_helper.to_array(consts[x]) if x in consts else None
                        if v is None or v.size != 1:
                            ok = False
                        elif k == 1:
                            lo = float(v.reshape(-1)[0])
                        else:
                            hi = float(v.reshape(-1)[0])
                ok = ok and lo <= 0 <= hi
            if ok:
                del root[n.input[0]]
                folded.append(n)
            own(n.output[0])
            continue
        for k, x in enumerate(n.input):
            if ins == "all" or k in ins:
                own(x)
                if not weight and not direct and x in consts and consts[x].data_type == 1 and x not in io:
                    cq.add(x)
        outs = n.output if every else n.output[:1]
        for y in outs:
            if out == OWN:
                own(y)
            elif out == UNIT and y and y not in root:
                root[y] = y
                unit.append(y)
            elif out == SHARED and n.input[0] in root and y and y not in root:
                root[y] = root[n.input[0]]
    biases = 0
    for n in weighted:
        b = 2 if n.op_type in ("Conv", "Gemm") else None
        if b is None or len(n.input) <= b or not n.input[b] or n.input[0] not in root:
            continue
        t = consts.get(n.input[b])
        w = consts[n.input[1]]
        if n.op_type == "Conv":
            nch = w.dims[0]
        else:
            trans = any(a.name == "transB" and a.i for a in n.attribute)
            nch = w.dims[0] if trans else w.dims[1]
        if t is not None and t.data_type == 1 and list(t.dims) == [nch] and uses[n.input[b]] == 1:
            biases += 1
    return root, folded, biases, unit, cq


def observe(q):
    """Activation pairs in the output: tensor -> its scale initializer."""
    g = q.graph
    inits = {t.name for t in g.initializer}
    by_out = {o: n for n in g.node for o in n.output}
    pairs, int32, consts = {}, 0, set()
    byname = {t.name: t for t in g.initializer}
    for n in g.node:
        if n.op_type == "DequantizeLinear" and n.input[0] in inits:
            t = byname[n.input[0]]
            int32 += t.data_type == 6
            if t.data_type in (2, 3) and len(byname[n.input[1]].dims) == 0 and n.input[0].endswith("_quantized"):
                consts.add(n.input[0][:-len("_quantized")])
        if n.op_type != "QuantizeLinear" or n.input[0] in inits:
            continue
        x = n.input[0]
        dq = [d for d in g.node if d.op_type == "DequantizeLinear" and d.input[0] == n.output[0]]
        if len(dq) != 1 or dq[0].input[1] != n.input[1]:
            raise ValueError("QuantizeLinear %s without its DequantizeLinear" % n.name)
        if x.endswith("_QuantizeLinear_Input"):      # a renamed graph output
            x = dq[0].output[0]
        pairs[x] = n.input[1]
    return pairs, int32, consts


def per_op(m, tensors):
    """op type -> [inputs in tensors, outputs in tensors]."""
    c = {}
    for n in m.graph.node:
        k = c.setdefault(n.op_type, [0, 0])
        k[0] += sum(1 for i in n.input if i in tensors)
        k[1] += sum(1 for o in n.output if o in tensors)
    return c


def main():
    args = sys.argv[1:]
    for i in range(0, len(args) - 4, 5):
        try:
            check_one(*args[i:i + 5])
        except Exception as e:  # one broken output must not hide the others
            print("FAIL onnx-qdq-rules %s: %s" % (args[i + 3], str(e).replace("\n", " ")[:300]))


def check_one(orig_p, qp_p, quant_p, label, asym):
    orig, quant = onnx.load(orig_p), onnx.load(quant_p)
    bad = []
    root, folded, biases, unit, cq = plan(orig, qp_ranges(qp_p), asym == "1")
    pairs, int32, consts = observe(quant)
    if consts != cq:
        bad.append("quantized constants %s, expected %s" % (sorted(consts)[:4], sorted(cq)[:4]))
    if set(pairs) != set(root):
        bad.append("pairs on %s, expected also %s" % (sorted(set(pairs) - set(root))[:4],
                                                      sorted(set(root) - set(pairs))[:4]))
    owners = Counter(pairs[x] for x, r in root.items() if x == r and x in pairs)
    for x, r in root.items():
        if x not in pairs or r not in pairs:
            continue
        if x != r and pairs[x] != pairs[r]:
            bad.append("%s: scale %s, expected %s's" % (x, pairs[x], r))
        if x == r and owners[pairs[x]] != 1:
            bad.append("%s: scale %s shared with another tensor" % (x, pairs[x]))
    want = Counter(n.op_type for n in orig.graph.node)
    for n in folded:
        want[n.op_type] -= 1
    got = Counter(n.op_type for n in quant.graph.node if n.op_type in ("Relu", "Clip"))
    for op in ("Relu", "Clip"):
        if got[op] != want[op]:
            bad.append("%d %s nodes left, expected %d" % (got[op], op, want[op]))
    scales = {t.name: numpy_helper.to_array(t) for t in quant.graph.initializer}
    for y in unit:  # [0, 1]: uint8 1/255 zero point 0, int8 1/127 zero point 0
        want = np.float32(1) / np.float32(255 if asym == "1" else 127)
        if y in pairs and scales[pairs[y]] != want:
            bad.append("%s: Softmax output scale %r, expected %r" % (y, scales[pairs[y]], want))
    if int32 != biases:
        bad.append("%d int32 biases, expected %d" % (int32, biases))
    # the same figures per op type, on the original graph's nodes
    exp_ops = per_op(orig, set(root))
    got_ops = per_op(orig, set(pairs))
    table = ", ".join("%s %d/%d" % (op, v[0], v[1]) for op, v in sorted(exp_ops.items()) if v != [0, 0])
    for op in exp_ops:
        if exp_ops[op] != got_ops.get(op):
            bad.append("%s: inputs/outputs with pairs %s, expected %s" % (op, got_ops.get(op), exp_ops[op]))
    shared = sum(1 for x, r in root.items() if x != r)
    if bad:
        print("FAIL onnx-qdq-rules %s: %s" % (label, "; ".join(bad)[:600]))
    else:
        print("PASS onnx-qdq-rules %s (%d pairs, %d sharing a scale, %d Relu/Clip folded, %d int32 biases,"
              " %d constants; in/out pairs per op: %s)" % (label, len(pairs), shared, len(folded), biases,
                                                           len(cq), table))


if __name__ == "__main__":
    main()
