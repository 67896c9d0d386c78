#!/bin/sh
# bench-onnx.sh [DIR]: qdq-insert on a generated ONNX model over 2 GiB with
# external data (not a test).  Nine MatMul weights of 4096 x 16384 float32
# (2.25 GiB in model.onnx.data); prints wall time and peak RSS for int8
# (per channel) and int4 (block 128), beside copying the same bytes (cp)
# and reading them (cat > /dev/null).  Needs python3-onnx; ~7 GB of disk.
# CPU time (user + sys) is printed too: on a shared machine wall time
# mostly measures the neighbours.
set -eu
cd "$(dirname "$0")/.."
B=${QU_BIN:-build}
DIR=${1:-$(mktemp -d)}
mkdir -p "$DIR"
[ -x "$B/qdq-insert" ] || { echo "bench-onnx: build first (make)"; exit 1; }
/usr/bin/python3 - "$DIR" <<'PY'
import os, sys
import numpy as np
import onnx
from onnx import TensorProto, helper
d = sys.argv[1]
K, N, L = 4096, 16384, 9
data = os.path.join(d, "model.onnx.data")
if not os.path.exists(os.path.join(d, "model.onnx")):
    rng = np.random.default_rng(0)
    inits, nodes, off = [], [], 0
    with open(data, "wb") as f:
        for i in range(L):
            w = rng.standard_normal((K, N), dtype=np.float32) * 0.02
            f.write(w.tobytes())
            t = TensorProto(name="w%d" % i, data_type=TensorProto.FLOAT, dims=[K, N],
                            data_location=TensorProto.EXTERNAL)
            for k, v in (("location", "model.onnx.data"), ("offset", str(off)), ("length", str(w.nbytes))):
                e = t.external_data.add(); e.key, e.value = k, v
            off += w.nbytes
            inits.append(t)
            # x [1, K] @ w_i [K, N], then slice back to K columns for the next layer
            nodes.append(helper.make_node("MatMul", ["h%d" % i, "w%d" % i], ["m%d" % i]))
            nodes.append(helper.make_node("Slice", ["m%d" % i, "s0", "sK", "ax"], ["h%d" % (i + 1)]))
    inits += [helper.make_tensor("s0", TensorProto.INT64, [1], [0]),
              helper.make_tensor("sK", TensorProto.INT64, [1], [K]),
              helper.make_tensor("ax", TensorProto.INT64, [1], [1])]
    g = helper.make_graph(nodes, "big", [helper.make_tensor_value_info("h0", TensorProto.FLOAT, [1, K])],
                          [helper.make_tensor_value_info("h%d" % L, TensorProto.FLOAT, [1, K])], inits)
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 21)])
    m.ir_version = 10
    with open(os.path.join(d, "model.onnx"), "wb") as f:
        f.write(m.SerializeToString())
print("model: %.2f GiB of external data" % (os.path.getsize(data) / 2**30))
PY
measure() { # label command...
	label=$1; shift
	sync
	/usr/bin/time -f "%e %M %U %S" -o "$DIR/time" "$@" >/dev/null 2>"$DIR/err" || { cat "$DIR/err"; exit 1; }
	set -- $(cat "$DIR/time")
	printf '%-28s %7.2f s wall %7.2f s CPU %8.1f MiB peak RSS\n' "$label" "$1" "$(echo "$3 + $4" | bc -l)" "$(echo "$2 / 1024" | bc -l)"
}
cat "$DIR/model.onnx.data" > /dev/null	# warm the page cache like the runs after it
measure "cat data > /dev/null" sh -c "cat '$DIR/model.onnx.data' > /dev/null"
measure "cp data (memcpy + write)" cp "$DIR/model.onnx.data" "$DIR/copy.data"
rm -f "$DIR/copy.data"
measure "qdq-insert -w int8" "$B/qdq-insert" -q -w int8 "$DIR/model.onnx" -o "$DIR/int8.onnx"
ls -l "$DIR"/int8.onnx* | awk '{printf "  %s %d bytes\n", $NF, $5}'
rm -f "$DIR"/int8.onnx*
measure "qdq-insert -w int4 -b 128" "$B/qdq-insert" -q -w int4 -b 128 "$DIR/model.onnx" -o "$DIR/int4.onnx"
ls -l "$DIR"/int4.onnx* | awk '{printf "  %s %d bytes\n", $NF, $5}'
rm -f "$DIR"/int4.onnx*
measure "qdq-insert --matmulnbits" "$B/qdq-insert" -q --matmulnbits "$DIR/model.onnx" -o "$DIR/nbits.onnx"
rm -f "$DIR"/nbits.onnx*
[ -n "${1:-}" ] || rm -rf "$DIR"
