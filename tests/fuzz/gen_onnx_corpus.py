#!/usr/bin/python3
"""Writes the ONNX fuzz corpus (tests/fuzz/corpus/fuzz_onnx/): small valid
models and malformed ones, each named after what it reproduces.  Run once;
the files are committed.  Needs python3-onnx (Debian)."""
import os
import struct
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

out = sys.argv[1] if len(sys.argv) > 1 else "tests/fuzz/corpus/fuzz_onnx"
os.makedirs(out, exist_ok=True)
rng = np.random.default_rng(3)


def save(name, data):
    with open(os.path.join(out, name), "wb") as f:
        f.write(data if isinstance(data, bytes) else data.SerializeToString())


def mm_model(opset=13):
    w = numpy_helper.from_array(rng.standard_normal((8, 4)).astype(np.float32), "W")
    b = numpy_helper.from_array(rng.standard_normal((4,)).astype(np.float32), "B")
    g = helper.make_graph(
        [helper.make_node("MatMul", ["x", "W"], ["y"], name="mm"),
         helper.make_node("Add", ["y", "B"], ["z"], name="add")],
        "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 8])],
        [helper.make_tensor_value_info("z", TensorProto.FLOAT, [2, 4])], [w, b])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)])
    m.ir_version = 7
    return m


good = mm_model()
save("valid-matmul.onnx", good)

# typed fields instead of raw_data, Constant node, If subgraph reading an outer initializer
w = helper.make_tensor("W", TensorProto.FLOAT, [8, 4], rng.standard_normal(32).astype(np.float32).tolist())
c = helper.make_node("Constant", [], ["C"], value=numpy_helper.from_array(
    rng.standard_normal((4, 4)).astype(np.float32), "c"))
then_g = helper.make_graph([helper.make_node("MatMul", ["x", "W"], ["t"])], "then", [],
                           [helper.make_tensor_value_info("t", TensorProto.FLOAT, [2, 4])])
else_g = helper.make_graph([helper.make_node("MatMul", ["x", "W"], ["e0"]),
                            helper.make_node("Neg", ["e0"], ["e"])], "else", [],
                           [helper.make_tensor_value_info("e", TensorProto.FLOAT, [2, 4])])
g = helper.make_graph(
    [c, helper.make_node("If", ["cond"], ["y"], then_branch=then_g, else_branch=else_g),
     helper.make_node("MatMul", ["y", "C"], ["z"])],
    "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 8]),
          helper.make_tensor_value_info("cond", TensorProto.BOOL, [])],
    [helper.make_tensor_value_info("z", TensorProto.FLOAT, [2, 4])], [w])
m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)])
m.ir_version = 7
save("valid-if-constant-typed.onnx", m)

# an initializer also listed in graph.input (IR 3 style)
m = mm_model()
m.graph.input.append(helper.make_tensor_value_info("W", TensorProto.FLOAT, [8, 4]))
save("valid-initializer-in-input.onnx", m)

# malformed
raw = good.SerializeToString()
save("truncated-half.onnx", raw[: len(raw) // 2])
save("truncated-last-byte.onnx", raw[:-1])
save("empty.onnx", b"")
save("not-protobuf.onnx", b"\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff")

m = mm_model()
m.graph.initializer[0].raw_data = m.graph.initializer[0].raw_data[:-4]
save("raw-data-short.onnx", m)

m = mm_model()
del m.graph.initializer[0].dims[:]
m.graph.initializer[0].dims.extend([1 << 40, 1 << 30])
save("huge-dims.onnx", m)

m = mm_model()
m.graph.initializer[0].dims[0] = -8
save("negative-dim.onnx", m)

for name, loc in (("external-traversal.onnx", "../../../etc/passwd"),
                  ("external-absolute.onnx", "/etc/passwd"),
                  ("external-missing.onnx", "no-such-file.bin")):
    m = mm_model()
    t = m.graph.initializer[0]
    t.ClearField("raw_data")
    t.data_location = TensorProto.EXTERNAL
    e = t.external_data.add()
    e.key, e.value = "location", loc
    save(name, m)

m = mm_model()
t = m.graph.initializer[0]
t.ClearField("raw_data")
t.data_location = TensorProto.EXTERNAL
for k, v in (("location", "valid-matmul.onnx"), ("offset", "99999999"), ("length", "128")):
    e = t.external_data.add()
    e.key, e.value = k, v
save("external-out-of-range.onnx", m)

# a cycle: node mm reads z, which the later node produces
m = mm_model()
m.graph.node[0].input[0] = "z"
save("cycle.onnx", m)

m = mm_model()
m.graph.node[1].input[0] = "nowhere"
save("dangling-input.onnx", m)

# deep nesting: If inside If inside ... (each a few bytes)
inner = helper.make_graph([], "g0", [], [])
for i in range(200):
    node = helper.make_node("Loop", ["", "cond"], [], body=inner)
    inner = helper.make_graph([node], "g%d" % (i + 1), [], [])
m = helper.make_model(inner, opset_imports=[helper.make_opsetid("", 13)])
try:
    save("deep-nesting.onnx", m)
except Exception:
    pass

# a length prefix far beyond the end of the file (huge declared size)
save("huge-length-prefix.onnx", b"\x3a\xff\xff\xff\xff\x0f" + b"\x00" * 16)

# a field unknown to the 1.12 schema (GraphProto field 16, metadata_props in newer ONNX)
m = mm_model()
data = m.SerializeToString()
save("unknown-field.onnx", data + b"\xa2\x06\x03abc")  # ModelProto field 100, 3 bytes

# an unknown field inside the graph (GraphProto field 16 = metadata_props in
# ONNX >= 1.16, unknown to the 1.12 schema): must survive a rewrite
m = mm_model()
graph = m.graph.SerializeToString() + b"\x82\x01\x0a\x0a\x03key\x12\x03val"
m.ClearField("graph")
body = m.SerializeToString()
n = len(graph)
varint = b""
while True:
    byte = n & 0x7f
    n >>= 7
    varint += bytes([byte | (0x80 if n else 0)])
    if not n:
        break
save("unknown-field-graph.onnx", body + b"\x3a" + varint + graph)

# opset 13 with ReduceMean(axes): int4 (opset 21) must be refused, int8 works
m = mm_model()
m.graph.node.append(helper.make_node("ReduceMean", ["z"], ["r"], axes=[1], name="rm"))
m.graph.output.append(helper.make_tensor_value_info("r", TensorProto.FLOAT, [2, 1]))
save("valid-reducemean-opset13.onnx", m)

# an empty tensor stored in a typed field (found by libFuzzer: memcpy from NULL)
m = mm_model()
m.graph.initializer.append(helper.make_tensor("E", TensorProto.FLOAT, [0, 4], []))
save("empty-typed-tensor.onnx", m)
