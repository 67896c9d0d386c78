#!/usr/bin/python3
"""onnx_to_half.py IN OUT float16|bfloat16: the model with every float
tensor in the half type, as exported LLM checkpoints come: initializers and
Constant values rounded to nearest even, graph inputs, outputs and
value_info retyped, Cast-to-float nodes cast to the half type instead.
Integer tensors (Reshape shapes and such) stay.  Test helper only."""
import sys

import numpy as np
import onnx
from onnx import numpy_helper

FLOAT, FLOAT16, BFLOAT16 = 1, 10, 16


def to_half(t, dt):
    if t.data_type != FLOAT:
        return
    a = numpy_helper.to_array(t).astype(np.float32)
    if dt == FLOAT16:
        raw = a.astype(np.float16).tobytes()
    else:
        u = a.reshape(-1).view(np.uint32).astype(np.uint64)
        one, half, sh = np.uint64(1), np.uint64(0x7fff), np.uint64(16)
        raw = ((u + half + ((u >> sh) & one)) >> sh).astype(np.uint16).tobytes()
    dims = list(t.dims)
    name = t.name
    t.Clear()
    t.name = name
    t.dims.extend(dims)
    t.data_type = dt
    t.raw_data = raw


def retype(vis, dt):
    for v in vis:
        if v.type.HasField("tensor_type") and v.type.tensor_type.elem_type == FLOAT:
            v.type.tensor_type.elem_type = dt


def walk(g, dt):
    for t in g.initializer:
        to_half(t, dt)
    retype(g.input, dt)
    retype(g.output, dt)
    retype(g.value_info, dt)
    for n in g.node:
        for a in n.attribute:
            if a.type == onnx.AttributeProto.TENSOR:
                to_half(a.t, dt)
            if n.op_type == "Cast" and a.name == "to" and a.i == FLOAT:
                a.i = dt
            if a.type == onnx.AttributeProto.GRAPH:
                walk(a.g, dt)


dt = {"float16": FLOAT16, "bfloat16": BFLOAT16}[sys.argv[3]]
m = onnx.load(sys.argv[1])
walk(m.graph, dt)
onnx.save(m, sys.argv[2])
