"""Write GGUF files with llama.cpp's gguf-py (the converter's writer) for
tests/interop/test_gguf_ggml.sh: every KV type, F32/F16/BF16/Q8_0/I8..I64/F64
tensors, a 0-D and a 3-D tensor, numpy ranks with trailing 1s, and a custom
alignment.  Usage: gguf_py_write.py OUTDIR"""
import sys

import numpy as np
from gguf import GGUFWriter, GGMLQuantizationType, GGUFValueType
from gguf.quants import quantize


def write(path, align=None):
    w = GGUFWriter(path, "llama")
    w.add_name("gguf-py sample")
    if align:
        w.add_custom_alignment(align)
    w.add_uint8("t.u8", 250)
    w.add_int8("t.i8", -7)
    w.add_uint16("t.u16", 65000)
    w.add_int16("t.i16", -300)
    w.add_uint32("t.u32", 123456789)
    w.add_int32("t.i32", -123456789)
    w.add_float32("t.f32", 0.1)
    w.add_uint64("t.u64", 2**63 + 5)
    w.add_int64("t.i64", -(2**62))
    w.add_float64("t.f64", 1.0 / 3.0)
    w.add_bool("t.bool", True)
    w.add_string("t.str", "héllo \"world\"\n")
    w.add_array("t.arr.str", ["a", "bb", "", "ünï"])
    w.add_array("t.arr.int", [1, -2, 3])
    w.add_array("t.arr.float", [0.5, -1.25])
    w.add_key_value("t.arr.u8", [1, 2, 255], GGUFValueType.ARRAY, GGUFValueType.UINT8)
    w.add_key_value("t.arr.f64", [1e-300, 2.0], GGUFValueType.ARRAY, GGUFValueType.FLOAT64)
    w.add_key_value("t.arr.bool", [True, False], GGUFValueType.ARRAY, GGUFValueType.BOOL)

    rng = np.random.default_rng(7)
    w.add_tensor("f32.2d", rng.standard_normal((5, 8)).astype(np.float32))
    w.add_tensor("f16.trailing1", rng.standard_normal((1, 16)).astype(np.float16))
    w.add_tensor("f32.3d", rng.standard_normal((2, 3, 4)).astype(np.float32))
    w.add_tensor("f32.scalar", np.array(2.5, dtype=np.float32))
    x = rng.standard_normal((4, 64)).astype(np.float32)
    q = quantize(x, GGMLQuantizationType.Q8_0)
    w.add_tensor("q8_0", q, raw_shape=q.shape, raw_dtype=GGMLQuantizationType.Q8_0)
    b = rng.integers(0, 65535, (3, 32), dtype=np.uint16)
    w.add_tensor("bf16", b, raw_shape=b.shape, raw_dtype=GGMLQuantizationType.BF16)
    for dt in (np.int8, np.int16, np.int32, np.int64, np.float64):
        w.add_tensor("int." + np.dtype(dt).name, np.arange(-3, 4, dtype=dt))
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


out = sys.argv[1]
write(out + "/gguf-py-default.gguf")
write(out + "/gguf-py-align64.gguf", align=64)
