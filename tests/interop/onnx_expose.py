#!/usr/bin/python3
"""onnx_expose.py IN OUT: adds every float node output of the main graph as
a graph output (types from onnx's shape inference), so a calibration run in
onnxruntime can read each activation's range.  Test helper only; other
helpers import expose()."""
import sys

import onnx


def expose(m):
    """Appends to m's outputs every float node output it does not have yet."""
    inferred = onnx.shape_inference.infer_shapes(m)
    types = {v.name: v for v in list(inferred.graph.value_info) + list(inferred.graph.output)}
    have = {o.name for o in m.graph.output}
    for n in m.graph.node:
        for o in n.output:
            v = types.get(o)
            if o and o not in have and v is not None and v.type.tensor_type.elem_type == 1:
                m.graph.output.append(v)
                have.add(o)


if __name__ == '__main__':
    model = onnx.load(sys.argv[1])
    expose(model)
    onnx.save(model, sys.argv[2])
