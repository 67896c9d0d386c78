#!/usr/bin/python3
"""Writes small NNEF models and malformed inputs for the tests and the fuzz
corpora.  Independent of the C code on purpose: the .dat headers here are
built from the byte table in spec/nnef.md, so the C reader and this writer
check each other.

  gen-nnef-fixtures.py model DIR       a float model (linear, conv, gather,
                                        matmul with both flags, a shared
                                        weight) with deterministic weights
  gen-nnef-fixtures.py corpus DIR      fuzz seeds and malformed cases
"""
import io, os, struct, sys, tarfile
import numpy as np

def dat(arr, code=0, bits=32, vendor=0):
    arr = np.ascontiguousarray(arr)
    payload = arr.tobytes()
    ext = list(arr.shape) + [0] * (8 - arr.ndim)
    hdr = b"\x4e\xef\x01\x00" + struct.pack("<II", len(payload), arr.ndim)
    hdr += struct.pack("<8I", *ext) + struct.pack("<IHH", bits, code, vendor)
    return hdr + b"\0" * (128 - len(hdr)) + payload

GRAPH = """version 1.0;

extension tract_registry tract_core;

graph demo( input, ids ) -> ( output, emb )
{
    input = tract_core_external(shape = [1, 4, 64], datum_type = 'f32');
    ids = tract_core_external(shape = [1, 3], datum_type = 'i64');
    table = variable<scalar>(label = 'embed.weight', shape = [40, 64]);
    emb = tract_core_gather(table, ids, axis = 0);
    w1 = variable<scalar>(label = 'layers/0/w1', shape = [96, 64]);
    b1 = variable<scalar>(label = 'layers/0/b1', shape = [96]);
    w1x = unsqueeze(w1, axes = [0]);
    h = linear(input, w1x, b1);
    r = relu(h);
    t = transpose(r, axes = [0, 2, 1]);
    k = variable<scalar>(label = 'conv.k', shape = [32, 96, 1]);
    c = conv(t, k, 0.0, groups = 1);
    ct = transpose(c, axes = [0, 2, 1]);
    mb = variable<scalar>(label = 'mm.b', shape = [16, 32]);
    m1 = matmul(ct, mb, transposeB = true);
    bad = variable<scalar>(label = 'mm.notrans', shape = [32, 32]);
    m2 = matmul(ct, bad);
    shared = variable<scalar>(label = 'shared', shape = [32, 32]);
    s1 = linear(ct, shared, 0.0);
    s2 = add(s1, shared);
    small = variable<scalar>(label = 'small', shape = [16, 20]);
    o3 = linear(m1, small, 0.0);
    output = add(o3, 0.0);
}
"""

def model(d):
    rng = np.random.default_rng(1234)
    os.makedirs(os.path.join(d, "layers/0"), exist_ok=True)
    shapes = {"embed.weight": (40, 64), "layers/0/w1": (96, 64), "layers/0/b1": (96,),
              "conv.k": (32, 96, 1), "mm.b": (16, 32), "mm.notrans": (32, 32),
              "shared": (32, 32), "small": (16, 20)}
    for label, shape in shapes.items():
        w = rng.standard_normal(shape).astype("<f4") * np.float32(0.5)
        with open(os.path.join(d, label + ".dat"), "wb") as f:
            f.write(dat(w))
    with open(os.path.join(d, "graph.nnef"), "w") as f:
        f.write(GRAPH)

def tar_bytes(members, gz=True):
    bio = io.BytesIO()
    with tarfile.open(fileobj=bio, mode="w:gz" if gz else "w") as t:
        for name, data, kind in members:
            ti = tarfile.TarInfo(name)
            if kind == "sym":
                ti.type = tarfile.SYMTYPE
                ti.linkname = data
                t.addfile(ti)
            else:
                ti.size = len(data)
                t.addfile(ti, io.BytesIO(data))
    return bio.getvalue()

