"""Say where two GGUF files first differ, in GGUF terms (a KV, a tensor's
info, a tensor's bytes), using llama.cpp's own gguf-py as the reader.
Usage: gguf_first_diff.py REFERENCE OURS   (prints one line)."""
import sys

import numpy as np
from gguf import GGUFReader


def fields(r):
    return [(k, [int(t) for t in f.types], [bytes(p) for p in f.parts]) for k, f in r.fields.items()]


def main():
    a, b = GGUFReader(sys.argv[1]), GGUFReader(sys.argv[2])
    fa, fb = fields(a), fields(b)
    for i, (x, y) in enumerate(zip(fa, fb)):
        if x[0] != y[0]:
            print(f"KV #{i}: llama has {x[0]}, ours {y[0]}")
            return
        if x[1:] != y[1:]:
            print(f"KV {x[0]}: value or type differs")
            return
    if len(fa) != len(fb):
        print(f"KV count: llama {len(fa)}, ours {len(fb)}")
        return
    for ta, tb in zip(a.tensors, b.tensors):
        if ta.name != tb.name:
            print(f"tensor order: llama has {ta.name}, ours {tb.name}")
            return
        if ta.tensor_type != tb.tensor_type or list(ta.shape) != list(tb.shape):
            print(f"tensor {ta.name}: llama {ta.tensor_type.name}{list(ta.shape)}, "
                  f"ours {tb.tensor_type.name}{list(tb.shape)}")
            return
        da, db = np.asarray(ta.data).view(np.uint8), np.asarray(tb.data).view(np.uint8)
        if da.tobytes() != db.tobytes():
            off = int(np.argmax(da.reshape(-1) != db.reshape(-1)))
            print(f"tensor {ta.name} ({ta.tensor_type.name}): bytes differ from byte {off}")
            return
    print("no difference in KVs or tensors (padding or header layout differs)")


main()
