"""Writes a tiny llama-shaped GGUF for the st2gguf CLI cases (stdlib only).
usage: mkgguf.py OUT [--ne0 N] [--f32] [--truncate BYTES] [--no-arch]"""
import struct
import sys

out, args = sys.argv[1], sys.argv[2:]
ne0 = int(args[args.index("--ne0") + 1]) if "--ne0" in args else 64
f32 = "--f32" in args
trunc = int(args[args.index("--truncate") + 1]) if "--truncate" in args else 0


def s(x):
    b = x.encode()
    return struct.pack("<Q", len(b)) + b


kvs = [] if "--no-arch" in args else [s("general.architecture") + struct.pack("<I", 8) + s("llama")]
kvs.append(s("llama.block_count") + struct.pack("<II", 4, 1))
tensors = [("token_embd.weight", [ne0, 8]), ("blk.0.attn_v.weight", [ne0, 4]),
           ("blk.0.attn_norm.weight", [ne0])]
esz, ttype = (4, 0) if f32 else (2, 1)
head = b"GGUF" + struct.pack("<IQQ", 3, len(tensors), len(kvs)) + b"".join(kvs)
data, off = b"", 0
for name, ne in tensors:
    n = 1
    for d in ne:
        n *= d
    head += s(name) + struct.pack("<I", len(ne)) + b"".join(struct.pack("<Q", d) for d in ne)
    head += struct.pack("<IQ", ttype, len(data))
    vals = [((i * 7919) % 201 - 100) / 400.0 for i in range(n)]
    data += struct.pack("<%d%s" % (n, "f" if f32 else "e"), *vals)
    data += b"\0" * (-len(data) % 32)
head += b"\0" * (-len(head) % 32)
blob = head + data
if trunc:
    blob = blob[:len(blob) - trunc]
open(out, "wb").write(blob)