def corpus(d):
    os.makedirs(d, exist_ok=True)
    w = np.arange(64, dtype="<f4").reshape(2, 32)
    good = dat(w)
    q40 = dat(np.zeros((2, 32), "<f4"))[:128]
    q40 = bytearray(q40)
    struct.pack_into("<I", q40, 4, 36)
    struct.pack_into("<IHH", q40, 44, 0xFFFFFFFF, 0x3040, 0x5452)
    q40 = bytes(q40) + b"\x00\x3c" + b"\x88" * 16 + b"\x00\xbc" + bytes(range(16))
    cases = {
        "dat_f32_valid.dat": good,
        "dat_q40_valid.dat": q40,
        "dat_truncated_payload.dat": good[:-5],
        "dat_truncated_header.dat": good[:60],
        "dat_bad_magic.dat": b"NN" + good[2:],
        "dat_rank_9.dat": good[:8] + struct.pack("<I", 9) + good[12:],
        "dat_huge_extents.dat": good[:12] + struct.pack("<8I", *([0xFFFFFFFF] * 8)) + good[44:],
        "dat_q40_row_not_32.dat": q40[:12] + struct.pack("<I", 3) + struct.pack("<I", 24) + q40[20:],
        "dat_unknown_vendor.dat": good[:50] + b"\x34\x12" + good[52:],
        "dat_bool_1bit.dat": dat(np.zeros(0, "u1"))[:44] + struct.pack("<IHH", 1, 5, 0) + b"\0" * 76,
    }
    graphs = {
        "graph_valid.txt": b"\0" + GRAPH.encode(),
        "graph_unbalanced.txt": b"\0" + GRAPH.encode().replace(b"axes = [0])", b"axes = [0)"),
        "graph_no_body_end.txt": b"\0" + GRAPH.encode()[:-3],
        "graph_escaped_ident.txt": b"\0version 1.0; graph g(x) -> (y) { i\"a.b\" = relu(x); y = i\"a.b\"; }",
        "quant_valid.txt": b"\1\"x\": zero_point_linear_quantize(zero_point = -3, scale = 0.5, bits = 8, signed = true, symmetric = false);\n",
        "quant_bad_op.txt": b"\1\"x\": logarithmic_quantize(max = 1, bits = 8);",
        "quant_deep.txt": b"\1" + b"(" * 5000,
    }
    arch = {
        "tar_valid.tgz": tar_bytes([("graph.nnef", b"version 1.0; graph g(x) -> (y) { y = x; }", "f"),
                                    ("w.dat", good, "f")]),
        "tar_path_traversal.tgz": tar_bytes([("graph.nnef", b"version 1.0;", "f"), ("../evil.dat", good, "f")]),
        "tar_absolute_path.tgz": tar_bytes([("graph.nnef", b"x", "f"), ("/etc/evil.dat", good, "f")]),
        "tar_symlink.tgz": tar_bytes([("graph.nnef", b"x", "f"), ("w.dat", "/etc/passwd", "sym")]),
        "tar_duplicate.tar": tar_bytes([("graph.nnef", b"x", "f"), ("graph.nnef", b"y", "f")], gz=False),
        "tar_truncated.tgz": tar_bytes([("graph.nnef", b"x" * 5000, "f")])[:60],
        "tar_no_graph.tgz": tar_bytes([("w.dat", good, "f")]),
    }
    for sub, items in (("fuzz_nnef_dat", cases), ("fuzz_nnef_graph", graphs), ("fuzz_nnef_archive", arch)):
        os.makedirs(os.path.join(d, sub), exist_ok=True)
        for name, data in items.items():
            with open(os.path.join(d, sub, name), "wb") as f:
                f.write(data)

def qparams(path, *pairs):
    """A qparams file (man/qparams.5) with activation ranges only:
    qparams PATH NAME=MIN:MAX ...  written as safetensors by hand."""
    import json
    header = {"__metadata__": {"format": "qparams", "version": "1"}}
    data = b""
    for p in sorted(pairs):
        name, r = p.split("=")
        lo, hi = (float(v) for v in r.split(":"))
        header[name + ".range"] = {"dtype": "F32", "shape": [2],
                                   "data_offsets": [len(data), len(data) + 8]}
        data += struct.pack("<2f", lo, hi)
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * (-len(h) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + data)

if __name__ == "__main__":
    if sys.argv[1] == "qparams":
        qparams(sys.argv[2], *sys.argv[3:])
    else:
        {"model": model, "corpus": corpus}[sys.argv[1]](sys.argv[2])
