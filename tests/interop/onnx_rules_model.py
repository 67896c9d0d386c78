#!/usr/bin/python3
"""onnx_rules_model.py OUT.onnx: a small opset-13 float model with one node
of every op the --static rule table names, wired so that each rule shows:
Relu folded into its Conv, a Relu whose input has two readers (kept), Clip
with bounds around 0 (folded) and above 0 (kept), MaxPool / Resize / Pad /
AveragePool / Transpose / Reshape / Squeeze / Slice sharing their input's
scale, Split's two outputs sharing, Concat, Add, Mul by a constant that a
Pow also reads (as its exponent, which must stay exact),
MatMul, LeakyRelu, Softmax, GlobalAveragePool, Sigmoid, graph outputs.
Weights are seeded random numbers.  Test helper only."""
import sys

import numpy as np
import onnx
from onnx import TensorProto as T
from onnx import helper as h
from onnx import numpy_helper

rng = np.random.default_rng(5)
inits = []


def const(name, a):
    inits.append(numpy_helper.from_array(np.asarray(a), name))
    return name


def w(name, shape, scale=0.3):
    return const(name, (rng.standard_normal(shape) * scale).astype(np.float32))


N = h.make_node
nodes = [
    N("Conv", ["x", w("W1", [8, 4, 3, 3]), w("B1", [8], 0.1)], ["c1"], "conv1", pads=[1, 1, 1, 1]),
    N("Relu", ["c1"], ["r1"], "relu1"),
    N("MaxPool", ["r1"], ["mp"], "maxpool", kernel_shape=[2, 2], strides=[2, 2]),
    N("Conv", ["mp", w("W2", [8, 8, 1, 1]), w("B2", [8], 0.1)], ["c2"], "conv2"),
    N("Clip", ["c2", const("zero", np.float32(0)), const("six", np.float32(6))], ["cl"], "clip06"),
    N("Conv", ["mp", w("W3", [8, 8, 1, 1])], ["c3"], "conv3"),
    N("Clip", ["c3", const("half", np.float32(0.5)), "six"], ["cl2"], "clip_half6"),
    N("Concat", ["cl", "cl2"], ["cat"], "concat", axis=1),
    N("Split", ["cat", const("split", np.array([8, 8], np.int64))], ["s1", "s2"], "split", axis=1),
    N("Add", ["s1", "s2"], ["ad"], "add"),
    N("Mul", ["ad", const("two", np.float32(2))], ["mu"], "mul"),
    # the same constant as an exponent: must stay exactly 2 (ad < 0 happens)
    N("Pow", ["ad", "two"], ["pw"], "pow"),
    N("Relu", ["ad"], ["re"], "relu2"),
    N("Slice", ["re", const("st", np.array([0], np.int64)), const("en", np.array([4], np.int64)),
                const("ax", np.array([1], np.int64))], ["sliced"], "slice"),
    N("Resize", ["mu", "", const("scales", np.array([1, 1, 2, 2], np.float32))], ["rs"], "resize",
      mode="nearest"),
    N("Pad", ["rs", const("pads", np.array([0, 0, 1, 1, 0, 0, 1, 1], np.int64))], ["pd"], "pad"),
    N("AveragePool", ["pd"], ["ap"], "avgpool", kernel_shape=[2, 2], strides=[2, 2]),
    N("Transpose", ["ap"], ["tr"], "transpose", perm=[0, 2, 3, 1]),
    N("Reshape", ["tr", const("shape", np.array([1, 25, 8], np.int64))], ["rh"], "reshape"),
    N("MatMul", ["rh", w("W4", [8, 6])], ["mm"], "matmul"),
    N("LeakyRelu", ["mm"], ["lr"], "leakyrelu", alpha=0.1),
    N("Softmax", ["lr"], ["probs"], "softmax", axis=-1),
    N("GlobalAveragePool", ["ap"], ["gap"], "gap"),
    N("Squeeze", ["gap", const("sqax", np.array([2, 3], np.int64))], ["sq"], "squeeze"),
    N("Sigmoid", ["sq"], ["gate"], "sigmoid"),
]
g = h.make_graph(nodes, "rules", [h.make_tensor_value_info("x", T.FLOAT, [1, 4, 8, 8])],
                 [h.make_tensor_value_info("probs", T.FLOAT, [1, 25, 6]), h.make_tensor_value_info("gate", T.FLOAT, [1, 8]),
                  h.make_tensor_value_info("sliced", T.FLOAT, [1, 4, 4, 4]),
                  h.make_tensor_value_info("pw", T.FLOAT, [1, 8, 4, 4])],
                 inits)
m = h.make_model(g, opset_imports=[h.make_opsetid("", 13)], producer_name="qutils-test")
m.ir_version = 7
onnx.checker.check_model(m)
onnx.save(m, sys.argv[1])
